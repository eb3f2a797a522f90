/* stream.c - the stream's service thread: WebSocket listeners
 * (libwebsockets), clients, subscriptions and the in-memory fan-out
 * (stream.h).  Everything here is touched by the service thread alone;
 * the feed (stream_feed.c) talks to it through stream_int.h. */
#include "controller/api/stream.h"

#include <libwebsockets.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/buf.h"
#include "controller/api/stream_int.h"
#include "proto/stream.h"

#define SNDBUF (256 * 1024)        /* kernel bytes per client */
#define WRITE_BURST (64 * 1024)    /* bytes written per writable round */

struct client;

struct sub {
	uint64_t id;
	long long msm;
	long prb;
	int live;                  /* its SUBSCRIBED event came */
	struct st_snap *snap;      /* backlog's snapshot (owned), or NULL */
	struct client *c;
	struct sub *cnext;         /* the client's */
	struct sub *gnext, *gprev; /* every subscription */
};

struct client {
	struct vt_stream *s;
	struct lws *wsi;
	struct st_msg **q;         /* ring of queue_msgs + 1 */
	size_t qhead, qn, qbytes;
	struct vt_buf rx;
	struct sub *subs;
	int nsubs;
	int dropping;              /* an atlas_error is the last message */
	int overflow;              /* to be dropped (fan_out) */
};

struct pss {
	struct client *c;
};

struct vt_stream {
	struct vt_stream_conf c;
	struct lws_context *ctx;
	struct lws_vhost *vh[2];
	lws_retry_bo_t retry;
	struct st_feed *feed;
	pthread_t thr;
	int started;
	atomic_int stop;
	int nclients;
	uint64_t next_sub;
	struct sub *all;
};

void vt_stream_conf_defaults(struct vt_stream_conf *c)
{
	memset(c, 0, sizeof *c);
	c->max_clients = 1024;
	c->max_subs = 64;
	c->queue_msgs = 10000;
	c->queue_bytes = 16L << 20;
	c->msg_max = 4096;
	c->idle_s = 300;
	c->backlog_s = 300;
	c->stmt_ms = 10000;
	c->nice = 10;
}

static void want_write(struct client *c)
{
	lws_callback_on_writable(c->wsi);
}

/* Queues m for c; 0 or -1 when the queue is over its bounds. */
static int push(struct client *c, struct st_msg *m, int force)
{
	size_t cap = (size_t)c->s->c.queue_msgs + 1;

	if (!force && (c->qn >= (size_t)c->s->c.queue_msgs ||
		       c->qbytes + m->len > (size_t)c->s->c.queue_bytes))
		return -1;
	if (c->qn == cap)
		return -1;
	c->q[(c->qhead + c->qn) % cap] = m;
	c->qn++;
	c->qbytes += m->len;
	m->refs++;
	if (c->qn == 1)
		want_write(c);
	return 0;
}

/* A message made here (not shared): atlas_subscribed, atlas_error. */
static void push_new(struct client *c, const struct vt_buf *b, int force)
{
	struct st_msg *m;

	if (!b->data || !(m = st_msg_new(b->data, b->len, 0)))
		return;
	if (push(c, m, force) < 0)
		free(m);
}

static void send_error(struct client *c, const char *reason, int force)
{
	struct vt_buf b;

	vt_buf_init(&b, 0);
	if (vt_stream_fmt_error(&b, reason) == VT_OK)
		push_new(c, &b, force);
	vt_buf_free(&b);
}

static void sub_remove(struct vt_stream *s, struct sub *u)
{
	struct st_req *q = calloc(1, sizeof *q);
	struct sub **pp;

	for (pp = &u->c->subs; *pp; pp = &(*pp)->cnext)
		if (*pp == u) {
			*pp = u->cnext;
			break;
		}
	u->c->nsubs--;
	if (u->gprev)
		u->gprev->gnext = u->gnext;
	else
		s->all = u->gnext;
	if (u->gnext)
		u->gnext->gprev = u->gprev;
	if (q) {   /* without memory the feed reads one measurement for nobody */
		q->kind = ST_REQ_UNSUB;
		q->sub = u->id;
		q->msm = u->msm;
		st_feed_request(s->feed, q);
	}
	st_snap_free(u->snap);
	free(u);
}

static void queue_clear(struct client *c)
{
	size_t cap = (size_t)c->s->c.queue_msgs + 1;

	while (c->qn) {
		st_msg_unref(c->q[c->qhead]);
		c->qhead = (c->qhead + 1) % cap;
		c->qn--;
	}
	c->qbytes = 0;
}

