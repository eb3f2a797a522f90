/* traceroute.c - evtraceroute: ICMP, UDP and TCP (SYN) probes.
 *
 * Probes leave one at a time: each waits for its reply or for -w ms, then
 * the next one leaves; -c probes per hop, hops from -f to -m, and the run
 * stops after the hop in which the destination (or an unreachable error)
 * answered.  Paris traceroute: the flow (ICMP checksum, UDP and TCP ports)
 * stays constant during a run; paris_id changes it from run to run.
 *
 * Probe identification, all through the shared raw sockets:
 *   ICMP  echo id = the measurement's id, echo seq = probe number (a
 *         payload word keeps the checksum constant);
 *   UDP   own datagram socket (source port), fixed destination port,
 *         probe number in the first two payload bytes;
 *   TCP   SYN from a fixed source port, TCP seq = base + probe number,
 *         answered by SYN-ACK or RST (ack = seq + 1) or by ICMP errors.
 * A reply to an older probe is "late", a second reply is "dup". */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/evloop.h"
#include "common/vtime.h"
#include "probe/measure/icmp.h"
#include "probe/measure/measure.h"
#include "probe/measure/rawnet.h"
#include "proto/cmdline.h"

#define UDP_BASE_PORT 33434
#define TCP_DEF_PORT  80

struct probe_rec {
	int64_t  sent_us;
	uint8_t  answered;
};

struct trt {
	struct vt_measure_run    run;
	struct vt_raw_listener   lis;
	struct vt_measure_ctx   *ctx;
	vt_measure_done_cb       cb;
	void                    *arg;
	struct vt_cmdline        cmd;
	struct vt_cmd_traceroute *o;
	struct vt_measure_resolve *req;
	struct vt_measure_addr   dst;
	struct sockaddr_storage  src;
	int                      have_src;
	int                      af;
	int                      paris_id;
	uint16_t                 flow;       /* ICMP id, TCP source port seed */
	int                      udp_fd;
	uint16_t                 sport, dport;
	uint32_t                 tcp_base;
	int                      hop, idx, seq, nrecs;
	int                      waiting;
	int                      reached, unreach, gap;
	struct probe_rec        *recs;
	json_t                  *hops, *cur;
	uint64_t                 timer;
	int64_t                  start_s;
};

static void trt_free(struct trt *t)
{
	if (!t)
		return;
	vt_measure_resolve_cancel(t->req);
	if (t->timer)
		vt_loop_timer_cancel(vt_measure_loop(t->ctx), t->timer);
	vt_raw_unlisten(t->ctx, &t->lis);
	if (t->udp_fd >= 0)
		close(t->udp_fd);
	if (t->flow)
		vt_raw_id_put(t->ctx, t->flow);
	json_decref(t->hops);
	json_decref(t->cur);
	free(t->recs);
	free(t);
}

static void trt_abort(struct vt_measure_run *run)
{
	trt_free((struct trt *)(void *)run);
}

static const char *proto_name(enum vt_trt_proto p)
{
	return p == VT_TRT_UDP ? "UDP" : p == VT_TRT_TCP ? "TCP" : "ICMP";
}

