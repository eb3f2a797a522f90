/* def.c - measurement requests: parse, check, command lines. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/scheduler/def.h"
#include "proto/cmdline.h"

/* A refusal: the reason into errbuf, rc returned (common/err.h). */
#define fail(errbuf, errlen, rc, ...) vt_err_set(rc, errbuf, errlen, __VA_ARGS__)

#define FAIL(...) fail(errbuf, errlen, VT_EPARSE, __VA_ARGS__)

/* ---- field helpers ------------------------------------------------ */

/* Integer field: absent leaves *v alone (returns 0, *given 0). */
static int get_int(const json_t *o, const char *key, const char *where,
		   long long min, long long max, long long *v, int *given,
		   char *errbuf, size_t errlen)
{
	json_t *j = json_object_get(o, key);

	if (given)
		*given = 0;
	if (!j || json_is_null(j))
		return 0;
	if (!json_is_integer(j))
		return FAIL("%s.%s: must be an integer", where, key);
	if (json_integer_value(j) < min || json_integer_value(j) > max)
		return FAIL("%s.%s: must be between %lld and %lld", where, key,
			    min, max);
	*v = json_integer_value(j);
	if (given)
		*given = 1;
	return 0;
}

static int get_bool(const json_t *o, const char *key, const char *where,
		    int *v, char *errbuf, size_t errlen)
{
	json_t *j = json_object_get(o, key);

	if (!j || json_is_null(j))
		return 0;
	if (!json_is_boolean(j))
		return FAIL("%s.%s: must be true or false", where, key);
	*v = json_is_true(j);
	return 0;
}

/* String field; *v is NULL when absent. */
static int get_str(const json_t *o, const char *key, const char *where,
		   const char **v, char *errbuf, size_t errlen)
{
	json_t *j = json_object_get(o, key);

	*v = NULL;
	if (!j || json_is_null(j))
		return 0;
	if (!json_is_string(j))
		return FAIL("%s.%s: must be a string", where, key);
	*v = json_string_value(j);
	return 0;
}

/* A host name or address: printable, no blanks or quotes, not an option. */
static int valid_target(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 255 || s[0] == '-')
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(".:-_", *s))
			return 0;
	return 1;
}

/* Tag slugs: lower-case letters, digits, '-', '_'. */
static int valid_slug(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return 0;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) &&
		    *s != '-' && *s != '_')
			return 0;
	return 1;
}

/* Array of slugs -> "{a,b}". */
static int tag_array(const json_t *a, const char *where, char *out,
		     size_t outlen, char *errbuf, size_t errlen)
{
	size_t i, used;
	json_t *t;

	snprintf(out, outlen, "{");
	used = 1;
	if (!a || json_is_null(a))
		goto close;
	if (!json_is_array(a))
		return FAIL("%s: must be a list of tags", where);
	json_array_foreach(a, i, t) {
		const char *s = json_string_value(t);

		if (!s || !valid_slug(s))
			return FAIL("%s[%zu]: not a tag (lower-case letters, "
				    "digits, '-', '_')", where, i);
		if (used + strlen(s) + 3 >= outlen)
			return FAIL("%s: too many tags", where);
		used += snprintf(out + used, outlen - used, "%s%s", i ? "," : "", s);
	}
close:
	snprintf(out + used, outlen - used, "}");
	return 0;
}

int vt_msm_id_list(const char *in, char *out, size_t outlen)
{
	size_t used = 0;
	int n = 0;
	const char *p = in;

	if (!outlen)
		return VT_EINVAL;
	out[0] = '\0';
	while (*p) {
		char *end;
		long v;

		while (*p == ' ' || *p == ',')
			p++;
		if (!*p)
			break;
		if (!isdigit((unsigned char)*p))
			return VT_EPARSE;
		v = strtol(p, &end, 10);
		if (v <= 0 || v > 2147483647L || (*end && *end != ',' && *end != ' '))
			return VT_EPARSE;
		if (used + 13 >= outlen)
			return VT_ETOOBIG;
		used += snprintf(out + used, outlen - used, "%s%ld", n ? "," : "", v);
		n++;
		p = end;
	}
	return n ? 0 : VT_EPARSE;
}

