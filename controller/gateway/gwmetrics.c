/* gwmetrics.c - vantage-gateway's metrics (see gwmetrics.h). */
#include "controller/gateway/gwmetrics.h"

#include <stdio.h>
#include <stdlib.h>

#include "controller/gateway/dbq.h"
#include "controller/gateway/session_int.h"

static const char *const lane_name[GW_LANES] = { "ctrl", "sink", "auth" };
static const char *const refusal_name[GW_M_REFUSALS] = {
	"max_sessions", "per_probe", "channel", "sink_full"
};
/* by role, then stock (RSA key) or not */
static const char *const role_name[2] = { "reg", "ctrl" };
static const char *const kind_name[2] = { "vantage", "stock" };

enum { F_KEX, F_NO_AUTH, F_AUTH_DENIED, FAILS };
static const char *const fail_name[FAILS] = { "kex", "no_auth", "auth_denied" };

struct gw_metrics {
	struct vt_mseries *sessions[2][2], *handshakes[2][2];
	struct vt_mseries *fails[2][FAILS];
	struct vt_mseries *refused[GW_M_REFUSALS];
	struct vt_mseries *push_ok, *push_failed;
	struct vt_mseries *scan_all, *scan_kicked;
	struct vt_mfamily *uploads;
	struct vt_mseries *results, *rejected, *upload_s;
	struct vt_mseries *sink_build, *sink_store, *sink_groups;
	struct vt_mseries *lane_depth[GW_LANES], *lane_wait[GW_LANES];
	struct vt_mseries *keep, *conns;
	struct vt_mseries *handshaking, *hs_limit_waits, *hs_peak, *hs_limit;
};

int gw_metrics_new(struct vt_metrics *m, struct gw_metrics **out)
{
	struct gw_metrics *gm;
	struct vt_mfamily *ses, *hs, *fl, *rf, *pu, *ld, *lw;

	*out = NULL;
	if (!m)
		return VT_OK;   /* no --metrics: every hook does nothing */
	if (!(gm = calloc(1, sizeof *gm)))
		return VT_ENOMEM;
	ses = vt_metrics_gauge(m, "vantage_gateway_sessions",
		"Authenticated SSH connections held, by role and probe kind "
		"(stock: a RIPE Atlas probe's RSA key).", "role,kind");
	hs = vt_metrics_counter(m, "vantage_gateway_handshakes_total",
		"Completed handshakes (key exchange and authentication).",
		"role,kind");
	fl = vt_metrics_counter(m, "vantage_gateway_handshake_failures_total",
		"Connections that ended before authenticating, by the stage "
		"reached: kex, no_auth (no attempt in time), auth_denied.",
		"role,reason");
	for (int r = 0; r < 2; r++) {
		for (int k = 0; k < 2; k++) {
			gm->sessions[r][k] = vt_metrics_series(ses, role_name[r],
							       kind_name[k]);
			gm->handshakes[r][k] = vt_metrics_series(hs, role_name[r],
								 kind_name[k]);
		}
		for (int f = 0; f < FAILS; f++)
			gm->fails[r][f] = vt_metrics_series(fl, role_name[r],
							    fail_name[f]);
	}
	rf = vt_metrics_counter(m, "vantage_gateway_refusals_total",
		"Things refused, by reason.", "reason");
	for (int i = 0; i < GW_M_REFUSALS; i++)
		gm->refused[i] = vt_metrics_series(rf, refusal_name[i]);
	pu = vt_metrics_counter(m, "vantage_gateway_pushes_total",
		"Command pushes ended, by outcome.", "outcome");
	gm->push_ok = vt_metrics_series(pu, "ok");
	gm->push_failed = vt_metrics_series(pu, "failed");
	pu = vt_metrics_counter(m, "vantage_gateway_push_scan_probes_total",
		"Probes whose pending pushes a push scan asked the database for, by scan"
		" (all: of every KEEP held; kicked: of those kicked since the last).",
		"scan");
	gm->scan_all = vt_metrics_series(pu, "all");
	gm->scan_kicked = vt_metrics_series(pu, "kicked");
	gm->uploads = vt_metrics_counter(m, "vantage_gateway_uploads_total",
		"Uploads answered, by HTTP status (200: committed).", "status");
	gm->results = vt_metrics_series(vt_metrics_counter(m,
		"vantage_gateway_results_queued_total",
		"Result lines committed to result_queue.", NULL));
	gm->rejected = vt_metrics_series(vt_metrics_counter(m,
		"vantage_gateway_lines_rejected_total",
		"Result lines refused one by one (kept in rejected).", NULL));
	gm->upload_s = vt_metrics_series(vt_metrics_histogram(m,
		"vantage_gateway_upload_seconds",
		"From a complete upload request to its COMMIT (sink lane wait "
		"included): what a probe waits for OK.", NULL,
		vt_metrics_latency_bounds, vt_metrics_latency_nbounds));
	{
		struct vt_mfamily *ss = vt_metrics_counter(m,
			"vantage_gateway_sink_seconds_total",
			"The sink's database threads' time on uploads, by part:"
			" build (the rows of a group), store (sending them"
			" through their COMMIT, the WAL flush included).",
			"part");

		gm->sink_build = vt_metrics_series(ss, "build");
		gm->sink_store = vt_metrics_series(ss, "store");
	}
	gm->sink_groups = vt_metrics_series(vt_metrics_counter(m,
		"vantage_gateway_sink_groups_total",
		"Groups of uploads stored with one COPY and one COMMIT.", NULL));
	ld = vt_metrics_gauge(m, "vantage_gateway_db_lane_depth",
		"Database jobs queued or running, by lane (sink: uploads "
		"waiting for their COMMIT).", "lane");
	lw = vt_metrics_histogram(m, "vantage_gateway_db_lane_wait_seconds",
		"Time a database job waited on its lane for a database thread.",
		"lane", vt_metrics_latency_bounds, vt_metrics_latency_nbounds);
	for (int i = 0; i < GW_LANES; i++) {
		gm->lane_depth[i] = vt_metrics_series(ld, lane_name[i]);
		gm->lane_wait[i] = vt_metrics_series(lw, lane_name[i]);
	}
	gm->keep = vt_metrics_series(vt_metrics_gauge(m,
		"vantage_gateway_keep_sessions",
		"Probes holding KEEP here (connected probes).", NULL));
	gm->conns = vt_metrics_series(vt_metrics_gauge(m,
		"vantage_gateway_connections",
		"TCP connections held, authenticated or not.", NULL));
	gm->handshaking = vt_metrics_series(vt_metrics_gauge(m,
		"vantage_gateway_handshakes_in_flight",
		"Connections accepted and not authenticated yet (at most "
		"the handshake limit).", NULL));
	gm->hs_peak = vt_metrics_series(vt_metrics_gauge(m,
		"vantage_gateway_handshakes_in_flight_peak",
		"The most connections in the handshake at once since the "
		"start (at most --max-handshakes).", NULL));
	gm->hs_limit = vt_metrics_series(vt_metrics_gauge(m,
		"vantage_gateway_handshake_limit",
		"Connections let into the handshake at once now: the "
		"handshakes completed in the last second times a few seconds, "
		"at most --max-handshakes.", NULL));
	gm->hs_limit_waits = vt_metrics_series(vt_metrics_counter(m,
		"vantage_gateway_handshake_limit_waits_total",
		"Times admission into the handshake stopped at the handshake "
		"limit: the parked connections waited for a handshake to end "
		"or the limit to rise.", NULL));
	*out = gm;
	return VT_OK;
}