static void trt_finish(struct trt *t, const char *top_err)
{
	json_t *o = vt_measure_result_new(t->ctx, t->cmd.msm_id, t->start_s);
	char buf[INET6_ADDRSTRLEN];
	long msm = t->cmd.msm_id;
	vt_measure_done_cb cb = t->cb;
	void *arg = t->arg;

	vt_measure_run_del(t->ctx, &t->run);
	if (!o)
		goto out;
	json_object_set_new(o, "endtime", json_integer(vt_now_ms() / 1000));
	json_object_set_new(o, "dst_name", json_string(t->cmd.target));
	if (!t->dst.is_literal && t->dst.salen)
		json_object_set_new(o, "ttr", vt_measure_ms(t->dst.ttr_ms));
	if (t->dst.salen)
		json_object_set_new(o, "dst_addr", json_string(
			vt_measure_ntop((struct sockaddr *)&t->dst.sa, buf,
					sizeof buf)));
	if (t->have_src)
		json_object_set_new(o, "src_addr", json_string(
			vt_measure_ntop((struct sockaddr *)&t->src, buf,
					sizeof buf)));
	json_object_set_new(o, "proto", json_string(proto_name(t->o->proto)));
	json_object_set_new(o, "af", json_integer(t->af));
	json_object_set_new(o, "size", json_integer(t->o->size));
	json_object_set_new(o, "paris_id", json_integer(t->paris_id));
	if (top_err)
		json_object_set_new(o, "error", json_string(top_err));
	else
		json_object_set(o, "result", t->hops);
	if (t->cmd.bundle[0])
		json_object_set_new(o, "bundle", json_string(t->cmd.bundle));
out:
	trt_free(t);
	vt_measure_emit(o, msm, cb, arg);
}

/* Closes the hop in progress and appends it to the result. */
static void hop_close(struct trt *t)
{
	json_t *h = json_object();

	if (h) {
		json_object_set_new(h, "hop", json_integer(t->hop));
		json_object_set_new(h, "result", t->cur);
		json_array_append_new(t->hops, h);
	} else {
		json_decref(t->cur);
	}
	t->cur = NULL;
}

static void hop_error(struct trt *t, const char *err)
{
	json_t *h = json_pack("{s:s,s:i}", "error", err, "hop", t->hop);

	json_decref(t->cur);
	t->cur = NULL;
	if (h)
		json_array_append_new(t->hops, h);
}

static void send_probe(struct trt *t);

/* After a probe: the next probe of the hop, the next hop, or the end. */
static void advance(struct trt *t)
{
	if (++t->idx < t->o->packets) {
		send_probe(t);
		return;
	}
	{
		int stars = 1;

		for (size_t i = 0; i < json_array_size(t->cur); i++)
			if (!json_object_get(json_array_get(t->cur, i), "x"))
				stars = 0;
		t->gap = stars ? t->gap + 1 : 0;
	}
	hop_close(t);
	if (t->reached || t->unreach || t->hop >= t->o->max_hops || t->hop == 255) {
		trt_finish(t, NULL);
		return;
	}
	if (t->o->gap_limit > 0 && t->gap >= t->o->gap_limit)
		t->hop = 255;   /* as RIPE Atlas does: a last try with TTL 255 */
	else
		t->hop++;
	t->idx = 0;
	t->cur = json_array();
	if (!t->cur) {
		trt_finish(t, "out of memory");
		return;
	}
	send_probe(t);
}

static void on_timeout(struct vt_loop *loop, void *arg)
{
	struct trt *t = arg;

	t->timer = 0;
	if (t->waiting) {
		json_array_append_new(t->cur, json_pack("{s:s}", "x", "*"));
		t->waiting = 0;
	}
	advance(t);
}

static size_t payload_len(const struct trt *t, size_t l4hdr)
{
	long n = t->af == 4 ? (long)t->o->size - 20 - (long)l4hdr :
			      (long)t->o->size;

	return n < 4 ? 4 : (size_t)n;
}