/* ---- probe specs -------------------------------------------------- */

static const char *const areas[] = {
	"WW", "West", "North-Central", "South-Central", "North-East", "South-East"
};

static int spec_value(struct vt_msm_spec *s, const json_t *jv, const char *where,
		      char *errbuf, size_t errlen)
{
	char tmp[64];
	const char *v = json_string_value(jv);

	if (json_is_integer(jv)) {
		snprintf(tmp, sizeof tmp, "%lld", (long long)json_integer_value(jv));
		v = tmp;
	}
	if (!v || !*v)
		return FAIL("%s.value: required", where);
	if (strlen(v) >= sizeof s->value)
		return FAIL("%s.value: too long", where);
	if (!strcmp(s->type, "area")) {
		for (size_t i = 0; i < sizeof areas / sizeof *areas; i++)
			if (!strcmp(v, areas[i])) {
				snprintf(s->value, sizeof s->value, "%s", v);
				return 0;
			}
		return FAIL("%s.value: unknown area '%s' (WW, West, North-Central, "
			    "South-Central, North-East, South-East)", where, v);
	}
	if (!strcmp(s->type, "country")) {
		size_t i, n = strlen(v);

		for (i = 0; i < n; i++) {
			if ((i % 3 == 2 && v[i] != ',') ||
			    (i % 3 != 2 && !isalpha((unsigned char)v[i])))
				break;
		}
		if (i < n || n % 3 != 2)
			return FAIL("%s.value: not a country code (e.g. NL)", where);
		for (i = 0; i < n; i++)
			s->value[i] = (char)toupper((unsigned char)v[i]);
		s->value[n] = '\0';
		return 0;
	}
	if (!strcmp(s->type, "asn") || !strcmp(s->type, "msm")) {
		long long max = !strcmp(s->type, "asn") ? 4294967295LL : 9223372036854775807LL;
		char *end;
		long long n;

		if (!strcmp(s->type, "asn") && !strncasecmp(v, "AS", 2))
			v += 2;
		n = strtoll(v, &end, 10);
		if (!isdigit((unsigned char)*v) || *end || n <= 0 || n > max)
			return FAIL("%s.value: not %s", where, !strcmp(s->type, "asn") ?
				    "an AS number" : "a measurement id");
		/* asn_v4/asn_v6 are PostgreSQL integers. */
		if (!strcmp(s->type, "asn") && n > 2147483647LL)
			return FAIL("%s.value: AS number over 2147483647", where);
		snprintf(s->value, sizeof s->value, "%lld", n);
		return 0;
	}
	if (!strcmp(s->type, "prefix")) {
		/* Syntax only; PostgreSQL's cidr cast is the final judge. */
		const char *slash = strchr(v, '/');

		if (!slash || strlen(v) > 49 || strspn(slash + 1, "0123456789") !=
		    strlen(slash + 1) || !slash[1] ||
		    strspn(v, "0123456789abcdefABCDEF.:/") != strlen(v))
			return FAIL("%s.value: not a prefix (e.g. 192.0.2.0/24)", where);
		snprintf(s->value, sizeof s->value, "%s", v);
		return 0;
	}
	if (!strcmp(s->type, "probes")) {
		if (vt_msm_id_list(v, s->value, sizeof s->value) < 0)
			return FAIL("%s.value: not a list of probe ids (e.g. \"1,2,3\")",
				    where);
		return 0;
	}
	return FAIL("%s.type: unknown probe spec type '%s' (area, country, asn, "
		    "prefix, probes, msm)", where, s->type);
}

int vt_msm_spec_parse(const json_t *obj, const char *where,
		      struct vt_msm_spec *out, char *errbuf, size_t errlen)
{
	const char *type;
	long long req = 0;
	int given, rc;
	json_t *tags;
	char w[96];