/* Drops c: its queue and subscriptions go, the reason is its last
 * message, and it is closed once that is written (or after the idle
 * time: a client that reads slowly still gets to read why). */
static void drop(struct client *c, const char *reason)
{
	if (c->dropping)
		return;
	while (c->subs)
		sub_remove(c->s, c->subs);
	queue_clear(c);
	c->dropping = 1;
	send_error(c, reason, 1);
	want_write(c);
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, c->s->c.idle_s);
}

static struct sub *sub_find(struct vt_stream *s, uint64_t id)
{
	for (struct sub *u = s->all; u; u = u->gnext)
		if (u->id == id)
			return u;
	return NULL;
}

static void fan_out(struct vt_stream *s, struct st_ev *e)
{
	struct sub *u;
	int over = 0;

	for (u = s->all; u; u = u->gnext) {
		struct client *c = u->c;

		if (u->msm != e->msm || !u->live || c->dropping || c->overflow)
			continue;
		if (u->snap && st_snap_sees(u->snap, e->xid))
			continue;     /* its rows came with the backlog */
		for (size_t i = 0; i < e->n; i++) {
			if (u->prb && e->msgs[i]->prb != u->prb)
				continue;
			if (push(c, e->msgs[i], 0) < 0) {
				c->overflow = over = 1;
				break;
			}
		}
	}
	/* dropping frees the client's subscriptions: after the walk */
	for (u = s->all; over && u;) {
		if (u->c->overflow) {
			drop(u->c, "queue overflow: the client reads too slowly");
			u = s->all;
		} else {
			u = u->gnext;
		}
	}
}

static void on_events(struct vt_stream *s)
{
	struct st_ev *e = st_feed_events(s->feed), *en;
	struct client *c;
	struct sub *u;
	struct vt_buf b;

	vt_buf_init(&b, 0);
	for (; e; e = en) {
		en = e->next;
		switch (e->kind) {
		case ST_EV_BATCH:
			fan_out(s, e);
			break;
		case ST_EV_SUBSCRIBED:
			if (!(u = sub_find(s, e->sub)))
				break;
			vt_buf_reset(&b);
			{
				struct vt_stream_msg m = { VT_STREAM_SUBSCRIBE, u->msm, u->prb, 0 };

				if (vt_stream_fmt_subscribed(&b, &m) == VT_OK)
					push_new(u->c, &b, 1);
			}
			u->live = 1;
			u->snap = e->snap;
			e->snap = NULL;
			c = u->c;     /* a drop frees u */
			for (size_t i = 0; i < e->n && !c->dropping; i++)
				if (push(c, e->msgs[i], 0) < 0)
					drop(c, "queue overflow: the backlog does not fit");
			break;
		case ST_EV_SUBFAIL:
			if ((u = sub_find(s, e->sub))) {
				send_error(u->c, e->reason, 1);
				sub_remove(s, u);
			}
			break;
		case ST_EV_RESET:
			while (s->all)
				drop(s->all->c, "the stream lost its database connection;"
				     " subscribe again");
			break;
		}
		st_ev_free(e);
	}
	vt_buf_free(&b);
}

static void on_message(struct client *c)
{
	struct vt_stream *s = c->s;
	struct vt_stream_msg m;
	struct vt_buf b;
	struct sub *u;
	char err[192];

	if (vt_stream_msg_parse(c->rx.data, c->rx.len, &m, err, sizeof err) < 0) {
		send_error(c, err, 1);
		return;
	}
	for (u = c->subs; u; u = u->cnext)
		if (u->msm == m.msm && u->prb == m.prb)
			break;
	if (m.type == VT_STREAM_UNSUBSCRIBE) {
		if (!u) {
			send_error(c, "not subscribed to that", 1);
			return;
		}
		sub_remove(s, u);
		vt_buf_init(&b, 0);
		if (vt_stream_fmt_unsubscribed(&b, &m) == VT_OK)
			push_new(c, &b, 1);
		vt_buf_free(&b);
		return;
	}
	if (u) {
		send_error(c, "already subscribed to that", 1);
		return;
	}
	if (c->nsubs >= s->c.max_subs) {
		send_error(c, "too many subscriptions on this connection", 1);
		return;
	}
	struct st_req *q = calloc(1, sizeof *q);

	if (!q || !(u = calloc(1, sizeof *u))) {
		free(q);
		send_error(c, "out of memory", 1);
		return;
	}
	u->id = ++s->next_sub;
	u->msm = m.msm;
	u->prb = m.prb;
	u->c = c;
	u->cnext = c->subs;
	c->subs = u;
	c->nsubs++;
	u->gnext = s->all;
	if (s->all)
		s->all->gprev = u;
	s->all = u;
	*q = (struct st_req){ ST_REQ_SUB, u->id, m.msm, m.prb, m.backlog, NULL };
	st_feed_request(s->feed, q);
}

