/* session.c - one probe connection (see session.h).
 *
 * States: KEX (non-blocking key exchange) -> AUTH (public key against
 * probes) -> OPEN (channels).  libssh callbacks only record what arrived
 * (channel data into capped buffers, flags) or answer requests; the work
 * (replies, pushes, freeing channels) happens in gw_sess_step() after each
 * poll, outside libssh's call stack.
 *
 * Database work goes to the database threads as requests (jobs.h): a
 * channel waiting for one is marked waiting and goes on in the request's
 * done function, which steps the session again.  The session lists its
 * requests in flight and clears their owner/chan pointers when the
 * channel or the session goes first. */
#include "controller/gateway/session_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include <libssh/callbacks.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/vtime.h"
#include "controller/gateway/jobs.h"
#include "controller/gateway/push.h"
#include "controller/gateway/pushq.h"
#include "controller/gateway/registry.h"
#include "controller/gateway/sink.h"
#include "proto/reg.h"
#include "proto/upload.h"


/* ---- channels ---- */

static int chan_data(ssh_session ssh, ssh_channel ch, void *data,
		     uint32_t len, int is_stderr, void *arg)
{
	struct gw_chan *c = arg;

	(void)ssh;
	(void)ch;
	if (is_stderr || c->finish || c->kind == C_KEEP || c->kind == C_NEW ||
	    c->kind == C_CTRL_INIT)
		return (int)len;           /* ignored */
	if (vt_buf_add(&c->in, data, len) < 0) {
		/* Over the cap: the sink answers 413, others just end. */
		if (c->kind == C_SINK)
			c->eof = 2;
		else
			c->closed = 1;
	}
	return (int)len;
}

static void chan_eof(ssh_session ssh, ssh_channel ch, void *arg)
{
	struct gw_chan *c = arg;

	(void)ssh;
	(void)ch;
	if (!c->eof)
		c->eof = 1;
}

static void chan_close(ssh_session ssh, ssh_channel ch, void *arg)
{
	struct gw_chan *c = arg;

	(void)ssh;
	(void)ch;
	c->closed = 1;
}

static struct gw_chan *chan_new(struct gw_session *s, enum chan_kind kind,
				ssh_channel ch)
{
	struct gw_chan *c = calloc(1, sizeof *c);

	if (!c)
		return NULL;
	c->s = s;
	c->kind = kind;
	c->ch = ch;
	c->exit_status = -1;
	s->last_busy = vt_mono_ms();
	c->deadline = s->last_busy + s->thr->ctx->conf.chan_timeout * 1000LL;
	vt_buf_init(&c->in, kind == C_SINK ? VT_UPLOAD_MAX_HEAD + VT_UPLOAD_MAX_BODY
			: kind == C_PUSH ? PUSH_IN_MAX : STDIN_MAX);
	vt_buf_init(&c->out, 0);
	ssh_callbacks_init(&c->cb);
	c->cb.userdata = c;
	c->cb.channel_data_function = chan_data;
	c->cb.channel_eof_function = chan_eof;
	c->cb.channel_close_function = chan_close;
	if (ssh_set_channel_callbacks(ch, &c->cb) != SSH_OK) {
		vt_buf_free(&c->in);
		vt_buf_free(&c->out);
		free(c);
		return NULL;
	}
	c->next = s->chans;
	s->chans = c;
	s->nchans++;
	return c;
}

static struct gw_chan *chan_find(struct gw_session *s, ssh_channel ch)
{
	for (struct gw_chan *c = s->chans; c; c = c->next)
		if (c->ch == ch)
			return c;
	return NULL;
}

