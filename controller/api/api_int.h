/* api_int.h - inside vantage-api: the request, replies, and the handlers
 * of each resource (h_msm.c, h_probes.c, h_results.c). */
#ifndef VT_API_INT_H
#define VT_API_INT_H

#include <microhttpd.h>
#include <libpq-fe.h>
#include <stdatomic.h>

#include "common/buf.h"
#include "controller/api/api.h"
#include "controller/api/dbpool.h"
#include "controller/api/dbread.h"
#include "controller/api/query.h"

#define VT_API_BODY_MAX   (1024 * 1024)   /* POST bodies */
#define VT_API_HEADER_MAX (16 * 1024)     /* all request headers */

struct vt_objstore;
struct vt_cache;
struct vt_coalesce;
struct api_metrics;
struct api_tls;

struct api_listener {
	struct vt_api *api;
	struct MHD_Daemon *d;
	int https;
	atomic_int conns;                /* open client connections */
};

struct vt_api {
	struct vt_api_conf conf;
	struct vt_dbpool *pool;
	struct vt_dbread *rd;            /* NULL: no --db-read */
	struct vt_objstore *store;       /* NULL: hot data only */
	struct vt_cache *cache;          /* anonymous GET answers */
	struct vt_coalesce *reads;       /* identical reads share a statement */
	struct api_listener http, https;
	struct api_tls *tls;             /* HTTPS certificate (tlscert.h) */
	struct api_metrics *metrics;     /* ametrics.h */
};

/* One request, from the first line to the log line. */
struct api_req {
	struct vt_api *api;
	int https;
	char *target;                    /* request target as sent (owned) */
	size_t target_len;
	char method[8];
	const char *path;                /* in target, '?' replaced by NUL */
	const char *qsraw;
	size_t qslen;
	struct vt_qs qs;
	struct vt_api_path route;
	struct vt_buf body;
	int body_over;
	int started;
	int excess;                      /* over --max-conns: a 503 */
	long long t0_us;
	int status;
	unsigned long long bytes;
	int failed;                      /* a streamed response broke off */
	int has_key;
	long long key_id;
	unsigned grants;
	char label[64];
	char *cache_key;                 /* set: a 200 goes into the cache */
	char base[300];                  /* "https://host:port" */
	struct vt_dbpool *rpool;         /* reads go to the replica (dbread.h) */
	struct MHD_Connection *conn;     /* for api_read */
	struct vt_coalesce_ticket *ticket; /* api_read's statement, in flight */
	unsigned dbs;                    /* API_DB_*: where it read (log line) */
};

#define API_DB_PRIMARY 1u
#define API_DB_REPLICA 2u

/* The request reads on the replica from now on when one is in use. */
void api_read_replica(struct api_req *r);
/* The request leaves the replica for good (why: logged once). */
void api_read_primary(struct api_req *r, const char *why);

/* Replies (they return what the MHD handler returns). */
enum MHD_Result api_reply(struct api_req *r, struct MHD_Connection *c,
			  int status, const char *body, size_t len);
/* body is taken (freed after sending). */
enum MHD_Result api_reply_take(struct api_req *r, struct MHD_Connection *c,
			       int status, char *body, size_t len);
enum MHD_Result api_reply_err(struct api_req *r, struct MHD_Connection *c,
			      const struct vt_api_err *e);
enum MHD_Result api_reply_errf(struct api_req *r, struct MHD_Connection *c,
			       int status, const char *param, const char *fmt,
			       ...) __attribute__((format(printf, 5, 6)));

/* Runs one statement on a pooled connection.  On failure fills e (503
 * when the database is busy or slow, 500 otherwise; the reason is logged). */
int api_query(struct api_req *r, PGresult **res, const char *sql, int n,
	      const char *const *params, struct vt_api_err *e);
/* The same as a named prepared statement (prepared once per connection):
 * for the requests that come often, with a fixed SQL text per name.  Only
 * for reads: identical ones (name and parameters) that arrive together
 * share one statement (controller/api/coalesce.h). */
int api_query_named(struct api_req *r, const char *name, PGresult **res,
		    const char *sql, int n, const char *const *params,
		    struct vt_api_err *e);
/* The same without holding the thread (for the hot reads: latest, the
 * measurement object): the request's connection is suspended while the
 * statement, shared with identical reads, runs on the reader threads
 * (coalesce.h), and its handler is called again once it is back: called
 * again, api_read gives the outcome as api_query_named does.
 * API_READ_LATER: return MHD_YES now.  The handler must compute the same
 * name and parameters on both calls and do nothing before it that it
 * must not do twice. */
#define API_READ_LATER 1
int api_read(struct api_req *r, struct MHD_Connection *c, const char *name,
	     PGresult **res, const char *sql, int n, const char *const *params,
	     struct vt_api_err *e);
/* A 403 unless the request's key holds grant. */
int api_need(struct api_req *r, unsigned grant, struct vt_api_err *e);

/* Handlers. */
enum MHD_Result h_msm_list(struct api_req *r, struct MHD_Connection *c);
enum MHD_Result h_msm_get(struct api_req *r, struct MHD_Connection *c);
enum MHD_Result h_msm_create(struct api_req *r, struct MHD_Connection *c);
enum MHD_Result h_msm_stop(struct api_req *r, struct MHD_Connection *c);
enum MHD_Result h_msm_part(struct api_req *r, struct MHD_Connection *c);
enum MHD_Result h_msm_tags(struct api_req *r, struct MHD_Connection *c);
enum MHD_Result h_probe_list(struct api_req *r, struct MHD_Connection *c);
enum MHD_Result h_probe_get(struct api_req *r, struct MHD_Connection *c);
enum MHD_Result h_results(struct api_req *r, struct MHD_Connection *c);
enum MHD_Result h_latest(struct api_req *r, struct MHD_Connection *c);

/* A list endpoint: the filters of what (after the conditions the caller
 * put in q, whose base must be 5), a page of obj (SQL of one object over
 * the rows of from, using $1 base URL, $2 with_probes and the fields) and
 * the count, answered as api_reply_list does. */
enum MHD_Result api_list(struct api_req *r, struct MHD_Connection *c,
			 enum vt_api_list what, const char *from,
			 const char *obj, struct vt_sqlq *q);

/* A list response {"count", "next", "previous", "results": [items]}. */
enum MHD_Result api_reply_list(struct api_req *r, struct MHD_Connection *c,
			       long long count, const struct vt_api_page *pg,
			       const char *items);

#endif
