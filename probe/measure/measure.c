/* measure.c - the engine context: sockets, c-ares, policy, result fields. */
#include "probe/measure/measure.h"

#include <ares.h>
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/evloop.h"
#include "common/vtime.h"
#include "probe/measure/rawnet.h"
#include "proto/cmdline.h"

#define RAW_BUF   4096
#define PARIS_MAX 64        /* msm ids whose paris counter is remembered */

struct paris_slot {
	long msm_id;
	int  next;
};

struct vt_measure_resolve {
	struct vt_measure_ctx *ctx;
	vt_measure_resolve_cb  cb;
	void                  *arg;
	int                    af;
	int                    cancelled;
	int64_t                t0_us;
	uint64_t               timer;      /* literal: deferred callback */
	struct vt_measure_addr addr;
	struct vt_measure_resolve *next, *prev;
};

struct vt_measure_ctx {
	struct vt_loop *loop;
	int             allow_private;
	int             fw;
	char           *mver;
	int64_t         clock_confirmed;    /* -1 unknown */
	ares_channel    ares;
	int             ares_ok;
	uint64_t        ares_timer;
	int             raw[4];             /* icmp4, icmp6, tcp4, tcp6 */
	struct vt_raw_listener *listeners;
	struct vt_measure_run  *runs;
	int             nruns;
	struct vt_measure_resolve *resolves;
	uint8_t         ids_used[65536 / 8];
	uint16_t        next_id;
	struct paris_slot paris[PARIS_MAX];
	unsigned        paris_rr;
	uint8_t         rxbuf[RAW_BUF];
};

/* ---- small helpers ---------------------------------------------------- */

int64_t vt_raw_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

uint32_t vt_csum_add(uint32_t sum, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 1) {
		sum += (uint32_t)(p[0] << 8 | p[1]);
		p += 2;
		len -= 2;
	}
	if (len)
		sum += (uint32_t)(p[0] << 8);
	return sum;
}

uint16_t vt_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

const char *vt_measure_ntop(const struct sockaddr *sa, char *buf, size_t len)
{
	const void *a = NULL;

	if (sa->sa_family == AF_INET)
		a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	if (!a || !inet_ntop(sa->sa_family, a, buf, (socklen_t)len))
		snprintf(buf, len, "%s", "");
	return buf;
}

json_t *vt_measure_ms(double ms)
{
	return json_real(round(ms * 1000.0) / 1000.0);
}

struct vt_loop *vt_measure_loop(const struct vt_measure_ctx *ctx)
{
	return ctx->loop;
}

void vt_measure_set_clock_confirmed(struct vt_measure_ctx *ctx, int64_t last)
{
	ctx->clock_confirmed = last < 0 ? -1 : last;
}

int vt_measure_running(const struct vt_measure_ctx *ctx)
{
	return ctx->nruns;
}

void vt_measure_run_add(struct vt_measure_ctx *ctx, struct vt_measure_run *run)
{
	run->prev = NULL;
	run->next = ctx->runs;
	if (ctx->runs)
		ctx->runs->prev = run;
	ctx->runs = run;
	ctx->nruns++;
}

void vt_measure_run_del(struct vt_measure_ctx *ctx, struct vt_measure_run *run)
{
	if (run->prev)
		run->prev->next = run->next;
	else if (ctx->runs == run)
		ctx->runs = run->next;
	else
		return;           /* not registered */
	if (run->next)
		run->next->prev = run->prev;
	run->next = run->prev = NULL;
	ctx->nruns--;
}

/* ---- address policy --------------------------------------------------- */