/* Records a push's outcome and forgets it. */
static void push_end(struct gw_session *s, struct gw_chan *c, const char *why)
{
	int ok;

	if (!c->push)
		return;
	if (why)
		gw_push_fail(c->push, why);
	ok = !strcmp(gw_push_outcome(c->push), "OK");
	gw_note_push_done(s->thr->ctx, gw_push_id(c->push), ok, gw_push_outcome(c->push));
	gw_m_push(s->thr->ctx->m, ok);
	vt_info("probe %ld: push %ld %s", s->probe_id, gw_push_id(c->push),
		gw_push_outcome(c->push));
	gw_push_free(c->push);
	c->push = NULL;
	if (s->keep && !s->dying)   /* free for its next pending push */
		gw_pushq_kick(s);
}

/* Unlinks and frees a channel; libssh finishes closing it on its own. */
static void chan_free(struct gw_session *s, struct gw_chan *c)
{
	struct gw_chan **pp;

	for (pp = &s->chans; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	s->nchans--;
	s->last_busy = vt_mono_ms();
	push_end(s, c, "CLOSED");
	/* a probe at the channel cap could take no push: it can now, so the
	 * next sweep asks about it rather than the next full scan (5 s) */
	if (s->nchans == MAX_CHANNELS - 1 && s->keep && !s->dying)
		gw_pushq_kick(s);
	for (struct gw_req *r = s->reqs; r; r = r->next)
		if (r->chan == c)
			r->chan = NULL;
	if (c->ch) {
		ssh_remove_channel_callbacks(c->ch, &c->cb);
		if (!c->closed && ssh_channel_is_open(c->ch))
			ssh_channel_close(c->ch);
		ssh_channel_free(c->ch);
	}
	gw_sink_free(c->sink);
	vt_buf_free(&c->in);
	vt_buf_free(&c->out);
	free(c);
}

/* Sends what the window allows.  Returns 1 when out is empty. */
static int chan_flush(struct gw_chan *c)
{
	while (c->out.len) {
		uint32_t win = ssh_channel_window_size(c->ch);
		size_t n = c->out.len < win ? c->out.len : win;
		int w;

		if (n == 0)
			return 0;
		w = ssh_channel_write(c->ch, c->out.data, (uint32_t)n);
		if (w == SSH_ERROR) {
			c->closed = 1;
			return 1;
		}
		if (w <= 0)
			return 0;
		vt_buf_consume(&c->out, (size_t)w);
	}
	return 1;
}

/* A controller's host may be "v4,v6" (one address per family): a probe gets
 * the one of the family it registered over, so an IPv6-only probe is sent
 * to an IPv6 address.  A single host is left alone. */
void gw_pick_ctrl_host(char *host, size_t len, const char *from)
{
	int want6 = strchr(from, ':') != NULL;
	char copy[256], *save = NULL, *tok, *first = NULL;

	if (!strchr(host, ','))
		return;
	snprintf(copy, sizeof copy, "%s", host);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!first)
			first = tok;
		if ((strchr(tok, ':') != NULL) == want6) {
			snprintf(host, len, "%s", tok);
			return;
		}
	}
	snprintf(host, len, "%s", first ? first : "");
}

const char *gw_session_sid(const struct gw_session *s)
{
	return s->sid;
}

static void push_step(struct gw_session *s, struct gw_chan *c)
{
	int rc;

	if (!c->push)
		return;
	if (!c->opened) {
		rc = ssh_channel_open_reverse_forward(c->ch, s->fwd_addr, s->fwd_port,
						      "127.0.0.1", 2023);
		if (rc == SSH_AGAIN)
			return;
		if (rc != SSH_OK) {
			push_end(s, c, "OPEN_FAILED");
			c->closed = 1;
			return;
		}
		c->opened = 1;
		rc = gw_push_feed(c->push, "", 0, &c->out);
	} else {
		if (!c->in.len && !c->eof && !c->closed)
			return;
		rc = gw_push_feed(c->push, c->in.data ? c->in.data : "", c->in.len,
				  &c->out);
		vt_buf_reset(&c->in);
		if (rc == VT_EAGAIN && (c->eof || c->closed)) {
			push_end(s, c, "CLOSED");
			c->finish = 1;
			return;
		}
	}
	if (rc == VT_EAGAIN)
		return;
	push_end(s, c, NULL);
	c->finish = 1;
}

