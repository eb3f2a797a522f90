/* gwmetrics.h - vantage-gateway's metrics (docs/operations.md, "What to
 * watch"): sessions by role and probe kind, handshakes and their failures
 * by reason, refusals by reason, pushes, uploads and their latency, the
 * database lanes' depth and waits.
 *
 * Every hook is one call at the place the event happens, safe from any
 * thread (the series are C11 atomics, metrics.h), and does nothing when
 * the gateway runs without --metrics (m NULL). */
#ifndef VT_GW_METRICS_H
#define VT_GW_METRICS_H

#include <stdint.h>
#include "common/err.h"
#include "common/metrics.h"

struct gw_session;
struct gw_sink_result;
struct gw_job;
struct gw_metrics;

/* Refusal reasons. */
enum gw_m_refusal {
	GW_M_MAX_SESSIONS,   /* connection closed: --max-sessions held */
	GW_M_PER_PROBE,      /* authentication: --max-per-probe held */
	GW_M_CHANNEL,        /* a channel, forward, request or exec refused */
	GW_M_SINK_FULL,      /* an upload answered 503: the sink lane is full */
	GW_M_REFUSALS
};

int gw_metrics_new(struct vt_metrics *m, struct gw_metrics **out) VT_WUR;
void gw_metrics_free(struct gw_metrics *gm);

/* s authenticated (a handshake completed). */
void gw_m_session_auth(struct gw_metrics *gm, const struct gw_session *s);
/* s ends: an authenticated session leaves the gauge, another counts as a
 * failed handshake with the stage it reached as reason. */
void gw_m_session_end(struct gw_metrics *gm, const struct gw_session *s);
void gw_m_refused(struct gw_metrics *gm, enum gw_m_refusal why);
/* A connection entered (delta 1) or left (-1) the handshake. */
void gw_m_handshaking(struct gw_metrics *gm, int delta);
/* Admission into the handshake stopped at the handshake limit (the parked
 * connections wait for a handshake to end or the limit to rise). */
void gw_m_hs_limit_wait(struct gw_metrics *gm);
/* The handshake limit in force changed to limit (thread 0). */
void gw_m_hs_limit(struct gw_metrics *gm, int limit);
/* n in the handshake at once, the most yet (thread 0). */
void gw_m_hs_peak(struct gw_metrics *gm, int n);
/* A push ended (ok: the probe answered OK). */
void gw_m_push(struct gw_metrics *gm, int ok);
/* A push scan asked about n probes (all: every KEEP held; else those
 * kicked since the last scan). */
void gw_m_push_scan(struct gw_metrics *gm, int all, int n);
/* An upload was answered (res: status, results, rejected lines). */
void gw_m_upload(struct gw_metrics *gm, const struct gw_sink_result *res);
/* An upload's batch came back from the database after us microseconds
 * (queued on the sink lane, then committed). */
void gw_m_upload_latency(struct gw_metrics *gm, int64_t us);
/* An upload of a group of n was stored: the group's time building its
 * rows and sending them through their COMMIT (counted once a group, each
 * upload adding its share). */
void gw_m_sink_group(struct gw_metrics *gm, int64_t build_us,
		     int64_t store_us, int n);
/* A job waited us microseconds on lane before a database thread took it
 * (a database thread calls it). */
void gw_m_lane_wait(struct gw_metrics *gm, int lane, int64_t us);
/* Once a second (thread 0): the gauges read rather than counted, the
 * gateway-wide totals of every loop thread: q's lane depths, keep (the
 * session registry's KEEP holders) and conns (connections held). */
struct gw_dbq;
void gw_m_sweep(struct gw_metrics *gm, struct gw_dbq *q, int keep, int conns);

#endif
