/* tdig.c - evtdig: one DNS query to one server, over UDP or TCP.
 *
 * The query is built by proto/dns.c and sent on the measurement's own
 * non-blocking socket, watched by the shared loop; the reply is kept
 * whole for "abuf".  c-ares is used (through the engine) only to resolve
 * a server given by name: the measurement itself needs exact control of
 * the wire (TCP framing, EDNS0 size, DO, NSID, the exact bytes of the
 * reply, one attempt per retry with its own timeout), which ares_send
 * does not give (it rewrites EDNS, switches to TCP on its own and hides
 * the timing).
 *
 * States: RESOLVING -> (per attempt) UDP: WAIT_REPLY | TCP: CONNECTING ->
 * SENDING -> READING -> done.  A timer per attempt; on timeout the next
 * attempt starts on a fresh socket with a fresh ID, up to --retry more
 * times, then the result is {"error": {"timeout": <ms>}}. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/evloop.h"
#include "common/vtime.h"
#include "probe/measure/measure.h"
#include "probe/measure/rawnet.h"
#include "proto/cmdline.h"
#include "proto/dns.h"

#define TDIG_MAX_REPLY   65535
#define TDIG_MAX_ANSWERS 64       /* decoded answers kept in a result */
#define TDIG_TXT_MAX     4096     /* text bytes of one TXT RDATA kept */

enum tdig_state { TS_RESOLVING, TS_CONNECTING, TS_SENDING, TS_READING };

struct tdig {
	struct vt_measure_run      run;
	struct vt_measure_ctx     *ctx;
	vt_measure_done_cb         cb;
	void                      *arg;
	struct vt_cmdline          cmd;
	struct vt_measure_resolve *req;
	struct vt_measure_addr     dst;
	enum tdig_state            state;
	int                        fd;
	uint64_t                   timer;
	int                        attempt;      /* 0-based */
	int64_t                    start_s;
	int64_t                    t0_us;        /* attempt start (TCP) / send (UDP) */
	uint16_t                   id;
	struct vt_buf              query;        /* with the TCP length prefix */
	size_t                     qoff;         /* bytes of query written (TCP) */
	uint8_t                    lenbuf[2];
	size_t                     lenoff;
	uint8_t                   *reply;        /* TCP: allocated when the length is known */
	size_t                     rlen, roff;
	char                       src[INET6_ADDRSTRLEN];
};

static void tdig_close(struct tdig *t)
{
	if (t->timer) {
		vt_loop_timer_cancel(vt_measure_loop(t->ctx), t->timer);
		t->timer = 0;
	}
	if (t->fd >= 0) {
		vt_loop_del(vt_measure_loop(t->ctx), t->fd);
		close(t->fd);
		t->fd = -1;
	}
	free(t->reply);
	t->reply = NULL;
	t->rlen = t->roff = t->lenoff = t->qoff = 0;
}

static void tdig_free(struct tdig *t)
{
	if (!t)
		return;
	vt_measure_resolve_cancel(t->req);
	tdig_close(t);
	vt_buf_free(&t->query);
	free(t);
}

static void tdig_abort(struct vt_measure_run *run)
{
	tdig_free((struct tdig *)(void *)run);
}

static json_t *base64(const uint8_t *p, size_t n)
{
	char *s = malloc(4 * ((n + 2) / 3) + 1);
	json_t *j;

	if (!s)
		return NULL;
	EVP_EncodeBlock((unsigned char *)s, p, (int)n);
	j = json_string(s);
	free(s);
	return j;
}

/* Text safe for JSON strings: printable ASCII kept, other bytes as \DDD. */
static json_t *dns_text(const uint8_t *p, size_t n, size_t cap)
{
	struct vt_buf b;
	json_t *j = NULL;
	int rc = 0;

	vt_buf_init(&b, cap);
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f)
			rc = vt_buf_addc(&b, (char)p[i]);
		else
			rc = vt_buf_addf(&b, "\\%03u", p[i]);
	}
	j = json_stringn(b.data ? b.data : "", b.len);
	vt_buf_free(&b);
	return j;
}

static int set_new(json_t *o, const char *k, json_t *v)
{
	return v ? json_object_set_new(o, k, v) : -1;
}

/* The decoded "answers" of TXT and SOA records of the answer section, or
 * NULL when there are none (or the reply is malformed there). */