/* The connection left the handshake (authenticated, or closing). */
static void hs_done(struct gw_session *s)
{
	if (s->hs == 1)
		gw_hs_end(s->thr->ctx->hs);
	else if (s->hs == 2)
		gw_hs_end_stale(s->thr->ctx->hs);
	s->hs = 0;
}

/* ---- libssh callbacks ---- */

/* A failed authentication attempt: after max_auth_tries of them the
 * connection is dropped (as sshd's MaxAuthTries). */
static int auth_denied(struct gw_session *s)
{
	if (++s->auth_fails >= s->thr->ctx->conf.max_auth_tries && !s->dying) {
		vt_info("%s: %d failed authentication attempts, disconnecting",
			s->from, s->auth_fails);
		s->dying = 1;
	}
	return SSH_AUTH_DENIED;
}

static int auth_pubkey(ssh_session ssh, const char *user,
		       struct ssh_key_struct *key, char state, void *arg)
{
	struct gw_session *s = arg;
	char *b64 = NULL;
	long id = -1;
	int rc;

	(void)ssh;
	if (s->st != S_AUTH || s->dying || strcmp(user, "atlas") ||
	    (state != SSH_PUBLICKEY_STATE_NONE && state != SSH_PUBLICKEY_STATE_VALID))
		return auth_denied(s);
	if (ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK)
		return auth_denied(s);
	rc = gw_auth_key(s->thr->ctx->auth, b64, &id);
	ssh_string_free_char(b64);
	if (rc < 0) {
		if (rc == VT_EAGAIN)
			vt_info("auth from %s: key not in the cache yet, looked up",
				s->from);
		else if (rc != VT_EAUTH)
			vt_warn("auth from %s: key not checked (%s)", s->from,
				vt_strerror(rc));
		else if (state == SSH_PUBLICKEY_STATE_VALID)
			vt_info("auth from %s: unknown key", s->from);
		return auth_denied(s);
	}
	if (state == SSH_PUBLICKEY_STATE_VALID) {
		int held = 0;

		rc = gw_reg_auth_inc(s->thr->ctx->reg, id,
				     s->thr->ctx->conf.max_per_probe, &held);
		if (rc == VT_ELIMIT) {
			vt_warn("probe %ld: %d connections held already, refused "
				"from %s", id, held, s->from);
			gw_m_refused(s->thr->ctx->m, GW_M_PER_PROBE);
		}
		if (rc < 0)
			return auth_denied(s);
		s->counted = 1;
		s->last_busy = vt_mono_ms();
		s->probe_id = id;
		s->rsa_key = ssh_key_type(key) == SSH_KEYTYPE_RSA;
		s->st = S_OPEN;
		hs_done(s);
		gw_hs_authed(s->thr->ctx->hs);
		gw_m_session_auth(s->thr->ctx->m, s);
		vt_debug("probe %ld: authenticated from %s", id, s->from);
	}
	return SSH_AUTH_SUCCESS;
}