	memset(out, 0, sizeof *out);
	if (!json_is_object(obj))
		return FAIL("%s: must be an object", where);
	if ((rc = get_str(obj, "type", where, &type, errbuf, errlen)) < 0)
		return rc;
	if (!type)
		return FAIL("%s.type: required", where);
	if (strlen(type) >= sizeof out->type)
		return FAIL("%s.type: unknown probe spec type", where);
	snprintf(out->type, sizeof out->type, "%s", type);
	if ((rc = spec_value(out, json_object_get(obj, "value"), where, errbuf,
			     errlen)) < 0)
		return rc;
	if ((rc = get_int(obj, "requested", where, 1, 100000, &req, &given,
			  errbuf, errlen)) < 0)
		return rc;
	if (!given)
		return FAIL("%s.requested: required", where);
	out->requested = (int)req;
	tags = json_object_get(obj, "tags");
	if (tags && !json_is_null(tags) && !json_is_object(tags))
		return FAIL("%s.tags: must be {\"include\": [...], \"exclude\": [...]}",
			    where);
	snprintf(w, sizeof w, "%s.tags.include", where);
	if ((rc = tag_array(json_object_get(tags, "include"), w, out->include,
			    sizeof out->include, errbuf, errlen)) < 0)
		return rc;
	snprintf(w, sizeof w, "%s.tags.exclude", where);
	return tag_array(json_object_get(tags, "exclude"), w, out->exclude,
			 sizeof out->exclude, errbuf, errlen);
}

/* ---- definitions -------------------------------------------------- */

struct qtype { const char *name; int code; };

static const struct qtype qtypes[] = {
	{ "A", 1 }, { "NS", 2 }, { "CNAME", 5 }, { "SOA", 6 }, { "PTR", 12 },
	{ "HINFO", 13 }, { "MX", 15 }, { "TXT", 16 }, { "AAAA", 28 },
	{ "SRV", 33 }, { "NAPTR", 35 }, { "DS", 43 }, { "RRSIG", 46 },
	{ "NSEC", 47 }, { "DNSKEY", 48 }, { "NSEC3", 50 }, { "NSEC3PARAM", 51 },
	{ "TLSA", 52 }, { "CDS", 59 }, { "CDNSKEY", 60 }, { "SVCB", 64 },
	{ "HTTPS", 65 }, { "ANY", 255 }, { "CAA", 257 },
};

static int qtype_code(const char *s)
{
	for (size_t i = 0; i < sizeof qtypes / sizeof *qtypes; i++)
		if (!strcasecmp(s, qtypes[i].name))
			return qtypes[i].code;
	if (!strncasecmp(s, "TYPE", 4) && isdigit((unsigned char)s[4])) {
		char *end;
		long v = strtol(s + 4, &end, 10);

		if (!*end && v > 0 && v < 65536)
			return (int)v;
	}
	return -1;
}

static const char *const chaos_names[] = {
	NULL, "hostname.bind", "id.server", "version.bind", "version.server"
};

static int check_ping(json_t *d, const char *w, char *errbuf, size_t errlen)
{
	long long v;
	int rc;

	if ((rc = get_int(d, "packets", w, 1, 16, &v, NULL, errbuf, errlen)) < 0 ||
	    (rc = get_int(d, "size", w, 0, 2048, &v, NULL, errbuf, errlen)) < 0 ||
	    (rc = get_int(d, "packet_interval", w, 2, 30000, &v, NULL, errbuf,
			  errlen)) < 0)
		return rc;
	return 0;
}

