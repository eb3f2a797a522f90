/* gateway.c - the gateway as a whole (see gateway.h): host keys, the
 * loop threads, listening sockets and accept with the session limit on
 * thread 0, and thread 0's gateway-wide duties (heartbeat, sessions sync,
 * the LISTEN thread's events). */
#include "controller/gateway/gateway.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/vtime.h"
#include "controller/gateway/drain.h"
#include "controller/gateway/gw_int.h"
#include "controller/gateway/hslimit.h"
#include "controller/gateway/jobs.h"
#include "controller/gateway/listen.h"
#include "controller/gateway/park.h"
#include "controller/gateway/pushq.h"
#include "controller/gateway/rsashare.h"
#include "controller/gateway/session.h"
#include "controller/gateway/thread.h"

#define ACCEPT_BURST    64
#define SINK_TIMEOUT_S  30
#define SYNC_RETRY_MS   2000    /* sessions sync retried this often */
#define SYNC_SLACK      256     /* KEEPs a sync's snapshot finds beyond the count */
#define FD_RESERVE      64      /* descriptors besides the sessions' */
#define ACCEPT_PAUSE_MS 250     /* listeners not polled when out of fds */
#define GW_THREADS_MAX  256
#define SETTLE_MS       5000    /* answers waited for when stopping */

struct gw {
	struct gw_ctx      ctx;           /* what every loop thread reads */
	struct gw_thr    **thr;           /* loop threads; thr[0] accepts */
	int                nthr;
	struct gw_listen  *listener;      /* LISTEN thread */
	int                lfd[GW_LISTENERS]; /* by role | GW_LISTEN_RSA */
	char              *rsa_b64;       /* public host keys, base64 */
	char              *ed_b64;
	/* thread 0's alone: */
	struct gw_drain   *drain;         /* sending probes away (drain.h) */
	int                accept_paused; /* listeners not polled for now */
	struct gw_park    *park;          /* accepted, waiting for the limit */
	int                hs_wait;       /* they wait until a handshake ends */
	struct gw_job      hs_job;        /* posted to thread 0 to say so */
	int                heartbeat_busy;
	int                sync_busy;     /* a sessions sync is in flight */
	int64_t            next_sync;     /* no sync before (mono ms) */
	int64_t            next_heartbeat;
	int                keys_hup;      /* a SIGHUP's key reload is on its way */
	struct gw_rsashare *rsashare;     /* the RSA host key's signing state */
};

/* Creates path (it must not exist, not even as a symbolic link) with mode
 * and writes data to it, checking every step; on failure nothing is left. */
static int write_new(const char *path, mode_t mode, const char *data,
		     size_t len, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		      mode);
	size_t off = 0;

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return VT_EIO;
	}
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail;
		off += (size_t)w;
	}
	if (fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	return VT_OK;
fail:
	snprintf(err, errlen, "%s: %s", path, strerror(errno ? errno : EIO));
	if (fd >= 0)
		close(fd);
	unlink(path);
	return VT_EIO;
}

/* 1 when path exists (as anything, a dangling link too), 0 when it does
 * not, < 0 when that cannot be told. */
static int exists(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(path, &st) == 0)
		return 1;
	if (errno == ENOENT)
		return 0;
	snprintf(err, errlen, "%s: %s", path, strerror(errno));
	return VT_EIO;
}

/* Loads DIR/name, generating it (and name.pub) when missing: the private
 * key is created 0600 from the start, never over an existing file. */
/* A stock probe must be able to take the RSA host key (gateway.h): its
 * atlasinit refuses key material over GW_RSA_B64_MAX base64 characters and
 * its OpenSSH keys under GW_RSA_MIN_BITS bits.  The size in bits is read
 * from the length of the public key blob (string "ssh-rsa", mpint e of 3
 * bytes, mpint n with its leading zero byte: 23 bytes besides n). */
static int rsa_fits(const char *path, const char *b64, char *err, size_t errlen)
{
	size_t n = strlen(b64), blob = n / 4 * 3 - (n > 0 && b64[n - 1] == '=') -
		   (n > 1 && b64[n - 2] == '=');
	long bits = blob > 23 ? (long)(blob - 23) * 8 : 0;

	if (n <= GW_RSA_B64_MAX && bits >= GW_RSA_MIN_BITS)
		return VT_OK;
	snprintf(err, errlen, "%s: RSA host key of about %ld bits (%zu base64 "
		 "characters) refused: a stock RIPE Atlas probe takes a "
		 "controller key of at most %d base64 characters (its atlasinit "
		 "refuses longer) and at least %d bits (its OpenSSH); use a "
		 "%d-bit key (remove the file to have one made)", path, bits, n,
		 GW_RSA_B64_MAX, GW_RSA_MIN_BITS, GW_RSA_BITS);
	return VT_EINVAL;
}