static int on_channel_open(struct gw_session *s, ssh_message msg)
{
	int sub = ssh_message_subtype(msg);
	struct gw_chan *c;
	ssh_channel ch;

	if (s->st != S_OPEN || s->nchans >= MAX_CHANNELS)
		return 1;
	if (sub == SSH_CHANNEL_SESSION) {
		if (!(ch = ssh_message_channel_request_open_reply_accept(msg)))
			return 0;
		if (!chan_new(s, C_NEW, ch)) {
			ssh_channel_close(ch);
			ssh_channel_free(ch);
		}
		return 0;
	}
	/* The sink is open once the probe has a session: known, or KEEP's
	 * lookup in flight (a probe may open its forward right after exec
	 * KEEP; the upload waits for the lookup, see gw_sess_sink_step). */
	if (sub == SSH_CHANNEL_DIRECT_TCPIP && s->role == GW_ROLE_CTRL &&
	    (s->sid[0] || s->keep_pending)) {
		const char *dst = ssh_message_channel_request_open_destination(msg);
		int port = ssh_message_channel_request_open_destination_port(msg);

		if (!dst || strcmp(dst, SINK_HOST) || port != SINK_PORT) {
			vt_info("probe %ld: refused forward to %s:%d", s->probe_id,
				dst ? dst : "?", port);
			gw_m_refused(s->thr->ctx->m, GW_M_CHANNEL);
			return 1;
		}
		if (!(ch = ssh_message_channel_request_open_reply_accept(msg)))
			return 0;
		if (!(c = chan_new(s, C_SINK, ch)) || gw_sink_new(&c->sink) < 0) {
			if (c)
				chan_free(s, c);
			else {
				ssh_channel_close(ch);
				ssh_channel_free(ch);
			}
		}
		return 0;
	}
	vt_info("probe %ld: refused channel type %d", s->probe_id, sub);
	gw_m_refused(s->thr->ctx->m, GW_M_CHANNEL);
	return 1;
}

static int on_channel_request(struct gw_session *s, ssh_message msg)
{
	struct gw_chan *c = chan_find(s, ssh_message_channel_request_channel(msg));
	const char *cmd;

	if (!c || c->kind != C_NEW ||
	    ssh_message_subtype(msg) != SSH_CHANNEL_REQUEST_EXEC) {
		if (ssh_message_subtype(msg) != SSH_CHANNEL_REQUEST_ENV)
			vt_info("probe %ld: refused channel request %d", s->probe_id,
				ssh_message_subtype(msg));
		gw_m_refused(s->thr->ctx->m, GW_M_CHANNEL);
		return 1;
	}
	cmd = ssh_message_channel_request_command(msg);
	if (!cmd)
		return 1;
	if (!strcmp(cmd, "INIT"))
		c->kind = s->role == GW_ROLE_REG ? C_REG_INIT : C_CTRL_INIT;
	else if (!strcmp(cmd, "KEEP") && s->role == GW_ROLE_CTRL && !s->keep &&
		 !s->keep_pending) {
		c->kind = C_KEEP;
		c->deadline = 0;   /* held as long as the connection */
		if (gw_sess_keep_start(s, c) < 0) {
			s->dying = 1;
			return 1;
		}
	} else {
		vt_info("probe %ld: refused exec '%.40s'", s->probe_id, cmd);
		gw_m_refused(s->thr->ctx->m, GW_M_CHANNEL);
		return 1;
	}
	ssh_message_channel_request_reply_success(msg);
	if (c->kind == C_CTRL_INIT)
		gw_sess_ctrl_reply(s, c);
	return 0;
}

static int on_global(struct gw_session *s, ssh_message msg)
{
	int sub = ssh_message_subtype(msg);
	const char *addr;
	char *copy;

	if (sub == SSH_GLOBAL_REQUEST_TCPIP_FORWARD && s->role == GW_ROLE_CTRL &&
	    s->st == S_OPEN) {
		addr = ssh_message_global_request_address(msg);
		if (!addr || strlen(addr) > 255 || !(copy = strdup(addr)))
			return 1;
		free(s->fwd_addr);
		s->fwd_addr = copy;
		s->fwd_port = ssh_message_global_request_port(msg);
		if (s->fwd_port <= 0)
			s->fwd_port = s->remote_port > 0 ? s->remote_port : 2023;
		ssh_message_global_request_reply_success(msg, (uint16_t)s->fwd_port);
		if (s->keep)   /* recorded when s still holds KEEP */
			gw_reg_bind(s->thr->ctx->reg, s->probe_id, s->serial,
				    s->fwd_addr);
		vt_debug("probe %ld: virtual forward %s:%d", s->probe_id,
			 s->fwd_addr, s->fwd_port);
		gw_pushq_kick(s);
		return 0;
	}
	if (sub == SSH_GLOBAL_REQUEST_CANCEL_TCPIP_FORWARD && s->fwd_addr) {
		free(s->fwd_addr);
		s->fwd_addr = NULL;
		if (s->keep)
			gw_reg_bind(s->thr->ctx->reg, s->probe_id, s->serial, NULL);
		ssh_message_global_request_reply_success(msg, 0);
		return 0;
	}
	return 1;
}

