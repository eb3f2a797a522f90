/* link.h - the probe's link to the controller (PROTOCOL.md): registration,
 * controller INIT, KEEP with the remote forward (command service) and the
 * local forward (uploads), re-registration and reconnection with jittered
 * exponential backoff.  One thread, blocking libssh calls with timeouts.
 * data/out is posted when asked (vt_link_upload_now: the pushed httppost
 * job, or the scheduler's fallback), in once mode, and every
 * upload_poll_ms when that is set. */
#ifndef VT_PROBE_LINK_H
#define VT_PROBE_LINK_H

#include <signal.h>
#include <libssh/libssh.h>
#include "probe/spool.h"

struct vt_link_conf {
	const char *reg_host;
	int         reg_port;
	char        reg_key_type[32];       /* pinned registration host key */
	char        reg_key[8192];
	long        backoff_min_ms;         /* first reconnect delay cap (1000) */
	long        backoff_max_ms;         /* largest delay cap (300000) */
	long        upload_poll_ms;         /* also post data/out this often on its
					     * own; 0: only when asked */
	long        timeout_s;              /* connect and blocking calls (30) */
	long        rereg_after_s;          /* KEEP or controller INIT failing
					     * this long (and KEEP_FAIL_REREG
					     * tries) registers again (600) */
	int         once;                   /* register, connect, upload, return */
};

struct vt_link;

/* A link for the probe key (not owned; must outlive the link) and the
 * spool (not owned).  conf is copied.  stop is polled: the run returns
 * soon after it becomes non-zero. */
int vt_link_new(const struct vt_link_conf *conf, ssh_key key,
		struct vt_spool *sp, volatile sig_atomic_t *stop,
		struct vt_link **out) VT_WUR;
void vt_link_free(struct vt_link *l);

/* Asks for a post of data/out as soon as the link holds KEEP (at once if
 * it does, else after the reconnect); an ask stays until a post of
 * everything in data/out was acknowledged.  Safe from any thread (the
 * httppost job of the scheduler calls it from the measurement thread):
 * an atomic flag the link's loop looks at every 200 ms at most. */
void vt_link_upload_now(struct vt_link *l);

/* Runs until *stop (VT_OK), or in once mode until the spool was uploaded
 * once (VT_OK) or the attempt failed (the error).  Errors that only delay
 * (network, WAIT, refused keys) are retried with backoff otherwise. */
int vt_link_run(struct vt_link *l) VT_WUR;

/* The delay before reconnect attempt n (0-based): uniform in
 * [0, min(max_ms, min_ms * 2^n)] ("full jitter"), from r, a uniform
 * random 32-bit number. */
long vt_link_backoff_ms(long min_ms, long max_ms, unsigned attempt, uint32_t r);

#endif