/* Builds the probe of number seq into pkt; returns its length. */
static size_t build_probe(struct trt *t, int seq, uint8_t *pkt, size_t cap)
{
	size_t n = 0, pl;

	memset(pkt, 0, cap);
	switch (t->o->proto) {
	case VT_TRT_ICMP: {
		uint16_t w = (uint16_t)(0xffff - (uint16_t)seq);

		pl = payload_len(t, 8);
		n = 8 + pl;
		pkt[0] = t->af == 4 ? 8 : 128;
		pkt[4] = (uint8_t)(t->flow >> 8);
		pkt[5] = (uint8_t)t->flow;
		pkt[6] = (uint8_t)(seq >> 8);
		pkt[7] = (uint8_t)seq;
		/* seq + w is constant: so is the checksum (the flow) */
		pkt[8] = (uint8_t)(w >> 8);
		pkt[9] = (uint8_t)w;
		pkt[10] = (uint8_t)t->paris_id;
		if (t->af == 4) {
			uint16_t c = vt_csum_fold(vt_csum_add(0, pkt, n));

			pkt[2] = (uint8_t)(c >> 8);
			pkt[3] = (uint8_t)c;
		}
		break;
	}
	case VT_TRT_UDP:
		pl = payload_len(t, 8);
		n = pl;
		pkt[0] = (uint8_t)(seq >> 8);
		pkt[1] = (uint8_t)seq;
		pkt[2] = (uint8_t)t->paris_id;
		break;
	case VT_TRT_TCP: {
		uint32_t s = t->tcp_base + (uint32_t)seq;

		n = 20;
		pkt[0] = (uint8_t)(t->sport >> 8);
		pkt[1] = (uint8_t)t->sport;
		pkt[2] = (uint8_t)(t->dport >> 8);
		pkt[3] = (uint8_t)t->dport;
		pkt[4] = (uint8_t)(s >> 24);
		pkt[5] = (uint8_t)(s >> 16);
		pkt[6] = (uint8_t)(s >> 8);
		pkt[7] = (uint8_t)s;
		pkt[12] = 5 << 4;
		pkt[13] = 0x02;                     /* SYN */
		pkt[14] = 0xff;
		pkt[15] = 0xff;
		if (t->af == 4) {
			const struct sockaddr_in *a = (const void *)&t->src;
			const struct sockaddr_in *b = (const void *)&t->dst.sa;
			uint8_t ph[12];
			uint16_t c;

			memcpy(ph, &a->sin_addr, 4);
			memcpy(ph + 4, &b->sin_addr, 4);
			ph[8] = 0;
			ph[9] = IPPROTO_TCP;
			ph[10] = 0;
			ph[11] = 20;
			c = vt_csum_fold(vt_csum_add(vt_csum_add(0, ph, 12),
						     pkt, 20));
			pkt[16] = (uint8_t)(c >> 8);
			pkt[17] = (uint8_t)c;
		}
		break;
	}
	}
	return n;
}

static void send_probe(struct trt *t)
{
	uint8_t pkt[8 + 2048];
	struct sockaddr_storage d;
	size_t n;
	int fd, rc;

	if (t->seq >= t->nrecs || t->seq > 0xffff) {
		trt_finish(t, NULL);
		return;
	}
	n = build_probe(t, t->seq, pkt, sizeof pkt);
	memcpy(&d, &t->dst.sa, t->dst.salen);
	switch (t->o->proto) {
	case VT_TRT_UDP:
		fd = t->udp_fd;
		if (t->af == 4)
			((struct sockaddr_in *)&d)->sin_port = htons(t->dport);
		else
			((struct sockaddr_in6 *)&d)->sin6_port = htons(t->dport);
		break;
	case VT_TRT_TCP:
		fd = vt_raw_fd(t->ctx, t->af, IPPROTO_TCP);
		break;
	default:
		fd = vt_raw_fd(t->ctx, t->af,
			       t->af == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6);
		break;
	}
	t->recs[t->seq].sent_us = vt_raw_now_us();
	rc = vt_raw_send(fd, t->af, t->hop, pkt, n, (struct sockaddr *)&d,
			 t->dst.salen);
	if (rc < 0) {
		char err[96];

		snprintf(err, sizeof err, "sendto failed: %s", strerror(errno));
		hop_error(t, err);
		trt_finish(t, NULL);
		return;
	}
	t->seq++;
	t->waiting = 1;
	if (vt_loop_timer(vt_measure_loop(t->ctx), t->o->wait_ms, on_timeout, t,
			  &t->timer) < 0)
		t->timer = 0;
}