static int on_message(ssh_session ssh, ssh_message msg, void *arg)
{
	struct gw_session *s = arg;

	(void)ssh;
	switch (ssh_message_type(msg)) {
	case SSH_REQUEST_CHANNEL_OPEN:
		return on_channel_open(s, msg);
	case SSH_REQUEST_CHANNEL:
		return on_channel_request(s, msg);
	case SSH_REQUEST_GLOBAL:
		return on_global(s, msg);
	case SSH_REQUEST_AUTH:
		/* methods other than publickey: refused, and counted */
		if (ssh_message_subtype(msg) != SSH_AUTH_METHOD_NONE)
			(void)auth_denied(s);
		return 1;
	default:
		return 1;   /* other auth methods, services: refused */
	}
}

/* ---- the state machine ---- */

/* libssh flags its socket POLLOUT after every send (it does not trust a
 * socket to stay writable, socket.c) and holds any later packet in its
 * buffer until a poll has seen POLLOUT.  Watching EPOLLOUT whenever that
 * flag was up (ssh_get_poll_flags) cost two epoll_ctl calls, one more
 * epoll_wait round and one more step of the session per packet sent.  Bytes
 * are really held only when ssh_get_status says SSH_WRITE_PENDING (its
 * buffer is not empty); then a poll of its own flushes them at once, since
 * a socket almost always has room, and EPOLLOUT is watched only when they
 * stay held (the socket full).  A POLLOUT flag left up with nothing held
 * costs nothing: the next poll for input clears it. */
#define FLUSH_POLLS 2   /* own polls per step for held bytes */

static int held(struct gw_session *s)
{
	return (ssh_get_status(s->ssh) & SSH_WRITE_PENDING) != 0;
}

static void watch(struct gw_session *s)
{
	int want = VT_EV_READ;

	if (held(s))
		want |= VT_EV_WRITE;
	if (want != s->watching && vt_loop_mod(s->thr->loop, s->fd, want) == 0)
		s->watching = want;
}

/* Lets libssh read and write what the socket allows (one poll of its own)
 * and run its callbacks. */
static void advance(struct gw_session *s)
{
	int rc;

	s->polling = 1;
	if (s->st == S_KEX) {
		rc = ssh_handle_key_exchange(s->ssh);
		if (rc == SSH_OK)
			s->st = S_AUTH;
		else if (rc != SSH_AGAIN)
			s->dying = 1;
	} else if (ssh_event_dopoll(s->ev, 0) == SSH_ERROR) {
		s->dying = 1;
	}
	s->polling = 0;
}

/* One pass over the channels; returns -1 once s is closed (freed). */
static int step_once(struct gw_session *s)
{
	struct gw_chan *c, *next;

	for (c = s->chans; c && !s->dying; c = next) {
		next = c->next;
		switch (c->kind) {
		case C_REG_INIT:
			if (c->eof && !c->finish && !c->waiting)
				gw_sess_reg_reply(s, c);
			break;
		case C_SINK:
			if (!c->finish)
				gw_sess_sink_step(s, c);
			break;
		case C_PUSH:
			if (!c->finish)
				push_step(s, c);
			break;
		default:
			break;
		}
		if (c->closed) {
			chan_free(s, c);
			continue;
		}
		if (!c->ch || !chan_flush(c))
			continue;
		if (c->finish) {
			if (c->exit_status >= 0)
				ssh_channel_request_send_exit_status(c->ch, c->exit_status);
			ssh_channel_send_eof(c->ch);
			ssh_channel_close(c->ch);
			chan_free(s, c);
		}
	}
	if (!s->dying && (ssh_get_status(s->ssh) & (SSH_CLOSED | SSH_CLOSED_ERROR)))
		s->dying = 1;
	if (s->dying) {
		gw_session_close(s);
		return -1;
	}
	return 0;
}