static int v4_refused(uint32_t a)
{
	return (a >> 24) == 0 ||                     /* 0/8 "this network" */
	       (a >> 24) == 127 ||                   /* loopback */
	       (a >> 24) == 10 ||                    /* RFC 1918 */
	       (a & 0xfff00000u) == 0xac100000u ||   /* 172.16/12 */
	       (a & 0xffff0000u) == 0xc0a80000u ||   /* 192.168/16 */
	       (a & 0xffff0000u) == 0xa9fe0000u ||   /* 169.254/16 link-local */
	       (a & 0xffc00000u) == 0x64400000u ||   /* 100.64/10 shared CGN */
	       (a >> 28) == 0xe ||                   /* multicast */
	       (a >> 28) == 0xf;                     /* reserved, broadcast */
}

int vt_measure_addr_allowed(const struct vt_measure_ctx *ctx,
			    const struct sockaddr *sa)
{
	if (ctx && ctx->allow_private)
		return 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)sa;

		return v4_refused(ntohl(s->sin_addr.s_addr)) ? VT_EAUTH : 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a =
			&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a)) {
			uint32_t v4;

			memcpy(&v4, &a->s6_addr[12], 4);
			return v4_refused(ntohl(v4)) ? VT_EAUTH : 0;
		}
		if (IN6_IS_ADDR_UNSPECIFIED(a) || IN6_IS_ADDR_LOOPBACK(a) ||
		    IN6_IS_ADDR_LINKLOCAL(a) || IN6_IS_ADDR_SITELOCAL(a) ||
		    IN6_IS_ADDR_MULTICAST(a) ||
		    (a->s6_addr[0] & 0xfe) == 0xfc)          /* ULA fc00::/7 */
			return VT_EAUTH;
		return 0;
	}
	return VT_EINVAL;
}

/* ---- ids and paris ---------------------------------------------------- */

uint16_t vt_raw_id_get(struct vt_measure_ctx *ctx)
{
	for (int i = 0; i < 65536; i++) {
		uint16_t id = ctx->next_id++;

		if (id == 0)
			continue;
		if (!(ctx->ids_used[id >> 3] & (1u << (id & 7)))) {
			ctx->ids_used[id >> 3] |= (uint8_t)(1u << (id & 7));
			return id;
		}
	}
	return (uint16_t)(ctx->next_id++ | 1);    /* all taken: share one */
}

void vt_raw_id_put(struct vt_measure_ctx *ctx, uint16_t id)
{
	ctx->ids_used[id >> 3] &= (uint8_t)~(1u << (id & 7));
}

int vt_raw_paris_next(struct vt_measure_ctx *ctx, long msm_id, int modulus)
{
	struct paris_slot *s = NULL;

	if (modulus <= 0)
		return 0;
	for (int i = 0; i < PARIS_MAX; i++)
		if (ctx->paris[i].msm_id == msm_id && ctx->paris[i].next > 0)
			s = &ctx->paris[i];
	if (!s) {
		s = &ctx->paris[ctx->paris_rr++ % PARIS_MAX];
		s->msm_id = msm_id;
		s->next = 1 + (int)(vt_raw_now_us() % modulus);
	}
	int id = (s->next - 1) % modulus + 1;

	s->next = id % modulus + 1;
	return id;
}

/* ---- raw sockets ------------------------------------------------------ */

static int raw_index(int af, int proto)
{
	if (proto == IPPROTO_TCP)
		return af == 4 ? 2 : 3;
	return af == 4 ? 0 : 1;
}

int vt_raw_fd(const struct vt_measure_ctx *ctx, int af, int proto)
{
	return ctx->raw[raw_index(af, proto)];
}

void vt_raw_listen(struct vt_measure_ctx *ctx, struct vt_raw_listener *l)
{
	l->prev = NULL;
	l->next = ctx->listeners;
	if (ctx->listeners)
		ctx->listeners->prev = l;
	ctx->listeners = l;
}

void vt_raw_unlisten(struct vt_measure_ctx *ctx, struct vt_raw_listener *l)
{
	if (l->prev)
		l->prev->next = l->next;
	else if (ctx->listeners == l)
		ctx->listeners = l->next;
	else
		return;
	if (l->next)
		l->next->prev = l->prev;
	l->next = l->prev = NULL;
}