static int path_ok(struct lws *wsi)
{
	char uri[64];
	int n = lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI);

	return n > 0 && (!strcmp(uri, "/stream/") || !strcmp(uri, "/stream"));
}

static int cb(struct lws *wsi, enum lws_callback_reasons reason, void *user,
	      void *in, size_t len)
{
	struct vt_stream *s = lws_context_user(lws_get_context(wsi));
	struct pss *ps = user;
	struct client *c = ps ? ps->c : NULL;

	switch (reason) {
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		if (s)
			on_events(s);
		return 0;
	case LWS_CALLBACK_HTTP:
		/* plain HTTP: a WebSocket endpoint only */
		(void)lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL);
		return -1;
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		if (!path_ok(wsi) || s->nclients >= s->c.max_clients)
			return -1;
		return 0;
	case LWS_CALLBACK_ESTABLISHED: {
		int fd = lws_get_socket_fd(wsi), sz = SNDBUF;

		if (!(c = calloc(1, sizeof *c)) ||
		    !(c->q = calloc((size_t)s->c.queue_msgs + 1, sizeof *c->q))) {
			if (c)
				free(c);
			return -1;
		}
		if (fd >= 0)
			(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
		c->s = s;
		c->wsi = wsi;
		vt_buf_init(&c->rx, (size_t)s->c.msg_max);
		ps->c = c;
		s->nclients++;
		return 0;
	}
	case LWS_CALLBACK_RECEIVE:
		if (!c || c->dropping)
			return 0;
		if (lws_frame_is_binary(wsi)) {
			drop(c, "text frames only");
			return 0;
		}
		if (vt_buf_add(&c->rx, in, len) < 0) {
			drop(c, "message too long");
			return 0;
		}
		if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
			return 0;
		on_message(c);
		vt_buf_reset(&c->rx);
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE: {
		size_t cap = (size_t)s->c.queue_msgs + 1, sent = 0;
		struct st_msg *m;
		int n;

		if (!c)
			return 0;
		if (!c->qn && c->dropping) {
			lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, NULL, 0);
			return -1;
		}
		/* several messages while the socket takes them (a round of
		 * the event loop per message would cost more than the send) */
		while (c->qn && sent < WRITE_BURST && !lws_send_pipe_choked(wsi)) {
			m = c->q[c->qhead];
			c->qhead = (c->qhead + 1) % cap;
			c->qn--;
			c->qbytes -= m->len;
			sent += m->len;
			n = lws_write(wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
			st_msg_unref(m);
			if (n < 0)
				return -1;
		}
		if (c->qn || c->dropping)
			want_write(c);
		return 0;
	}
	case LWS_CALLBACK_CLOSED:
	case LWS_CALLBACK_WSI_DESTROY:
		if (!c)
			return 0;
		ps->c = NULL;
		while (c->subs)
			sub_remove(s, c->subs);
		queue_clear(c);
		free(c->q);
		vt_buf_free(&c->rx);
		free(c);
		s->nclients--;
		return 0;
	default:
		return 0;
	}
}