void gw_sess_step(struct gw_session *s)
{
	/* Held bytes are flushed here, and what the flushing poll brought is
	 * handled by another pass (the socket it drained will not wake the
	 * loop for it).  Inside libssh's own poll (a callback stepping s) the
	 * step after that poll does it. */
	for (int i = 0;; i++) {
		if (step_once(s) < 0)
			return;
		if (s->polling || i == FLUSH_POLLS || !held(s))
			break;
		advance(s);
	}
	watch(s);
}

static void on_io(struct vt_loop *loop, int fd, int events, void *arg)
{
	struct gw_session *s = arg;

	(void)loop;
	(void)fd;
	if (events & (VT_EV_READ | VT_EV_ERROR))
		s->last_rx = vt_mono_ms();
	advance(s);
	if (events & VT_EV_ERROR)
		s->dying = 1;
	gw_sess_step(s);
}

/* A connection that never became a session: uncounted. */
static void uncount(struct gw_thr *t)
{
	__atomic_sub_fetch(&t->load, 1, __ATOMIC_RELAXED);
	__atomic_sub_fetch(&t->ctx->nsessions, 1, __ATOMIC_RELAXED);
}

int gw_session_start(struct gw_thr *t, int fd, int listener,
		     const char *from)
{
	struct gw_session *s = calloc(1, sizeof *s);
	int rc = VT_ESSH;

	if (!s) {
		close(fd);
		uncount(t);
		gw_hs_end(t->ctx->hs);
		return VT_ENOMEM;
	}
	s->thr = t;
	s->hs = 1;   /* counted at accept */
	s->serial = __atomic_add_fetch(&t->ctx->serial, 1, __ATOMIC_RELAXED);
	s->fd = fd;
	s->role = listener & 1 ? GW_ROLE_CTRL : GW_ROLE_REG;
	s->st = S_KEX;
	s->probe_id = -1;
	s->started = s->last_rx = s->last_ka = s->last_busy = vt_mono_ms();
	snprintf(s->from, sizeof s->from, "%s", from);
	if (!(s->ssh = ssh_new())) {
		close(fd);
		hs_done(s);
		free(s);
		uncount(t);
		return VT_ENOMEM;
	}
	if (ssh_bind_accept_fd(listener & GW_LISTEN_RSA ? t->bind_rsa : t->bind,
			       s->ssh, fd) != SSH_OK)
		goto fail;
	ssh_set_blocking(s->ssh, 0);
	ssh_callbacks_init(&s->scb);
	s->scb.userdata = s;
	s->scb.auth_pubkey_function = auth_pubkey;
	if (ssh_set_server_callbacks(s->ssh, &s->scb) != SSH_OK)
		goto fail;
	ssh_set_message_callback(s->ssh, on_message, s);
	ssh_set_auth_methods(s->ssh, SSH_AUTH_METHOD_PUBLICKEY);
	rc = ssh_handle_key_exchange(s->ssh);
	if (rc == SSH_OK)
		s->st = S_AUTH;
	else if (rc != SSH_AGAIN)
		goto fail;
	rc = VT_ESSH;
	if (!(s->ev = ssh_event_new()) || ssh_event_add_session(s->ev, s->ssh) != SSH_OK)
		goto fail;
	s->watching = VT_EV_READ;
	if (vt_loop_add(t->loop, fd, VT_EV_READ, on_io, s) < 0)
		goto fail;
	s->next = t->sessions;
	if (t->sessions)
		t->sessions->prev = s;
	t->sessions = s;
	t->nsessions++;
	gw_sess_step(s);   /* flushes the banner; may close s */
	return VT_OK;
fail:
	if (s->ev) {
		ssh_event_remove_session(s->ev, s->ssh);
		ssh_event_free(s->ev);
	}
	ssh_disconnect(s->ssh);   /* closes fd */
	ssh_free(s->ssh);
	hs_done(s);
	free(s);
	uncount(t);
	return rc;
}

