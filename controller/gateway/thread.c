/* thread.c - the gateway's loop threads (see thread.h). */
#include "controller/gateway/thread.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/vtime.h"
#include "controller/gateway/drain.h"
#include "controller/gateway/pushq.h"
#include "controller/gateway/session.h"

enum msg_kind { M_HAND, M_DROP, M_DRAIN, M_KICK, M_KICK_PROBE, M_STOP };

/* A message to a loop thread, through its inbox. */
struct msg {
	struct gw_job  job;
	struct gw_thr *t;
	enum msg_kind  kind;
	int            fd;
	int            listener;
	long           probe_id;
	uint64_t       serial;
	char           from[64];
};

static void on_msg(struct gw_job *j)
{
	struct msg *m = (struct msg *)j;
	struct gw_thr *t = m->t;

	switch (m->kind) {
	case M_HAND:
		if (t->stopping) {
			close(m->fd);
			__atomic_sub_fetch(&t->load, 1, __ATOMIC_RELAXED);
			__atomic_sub_fetch(&t->ctx->nsessions, 1, __ATOMIC_RELAXED);
			gw_hs_end(t->ctx->hs);
		} else if (gw_session_start(t, m->fd, m->listener, m->from) < 0) {
			vt_warn("%s: cannot start a session", m->from);
		}
		break;
	case M_DROP:
		gw_session_drop(t, m->probe_id, m->serial);
		break;
	case M_DRAIN:
		gw_drain_session(t, m->probe_id, m->serial);
		break;
	case M_KICK:
		gw_pushq_now(t);
		break;
	case M_KICK_PROBE:
		if (!t->stopping)
			gw_pushq_kick_probe(t, m->probe_id);
		break;
	case M_STOP:
		t->stopping = 1;
		vt_loop_stop(t->loop);
		break;
	}
	free(m);
}

/* Posts a message of kind to t; a message that cannot be made is lost
 * (logged): the sweep makes up for a lost kick, a lost drop leaves the old
 * session to its keepalive. */
static struct msg *msg_new(struct gw_thr *t, enum msg_kind kind)
{
	struct msg *m = calloc(1, sizeof *m);

	if (!m) {
		vt_warn("loop thread %d: out of memory, message lost", t->idx);
		return NULL;
	}
	m->job.done = on_msg;
	m->t = t;
	m->kind = kind;
	m->fd = -1;
	return m;
}

void gw_thr_hand(struct gw_thr *t, int fd, int listener, const char *from)
{
	struct msg *m;

	__atomic_add_fetch(&t->load, 1, __ATOMIC_RELAXED);
	if (!(m = msg_new(t, M_HAND))) {
		close(fd);
		__atomic_sub_fetch(&t->load, 1, __ATOMIC_RELAXED);
		__atomic_sub_fetch(&t->ctx->nsessions, 1, __ATOMIC_RELAXED);
		gw_hs_end(t->ctx->hs);
		return;
	}
	m->fd = fd;
	m->listener = listener;
	snprintf(m->from, sizeof m->from, "%s", from);
	gw_inbox_post(t->inbox, &m->job);
}

/* A message about probe_id's session serial (it may have ended). */
static void post_session(struct gw_thr *t, enum msg_kind kind, long probe_id,
			 uint64_t serial)
{
	struct msg *m = msg_new(t, kind);

	if (!m)
		return;
	m->probe_id = probe_id;
	m->serial = serial;
	gw_inbox_post(t->inbox, &m->job);
}

void gw_thr_drop(struct gw_thr *t, long probe_id, uint64_t serial)
{
	post_session(t, M_DROP, probe_id, serial);
}

void gw_thr_drain(struct gw_thr *t, long probe_id, uint64_t serial)
{
	post_session(t, M_DRAIN, probe_id, serial);
}

void gw_thr_kick(struct gw_thr *t)
{
	struct msg *m = msg_new(t, M_KICK);

	if (m)
		gw_inbox_post(t->inbox, &m->job);
}

void gw_thr_kick_probe(struct gw_thr *t, long probe_id)
{
	post_session(t, M_KICK_PROBE, probe_id, 0);
}

void gw_thr_stop(struct gw_thr *t)
{
	struct msg *m = msg_new(t, M_STOP);

	if (m)
		gw_inbox_post(t->inbox, &m->job);
	else
		vt_loop_stop(t->loop);   /* noticed at the next event */
}

int gw_thr_load(struct gw_thr *t)
{
	return __atomic_load_n(&t->load, __ATOMIC_RELAXED);
}

static void on_sweep(struct vt_loop *loop, void *arg)
{
	struct gw_thr *t = arg;
	int64_t now = vt_mono_ms();

	gw_session_tick_all(t, now);
	gw_pushq_sweep(t, now);
	if (t->hook)
		t->hook(t, now, t->hook_arg);
	if (!t->stopping &&
	    vt_loop_timer(loop, GW_SWEEP_MS, on_sweep, t, &t->sweep) < 0)
		vt_err("loop thread %d: cannot arm the sweep timer", t->idx);
}

