/* dns.c - DNS wire format for evtdig: build a query, walk a reply. */
#include "proto/dns.h"

#include <stdio.h>
#include <string.h>

int vt_dns_name_to_wire(const char *name, uint8_t *out, size_t *outlen)
{
	size_t w = 0, lab = 0;      /* lab: offset of the current length byte */
	const char *p = name;

	if (!name || !out || !outlen)
		return VT_EINVAL;
	if (strcmp(name, ".") == 0 || *name == '\0') {
		out[0] = 0;
		*outlen = 1;
		return VT_OK;
	}
	out[w++] = 0;                 /* length of the first label */
	while (*p) {
		unsigned ch = (unsigned char)*p++;

		if (ch == '.') {
			size_t n = w - lab - 1;

			if (n == 0)
				return VT_EINVAL;
			out[lab] = (uint8_t)n;
			if (*p == '\0')
				break;        /* trailing dot */
			if (w >= VT_DNS_WIRE_NAME)
				return VT_EINVAL;
			lab = w;
			out[w++] = 0;
			continue;
		}
		if (ch == '\\') {
			if (p[0] >= '0' && p[0] <= '9' && p[1] >= '0' &&
			    p[1] <= '9' && p[2] >= '0' && p[2] <= '9') {
				ch = (unsigned)(p[0] - '0') * 100 +
				     (unsigned)(p[1] - '0') * 10 + (unsigned)(p[2] - '0');
				if (ch > 255)
					return VT_EINVAL;
				p += 3;
			} else if (*p) {
				ch = (unsigned char)*p++;
			} else {
				return VT_EINVAL;
			}
		}
		if (w - lab - 1 >= 63 || w >= VT_DNS_WIRE_NAME - 1)
			return VT_EINVAL;
		out[w++] = (uint8_t)ch;
	}
	if (out[lab] == 0) {          /* no trailing dot: close the last label */
		size_t n = w - lab - 1;

		if (n == 0)
			return VT_EINVAL;
		out[lab] = (uint8_t)n;
	}
	if (w >= VT_DNS_WIRE_NAME)
		return VT_EINVAL;
	out[w++] = 0;                 /* root */
	*outlen = w;
	return VT_OK;
}

static int put16(struct vt_buf *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	return vt_buf_add(b, x, 2);
}

int vt_dns_build_query(const struct vt_dns_query *q, struct vt_buf *out)
{
	uint8_t name[VT_DNS_WIRE_NAME + 1];
	size_t nlen, start = out->len;
	int edns = q->edns0 || q->dnssec_ok || q->nsid;
	uint16_t flags = 0;
	int rc;

	rc = vt_dns_name_to_wire(q->qname, name, &nlen);
	if (rc < 0)
		return rc;
	if (q->rd)
		flags |= 0x0100;
	if (q->cd)
		flags |= 0x0010;
	rc = put16(out, q->id);
	if (rc == 0) rc = put16(out, flags);
	if (rc == 0) rc = put16(out, 1);                  /* QDCOUNT */
	if (rc == 0) rc = put16(out, 0);                  /* ANCOUNT */
	if (rc == 0) rc = put16(out, 0);                  /* NSCOUNT */
	if (rc == 0) rc = put16(out, edns ? 1 : 0);       /* ARCOUNT */
	if (rc == 0) rc = vt_buf_add(out, name, nlen);
	if (rc == 0) rc = put16(out, q->qtype);
	if (rc == 0) rc = put16(out, q->qclass);
	if (rc == 0 && edns) {
		uint16_t size = q->edns0 ? q->edns0 : 512;

		if (size < 512)
			size = 512;
		rc = vt_buf_addc(out, 0);                 /* root owner */
		if (rc == 0) rc = put16(out, VT_DNS_T_OPT);
		if (rc == 0) rc = put16(out, size);       /* UDP payload size */
		if (rc == 0) rc = put16(out, 0);          /* ext rcode, version */
		if (rc == 0) rc = put16(out, q->dnssec_ok ? 0x8000 : 0);
		if (rc == 0) rc = put16(out, q->nsid ? 4 : 0);  /* RDLENGTH */
		if (rc == 0 && q->nsid) {
			rc = put16(out, 3);               /* NSID option code */
			if (rc == 0)
				rc = put16(out, 0);
		}
	}
	if (rc < 0) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
	}
	return rc;
}

