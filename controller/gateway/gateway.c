/* gateway.c - the gateway's loop: host keys, listening sockets, accept with
 * the session limit, the one-second sweep (sessions, heartbeat, pushes)
 * and the LISTEN socket (see gateway.h). */
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
#include "controller/gateway/session.h"

#define BACKLOG         4096
#define ACCEPT_BURST    64
#define SWEEP_MS        1000
#define HEARTBEAT_MS    5000
#define PUSH_SCAN_MS    5000
#define PUSH_SCAN_MAX   256

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

/* Claims and starts the pending pushes of probes held here. */
static void push_scan(struct gw *gw)
{
	long ids[PUSH_SCAN_MAX], probes[PUSH_SCAN_MAX];
	int n = 0;

	gw->push_wanted = 0;
	if (gw->nkeep == 0)
		return;
	if (gw_db_push_pending(gw->db, ids, probes, PUSH_SCAN_MAX, &n) < 0) {
		vt_warn("pushes: %s", gw_db_error(gw->db));
		return;
	}
	for (int i = 0; i < n; i++) {
		struct gw_session *s = gw_session_find(gw, probes[i]);
		char *batch = NULL;
		int rc;

		if (!s || !gw_session_can_push(s))
			continue;   /* not here, or busy: a later scan takes it */
		if (gw_db_push_claim(gw->db, ids[i], gw->conf.name, &batch) < 0)
			continue;
		rc = gw_session_push(s, ids[i], batch);
		if (rc < 0) {
			if (gw_db_push_done(gw->db, ids[i], 0,
					    rc == VT_EPARSE ? "BAD_BATCH" : "NO_CHANNEL") < 0)
				vt_warn("push %ld: %s", ids[i], gw_db_error(gw->db));
		}
		free(batch);
		gw->next_push_scan = 0;
	}
}

static void listen_watch(struct gw *gw);

static void on_notify(struct vt_loop *loop, int fd, int events, void *arg)
{
	struct gw *gw = arg;
	int notified = 0;

	(void)events;
	if (gw_db_listen_drain(gw->db, &notified) < 0) {
		vt_loop_del(loop, fd);
		gw->listen_fd = -1;
		vt_warn("LISTEN connection lost: %s", gw_db_error(gw->db));
		return;
	}
	if (notified) {
		long ids[256];
		int overflow = 0;
		int n = gw_db_crontab_notified(gw->db, ids, 256, &overflow);

		/* Assignments changed: queue the whole crontab of each probe
		 * held here (all of them when too many changed at once). */
		for (int i = 0; i < n; i++) {
			struct gw_session *s = gw_session_find(gw, ids[i]);

			if (s)
				gw_session_crontab(s);
		}
		if (overflow)
			gw_session_crontab_all(gw);
		push_scan(gw);
	}
}

static void listen_watch(struct gw *gw)
{
	int fd;

	if (gw->listen_fd >= 0)
		return;
	if ((fd = gw_db_listen_fd(gw->db)) < 0)
		return;
	if (vt_loop_add(gw->loop, fd, VT_EV_READ, on_notify, gw) == 0) {
		gw->listen_fd = fd;
		gw->push_wanted = 1;   /* notifications may have been missed */
	}
}

static void heartbeat(struct gw *gw)
{
	if (gw_db_heartbeat(gw->db, gw->conf.name, gw->conf.ctrl_host,
			    gw->conf.ctrl_port, gw->rsa_b64, gw->ed_b64, gw->nkeep,
			    gw->conf.max_sessions) < 0)
		vt_warn("heartbeat: %s", gw_db_error(gw->db));
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
	listen_watch(gw);
	if (gw->push_wanted || now >= gw->next_push_scan) {
		push_scan(gw);
		gw->next_push_scan = now + PUSH_SCAN_MS;
	}
	if (!gw->stopping &&
	    vt_loop_timer(loop, SWEEP_MS, on_sweep, gw, &gw->sweep) < 0)
		vt_err("cannot arm the sweep timer");
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
	gw->lfd[0] = gw->lfd[1] = gw->listen_fd = -1;
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
	if ((rc = gw_db_new(conf->db, &gw->db)) < 0) {
		snprintf(err, errlen, "no database (use --db or VANTAGE_DB)");
		goto fail;
	}
	if ((rc = vt_loop_new(&gw->loop)) < 0) {
		snprintf(err, errlen, "event loop: %s", vt_strerror(rc));
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
	if (gw_db_sessions_reset(gw->db, conf->name) < 0)
		vt_warn("database: %s (will retry)", gw_db_error(gw->db));
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
	vt_loop_free(gw->loop);
	gw_db_free(gw->db);
	ssh_bind_free(gw->bind);
	free(gw->rsa_b64);
	free(gw->ed_b64);
	free(gw);
}