static int check_traceroute(json_t *d, const char *w, char *errbuf, size_t errlen)
{
	const char *proto;
	long long v, first = 1, max = 32;
	int rc, b;

	if ((rc = get_str(d, "protocol", w, &proto, errbuf, errlen)) < 0)
		return rc;
	if (!proto)
		return FAIL("%s.protocol: required for traceroute (ICMP, UDP or TCP)", w);
	if (strcmp(proto, "ICMP") && strcmp(proto, "UDP") && strcmp(proto, "TCP"))
		return FAIL("%s.protocol: must be ICMP, UDP or TCP", w);
	if ((rc = get_int(d, "paris", w, 0, 64, &v, NULL, errbuf, errlen)) < 0 ||
	    (rc = get_int(d, "first_hop", w, 1, 255, &first, NULL, errbuf, errlen)) < 0 ||
	    (rc = get_int(d, "max_hops", w, 1, 255, &max, NULL, errbuf, errlen)) < 0 ||
	    (rc = get_int(d, "port", w, 1, 65535, &v, NULL, errbuf, errlen)) < 0 ||
	    (rc = get_int(d, "size", w, 0, 2048, &v, NULL, errbuf, errlen)) < 0 ||
	    (rc = get_int(d, "packets", w, 1, 16, &v, NULL, errbuf, errlen)) < 0 ||
	    (rc = get_int(d, "response_timeout", w, 10, 60000, &v, NULL, errbuf,
			  errlen)) < 0 ||
	    (rc = get_int(d, "timeout", w, 10, 60000, &v, NULL, errbuf, errlen)) < 0 ||
	    (rc = get_int(d, "gap_limit", w, 0, 255, &v, NULL, errbuf, errlen)) < 0 ||
	    (rc = get_bool(d, "dont_fragment", w, &b, errbuf, errlen)) < 0)
		return rc;
	if (max < first)
		return FAIL("%s.max_hops: must not be below first_hop", w);
	return 0;
}

static int check_dns(json_t *d, const char *w, char *errbuf, size_t errlen)
{
	const char *qc, *qt, *qa, *proto;
	long long v;
	int rc, b = 0;
	static const char *const bools[] = {
		"set_rd_bit", "set_do_bit", "set_nsid_bit", "set_cd_bit",
		"include_qbuf", "include_abuf"
	};

	if ((rc = get_str(d, "query_class", w, &qc, errbuf, errlen)) < 0 ||
	    (rc = get_str(d, "query_type", w, &qt, errbuf, errlen)) < 0 ||
	    (rc = get_str(d, "query_argument", w, &qa, errbuf, errlen)) < 0 ||
	    (rc = get_str(d, "protocol", w, &proto, errbuf, errlen)) < 0 ||
	    (rc = get_bool(d, "use_probe_resolver", w, &b, errbuf, errlen)) < 0)
		return rc;
	if (!qc)
		return FAIL("%s.query_class: required for dns (IN or CHAOS)", w);
	if (strcmp(qc, "IN") && strcmp(qc, "CHAOS"))
		return FAIL("%s.query_class: must be IN or CHAOS", w);
	if (!qt)
		return FAIL("%s.query_type: required for dns", w);
	if (qtype_code(qt) < 0)
		return FAIL("%s.query_type: unknown type '%s'", w, qt);
	if (!qa)
		return FAIL("%s.query_argument: required for dns", w);
	if (!*qa || strlen(qa) > 253 || !valid_target(qa))
		return FAIL("%s.query_argument: not a domain name", w);
	if (proto && strcmp(proto, "UDP") && strcmp(proto, "TCP"))
		return FAIL("%s.protocol: must be UDP or TCP for dns", w);
	if (b)
		return fail(errbuf, errlen, VT_EUNSUPP,
			    "%s.use_probe_resolver: not supported yet: give a target", w);
	for (size_t i = 0; i < sizeof bools / sizeof *bools; i++)
		if ((rc = get_bool(d, bools[i], w, &b, errbuf, errlen)) < 0)
			return rc;
	if ((rc = get_int(d, "udp_payload_size", w, 0, 4096, &v, NULL, errbuf,
			  errlen)) < 0 ||
	    (rc = get_int(d, "retry", w, 0, 10, &v, NULL, errbuf, errlen)) < 0 ||
	    (rc = get_int(d, "timeout", w, 100, 60000, &v, NULL, errbuf, errlen)) < 0)
		return rc;
	return 0;
}