/* Loads DIR/name, generating it (and name.pub) when missing. */
static int host_key(const char *dir, const char *name, enum ssh_keytypes_e type,
		    int bits, ssh_key *out, char **b64, char *err, size_t errlen)
{
	char path[4096], pub[4200], *line = NULL;
	ssh_key key = NULL;
	char *blob = NULL, *pem = NULL;
	int rc = VT_EIO, e;

	*out = NULL;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	snprintf(pub, sizeof pub, "%s.pub", path);
	if ((e = exists(path, err, errlen)) < 0)
		goto out;
	if (!e) {
		if (ssh_pki_generate(type, bits, &key) != SSH_OK ||
		    ssh_pki_export_privkey_base64(key, NULL, NULL, NULL, &pem) != SSH_OK) {
			snprintf(err, errlen, "%s: cannot create host key", path);
			goto out;
		}
		if ((rc = write_new(path, 0600, pem, strlen(pem), err, errlen)) < 0)
			goto out;
		rc = VT_EIO;
		ssh_key_free(key);
		key = NULL;
		if (unlink(pub) < 0 && errno != ENOENT) {
			snprintf(err, errlen, "%s: %s", pub, strerror(errno));
			goto out;
		}
	}
	if (ssh_pki_import_privkey_file(path, NULL, NULL, NULL, &key) != SSH_OK ||
	    ssh_key_type(key) != type) {
		snprintf(err, errlen, "%s: unreadable or wrong host key", path);
		goto out;
	}
	if (ssh_pki_export_pubkey_base64(key, &blob) != SSH_OK) {
		snprintf(err, errlen, "%s: cannot export public key", path);
		goto out;
	}
	if ((e = exists(pub, err, errlen)) < 0)
		goto out;
	if (!e) {
		if (asprintf(&line, "%s %s\n", ssh_key_type_to_char(type), blob) < 0) {
			line = NULL;
			rc = VT_ENOMEM;
			goto out;
		}
		if ((rc = write_new(pub, 0644, line, strlen(line), err, errlen)) < 0)
			goto out;
		rc = VT_EIO;
	}
	if (type == SSH_KEYTYPE_RSA && (rc = rsa_fits(path, blob, err, errlen)) < 0)
		goto out;
	rc = VT_EIO;
	if (!(*b64 = strdup(blob))) {
		rc = VT_ENOMEM;
		goto out;
	}
	*out = key;
	key = NULL;
	rc = VT_OK;
out:
	if (pem) {
		explicit_bzero(pem, strlen(pem));
		ssh_string_free_char(pem);
	}
	free(line);
	ssh_string_free_char(blob);
	ssh_key_free(key);
	return rc;
}

static int open_listener(const char *addr, int port, int backlog, char *err,
			 size_t errlen)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int fd, one = 1;

	if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		len = sizeof *a4;
	} else if (inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		len = sizeof *a6;
	} else {
		snprintf(err, errlen, "--listen %s: not an IPv4 or IPv6 address", addr);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, backlog) < 0) {
		snprintf(err, errlen, "listen on %s port %d: %s", addr, port,
			 strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* TCP_NODELAY and TCP keepalive, set on each listener once: Linux gives
 * them to every socket it accepts (no syscalls per connection). */
static void tune_socket(int fd, int keepalive)
{
	int one = 1, idle = keepalive > 0 ? keepalive : 60;
	int intvl = idle / 3 > 0 ? idle / 3 : 1, cnt = 3;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
}

static void addr_text(const struct sockaddr_storage *ss, char *out, size_t n)
{
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)ss;

	out[0] = '\0';
	if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, out,
			  (socklen_t)n);
	else if (ss->ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr))
		inet_ntop(AF_INET, &a6->sin6_addr.s6_addr[12], out, (socklen_t)n);
	else if (ss->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &a6->sin6_addr, out, (socklen_t)n);
}

/* Polls the listeners, or not while accepting is paused (thread 0). */
static int listeners_watch(struct gw *gw)
{
	int ev = gw->accept_paused ? 0 : VT_EV_READ;

	for (int r = 0; r < GW_LISTENERS; r++)
		if (gw->lfd[r] >= 0 && vt_loop_mod(gw->thr[0]->loop, gw->lfd[r], ev) < 0)
			return -1;
	return 0;
}