static json_t *decode_answers(const uint8_t *msg, size_t len)
{
	struct vt_dns_reader r;
	struct vt_dns_rr *rr = malloc(sizeof(*rr));
	struct vt_dns_soa *soa = malloc(sizeof(*soa));
	json_t *arr = json_array();
	int n = 0;

	if (!rr || !soa || !arr || vt_dns_reader_init(&r, msg, len) < 0)
		goto out;
	while (n < TDIG_MAX_ANSWERS && vt_dns_reader_next(&r, rr) == 1 &&
	       rr->section == VT_DNS_SEC_AN) {
		json_t *a = json_object();
		size_t nl = strlen(rr->name);

		if (!a)
			break;
		if (rr->type == VT_DNS_T_TXT) {
			json_t *rd = json_array();
			const uint8_t *s;
			size_t pos = 0, sl, total = 0;

			/* the stock probe names TXT owners without the final dot */
			if (nl > 1 && rr->name[nl - 1] == '.')
				rr->name[nl - 1] = '\0';
			while (rd && vt_dns_txt_next(rr, &pos, &s, &sl) == 1 &&
			       total < TDIG_TXT_MAX) {
				total += sl;
				json_array_append_new(rd, dns_text(s, sl, TDIG_TXT_MAX * 4));
			}
			if (set_new(a, "TYPE", json_string("TXT")) ||
			    set_new(a, "NAME", json_string(rr->name)) ||
			    set_new(a, "RDATA", rd)) {
				json_decref(a);
				break;
			}
		} else if (rr->type == VT_DNS_T_SOA &&
			   vt_dns_soa_parse(msg, len, rr, soa) == 0) {
			if (set_new(a, "TYPE", json_string("SOA")) ||
			    set_new(a, "NAME", json_string(rr->name)) ||
			    set_new(a, "MNAME", json_string(soa->mname)) ||
			    set_new(a, "RNAME", json_string(soa->rname)) ||
			    set_new(a, "SERIAL", json_integer(soa->serial)) ||
			    set_new(a, "TTL", json_integer(rr->ttl))) {
				json_decref(a);
				break;
			}
		} else {
			json_decref(a);
			continue;
		}
		json_array_append_new(arr, a);
		n++;
	}
out:
	free(rr);
	free(soa);
	if (arr && json_array_size(arr) == 0) {
		json_decref(arr);
		arr = NULL;
	}
	return arr;
}

/* Builds the result and hands it over, then frees the measurement.
 * Either msg (a reply) or err_key/err_val (an error) is given. */
static void tdig_finish(struct tdig *t, const uint8_t *msg, size_t len,
			double rt_ms, const char *err_key, json_t *err_val)
{
	json_t *o = vt_measure_result_new(t->ctx, t->cmd.msm_id, t->start_s);
	struct vt_measure_ctx *ctx = t->ctx;
	char addr[INET6_ADDRSTRLEN], port[8];

	vt_measure_run_del(ctx, &t->run);
	if (!o)
		goto out;
	snprintf(port, sizeof(port), "%d", t->cmd.u.tdig.port);
	set_new(o, "name", json_string(t->cmd.target));
	if (t->dst.salen) {
		set_new(o, "dst_addr", json_string(vt_measure_ntop(
				(struct sockaddr *)&t->dst.sa, addr, sizeof(addr))));
		set_new(o, "dst_port", json_string(port));
	}
	set_new(o, "af", json_integer(t->cmd.af));
	if (t->src[0])
		set_new(o, "src_addr", json_string(t->src));
	set_new(o, "proto", json_string(t->cmd.u.tdig.tcp ? "TCP" : "UDP"));
	if (t->cmd.u.tdig.qbuf && t->query.len > 2)
		set_new(o, "qbuf", base64((const uint8_t *)t->query.data + 2,
					  t->query.len - 2));
	if (msg) {
		struct vt_dns_header h;
		json_t *res = json_object(), *ans;

		if (res && vt_dns_parse_header(msg, len, &h) == 0) {
			set_new(res, "rt", vt_measure_ms(rt_ms));
			set_new(res, "size", json_integer((json_int_t)len));
			set_new(res, "abuf", base64(msg, len));
			set_new(res, "ID", json_integer(h.id));
			set_new(res, "ANCOUNT", json_integer(h.ancount));
			set_new(res, "QDCOUNT", json_integer(h.qdcount));
			set_new(res, "NSCOUNT", json_integer(h.nscount));
			set_new(res, "ARCOUNT", json_integer(h.arcount));
			ans = decode_answers(msg, len);
			if (ans)
				set_new(res, "answers", ans);
		}
		set_new(o, "result", res);
	} else {
		json_t *e = json_object();

		if (e)
			set_new(e, err_key ? err_key : "error", err_val);
		else
			json_decref(err_val);
		err_val = NULL;
		set_new(o, "error", e);
	}
out:
	json_decref(err_val);
	vt_measure_emit(o, t->cmd.msm_id, t->cb, t->arg);
	tdig_free(t);
}