void gw_metrics_free(struct gw_metrics *gm)
{
	free(gm);
}

void gw_m_session_auth(struct gw_metrics *gm, const struct gw_session *s)
{
	if (!gm)
		return;
	vt_metrics_add(gm->sessions[s->role & 1][!!s->rsa_key], 1);
	vt_metrics_add(gm->handshakes[s->role & 1][!!s->rsa_key], 1);
}

void gw_m_session_end(struct gw_metrics *gm, const struct gw_session *s)
{
	if (!gm)
		return;
	if (s->counted)
		vt_metrics_add(gm->sessions[s->role & 1][!!s->rsa_key], -1);
	else if (s->st == S_KEX)
		vt_metrics_add(gm->fails[s->role & 1][F_KEX], 1);
	else if (s->st == S_AUTH)
		vt_metrics_add(gm->fails[s->role & 1][s->auth_fails ?
			       F_AUTH_DENIED : F_NO_AUTH], 1);
}

void gw_m_refused(struct gw_metrics *gm, enum gw_m_refusal why)
{
	if (gm && why >= 0 && why < GW_M_REFUSALS)
		vt_metrics_add(gm->refused[why], 1);
}

void gw_m_handshaking(struct gw_metrics *gm, int delta)
{
	if (gm)
		vt_metrics_add(gm->handshaking, delta);
}

void gw_m_hs_limit_wait(struct gw_metrics *gm)
{
	if (gm)
		vt_metrics_add(gm->hs_limit_waits, 1);
}

void gw_m_hs_limit(struct gw_metrics *gm, int limit)
{
	if (gm)
		vt_metrics_set(gm->hs_limit, limit);
}

void gw_m_hs_peak(struct gw_metrics *gm, int n)
{
	if (gm)
		vt_metrics_set(gm->hs_peak, n);
}

void gw_m_push(struct gw_metrics *gm, int ok)
{
	if (gm)
		vt_metrics_add(ok ? gm->push_ok : gm->push_failed, 1);
}

void gw_m_push_scan(struct gw_metrics *gm, int all, int n)
{
	if (gm)
		vt_metrics_add(all ? gm->scan_all : gm->scan_kicked, n);
}

void gw_m_upload(struct gw_metrics *gm, const struct gw_sink_result *res)
{
	char st[16];

	if (!gm)
		return;
	snprintf(st, sizeof st, "%d", res->status);
	vt_metrics_add(vt_metrics_series(gm->uploads, st), 1);
	if (res->status == 200) {
		vt_metrics_add(gm->results, res->nresults);
		vt_metrics_add(gm->rejected, res->nrejected);
	}
}

void gw_m_upload_latency(struct gw_metrics *gm, int64_t us)
{
	if (gm)
		vt_metrics_observe(gm->upload_s, us / 1e6);
}

void gw_m_sink_group(struct gw_metrics *gm, int64_t build_us,
		     int64_t store_us, int n)
{
	if (!gm || n < 1)
		return;
	/* Each of the group's n uploads adds its share: the group once. */
	vt_metrics_add(gm->sink_build, build_us / 1e6 / n);
	vt_metrics_add(gm->sink_store, store_us / 1e6 / n);
	vt_metrics_add(gm->sink_groups, 1.0 / n);
}

void gw_m_lane_wait(struct gw_metrics *gm, int lane, int64_t us)
{
	if (gm && lane >= 0 && lane < GW_LANES)
		vt_metrics_observe(gm->lane_wait[lane], us / 1e6);
}

void gw_m_sweep(struct gw_metrics *gm, struct gw_dbq *q, int keep, int conns)
{
	if (!gm)
		return;
	for (int i = 0; i < GW_LANES; i++)
		vt_metrics_set(gm->lane_depth[i],
			       gw_dbq_pending(q, (enum gw_lane)i));
	vt_metrics_set(gm->keep, keep);
	vt_metrics_set(gm->conns, conns);
}
