/* catchment.h - anycast catchment of a DNS measurement: which site answers
 * each probe, how fast, and when that changes (docs/vantage-api.md,
 * "Catchment").
 *
 * A catchment is built from a measurement's results in ascending time
 * order (as the planner hands them out): each result's abuf is decoded
 * (proto/site.h) to the site that answered (CHAOS TXT id.server or
 * hostname.bind, or NSID).  Three views come out of it as one JSON object
 * (vt_catch_json):
 * - per site: the probes it answers now, the median and 90th percentile of
 *   the response times of every result it answered, the countries and ASNs
 *   of its probes;
 * - per probe: its site and response time now (its newest answered result),
 *   and the time of its first answered result;
 * - over time: every change of site of a probe, with the timestamp of the
 *   last result before the change and of the first one after it;
 * and, when results of a ping measurement to the same anycast address are
 *   added, each probe's mean ping RTT and per site their median and p90.
 *
 * Percentiles are nearest-rank: the smallest value with at least p % of the
 * values at or below it.  Memory is bounded: at most VT_CATCH_PROBES_MAX
 * probes and VT_CATCH_SITES_MAX sites (results beyond are counted, not
 * kept), VT_CATCH_CHANGES_MAX changes (then "changes_truncated"), and
 * VT_CATCH_SAMPLES_MAX response times per site (beyond it a uniform
 * reservoir sample of that many).  Nothing here logs or exits. */
#ifndef VT_CATCHMENT_H
#define VT_CATCHMENT_H

#include <stddef.h>
#include <jansson.h>

#include "common/err.h"

#define VT_CATCH_PROBES_MAX  100000
#define VT_CATCH_SITES_MAX   1024
#define VT_CATCH_CHANGES_MAX 100000
#define VT_CATCH_SAMPLES_MAX 100000

struct vt_catch;

/* A new, empty catchment for measurement msm_id over [start, stop] (kept
 * for the JSON view only). */
int vt_catch_new(struct vt_catch **out, long long msm_id, long long start,
		 long long stop) VT_WUR;
void vt_catch_free(struct vt_catch *c);

/* Adds one DNS result (a RIPE Atlas result object, JSON text).  Results of
 * one probe must come in time order.  Returns 1 when it named a site, 0
 * when it did not (a timeout, an error, a reply with no identity, a probe
 * or site over the caps), VT_EPARSE when it is not a result object with
 * prb_id and timestamp, VT_ENOMEM. */
int vt_catch_add(struct vt_catch *c, const char *json, size_t len) VT_WUR;

/* Joins ping measurement ping_msm (to the same anycast address): the views
 * get the ping fields, even when no ping result is added. */
void vt_catch_join_ping(struct vt_catch *c, long long ping_msm);

/* Adds one result of the joined ping measurement: its "avg" (when > 0)
 * counts towards its probe's mean ping RTT.  Returns 1 when used, 0 when
 * not (no reply, a probe not seen in the DNS results), VT_EPARSE for
 * something that is not a result object. */
int vt_catch_add_ping(struct vt_catch *c, const char *json, size_t len) VT_WUR;

/* The probe ids seen so far, ascending, in a malloc'ed array (NULL when
 * none); *n gets the count. */
int vt_catch_probe_ids(const struct vt_catch *c, long long **ids, size_t *n) VT_WUR;

/* Sets a probe's country code (may be NULL) and ASN (0: unknown). */
void vt_catch_set_probe(struct vt_catch *c, long long prb, const char *cc,
			long long asn);

/* The three views (above) as a new JSON object:
 *   {"msm_id", "start", "stop", "ping_msm_id", "results", "answered",
 *    "unanswered", "ignored", "sites": [{"site", "probes": [ids],
 *    "probe_count", "results", "rtt_median", "rtt_p90", "countries",
 *    "asns", "ping_median", "ping_p90"}], "probes": [{"prb_id", "site",
 *    "rtt", "timestamp", "first_timestamp", "country_code", "asn",
 *    "results", "unanswered", "changes", "ping_avg"}], "changes":
 *    [{"prb_id", "from", "to",
 *    "last_before", "first_after"}], "changes_truncated"}
 * sites by name, probes by id, changes by (first_after, prb_id).  NULL when
 * out of memory. */
json_t *vt_catch_json(const struct vt_catch *c);

/* Text forms shared by the views' renderers: a timestamp as "YYYY-MM-DD
 * HH:MM:SS" (UTC; "-" for none, t <= 0), a JSON number of milliseconds
 * as "%.3f" ("-" for null).  They return buf or a static "-". */
const char *vt_catch_fmt_time(long long t, char *buf, size_t len);
const char *vt_catch_fmt_ms(const json_t *v, char *buf, size_t len);

/* ---- reading (catchment_read.c) -------------------------------------- */

struct vt_plan_db;
struct vt_objstore;

struct vt_catch_req {
	long long msm_id;               /* a DNS measurement */
	long long start, stop;          /* unix seconds, inclusive; 0 / LLONG_MAX open */
	const long long *probes;        /* NULL: all */
	size_t nprobes;
	long long ping_msm;             /* 0: none; else a ping measurement to join */
};

/* Builds the catchment of q: checks that q->msm_id is a DNS measurement
 * (VT_ENOTFOUND when there is none, VT_EINVAL when it is not DNS, the same
 * for ping_msm and ping), reads its results through the planner
 * (storage/planner.h, so archived days count), then the ping measurement's
 * results of the same probes and range, then the probes' country and ASN
 * (the ASN of the measurement's address family, else the other).  db and
 * store as for vt_plan_open.  On failure *out is NULL and errbuf says why
 * (a planner error names the object and segment). */
int vt_catch_read(struct vt_catch **out, const struct vt_plan_db *db,
		  struct vt_objstore *store, const struct vt_catch_req *q,
		  char *errbuf, size_t errlen) VT_WUR;

#endif
