/* site.c - the anycast site named by a DNS reply (site.h). */
#include <string.h>
#include <strings.h>

#include "proto/b64.h"
#include "proto/dns.h"
#include "proto/site.h"

#define NSID_OPTION 3

/* Printable copy of n bytes, cut to fit. */
static void put_name(char *site, const uint8_t *s, size_t n)
{
	size_t i;

	if (n > VT_SITE_MAX - 1)
		n = VT_SITE_MAX - 1;
	for (i = 0; i < n; i++)
		site[i] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
	site[n] = '\0';
}

static int name_is(const char *name, const char *want)
{
	return !strcasecmp(name, want);
}

int vt_site_from_reply(const uint8_t *msg, size_t len, char *site,
		       enum vt_site_how *how)
{
	struct vt_dns_reader r;
	struct vt_dns_rr rr;
	char nsid[VT_SITE_MAX] = "";
	int rc, got = VT_SITE_NONE;

	site[0] = '\0';
	*how = VT_SITE_NONE;
	if ((rc = vt_dns_reader_init(&r, msg, len)) < 0)
		return rc;
	if (!(r.h.flags & VT_DNS_FLAG_QR))
		return VT_EPARSE;
	while ((rc = vt_dns_reader_next(&r, &rr)) == 1) {
		if (rr.section == VT_DNS_SEC_AN && rr.type == VT_DNS_T_TXT &&
		    rr.klass == VT_DNS_C_CH && got == VT_SITE_NONE &&
		    (name_is(rr.name, "id.server.") ||
		     name_is(rr.name, "hostname.bind."))) {
			const uint8_t *s;
			size_t pos = 0, n;

			if ((rc = vt_dns_txt_next(&rr, &pos, &s, &n)) < 0)
				return rc;
			if (rc == 1 && n > 0) {
				put_name(site, s, n);
				got = name_is(rr.name, "id.server.") ?
				      VT_SITE_ID_SERVER : VT_SITE_HOSTNAME_BIND;
			}
		} else if (rr.section == VT_DNS_SEC_AR && rr.type == VT_DNS_T_OPT &&
			   !nsid[0]) {
			size_t p = 0;

			while (p + 4 <= rr.rdlength) {
				unsigned code = (unsigned)rr.rdata[p] << 8 | rr.rdata[p + 1];
				size_t olen = (size_t)rr.rdata[p + 2] << 8 | rr.rdata[p + 3];

				p += 4;
				if (olen > rr.rdlength - p)
					return VT_EPARSE;
				if (code == NSID_OPTION && olen > 0) {
					put_name(nsid, rr.rdata + p, olen);
					break;
				}
				p += olen;
			}
		}
	}
	if (rc < 0)
		return rc;
	if (got != VT_SITE_NONE) {
		*how = (enum vt_site_how)got;
		return 0;
	}
	if (nsid[0]) {
		memcpy(site, nsid, sizeof nsid);
		*how = VT_SITE_NSID;
		return 0;
	}
	return VT_ENOTFOUND;
}

int vt_site_from_abuf(const char *abuf, size_t len, char *site,
		      enum vt_site_how *how)
{
	uint8_t msg[VT_SITE_ABUF_MAX];
	size_t n;
	int rc;

	site[0] = '\0';
	*how = VT_SITE_NONE;
	if ((rc = vt_b64_decode(abuf, len, msg, sizeof msg, &n)) < 0)
		return rc == VT_ETOOBIG ? VT_EPARSE : rc;
	return vt_site_from_reply(msg, n, site, how);
}

const char *vt_site_how_name(enum vt_site_how how)
{
	switch (how) {
	case VT_SITE_ID_SERVER: return "id.server";
	case VT_SITE_HOSTNAME_BIND: return "hostname.bind";
	case VT_SITE_NSID: return "nsid";
	case VT_SITE_NONE: break;
	}
	return "none";
}
