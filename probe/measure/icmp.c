/* icmp.c - decoding of ICMP / ICMPv6 replies (pure functions). */
#include "probe/measure/icmp.h"

#include <stdio.h>
#include <string.h>

#include "common/buf.h"

static void parse_ext(const uint8_t *p, size_t len, size_t off, int rfc4884,
		      struct vt_icmp_info *o)
{
	struct vt_cur c;

	if (off + 4 > len)
		return;
	vt_cur_init(&c, p + off, len - off);
	{
		uint8_t v = vt_cur_u8(&c);

		if ((v >> 4) != 2)
			return;
		o->ext_version = v >> 4;
	}
	(void)vt_cur_u8(&c);
	(void)vt_cur_u16(&c);       /* checksum, not verified */
	o->has_ext = 1;
	o->ext_rfc4884 = rfc4884;
	while (vt_cur_left(&c) >= 4 && !c.err) {
		uint16_t olen = vt_cur_u16(&c);
		uint8_t cls = vt_cur_u8(&c), ctype = vt_cur_u8(&c);
		const uint8_t *d;

		if (olen < 4 || vt_cur_bytes(&c, olen - 4u, &d) < 0)
			break;
		o->ext_nobj++;
		if (cls != 1 || ctype != 1)
			continue;
		for (size_t k = 0; k + 4 <= olen - 4u &&
		     o->nmpls < VT_ICMP_MAX_MPLS; k += 4) {
			uint32_t e = (uint32_t)d[k] << 24 | (uint32_t)d[k + 1] << 16 |
				     (uint32_t)d[k + 2] << 8 | d[k + 3];
			struct vt_icmp_mpls *m = &o->mpls[o->nmpls++];

			m->label = e >> 12;
			m->exp = (e >> 9) & 7;
			m->s = (e >> 8) & 1;
			m->ttl = e & 0xff;
		}
	}
}

/* Decodes the transport header quoted after the inner IP header. */
static void parse_inner_l4(int af, const uint8_t *q, size_t qlen,
			   struct vt_icmp_info *o)
{
	int echo_req = af == 4 ? 8 : 128;

	if (o->in_proto == IPPROTO_ICMP || o->in_proto == IPPROTO_ICMPV6) {
		if (qlen < 8 || q[0] != echo_req)
			return;
		o->echo_id = (uint16_t)(q[4] << 8 | q[5]);
		o->echo_seq = (uint16_t)(q[6] << 8 | q[7]);
		o->in_payload = q + 8;
		o->in_payload_len = qlen - 8;
	} else if (o->in_proto == IPPROTO_UDP || o->in_proto == IPPROTO_TCP) {
		if (qlen < 8)
			return;
		o->in_sport = (uint16_t)(q[0] << 8 | q[1]);
		o->in_dport = (uint16_t)(q[2] << 8 | q[3]);
		if (o->in_proto == IPPROTO_TCP) {
			o->in_tcp_seq = (uint32_t)q[4] << 24 | (uint32_t)q[5] << 16 |
					(uint32_t)q[6] << 8 | q[7];
		} else {
			o->in_payload = q + 8;
			o->in_payload_len = qlen - 8;
		}
	}
}

static void parse_inner(int af, const uint8_t *q, size_t qlen,
			struct vt_icmp_info *o)
{
	if (af == 4) {
		size_t hl;
		size_t tot;

		if (qlen < 20 || (q[0] >> 4) != 4)
			return;
		hl = (size_t)(q[0] & 0x0f) * 4;
		if (hl < 20 || hl > qlen)
			return;
		tot = (size_t)(q[2] << 8 | q[3]);
		o->in_proto = q[9];
		o->in_ttl = q[8];
		o->in_tos = q[1];
		memcpy(&o->in_dst.v4, q + 16, 4);
		if (tot >= hl && tot < qlen)
			qlen = tot;       /* drop padding and extensions */
		parse_inner_l4(af, q + hl, qlen - hl, o);
	} else {
		size_t plen;

		if (qlen < 40 || (q[0] >> 4) != 6)
			return;
		o->in_proto = q[6];
		o->in_ttl = q[7];
		o->in_tos = (q[0] & 0x0f) << 4 | q[1] >> 4;
		memcpy(&o->in_dst.v6, q + 24, 16);
		plen = (size_t)(q[4] << 8 | q[5]);
		if (40 + plen < qlen)
			qlen = 40 + plen;
		parse_inner_l4(af, q + 40, qlen - 40, o);
	}
}