int vt_raw_send(int fd, int af, int ttl, const void *buf, size_t len,
		const struct sockaddr *dst, socklen_t dstlen)
{
	{
		/* -1 restores the system default (the sockets are shared) */
		int r = af == 4 ?
			setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl) :
			setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl,
				   sizeof ttl);
		if (r < 0)
			return VT_EIO;
	}
	if (sendto(fd, buf, len, 0, dst, dstlen) < 0)
		return VT_EIO;
	return 0;
}

int vt_raw_src_for(const struct sockaddr *dst, socklen_t dstlen,
		   struct sockaddr_storage *src)
{
	struct sockaddr_storage d;
	socklen_t sl = sizeof *src;
	int fd, rc = VT_EIO;

	memcpy(&d, dst, dstlen);
	if (d.ss_family == AF_INET)
		((struct sockaddr_in *)&d)->sin_port = htons(9);
	else
		((struct sockaddr_in6 *)&d)->sin6_port = htons(9);
	fd = socket(d.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return VT_EIO;
	if (connect(fd, (struct sockaddr *)&d, dstlen) == 0 &&
	    getsockname(fd, (struct sockaddr *)src, &sl) == 0)
		rc = 0;
	close(fd);
	return rc;
}

static void dispatch(struct vt_measure_ctx *ctx, const struct vt_raw_pkt *p)
{
	struct vt_raw_listener *l, *next;

	for (l = ctx->listeners; l; l = next) {
		next = l->next;     /* a listener may unregister itself */
		if (l->on_pkt(l->arg, p))
			return;
	}
}

/* Reads one packet from a raw socket into pkt; 1 with a packet. */
static int raw_read(int fd, int af, int proto, uint8_t *buf, size_t cap,
		    struct vt_raw_pkt *p)
{
	union {
		char buf[CMSG_SPACE(sizeof(int)) * 2];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { buf, cap };
	struct msghdr mh = {
		.msg_name = &p->from, .msg_namelen = sizeof p->from,
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf.buf, .msg_controllen = sizeof cbuf.buf,
	};
	ssize_t n;

	memset(p, 0, sizeof *p);
	mh.msg_name = &p->from;
	n = recvmsg(fd, &mh, MSG_DONTWAIT);
	if (n <= 0)
		return 0;
	p->rx_us = vt_raw_now_us();
	p->af = af;
	p->proto = proto;
	p->ttl = -1;
	p->tos = -1;
	if (af == 4) {
		size_t hl;

		if (n < 20)
			return 0;
		hl = (size_t)(buf[0] & 0x0f) * 4;
		if (hl < 20 || (size_t)n < hl)
			return 0;
		p->ttl = buf[8];
		p->tos = buf[1];
		p->ip_len = (size_t)n;
		p->data = buf + hl;
		p->len = (size_t)n - hl;
	} else {
		struct cmsghdr *c;

		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			int v;

			if (c->cmsg_level != IPPROTO_IPV6)
				continue;
			memcpy(&v, CMSG_DATA(c), sizeof v);
			if (c->cmsg_type == IPV6_HOPLIMIT)
				p->ttl = v;
			else if (c->cmsg_type == IPV6_TCLASS)
				p->tos = v;
		}
		p->ip_len = (size_t)n;
		p->data = buf;
		p->len = (size_t)n;
	}
	return 1;
}

int vt_raw_read_dgram(int fd, int af, uint8_t *buf, size_t cap,
		      struct vt_raw_pkt *p)
{
	union {
		char buf[CMSG_SPACE(sizeof(int)) * 2];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { buf, cap };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf.buf, .msg_controllen = sizeof cbuf.buf,
	};
	struct cmsghdr *c;
	ssize_t n;

