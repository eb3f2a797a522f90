/* query.h - the pure parts of the researcher API (API.md): the request
 * path and query string, the list filters of measurements/ and probes/
 * turned into a parameterised SQL condition, and the error object.
 *
 * No I/O: everything here is fed by the peer's bytes and is fuzzed
 * (tests/fuzz/fuzz_api_query.c).  Every value that reaches SQL is checked
 * against its kind first and travels as a parameter, never as SQL text. */
#ifndef VT_API_QUERY_H
#define VT_API_QUERY_H

#include <stddef.h>

#include "common/buf.h"
#include "common/err.h"

#define VT_API_URL_MAX     8192   /* bytes of a request target */
#define VT_API_QS_MAX      64     /* query parameters kept */
#define VT_API_PAGE_MAX    500    /* page_size limit */
#define VT_API_PAGE_DFLT   50
#define VT_API_SQL_PARAMS  48     /* SQL parameters of one list query */

/* A refusal: HTTP status, detail, and where (a query parameter name or a
 * JSON pointer into the body; empty when none). */
struct vt_api_err {
	int  status;
	int  is_pointer;           /* source: 1 pointer, 0 parameter */
	char source[128];
	char detail[256];
};

/* The query string, percent-decoded ('+' is a space).  Names and values
 * point into buf.  A parameter given twice keeps its last value.  raw[i]
 * is the i-th parameter as it came (for building next/previous links). */
struct vt_qs {
	int n;
	struct {
		const char *name, *value;
		const char *raw;
		size_t rawlen;
	} p[VT_API_QS_MAX];
	char buf[VT_API_URL_MAX + 2];
};

/* Parses the query part of a request target (without the '?').  VT_EPARSE
 * (err filled) for a bad escape or a NUL byte; VT_ETOOBIG when over the
 * URL limit or too many parameters. */
int vt_qs_parse(const char *qs, size_t len, struct vt_qs *out,
		struct vt_api_err *err) VT_WUR;
/* The value of name, or NULL. */
const char *vt_qs_get(const struct vt_qs *q, const char *name);

/* The routes of /api/v2/ (with or without the trailing slash). */
enum vt_api_route {
	VT_R_NONE = 0,
	VT_R_MSM_LIST,        /* measurements/ */
	VT_R_MSM,             /* measurements/{id}/ */
	VT_R_MSM_RESULTS,     /* measurements/{id}/results/ */
	VT_R_MSM_LATEST,      /* measurements/{id}/latest/ */
	VT_R_MSM_PART,        /* measurements/{id}/participation-requests/ */
	VT_R_MSM_TAGS,        /* measurements/{id}/tags/ */
	VT_R_MSM_TAG,         /* measurements/{id}/tags/{tag}/ */
	VT_R_PROBE_LIST,      /* probes/ */
	VT_R_PROBE,           /* probes/{id}/ */
	VT_R_ANCHOR_LIST,     /* anchors/ */
	VT_R_ANCHOR,          /* anchors/{id}/ */
	VT_R_MSM_CATCHMENT,   /* measurements/{id}/catchment/ (Vantage) */
	VT_R_CATCHMENT_PAGE   /* /catchment/{id} (outside /api/v2/, HTML) */
};

struct vt_api_path {
	enum vt_api_route route;
	long long id;              /* measurement, probe or anchor id */
	char tag[65];              /* VT_R_MSM_TAG */
};

/* Parses a request path (no query).  VT_ENOTFOUND (err filled, 404) for
 * anything that is not a route, VT_EPARSE (400) for an id out of range. */
int vt_api_path_parse(const char *path, struct vt_api_path *out,
		      struct vt_api_err *err) VT_WUR;

/* A parameterised SQL condition: "AND ..." pieces and their text values
 * ($1.. in the order added, after `base` parameters the caller keeps). */
struct vt_sqlq {
	struct vt_buf where;       /* " AND (...)" pieces */
	int nparams;
	int base;                  /* parameters the caller numbers first */
	char *params[VT_API_SQL_PARAMS];
};

void vt_sqlq_init(struct vt_sqlq *s, int base);
void vt_sqlq_free(struct vt_sqlq *s);
/* Appends " AND (tmpl)" where ?1..?3 stand for the nvals values given. */
int vt_sqlq_add(struct vt_sqlq *s, const char *tmpl, int nvals,
		const char *const *vals) VT_WUR;

enum vt_api_list { VT_LIST_MSM, VT_LIST_PROBE, VT_LIST_ANCHOR };

/* The filters of a list endpoint (API.md table) appended to s; unknown
 * parameters are ignored.  VT_EPARSE with err (400, source parameter) for
 * a value that does not fit its filter. */
int vt_api_filters(enum vt_api_list what, const struct vt_qs *q,
		   struct vt_sqlq *s, struct vt_api_err *err) VT_WUR;

/* Paging and shape of a list: page (from 1), page_size (1..500), the
 * ORDER BY text of sort (whitelisted), fields as a text[] literal ("" for
 * all) and optional_fields=probes. */
struct vt_api_page {
	long long page;
	int size;
	const char *order;         /* static SQL text */
	char fields[1024];         /* "{id,type}" or "" */
	int with_probes;
};

int vt_api_page_parse(enum vt_api_list what, const struct vt_qs *q,
		      struct vt_api_page *out, struct vt_api_err *err) VT_WUR;

/* fields=a,b of a single object as a text[] literal ("" when absent). */
int vt_api_fields(const struct vt_qs *q, char *out, size_t outlen,
		  struct vt_api_err *err) VT_WUR;

/* The results and latest parameters (API.md table). */
struct vt_api_results {
	long long start, stop;     /* inclusive; 0 / LLONG_MAX when absent */
	char probes[4096];         /* probe_ids as "{1,2}" or "" */
	int anchors_only, public_only;
	int txt;                   /* format=txt */
	int versions;              /* latest: 1..10 */
	int lookback_days;         /* latest: 0 none */
};

int vt_api_results_parse(const struct vt_qs *q, int latest,
			 struct vt_api_results *out,
			 struct vt_api_err *err) VT_WUR;

/* Sets err (status, detail, source) and returns VT_EPARSE. */
int vt_api_fail(struct vt_api_err *err, int status, int is_pointer,
		const char *source, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* The error object of API.md for err, appended to out. */
int vt_api_err_json(const struct vt_api_err *err, struct vt_buf *out) VT_WUR;

/* A checker's message "definitions[0].target: required" turned into a
 * refusal with the pointer "/definitions/0/target" (400). */
void vt_api_err_from_msg(struct vt_api_err *err, const char *msg,
			 const char *pointer_prefix);

/* Appends s as a JSON string (quoted, escaped; invalid UTF-8 replaced). */
int vt_json_str(struct vt_buf *out, const char *s) VT_WUR;

#endif
