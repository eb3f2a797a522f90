/* rawnet.h - the engine's shared raw sockets, for ping.c and traceroute.c.
 *
 * The context opens one raw ICMP, ICMPv6 and TCP socket per family at
 * start.  Every packet read from them is offered to the registered
 * listeners in turn until one claims it (matching by ICMP id and
 * sequence, or by TCP ports).  Checksums and header layouts live in
 * icmp.c as pure functions. */
#ifndef VT_PROBE_RAWNET_H
#define VT_PROBE_RAWNET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "probe/measure/measure.h"

/* One received packet. */
struct vt_raw_pkt {
	int             af;       /* 4 or 6 */
	int             proto;    /* IPPROTO_ICMP, IPPROTO_ICMPV6 or IPPROTO_TCP */
	const uint8_t  *data;     /* the ICMP / TCP header and what follows */
	size_t          len;
	size_t          ip_len;   /* whole packet size as the results report it:
				   * v4 the IP total length, v6 the ICMPv6 / TCP
				   * message length */
	struct sockaddr_storage from;
	int             ttl;      /* IP TTL / hop limit of the reply, -1 unknown */
	int             tos;      /* IP TOS / traffic class, -1 unknown */
	int64_t         rx_us;    /* monotonic receive time */
};

struct vt_raw_listener {
	/* Returns 1 when the packet was for this listener. */
	int (*on_pkt)(void *arg, const struct vt_raw_pkt *pkt);
	void *arg;
	struct vt_raw_listener *next, *prev;   /* engine-owned */
};

void vt_raw_listen(struct vt_measure_ctx *ctx, struct vt_raw_listener *l);
void vt_raw_unlisten(struct vt_measure_ctx *ctx, struct vt_raw_listener *l);

/* The shared raw socket for (af, proto), or -1 when none could be opened. */
int vt_raw_fd(const struct vt_measure_ctx *ctx, int af, int proto);
/* A 16-bit identifier not used by another running measurement (ICMP echo
 * id, paris flow id).  Released with vt_raw_id_put. */
uint16_t vt_raw_id_get(struct vt_measure_ctx *ctx);
void vt_raw_id_put(struct vt_measure_ctx *ctx, uint16_t id);
/* Sends buf to dst on fd with the given TTL / hop limit (-1: the system
 * default; always set, as the sockets are shared). Returns 0 or
 * VT_EIO (errno kept). */
int vt_raw_send(int fd, int af, int ttl, const void *buf, size_t len,
		const struct sockaddr *dst, socklen_t dstlen) VT_WUR;
/* Reads one packet from an unprivileged ICMP datagram socket (no raw
 * socket available) and fills pkt.  Returns 1 with a packet, 0 when none. */
int vt_raw_read_dgram(int fd, int af, uint8_t *buf, size_t cap,
		      struct vt_raw_pkt *pkt);
/* Source address the kernel would use towards dst (a UDP connect). */
int vt_raw_src_for(const struct sockaddr *dst, socklen_t dstlen,
		   struct sockaddr_storage *src) VT_WUR;
/* Next paris id (1..modulus) for a measurement, cycling per msm id. */
int vt_raw_paris_next(struct vt_measure_ctx *ctx, long msm_id, int modulus);

/* Monotonic microseconds. */
int64_t vt_raw_now_us(void);

/* Internet checksum over buf (one's complement of the one's complement
 * sum), starting from a partial sum. */
uint32_t vt_csum_add(uint32_t sum, const void *buf, size_t len);
uint16_t vt_csum_fold(uint32_t sum);

#endif
