/* link.c - the probe's link state machine (see link.h).
 *
 *   REGISTER --OK--> CTRL_INIT --OK--> KEEP --lost--> (backoff) KEEP ...
 *      ^                 |               | output on KEEP, refused key,
 *      +-----------------+---------------+ wrong host key, timer expired
 *
 * Everything a restart needs is in the spool (state.h), so a restarted
 * probe inside its re-register interval goes straight to KEEP. */
#include "probe/link/link.h"

#include <netinet/in.h>
#include <stdint.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <libssh/server.h>  /* ssh_send_keepalive, client side too */

#include "common/log.h"
#include "common/vtime.h"
#include "probe/link/cmd.h"
#include "probe/link/sshc.h"
#include "probe/link/state.h"
#include "probe/link/upload.h"
#include "proto/reg.h"
#include "proto/upload.h"

#define REPLY_MAX          16384
#define EXEC_TIMEOUT_MS    30000
#define CMD_TIMEOUT_MS     30000
#define UPLOAD_TIMEOUT_MS  60000
#define UPLOAD_RETRY_MS    10000   /* after a post that was not acknowledged */
#define SINK_RETRY_MS      250     /* after the channel to the sink was refused */
#define SINK_TRIES         40      /* refusals in a row before counting as failed */
#define KEEPALIVE_MS       60000
#define KEEP_STABLE_MS     30000   /* a KEEP this old resets the backoff */
#define KEEP_FAIL_REREG    8       /* failed KEEP or INIT tries before re-registering */
#define REREG_AFTER_S      600     /* ... and failing at least this long (default) */
#define FIRMWARE           5120

enum keep_end {
	KEEP_STOP,          /* asked to stop */
	KEEP_LOST,          /* network or gateway gone: reconnect */
	KEEP_OUTPUT,        /* controller wrote on KEEP: FORCE_REG */
	KEEP_REREG,         /* re-register timer expired */
	KEEP_REFUSED,       /* forward or KEEP refused: new controller INIT */
	KEEP_BADKEY,        /* key refused or host key changed: register */
	KEEP_ONCE_DONE,     /* once mode: spool uploaded */
	KEEP_ONCE_FAILED    /* once mode: the upload failed */
};

struct vt_link {
	struct vt_link_conf    conf;
	ssh_key                key;
	struct vt_spool       *sp;
	volatile sig_atomic_t *stop;
	struct vt_link_state   st;
	unsigned               attempt;     /* consecutive failures */
	int                    keep_fails;  /* consecutive failed KEEP connects */
	int64_t                fail_since;  /* mono ms of the first of them */
	int                    wait_over;   /* registration said WAIT */
	int                    once_rounds; /* once mode: KEEPs tried */
	int                    asked;       /* vt_link_upload_now: atomic */
	int                    want;        /* an ask not yet served */
};

long vt_link_backoff_ms(long min_ms, long max_ms, unsigned attempt, uint32_t r)
{
	long cap = min_ms;

	for (unsigned i = 0; i < attempt && cap < max_ms; i++)
		cap *= 2;
	if (cap > max_ms)
		cap = max_ms;
	if (cap <= 0)
		return 0;
	return (long)((uint64_t)r * (uint64_t)(cap + 1) >> 32);
}

int vt_link_new(const struct vt_link_conf *conf, ssh_key key,
		struct vt_spool *sp, volatile sig_atomic_t *stop,
		struct vt_link **out)
{
	struct vt_link *l = calloc(1, sizeof *l);
	int rc;

	if (!l)
		return VT_ENOMEM;
	l->conf = *conf;
	if (l->conf.backoff_min_ms <= 0)
		l->conf.backoff_min_ms = 1000;
	if (l->conf.backoff_max_ms < l->conf.backoff_min_ms)
		l->conf.backoff_max_ms = 300000;
	if (l->conf.upload_poll_ms < 0)
		l->conf.upload_poll_ms = 0;
	l->want = l->conf.once;
	if (l->conf.timeout_s <= 0)
		l->conf.timeout_s = 30;
	if (l->conf.rereg_after_s <= 0)
		l->conf.rereg_after_s = REREG_AFTER_S;
	l->key = key;
	l->sp = sp;
	l->stop = stop;
	rc = vt_link_state_load(sp, &l->st);
	if (rc == VT_EPARSE) {
		vt_warn("status/link.state is damaged; registering again");
		rc = VT_OK;
	}
	if (rc < 0) {
		free(l);
		return rc;
	}
	*out = l;
	return VT_OK;
}

void vt_link_free(struct vt_link *l)
{
	free(l);
}