static int same_addr(int af, const struct sockaddr_storage *a,
		     const struct sockaddr_storage *b)
{
	if (af == 4)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		       &((const struct sockaddr_in6 *)b)->sin6_addr, 16);
}

static void on_next(struct vt_loop *loop, void *arg)
{
	struct trt *t = arg;

	t->timer = 0;
	advance(t);
}

/* Records the reply to probe s (already matched). */
static void got_reply(struct trt *t, int s, const struct vt_raw_pkt *k,
		      const struct vt_icmp_info *ii, const char *tcp_flags)
{
	int from_dst = same_addr(t->af, &k->from, &t->dst.sa);
	char from[INET6_ADDRSTRLEN], eb[8];
	const char *err = NULL;
	json_t *r = json_object();
	int current = s == t->seq - 1 && t->waiting;

	if (!r || !t->cur) {
		json_decref(r);
		return;
	}
	vt_measure_ntop((const struct sockaddr *)&k->from, from, sizeof from);
	if (!current && !t->recs[s].answered)
		json_object_set_new(r, "late", json_integer(t->seq - 1 - s));
	else if (t->recs[s].answered)
		json_object_set_new(r, "dup", json_integer(1));
	json_object_set_new(r, "from", json_string(from));
	if (current || t->recs[s].answered)
		json_object_set_new(r, "rtt", vt_measure_ms(
			(double)(k->rx_us - t->recs[s].sent_us) / 1000.0));
	json_object_set_new(r, "size", json_integer((json_int_t)k->ip_len));
	if (k->ttl >= 0)
		json_object_set_new(r, "ttl", json_integer(k->ttl));
	if (ii && ii->is_error) {
		err = vt_icmp_err_text(t->af, ii, eb, sizeof eb);
		/* the destination's port unreachable is the normal UDP end */
		if (err && !strcmp(err, "p") && from_dst &&
		    t->o->proto == VT_TRT_UDP)
			err = NULL;
		if (err)
			json_object_set_new(r, "err", json_string(err));
		if (ii->in_ttl >= 0 && ii->in_ttl != 1)
			json_object_set_new(r, "ittl", json_integer(ii->in_ttl));
		if (ii->in_tos > 0)
			json_object_set_new(r, "itos", json_integer(ii->in_tos));
		if (ii->in_proto >= 0) {
			struct sockaddr_storage e;
			char eb2[INET6_ADDRSTRLEN];

			memset(&e, 0, sizeof e);
			if (t->af == 4) {
				((struct sockaddr_in *)&e)->sin_family = AF_INET;
				((struct sockaddr_in *)&e)->sin_addr = ii->in_dst.v4;
			} else {
				((struct sockaddr_in6 *)&e)->sin6_family = AF_INET6;
				((struct sockaddr_in6 *)&e)->sin6_addr = ii->in_dst.v6;
			}
			if (!same_addr(t->af, &e, &t->dst.sa))
				json_object_set_new(r, "edst", json_string(
					vt_measure_ntop((struct sockaddr *)&e,
							eb2, sizeof eb2)));
		}
		if (ii->mtu)
			json_object_set_new(r, "mtu", json_integer(ii->mtu));
		{
			json_t *x = vt_icmp_ext_json(ii);

			if (x)
				json_object_set_new(r, "icmpext", x);
		}
	}
	if (tcp_flags)
		json_object_set_new(r, "flags", json_string(tcp_flags));
	json_array_append_new(t->cur, r);
	if (t->recs[s].answered)
		return;
	t->recs[s].answered = 1;
	if (!current)
		return;
	t->waiting = 0;
	if (from_dst)
		t->reached = 1;
	else if (err)
		t->unreach = 1;
	if (t->timer)
		vt_loop_timer_cancel(vt_measure_loop(t->ctx), t->timer);
	if (vt_loop_timer(vt_measure_loop(t->ctx), 0, on_next, t, &t->timer) < 0)
		t->timer = 0;
}

