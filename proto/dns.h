/* dns.h - DNS wire format for evtdig: build a query, walk a reply.
 *
 * Pure functions over bytes (RFC 1035, RFC 6891 for EDNS0, RFC 5001 for
 * NSID): no I/O, no allocation except in the caller's vt_buf.  Every read
 * of a reply goes through a bounds-checked cursor; compressed names follow
 * at most VT_DNS_MAX_PTRS pointers, each pointing strictly backwards, so
 * a hostile reply can neither loop nor read outside the message. */
#ifndef VT_PROTO_DNS_H
#define VT_PROTO_DNS_H

#include <stddef.h>
#include <stdint.h>
#include "common/buf.h"

#define VT_DNS_HDR_LEN     12
#define VT_DNS_MAX_PTRS    64
#define VT_DNS_WIRE_NAME   255      /* wire bytes of a name */
/* Presentation form of a name: every byte may become \DDD. */
#define VT_DNS_TEXT_NAME   (VT_DNS_WIRE_NAME * 4 + 2)

enum {
	VT_DNS_T_A = 1, VT_DNS_T_NS = 2, VT_DNS_T_CNAME = 5, VT_DNS_T_SOA = 6,
	VT_DNS_T_PTR = 12, VT_DNS_T_MX = 15, VT_DNS_T_TXT = 16,
	VT_DNS_T_AAAA = 28, VT_DNS_T_OPT = 41
};
enum { VT_DNS_C_IN = 1, VT_DNS_C_CH = 3 };

struct vt_dns_query {
	const char *qname;      /* presentation form; trailing dot optional */
	uint16_t    qtype;
	uint16_t    qclass;
	uint16_t    id;
	int         rd;         /* recursion desired */
	int         cd;         /* checking disabled */
	uint16_t    edns0;      /* OPT UDP size; 0 = no OPT record ... */
	int         dnssec_ok;  /* ... unless DO or NSID is asked (then 512) */
	int         nsid;       /* empty NSID option in the OPT record */
};

/* Appends the query message (no TCP length prefix) to out.  VT_EINVAL for
 * a name that does not fit the wire (empty label, label over 63 bytes,
 * name over 255 bytes; \DDD and \X escapes are understood), VT_ETOOBIG
 * over the buffer's cap. */
int vt_dns_build_query(const struct vt_dns_query *q, struct vt_buf *out) VT_WUR;

/* Converts a presentation name to wire form into out (at least 255 bytes);
 * *outlen gets its length.  VT_EINVAL when it does not fit. */
int vt_dns_name_to_wire(const char *name, uint8_t *out, size_t *outlen) VT_WUR;

struct vt_dns_header {
	uint16_t id;
	uint16_t flags;          /* QR, opcode, AA, TC, RD, RA, Z, AD, CD, rcode */
	uint16_t qdcount, ancount, nscount, arcount;
};
#define VT_DNS_FLAG_QR 0x8000
#define VT_DNS_FLAG_TC 0x0200
#define VT_DNS_RCODE(f) ((f) & 0x000f)

/* Reads the 12-byte header.  VT_EPARSE when len < 12. */
int vt_dns_parse_header(const void *msg, size_t len, struct vt_dns_header *h) VT_WUR;

/* Reads the (possibly compressed) name at *off of msg[0..len) in
 * presentation form into out (at least VT_DNS_TEXT_NAME bytes): labels
 * joined by '.', a trailing '.', "." for the root, bytes other than
 * letters, digits, '-' and '_' written as \. or \DDD.  *off moves past
 * the name where it appears (not past pointer targets).  VT_EPARSE on a
 * truncated name, a forward or looping pointer, a name over 255 bytes or
 * a reserved label type. */
int vt_dns_read_name(const uint8_t *msg, size_t len, size_t *off,
		     char *out, size_t outlen) VT_WUR;

enum vt_dns_section { VT_DNS_SEC_AN = 1, VT_DNS_SEC_NS, VT_DNS_SEC_AR };

/* One resource record; rdata points into the message. */
struct vt_dns_rr {
	enum vt_dns_section section;
	char           name[VT_DNS_TEXT_NAME];
	uint16_t       type;
	uint16_t       klass;
	uint32_t       ttl;
	uint16_t       rdlength;
	size_t         rdoff;         /* offset of rdata in the message */
	const uint8_t *rdata;
};

/* A reader of a reply: the header, then the records in order. */
struct vt_dns_reader {
	const uint8_t       *msg;
	size_t               len;
	struct vt_dns_header h;
	size_t               off;      /* next record */
	unsigned             done;     /* records read so far */
	int                  err;      /* first error, sticky */
};

/* Reads the header and skips the question section.  VT_EPARSE when the
 * message is short or a question is malformed.  msg is borrowed. */
int vt_dns_reader_init(struct vt_dns_reader *r, const void *msg, size_t len) VT_WUR;
/* Reads the next record of the answer, authority and additional sections
 * into rr.  Returns 1 with a record, 0 after the last one, VT_EPARSE on a
 * malformed record (then always VT_EPARSE). */
int vt_dns_reader_next(struct vt_dns_reader *r, struct vt_dns_rr *rr) VT_WUR;

/* Iterates the character-strings of TXT rdata: *pos starts at 0.  Returns
 * 1 with the next string in *s, *n (not NUL-terminated), 0 at the end,
 * VT_EPARSE when a string runs past the rdata. */
int vt_dns_txt_next(const struct vt_dns_rr *rr, size_t *pos,
		    const uint8_t **s, size_t *n) VT_WUR;

struct vt_dns_soa {
	char     mname[VT_DNS_TEXT_NAME];
	char     rname[VT_DNS_TEXT_NAME];
	uint32_t serial, refresh, retry, expire, minimum;
};
/* Decodes SOA rdata (names may be compressed against msg).  VT_EPARSE
 * when the rdata is malformed or its names run past rdlength. */
int vt_dns_soa_parse(const uint8_t *msg, size_t len, const struct vt_dns_rr *rr,
		     struct vt_dns_soa *soa) VT_WUR;

/* Text of a record type ("TXT", "SOA", ...; "TYPE65280" style otherwise)
 * into buf of at least 16 bytes. */
const char *vt_dns_type_name(uint16_t type, char *buf, size_t len);

#endif