void gw_session_close(struct gw_session *s)
{
	struct gw_thr *t;

	if (!s)
		return;
	t = s->thr;
	vt_debug("%s: session closed (probe %ld)", s->from, s->probe_id);
	gw_m_session_end(t->ctx->m, s);
	hs_done(s);
	while (s->chans)
		chan_free(s, s->chans);
	while (s->reqs) {
		struct gw_req *r = s->reqs;

		s->reqs = r->next;
		r->owner = r->chan = NULL;
		r->prev = r->next = NULL;
	}
	if (s->counted)
		gw_reg_auth_dec(t->ctx->reg, s->probe_id);
	if (s->keep) {
		/* Recorded down only when s still held KEEP: a newer KEEP on
		 * another thread may have taken it before s heard of it. */
		t->nkeep--;
		(void)gw_reg_drop(t->ctx->reg, s->probe_id, s->serial);
		vt_info("probe %ld: disconnected", s->probe_id);
	}
	vt_loop_del(t->loop, s->fd);
	if (s->prev)
		s->prev->next = s->next;
	else
		t->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	t->nsessions--;
	uncount(t);
	ssh_event_remove_session(s->ev, s->ssh);
	ssh_event_free(s->ev);
	ssh_disconnect(s->ssh);
	ssh_free(s->ssh);
	free(s->fwd_addr);
	free(s);
}

void gw_session_close_all(struct gw_thr *t)
{
	while (t->sessions)
		gw_session_close(t->sessions);
}

static const char *const kind_name[] = {
	"no exec", "registration INIT", "controller INIT", "KEEP", "sink", "push"
};

/* A channel past its deadline: a push fails, an upload request gets 408,
 * anything else (no exec, INIT's stdin never closed, a reply never read)
 * is closed. */
static void chan_tick(struct gw_session *s, struct gw_chan *c, int64_t now)
{
	struct gw_sink_result res;

	if (c->kind == C_PUSH) {
		if (c->push && now > c->deadline) {
			push_end(s, c, "TIMEOUT");
			c->finish = 1;
		}
		return;
	}
	if (c->kind == C_KEEP || c->waiting || !c->deadline || now <= c->deadline)
		return;
	if (c->kind == C_SINK && !c->finish) {
		vt_info("probe %ld: upload request not complete in %d s, 408",
			s->probe_id, s->thr->ctx->conf.chan_timeout);
		if (gw_sink_timeout(&c->out, &res) < 0)
			c->closed = 1;
		c->finish = 1;
		c->deadline = now + FLUSH_GRACE_MS;
		return;
	}
	vt_info("probe %ld: %s channel timed out, closing", s->probe_id,
		kind_name[c->kind]);
	c->closed = 1;
}

void gw_session_tick(struct gw_session *s, int64_t now)
{
	int64_t ka = (int64_t)s->thr->ctx->conf.keepalive * 1000;

	if (s->hs == 1 && now - s->started > GW_HS_STALE_MS) {
		s->hs = 2;   /* silent: off the adaptive limit's count */
		gw_hs_stale(s->thr->ctx->hs);
	}
	if (s->st != S_OPEN && now - s->started > s->thr->ctx->conf.login_grace * 1000LL) {
		vt_info("%s: login grace time over", s->from);
		s->dying = 1;
	} else if (now - s->last_rx > 3 * ka + 1000) {
		vt_info("probe %ld: peer %s silent, closing", s->probe_id, s->from);
		s->dying = 1;
	} else if (s->st == S_OPEN && now - s->last_rx >= ka && now - s->last_ka >= ka) {
		ssh_send_keepalive(s->ssh);
		s->last_ka = now;
	}
	for (struct gw_chan *c = s->chans; c; c = c->next)
		chan_tick(s, c, now);
	if (!s->dying && s->st == S_OPEN && !s->keep && !s->keep_pending &&
	    s->nchans == 0 && now - s->last_busy > s->thr->ctx->conf.idle_timeout * 1000LL) {
		vt_info("probe %ld: connection from %s idle (no KEEP, no channel),"
			" closing", s->probe_id, s->from);
		s->dying = 1;
	}
	gw_sess_step(s);
}

