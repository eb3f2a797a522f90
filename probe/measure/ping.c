/* ping.c - evping: ICMP echo over IPv4 and IPv6.
 *
 * One packet at a time: packet k is sent, then waits for its reply or for
 * its timeout (the interval, at least one second); the next packet leaves
 * one interval after the previous one.  Replies are matched by ICMP id
 * (one per measurement) and sequence.  A second reply to a packet is a
 * duplicate ({"rtt": ..., "dup": 1}); a packet without reply is {"x": "*"};
 * a packet the kernel refused to send is {"error": "sendto failed: <why>"}
 * in its place (as the RIPE Atlas probe records it), not also a timeout. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/evloop.h"
#include "common/vtime.h"
#include "probe/measure/measure.h"
#include "probe/measure/rawnet.h"
#include "proto/cmdline.h"

#define PING_MIN_WAIT_MS 1000
#define PING_MAX_DUPS    16        /* dup entries kept per packet */

struct ping {
	struct vt_measure_run    run;
	struct vt_raw_listener   lis;
	struct vt_measure_ctx   *ctx;
	vt_measure_done_cb       cb;
	void                    *arg;
	struct vt_cmdline        cmd;
	struct vt_measure_resolve *req;
	struct vt_measure_addr   dst;
	struct sockaddr_storage  src;
	int                      have_src;
	int                      fd;        /* raw (shared) or datagram (own) */
	int                      own_fd;
	uint16_t                 id;
	int                      seq;       /* packets sent */
	int                      waiting;   /* the last packet awaits its reply */
	int                      rcvd, dups, ndup_entries;
	int                      first_ttl;
	char                     first_src[INET6_ADDRSTRLEN];
	int64_t                  start_s;
	int64_t                 *sent_us;
	uint8_t                 *answered;
	uint64_t                 timer;
	json_t                  *results;
	uint8_t                  rxbuf[2048];
};

static void ping_free(struct ping *p)
{
	if (!p)
		return;
	vt_measure_resolve_cancel(p->req);
	if (p->timer)
		vt_loop_timer_cancel(vt_measure_loop(p->ctx), p->timer);
	vt_raw_unlisten(p->ctx, &p->lis);
	if (p->own_fd && p->fd >= 0) {
		vt_loop_del(vt_measure_loop(p->ctx), p->fd);
		close(p->fd);
	}
	if (p->id && !p->own_fd)
		vt_raw_id_put(p->ctx, p->id);
	json_decref(p->results);
	free(p->sent_us);
	free(p->answered);
	free(p);
}

static void ping_abort(struct vt_measure_run *run)
{
	ping_free((struct ping *)(void *)run);
}

/* Builds the result, hands it over and frees the measurement.  err, when
 * not NULL, is appended as {"error": err}; top_err sets a top-level error. */
static void ping_finish(struct ping *p, const char *err, const char *top_err)
{
	json_t *o = vt_measure_result_new(p->ctx, p->cmd.msm_id, p->start_s);
	char buf[INET6_ADDRSTRLEN];
	long msm = p->cmd.msm_id;
	vt_measure_done_cb cb = p->cb;
	void *arg = p->arg;

	vt_measure_run_del(p->ctx, &p->run);
	if (!o)
		goto out;
	if (err)
		json_array_append_new(p->results,
				      json_pack("{s:s}", "error", err));
	json_object_set_new(o, "dst_name", json_string(p->cmd.target));
	if (!p->dst.is_literal && p->dst.salen)
		json_object_set_new(o, "ttr", vt_measure_ms(p->dst.ttr_ms));
	json_object_set_new(o, "af", json_integer(p->cmd.af));
	if (p->dst.salen)
		json_object_set_new(o, "dst_addr", json_string(
			vt_measure_ntop((struct sockaddr *)&p->dst.sa, buf,
					sizeof buf)));
	if (p->have_src)
		json_object_set_new(o, "src_addr", json_string(
			vt_measure_ntop((struct sockaddr *)&p->src, buf,
					sizeof buf)));
	json_object_set_new(o, "proto", json_string("ICMP"));
	if (p->first_ttl >= 0)
		json_object_set_new(o, "ttl", json_integer(p->first_ttl));
	json_object_set_new(o, "size", json_integer(p->cmd.u.ping.size));
	if (top_err) {
		json_object_set_new(o, "error", json_string(top_err));
	} else {
		json_object_set(o, "result", p->results);
		json_object_set_new(o, "dup", json_integer(p->dups));
		json_object_set_new(o, "rcvd", json_integer(p->rcvd));
		json_object_set_new(o, "sent", json_integer(p->seq));
	}
	if (p->cmd.bundle[0])
		json_object_set_new(o, "bundle", json_string(p->cmd.bundle));
out:
	ping_free(p);
	vt_measure_emit(o, msm, cb, arg);
}