void vt_link_upload_now(struct vt_link *l)
{
	__atomic_store_n(&l->asked, 1, __ATOMIC_RELEASE);
}

/* Sleeps ms, waking early when asked to stop. */
static void nap(struct vt_link *l, long ms)
{
	int64_t end = vt_mono_ms() + ms;

	while (!*l->stop) {
		int64_t left = end - vt_mono_ms();
		struct timespec ts;

		if (left <= 0)
			break;
		if (left > 100)
			left = 100;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)left * 1000000L;
		nanosleep(&ts, NULL);
	}
}

static void backoff(struct vt_link *l)
{
	long ms = vt_link_backoff_ms(l->conf.backoff_min_ms, l->conf.backoff_max_ms,
				     l->attempt, arc4random());

	if (l->attempt < 32)
		l->attempt++;
	vt_info("retrying in %ld ms", ms);
	nap(l, ms);
}

/* Counts a failed KEEP or controller INIT; 1 when the probe should
 * register again: KEEP_FAIL_REREG failures in a row that went on for
 * rereg_after_s.  A gateway restart, however slow, costs reconnects only;
 * a gateway gone for good sends the probe back to registration. */
static int keep_failed(struct vt_link *l)
{
	int64_t now = vt_mono_ms();

	if (l->keep_fails++ == 0)
		l->fail_since = now;
	return l->keep_fails >= KEEP_FAIL_REREG &&
	       now - l->fail_since >= l->conf.rereg_after_s * 1000;
}

static void save_state(struct vt_link *l)
{
	int rc = vt_link_state_save(l->sp, &l->st);

	if (rc < 0)
		vt_err("cannot save status/link.state: %s", vt_strerror(rc));
}

static void fill_request(struct vt_reg_request *req, enum vt_reg_reason reason)
{
	struct utsname u;

	memset(req, 0, sizeof *req);
	if (uname(&u) < 0)
		memset(&u, 0, sizeof u);
	snprintf(req->arch, sizeof req->arch, "vantage-probe");
	snprintf(req->kernel, sizeof req->kernel, "%.60s",
		 u.release[0] ? u.release : "1000");
	req->firmware = FIRMWARE;
	snprintf(req->os, sizeof req->os, "%.80s/%.80s/%.80s",
		 u.sysname[0] ? u.sysname : "Linux",
		 u.release[0] ? u.release : "0", u.machine[0] ? u.machine : "x");
	snprintf(req->token_specs, sizeof req->token_specs, "%s %s %ld %s",
		 req->arch, req->kernel, req->firmware, req->os);
	req->reason = reason;
}

/* Registration INIT.  VT_OK with the state updated, VT_EAGAIN after a WAIT
 * (already waited), or an error. */