/* The listeners polled again after a pause. */
static void accept_resume(struct vt_loop *loop, void *arg)
{
	struct gw *gw = arg;

	(void)loop;
	gw->accept_paused = 0;
	if (listeners_watch(gw) < 0)
		vt_err("cannot watch the listening socket again");
}

/* The loop thread holding the fewest sessions. */
static struct gw_thr *pick_thread(struct gw *gw)
{
	struct gw_thr *best = gw->thr[0];
	int least = gw_thr_load(best);

	for (int i = 1; i < gw->nthr; i++) {
		int n = gw_thr_load(gw->thr[i]);

		if (n < least) {
			least = n;
			best = gw->thr[i];
		}
	}
	return best;
}

/* A connection enters the handshake on the loop thread holding the
 * fewest sessions. */
static void hs_start(struct gw *gw, const struct gw_parked *c)
{
	struct gw_thr *t = pick_thread(gw);

	gw_hs_admit(gw->ctx.hs);
	if (t == gw->thr[0]) {
		__atomic_add_fetch(&t->load, 1, __ATOMIC_RELAXED);
		if (gw_session_start(t, c->fd, c->listener, c->from) < 0)
			vt_warn("%s: cannot start a session", c->from);
	} else {
		gw_thr_hand(t, c->fd, c->listener, c->from);
	}
}

/* A parked connection that never entered the handshake goes. */
static void park_drop(struct gw *gw, const struct gw_parked *c)
{
	close(c->fd);
	__atomic_sub_fetch(&gw->ctx.nsessions, 1, __ATOMIC_RELAXED);
}

/* The client of a parked connection closed it (gave up waiting): its
 * first bytes may still be unread, so the shutdown is asked, not read. */
static int park_gone(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };

	return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

/* Parked connections enter the handshake, oldest first, while the limit
 * has room (thread 0); when it has none, hs_wait is set until a handshake
 * ends (hs_resumed) or the limit rises (hs_adapt).  Those whose client
 * gave up (closed, or parked longer than --login-grace) go at no cost. */
static void unpark(struct gw *gw)
{
	int64_t grace = gw->ctx.conf.login_grace * 1000LL, now = vt_mono_ms();
	struct gw_parked c;

	while (!gw->hs_wait && gw_park_count(gw->park) > 0) {
		if (gw_hs_full(gw->ctx.hs)) {
			gw->hs_wait = 1;
			if (!gw_hs_pause(gw->ctx.hs))
				gw->hs_wait = 0;   /* one ended meanwhile */
			continue;
		}
		(void)gw_park_pop(gw->park, &c);
		if ((grace > 0 && now - c.at > grace) || park_gone(c.fd)) {
			vt_debug("%s: gave up while parked", c.from);
			park_drop(gw, &c);
		}
		else
			hs_start(gw, &c);
	}
}

/* A handshake ended while parked connections waited (hslimit's resume,
 * posted to thread 0). */
static void hs_resumed(struct gw_job *j)
{
	struct gw *gw = (struct gw *)((char *)j - offsetof(struct gw, hs_job));

	gw->hs_wait = 0;
	if (!gw->thr[0]->stopping)
		unpark(gw);
}

/* hslimit's resume (any thread): thread 0 unparks. */
static void hs_resume(void *arg)
{
	struct gw *gw = arg;

	gw_inbox_post(gw->thr[0]->inbox, &gw->hs_job);
}

/* Out of descriptors (or memory): the connections wait in the backlog
 * while sessions end, instead of the level-triggered listener waking the
 * loop at once again (a busy loop). */
static void accept_pause(struct gw *gw, int err)
{
	struct vt_loop *loop = gw->thr[0]->loop;

	if (gw->accept_paused)
		return;
	/* one line a log window however often it pauses: the log's summary
	 * ("N more like") counts the rest */
	vt_log_burst(VT_LOG_WARN, 1, "accept: %s: not accepting for %d ms "
		     "(%d sessions held)", strerror(err), ACCEPT_PAUSE_MS,
		     __atomic_load_n(&gw->ctx.nsessions, __ATOMIC_RELAXED));
	gw->accept_paused = 1;
	if (listeners_watch(gw) < 0 ||
	    vt_loop_timer(loop, ACCEPT_PAUSE_MS, accept_resume, gw, NULL) < 0)
		accept_resume(loop, gw);
}