int vt_dns_parse_header(const void *msg, size_t len, struct vt_dns_header *h)
{
	struct vt_cur c;

	vt_cur_init(&c, msg, len);
	h->id = vt_cur_u16(&c);
	h->flags = vt_cur_u16(&c);
	h->qdcount = vt_cur_u16(&c);
	h->ancount = vt_cur_u16(&c);
	h->nscount = vt_cur_u16(&c);
	h->arcount = vt_cur_u16(&c);
	return c.err ? VT_EPARSE : VT_OK;
}

static int plain_char(unsigned ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
	       ch == '*' || ch == '/';
}

int vt_dns_read_name(const uint8_t *msg, size_t len, size_t *off,
		     char *out, size_t outlen)
{
	struct vt_cur c;
	size_t w = 0, wire = 0, end = 0, min_ptr;
	int jumped = 0, ptrs = 0;

	if (outlen < VT_DNS_TEXT_NAME)
		return VT_EINVAL;
	vt_cur_init(&c, msg, len);
	vt_cur_seek(&c, *off);
	if (c.err)
		return VT_EPARSE;
	min_ptr = *off;
	for (;;) {
		size_t here = c.off;
		uint8_t l = vt_cur_u8(&c);
		const uint8_t *lab;

		if (c.err)
			return VT_EPARSE;
		if ((l & 0xc0) == 0xc0) {
			size_t target = ((size_t)(l & 0x3f) << 8) | vt_cur_u8(&c);

			if (c.err)
				return VT_EPARSE;
			/* strictly backwards from every earlier position:
			 * no loops, at most VT_DNS_MAX_PTRS hops */
			if (target >= here || target >= min_ptr ||
			    ++ptrs > VT_DNS_MAX_PTRS)
				return VT_EPARSE;
			if (!jumped)
				end = c.off;
			jumped = 1;
			min_ptr = target;
			vt_cur_seek(&c, target);
			continue;
		}
		if (l & 0xc0)
			return VT_EPARSE;     /* 0x40/0x80 label types */
		wire += (size_t)l + 1;
		if (wire > VT_DNS_WIRE_NAME)
			return VT_EPARSE;
		if (l == 0)
			break;
		if (vt_cur_bytes(&c, l, &lab) < 0)
			return VT_EPARSE;
		for (size_t i = 0; i < l; i++) {
			unsigned ch = lab[i];

			if (plain_char(ch)) {
				out[w++] = (char)ch;
			} else if (ch > 0x20 && ch < 0x7f) {
				out[w++] = '\\';
				out[w++] = (char)ch;
			} else {
				w += (size_t)snprintf(out + w, outlen - w, "\\%03u", ch);
			}
		}
		out[w++] = '.';
	}
	if (w == 0)
		out[w++] = '.';
	out[w] = '\0';
	*off = jumped ? end : c.off;
	return VT_OK;
}

int vt_dns_reader_init(struct vt_dns_reader *r, const void *msg, size_t len)
{
	char name[VT_DNS_TEXT_NAME];
	int rc;

	memset(r, 0, sizeof(*r));
	r->msg = msg;
	r->len = len;
	rc = vt_dns_parse_header(msg, len, &r->h);
	if (rc < 0)
		goto out;
	r->off = VT_DNS_HDR_LEN;
	for (unsigned i = 0; i < r->h.qdcount; i++) {
		rc = vt_dns_read_name(r->msg, len, &r->off, name, sizeof(name));
		if (rc < 0)
			goto out;
		if (r->off > len || len - r->off < 4) {
			rc = VT_EPARSE;
			goto out;
		}
		r->off += 4;
	}
out:
	r->err = rc;
	return rc;
}