static int do_register(struct vt_link *l)
{
	struct vt_sshc_target t = {
		.host = l->conf.reg_host, .port = l->conf.reg_port,
		.key_type = l->conf.reg_key_type, .key_b64 = l->conf.reg_key,
	};
	struct vt_reg_request req;
	struct vt_reg_reply rep;
	enum vt_reg_reason reason;
	struct vt_buf in, out;
	ssh_session s = NULL;
	char err[512] = "";
	long long now = time(NULL);
	int rc, status;

	if (l->st.force_reg)
		reason = VT_REG_FORCE_REG;
	else if (l->wait_over)
		reason = VT_REG_WAIT_OVER;
	else if (l->st.probe_id <= 0)
		reason = VT_REG_NEW;
	else
		reason = VT_REG_REREG_TIMER_EXPIRED;
	vt_buf_init(&in, 4096);
	vt_buf_init(&out, REPLY_MAX);
	fill_request(&req, reason);
	if ((rc = vt_reg_request_format(&req, &in)) < 0)
		goto out;
	rc = vt_sshc_connect(&t, l->key, l->conf.timeout_s, &s, err, sizeof err);
	if (rc < 0) {
		vt_warn("registration: %s", err);
		goto out;
	}
	rc = vt_sshc_exec(s, "INIT", in.data, in.len, &out, &status, EXEC_TIMEOUT_MS);
	if (rc < 0) {
		vt_warn("registration INIT: %s", vt_strerror(rc));
		goto out;
	}
	rc = vt_reg_reply_parse(out.data ? out.data : "", out.len, &rep);
	if (rc < 0 || status != 0) {
		vt_warn("registration INIT: bad reply (exit status %d)", status);
		rc = rc < 0 ? rc : VT_EPROTO;
		goto out;
	}
	if (rep.wait) {
		vt_info("registration: WAIT %ld s", rep.timeout);
		l->wait_over = 1;
		vt_sshc_close(s);
		s = NULL;
		nap(l, (rep.timeout > 0 ? rep.timeout : 60) * 1000L);
		rc = VT_EAGAIN;
		goto out;
	}
	if (!rep.ctrl_key[0] || !rep.ctrl_host[0] || rep.ctrl_port <= 0) {
		vt_warn("registration: no CONTROLLER in the reply");
		rc = VT_EPROTO;
		goto out;
	}
	if (rep.timestamp > 0 && (rep.timestamp > now + 2 || rep.timestamp < now - 2))
		vt_warn("clock is %lld s off the registration server's",
			now - rep.timestamp);
	l->wait_over = 0;
	l->st.probe_id = rep.probe_id;
	snprintf(l->st.ctrl_host, sizeof l->st.ctrl_host, "%s", rep.ctrl_host);
	l->st.ctrl_port = rep.ctrl_port;
	snprintf(l->st.ctrl_key_type, sizeof l->st.ctrl_key_type, "%s",
		 rep.ctrl_key_type[0] ? rep.ctrl_key_type : "ssh-rsa");
	snprintf(l->st.ctrl_key, sizeof l->st.ctrl_key, "%s", rep.ctrl_key);
	l->st.rereg_at = now + rep.rereg;
	l->st.force_reg = 0;
	l->st.session_id[0] = '\0';
	l->st.remote_port = 0;
	l->keep_fails = 0;
	save_state(l);
	vt_info("registered (%s) as probe %ld; controller %s:%d, re-register in %ld s",
		vt_reg_reason_name(reason), l->st.probe_id, l->st.ctrl_host,
		l->st.ctrl_port, rep.rereg);
	rc = VT_OK;
out:
	vt_sshc_close(s);
	vt_buf_free(&in);
	vt_buf_free(&out);
	return rc;
}

static void ctrl_target(const struct vt_link *l, struct vt_sshc_target *t)
{
	t->host = l->st.ctrl_host;
	t->port = l->st.ctrl_port;
	t->key_type = l->st.ctrl_key_type;
	t->key_b64 = l->st.ctrl_key;
}

/* Controller INIT: a fresh session id and remote port. */
static int do_ctrl_init(struct vt_link *l)
{
	struct vt_sshc_target t;
	struct vt_ctrl_reply rep;
	struct vt_buf out;
	ssh_session s = NULL;
	char err[512] = "";
	int rc, status;

	ctrl_target(l, &t);
	vt_buf_init(&out, REPLY_MAX);
	rc = vt_sshc_connect(&t, l->key, l->conf.timeout_s, &s, err, sizeof err);
	if (rc < 0) {
		vt_warn("controller: %s", err);
		if (rc == VT_EAUTH || rc == VT_EPROTO)
			l->st.force_reg = 1;
		goto out;
	}
	rc = vt_sshc_exec(s, "INIT", NULL, 0, &out, &status, EXEC_TIMEOUT_MS);
	if (rc < 0) {
		vt_warn("controller INIT: %s", vt_strerror(rc));
		goto out;
	}
	rc = vt_ctrl_reply_parse(out.data ? out.data : "", out.len, &rep);
	if (rc < 0) {
		vt_warn("controller INIT: bad reply");
		goto out;
	}
	if (rep.status == VT_CTRL_WAIT) {
		vt_info("controller INIT: WAIT %ld s", rep.timeout);
		vt_sshc_close(s);
		s = NULL;
		nap(l, (rep.timeout > 0 ? rep.timeout : 60) * 1000L);
		rc = VT_EAGAIN;
		goto out;
	}
	if (rep.status == VT_CTRL_REFUSED) {
		vt_warn("controller INIT: REFUSED; registering again");
		l->st.force_reg = 1;
		save_state(l);
		rc = VT_EAUTH;
		goto out;
	}
	snprintf(l->st.session_id, sizeof l->st.session_id, "%s", rep.session_id);
	l->st.remote_port = rep.remote_port;
	save_state(l);
	vt_info("controller INIT: remote port %d, session %s", rep.remote_port,
		rep.session_id);
	rc = VT_OK;
out:
	vt_sshc_close(s);
	vt_buf_free(&out);
	return rc;
}

/* Dead-peer detection below SSH: keepalive probes and a cap on unacked data. */
static void tune_socket(ssh_session s)
{
	int fd = ssh_get_fd(s), on = 1, idle = 60, intvl = 20, cnt = 6;
	unsigned int user_to = 180000;

	if (fd < 0)
		return;
	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_to, sizeof user_to);
}