static const struct lws_protocols protocols[] = {
	{ "vantage-stream", cb, sizeof(struct pss), 4096, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

static void *service_main(void *arg)
{
	struct vt_stream *s = arg;

	/* Where the stream shares CPUs with the workers and PostgreSQL, the
	 * ingest goes first: a stream that falls behind is what its bounded
	 * queues are for. */
	if (s->c.nice)
		(void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), s->c.nice);

	while (!atomic_load(&s->stop))
		if (lws_service(s->ctx, 0) < 0)
			break;
	return NULL;
}

static void wake(void *arg)
{
	struct vt_stream *s = arg;

	lws_cancel_service(s->ctx);
}

/* "ADDR:PORT", "[V6]:PORT" or ":PORT" into iface (NULL: every address)
 * and port. */
static int split_addr(const char *a, char *iface, size_t ilen, int *port)
{
	const char *colon = strrchr(a, ':');
	size_t n;
	char *end;
	long p;

	if (!colon)
		return -1;
	p = strtol(colon + 1, &end, 10);
	if (!colon[1] || *end || p < 0 || p > 65535)
		return -1;
	n = (size_t)(colon - a);
	if (n >= 2 && a[0] == '[' && a[n - 1] == ']') {
		a++;
		n -= 2;
	}
	if (n >= ilen)
		return -1;
	memcpy(iface, a, n);
	iface[n] = '\0';
	*port = (int)p;
	return 0;
}

static int vhost(struct vt_stream *s, int tls, const char *addr, char *iface,
		 size_t ilen, char *errbuf, size_t errlen)
{
	struct lws_context_creation_info i;
	int port;

	if (split_addr(addr, iface, ilen, &port) < 0)
		return vt_err_set(VT_EINVAL, errbuf, errlen, "not ADDR:PORT: %s", addr);
	memset(&i, 0, sizeof i);
	i.vhost_name = tls ? "wss" : "ws";
	i.port = port ? port : CONTEXT_PORT_NO_LISTEN_SERVER;
	i.iface = *iface ? iface : NULL;
	i.protocols = protocols;
	i.retry_and_idle_policy = &s->retry;
	i.alpn = "http/1.1";
	i.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
	if (!port)
		i.port = 0;
	if (tls) {
		i.ssl_cert_filepath = s->c.tls_cert;
		i.ssl_private_key_filepath = s->c.tls_key;
		i.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	}
	if (!(s->vh[tls] = lws_create_vhost(s->ctx, &i)))
		return vt_err_set(VT_EIO, errbuf, errlen, "stream: cannot listen on %s%s",
				  addr, tls ? " (TLS: check --tls-cert, --tls-key)" : "");
	return VT_OK;
}

int vt_stream_start(const struct vt_stream_conf *c, struct vt_stream **out,
		    char *errbuf, size_t errlen)
{
	struct lws_context_creation_info i;
	struct vt_stream *s = calloc(1, sizeof *s);
	char if0[128], if1[128];
	int r = VT_ENOMEM;

	*out = NULL;
	if (!s)
		return vt_err_set(r, errbuf, errlen, "stream: %s", vt_strerror(r));
	s->c = *c;
	r = VT_EINVAL;
	if (c->tls && (!c->tls_cert || !c->tls_key)) {
		vt_err_set(r, errbuf, errlen, "--stream-tls needs --tls-cert and --tls-key");
		goto out;
	}
	/* lws PINGs a client quiet for half the idle time, and closes it
	 * when nothing (no PONG) came back by the idle time */
	s->retry.secs_since_valid_ping = (uint16_t)(c->idle_s / 2 ? c->idle_s / 2 : 1);
	s->retry.secs_since_valid_hangup = (uint16_t)c->idle_s;
	lws_set_log_level(LLL_ERR, NULL);
	memset(&i, 0, sizeof i);
	i.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
		    (c->tls ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0);
	i.user = s;
	i.fd_limit_per_thread = (unsigned)c->max_clients + 16;
	i.timeout_secs = 10;          /* the handshake */
	i.max_http_header_data = 2048;
	if (!(s->ctx = lws_create_context(&i))) {
		r = vt_err_set(VT_EIO, errbuf, errlen, "stream: cannot create the WebSocket context");
		goto out;
	}
	if (c->plain && (r = vhost(s, 0, c->plain, if0, sizeof if0, errbuf, errlen)) < 0)
		goto out;
	if (c->tls && (r = vhost(s, 1, c->tls, if1, sizeof if1, errbuf, errlen)) < 0)
		goto out;
	if ((r = st_feed_start(c, wake, s, &s->feed, errbuf, errlen)) < 0)
		goto out;
	if (pthread_create(&s->thr, NULL, service_main, s) != 0) {
		r = vt_err_set(VT_EIO, errbuf, errlen, "stream: no thread");
		goto out;
	}
	s->started = 1;
	*out = s;
	s = NULL;
	r = VT_OK;
out:
	vt_stream_stop(s);
	return r;
}

int vt_stream_port(const struct vt_stream *s, int tls)
{
	if (!s || !s->vh[tls ? 1 : 0])
		return -1;
	return lws_get_vhost_listen_port(s->vh[tls ? 1 : 0]);
}

void vt_stream_stop(struct vt_stream *s)
{
	if (!s)
		return;
	if (s->started) {
		atomic_store(&s->stop, 1);
		lws_cancel_service(s->ctx);
		pthread_join(s->thr, NULL);
	}
	/* the feed's thread first (it wakes the context), then the clients
	 * close (their subscriptions still tell the feed), then the feed */
	st_feed_halt(s->feed);
	if (s->ctx)
		lws_context_destroy(s->ctx);
	st_feed_stop(s->feed);
	free(s);
}
