/* body.h - request bodies of the researcher API beyond the creation body
 * (which is scheduler/def.h's, shared with `vantage msm create`): the list
 * of participation requests of POST measurements/{id}/participation-
 * requests/.  Pure functions, fuzzed (tests/fuzz/fuzz_api_create.c). */
#ifndef VT_API_BODY_H
#define VT_API_BODY_H

#include <stddef.h>

#include "controller/api/query.h"
#include "controller/scheduler/def.h"

/* One participation request: {"action": "add", <probe spec>} (the spec as
 * `vantage msm participate --add` reads it) or {"action": "remove",
 * "type": "probes", "value": "1,2"}. */
struct vt_api_part {
	int remove;
	struct vt_msm_spec spec;             /* add */
	char ids[VT_SPEC_VALUE_MAX];         /* remove: "1,2" */
};

/* Parses a body that is a list of requests (or one object) into *out (n
 * of them; the caller frees *out).  VT_EPARSE with e (400, pointer). */
int vt_api_part_parse(const char *body, size_t len, struct vt_api_part **out,
		      size_t *n, struct vt_api_err *e) VT_WUR;

#endif