/* One forwarded-tcpip channel from the controller. */
static void serve_command(struct vt_link *l, ssh_channel ch, int port)
{
	struct vt_cmd_stats cs;
	int rc;

	if (port != l->st.remote_port) {
		vt_warn("command channel for port %d refused (ours is %d)", port,
			l->st.remote_port);
		return;
	}
	rc = vt_cmd_serve(ch, l->sp, l->st.probe_id, l->st.session_id,
			  CMD_TIMEOUT_MS, &cs);
	if (rc == VT_OK)
		vt_info("command batch: %d crontab(s), %d line(s), %d one-off(s)",
			cs.crontabs, cs.lines, cs.oneoffs);
	else
		vt_warn("command batch ended: %s", vt_strerror(rc));
}

/* Holds KEEP until something ends it; *stable says it lasted long enough
 * to reset the backoff. */
static enum keep_end do_keep(struct vt_link *l, int *stable)
{
	struct vt_sshc_target t;
	ssh_session s = NULL;
	ssh_channel keep = NULL;
	char err[512] = "";
	int64_t start, next_upload, next_poll, next_alive;
	enum keep_end end;
	int rc, too_big = 0, refused = 0;

	*stable = 0;
	ctrl_target(l, &t);
	rc = vt_sshc_connect(&t, l->key, l->conf.timeout_s, &s, err, sizeof err);
	if (rc < 0) {
		vt_warn("KEEP: %s", err);
		end = (rc == VT_EAUTH || rc == VT_EPROTO) ? KEEP_BADKEY : KEEP_LOST;
		goto out;
	}
	/* like ssh -R <port>:127.0.0.1:2023, which sends "localhost" */
	if (ssh_channel_listen_forward(s, "localhost", l->st.remote_port, NULL)
	    != SSH_OK) {
		vt_warn("KEEP: remote forward of port %d refused",
			l->st.remote_port);
		end = ssh_is_connected(s) ? KEEP_REFUSED : KEEP_LOST;
		goto out;
	}
	keep = ssh_channel_new(s);
	if (!keep || ssh_channel_open_session(keep) != SSH_OK ||
	    ssh_channel_request_exec(keep, "KEEP") != SSH_OK) {
		vt_warn("KEEP: exec refused: %s", ssh_get_error(s));
		end = ssh_is_connected(s) ? KEEP_REFUSED : KEEP_LOST;
		goto out;
	}
	tune_socket(s);
	l->keep_fails = 0;
	start = vt_mono_ms();
	next_upload = start;        /* no attempt before (retry delays) */
	next_poll = l->conf.upload_poll_ms > 0 ? start : INT64_MAX;
	next_alive = start + KEEPALIVE_MS;
	vt_info("KEEP: connected to %s:%d as probe %ld", l->st.ctrl_host,
		l->st.ctrl_port, l->st.probe_id);
	for (;;) {
		int64_t now = vt_mono_ms();
		ssh_channel ch;
		int port = 0, oport = 0;
		char *orig = NULL;

		if (now - start >= KEEP_STABLE_MS)
			*stable = 1;
		if (*l->stop) {
			end = KEEP_STOP;
			break;
		}
		if ((long long)time(NULL) >= l->st.rereg_at) {
			end = KEEP_REREG;
			break;
		}
		if (ssh_channel_poll(keep, 0) > 0 || ssh_channel_poll(keep, 1) > 0) {
			vt_info("KEEP: the controller wrote on KEEP; re-registering");
			end = KEEP_OUTPUT;
			break;
		}
		if (!ssh_is_connected(s) || ssh_channel_is_eof(keep) ||
		    ssh_channel_is_closed(keep)) {
			vt_warn("KEEP: link lost");
			end = KEEP_LOST;
			break;
		}
		if (__atomic_exchange_n(&l->asked, 0, __ATOMIC_ACQ_REL))
			l->want = 1;
		if (now >= next_upload && (l->want || now >= next_poll)) {
			struct vt_upload_stats us;

			rc = vt_upload_spool(s, l->sp, l->st.probe_id,
					     l->st.session_id, UPLOAD_TIMEOUT_MS, &us);
			if (us.files > 0)
				vt_info("uploaded %d file(s) in %d post(s)",
					us.files, us.posts);
			if (us.too_big != too_big)
				vt_warn("%d file(s) in data/out too big for a post "
					"(%d bytes); left in place", us.too_big,
					VT_UPLOAD_MAX_BODY);
			too_big = us.too_big;
			if (us.timesync_errors)
				vt_warn("cannot write status/timesync");
			if (rc == VT_EPROTO && us.status == 403) {
				/* the sink does not know our session id */
				vt_warn("upload refused (HTTP 403): new controller INIT");
				end = KEEP_REFUSED;
				break;
			}
			if (rc == VT_EAGAIN && ++refused < SINK_TRIES) {
				/* the controller refuses the sink until it has
				 * taken our KEEP: ask again soon */
				vt_debug("upload: channel to the sink refused; "
					 "again in %d ms", SINK_RETRY_MS);
				next_upload = vt_mono_ms() + SINK_RETRY_MS;
			} else if (l->conf.once) {
				end = rc == VT_OK ? KEEP_ONCE_DONE : KEEP_ONCE_FAILED;
				if (rc < 0)
					vt_warn("upload failed: %s (HTTP %d)",
						vt_strerror(rc), us.status);
				break;
			} else if (rc == VT_OK) {
				refused = 0;
				l->want = 0;
				next_upload = vt_mono_ms();
				if (l->conf.upload_poll_ms > 0)
					next_poll = next_upload +
						    l->conf.upload_poll_ms;
			} else if (ssh_is_connected(s) && rc != VT_ESSH) {
				vt_warn("upload not acknowledged: %s (HTTP %d); "
					"files kept", vt_strerror(rc), us.status);
				refused = 0;
				next_upload = vt_mono_ms() + UPLOAD_RETRY_MS;
			} else {
				vt_warn("upload: link lost");
				end = KEEP_LOST;
				break;
			}
		}
		ch = ssh_channel_open_forward_port(s, 200, &port, &orig, &oport);
		ssh_string_free_char(orig);
		if (ch) {
			serve_command(l, ch, port);
			ssh_channel_close(ch);
			ssh_channel_free(ch);
		}
		if (vt_mono_ms() >= next_alive) {
			if (ssh_send_keepalive(s) != SSH_OK) {
				end = KEEP_LOST;
				break;
			}
			next_alive = vt_mono_ms() + KEEPALIVE_MS;
		}
	}
out:
	if (keep) {
		if (end == KEEP_STOP || end == KEEP_REREG || end == KEEP_OUTPUT ||
		    end == KEEP_ONCE_DONE)
			ssh_channel_close(keep);
		ssh_channel_free(keep);
	}
	vt_sshc_close(s);
	return end;
}