static void tdig_fail(struct tdig *t, const char *key, const char *what, int err)
{
	char msg[160];

	if (err)
		snprintf(msg, sizeof(msg), "%s: %s", what, strerror(err));
	else
		snprintf(msg, sizeof(msg), "%s", what);
	tdig_finish(t, NULL, 0, 0, key, json_string(msg));
}

static void tdig_start_attempt(struct tdig *t);

static void on_timeout(struct vt_loop *loop, void *arg)
{
	struct tdig *t = arg;

	t->timer = 0;
	tdig_close(t);
	if (t->attempt < t->cmd.u.tdig.retry) {
		t->attempt++;
		tdig_start_attempt(t);
		return;
	}
	tdig_finish(t, NULL, 0, 0, "timeout", json_integer(t->cmd.u.tdig.timeout_ms));
}

static void note_src(struct tdig *t)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(t->fd, (struct sockaddr *)&ss, &sl) == 0)
		vt_measure_ntop((struct sockaddr *)&ss, t->src, sizeof(t->src));
}

static double since_ms(int64_t t0_us)
{
	return (double)(vt_raw_now_us() - t0_us) / 1000.0;
}

static void on_udp(struct vt_loop *loop, int fd, int events, void *arg)
{
	struct tdig *t = arg;
	uint8_t buf[TDIG_MAX_REPLY];

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct vt_dns_header h;

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			tdig_fail(t, "socket", "recv failed", errno);
			return;
		}
		/* a connected socket only hears the server; skip stray
		 * datagrams that are not the answer to this query */
		if (vt_dns_parse_header(buf, (size_t)n, &h) < 0 || h.id != t->id ||
		    !(h.flags & VT_DNS_FLAG_QR))
			continue;
		tdig_finish(t, buf, (size_t)n, since_ms(t->t0_us), NULL, NULL);
		return;
	}
}

static void tcp_io(struct tdig *t)
{
	for (;;) {
		ssize_t n;

		switch (t->state) {
		case TS_SENDING:
			n = send(t->fd, t->query.data + t->qoff, t->query.len - t->qoff,
				 MSG_NOSIGNAL);
			if (n < 0) {
				if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
					return;
				tdig_fail(t, "senderror", "send failed", errno);
				return;
			}
			t->qoff += (size_t)n;
			if (t->qoff < t->query.len)
				continue;
			t->state = TS_READING;
			if (vt_loop_mod(vt_measure_loop(t->ctx), t->fd, VT_EV_READ) < 0) {
				tdig_fail(t, "socket", "event loop", 0);
				return;
			}
			continue;
		case TS_READING:
			if (t->lenoff < 2) {
				n = recv(t->fd, t->lenbuf + t->lenoff, 2 - t->lenoff, 0);
			} else {
				n = recv(t->fd, t->reply + t->roff, t->rlen - t->roff, 0);
			}
			if (n < 0) {
				if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
					return;
				tdig_fail(t, "socket", "recv failed", errno);
				return;
			}
			if (n == 0) {
				tdig_fail(t, "socket", "connection closed before the reply", 0);
				return;
			}
			if (t->lenoff < 2) {
				t->lenoff += (size_t)n;
				if (t->lenoff < 2)
					continue;
				t->rlen = ((size_t)t->lenbuf[0] << 8) | t->lenbuf[1];
				if (t->rlen < VT_DNS_HDR_LEN) {
					tdig_fail(t, "socket", "reply shorter than a DNS header", 0);
					return;
				}
				t->reply = malloc(t->rlen);
				if (!t->reply) {
					tdig_fail(t, "socket", "out of memory", 0);
					return;
				}
				continue;
			}
			t->roff += (size_t)n;
			if (t->roff < t->rlen)
				continue;
			{
				uint8_t *msg = t->reply;

				t->reply = NULL;
				tdig_finish(t, msg, t->rlen, since_ms(t->t0_us), NULL, NULL);
				free(msg);
			}
			return;
		default:
			return;
		}
	}
}

static void on_tcp(struct vt_loop *loop, int fd, int events, void *arg)
{
	struct tdig *t = arg;

	if (t->state == TS_CONNECTING) {
		int err = 0;
		socklen_t el = sizeof(err);

		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
			err = errno;
		if (err == EINPROGRESS)
			return;
		if (err) {
			tdig_fail(t, "socket", "connect failed", err);
			return;
		}
		note_src(t);
		t->state = TS_SENDING;
	}
	tcp_io(t);
}