int vt_dns_reader_next(struct vt_dns_reader *r, struct vt_dns_rr *rr)
{
	unsigned total = (unsigned)r->h.ancount + r->h.nscount + r->h.arcount;
	struct vt_cur c;
	int rc;

	if (r->err)
		return r->err;
	if (r->done >= total)
		return 0;
	rc = vt_dns_read_name(r->msg, r->len, &r->off, rr->name, sizeof(rr->name));
	if (rc < 0)
		goto fail;
	vt_cur_init(&c, r->msg, r->len);
	vt_cur_seek(&c, r->off);
	rr->type = vt_cur_u16(&c);
	rr->klass = vt_cur_u16(&c);
	rr->ttl = vt_cur_u32(&c);
	rr->rdlength = vt_cur_u16(&c);
	rr->rdoff = c.off;
	if (c.err || vt_cur_bytes(&c, rr->rdlength, &rr->rdata) < 0) {
		rc = VT_EPARSE;
		goto fail;
	}
	rr->section = r->done < r->h.ancount ? VT_DNS_SEC_AN :
		      r->done < (unsigned)r->h.ancount + r->h.nscount ?
		      VT_DNS_SEC_NS : VT_DNS_SEC_AR;
	r->off = c.off;
	r->done++;
	return 1;
fail:
	r->err = VT_EPARSE;
	return VT_EPARSE;
}

int vt_dns_txt_next(const struct vt_dns_rr *rr, size_t *pos,
		    const uint8_t **s, size_t *n)
{
	size_t l;

	if (*pos >= rr->rdlength)
		return 0;
	l = rr->rdata[*pos];
	if (l > (size_t)rr->rdlength - *pos - 1)
		return VT_EPARSE;
	*s = rr->rdata + *pos + 1;
	*n = l;
	*pos += l + 1;
	return 1;
}

int vt_dns_soa_parse(const uint8_t *msg, size_t len, const struct vt_dns_rr *rr,
		     struct vt_dns_soa *soa)
{
	size_t off = rr->rdoff, end = rr->rdoff + rr->rdlength;
	struct vt_cur c;
	int rc;

	if (end > len)
		return VT_EPARSE;
	/* names are read against the whole message (compression) but must
	 * stay inside the rdata themselves */
	rc = vt_dns_read_name(msg, end, &off, soa->mname, sizeof(soa->mname));
	if (rc == 0)
		rc = vt_dns_read_name(msg, end, &off, soa->rname, sizeof(soa->rname));
	if (rc < 0)
		return VT_EPARSE;
	vt_cur_init(&c, msg, end);
	vt_cur_seek(&c, off);
	soa->serial = vt_cur_u32(&c);
	soa->refresh = vt_cur_u32(&c);
	soa->retry = vt_cur_u32(&c);
	soa->expire = vt_cur_u32(&c);
	soa->minimum = vt_cur_u32(&c);
	if (c.err || c.off != end)
		return VT_EPARSE;
	return VT_OK;
}

const char *vt_dns_type_name(uint16_t type, char *buf, size_t len)
{
	static const struct { uint16_t t; const char *n; } names[] = {
		{ 1, "A" }, { 2, "NS" }, { 5, "CNAME" }, { 6, "SOA" },
		{ 12, "PTR" }, { 15, "MX" }, { 16, "TXT" }, { 28, "AAAA" },
		{ 33, "SRV" }, { 35, "NAPTR" }, { 41, "OPT" }, { 43, "DS" },
		{ 46, "RRSIG" }, { 47, "NSEC" }, { 48, "DNSKEY" },
		{ 50, "NSEC3" }, { 255, "ANY" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].t == type) {
			snprintf(buf, len, "%s", names[i].n);
			return buf;
		}
	snprintf(buf, len, "TYPE%u", (unsigned)type);
	return buf;
}