static int match_icmp(struct trt *t, const struct vt_raw_pkt *k)
{
	struct vt_icmp_info ii;
	int s = -1;

	if (vt_icmp_parse(t->af, k->data, k->len, &ii) < 0)
		return 0;
	if (ii.is_echo_reply) {
		if (t->o->proto != VT_TRT_ICMP || ii.echo_id != t->flow ||
		    !same_addr(t->af, &k->from, &t->dst.sa))
			return 0;
		s = ii.echo_seq;
	} else if (ii.is_error) {
		switch (t->o->proto) {
		case VT_TRT_ICMP:
			if (ii.in_proto != (t->af == 4 ? IPPROTO_ICMP :
					    IPPROTO_ICMPV6) ||
			    ii.echo_id != t->flow)
				return 0;
			s = ii.echo_seq;
			break;
		case VT_TRT_UDP:
			if (ii.in_proto != IPPROTO_UDP ||
			    ii.in_sport != t->sport || ii.in_dport != t->dport)
				return 0;
			if (ii.in_payload_len >= 2)
				s = ii.in_payload[0] << 8 | ii.in_payload[1];
			else
				s = t->seq - 1;
			break;
		case VT_TRT_TCP:
			if (ii.in_proto != IPPROTO_TCP ||
			    ii.in_sport != t->sport || ii.in_dport != t->dport)
				return 0;
			s = (int)(ii.in_tcp_seq - t->tcp_base);
			break;
		}
	} else {
		return 0;
	}
	if (s < 0 || s >= t->seq)
		return 1;        /* ours, but no probe of that number */
	got_reply(t, s, k, &ii, NULL);
	return 1;
}

static int match_tcp(struct trt *t, const struct vt_raw_pkt *k)
{
	static const char letters[] = "FSRPAUEC";
	char flags[9];
	size_t nf = 0;
	uint32_t ack;
	int s;

	if (t->o->proto != VT_TRT_TCP || k->len < 20)
		return 0;
	if ((k->data[0] << 8 | k->data[1]) != t->dport ||
	    (k->data[2] << 8 | k->data[3]) != t->sport ||
	    !same_addr(t->af, &k->from, &t->dst.sa))
		return 0;
	ack = (uint32_t)k->data[8] << 24 | (uint32_t)k->data[9] << 16 |
	      (uint32_t)k->data[10] << 8 | k->data[11];
	s = (int)(ack - 1 - t->tcp_base);
	for (int b = 0; b < 8; b++)
		if (k->data[13] & (1 << b))
			flags[nf++] = letters[b];
	flags[nf] = 0;
	if (s < 0 || s >= t->seq)
		return 1;
	got_reply(t, s, k, NULL, flags);
	return 1;
}

static int on_pkt(void *arg, const struct vt_raw_pkt *k)
{
	struct trt *t = arg;

	if (k->af != t->af)
		return 0;
	if (k->proto == IPPROTO_TCP)
		return match_tcp(t, k);
	return match_icmp(t, k);
}