	memset(p, 0, sizeof *p);
	mh.msg_name = &p->from;
	mh.msg_namelen = sizeof p->from;
	n = recvmsg(fd, &mh, MSG_DONTWAIT);
	if (n <= 0)
		return 0;
	p->rx_us = vt_raw_now_us();
	p->af = af;
	p->proto = af == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	p->ttl = -1;
	p->tos = -1;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		int v = 0;

		if (c->cmsg_len >= CMSG_LEN(sizeof(int)))
			memcpy(&v, CMSG_DATA(c), sizeof v);
		else if (c->cmsg_len >= CMSG_LEN(1))
			v = *(const uint8_t *)CMSG_DATA(c);
		if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) ||
		    (c->cmsg_level == IPPROTO_IPV6 &&
		     c->cmsg_type == IPV6_HOPLIMIT))
			p->ttl = v;
	}
	p->data = buf;
	p->len = (size_t)n;
	p->ip_len = (size_t)n + (af == 4 ? 20 : 0);
	return 1;
}

static void on_raw(struct vt_loop *loop, int fd, int events, void *arg)
{
	struct vt_measure_ctx *ctx = arg;
	struct vt_raw_pkt p;
	int af = 4, proto = IPPROTO_ICMP;

	for (int i = 0; i < 4; i++)
		if (ctx->raw[i] == fd) {
			af = (i & 1) ? 6 : 4;
			proto = i >= 2 ? IPPROTO_TCP :
				af == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
		}
	for (int k = 0; k < 64; k++) {
		if (!raw_read(fd, af, proto, ctx->rxbuf, sizeof ctx->rxbuf, &p))
			break;
		dispatch(ctx, &p);
	}
}

static int open_raw(struct vt_measure_ctx *ctx)
{
	static const int fams[4] = { AF_INET, AF_INET6, AF_INET, AF_INET6 };
	static const int protos[4] = { IPPROTO_ICMP, IPPROTO_ICMPV6,
				       IPPROTO_TCP, IPPROTO_TCP };

	for (int i = 0; i < 4; i++) {
		int fd = socket(fams[i], SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
				protos[i]);
		int on = 1, off = 16;

		if (fd < 0)
			continue;
		if (fams[i] == AF_INET6) {
			(void)setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT,
					 &on, sizeof on);
			(void)setsockopt(fd, IPPROTO_IPV6, IPV6_RECVTCLASS,
					 &on, sizeof on);
			if (protos[i] == IPPROTO_TCP)
				(void)setsockopt(fd, IPPROTO_IPV6,
						 IPV6_CHECKSUM, &off,
						 sizeof off);
		}
		if (fams[i] == AF_INET6 && protos[i] == IPPROTO_ICMPV6) {
			struct icmp6_filter f;

			ICMP6_FILTER_SETBLOCKALL(&f);
			ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f);
			ICMP6_FILTER_SETPASS(ICMP6_DST_UNREACH, &f);
			ICMP6_FILTER_SETPASS(ICMP6_PACKET_TOO_BIG, &f);
			ICMP6_FILTER_SETPASS(ICMP6_TIME_EXCEEDED, &f);
			ICMP6_FILTER_SETPASS(ICMP6_PARAM_PROB, &f);
			(void)setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f,
					 sizeof f);
		}
		{
			int rcv = 1 << 20;

			(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv,
					 sizeof rcv);
		}
		if (vt_loop_add(ctx->loop, fd, VT_EV_READ, on_raw, ctx) < 0) {
			close(fd);
			return VT_ENOMEM;
		}
		ctx->raw[i] = fd;
	}
	return 0;
}

/* ---- c-ares ----------------------------------------------------------- */

static void ares_arm_timer(struct vt_measure_ctx *ctx);

static void on_ares_fd(struct vt_loop *loop, int fd, int events, void *arg)
{
	struct vt_measure_ctx *ctx = arg;

	ares_process_fd(ctx->ares,
			(events & (VT_EV_READ | VT_EV_ERROR)) ? fd : ARES_SOCKET_BAD,
			(events & VT_EV_WRITE) ? fd : ARES_SOCKET_BAD);
	ares_arm_timer(ctx);
}

