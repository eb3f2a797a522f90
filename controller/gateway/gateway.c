/* gateway.c - the gateway's loop: host keys, listening sockets, accept with
 * the session limit, the one-second sweep (sessions, heartbeat, pushes),
 * the LISTEN thread's events and the key cache (see gateway.h). */
#include "controller/gateway/gateway.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/vtime.h"
#include "controller/gateway/jobs.h"
#include "controller/gateway/session.h"

#define BACKLOG         4096
#define ACCEPT_BURST    64
#define SWEEP_MS        1000
#define PUSH_SCAN_MS    5000
#define AUTH_LOOKUPS_PER_S  20  /* cache-miss lookups started per second */
#define AUTH_LOOKUPS_QUEUED 4   /* ... and waiting at most */
#define KEY_RELOAD_MIN_MS   5000    /* whole reloads asked for at most this often */
#define KEY_UNKNOWN_MS  10000   /* an unknown key is not looked up again */
#define SINK_TIMEOUT_S  30
#define SYNC_RETRY_MS   2000    /* sessions sync retried this often */
#define FD_RESERVE      64      /* descriptors besides the sessions' */
#define ACCEPT_PAUSE_MS 250     /* listeners not polled when out of fds */

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

static int open_listener(const char *addr, int port, char *err, size_t errlen)
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
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, BACKLOG) < 0) {
		snprintf(err, errlen, "listen on %s port %d: %s", addr, port,
			 strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

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

/* The listeners polled again after a pause. */
static void accept_resume(struct vt_loop *loop, void *arg)
{
	struct gw *gw = arg;

	(void)loop;
	gw->accept_paused = 0;
	for (int r = 0; r < GW_LISTENERS; r++)
		if (gw->lfd[r] >= 0 && vt_loop_mod(gw->loop, gw->lfd[r], VT_EV_READ) < 0)
			vt_err("cannot watch the listening socket again");
}

/* Out of descriptors (or memory): the connections wait in the backlog
 * while sessions end, instead of the level-triggered listener waking the
 * loop at once again (a busy loop). */
static void accept_pause(struct gw *gw, int err)
{
	if (gw->accept_paused)
		return;
	vt_warn("accept: %s: not accepting for %d ms (%d sessions held)",
		strerror(err), ACCEPT_PAUSE_MS, gw->nsessions);
	for (int r = 0; r < GW_LISTENERS; r++)
		if (gw->lfd[r] >= 0 && vt_loop_mod(gw->loop, gw->lfd[r], 0) < 0)
			return;
	if (vt_loop_timer(gw->loop, ACCEPT_PAUSE_MS, accept_resume, gw, NULL) < 0) {
		accept_resume(gw->loop, gw);
		return;
	}
	gw->accept_paused = 1;
}

static void on_accept(struct vt_loop *loop, int lfd, int events, void *arg)
{
	struct gw *gw = arg;
	int which = 0;
	enum gw_role role;
	ssh_bind bind;

	while (which < GW_LISTENERS - 1 && gw->lfd[which] != lfd)
		which++;
	role = (which & 1) ? GW_ROLE_CTRL : GW_ROLE_REG;
	bind = (which & GW_LISTEN_RSA) ? gw->bind_rsa : gw->bind;
	(void)loop;
	(void)events;
	for (int i = 0; i < ACCEPT_BURST; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		char from[64];
		int fd = accept4(lfd, (struct sockaddr *)&ss, &sl,
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
		if (gw->conf.max_sessions > 0 && gw->nsessions >= gw->conf.max_sessions) {
			/* Refused cleanly: the client sees the connection close
			 * at once and tries again later (or another gateway). */
			vt_debug("%s: refused, %d sessions held", from, gw->nsessions);
			gw_m_refused(gw->m, GW_M_MAX_SESSIONS);
			close(fd);
			continue;
		}
		tune_socket(fd, gw->conf.keepalive);
		if (gw_session_start(gw, fd, role, bind, from) < 0)
			vt_warn("%s: cannot start a session", from);
	}
}

void gw_push_kick(struct gw *gw)
{
	gw->push_wanted = 1;
}

static void push_scan(struct gw *gw);

/* Pending pushes read: claim those of probes held here that can take one. */
static void pushes_done(struct gw_job *j)
{
	struct gw_req *r = gw_req_of(j);
	struct gw *gw = r->owner;

	gw->push_scanning = 0;
	if (j->rc < 0)
		vt_warn("pushes: %s", j->err);
	for (int i = 0; j->rc == 0 && i < r->n; i++) {
		struct gw_session *s = gw_session_find(gw, r->probes[i]);

		if (s && gw_session_can_push(s))
			gw_session_claim(s, r->ids[i]);
		/* else not here, or busy: a later scan takes it */
	}
	if (j->rc == 0 && r->n == GW_REQ_PUSHES_MAX)
		gw->push_wanted = 1;   /* more may wait */
	gw_req_free(r);
	if (gw->push_wanted)
		push_scan(gw);
}

/* Reads the pending pushes (pushes_done goes on). */
static void push_scan(struct gw *gw)
{
	struct gw_req *r;

	if (gw->push_scanning)
		return;   /* push_wanted stays: scanned again when it ends */
	gw->push_wanted = 0;
	if (gw->nkeep == 0)
		return;
	if (!(r = gw_req_new(GW_REQ_PUSHES, gw->conf.name, NULL, pushes_done)) ||
	    !(r->want = calloc((size_t)gw->nkeep, sizeof *r->want))) {
		gw_req_free(r);
		gw->push_wanted = 1;
		return;
	}
	/* Only the probes that can take a push now are asked about. */
	if ((r->nwant = gw_sessions_pushable(gw, r->want, gw->nkeep)) == 0) {
		gw_req_free(r);
		return;
	}
	r->owner = gw;
	gw->push_scanning = 1;
	gw_req_submit(gw->q, r);
}

/* An event of the LISTEN thread. */
static void on_listen(struct gw_job *j)
{
	struct gw_listen_ev *ev = (struct gw_listen_ev *)j;
	struct gw *gw = ev->arg;

	if (ev->keys) {
		size_t was = gw->keys ? gw_keys_count(gw->keys) : 0,
		       now = gw_keys_count(ev->keys);

		gw_keys_free(gw->keys);
		gw->keys = ev->keys;
		ev->keys = NULL;
		if (now != was || gw->keys_hup)
			vt_info("key cache: %zu probes (was %zu)%s", now, was,
				gw->keys_hup ? ", reloaded on SIGHUP" : "");
		else
			vt_debug("key cache: %zu probes", now);
		gw->keys_hup = 0;
	}
	if (ev->listening)
		gw->push_wanted = 1;   /* notifications may have been missed */
	if (ev->notified) {
		/* Assignments changed: queue the whole crontab of each probe
		 * held here (all of them when too many changed at once). */
		for (int i = 0; i < ev->ncrontab; i++) {
			struct gw_session *s = gw_session_find(gw, ev->crontab[i]);

			if (s)
				gw_session_crontab(s);
		}
		if (ev->overflow)
			gw_session_crontab_all(gw);
		gw->push_wanted = 1;
		push_scan(gw);
	}
	gw_listen_ev_free(ev);
}

static void key_apply(struct gw *gw, struct gw_req *r)
{
	if (r->job.rc == 0) {
		if (gw_keys_put(gw->keys, r->text, r->probe_id) < 0)
			vt_warn("key cache: out of memory");
	} else if (r->job.rc == VT_ENOTFOUND) {
		gw_keys_put_unknown(gw->keys, r->text, vt_mono_ms() + KEY_UNKNOWN_MS);
	}
}

static void key_done(struct gw_job *j)
{
	struct gw_req *r = gw_req_of(j);

	if (j->rc < 0 && j->rc != VT_ENOTFOUND)
		vt_warn("key lookup: %s", j->err);
	key_apply(r->owner, r);
	gw_req_free(r);
}

int gw_auth_key(struct gw *gw, const char *b64, long *probe_id)
{
	int64_t now = vt_mono_ms();
	struct gw_req *r;
	int rc;

	rc = gw_keys_get(gw->keys, b64, now, probe_id);
	if (rc != VT_ENOTFOUND)
		return rc;
	/* A key added since the last load, or a stranger: denied now, and
	 * looked up in the background (key_done puts the answer in the cache
	 * for the next attempt), at a bounded rate so that a stream of
	 * strangers cannot keep the database busy. */
	if (now >= gw->auth_window + 1000) {
		gw->auth_window = now;
		gw->auth_lookups = 0;
	}
	if (gw->auth_lookups >= AUTH_LOOKUPS_PER_S ||
	    gw_dbq_pending(gw->q, GW_LANE_AUTH) >= AUTH_LOOKUPS_QUEUED) {
		/* More misses than lookups: many keys were added at once, or
		 * strangers knock; a whole reload answers the former. */
		if (now >= gw->next_reload) {
			gw->next_reload = now + KEY_RELOAD_MIN_MS;
			gw_listen_reload(gw->listener);
		}
		return VT_EAGAIN;
	}
	if (!(r = gw_req_new(GW_REQ_KEY, gw->conf.name, b64, key_done)))
		return VT_ENOMEM;
	r->owner = gw;
	gw->auth_lookups++;
	gw_req_submit(gw->q, r);
	return VT_EAGAIN;
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
	if (!(r = gw_req_new(GW_REQ_HEARTBEAT, gw->conf.name, NULL, heartbeat_done)))
		return;
	r->owner = gw;
	r->hb.host = gw->conf.ctrl_host;
	r->hb.port = gw->conf.ctrl_port;
	r->hb.rsa_port = gw->conf.rsa_ctrl_port;
	r->hb.rsa_key = gw->rsa_b64;
	r->hb.ed_key = gw->ed_b64;
	r->hb.sessions = gw->nkeep;
	r->hb.max_sessions = gw->conf.max_sessions;
	r->hb.capacity = gw->conf.capacity;
	gw->heartbeat_busy = 1;
	gw_req_submit(gw->q, r);
}

static void sync_done(struct gw_job *j)
{
	struct gw_req *r = gw_req_of(j);
	struct gw *gw = r->owner;

	gw->sync_busy = 0;
	if (j->rc < 0) {
		vt_warn("sessions sync: %s (retried)", j->err);
		gw->resync = 1;
	} else {
		vt_info("sessions sync: %d KEEP sessions recorded", r->n);
	}
	gw_req_free(r);
}

/* Session bookkeeping was lost (the database was away): make the database
 * agree with the KEEP sessions held now.  The database threads run the
 * control lane in order, so what was queued before this snapshot lands
 * before it, and what comes after lands after it. */
static void sessions_sync(struct gw *gw, int64_t now)
{
	struct gw_req *r;
	int n = 0;

	if (!gw->resync || gw->sync_busy || now < gw->next_sync)
		return;
	if (!(r = gw_req_new(GW_REQ_SYNC, gw->conf.name, NULL, sync_done)) ||
	    (gw->nkeep > 0 &&
	     !(r->live = calloc((size_t)gw->nkeep, sizeof *r->live)))) {
		gw_req_free(r);
		return;
	}
	if (gw->nkeep > 0)
		n = gw_sessions_live(gw, r->live, gw->nkeep);
	r->n = n;
	r->owner = gw;
	gw->resync = 0;
	gw->sync_busy = 1;
	gw->next_sync = now + SYNC_RETRY_MS;
	gw_req_submit(gw->q, r);
}

static void on_sweep(struct vt_loop *loop, void *arg)
{
	struct gw *gw = arg;
	int64_t now = vt_mono_ms();

	if (gw->conf.reload_flag && *gw->conf.reload_flag) {
		*gw->conf.reload_flag = 0;
		if (gw->conf.reload)
			gw->conf.reload();
		gw->keys_hup = 1;
		gw_listen_reload(gw->listener);
	}
	gw_session_tick_all(gw, now);
	sessions_sync(gw, now);
	vt_log_flush();
	gw_m_sweep(gw->m, gw);
	if (now >= gw->next_heartbeat) {
		heartbeat(gw);
		gw->next_heartbeat = now + GW_HEARTBEAT_MS;
	}
	gw_drain_tick(gw, now);
	if (gw->push_wanted || now >= gw->next_push_scan) {
		gw->push_wanted = 1;
		push_scan(gw);
		gw->next_push_scan = now + PUSH_SCAN_MS;
	}
	if (!gw->stopping &&
	    vt_loop_timer(loop, SWEEP_MS, on_sweep, gw, &gw->sweep) < 0)
		vt_err("cannot arm the sweep timer");
}

/* The key cache before serving: loaded here (blocking, start-up only);
 * empty when the database is away (misses are looked up then). */
static int first_keys(struct gw *gw)
{
	struct gw_db *db = NULL;
	int rc;

	if ((rc = gw_db_new(gw->conf.db, &db)) < 0)
		return rc;
	if ((rc = gw_listen_load_keys(db, &gw->keys)) < 0) {
		vt_warn("database: %s (keys looked up as probes come)",
			gw_db_error(db));
		rc = gw_keys_new(&gw->keys);
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

int gw_new(const struct gw_conf *conf, struct gw **out, char *err, size_t errlen)
{
	struct gw *gw = calloc(1, sizeof *gw);
	ssh_key rsa = NULL, ed = NULL;
	sigset_t block, saved;
	bool no = false;
	int rc = VT_EIO;

	*out = NULL;
	if (!gw)
		return VT_ENOMEM;
	gw->conf = *conf;
	for (int i = 0; i < GW_LISTENERS; i++)
		gw->lfd[i] = -1;
	if (gw->conf.max_sessions <= 0)
		gw->conf.max_sessions = 20000;
	if (gw->conf.max_per_probe <= 0)
		gw->conf.max_per_probe = GW_MAX_PER_PROBE;
	if (gw->conf.max_auth_tries <= 0)
		gw->conf.max_auth_tries = GW_MAX_AUTH_TRIES;
	if (gw->conf.chan_timeout <= 0)
		gw->conf.chan_timeout = GW_CHAN_TIMEOUT;
	if (gw->conf.idle_timeout <= 0)
		gw->conf.idle_timeout = GW_IDLE_TIMEOUT;
	if ((rc = gw_pcount_new(&gw->per_probe)) < 0 ||
	    (rc = gw_drain_new(&gw->drain)) < 0 ||
	    (rc = gw_metrics_new(conf->metrics, &gw->m)) < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if ((rc = fit_fd_limit(&gw->conf, err, errlen)) < 0)
		goto fail;
	if (mkdir(conf->host_keys, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", conf->host_keys, strerror(errno));
		goto fail;
	}
	if ((rc = host_key(conf->host_keys, "ssh_host_ed25519_key",
			   SSH_KEYTYPE_ED25519, 0, &ed, &gw->ed_b64, err, errlen)) < 0 ||
	    (rc = host_key(conf->host_keys, "ssh_host_rsa_key", SSH_KEYTYPE_RSA,
			   GW_RSA_BITS, &rsa, &gw->rsa_b64, err, errlen)) < 0)
		goto fail;
	rc = VT_ESSH;
	if (!(gw->bind = ssh_bind_new()) ||
	    ssh_bind_options_set(gw->bind, SSH_BIND_OPTIONS_PROCESS_CONFIG, &no) < 0 ||
	    ssh_bind_options_set(gw->bind, SSH_BIND_OPTIONS_IMPORT_KEY, ed) < 0) {
		snprintf(err, errlen, "libssh: cannot set up the server");
		goto fail;
	}
	ed = NULL;   /* the bind owns it */
	if (ssh_bind_options_set(gw->bind, SSH_BIND_OPTIONS_IMPORT_KEY, rsa) < 0) {
		snprintf(err, errlen, "libssh: cannot use the RSA host key");
		goto fail;
	}
	rsa = NULL;
	/* The stock probes' listeners: RSA and nothing else, or their OpenSSH
	 * picks ed25519 and finds no key for it (PROTOCOL.md, "Transport"). */
	{
		char path[4096];

		snprintf(path, sizeof path, "%s/ssh_host_rsa_key", conf->host_keys);
		if (!(gw->bind_rsa = ssh_bind_new()) ||
		    ssh_bind_options_set(gw->bind_rsa, SSH_BIND_OPTIONS_PROCESS_CONFIG,
					 &no) < 0 ||
		    ssh_bind_options_set(gw->bind_rsa, SSH_BIND_OPTIONS_HOSTKEY,
					 path) < 0 ||
		    ssh_bind_options_set(gw->bind_rsa,
					 SSH_BIND_OPTIONS_HOSTKEY_ALGORITHMS,
					 "rsa-sha2-512,rsa-sha2-256") < 0) {
			snprintf(err, errlen, "libssh: cannot set up the RSA-only "
				 "listeners");
			goto fail;
		}
	}
	if (conf->verbose) {
		int lvl = SSH_LOG_PROTOCOL;

		ssh_bind_options_set(gw->bind, SSH_BIND_OPTIONS_LOG_VERBOSITY, &lvl);
		ssh_bind_options_set(gw->bind_rsa, SSH_BIND_OPTIONS_LOG_VERBOSITY, &lvl);
	}
	if (!conf->db) {
		rc = VT_EINVAL;
		snprintf(err, errlen, "no database (use --db or VANTAGE_DB)");
		goto fail;
	}
	if ((rc = vt_loop_new(&gw->loop)) < 0) {
		snprintf(err, errlen, "event loop: %s", vt_strerror(rc));
		goto fail;
	}
	vt_loop_watch_flag(gw->loop, conf->stop_flag);
	/* The database threads block SIGTERM and SIGINT, so that a signal
	 * interrupts the loop's epoll_wait (conf.stop_flag). */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &saved);
	if ((rc = first_keys(gw)) < 0 ||
	    (rc = gw_dbq_new(conf->db, 1000 * (conf->db_timeout > 0 ?
					       conf->db_timeout : SINK_TIMEOUT_S),
			     gw->loop, &gw->q)) < 0 ||
	    (rc = gw_listen_new(conf->db, gw->q, on_listen, gw, &gw->listener)) < 0) {
		pthread_sigmask(SIG_SETMASK, &saved, NULL);
		snprintf(err, errlen, "database threads: %s", vt_strerror(rc));
		goto fail;
	}
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	gw_dbq_metrics(gw->q, gw->m);
	rc = VT_EIO;
	{
		const int port[GW_LISTENERS] = { conf->reg_port, conf->ctrl_port,
						 conf->rsa_reg_port,
						 conf->rsa_ctrl_port };

		for (int i = 0; i < GW_LISTENERS; i++) {
			if (port[i] <= 0)
				continue;
			if ((gw->lfd[i] = open_listener(conf->listen, port[i], err,
							errlen)) < 0)
				goto fail;
			if ((rc = vt_loop_add(gw->loop, gw->lfd[i], VT_EV_READ,
					      on_accept, gw)) < 0) {
				snprintf(err, errlen, "event loop: %s", vt_strerror(rc));
				goto fail;
			}
		}
	}
	if ((rc = vt_loop_timer(gw->loop, 0, on_sweep, gw, &gw->sweep)) < 0)
		goto fail;
	{
		/* First in the queue: before any session of this run is up. */
		struct gw_req *r = gw_req_new(GW_REQ_RESET, conf->name, NULL, NULL);

		if (r) {
			r->lost = &gw->resync;
			gw_req_submit(gw->q, r);
		} else {
			gw->resync = 1;
		}
	}
	*out = gw;
	return VT_OK;
fail:
	ssh_key_free(rsa);
	ssh_key_free(ed);
	gw_free(gw);
	return rc < 0 ? rc : VT_EIO;
}

int gw_run(struct gw *gw)
{
	int rc = vt_loop_run(gw->loop);

	gw->stopping = 1;
	return rc;
}

void gw_stop(struct gw *gw)
{
	gw->stopping = 1;
	vt_loop_stop(gw->loop);
}

void gw_free(struct gw *gw)
{
	if (!gw)
		return;
	gw_session_close_all(gw);
	for (int i = 0; i < GW_LISTENERS; i++)
		if (gw->lfd[i] >= 0)
			close(gw->lfd[i]);
	if (gw->q && gw->conf.name) {
		/* Registration stops handing this gateway out now (after any
		 * heartbeat queued before: one FIFO lane). */
		struct gw_req *r = gw_req_new(GW_REQ_LEAVE, gw->conf.name, NULL, NULL);

		if (r)
			gw_req_submit(gw->q, r);
	}
	/* The LISTEN thread posts to the queue: it stops first.  The queue
	 * then lets the bookkeeping of the closed sessions reach the database. */
	gw_listen_free(gw->listener);
	gw_dbq_free(gw->q);
	gw_drain_free(gw->drain);
	gw_keys_free(gw->keys);
	gw_pcount_free(gw->per_probe);
	gw_metrics_free(gw->m);
	vt_loop_free(gw->loop);
	ssh_bind_free(gw->bind);
	ssh_bind_free(gw->bind_rsa);
	free(gw->rsa_b64);
	free(gw->ed_b64);
	free(gw);
}
