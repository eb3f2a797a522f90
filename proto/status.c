/* status.c - the stock probe's status lines (see status.h). */
#include "proto/status.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/enrich.h"

int vt_status_id(long long id)
{
	return (id >= 7000 && id <= 7999) || (id >= 9000 && id <= 9999);
}

static int fail(char *err, size_t errlen, const char *msg)
{
	if (errlen)
		snprintf(err, errlen, "%s", msg);
	return VT_EPARSE;
}

/* The id as a number: a string of at most 18 digits or a positive integer;
 * -1 otherwise. */
static long long id_of(json_t *v)
{
	const char *s;

	if (json_is_integer(v))
		return json_integer_value(v) > 0 ? json_integer_value(v) : -1;
	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	if (!*s || strlen(s) > 18 || strspn(s, "0123456789") != strlen(s))
		return -1;
	return strtoll(s, NULL, 10);
}

static const char *str_member(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The interface of the default route in a routes array: IPv4 entries have
 * destination and netmask 0.0.0.0, IPv6 ones destination :: and
 * prefix-length 0.  NULL when there is none. */
static const char *default_iface(json_t *routes, int v6)
{
	size_t i;
	json_t *r;

	json_array_foreach(routes, i, r) {
		const char *d = str_member(r, "destination");

		if (!d || !json_is_object(r))
			continue;
		if (!v6 && !strcmp(d, "0.0.0.0") &&
		    (!str_member(r, "netmask") ||
		     !strcmp(str_member(r, "netmask"), "0.0.0.0")))
			return str_member(r, "interface");
		if (v6 && (!strcmp(d, "::") || !strcmp(d, "default")) &&
		    json_integer_value(json_object_get(r, "prefix-length")) == 0)
			return str_member(r, "interface");
	}
	return NULL;
}

static int usable_v4(const char *s, char *out, size_t n)
{
	unsigned char a[4];

	if (!s || inet_pton(AF_INET, s, a) != 1)
		return 0;
	if (a[0] == 0 || a[0] == 127 || a[0] >= 224 ||
	    (a[0] == 169 && a[1] == 254))
		return 0;
	return inet_ntop(AF_INET, a, out, (socklen_t)n) != NULL;
}

static int usable_v6(json_t *entry, const char *s, char *out, size_t n)
{
	unsigned char a[16];
	const char *scope = str_member(entry, "scope");

	if (!s || !scope || strcmp(scope, "Global") ||
	    inet_pton(AF_INET6, s, a) != 1)
		return 0;
	if (a[0] == 0xff || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80))
		return 0;
	return inet_ntop(AF_INET6, a, out, (socklen_t)n) != NULL;
}

/* Picks the address of one family from an addresses array into out. */
static void pick(json_t *addrs, json_t *routes, int v6, char *out, size_t n)
{
	const char *def = default_iface(routes, v6);
	const char *key = v6 ? "inet6-addr" : "inet-addr";
	char first[46] = "", buf[46];
	size_t i;
	json_t *e;

	json_array_foreach(addrs, i, e) {
		const char *a = json_is_object(e) ? str_member(e, key) : NULL;
		const char *ifc = a ? str_member(e, "interface") : NULL;
		int ok = v6 ? usable_v6(e, a, buf, sizeof buf)
			    : usable_v4(a, buf, sizeof buf);

		if (!ok)
			continue;
		if (def && ifc && !strcmp(def, ifc)) {
			snprintf(out, n, "%s", buf);
			return;
		}
		if (!first[0])
			snprintf(first, sizeof first, "%s", buf);
	}
	snprintf(out, n, "%s", first);
}

int vt_status_parse(const char *json, size_t len, struct vt_status *out,
		    char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *o = NULL, *t, *u;
	int r = VT_OK;

	memset(out, 0, sizeof *out);
	if (len > VT_RESULT_MAX)
		return fail(err, errlen, "status line over 1,000,000 bytes");
	o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o) {
		if (errlen)
			snprintf(err, errlen, "malformed JSON: %s", jerr.text);
		return VT_EPARSE;
	}
	if (!json_is_object(o)) {
		r = fail(err, errlen, "status line is not a JSON object");
		goto out;
	}
	out->id = id_of(json_object_get(o, "id"));
	if (!vt_status_id(out->id)) {
		r = fail(err, errlen, "no probe status \"id\"");
		goto out;
	}
	t = json_object_get(o, "time");
	if (!json_is_integer(t) || json_integer_value(t) <= 0) {
		r = fail(err, errlen, "no \"time\"");
		goto out;
	}
	out->time = json_integer_value(t);
	if (out->id == VT_STATUS_UPTIME_ID) {
		u = json_object_get(o, "uptime");
		if (!json_is_integer(u) || json_integer_value(u) < 0) {
			r = fail(err, errlen, "uptime line without \"uptime\"");
			goto out;
		}
		out->kind = VT_STATUS_UPTIME;
		out->uptime = json_integer_value(u);
	} else if (out->id == VT_STATUS_ADDRS_ID) {
		out->kind = VT_STATUS_ADDRS;
		pick(json_object_get(o, "inet-addresses"),
		     json_object_get(o, "inet-routes"), 0, out->v4,
		     sizeof out->v4);
		pick(json_object_get(o, "inet6-addresses"),
		     json_object_get(o, "inet6-routes"), 1, out->v6,
		     sizeof out->v6);
	}
out:
	json_decref(o);
	return r;
}