static void on_ares_timer(struct vt_loop *loop, void *arg)
{
	struct vt_measure_ctx *ctx = arg;

	ctx->ares_timer = 0;
	ares_process_fd(ctx->ares, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	ares_arm_timer(ctx);
}

static void ares_arm_timer(struct vt_measure_ctx *ctx)
{
	struct timeval tv, *t;

	if (ctx->ares_timer)
		vt_loop_timer_cancel(ctx->loop, ctx->ares_timer);
	ctx->ares_timer = 0;
	t = ares_timeout(ctx->ares, NULL, &tv);
	if (!t)
		return;
	if (vt_loop_timer(ctx->loop, t->tv_sec * 1000 + t->tv_usec / 1000 + 1,
			  on_ares_timer, ctx, &ctx->ares_timer) < 0)
		ctx->ares_timer = 0;
}

static void on_ares_sock_state(void *data, ares_socket_t fd, int readable,
			       int writable)
{
	struct vt_measure_ctx *ctx = data;
	int ev = (readable ? VT_EV_READ : 0) | (writable ? VT_EV_WRITE : 0);

	if (!ev) {
		vt_loop_del(ctx->loop, fd);
		return;
	}
	if (vt_loop_mod(ctx->loop, fd, ev) < 0 &&
	    vt_loop_add(ctx->loop, fd, ev, on_ares_fd, ctx) < 0)
		return;   /* c-ares then times the query out */
}

static void resolve_unlink(struct vt_measure_resolve *r)
{
	struct vt_measure_ctx *ctx = r->ctx;

	if (r->prev)
		r->prev->next = r->next;
	else if (ctx->resolves == r)
		ctx->resolves = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->next = r->prev = NULL;
}

static void resolve_finish(struct vt_measure_resolve *r, int status)
{
	resolve_unlink(r);
	if (!r->cancelled)
		r->cb(r->arg, status, &r->addr);
	free(r);
}

static void on_addrinfo(void *arg, int status, int timeouts,
			struct ares_addrinfo *res)
{
	struct vt_measure_resolve *r = arg;
	struct ares_addrinfo_node *n;
	int want = r->af == 4 ? AF_INET : AF_INET6;
	int rc = VT_ENOTFOUND;

	(void)timeouts;
	r->addr.ttr_ms = (double)(vt_raw_now_us() - r->t0_us) / 1000.0;
	if (status == ARES_SUCCESS && res) {
		for (n = res->nodes; n; n = n->ai_next) {
			if (n->ai_family != want ||
			    n->ai_addrlen > sizeof r->addr.sa)
				continue;
			memcpy(&r->addr.sa, n->ai_addr, n->ai_addrlen);
			r->addr.salen = n->ai_addrlen;
			rc = 0;
			break;
		}
		if (rc)
			r->addr.errmsg = "name resolution failed: no address of that family";
	} else if (status == ARES_ETIMEOUT) {
		rc = VT_ETIMEOUT;
		r->addr.errmsg = "name resolution failed: timeout";
	} else if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) {
		rc = VT_ECLOSED;
		r->addr.errmsg = "name resolution failed: cancelled";
	} else {
		r->addr.errmsg = "name resolution failed: non-recoverable failure in name resolution";
		if (status == ARES_ENOTFOUND || status == ARES_ENODATA)
			r->addr.errmsg = "name resolution failed: Name or service not known";
	}
	if (res)
		ares_freeaddrinfo(res);
	resolve_finish(r, rc);
}

static void on_literal(struct vt_loop *loop, void *arg)
{
	struct vt_measure_resolve *r = arg;

	r->timer = 0;
	resolve_finish(r, r->addr.errmsg ? VT_EINVAL : 0);
}

