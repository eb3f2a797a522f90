/* catchment.h - vantage-api's catchment views of a DNS measurement
 * (storage/catchment.h; docs/vantage-api.md, "Catchment"):
 *   GET /api/v2/measurements/{id}/catchment/  the views as JSON
 *   GET /catchment/{id}                       one HTML page (inline SVG)
 * Both take start, stop, probe_ids and ping (a ping measurement to join). */
#ifndef VT_API_CATCHMENT_H
#define VT_API_CATCHMENT_H

#include <jansson.h>

#include "common/buf.h"
#include "controller/api/api_int.h"

enum MHD_Result h_catchment(struct api_req *r, struct MHD_Connection *c);
enum MHD_Result h_catchment_page(struct api_req *r, struct MHD_Connection *c);

/* The HTML page of a catchment view (vt_catch_json's object) appended to
 * out: one document, its styles and SVG inline, nothing fetched from
 * elsewhere; every text from the data is escaped. */
int vt_catch_html(const json_t *view, struct vt_buf *out) VT_WUR;

#endif