int vt_msm_def_check(json_t *def, const char *w, int is_oneoff, char *errbuf,
		     size_t errlen)
{
	const char *type, *target, *descr;
	long long af = 0, interval = 0, spread = 0;
	int given_af, given_iv, given_sp, rc, b = 1;
	json_t *tags;
	char tagbuf[VT_SPEC_TAGS_MAX], where[96];

	if (!json_is_object(def))
		return FAIL("%s: must be an object", w);
	if ((rc = get_str(def, "type", w, &type, errbuf, errlen)) < 0)
		return rc;
	if (!type)
		return FAIL("%s.type: required (ping, traceroute or dns)", w);
	if (strcmp(type, "ping") && strcmp(type, "traceroute") && strcmp(type, "dns"))
		return FAIL("%s.type: unknown type '%s' (ping, traceroute or dns)",
			    w, type);
	if ((rc = get_int(def, "af", w, 4, 6, &af, &given_af, errbuf, errlen)) < 0)
		return rc;
	if (!given_af)
		return FAIL("%s.af: required (4 or 6)", w);
	if (af != 4 && af != 6)
		return FAIL("%s.af: must be 4 or 6", w);
	if ((rc = get_str(def, "description", w, &descr, errbuf, errlen)) < 0)
		return rc;
	if (!descr)
		return FAIL("%s.description: required", w);
	if ((rc = get_str(def, "target", w, &target, errbuf, errlen)) < 0)
		return rc;
	if (!target && strcmp(type, "dns"))
		return FAIL("%s.target: required for %s", w, type);
	if (!target && !json_is_true(json_object_get(def, "use_probe_resolver")))
		return FAIL("%s.target: required for dns unless use_probe_resolver", w);
	if (target && !valid_target(target))
		return FAIL("%s.target: not a host name or address", w);
	if ((rc = get_bool(def, "is_public", w, &b, errbuf, errlen)) < 0 ||
	    (rc = get_bool(def, "resolve_on_probe", w, &b, errbuf, errlen)) < 0)
		return rc;
	snprintf(where, sizeof where, "%s.tags", w);
	tags = json_object_get(def, "tags");
	if ((rc = tag_array(tags, where, tagbuf, sizeof tagbuf, errbuf, errlen)) < 0)
		return rc;
	if (!strcmp(type, "ping"))
		rc = check_ping(def, w, errbuf, errlen);
	else if (!strcmp(type, "traceroute"))
		rc = check_traceroute(def, w, errbuf, errlen);
	else
		rc = check_dns(def, w, errbuf, errlen);
	if (rc < 0)
		return rc;
	if ((rc = get_int(def, "interval", w, 10, 86400 * 7, &interval, &given_iv,
			  errbuf, errlen)) < 0 ||
	    (rc = get_int(def, "spread", w, 0, 86400 * 7, &spread, &given_sp,
			  errbuf, errlen)) < 0)
		return rc;
	/* Defaults, stored with the definition. */
	if (!json_object_get(def, "is_public") &&
	    json_object_set_new(def, "is_public", json_true()) < 0)
		return VT_ENOMEM;
	if (!json_is_array(tags) &&
	    json_object_set_new(def, "tags", json_array()) < 0)
		return VT_ENOMEM;
	if (is_oneoff) {
		if (json_object_set_new(def, "interval", json_null()) < 0 ||
		    json_object_set_new(def, "spread", json_null()) < 0)
			return VT_ENOMEM;
		return 0;
	}
	if (!given_iv) {
		interval = !strcmp(type, "traceroute") ? 900 : 240;
		if (json_object_set_new(def, "interval", json_integer(interval)) < 0)
			return VT_ENOMEM;
	}
	if (given_sp && spread > interval)
		return FAIL("%s.spread: must not exceed interval (%lld)", w, interval);
	if (!given_sp && json_object_set_new(def, "spread",
					     json_integer(interval / 2)) < 0)
		return VT_ENOMEM;
	return 0;
}

/* ---- the whole request -------------------------------------------- */

void vt_msm_request_free(struct vt_msm_request *r)
{
	if (!r)
		return;
	json_decref(r->defs);
	free(r);
}

int vt_msm_request_parse(const char *body, size_t len, long long now,
			 struct vt_msm_request **out, char *errbuf, size_t errlen)
{
	struct vt_msm_request *r = NULL;
	json_t *root = NULL, *defs, *specs, *d;
	json_error_t jerr;
	long long v = 0;
	int rc, given;
	size_t i;