static void ping_send(struct ping *p);

static void on_tick(struct vt_loop *loop, void *arg)
{
	struct ping *p = arg;

	p->timer = 0;
	if (p->waiting) {
		json_array_append_new(p->results, json_pack("{s:s}", "x", "*"));
		p->waiting = 0;
	}
	if (p->seq >= p->cmd.u.ping.count) {
		ping_finish(p, NULL, NULL);
		return;
	}
	ping_send(p);
}

static int ping_wait_ms(const struct ping *p)
{
	int w = p->cmd.u.ping.interval_ms;

	return w < PING_MIN_WAIT_MS ? PING_MIN_WAIT_MS : w;
}

static void ping_send(struct ping *p)
{
	size_t plen = (size_t)p->cmd.u.ping.size;
	uint8_t pkt[8 + 2048];
	int seq = p->seq;
	int rc;

	memset(pkt, 0, sizeof pkt);
	pkt[0] = p->cmd.af == 4 ? 8 : 128;            /* echo request */
	pkt[4] = (uint8_t)(p->id >> 8);
	pkt[5] = (uint8_t)p->id;
	pkt[6] = (uint8_t)(seq >> 8);
	pkt[7] = (uint8_t)seq;
	for (size_t i = 0; i < plen; i++)
		pkt[8 + i] = (uint8_t)(i + 0x10);
	if (p->cmd.af == 4) {
		uint16_t c = vt_csum_fold(vt_csum_add(0, pkt, 8 + plen));

		pkt[2] = (uint8_t)(c >> 8);
		pkt[3] = (uint8_t)c;
	}
	p->sent_us[seq] = vt_raw_now_us();
	rc = vt_raw_send(p->fd, p->cmd.af, -1, pkt, 8 + plen,
			 (struct sockaddr *)&p->dst.sa, p->dst.salen);
	p->seq++;
	p->waiting = 1;
	if (rc < 0) {
		char why[160], eb[128];
		int e = errno;

		snprintf(why, sizeof why, "sendto failed: %s",
			 strerror_r(e, eb, sizeof eb));
		json_array_append_new(p->results, json_pack("{s:s}", "error", why));
		p->waiting = 0;
	}
	if (vt_loop_timer(vt_measure_loop(p->ctx), ping_wait_ms(p), on_tick, p,
			  &p->timer) < 0)
		p->timer = 0;
}

/* Checks an echo reply: returns its sequence, or -1 when not ours. */
static int ping_match(const struct ping *p, const struct vt_raw_pkt *k)
{
	int want = p->cmd.af == 4 ? 0 : 129;
	int id, seq;

	if (k->len < 8 || k->data[0] != want || k->data[1] != 0)
		return -1;
	id = k->data[4] << 8 | k->data[5];
	seq = k->data[6] << 8 | k->data[7];
	if (!p->own_fd && id != p->id)
		return -1;
	if (seq >= p->seq)
		return -1;
	if (p->own_fd)
		return seq;      /* the kernel matched the socket */
	if (p->cmd.af == 4) {
		const struct sockaddr_in *a = (const void *)&k->from;
		const struct sockaddr_in *b = (const void *)&p->dst.sa;

		if (a->sin_addr.s_addr != b->sin_addr.s_addr)
			return -1;
	} else {
		const struct sockaddr_in6 *a = (const void *)&k->from;
		const struct sockaddr_in6 *b = (const void *)&p->dst.sa;

		if (memcmp(&a->sin6_addr, &b->sin6_addr, 16))
			return -1;
	}
	return seq;
}

static int on_pkt(void *arg, const struct vt_raw_pkt *k)
{
	struct ping *p = arg;
	int seq = ping_match(p, k);
	char from[INET6_ADDRSTRLEN];
	json_t *r;

	if (seq < 0)
		return 0;
	vt_measure_ntop((const struct sockaddr *)&k->from, from, sizeof from);
	r = json_object();
	if (!r)
		return 1;
	json_object_set_new(r, "rtt", vt_measure_ms(
		(double)(k->rx_us - p->sent_us[seq]) / 1000.0));
	if (p->answered[seq]) {
		if (p->ndup_entries >= PING_MAX_DUPS * p->cmd.u.ping.count) {
			json_decref(r);
			return 1;
		}
		json_object_set_new(r, "dup", json_integer(1));
		p->dups++;
		p->ndup_entries++;
	} else if (seq != p->seq - 1 || !p->waiting) {
		/* a reply after its packet was given up: not counted */
		json_decref(r);
		return 1;
	}
	if (p->first_ttl < 0) {
		p->first_ttl = k->ttl;
		snprintf(p->first_src, sizeof p->first_src, "%s", from);
	} else {
		if (k->ttl != p->first_ttl && k->ttl >= 0)
			json_object_set_new(r, "ttl", json_integer(k->ttl));
		if (strcmp(from, p->first_src))
			json_object_set_new(r, "src_addr", json_string(from));
	}
	json_array_append_new(p->results, r);
	if (!p->answered[seq]) {
		p->answered[seq] = 1;
		p->rcvd++;
		p->waiting = 0;
		/* the next packet leaves one interval after this one */
		if (p->timer)
			vt_loop_timer_cancel(vt_measure_loop(p->ctx), p->timer);
		p->timer = 0;
		{
			int64_t due = p->sent_us[seq] / 1000 +
				      p->cmd.u.ping.interval_ms -
				      vt_raw_now_us() / 1000;

			if (p->seq >= p->cmd.u.ping.count)
				due = 0;
			if (vt_loop_timer(vt_measure_loop(p->ctx),
					  due < 0 ? 0 : due, on_tick, p,
					  &p->timer) < 0)
				p->timer = 0;
		}
	}
	return 1;
}