static int trt_open(struct trt *t)
{
	int icmp = t->af == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;

	if (vt_raw_fd(t->ctx, t->af, icmp) < 0)
		return VT_EUNSUPP;      /* errors arrive only on raw sockets */
	t->flow = vt_raw_id_get(t->ctx);
	if (t->o->proto == VT_TRT_UDP) {
		struct sockaddr_storage b;
		socklen_t bl = sizeof b;

		t->udp_fd = socket(t->af == 4 ? AF_INET : AF_INET6,
				   SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (t->udp_fd < 0)
			return VT_EIO;
		memset(&b, 0, sizeof b);
		b.ss_family = t->af == 4 ? AF_INET : AF_INET6;
		if (bind(t->udp_fd, (struct sockaddr *)&b,
			 t->af == 4 ? sizeof(struct sockaddr_in) :
				      sizeof(struct sockaddr_in6)) < 0 ||
		    getsockname(t->udp_fd, (struct sockaddr *)&b, &bl) < 0)
			return VT_EIO;
		t->sport = ntohs(t->af == 4 ?
				 ((struct sockaddr_in *)&b)->sin_port :
				 ((struct sockaddr_in6 *)&b)->sin6_port);
		t->dport = (uint16_t)(t->o->port ? t->o->port :
				      UDP_BASE_PORT + t->paris_id);
	} else if (t->o->proto == VT_TRT_TCP) {
		if (vt_raw_fd(t->ctx, t->af, IPPROTO_TCP) < 0)
			return VT_EUNSUPP;
		t->sport = (uint16_t)(0x8000 | (t->flow & 0x7fff));
		t->dport = (uint16_t)(t->o->port ? t->o->port : TCP_DEF_PORT);
		t->tcp_base = (uint32_t)vt_raw_now_us() * 2654435761u;
	}
	vt_raw_listen(t->ctx, &t->lis);
	return 0;
}

static void on_resolved(void *arg, int status, const struct vt_measure_addr *a)
{
	struct trt *t = arg;
	int rc;

	t->req = NULL;
	if (status < 0) {
		trt_finish(t, a->errmsg ? a->errmsg : "name resolution failed");
		return;
	}
	t->dst = *a;
	if (vt_raw_src_for((struct sockaddr *)&t->dst.sa, t->dst.salen,
			   &t->src) == 0)
		t->have_src = 1;
	if (vt_measure_addr_allowed(t->ctx, (struct sockaddr *)&t->dst.sa) < 0) {
		hop_error(t, VT_MEASURE_ENOTALLOWED);
		trt_finish(t, NULL);
		return;
	}
	if (t->o->proto == VT_TRT_TCP && t->af == 4 && !t->have_src) {
		hop_error(t, "connect failed: Network is unreachable");
		trt_finish(t, NULL);
		return;
	}
	rc = trt_open(t);
	if (rc < 0) {
		hop_error(t, rc == VT_EUNSUPP ? "socket: raw socket not permitted" :
			  "socket failed");
		trt_finish(t, NULL);
		return;
	}
	send_probe(t);
}

int vt_traceroute_start(struct vt_measure_ctx *ctx, const char *cmdline,
			vt_measure_done_cb cb, void *arg)
{
	struct trt *t = calloc(1, sizeof *t);
	int rc;

	if (!t)
		return VT_ENOMEM;
	t->ctx = ctx;
	t->cb = cb;
	t->arg = arg;
	t->udp_fd = -1;
	t->lis.on_pkt = on_pkt;
	t->lis.arg = t;
	t->run.abort = trt_abort;
	t->o = &t->cmd.u.traceroute;
	rc = vt_cmdline_parse(cmdline, strlen(cmdline), &t->cmd, NULL, 0);
	if (rc < 0)
		goto out;
	if (t->cmd.type != VT_CMD_TRACEROUTE) {
		rc = VT_EPARSE;
		goto out;
	}
	rc = VT_ENOMEM;
	t->af = t->cmd.af;
	t->hop = t->o->first_hop;
	/* every hop up to max_hops, and the hop 255 a gap limit jumps to */
	t->nrecs = (t->o->max_hops - t->o->first_hop + 2) * t->o->packets + 1;
	t->recs = calloc((size_t)t->nrecs, sizeof *t->recs);
	t->hops = json_array();
	t->cur = json_array();
	if (!t->recs || !t->hops || !t->cur)
		goto out;
	t->paris_id = vt_raw_paris_next(ctx, t->cmd.msm_id, t->o->paris);
	t->start_s = vt_now_ms() / 1000;
	rc = vt_measure_resolve(ctx, t->cmd.target, t->af, on_resolved, t,
				&t->req);
	if (rc < 0)
		goto out;
	vt_measure_run_add(ctx, &t->run);
	t = NULL;
	rc = 0;
out:
	trt_free(t);
	return rc;
}
