/* icmp.h - decoding of ICMP / ICMPv6 replies for traceroute and ping.
 *
 * Pure functions over bytes received from the network: no I/O, no
 * allocation (vt_icmp_ext_json allocates the JSON it returns). */
#ifndef VT_PROBE_ICMP_H
#define VT_PROBE_ICMP_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <jansson.h>

#include "common/err.h"

#define VT_ICMP_MAX_MPLS 16

struct vt_icmp_mpls {
	uint32_t label;
	uint8_t  exp, s, ttl;
};

/* One ICMP message as traceroute needs it.  For errors (time exceeded,
 * unreachable, packet too big) the quoted packet is decoded. */
struct vt_icmp_info {
	int      type, code;
	int      is_error;        /* time exceeded / unreachable / too big */
	int      is_echo_reply;
	uint16_t echo_id, echo_seq;   /* echo reply, or quoted echo request */
	uint32_t mtu;             /* v4 frag needed / v6 packet too big */
	/* quoted packet (is_error) */
	int      in_proto;        /* IPPROTO_ICMP(V6) / UDP / TCP, -1 none */
	int      in_ttl;          /* quoted TTL / hop limit (-1: not quoted) */
	int      in_tos;
	union {
		struct in_addr  v4;
		struct in6_addr v6;
	} in_dst;
	uint16_t in_sport, in_dport;  /* UDP / TCP */
	uint32_t in_tcp_seq;          /* TCP */
	const uint8_t *in_payload;    /* after the quoted transport header */
	size_t   in_payload_len;
	/* RFC 4884 extension (is_error) */
	int      has_ext;
	int      ext_rfc4884;     /* 1: the length field was set */
	int      ext_version;
	int      nmpls;
	struct vt_icmp_mpls mpls[VT_ICMP_MAX_MPLS];
	int      ext_nobj;        /* objects seen (MPLS or not) */
};

/* Decodes an ICMP (af 4) or ICMPv6 (af 6) message starting at its type
 * byte.  Returns 0, or VT_EPARSE when too short to be an ICMP message.
 * Fields of an inner packet that is cut short stay at their defaults
 * (in_proto -1 when even the IP header is missing). */
int vt_icmp_parse(int af, const uint8_t *p, size_t len,
		  struct vt_icmp_info *out) VT_WUR;

/* The "icmpext" object of a result: {"version", "rfc4884", "obj": [{"class",
 * "type", "mpls": [{"label", "exp", "s", "ttl"}]}]}, or NULL when there is
 * no extension.  New reference. */
json_t *vt_icmp_ext_json(const struct vt_icmp_info *i);

/* The "err" letter of an unreachable code ("N", "H", "A", "P", "p"), or
 * NULL when the message is no unreachable.  Codes without a letter give
 * their number in buf. */
const char *vt_icmp_err_text(int af, const struct vt_icmp_info *i, char *buf,
			     size_t len);

#endif