static void on_dgram(struct vt_loop *loop, int fd, int events, void *arg)
{
	struct ping *p = arg;
	struct vt_raw_pkt k;

	for (int i = 0; i < 64; i++) {
		if (!vt_raw_read_dgram(fd, p->cmd.af, p->rxbuf,
				       sizeof p->rxbuf, &k))
			break;
		if (on_pkt(p, &k) && !p->timer && p->seq >= p->cmd.u.ping.count)
			break;
	}
}

static int ping_open_dgram(struct ping *p)
{
	int fam = p->cmd.af == 4 ? AF_INET : AF_INET6;
	int on = 1;

	p->fd = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		       p->cmd.af == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6);
	if (p->fd < 0)
		return VT_EIO;
	p->own_fd = 1;
	if (p->cmd.af == 4)
		(void)setsockopt(p->fd, IPPROTO_IP, IP_RECVTTL, &on, sizeof on);
	else
		(void)setsockopt(p->fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on,
				 sizeof on);
	if (vt_loop_add(vt_measure_loop(p->ctx), p->fd, VT_EV_READ, on_dgram,
			p) < 0)
		return VT_ENOMEM;
	return 0;
}

static void on_resolved(void *arg, int status, const struct vt_measure_addr *a)
{
	struct ping *p = arg;

	p->req = NULL;
	if (status < 0) {
		p->dst.ttr_ms = a->ttr_ms;
		ping_finish(p, NULL, a->errmsg ? a->errmsg : "name resolution failed");
		return;
	}
	p->dst = *a;
	if (vt_raw_src_for((struct sockaddr *)&p->dst.sa, p->dst.salen,
			   &p->src) == 0)
		p->have_src = 1;
	if (vt_measure_addr_allowed(p->ctx, (struct sockaddr *)&p->dst.sa) < 0) {
		ping_finish(p, VT_MEASURE_ENOTALLOWED, NULL);
		return;
	}
	p->fd = vt_raw_fd(p->ctx, p->cmd.af,
			  p->cmd.af == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6);
	if (p->fd >= 0) {
		p->id = vt_raw_id_get(p->ctx);
		vt_raw_listen(p->ctx, &p->lis);
	} else if (ping_open_dgram(p) < 0) {
		ping_finish(p, "socket: no ICMP socket available", NULL);
		return;
	}
	ping_send(p);
}

int vt_ping_start(struct vt_measure_ctx *ctx, const char *cmdline,
		  vt_measure_done_cb cb, void *arg)
{
	struct ping *p = calloc(1, sizeof *p);
	int rc = VT_ENOMEM;

	if (!p)
		return VT_ENOMEM;
	p->ctx = ctx;
	p->cb = cb;
	p->arg = arg;
	p->fd = -1;
	p->first_ttl = -1;
	p->lis.on_pkt = on_pkt;
	p->lis.arg = p;
	p->run.abort = ping_abort;
	rc = vt_cmdline_parse(cmdline, strlen(cmdline), &p->cmd, NULL, 0);
	if (rc < 0)
		goto out;
	if (p->cmd.type != VT_CMD_PING) {
		rc = VT_EPARSE;
		goto out;
	}
	rc = VT_ENOMEM;
	p->results = json_array();
	p->sent_us = calloc((size_t)p->cmd.u.ping.count + 1, sizeof *p->sent_us);
	p->answered = calloc((size_t)p->cmd.u.ping.count + 1, 1);
	if (!p->results || !p->sent_us || !p->answered)
		goto out;
	p->start_s = vt_now_ms() / 1000;
	rc = vt_measure_resolve(ctx, p->cmd.target, p->cmd.af, on_resolved, p,
				&p->req);
	if (rc < 0)
		goto out;
	vt_measure_run_add(ctx, &p->run);
	p = NULL;
	rc = 0;
out:
	ping_free(p);
	return rc;
}