static void tdig_start_attempt(struct tdig *t)
{
	struct vt_loop *loop = vt_measure_loop(t->ctx);
	const struct vt_cmd_tdig *o = &t->cmd.u.tdig;
	struct vt_dns_query q = {
		.qname = o->qname, .qtype = (uint16_t)o->qtype,
		.qclass = (uint16_t)o->qclass, .rd = o->rd, .cd = o->cd,
		.edns0 = (uint16_t)o->edns0, .dnssec_ok = o->dnssec_ok,
		.nsid = o->nsid,
	};
	int domain = t->cmd.af == 4 ? AF_INET : AF_INET6, rc;
	uint16_t qlen;

	if (getrandom(&t->id, sizeof(t->id), GRND_NONBLOCK) != sizeof(t->id))
		t->id = (uint16_t)(vt_raw_now_us() ^ (intptr_t)t);
	q.id = t->id;
	vt_buf_reset(&t->query);
	rc = vt_buf_add(&t->query, "\0\0", 2);
	if (rc == 0)
		rc = vt_dns_build_query(&q, &t->query);
	if (rc < 0) {
		tdig_fail(t, "query", "cannot build the query", 0);
		return;
	}
	qlen = (uint16_t)(t->query.len - 2);
	t->query.data[0] = (char)(qlen >> 8);
	t->query.data[1] = (char)qlen;

	t->fd = socket(domain, (o->tcp ? SOCK_STREAM : SOCK_DGRAM) |
		       SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (t->fd < 0) {
		tdig_fail(t, "socket", "socket failed", errno);
		return;
	}
	t->t0_us = vt_raw_now_us();
	if (connect(t->fd, (struct sockaddr *)&t->dst.sa, t->dst.salen) < 0 &&
	    errno != EINPROGRESS) {
		tdig_fail(t, "socket", "connect failed", errno);
		return;
	}
	if (vt_loop_timer(loop, o->timeout_ms, on_timeout, t, &t->timer) < 0) {
		tdig_fail(t, "socket", "event loop", 0);
		return;
	}
	if (o->tcp) {
		t->state = TS_CONNECTING;
		if (vt_loop_add(loop, t->fd, VT_EV_WRITE, on_tcp, t) < 0)
			tdig_fail(t, "socket", "event loop", 0);
		return;
	}
	note_src(t);
	t->state = TS_READING;
	if (vt_loop_add(loop, t->fd, VT_EV_READ, on_udp, t) < 0) {
		tdig_fail(t, "socket", "event loop", 0);
		return;
	}
	t->t0_us = vt_raw_now_us();
	if (send(t->fd, t->query.data + 2, qlen, 0) < 0)
		tdig_fail(t, "senderror", "send failed", errno);
}

static void on_resolved(void *arg, int status, const struct vt_measure_addr *a)
{
	struct tdig *t = arg;

	t->req = NULL;
	if (status < 0) {
		tdig_fail(t, "getaddrinfo", a && a->errmsg ? a->errmsg :
			  "name resolution failed", 0);
		return;
	}
	t->dst = *a;
	if (t->dst.sa.ss_family == AF_INET)
		((struct sockaddr_in *)&t->dst.sa)->sin_port =
			htons((uint16_t)t->cmd.u.tdig.port);
	else
		((struct sockaddr_in6 *)&t->dst.sa)->sin6_port =
			htons((uint16_t)t->cmd.u.tdig.port);
	if (vt_measure_addr_allowed(t->ctx, (struct sockaddr *)&t->dst.sa) < 0) {
		tdig_fail(t, "socket", VT_MEASURE_ENOTALLOWED, 0);
		return;
	}
	tdig_start_attempt(t);
}

int vt_tdig_start(struct vt_measure_ctx *ctx, const char *cmdline,
		  vt_measure_done_cb cb, void *arg)
{
	struct tdig *t = calloc(1, sizeof(*t));
	int rc;

	if (!t)
		return VT_ENOMEM;
	t->ctx = ctx;
	t->cb = cb;
	t->arg = arg;
	t->fd = -1;
	t->run.abort = tdig_abort;
	vt_buf_init(&t->query, 2 + 512 + 64);
	rc = vt_cmdline_parse(cmdline, strlen(cmdline), &t->cmd, NULL, 0);
	if (rc < 0)
		goto out;
	if (t->cmd.type != VT_CMD_TDIG) {
		rc = VT_EPARSE;
		goto out;
	}
	t->start_s = vt_now_ms() / 1000;
	t->state = TS_RESOLVING;
	rc = vt_measure_resolve(ctx, t->cmd.target, t->cmd.af, on_resolved, t,
				&t->req);
	if (rc < 0)
		goto out;
	vt_measure_run_add(ctx, &t->run);
	t = NULL;
	rc = 0;
out:
	tdig_free(t);
	return rc;
}
