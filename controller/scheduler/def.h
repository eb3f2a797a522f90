/* def.h - measurement requests as the API takes them (API.md, "Creating a
 * measurement"): parsing and checking the JSON body of POST measurements/,
 * probe specs, and the command line a definition becomes on a probe.
 *
 * Pure functions: no I/O.  Errors name the offending field, e.g.
 * "definitions[0].target: required for ping". */
#ifndef VT_SCHED_DEF_H
#define VT_SCHED_DEF_H

#include <stddef.h>
#include <jansson.h>

#include "common/buf.h"
#include "common/err.h"
#include "proto/probejobs.h"

#define VT_MSM_BODY_MAX   (1024 * 1024)   /* bytes of a request body */
#define VT_MSM_DEFS_MAX   100             /* definitions in one request */
#define VT_MSM_SPECS_MAX  100             /* probe specs in one request */
#define VT_SPEC_VALUE_MAX 4096            /* bytes of a spec's value */
#define VT_SPEC_TAGS_MAX  2048            /* bytes of a tag array literal */

/* Output file of measurement results on the probe (proto/probejobs.h). */
#define VT_MSM_OUT_FILE   VT_JOBS_NEW_FILE

/* One probe spec: {"type", "value", "requested", "tags": {include, exclude}}. */
struct vt_msm_spec {
	char type[8];                      /* area country asn prefix probes msm */
	char value[VT_SPEC_VALUE_MAX];     /* normalised (see docs) */
	int  requested;                    /* >= 1 */
	char include[VT_SPEC_TAGS_MAX];    /* PostgreSQL array literal, "{a,b}" */
	char exclude[VT_SPEC_TAGS_MAX];
};

/* A whole creation request.  defs is an array of definition objects,
 * checked and completed with their defaults (af, interval, spread,
 * is_public, tags), each ready to be stored as a measurement's definition. */
struct vt_msm_request {
	json_t            *defs;
	int                is_oneoff;
	long long          start_time;     /* 0: as soon as possible */
	long long          stop_time;      /* 0: none */
	int                nspecs;
	struct vt_msm_spec specs[VT_MSM_SPECS_MAX];
};

/* Parses and checks a request body.  now (unix seconds) is used to refuse
 * stop times in the past.  On success the caller frees *out with
 * vt_msm_request_free; on failure returns VT_EPARSE (or VT_ETOOBIG,
 * VT_ENOMEM) with the field and reason in errbuf. */
int vt_msm_request_parse(const char *body, size_t len, long long now,
			 struct vt_msm_request **out, char *errbuf,
			 size_t errlen) VT_WUR;
void vt_msm_request_free(struct vt_msm_request *r);

/* Parses one probe spec object.  where prefixes error messages ("probes[0]").
 * VT_EPARSE with the reason in errbuf. */
int vt_msm_spec_parse(const json_t *obj, const char *where,
		      struct vt_msm_spec *out, char *errbuf, size_t errlen) VT_WUR;

/* Checks one definition object and completes it with defaults in place
 * (where prefixes error messages).  VT_EPARSE, or VT_EUNSUPP for options
 * that cannot be run yet, with the reason in errbuf. */
int vt_msm_def_check(json_t *def, const char *where, int is_oneoff,
		     char *errbuf, size_t errlen) VT_WUR;

/* Appends the command line (PROTOCOL.md, "Measurement command lines") of
 * a checked definition for measurement msm_id, writing results to out_file
 * (NULL: none).  VT_EINVAL with the reason in errbuf when the definition
 * cannot be written as a line. */
int vt_msm_command(const json_t *def, long msm_id, const char *out_file,
		   struct vt_buf *out, char *errbuf, size_t errlen) VT_WUR;

/* Normalises a list of probe ids ("1, 2,3" -> "1,2,3").  VT_EPARSE when it
 * holds anything else or no id. */
int vt_msm_id_list(const char *in, char *out, size_t outlen) VT_WUR;

#endif
