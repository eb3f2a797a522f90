/* sshc.h - the probe's SSH client pieces (libssh, blocking with timeouts):
 * the probe key, connecting with a pinned host key as user "atlas", and
 * running one exec command with stdin and a capped stdout. */
#ifndef VT_PROBE_SSHC_H
#define VT_PROBE_SSHC_H

#include <stddef.h>
#include <libssh/libssh.h>
#include "common/buf.h"

#define VT_SSHC_USER "atlas"

/* A server and the host key it must present. */
struct vt_sshc_target {
	const char *host;
	int         port;
	const char *key_type;       /* "ssh-rsa", "ssh-ed25519", ... */
	const char *key_b64;        /* base64 blob, compared exactly */
};

/* Loads the private key at path; when the file does not exist, makes a new
 * ed25519 key, writes it (mode 0600) and "<path>.pub" beside it, and sets
 * *created.  The caller frees *out with ssh_key_free. */
int vt_sshc_key_load_or_make(const char *path, ssh_key *out, int *created) VT_WUR;

/* Reads an OpenSSH public key line ("TYPE BASE64 [comment]", or a
 * known_hosts line "HOST TYPE BASE64") from the first line of path. */
int vt_sshc_read_pubkey(const char *path, char *type, size_t tlen,
			char *b64, size_t blen) VT_WUR;

/* Connects to t, checks that the server's host key is exactly the pinned
 * one (VT_EPROTO otherwise), authenticates as "atlas" with key (VT_EAUTH
 * when refused).  timeout_s bounds connect and every blocking call.  On
 * failure a reason goes to err.  The caller frees *out with vt_sshc_close. */
int vt_sshc_connect(const struct vt_sshc_target *t, ssh_key key, long timeout_s,
		    ssh_session *out, char *err, size_t errlen) VT_WUR;
/* Disconnects and frees; NULL is fine. */
void vt_sshc_close(ssh_session s);

/* Runs exec cmd on a new session channel, writes in (then EOF), and reads
 * stdout into out (capped by out->max: VT_ETOOBIG past it) until the server
 * closes, at most timeout_ms.  *exit_status gets the status or -1. */
int vt_sshc_exec(ssh_session s, const char *cmd, const void *in, size_t inlen,
		 struct vt_buf *out, int *exit_status, int timeout_ms) VT_WUR;

/* Reads from ch into out until EOF, until done(arg, out) returns non-zero,
 * or until timeout_ms passed (VT_ETIMEOUT).  VT_ETOOBIG past out->max,
 * VT_ECLOSED/VT_ESSH when the link fails. */
int vt_sshc_read_until(ssh_channel ch, struct vt_buf *out, int timeout_ms,
		       int (*done)(void *arg, const struct vt_buf *b), void *arg,
		       int *eof) VT_WUR;

#endif