	*out = NULL;
	if (len > VT_MSM_BODY_MAX)
		return fail(errbuf, errlen, VT_ETOOBIG, "request over %d bytes",
			    VT_MSM_BODY_MAX);
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		rc = FAIL("not JSON: line %d: %s", jerr.line, jerr.text);
		goto out;
	}
	if (!json_is_object(root)) {
		rc = FAIL("the request must be a JSON object");
		goto out;
	}
	if (!(r = calloc(1, sizeof *r))) {
		rc = VT_ENOMEM;
		goto out;
	}
	if ((rc = get_bool(root, "is_oneoff", "request", &r->is_oneoff, errbuf,
			   errlen)) < 0 ||
	    (rc = get_int(root, "start_time", "request", 1, 4102444800LL, &v,
			  &given, errbuf, errlen)) < 0)
		goto out;
	r->start_time = given ? v : 0;
	if ((rc = get_int(root, "stop_time", "request", 1, 4102444800LL, &v,
			  &given, errbuf, errlen)) < 0)
		goto out;
	r->stop_time = given ? v : 0;
	if (r->stop_time && r->is_oneoff) {
		rc = FAIL("stop_time: not allowed for a one-off measurement");
		goto out;
	}
	if (r->stop_time && r->stop_time <= (r->start_time ? r->start_time : now)) {
		rc = FAIL("stop_time: must be after the start time%s",
			  r->start_time ? "" : " (now)");
		goto out;
	}
	defs = json_object_get(root, "definitions");
	if (!json_is_array(defs) || json_array_size(defs) == 0) {
		rc = FAIL("definitions: required (a non-empty list)");
		goto out;
	}
	if (json_array_size(defs) > VT_MSM_DEFS_MAX) {
		rc = FAIL("definitions: at most %d", VT_MSM_DEFS_MAX);
		goto out;
	}
	specs = json_object_get(root, "probes");
	if (!json_is_array(specs) || json_array_size(specs) == 0) {
		rc = FAIL("probes: required (a non-empty list of probe specs)");
		goto out;
	}
	if (json_array_size(specs) > VT_MSM_SPECS_MAX) {
		rc = FAIL("probes: at most %d specs", VT_MSM_SPECS_MAX);
		goto out;
	}
	json_array_foreach(specs, i, d) {
		char w[48];

		snprintf(w, sizeof w, "probes[%zu]", i);
		if ((rc = vt_msm_spec_parse(d, w, &r->specs[i], errbuf, errlen)) < 0)
			goto out;
		r->nspecs++;
	}
	if (!(r->defs = json_deep_copy(defs))) {
		rc = VT_ENOMEM;
		goto out;
	}
	json_array_foreach(r->defs, i, d) {
		char w[48];

		snprintf(w, sizeof w, "definitions[%zu]", i);
		if ((rc = vt_msm_def_check(d, w, r->is_oneoff, errbuf, errlen)) < 0)
			goto out;
		/* Every definition must become a command line. */
		{
			struct vt_buf b;

			vt_buf_init(&b, VT_CMD_MAX_BYTES + 1);
			rc = vt_msm_command(d, 1, VT_MSM_OUT_FILE, &b, errbuf, errlen);
			vt_buf_free(&b);
			if (rc < 0) {
				rc = VT_EPARSE;
				goto out;
			}
		}
	}
	*out = r;
	r = NULL;
	rc = 0;
out:
	vt_msm_request_free(r);
	json_decref(root);
	return rc;
}

/* ---- command lines ------------------------------------------------ */

static long long def_int(const json_t *d, const char *key, long long dflt)
{
	json_t *j = json_object_get(d, key);

	return json_is_integer(j) ? json_integer_value(j) : dflt;
}

static const char *def_str(const json_t *d, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(d, key));

	return s ? s : dflt;
}