static void on_accept(struct vt_loop *loop, int lfd, int events, void *arg)
{
	struct gw *gw = arg;
	int which = 0;

	while (which < GW_LISTENERS - 1 && gw->lfd[which] != lfd)
		which++;
	(void)loop;
	(void)events;
	for (int i = 0; i < ACCEPT_BURST; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		char from[64];
		int fd, held;
		struct gw_parked c;

		if (gw->accept_paused)
			return;   /* an event of the batch that paused */
		fd = accept4(lfd, (struct sockaddr *)&ss, &sl,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			int e = errno;

			if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM)
				accept_pause(gw, e);
			else if (e != EAGAIN && e != EWOULDBLOCK && e != EINTR &&
				 e != ECONNABORTED)
				vt_warn("accept: %s", strerror(e));
			return;
		}
		addr_text(&ss, from, sizeof from);
		held = __atomic_fetch_add(&gw->ctx.nsessions, 1, __ATOMIC_RELAXED);
		if (held >= gw->ctx.conf.max_sessions) {
			/* Refused cleanly and cheaply (no key exchange): the
			 * client sees the connection close at once and tries
			 * again after its backoff (or another gateway). */
			__atomic_sub_fetch(&gw->ctx.nsessions, 1, __ATOMIC_RELAXED);
			vt_debug("%s: refused, %d sessions held", from, held);
			gw_m_refused(gw->ctx.m, GW_M_MAX_SESSIONS);
			close(fd);
			continue;
		}
		c.fd = fd;
		c.listener = which;
		c.at = vt_mono_ms();
		snprintf(c.from, sizeof c.from, "%s", from);
		/* Accepted at once whatever the handshake limit: the ones it
		 * has no room for wait parked, their first bytes acknowledged
		 * (park.h says why not in the listen queue). */
		if (gw_park_count(gw->park) == 0 && !gw_hs_full(gw->ctx.hs)) {
			hs_start(gw, &c);
		} else if (gw_park_push(gw->park, &c) < 0) {
			park_drop(gw, &c);
		} else {
			unpark(gw);
		}
	}
}

static void kick_all(struct gw *gw)
{
	gw_pushq_now(gw->thr[0]);
	for (int i = 1; i < gw->nthr; i++)
		gw_thr_kick(gw->thr[i]);
}

/* Assignments changed: the whole crontab of every probe NOTIFYed whose
 * KEEP is held here (all of them when too many changed at once). */
static void crontabs(struct gw *gw, const struct gw_listen_ev *ev)
{
	struct gw_reg_hold h;

	for (int i = 0; i < ev->ncrontab; i++)
		if (gw_reg_find(gw->ctx.reg, ev->crontab[i], &h) == 0 && h.has_fwd)
			gw_crontab_note(&gw->ctx, ev->crontab[i], h.sid);
	if (ev->overflow) {
		int n = gw_reg_count(gw->ctx.reg);
		long *ids = calloc((size_t)n + 1, sizeof *ids);
		char (*sids)[VT_SESSION_ID_MAX + 1] = calloc((size_t)n + 1,
							      sizeof *sids);

		if (ids && sids)
			n = gw_reg_sids(gw->ctx.reg, ids, sids, n);
		else
			n = 0;
		for (int i = 0; i < n; i++)
			gw_crontab_note(&gw->ctx, ids[i], sids[i]);
		free(ids);
		free(sids);
	}
}

/* An event of the LISTEN thread (on thread 0). */
static void on_listen(struct gw_job *j)
{
	struct gw_listen_ev *ev = (struct gw_listen_ev *)j;
	struct gw *gw = ev->arg;

	if (ev->keys) {
		gw_auth_adopt(gw->ctx.auth, ev->keys, gw->keys_hup);
		ev->keys = NULL;
		gw->keys_hup = 0;
	}
	if (ev->notified)
		crontabs(gw, ev);
	if (ev->listening || ev->notified)
		kick_all(gw);   /* notifications may have been missed, or pushes wait */
	gw_listen_ev_free(ev);
}

static void heartbeat_done(struct gw_job *j)
{
	struct gw_req *r = gw_req_of(j);
	struct gw *gw = r->owner;

	if (j->rc < 0)
		vt_warn("heartbeat: %s", j->err);
	gw->heartbeat_busy = 0;
	gw_req_free(r);
}