int vt_measure_resolve(struct vt_measure_ctx *ctx, const char *name, int af,
		       vt_measure_resolve_cb cb, void *arg,
		       struct vt_measure_resolve **req)
{
	struct vt_measure_resolve *r = calloc(1, sizeof *r);
	struct sockaddr_in *s4;
	struct sockaddr_in6 *s6;
	struct in_addr a4;
	struct in6_addr a6;

	if (!r)
		return VT_ENOMEM;
	r->ctx = ctx;
	r->cb = cb;
	r->arg = arg;
	r->af = af;
	r->t0_us = vt_raw_now_us();
	if (inet_pton(AF_INET, name, &a4) == 1 ||
	    inet_pton(AF_INET6, name, &a6) == 1) {
		r->addr.is_literal = 1;
		if (af == 4 && inet_pton(AF_INET, name, &a4) == 1) {
			s4 = (struct sockaddr_in *)&r->addr.sa;
			s4->sin_family = AF_INET;
			s4->sin_addr = a4;
			r->addr.salen = sizeof *s4;
		} else if (af == 6 && inet_pton(AF_INET6, name, &a6) == 1) {
			s6 = (struct sockaddr_in6 *)&r->addr.sa;
			s6->sin6_family = AF_INET6;
			s6->sin6_addr = a6;
			r->addr.salen = sizeof *s6;
		} else {
			r->addr.errmsg = "address family mismatch";
		}
		if (vt_loop_timer(ctx->loop, 0, on_literal, r, &r->timer) < 0) {
			free(r);
			return VT_ENOMEM;
		}
	} else {
		struct ares_addrinfo_hints hints = {
			.ai_family = af == 4 ? AF_INET : AF_INET6,
			.ai_socktype = SOCK_DGRAM,
		};

		if (!ctx->ares_ok) {
			free(r);
			return VT_EUNSUPP;
		}
		r->next = ctx->resolves;
		if (ctx->resolves)
			ctx->resolves->prev = r;
		ctx->resolves = r;
		*req = r;
		ares_getaddrinfo(ctx->ares, name, NULL, &hints, on_addrinfo, r);
		ares_arm_timer(ctx);
		return 0;
	}
	r->next = ctx->resolves;
	if (ctx->resolves)
		ctx->resolves->prev = r;
	ctx->resolves = r;
	*req = r;
	return 0;
}

void vt_measure_resolve_cancel(struct vt_measure_resolve *req)
{
	if (!req)
		return;
	req->cancelled = 1;
	if (req->timer) {
		vt_loop_timer_cancel(req->ctx->loop, req->timer);
		resolve_unlink(req);
		free(req);
	}
	/* a c-ares request is freed by its callback */
}

/* ---- context ---------------------------------------------------------- */

int vt_measure_ctx_new(struct vt_loop *loop, const struct vt_measure_opts *opts,
		       struct vt_measure_ctx **out)
{
	static const struct vt_measure_opts defaults;
	struct vt_measure_ctx *ctx = NULL;
	struct ares_options ao;
	int rc = VT_ENOMEM;

	if (!opts)
		opts = &defaults;
	ctx = calloc(1, sizeof *ctx);
	if (!ctx)
		goto out;
	for (int i = 0; i < 4; i++)
		ctx->raw[i] = -1;
	ctx->loop = loop;
	ctx->allow_private = opts->allow_private;
	ctx->fw = opts->fw > 0 ? opts->fw : VT_MEASURE_FW;
	ctx->mver = strdup(opts->mver ? opts->mver : VT_MEASURE_MVER);
	ctx->clock_confirmed = -1;
	ctx->next_id = (uint16_t)(getpid() * 7919 + vt_raw_now_us());
	if (!ctx->mver)
		goto out;
	if (!opts->no_raw && (rc = open_raw(ctx)) < 0)
		goto out;
	if (ares_library_init(ARES_LIB_INIT_ALL) == ARES_SUCCESS) {
		memset(&ao, 0, sizeof ao);
		ao.sock_state_cb = on_ares_sock_state;
		ao.sock_state_cb_data = ctx;
		ao.timeout = 2000;
		ao.tries = 2;
		if (ares_init_options(&ctx->ares, &ao, ARES_OPT_SOCK_STATE_CB |
				      ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES) ==
		    ARES_SUCCESS) {
			ctx->ares_ok = 1;
			if (opts->dns_servers &&
			    ares_set_servers_ports_csv(ctx->ares,
						       opts->dns_servers) !=
			    ARES_SUCCESS) {
				rc = VT_EINVAL;
				goto out;
			}
		}
	}
	*out = ctx;
	ctx = NULL;
	rc = 0;
out:
	vt_measure_ctx_free(ctx);
	return rc;
}

