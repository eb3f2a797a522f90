/* ametrics.c - vantage-api's metrics (see ametrics.h). */
#include "controller/api/ametrics.h"

#include <stdio.h>
#include <stdlib.h>

#include "controller/api/query.h"

/* by enum vt_api_route; a route added later counts as "other" until named */
static const char *const endpoint[] = {
	[VT_R_NONE] = "none",
	[VT_R_MSM_LIST] = "measurements",
	[VT_R_MSM] = "measurement",
	[VT_R_MSM_RESULTS] = "results",
	[VT_R_MSM_LATEST] = "latest",
	[VT_R_MSM_PART] = "participation_requests",
	[VT_R_MSM_TAGS] = "tags",
	[VT_R_MSM_TAG] = "tag",
	[VT_R_PROBE_LIST] = "probes",
	[VT_R_PROBE] = "probe",
	[VT_R_ANCHOR_LIST] = "anchors",
	[VT_R_ANCHOR] = "anchor",
	[VT_R_MSM_CATCHMENT] = "catchment",
	[VT_R_CATCHMENT_PAGE] = "catchment_page",
};
#define NENDPOINTS ((int)(sizeof endpoint / sizeof endpoint[0]))

struct api_metrics {
	struct vt_mfamily *requests, *bytes, *seconds;
	/* series looked up once per endpoint (status varies: looked up) */
	struct vt_mseries *bytes_s[NENDPOINTS + 1], *seconds_s[NENDPOINTS + 1];
};

const char *api_metrics_endpoint(int route)
{
	return route >= 0 && route < NENDPOINTS && endpoint[route] ?
	       endpoint[route] : "other";
}

int api_metrics_new(struct vt_metrics *m, struct api_metrics **out)
{
	struct api_metrics *am = calloc(1, sizeof *am);

	*out = NULL;
	if (!am)
		return VT_ENOMEM;
	am->requests = vt_metrics_counter(m, "vantage_api_requests_total",
		"Requests answered, by endpoint and HTTP status.",
		"endpoint,status");
	am->seconds = vt_metrics_histogram(m, "vantage_api_request_seconds",
		"Time from the request's first line to its last byte sent.",
		"endpoint", vt_metrics_latency_bounds,
		vt_metrics_latency_nbounds);
	am->bytes = vt_metrics_counter(m, "vantage_api_response_bytes_total",
		"Body bytes sent (streamed results included), by endpoint.",
		"endpoint");
	for (int i = 0; i <= NENDPOINTS; i++) {
		const char *e = api_metrics_endpoint(i < NENDPOINTS ? i : -1);

		am->bytes_s[i] = vt_metrics_series(am->bytes, e);
		am->seconds_s[i] = vt_metrics_series(am->seconds, e);
	}
	*out = am;
	return VT_OK;
}

void api_metrics_free(struct api_metrics *am)
{
	free(am);
}

void api_metrics_done(struct api_metrics *am, int route, int status,
		      unsigned long long bytes, double seconds)
{
	int i = route >= 0 && route < NENDPOINTS && endpoint[route] ? route :
		NENDPOINTS;
	char st[16];

	if (!am)
		return;
	snprintf(st, sizeof st, "%d", status);
	vt_metrics_add(vt_metrics_series(am->requests, api_metrics_endpoint(route),
					 st), 1);
	vt_metrics_observe(am->seconds_s[i], seconds);
	vt_metrics_add(am->bytes_s[i], (double)bytes);
}