int vt_icmp_parse(int af, const uint8_t *p, size_t len,
		  struct vt_icmp_info *o)
{
	size_t qlen;

	memset(o, 0, sizeof *o);
	o->in_proto = -1;
	o->in_ttl = -1;
	o->in_tos = -1;
	if (len < 8)
		return VT_EPARSE;
	o->type = p[0];
	o->code = p[1];
	if (af == 4) {
		o->is_echo_reply = o->type == 0;
		o->is_error = o->type == 3 || o->type == 11 || o->type == 12;
		if (o->type == 3 && o->code == 4)
			o->mtu = (uint32_t)(p[6] << 8 | p[7]);
	} else {
		o->is_echo_reply = o->type == 129;
		o->is_error = o->type >= 1 && o->type <= 4;
		if (o->type == 2)
			o->mtu = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 |
				 (uint32_t)p[6] << 8 | p[7];
	}
	if (o->is_echo_reply) {
		o->echo_id = (uint16_t)(p[4] << 8 | p[5]);
		o->echo_seq = (uint16_t)(p[6] << 8 | p[7]);
		return 0;
	}
	if (!o->is_error)
		return 0;
	/* RFC 4884: the length of the quoted datagram, then the extension */
	qlen = len - 8;
	if (af == 4) {
		size_t l = (size_t)p[5] * 4;

		if (l && 8 + l <= len && l >= 128) {
			qlen = l;
			parse_ext(p, len, 8 + l, 1, o);
		} else if (!l && len - 8 > 128) {
			/* non-compliant routers: 128 bytes, then the extension */
			parse_ext(p, len, 8 + 128, 0, o);
			if (o->has_ext)
				qlen = 128;
		}
	} else if (o->type == 1 || o->type == 3) {
		size_t l = (size_t)p[4] * 8;

		if (l && 8 + l <= len && l >= 128) {
			qlen = l;
			parse_ext(p, len, 8 + l, 1, o);
		} else if (!l && len - 8 > 128) {
			parse_ext(p, len, 8 + 128, 0, o);
			if (o->has_ext)
				qlen = 128;
		}
	}
	parse_inner(af, p + 8, qlen, o);
	return 0;
}

json_t *vt_icmp_ext_json(const struct vt_icmp_info *i)
{
	json_t *o, *objs, *obj, *mpls;

	if (!i->has_ext)
		return NULL;
	o = json_object();
	objs = json_array();
	if (!o || !objs)
		goto fail;
	json_object_set_new(o, "version", json_integer(i->ext_version));
	json_object_set_new(o, "rfc4884", json_integer(i->ext_rfc4884));
	if (i->nmpls) {
		obj = json_object();
		mpls = json_array();
		if (!obj || !mpls) {
			json_decref(obj);
			json_decref(mpls);
			goto fail;
		}
		json_object_set_new(obj, "class", json_integer(1));
		json_object_set_new(obj, "type", json_integer(1));
		for (int k = 0; k < i->nmpls; k++)
			json_array_append_new(mpls, json_pack("{s:I,s:i,s:i,s:i}",
				"label", (json_int_t)i->mpls[k].label,
				"exp", i->mpls[k].exp, "s", i->mpls[k].s,
				"ttl", i->mpls[k].ttl));
		json_object_set_new(obj, "mpls", mpls);
		json_array_append_new(objs, obj);
	}
	json_object_set_new(o, "obj", objs);
	return o;
fail:
	json_decref(o);
	json_decref(objs);
	return NULL;
}

const char *vt_icmp_err_text(int af, const struct vt_icmp_info *i, char *buf,
			     size_t len)
{
	if (af == 4 && i->type == 3) {
		switch (i->code) {
		case 0: return "N";
		case 1: return "H";
		case 2: return "P";
		case 3: return "p";
		case 9: case 10: case 13: return "A";
		default: break;
		}
	} else if (af == 6 && i->type == 1) {
		switch (i->code) {
		case 0: return "N";
		case 1: return "A";
		case 3: return "H";
		case 4: return "p";
		default: break;
		}
	} else {
		return NULL;
	}
	snprintf(buf, len, "%d", i->code);
	return buf;
}