int gw_thr_arm(struct gw_thr *t)
{
	/* Threads' sweeps spread over the second. */
	return vt_loop_timer(t->loop, t->idx * 97 % GW_SWEEP_MS, on_sweep, t,
			     &t->sweep);
}

/* The binds of one thread: its own, so that no libssh object is shared
 * between threads.  The stock probes' listeners offer RSA and nothing
 * else, or their OpenSSH picks ed25519 and finds no key for it
 * (PROTOCOL.md, "Transport"). */
static int binds(struct gw_thr *t, const char *keys, int verbose, char *err,
		 size_t errlen)
{
	char ed[4096], rsa[4096];
	bool no = false;
	int lvl = SSH_LOG_PROTOCOL;

	snprintf(ed, sizeof ed, "%s/ssh_host_ed25519_key", keys);
	snprintf(rsa, sizeof rsa, "%s/ssh_host_rsa_key", keys);
	if (!(t->bind = ssh_bind_new()) ||
	    ssh_bind_options_set(t->bind, SSH_BIND_OPTIONS_PROCESS_CONFIG, &no) < 0 ||
	    ssh_bind_options_set(t->bind, SSH_BIND_OPTIONS_HOSTKEY, ed) < 0 ||
	    ssh_bind_options_set(t->bind, SSH_BIND_OPTIONS_HOSTKEY, rsa) < 0) {
		snprintf(err, errlen, "libssh: cannot set up the server");
		return VT_ESSH;
	}
	if (!(t->bind_rsa = ssh_bind_new()) ||
	    ssh_bind_options_set(t->bind_rsa, SSH_BIND_OPTIONS_PROCESS_CONFIG,
				 &no) < 0 ||
	    ssh_bind_options_set(t->bind_rsa, SSH_BIND_OPTIONS_HOSTKEY, rsa) < 0 ||
	    ssh_bind_options_set(t->bind_rsa, SSH_BIND_OPTIONS_HOSTKEY_ALGORITHMS,
				 "rsa-sha2-512,rsa-sha2-256") < 0) {
		snprintf(err, errlen, "libssh: cannot set up the RSA-only listeners");
		return VT_ESSH;
	}
	if (verbose) {
		ssh_bind_options_set(t->bind, SSH_BIND_OPTIONS_LOG_VERBOSITY, &lvl);
		ssh_bind_options_set(t->bind_rsa, SSH_BIND_OPTIONS_LOG_VERBOSITY, &lvl);
	}
	return VT_OK;
}

int gw_thr_new(struct gw_ctx *ctx, int idx, const char *keys,
	       struct gw_thr **out, char *err, size_t errlen)
{
	struct gw_thr *t = calloc(1, sizeof *t);
	int rc;

	*out = NULL;
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return VT_ENOMEM;
	}
	t->ctx = ctx;
	t->idx = idx;
	if ((rc = binds(t, keys, ctx->conf.verbose, err, errlen)) < 0)
		goto fail;
	if ((rc = vt_loop_new(&t->loop)) < 0 ||
	    (rc = gw_inbox_new(t->loop, &t->inbox)) < 0) {
		snprintf(err, errlen, "event loop: %s", vt_strerror(rc));
		goto fail;
	}
	*out = t;
	return VT_OK;
fail:
	gw_thr_free(t);
	return rc;
}

void gw_thr_free(struct gw_thr *t)
{
	if (!t)
		return;
	t->stopping = 1;
	gw_session_close_all(t);
	gw_inbox_free(t->inbox);   /* answers still coming find no session */
	vt_loop_free(t->loop);
	ssh_bind_free(t->bind);
	ssh_bind_free(t->bind_rsa);
	free(t->push_ask);
	free(t);
}

static void *thr_main(void *arg)
{
	struct gw_thr *t = arg;
	int rc = vt_loop_run(t->loop);

	if (rc < 0)
		vt_err("loop thread %d: %s", t->idx, vt_strerror(rc));
	t->stopping = 1;
	/* Its sessions end here, on their own thread, while the database
	 * lanes still take their bookkeeping. */
	gw_session_close_all(t);
	return NULL;
}

int gw_thr_start(struct gw_thr *t)
{
	sigset_t block, saved;
	int e;

	/* Signals go to thread 0, whose loop watches the stop flag. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &saved);
	e = pthread_create(&t->th, NULL, thr_main, t);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (e != 0)
		return VT_EIO;
	t->started = 1;
	return VT_OK;
}

void gw_thr_join(struct gw_thr *t)
{
	if (t && t->started) {
		pthread_join(t->th, NULL);
		t->started = 0;
	}
}