int vt_link_run(struct vt_link *l)
{
	enum keep_end end;
	int rc, stable;

	while (!*l->stop) {
		long long now = time(NULL);

		if (l->st.probe_id <= 0 || !l->st.ctrl_key[0] || l->st.force_reg ||
		    now >= l->st.rereg_at) {
			rc = do_register(l);
			if (rc == VT_EAGAIN)
				continue;
			if (rc < 0) {
				if (l->conf.once)
					return rc;
				backoff(l);
				continue;
			}
		}
		if (!l->st.session_id[0]) {
			rc = do_ctrl_init(l);
			if (rc == VT_EAGAIN)
				continue;
			if (rc < 0) {
				if (l->conf.once)
					return rc;
				if (keep_failed(l)) {
					vt_warn("controller INIT failed %d times in "
						"%ld s; registering again", l->keep_fails,
						(long)((vt_mono_ms() - l->fail_since) / 1000));
					l->keep_fails = 0;
					l->st.rereg_at = 0;
				}
				backoff(l);
				continue;
			}
		}
		end = do_keep(l, &stable);
		if (stable) {
			l->attempt = 0;
			l->keep_fails = 0;
		}
		switch (end) {
		case KEEP_STOP:
		case KEEP_ONCE_DONE:
			return VT_OK;
		case KEEP_ONCE_FAILED:
			return VT_EIO;
		case KEEP_REREG:
			continue;
		case KEEP_OUTPUT:
		case KEEP_BADKEY:
			l->st.force_reg = 1;
			save_state(l);
			break;
		case KEEP_REFUSED:
			l->st.session_id[0] = '\0';
			save_state(l);
			break;
		case KEEP_LOST:
			if (!stable && keep_failed(l)) {
				vt_warn("KEEP failed %d times in %ld s; registering "
					"again", l->keep_fails,
					(long)((vt_mono_ms() - l->fail_since) / 1000));
				l->keep_fails = 0;
				l->st.rereg_at = 0;
			}
			break;
		}
		if (l->conf.once && (end == KEEP_LOST || ++l->once_rounds > 3))
			return VT_ECLOSED;
		backoff(l);
	}
	return VT_OK;
}