static void heartbeat(struct gw *gw)
{
	struct gw_req *r;

	if (gw->heartbeat_busy)
		return;   /* the database is slow: no pile of heartbeats */
	if (!(r = gw_req_new(GW_REQ_HEARTBEAT, gw->ctx.conf.name, NULL,
			     heartbeat_done)))
		return;
	r->owner = gw;
	r->hb.host = gw->ctx.conf.ctrl_host;
	r->hb.port = gw->ctx.conf.ctrl_port;
	r->hb.rsa_port = gw->ctx.conf.rsa_ctrl_port;
	r->hb.rsa_key = gw->rsa_b64;
	r->hb.ed_key = gw->ed_b64;
	r->hb.sessions = gw_reg_count(gw->ctx.reg);
	r->hb.max_sessions = gw->ctx.conf.max_sessions;
	r->hb.capacity = gw->ctx.conf.capacity;
	gw->heartbeat_busy = 1;
	gw_req_submit(gw->ctx.q, r);
}

static void sync_done(struct gw_job *j)
{
	struct gw_req *r = gw_req_of(j);
	struct gw *gw = r->owner;

	gw->sync_busy = 0;
	if (j->rc < 0) {
		vt_warn("sessions sync: %s (retried)", j->err);
		gw_ctx_lost(&gw->ctx);
	} else {
		vt_info("sessions sync: %d KEEP sessions recorded", r->n);
	}
	gw_req_free(r);
}

/* The snapshot's request, submitted under the registry's lock. */
static void sync_submit(void *arg, int n)
{
	struct gw_req *r = arg;
	struct gw *gw = r->owner;

	r->n = n;
	gw_req_submit(gw->ctx.q, r);
}

/* Session bookkeeping was lost (the database was away): make the database
 * agree with the KEEP sessions held now (the registry).  The database
 * threads run the control lane in order, and the snapshot is submitted
 * under the registry's lock (as its notes are, gw_sess_reg_note), so what
 * any loop thread changed before it lands before it, and what comes after
 * lands after it. */
static void sessions_sync(struct gw *gw, int64_t now)
{
	struct gw_req *r;
	int n;

	if (gw->sync_busy || now < gw->next_sync ||
	    !__atomic_load_n(&gw->ctx.resync, __ATOMIC_RELAXED))
		return;
	/* room for the KEEPs other threads take meanwhile */
	n = gw_reg_count(gw->ctx.reg) + SYNC_SLACK;
	if (!(r = gw_req_new(GW_REQ_SYNC, gw->ctx.conf.name, NULL, sync_done)) ||
	    !(r->live = calloc((size_t)n, sizeof *r->live))) {
		gw_req_free(r);
		return;
	}
	__atomic_store_n(&gw->ctx.resync, 0, __ATOMIC_RELAXED);
	r->owner = gw;
	gw->next_sync = now + SYNC_RETRY_MS;
	if (gw_reg_live(gw->ctx.reg, r->live, n, sync_submit, r) < 0) {
		gw_req_free(r);   /* more than that came: tried again */
		gw_ctx_lost(&gw->ctx);
		return;
	}
	gw->sync_busy = 1;   /* sync_done runs on this thread, later */
}

/* Once a second (thread 0): the handshake limit (hslimit.h); parked
 * connections older than --login-grace go (their clients gave up). */
static void hs_adapt(struct gw *gw, int64_t now)
{
	int64_t grace = gw->ctx.conf.login_grace * 1000LL, at;
	struct gw_parked c;

	if (gw_hs_tick(gw->ctx.hs, now) && gw->hs_wait) {
		gw->hs_wait = 0;
		unpark(gw);
	}
	while (grace > 0 && (at = gw_park_oldest(gw->park)) >= 0 &&
	       now - at > grace && gw_park_pop(gw->park, &c))
		park_drop(gw, &c);
}

/* Thread 0's sweep hook: the gateway-wide duties. */
static void duties(struct gw_thr *t, int64_t now, void *arg)
{
	struct gw *gw = arg;

	(void)t;
	if (gw->ctx.conf.reload_flag && *gw->ctx.conf.reload_flag) {
		*gw->ctx.conf.reload_flag = 0;
		if (gw->ctx.conf.reload)
			gw->ctx.conf.reload();
		gw->keys_hup = 1;
		gw_listen_reload(gw->listener);
	}
	sessions_sync(gw, now);
	hs_adapt(gw, now);
	vt_log_flush();
	gw_m_sweep(gw->ctx.m, gw->ctx.q, gw_reg_count(gw->ctx.reg),
		   __atomic_load_n(&gw->ctx.nsessions, __ATOMIC_RELAXED));
	if (now >= gw->next_heartbeat) {
		heartbeat(gw);
		gw->next_heartbeat = now + GW_HEARTBEAT_MS;
	}
	gw_drain_tick(gw->drain, now);
}

