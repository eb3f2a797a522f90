/* status.h - the stock probe's own status lines (PROTOCOL.md, "Upload").
 *
 * Beside its measurement results a stock probe uploads RESULT lines about
 * itself, with an "id" from its own ranges (7000-7999, 9000-9999) rather
 * than a measurement: 7001 its uptime (rptuptime), 9104 its interface
 * addresses, routes and resolvers (rptaddrs), 9018 disk space (dfrm), 9000
 * log messages, 98xx its daemons' events.  Uptime and addresses describe
 * the probe; the others are only counted.
 *
 * Pure functions: the line's bytes in, a struct out. */
#ifndef VT_PROTO_STATUS_H
#define VT_PROTO_STATUS_H

#include <stddef.h>
#include "common/err.h"

#define VT_STATUS_UPTIME_ID 7001
#define VT_STATUS_ADDRS_ID  9104

enum vt_status_kind {
	VT_STATUS_OTHER = 0,        /* a status id whose content is not used */
	VT_STATUS_UPTIME,           /* 7001 */
	VT_STATUS_ADDRS             /* 9104 */
};

struct vt_status {
	enum vt_status_kind kind;
	long long id;
	long long time;             /* unix seconds, as the probe wrote it */
	long long uptime;           /* UPTIME: seconds since the probe booted */
	char      v4[16];           /* ADDRS: its IPv4 address, "" when none */
	char      v6[46];           /* ADDRS: its global IPv6 address, "" when none */
};

/* 1 when id is one of the probe's own status ids, not a measurement's. */
int vt_status_id(long long id);

/* Parses a status line (the JSON after "RESULT "): an object with a status
 * "id" (string of digits or number) and "time".  An address report gives
 * per family the address of the interface holding the default route (else
 * the first usable one): IPv4 neither loopback, link-local, unspecified nor
 * multicast; IPv6 of scope Global.  VT_OK, or VT_EPARSE with the reason in
 * err (also for an uptime line without a usable "uptime"). */
int vt_status_parse(const char *json, size_t len, struct vt_status *out,
		    char *err, size_t errlen) VT_WUR;

#endif