static int def_dns(const json_t *d, struct vt_cmd_tdig *t, char *errbuf,
		   size_t errlen)
{
	const char *qc = def_str(d, "query_class", "IN");
	const char *qt = def_str(d, "query_type", "A");
	const char *qa = def_str(d, "query_argument", "");
	size_t n = strlen(qa);

	t->tcp = !strcmp(def_str(d, "protocol", "UDP"), "TCP");
	t->rd = json_is_true(json_object_get(d, "set_rd_bit"));
	t->cd = json_is_true(json_object_get(d, "set_cd_bit"));
	t->dnssec_ok = json_is_true(json_object_get(d, "set_do_bit"));
	t->nsid = json_is_true(json_object_get(d, "set_nsid_bit"));
	t->qbuf = json_is_true(json_object_get(d, "include_qbuf"));
	t->edns0 = (int)def_int(d, "udp_payload_size", 0);
	t->retry = (int)def_int(d, "retry", 0);
	t->timeout_ms = (int)def_int(d, "timeout", 5000);
	t->qtype = qtype_code(qt);
	t->qclass = !strcmp(qc, "CHAOS") ? 3 : 1;
	if (t->qtype < 0 || n == 0 || n + 2 > sizeof t->qname)
		return fail(errbuf, errlen, VT_EINVAL, "bad query");
	snprintf(t->qname, sizeof t->qname, "%s%s", qa, qa[n - 1] == '.' ? "" : ".");
	t->chaos = VT_TDIG_Q_NONE;
	if (t->qclass == 3 && t->qtype == 16) {
		for (int i = 1; i <= VT_TDIG_Q_VERSION_SERVER; i++) {
			size_t cl = strlen(chaos_names[i]);

			if (!strncasecmp(t->qname, chaos_names[i], cl) &&
			    t->qname[cl] == '.' && !t->qname[cl + 1])
				t->chaos = (enum vt_tdig_chaos)i;
		}
	}
	return 0;
}

int vt_msm_command(const json_t *d, long msm_id, const char *out_file,
		   struct vt_buf *out, char *errbuf, size_t errlen)
{
	struct vt_cmdline c;
	const char *type = def_str(d, "type", ""), *target = def_str(d, "target", "");
	int rc;

	if (!strcmp(type, "ping")) {
		vt_cmdline_defaults(&c, VT_CMD_PING);
		c.u.ping.count = (int)def_int(d, "packets", 3);
		c.u.ping.size = (int)def_int(d, "size", 48);
		c.u.ping.interval_ms = (int)def_int(d, "packet_interval", 1000);
	} else if (!strcmp(type, "traceroute")) {
		struct vt_cmd_traceroute *t = &c.u.traceroute;
		const char *p = def_str(d, "protocol", "ICMP");

		vt_cmdline_defaults(&c, VT_CMD_TRACEROUTE);
		t->proto = !strcmp(p, "UDP") ? VT_TRT_UDP :
			   !strcmp(p, "TCP") ? VT_TRT_TCP : VT_TRT_ICMP;
		t->paris = (int)def_int(d, "paris", 16);
		t->packets = (int)def_int(d, "packets", 3);
		t->first_hop = (int)def_int(d, "first_hop", 1);
		t->max_hops = (int)def_int(d, "max_hops", 32);
		t->port = (int)def_int(d, "port", 0);
		t->size = (int)def_int(d, "size", 40);
		t->wait_ms = (int)def_int(d, "response_timeout",
					  def_int(d, "timeout", 1000));
		t->dont_fragment = json_is_true(json_object_get(d, "dont_fragment"));
		t->gap_limit = (int)def_int(d, "gap_limit", 0);
	} else if (!strcmp(type, "dns")) {
		vt_cmdline_defaults(&c, VT_CMD_TDIG);
		if ((rc = def_dns(d, &c.u.tdig, errbuf, errlen)) < 0)
			return rc;
	} else {
		return fail(errbuf, errlen, VT_EINVAL, "unknown type '%s'", type);
	}
	c.af = (int)def_int(d, "af", 4);
	c.af_given = 1;
	c.msm_id = msm_id;
	if (strlen(target) >= sizeof c.target ||
	    (out_file && strlen(out_file) >= sizeof c.out_file))
		return fail(errbuf, errlen, VT_EINVAL, "target too long");
	snprintf(c.target, sizeof c.target, "%s", target);
	if (out_file)
		snprintf(c.out_file, sizeof c.out_file, "%s", out_file);
	rc = vt_cmdline_format(&c, out);
	if (rc < 0)
		return fail(errbuf, errlen, rc, "cannot write the command line: %s",
			    vt_strerror(rc));
	return 0;
}
