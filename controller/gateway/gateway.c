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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
#define HEARTBEAT_MS    5000
#define PUSH_SCAN_MS    5000
#define AUTH_PAUSE_MS   2000    /* after a slow or failed key lookup */
#define KEY_UNKNOWN_MS  10000   /* an unknown key is not looked up again */
#define SINK_TIMEOUT_S  30

/* Loads DIR/name, generating it (and name.pub) when missing. */
static int host_key(const char *dir, const char *name, enum ssh_keytypes_e type,
		    int bits, ssh_key *out, char **b64, char *err, size_t errlen)
{
	char path[4096], pub[4200];
	ssh_key key = NULL;
	char *blob = NULL;
	FILE *f;
	int rc = VT_EIO;

	*out = NULL;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	snprintf(pub, sizeof pub, "%s.pub", path);
	if (access(path, R_OK) != 0) {
		if (ssh_pki_generate(type, bits, &key) != SSH_OK ||
		    ssh_pki_export_privkey_file(key, NULL, NULL, NULL, path) != SSH_OK) {
			snprintf(err, errlen, "%s: cannot create host key", path);
			goto out;
		}
		chmod(path, 0600);
		ssh_key_free(key);
		key = NULL;
		unlink(pub);
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
	if (access(pub, R_OK) != 0) {
		if (!(f = fopen(pub, "w"))) {
			snprintf(err, errlen, "%s: %s", pub, strerror(errno));
			goto out;
		}
		fprintf(f, "%s %s\n", ssh_key_type_to_char(type), blob);
		fclose(f);
	}
	if (!(*b64 = strdup(blob))) {
		rc = VT_ENOMEM;
		goto out;
	}
	*out = key;
	key = NULL;
	rc = VT_OK;
out:
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

static void on_accept(struct vt_loop *loop, int lfd, int events, void *arg)
{
	struct gw *gw = arg;
	enum gw_role role = lfd == gw->lfd[GW_ROLE_CTRL] ? GW_ROLE_CTRL : GW_ROLE_REG;

	(void)loop;
	(void)events;
	for (int i = 0; i < ACCEPT_BURST; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		char from[64];
		int fd = accept4(lfd, (struct sockaddr *)&ss, &sl,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				vt_warn("accept: %s", strerror(errno));
			return;
		}
		addr_text(&ss, from, sizeof from);
		if (gw->conf.max_sessions > 0 && gw->nsessions >= gw->conf.max_sessions) {
			/* Refused cleanly: the client sees the connection close
			 * at once and tries again later (or another gateway). */
			vt_debug("%s: refused, %d sessions held", from, gw->nsessions);
			close(fd);
			continue;
		}
		tune_socket(fd, gw->conf.keepalive);
		if (gw_session_start(gw, fd, role, from) < 0)
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
		gw_keys_free(gw->keys);
		gw->keys = ev->keys;
		ev->keys = NULL;
		vt_debug("key cache: %zu probes", gw_keys_count(gw->keys));
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
	/* A key added since the last load, or a stranger: ask, briefly. */
	if (now < gw->auth_pause || gw_dbq_pending(gw->q, GW_LANE_AUTH) > 0)
		return VT_EAGAIN;
	if (!(r = gw_req_new(GW_REQ_KEY, gw->conf.name, b64, key_done)))
		return VT_ENOMEM;
	r->owner = gw;
	gw_req_submit(gw->q, r);
	if (!gw_dbq_wait(gw->q, &r->job, GW_AUTH_WAIT_MS)) {
		vt_warn("key lookup slow: cache misses refused for %d s",
			AUTH_PAUSE_MS / 1000);
		gw->auth_pause = vt_mono_ms() + AUTH_PAUSE_MS;
		return VT_ETIMEOUT;   /* r answers later (key_done) */
	}
	key_apply(gw, r);
	rc = r->job.rc;
	if (rc == 0)
		*probe_id = r->probe_id;
	else if (rc == VT_ENOTFOUND)
		rc = VT_EAUTH;
	else {
		vt_warn("key lookup: %s", r->job.err);
		gw->auth_pause = vt_mono_ms() + AUTH_PAUSE_MS;
	}
	return rc;
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
	r->hb.rsa_key = gw->rsa_b64;
	r->hb.ed_key = gw->ed_b64;
	r->hb.sessions = gw->nkeep;
	r->hb.max_sessions = gw->conf.max_sessions;
	gw->heartbeat_busy = 1;
	gw_req_submit(gw->q, r);
}

static void on_sweep(struct vt_loop *loop, void *arg)
{
	struct gw *gw = arg;
	int64_t now = vt_mono_ms();

	gw_session_tick_all(gw, now);
	if (now >= gw->next_heartbeat) {
		heartbeat(gw);
		gw->next_heartbeat = now + HEARTBEAT_MS;
	}
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

int gw_new(const struct gw_conf *conf, struct gw **out, char *err, size_t errlen)
{
	struct gw *gw = calloc(1, sizeof *gw);
	ssh_key rsa = NULL, ed = NULL;
	bool no = false;
	int rc = VT_EIO;

	*out = NULL;
	if (!gw)
		return VT_ENOMEM;
	gw->conf = *conf;
	gw->lfd[0] = gw->lfd[1] = -1;
	if (mkdir(conf->host_keys, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", conf->host_keys, strerror(errno));
		goto fail;
	}
	if ((rc = host_key(conf->host_keys, "ssh_host_ed25519_key",
			   SSH_KEYTYPE_ED25519, 0, &ed, &gw->ed_b64, err, errlen)) < 0 ||
	    (rc = host_key(conf->host_keys, "ssh_host_rsa_key", SSH_KEYTYPE_RSA,
			   3072, &rsa, &gw->rsa_b64, err, errlen)) < 0)
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
	if (conf->verbose) {
		int lvl = SSH_LOG_PROTOCOL;

		ssh_bind_options_set(gw->bind, SSH_BIND_OPTIONS_LOG_VERBOSITY, &lvl);
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
	if ((rc = first_keys(gw)) < 0 ||
	    (rc = gw_dbq_new(conf->db, 1000 * (conf->db_timeout > 0 ?
					       conf->db_timeout : SINK_TIMEOUT_S),
			     gw->loop, &gw->q)) < 0 ||
	    (rc = gw_listen_new(conf->db, gw->q, on_listen, gw, &gw->listener)) < 0) {
		snprintf(err, errlen, "database threads: %s", vt_strerror(rc));
		goto fail;
	}
	rc = VT_EIO;
	if (conf->reg_port > 0 &&
	    (gw->lfd[GW_ROLE_REG] = open_listener(conf->listen, conf->reg_port,
						  err, errlen)) < 0)
		goto fail;
	if ((gw->lfd[GW_ROLE_CTRL] = open_listener(conf->listen, conf->ctrl_port,
						   err, errlen)) < 0)
		goto fail;
	for (int r = 0; r < 2; r++)
		if (gw->lfd[r] >= 0 &&
		    (rc = vt_loop_add(gw->loop, gw->lfd[r], VT_EV_READ, on_accept, gw)) < 0) {
			snprintf(err, errlen, "event loop: %s", vt_strerror(rc));
			goto fail;
		}
	if ((rc = vt_loop_timer(gw->loop, 0, on_sweep, gw, &gw->sweep)) < 0)
		goto fail;
	{
		/* First in the queue: before any session of this run is up. */
		struct gw_req *r = gw_req_new(GW_REQ_RESET, conf->name, NULL, NULL);

		if (r)
			gw_req_submit(gw->q, r);
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
	return vt_loop_run(gw->loop);
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
	for (int r = 0; r < 2; r++)
		if (gw->lfd[r] >= 0)
			close(gw->lfd[r]);
	/* The LISTEN thread posts to the queue: it stops first.  The queue
	 * then lets the bookkeeping of the closed sessions reach the database. */
	gw_listen_free(gw->listener);
	gw_dbq_free(gw->q);
	gw_keys_free(gw->keys);
	vt_loop_free(gw->loop);
	ssh_bind_free(gw->bind);
	free(gw->rsa_b64);
	free(gw->ed_b64);
	free(gw);
}