/* The key cache before serving: loaded here (blocking, start-up only);
 * empty when the database is away (misses are looked up then). */
static int first_keys(const char *conninfo, struct gw_keys **out)
{
	struct gw_db *db = NULL;
	int rc;

	*out = NULL;
	if ((rc = gw_db_new(conninfo, &db)) < 0)
		return rc;
	if ((rc = gw_listen_load_keys(db, out)) < 0) {
		vt_warn("database: %s (keys looked up as probes come)",
			gw_db_error(db));
		rc = gw_keys_new(out);
	}
	gw_db_free(db);
	return rc;
}

/* Raises the open-file limit to what max_sessions needs, or lowers
 * max_sessions to what the hard limit allows. */
static int fit_fd_limit(struct gw_conf *conf, char *err, size_t errlen)
{
	rlim_t need = (rlim_t)conf->max_sessions + FD_RESERVE;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		snprintf(err, errlen, "getrlimit: %s", strerror(errno));
		return VT_EIO;
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
		struct rlimit want = rl;

		want.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need
			? need : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			rl = want;
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
		if (rl.rlim_cur < 2 * FD_RESERVE) {
			snprintf(err, errlen, "open-file limit %llu: %d needed at least",
				 (unsigned long long)rl.rlim_cur, 2 * FD_RESERVE);
			return VT_ELIMIT;
		}
		vt_warn("open-file limit %llu (hard %llu): at most %d sessions "
			"instead of --max-sessions %d",
			(unsigned long long)rl.rlim_cur,
			(unsigned long long)rl.rlim_max,
			(int)(rl.rlim_cur - FD_RESERVE), conf->max_sessions);
		conf->max_sessions = (int)(rl.rlim_cur - FD_RESERVE);
	}
	return VT_OK;
}

static void conf_defaults(struct gw_conf *c)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	if (c->max_sessions <= 0)
		c->max_sessions = 20000;
	if (c->threads <= 0)
		c->threads = cores > 0 ? (int)cores : 1;
	if (c->threads > GW_THREADS_MAX)
		c->threads = GW_THREADS_MAX;
	if (c->max_per_probe <= 0)
		c->max_per_probe = GW_MAX_PER_PROBE;
	if (c->max_auth_tries <= 0)
		c->max_auth_tries = GW_MAX_AUTH_TRIES;
	if (c->chan_timeout <= 0)
		c->chan_timeout = GW_CHAN_TIMEOUT;
	if (c->idle_timeout <= 0)
		c->idle_timeout = GW_IDLE_TIMEOUT;
	if (c->max_handshakes <= 0)
		c->max_handshakes = GW_MAX_HANDSHAKES_PER_THREAD * c->threads;
}

/* Checks (or makes) both host keys; the loop threads load them into
 * binds of their own. */
static int host_keys(struct gw *gw, const char *dir, char *err, size_t errlen)
{
	ssh_key rsa = NULL, ed = NULL;
	int rc;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return VT_EIO;
	}
	if ((rc = host_key(dir, "ssh_host_ed25519_key", SSH_KEYTYPE_ED25519, 0,
			   &ed, &gw->ed_b64, err, errlen)) == 0)
		rc = host_key(dir, "ssh_host_rsa_key", SSH_KEYTYPE_RSA, GW_RSA_BITS,
			      &rsa, &gw->rsa_b64, err, errlen);
	ssh_key_free(ed);
	ssh_key_free(rsa);
	return rc;
}