void gw_session_tick_all(struct gw_thr *t, int64_t now)
{
	struct gw_session *s, *next;

	for (s = t->sessions; s; s = next) {
		next = s->next;
		gw_session_tick(s, now);
	}
}

struct gw_session *gw_session_find(struct gw_thr *t, long probe_id)
{
	struct gw_reg_hold h;
	struct gw_session *s;

	/* The registry's pointer is followed only by the thread it names,
	 * which removes its sessions from the registry before freeing them. */
	if (gw_reg_find(t->ctx->reg, probe_id, &h) < 0 || h.thr != t)
		return NULL;
	s = h.sess;
	return s->keep && !s->dying && s->fwd_addr ? s : NULL;
}

void gw_session_drop(struct gw_thr *t, long probe_id, uint64_t serial)
{
	for (struct gw_session *s = t->sessions; s; s = s->next)
		if (s->serial == serial && s->probe_id == probe_id) {
			vt_info("probe %ld: newer KEEP replaces the old one",
				probe_id);
			s->dying = 1;
			if (s->keep) {
				s->keep = 0;
				t->nkeep--;
			}
			gw_sess_step(s);
			return;
		}
}

int gw_sessions_pushable(struct gw_thr *t, long *ids, int max)
{
	int n = 0;

	for (struct gw_session *s = t->sessions; s && n < max; s = s->next)
		if (s->keep && !s->dying && s->fwd_addr && gw_session_can_push(s))
			ids[n++] = s->probe_id;
	return n;
}

int gw_session_can_push(const struct gw_session *s)
{
	for (const struct gw_chan *c = s->chans; c; c = c->next)
		if (c->kind == C_PUSH && c->push)
			return 0;
	return !s->claiming && s->nchans < MAX_CHANNELS;
}

int gw_session_push(struct gw_session *s, long push_id, const char *batch)
{
	struct gw_chan *c;
	ssh_channel ch;
	int rc;

	if (!gw_session_can_push(s))
		return VT_EAGAIN;
	if (!(ch = ssh_channel_new(s->ssh)))
		return VT_ENOMEM;
	if (!(c = calloc(1, sizeof *c))) {
		ssh_channel_free(ch);
		return VT_ENOMEM;
	}
	c->s = s;
	c->kind = C_PUSH;
	c->ch = ch;
	c->exit_status = -1;
	c->deadline = vt_mono_ms() + PUSH_TIMEOUT_MS;
	s->last_busy = vt_mono_ms();
	vt_buf_init(&c->in, PUSH_IN_MAX);
	vt_buf_init(&c->out, 0);
	ssh_callbacks_init(&c->cb);
	c->cb.userdata = c;
	c->cb.channel_data_function = chan_data;
	c->cb.channel_eof_function = chan_eof;
	c->cb.channel_close_function = chan_close;
	c->next = s->chans;
	s->chans = c;
	s->nchans++;
	if (ssh_set_channel_callbacks(ch, &c->cb) != SSH_OK) {
		chan_free(s, c);
		return VT_ESSH;
	}
	rc = gw_push_new(push_id, s->sid, batch, &c->push);
	if (rc < 0) {
		chan_free(s, c);
		return rc;
	}
	gw_sess_step(s);
	return VT_OK;
}