void vt_measure_ctx_free(struct vt_measure_ctx *ctx)
{
	if (!ctx)
		return;
	while (ctx->runs) {
		struct vt_measure_run *r = ctx->runs;

		vt_measure_run_del(ctx, r);
		r->abort(r);
	}
	while (ctx->resolves) {
		struct vt_measure_resolve *r = ctx->resolves;

		r->cancelled = 1;
		if (r->timer) {
			vt_measure_resolve_cancel(r);
		} else {
			resolve_unlink(r);  /* freed by ares_destroy below */
			r->next = r->prev = NULL;
		}
	}
	if (ctx->ares_ok) {
		ares_destroy(ctx->ares);
		ares_library_cleanup();
	}
	if (ctx->ares_timer)
		vt_loop_timer_cancel(ctx->loop, ctx->ares_timer);
	for (int i = 0; i < 4; i++)
		if (ctx->raw[i] >= 0) {
			vt_loop_del(ctx->loop, ctx->raw[i]);
			close(ctx->raw[i]);
		}
	free(ctx->mver);
	free(ctx);
}

/* ---- results ---------------------------------------------------------- */

json_t *vt_measure_result_new(const struct vt_measure_ctx *ctx, long msm_id,
			      int64_t start_s)
{
	json_t *o = json_object();
	char id[24];
	int64_t lts = -1;

	if (!o)
		return NULL;
	if (ctx->clock_confirmed >= 0) {
		lts = vt_now_ms() / 1000 - ctx->clock_confirmed;
		if (lts < 0)
			lts = 0;
	}
	snprintf(id, sizeof id, "%ld", msm_id);
	if ((msm_id >= 0 && json_object_set_new(o, "id", json_string(id))) ||
	    json_object_set_new(o, "fw", json_integer(ctx->fw)) ||
	    json_object_set_new(o, "mver", json_string(ctx->mver)) ||
	    json_object_set_new(o, "lts", json_integer(lts)) ||
	    json_object_set_new(o, "time", json_integer(start_s))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

void vt_measure_emit(json_t *obj, long msm_id, vt_measure_done_cb cb, void *arg)
{
	char *s = obj ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER |
				   JSON_REAL_PRECISION(10)) : NULL;

	if (s) {
		cb(arg, msm_id, s);
		free(s);
	} else {
		char fb[96];

		snprintf(fb, sizeof fb, "{\"id\":\"%ld\",\"error\":\"out of memory\"}",
			 msm_id);
		cb(arg, msm_id, fb);
	}
	json_decref(obj);
}

int vt_measure_start(struct vt_measure_ctx *ctx, const char *cmdline,
		     vt_measure_done_cb cb, void *arg)
{
	size_t n = strspn(cmdline, " \t");
	const char *p = cmdline + n;
	size_t l = strcspn(p, " \t");

	if (l == 6 && !strncmp(p, "evping", 6))
		return vt_ping_start(ctx, cmdline, cb, arg);
	if (l == 12 && !strncmp(p, "evtraceroute", 12))
		return vt_traceroute_start(ctx, cmdline, cb, arg);
	if (l == 6 && !strncmp(p, "evtdig", 6))
		return vt_tdig_start(ctx, cmdline, cb, arg);
	return VT_EUNSUPP;
}