int gw_new(const struct gw_conf *conf, struct gw **out, char *err, size_t errlen)
{
	struct gw *gw = calloc(1, sizeof *gw);
	struct gw_keys *keys = NULL;
	sigset_t block, saved;
	int rc = VT_EIO;

	*out = NULL;
	if (!gw)
		return VT_ENOMEM;
	gw->ctx.conf = *conf;
	gw->hs_job.done = hs_resumed;
	for (int i = 0; i < GW_LISTENERS; i++)
		gw->lfd[i] = -1;
	conf_defaults(&gw->ctx.conf);
	/* Before any key object is made (rsashare.h) */
	if ((rc = gw_rsashare_new(&gw->rsashare)) < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if ((rc = fit_fd_limit(&gw->ctx.conf, err, errlen)) < 0 ||
	    (rc = host_keys(gw, conf->host_keys, err, errlen)) < 0)
		goto fail;
	if (!conf->db) {
		rc = VT_EINVAL;
		snprintf(err, errlen, "no database (use --db or VANTAGE_DB)");
		goto fail;
	}
	if ((rc = gw_reg_new(&gw->ctx.reg)) < 0 ||
	    (rc = gw_metrics_new(conf->metrics, &gw->ctx.m)) < 0 ||
	    (rc = gw_park_new(&gw->park)) < 0 ||
	    (rc = gw_hs_new(gw->ctx.conf.threads, gw->ctx.conf.max_handshakes,
			    gw->ctx.m, hs_resume, gw, vt_mono_ms(),
			    &gw->ctx.hs)) < 0 ||
	    !(gw->thr = calloc((size_t)gw->ctx.conf.threads, sizeof *gw->thr))) {
		rc = VT_ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	gw_reg_set_note(gw->ctx.reg, gw_sess_reg_note, &gw->ctx);
	for (; gw->nthr < gw->ctx.conf.threads; gw->nthr++)
		if ((rc = gw_thr_new(&gw->ctx, gw->nthr, conf->host_keys,
				     &gw->thr[gw->nthr], err, errlen)) < 0)
			goto fail;
	if ((rc = gw_drain_new(&gw->ctx, gw->thr[0], &gw->drain)) < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	vt_loop_watch_flag(gw->thr[0]->loop, conf->stop_flag);
	gw->thr[0]->hook = duties;
	gw->thr[0]->hook_arg = gw;
	/* The database threads block SIGTERM and SIGINT, so that a signal
	 * interrupts thread 0's epoll_wait (conf.stop_flag). */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &saved);
	if ((rc = first_keys(conf->db, &keys)) < 0 ||
	    (rc = gw_dbq_new(conf->db, 1000 * (conf->db_timeout > 0 ?
					       conf->db_timeout : SINK_TIMEOUT_S),
			     gw->thr[0]->inbox, &gw->ctx.q)) < 0 ||
	    (conf->sink_gather && (gw_dbq_gather(gw->ctx.q, conf->sink_gather), 0)) ||
	    (rc = gw_auth_new(gw->ctx.q, gw->ctx.conf.name, keys,
			      &gw->ctx.auth)) < 0 ||
	    (keys = NULL,
	     rc = gw_listen_new(conf->db, gw->ctx.q, on_listen, gw,
				&gw->listener)) < 0) {
		pthread_sigmask(SIG_SETMASK, &saved, NULL);
		snprintf(err, errlen, "database threads: %s", vt_strerror(rc));
		goto fail;
	}
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	gw_auth_set_listen(gw->ctx.auth, gw->listener);
	gw_dbq_metrics(gw->ctx.q, gw->ctx.m);
	gw_m_hs_limit(gw->ctx.m, gw_hs_limit(gw->ctx.hs));
	rc = VT_EIO;
	{
		const int port[GW_LISTENERS] = { conf->reg_port, conf->ctrl_port,
						 conf->rsa_reg_port,
						 conf->rsa_ctrl_port };

		for (int i = 0; i < GW_LISTENERS; i++) {
			if (port[i] <= 0)
				continue;
			if ((gw->lfd[i] = open_listener(conf->listen, port[i],
							gw_hs_backlog_of(gw->ctx.conf.max_sessions),
							err, errlen)) < 0)
				goto fail;
			tune_socket(gw->lfd[i], conf->keepalive);
			if ((rc = vt_loop_add(gw->thr[0]->loop, gw->lfd[i],
					      VT_EV_READ, on_accept, gw)) < 0) {
				snprintf(err, errlen, "event loop: %s", vt_strerror(rc));
				goto fail;
			}
		}
	}
	for (int i = 0; i < gw->nthr; i++)
		if ((rc = gw_thr_arm(gw->thr[i])) < 0)
			goto fail;
	{
		/* First in the queue: before any session of this run is up. */
		struct gw_req *r = gw_req_new(GW_REQ_RESET, conf->name, NULL, NULL);

		if (r) {
			r->lost = &gw->ctx.resync;
			gw_req_submit(gw->ctx.q, r);
		} else {
			gw_ctx_lost(&gw->ctx);
		}
	}
	*out = gw;
	return VT_OK;
fail:
	gw_keys_free(keys);
	gw_free(gw);
	return rc < 0 ? rc : VT_EIO;
}

int gw_run(struct gw *gw)
{
	int rc = VT_OK;

	for (int i = 1; i < gw->nthr && rc == VT_OK; i++)
		if ((rc = gw_thr_start(gw->thr[i])) < 0)
			vt_err("cannot start loop thread %d", i);
	if (rc == VT_OK)
		rc = vt_loop_run(gw->thr[0]->loop);
	gw->thr[0]->stopping = 1;
	for (int i = 1; i < gw->nthr; i++)
		if (gw->thr[i]->started)
			gw_thr_stop(gw->thr[i]);
	for (int i = 1; i < gw->nthr; i++)
		gw_thr_join(gw->thr[i]);
	return rc;
}

void gw_stop(struct gw *gw)
{
	gw->thr[0]->stopping = 1;
	vt_loop_stop(gw->thr[0]->loop);
}

int gw_max_sessions(const struct gw *gw)
{
	return gw->ctx.conf.max_sessions;
}

int gw_threads(const struct gw *gw)
{
	return gw->nthr;
}

int gw_max_handshakes(const struct gw *gw)
{
	return gw->ctx.conf.max_handshakes;
}

/* Runs every inbox (the loop threads have ended: on this thread) until
 * none has a job left; returns how many ran. */
static int run_inboxes(struct gw *gw)
{
	int n = 0, k;

	do {
		k = 0;
		for (int i = 0; i < gw->nthr; i++)
			k += gw_inbox_drain(gw->thr[i]->inbox);
		n += k;
	} while (k > 0);
	return n;
}

/* The end of the database work (gw_free): every job answered and its done
 * function run, and what those submitted too, for as long as the database
 * lanes take jobs (gw_dbq_stop's bound); what comes after ends with
 * VT_ECLOSED, still run here. */
static void settle(struct gw *gw)
{
	int64_t until = vt_mono_ms() + SETTLE_MS;

	if (gw->ctx.q) {
		while (gw_dbq_settle(gw->ctx.q, until) == VT_OK &&
		       run_inboxes(gw) > 0)
			;
		gw_dbq_stop(gw->ctx.q);
	}
	run_inboxes(gw);
}

void gw_free(struct gw *gw)
{
	if (!gw)
		return;
	/* Every loop thread has ended (gw_run); the sessions left end here,
	 * their bookkeeping still reaching the database lanes. */
	for (int i = 0; i < gw->nthr; i++) {
		gw->thr[i]->stopping = 1;
		gw_session_close_all(gw->thr[i]);
	}
	for (int i = 0; i < GW_LISTENERS; i++)
		if (gw->lfd[i] >= 0) {
			if (gw->nthr > 0)
				vt_loop_del(gw->thr[0]->loop, gw->lfd[i]);
			close(gw->lfd[i]);
		}
	if (gw->ctx.q && gw->ctx.conf.name) {
		/* Registration stops handing this gateway out now (after any
		 * heartbeat queued before: one FIFO lane). */
		struct gw_req *r = gw_req_new(GW_REQ_LEAVE, gw->ctx.conf.name,
					      NULL, NULL);

		if (r)
			gw_req_submit(gw->ctx.q, r);
	}
	/* The LISTEN thread posts to the queue: it stops first.  Then this
	 * thread is the only one left to submit or post: settle() lets the
	 * bookkeeping of the closed sessions reach the database and runs what
	 * came back, with the queue and every thread still there for what
	 * the done functions do in turn (a claim answered for a session gone
	 * releases its push, a LISTEN event queues crontabs and kicks every
	 * thread).  Only then do the threads go, the queue last. */
	gw_listen_free(gw->listener);
	settle(gw);
	for (int i = gw->nthr - 1; i >= 0; i--)
		gw_thr_free(gw->thr[i]);
	free(gw->thr);
	gw_dbq_free(gw->ctx.q);
	gw_auth_free(gw->ctx.auth);
	gw_reg_free(gw->ctx.reg);
	gw_drain_free(gw->drain);   /* its jobs' done functions ran */
	gw_park_free(gw->park);
	gw_hs_free(gw->ctx.hs);
	gw_metrics_free(gw->ctx.m);
	free(gw->rsa_b64);
	free(gw->ed_b64);
	gw_rsashare_free(gw->rsashare);   /* the sessions' and binds' keys are gone */
	free(gw);
}
