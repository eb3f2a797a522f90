/* api.c - vantage-api: listeners, the request's life, routing, replies. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "common/log.h"
#include "common/metrics_http.h"
#include "common/pg.h"
#include "controller/api/ametrics.h"
#include "controller/api/api_int.h"
#include "controller/api/cache.h"
#include "controller/api/catchment.h"
#include "controller/api/coalesce.h"
#include "controller/api/keys.h"
#include "controller/api/tlscert.h"
#include "storage/objstore.h"

void vt_api_conf_defaults(struct vt_api_conf *c)
{
	memset(c, 0, sizeof *c);
	c->threads = 8;
	c->db_conns = 8;
	c->max_conns = 1024;
	c->conn_timeout_s = 30;
	c->stmt_ms = 10000;
	c->cache_ms = 1000;
	c->db_read_max_lag_s = 30;
}

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* ---- replies -------------------------------------------------------- */

static enum MHD_Result queue(struct api_req *r, struct MHD_Connection *c,
			     int status, struct MHD_Response *resp, size_t len)
{
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	if (status != 204)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
					"application/json");
	ret = MHD_queue_response(c, (unsigned)status, resp);
	MHD_destroy_response(resp);
	r->status = status;
	r->bytes = len;
	return ret;
}

/* A 200 to a cacheable request is kept for the next ones. */
static void remember(struct api_req *r, int status, const char *body, size_t len)
{
	if (r->cache_key && status == 200)
		vt_cache_put(r->api->cache, r->cache_key, body, len);
}

enum MHD_Result api_reply(struct api_req *r, struct MHD_Connection *c,
			  int status, const char *body, size_t len)
{
	union { const char *c; void *v; } u = { body };

	remember(r, status, body, len);

	return queue(r, c, status, MHD_create_response_from_buffer(len, u.v,
		     MHD_RESPMEM_MUST_COPY), len);
}

enum MHD_Result api_reply_take(struct api_req *r, struct MHD_Connection *c,
			       int status, char *body, size_t len)
{
	struct MHD_Response *resp;

	remember(r, status, body, len);
	resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!resp)
		free(body);
	return queue(r, c, status, resp, len);
}

enum MHD_Result api_reply_err(struct api_req *r, struct MHD_Connection *c,
			      const struct vt_api_err *e)
{
	struct vt_buf b;
	enum MHD_Result ret;

	vt_buf_init(&b, 8192);
	if (vt_api_err_json(e, &b) < 0) {
		vt_buf_free(&b);
		return MHD_NO;
	}
	ret = api_reply(r, c, e->status, b.data, b.len);
	vt_buf_free(&b);
	return ret;
}

enum MHD_Result api_reply_errf(struct api_req *r, struct MHD_Connection *c,
			       int status, const char *param, const char *fmt, ...)
{
	struct vt_api_err e = { .status = status };
	va_list ap;

	snprintf(e.source, sizeof e.source, "%s", param ? param : "");
	va_start(ap, fmt);
	vsnprintf(e.detail, sizeof e.detail, fmt, ap);
	va_end(ap);
	return api_reply_err(r, c, &e);
}

/* The query string without page and key, for next/previous links. */
static int link_qs(const struct api_req *r, struct vt_buf *b, long long page)
{
	int rc = 0;

	for (int i = 0; rc == 0 && i < r->qs.n; i++) {
		if (!strcmp(r->qs.p[i].name, "page") || !strcmp(r->qs.p[i].name, "key"))
			continue;
		rc = vt_buf_add(b, r->qs.p[i].raw, r->qs.p[i].rawlen);
		if (rc == 0)
			rc = vt_buf_addc(b, '&');
	}
	return rc ? rc : vt_buf_addf(b, "page=%lld", page);
}

static int add_link(const struct api_req *r, struct vt_buf *b, long long page)
{
	int rc;

	if (page < 1)
		return vt_buf_adds(b, "null");
	rc = vt_buf_addf(b, "\"%s%s?", r->base, r->path);
	if (rc == 0)
		rc = link_qs(r, b, page);
	return rc ? rc : vt_buf_addc(b, '"');
}

enum MHD_Result api_reply_list(struct api_req *r, struct MHD_Connection *c,
			       long long count, const struct vt_api_page *pg,
			       const char *items)
{
	long long last = (count + pg->size - 1) / pg->size;
	struct vt_buf b;
	size_t len;
	char *s;
	int rc;

	vt_buf_init(&b, 0);
	rc = vt_buf_addf(&b, "{\"count\": %lld, \"next\": ", count);
	if (rc == 0)
		rc = add_link(r, &b, pg->page < last ? pg->page + 1 : 0);
	if (rc == 0)
		rc = vt_buf_adds(&b, ", \"previous\": ");
	if (rc == 0)
		rc = add_link(r, &b, pg->page > 1 ?
			      (pg->page - 1 < last ? pg->page - 1 : last) : 0);
	if (rc == 0)
		rc = vt_buf_addf(&b, ", \"results\": [%s]}", items);
	if (rc < 0) {
		vt_buf_free(&b);
		return api_reply_errf(r, c, 500, NULL, "out of memory");
	}
	s = vt_buf_take(&b, &len);
	return api_reply_take(r, c, 200, s, len);
}

/* The page of a list: count and objects in one statement.  Parameters:
 * $1 base URL, $2 with_probes, $3 fields, $4 limit, $5 offset, then q's. */
enum MHD_Result api_list(struct api_req *r, struct MHD_Connection *c,
			 enum vt_api_list what, const char *from,
			 const char *obj, struct vt_sqlq *q)
{
	struct vt_api_err e = { 0 };
	struct vt_api_page pg;
	struct vt_buf sql;
	PGresult *res = NULL;
	const char *p[5 + VT_API_SQL_PARAMS];
	const char *w;
	char lim[24], off[24];
	enum MHD_Result ret;

	vt_buf_init(&sql, 0);
	if (vt_api_page_parse(what, &r->qs, &pg, &e) < 0 ||
	    vt_api_filters(what, &r->qs, q, &e) < 0)
		goto fail;
	snprintf(lim, sizeof lim, "%d", pg.size);
	snprintf(off, sizeof off, "%lld", (pg.page - 1) * pg.size);
	p[0] = r->base;
	p[1] = pg.with_probes ? "t" : "f";
	p[2] = pg.fields[0] ? pg.fields : NULL;
	p[3] = lim;
	p[4] = off;
	for (int i = 0; i < q->nparams; i++)
		p[5 + i] = q->params[i];
	w = q->where.data ? q->where.data : "";
	if (vt_buf_addf(&sql,
			"SELECT (SELECT count(*) FROM %s WHERE $2::boolean IS NOT NULL%s),"
			" (SELECT string_agg(o, ', ' ORDER BY n) FROM (SELECT"
			"  vt_api_fields(%s, $3::text[])::text o,"
			"  row_number() OVER (ORDER BY %s) n"
			"  FROM %s WHERE true%s ORDER BY %s"
			"  LIMIT $4::integer OFFSET $5::bigint) s)",
			from, w, obj, pg.order, from, w, pg.order) < 0) {
		vt_api_fail(&e, 500, 0, "", "out of memory");
		goto fail;
	}
	if (api_query(r, &res, sql.data, 5 + q->nparams, p, &e) < 0)
		goto fail;
	ret = api_reply_list(r, c, atoll(PQgetvalue(res, 0, 0)), &pg,
			     PQgetvalue(res, 0, 1));
	goto out;
fail:
	ret = api_reply_err(r, c, &e);
out:
	PQclear(res);
	vt_buf_free(&sql);
	return ret;
}

/* ---- database ------------------------------------------------------- */

/* Runs a named prepared statement, preparing it on this connection first
 * when the connection has not seen it. */
static int exec_prepared(PGconn *db, PGresult **res, const char *name,
			 const char *sql, int n, const char *const *params,
			 char *err, size_t errlen)
{
	PGresult *r = PQexecPrepared(db, name, n, params, NULL, NULL, 0);
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

	if (r && PQresultStatus(r) == PGRES_FATAL_ERROR && state &&
	    !strcmp(state, "26000")) {             /* not prepared here yet */
		PQclear(r);
		r = PQprepare(db, name, sql, n, NULL);
		if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
			snprintf(err, errlen, "%s", r ? PQresultErrorMessage(r) :
				 PQerrorMessage(db));
			PQclear(r);
			return VT_EDB;
		}
		PQclear(r);
		r = PQexecPrepared(db, name, n, params, NULL, NULL, 0);
	}
	*res = NULL;
	if (!r || (PQresultStatus(r) != PGRES_TUPLES_OK &&
		   PQresultStatus(r) != PGRES_COMMAND_OK)) {
		snprintf(err, errlen, "%s", r ? PQresultErrorMessage(r) :
			 PQerrorMessage(db));
		PQclear(r);
		return VT_EDB;
	}
	*res = r;
	return 0;
}

int api_query(struct api_req *r, PGresult **res, const char *sql, int n,
	      const char *const *params, struct vt_api_err *e)
{
	return api_query_named(r, NULL, res, sql, n, params, e);
}

/* One statement on a pooled connection; VT_EAGAIN when none is free. */
struct stmt {
	struct vt_dbpool *pool;
	const char *name, *sql;
	int n;
	const char *const *params;
};

static int run_stmt(void *arg, PGresult **res, char *err, size_t errlen)
{
	struct stmt *st = arg;
	PGconn *db;
	int rc;

	*res = NULL;
	if (!(db = vt_dbpool_get(st->pool, &rc, err, errlen)))
		return VT_EAGAIN;
	rc = st->name ? exec_prepared(db, res, st->name, st->sql, st->n, st->params,
				      err, errlen) :
	     vt_pg_exec(db, res, err, errlen, st->sql, st->n, st->params);
	vt_dbpool_put(st->pool, db);
	return rc;
}

/* The coalescing key of a named read: its name and parameters. */
static int read_key(struct vt_buf *k, const char *name, int n,
		    const char *const *params)
{
	int rc = vt_buf_add(k, name, strlen(name) + 1);

	for (int i = 0; rc == 0 && i < n; i++)
		rc = params[i] ? vt_buf_add(k, params[i], strlen(params[i]) + 1) :
		     vt_buf_addc(k, '\x01');
	return rc;
}

/* What a read's outcome means for the request: 0 with *res, < 0 with e
 * filled, or READ_AGAIN when it is to be asked again (of the primary). */
#define READ_AGAIN 1
static int read_outcome(struct api_req *r, int rc, PGresult **res,
			const char *err, struct vt_api_err *e)
{
	if (rc == VT_EAGAIN && r->rpool) {
		api_read_primary(r, err);
		return READ_AGAIN;
	}
	if (rc == VT_EAGAIN) {
		vt_warn("database: %s", err);
		return vt_api_fail(e, 503, 0, "", "the database is busy; try again");
	}
	r->dbs |= r->rpool ? API_DB_REPLICA : API_DB_PRIMARY;
	if (r->rpool && (rc < 0 || (PQresultStatus(*res) == PGRES_TUPLES_OK &&
				    PQntuples(*res) == 0))) {
		/* Failed on the replica, or found nothing there: perhaps not
		 * replayed yet (a measurement just made).  Ask the primary. */
		if (rc < 0)
			vt_warn("%s %s: replica: %s", r->method, r->path, err);
		api_read_primary(r, rc < 0 ? err : NULL);
		if (rc == 0)
			PQclear(*res);
		*res = NULL;
		return READ_AGAIN;
	}
	if (rc < 0) {
		vt_warn("%s %s: database: %s", r->method, r->path, err);
		if (strstr(err, "statement timeout"))
			return vt_api_fail(e, 503, 0, "", "the database took too long");
		return vt_api_fail(e, 500, 0, "", "database error");
	}
	return 0;
}

/* The coalescing key of a read: where it goes (a replica's answer and the
 * primary's are never shared), its name and parameters. */
static int coalesce_key(struct api_req *r, struct vt_buf *key, const char *name,
			int n, const char *const *params)
{
	vt_buf_init(key, 64 * 1024);
	return vt_buf_addc(key, r->rpool ? 'R' : 'P') == 0 &&
	       read_key(key, name, n, params) == 0 ? 0 : VT_ENOMEM;
}

int api_query_named(struct api_req *r, const char *name, PGresult **res,
		    const char *sql, int n, const char *const *params,
		    struct vt_api_err *e)
{
	struct stmt st = { r->api->pool, name, sql, n, params };
	struct vt_buf key;
	char err[512];
	int rc;

	do {
		st.pool = r->rpool ? r->rpool : r->api->pool;
		vt_buf_init(&key, 0);
		if (name && r->api->reads && coalesce_key(r, &key, name, n, params) == 0)
			rc = vt_coalesce_do(r->api->reads, key.data, key.len, run_stmt,
					    &st, res, err, sizeof err);
		else
			rc = run_stmt(&st, res, err, sizeof err);
		vt_buf_free(&key);
	} while ((rc = read_outcome(r, rc, res, err, e)) == READ_AGAIN);
	return rc;
}

/* ---- reads that do not hold a thread (api_read) ---------------------- */

/* A statement of its own: the group that runs it outlives the handler. */
struct ostmt {
	struct stmt st;
	const char *p[VT_API_SQL_PARAMS + 8];
	char *copy[VT_API_SQL_PARAMS + 8];
};

static void ostmt_free(void *arg)
{
	struct ostmt *o = arg;

	for (int i = 0; o && i < o->st.n; i++)
		free(o->copy[i]);
	free(o);
}

static int ostmt_run(void *arg, PGresult **res, char *err, size_t errlen)
{
	return run_stmt(&((struct ostmt *)arg)->st, res, err, errlen);
}

static struct ostmt *ostmt_new(struct vt_dbpool *pool, const char *name,
			       const char *sql, int n, const char *const *params)
{
	struct ostmt *o;

	if (n > (int)(sizeof o->p / sizeof o->p[0]) || !(o = calloc(1, sizeof *o)))
		return NULL;
	o->st = (struct stmt){ pool, name, sql, n, o->p };
	for (int i = 0; i < n; i++)
		if (params[i] && !(o->p[i] = o->copy[i] = strdup(params[i]))) {
			ostmt_free(o);
			return NULL;
		}
	return o;
}

static void read_accepted(void *cookie)
{
	struct api_req *r = cookie;

	MHD_suspend_connection(r->conn);
}

static void read_done(void *cookie)
{
	struct api_req *r = cookie;

	MHD_resume_connection(r->conn);
}

int api_read(struct api_req *r, struct MHD_Connection *c, const char *name,
	     PGresult **res, const char *sql, int n, const char *const *params,
	     struct vt_api_err *e)
{
	struct ostmt *o;
	struct vt_buf key;
	char err[512];
	int rc;

	if (r->ticket) {                 /* called again: the statement is back */
		rc = vt_coalesce_collect(r->api->reads, r->ticket, res, err, sizeof err);
		r->ticket = NULL;
		if ((rc = read_outcome(r, rc, res, err, e)) != READ_AGAIN)
			return rc;
		return api_query_named(r, name, res, sql, n, params, e);
	}
	*res = NULL;
	vt_buf_init(&key, 0);
	if (!r->api->reads || coalesce_key(r, &key, name, n, params) < 0) {
		vt_buf_free(&key);
		return api_query_named(r, name, res, sql, n, params, e);
	}
	o = ostmt_new(r->rpool ? r->rpool : r->api->pool, name, sql, n, params);
	r->conn = c;
	rc = o ? vt_coalesce_submit(r->api->reads, key.data, key.len, ostmt_run, o,
				    ostmt_free, read_accepted, read_done, r,
				    &r->ticket) : VT_ENOMEM;
	vt_buf_free(&key);
	if (rc == 0)
		return API_READ_LATER;
	/* no reader threads (stopping) or no memory: in this thread */
	return api_query_named(r, name, res, sql, n, params, e);
}

void api_read_replica(struct api_req *r)
{
	r->rpool = vt_dbread_pool(r->api->rd);
}

void api_read_primary(struct api_req *r, const char *why)
{
	if (r->rpool && why)
		vt_dbread_lost(r->api->rd, why);
	r->rpool = NULL;
}

int api_need(struct api_req *r, unsigned grant, struct vt_api_err *e)
{
	if (r->grants & grant)
		return 0;
	return vt_api_fail(e, 403, 0, "key", "%s needs an API key with the '%s' grant",
			   r->has_key ? "The provided API key cannot do this: it" :
			   "This request", vt_key_grant_name(grant));
}

/* ---- connections over --max-conns ----------------------------------- */

/* libmicrohttpd closes the connections over its own limit without a word,
 * so its limit is ours plus a margin (excess_margin), and the connections
 * of the margin get the API's error object: a 503 with Retry-After, then
 * the connection is closed.  Each costs at most one connection's memory
 * for EXCESS_TIMEOUT_S seconds. */
#define EXCESS_TIMEOUT_S 2
static int excess_flag;                  /* its address marks a connection */

static unsigned excess_margin(int max_conns)
{
	int m = max_conns / 8;

	return (unsigned)(m < 16 ? 16 : m > 256 ? 256 : m);
}

static void conn_cb(void *cls, struct MHD_Connection *c, void **socket_ctx,
		    enum MHD_ConnectionNotificationCode toe)
{
	struct api_listener *l = cls;

	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		atomic_fetch_sub(&l->conns, 1);
		return;
	}
	if (atomic_fetch_add(&l->conns, 1) >= l->api->conf.max_conns) {
		*socket_ctx = &excess_flag;
		MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT,
					  (unsigned)EXCESS_TIMEOUT_S);
	}
}

static enum MHD_Result reply_excess(struct api_req *r, struct MHD_Connection *c)
{
	struct vt_api_err e = { .status = 503 };
	struct MHD_Response *resp;
	struct vt_buf b;
	size_t len;
	char *s;

	r->path = r->path ? r->path : "-";
	snprintf(e.detail, sizeof e.detail, "the server has %d open connections,"
		 " its limit; try again", r->api->conf.max_conns);
	vt_buf_init(&b, 8192);
	if (vt_api_err_json(&e, &b) < 0) {
		vt_buf_free(&b);
		return MHD_NO;
	}
	s = vt_buf_take(&b, &len);
	if (!(resp = MHD_create_response_from_buffer(len, s, MHD_RESPMEM_MUST_FREE))) {
		free(s);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Retry-After", "1");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	return queue(r, c, 503, resp, len);
}

/* ---- the request's life --------------------------------------------- */

static void *uri_cb(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct api_listener *l = cls;
	struct api_req *r = calloc(1, sizeof *r);
	const union MHD_ConnectionInfo *ci;

	if (!r)
		return NULL;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	r->excess = ci && ci->socket_context == &excess_flag;
	r->api = l->api;
	r->https = l->https;
	r->t0_us = now_us();
	r->target_len = strlen(uri);
	r->target = strndup(uri, VT_API_URL_MAX + 1);
	vt_buf_init(&r->body, VT_API_BODY_MAX);
	return r;
}

static void done_cb(void *cls, struct MHD_Connection *c, void **con_cls,
		    enum MHD_RequestTerminationCode toe)
{
	struct api_req *r = *con_cls;
	char path[160];

	if (!r)
		return;
	snprintf(path, sizeof path, "%s", r->path ? r->path : "-");
	vt_log_record(VT_LOG_INFO, "%s %s %d %lluB %lldms key=%s%s%s", r->method[0] ? r->method : "-",
		path, r->status, r->bytes, (now_us() - r->t0_us) / 1000,
		r->has_key ? r->label : "-", !r->api->rd ? "" :
		r->dbs == API_DB_REPLICA ? " db=replica" :
		r->dbs == API_DB_PRIMARY ? " db=primary" :
		r->dbs ? " db=replica+primary" : "",
		toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" :
		r->failed ? " (aborted)" :
		toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? " (timeout)" :
		toe == MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN ? " (shutdown)" :
		" (client gone)");
	api_metrics_done(r->api->metrics, r->route.route, r->status, r->bytes,
			 (now_us() - r->t0_us) / 1e6);
	if (r->ticket) {                 /* closed before its read came back */
		PGresult *res;

		vt_coalesce_collect(r->api->reads, r->ticket, &res, path, sizeof path);
		PQclear(res);
	}
	vt_buf_free(&r->body);
	free(r->cache_key);
	free(r->target);
	free(r);
	*con_cls = NULL;
}

static enum MHD_Result sum_header(void *cls, enum MHD_ValueKind kind,
				  const char *k, const char *v)
{
	size_t *n = cls;

	*n += strlen(k) + (v ? strlen(v) : 0) + 4;
	return MHD_YES;
}

/* "https://host" from the Host header (checked) and the listener. */
static void set_base(struct api_req *r, struct MHD_Connection *c)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");

	if (!h || !*h || strlen(h) > 255 ||
	    strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		   "0123456789.-:[]") != strlen(h))
		h = "localhost";
	snprintf(r->base, sizeof r->base, "%s://%s", r->https ? "https" : "http", h);
}

/* The key from "Authorization: Key K" or ?key=K; 401 when unknown. */
static int authenticate(struct api_req *r, struct MHD_Connection *c,
			struct vt_api_err *e)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_AUTHORIZATION);
	const char *k = NULL;
	char err[512];
	PGconn *db;
	int rc;

	if (h && !strncasecmp(h, "Key ", 4))
		k = h + 4 + strspn(h + 4, " ");
	else if (vt_qs_get(&r->qs, "key") && *vt_qs_get(&r->qs, "key"))
		k = vt_qs_get(&r->qs, "key");
	if (!k)
		return 0;
	r->has_key = 1;
	snprintf(r->label, sizeof r->label, "(unknown)");
	if (!vt_key_wellformed(k))
		return vt_api_fail(e, 401, 0, "key", "The provided API key does not exist");
	if (!(db = vt_dbpool_get(r->api->pool, &rc, err, sizeof err))) {
		vt_warn("database: %s", err);
		return vt_api_fail(e, 503, 0, "", "the database is busy; try again");
	}
	rc = vt_key_lookup(db, k, &r->key_id, r->label, sizeof r->label,
			   &r->grants, err, sizeof err);
	vt_dbpool_put(r->api->pool, db);
	if (rc == VT_ENOTFOUND)
		return vt_api_fail(e, 401, 0, "key", "The provided API key does not exist");
	if (rc < 0) {
		vt_warn("key lookup: %s", err);
		return vt_api_fail(e, 503, 0, "", "the database is busy; try again");
	}
	return 0;
}

/* Anonymous GETs of objects and lists may come from the cache; results and
 * the catchment views (read through the planner) never do. */
static int from_cache(struct api_req *r, struct MHD_Connection *c,
		      enum MHD_Result *ret)
{
	size_t len;
	char *body;

	if (r->has_key || strcmp(r->method, "GET") || !r->api->cache ||
	    r->route.route == VT_R_MSM_RESULTS ||
	    r->route.route == VT_R_MSM_CATCHMENT ||
	    r->route.route == VT_R_CATCHMENT_PAGE || r->api->conf.cache_ms <= 0)
		return 0;
	if (asprintf(&r->cache_key, "%s%s%s%.*s", r->base, r->path,
		     r->qslen ? "?" : "", (int)r->qslen, r->qsraw ? r->qsraw : "") < 0) {
		r->cache_key = NULL;
		return 0;
	}
	if (vt_cache_get(r->api->cache, r->cache_key, &body, &len) < 0)
		return 0;
	free(r->cache_key);
	r->cache_key = NULL;
	*ret = api_reply_take(r, c, 200, body, len);
	return 1;
}

static enum MHD_Result dispatch(struct api_req *r, struct MHD_Connection *c)
{
	int get = !strcmp(r->method, "GET") || !strcmp(r->method, "HEAD");
	int post = !strcmp(r->method, "POST");
	int del = !strcmp(r->method, "DELETE");
	enum MHD_Result ret;

	if (!r->ticket) {                /* not called again for a read (api_read) */
		if (from_cache(r, c, &ret))
			return ret;
		if (get)
			api_read_replica(r);
	}

	switch (r->route.route) {
	case VT_R_MSM_LIST:
		if (get)
			return h_msm_list(r, c);
		if (post)
			return h_msm_create(r, c);
		break;
	case VT_R_MSM:
		if (get)
			return h_msm_get(r, c);
		if (del)
			return h_msm_stop(r, c);
		break;
	case VT_R_MSM_RESULTS:
		if (get)
			return h_results(r, c);
		break;
	case VT_R_MSM_LATEST:
		if (get)
			return h_latest(r, c);
		break;
	case VT_R_MSM_PART:
		if (post)
			return h_msm_part(r, c);
		break;
	case VT_R_MSM_TAGS:
		if (get || post)
			return h_msm_tags(r, c);
		break;
	case VT_R_MSM_TAG:
		if (del)
			return h_msm_tags(r, c);
		break;
	case VT_R_PROBE_LIST:
	case VT_R_ANCHOR_LIST:
		if (get)
			return h_probe_list(r, c);
		break;
	case VT_R_PROBE:
	case VT_R_ANCHOR:
		if (get)
			return h_probe_get(r, c);
		break;
	case VT_R_MSM_CATCHMENT:
		if (get)
			return h_catchment(r, c);
		break;
	case VT_R_CATCHMENT_PAGE:
		if (get)
			return h_catchment_page(r, c);
		break;
	case VT_R_NONE:
		break;
	}
	return api_reply_errf(r, c, 405, NULL, "Method \"%s\" not allowed.", r->method);
}

/* The first call of a request: limits, path, query, key. */
static enum MHD_Result begin(struct api_req *r, struct MHD_Connection *c,
			     const char *method)
{
	struct vt_api_err e = { 0 };
	const char *cl;
	size_t hdr = 0;
	char *q;

	snprintf(r->method, sizeof r->method, "%s", method);
	if (r->excess)
		return reply_excess(r, c);
	if (r->target_len > VT_API_URL_MAX) {
		r->path = "(too long)";
		return api_reply_errf(r, c, 414, NULL,
				      "the request target is over %d bytes",
				      VT_API_URL_MAX);
	}
	q = strchr(r->target, '?');
	if (q) {
		*q = '\0';
		r->qsraw = q + 1;
		r->qslen = strlen(q + 1);
	}
	r->path = r->target;
	set_base(r, c);
	MHD_get_connection_values(c, MHD_HEADER_KIND, sum_header, &hdr);
	if (hdr > VT_API_HEADER_MAX)
		return api_reply_errf(r, c, 431, NULL, "the request headers are over "
				      "%d bytes", VT_API_HEADER_MAX);
	cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
					 MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && strtoull(cl, NULL, 10) > VT_API_BODY_MAX)
		return api_reply_errf(r, c, 413, NULL, "the request body is over %d bytes",
				      VT_API_BODY_MAX);
	if (vt_qs_parse(r->qsraw ? r->qsraw : "", r->qslen, &r->qs, &e) < 0)
		return api_reply_err(r, c, &e);
	if (vt_api_path_parse(r->path, &r->route, &e) < 0)
		return api_reply_err(r, c, &e);
	if (authenticate(r, c, &e) < 0)
		return api_reply_err(r, c, &e);
	return MHD_YES;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c,
			      const char *url, const char *method,
			      const char *version, const char *upload,
			      size_t *upload_size, void **con_cls)
{
	struct api_req *r = *con_cls;

	if (!r)
		return MHD_NO;
	if (!r->started) {
		r->started = 1;
		return begin(r, c, method);
	}
	if (*upload_size) {
		if (!r->body_over && vt_buf_add(&r->body, upload, *upload_size) < 0)
			r->body_over = 1;
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->body_over)
		return api_reply_errf(r, c, 413, NULL, "the request body is over %d bytes",
				      VT_API_BODY_MAX);
	return dispatch(r, c);
}

/* ---- listeners ------------------------------------------------------ */

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	vsnprintf(msg, sizeof msg, fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	vt_debug("http: %s", msg);
}

static int start_listener(struct vt_api *a, struct api_listener *l,
			  const char *addr, int https, char *errbuf,
			  size_t errlen)
{
	struct sockaddr_storage ss;
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG |
			 MHD_ALLOW_SUSPEND_RESUME;
	int v6;

	if (vt_listen_parse(addr, &ss, &v6) < 0) {
		snprintf(errbuf, errlen, "not ADDR:PORT: %s", addr);
		return VT_EINVAL;
	}
	if (v6 == 2)
		flags |= MHD_USE_DUAL_STACK;
	else if (v6)
		flags |= MHD_USE_IPv6;
	if (https)
		flags |= MHD_USE_TLS;
	l->api = a;
	atomic_init(&l->conns, 0);
	l->https = https;
	l->d = MHD_start_daemon(flags, 0, NULL, NULL, handle, l,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned)a->conf.threads,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)a->conf.max_conns +
			excess_margin(a->conf.max_conns),
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)a->conf.conn_timeout_s,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(VT_API_URL_MAX +
							     VT_API_HEADER_MAX + 16384),
		MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
		MHD_OPTION_URI_LOG_CALLBACK, uri_cb, l,
		MHD_OPTION_NOTIFY_COMPLETED, done_cb, l,
		MHD_OPTION_NOTIFY_CONNECTION, conn_cb, l,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		/* asked at each handshake: a reload swaps it (tlscert.h) */
		https ? MHD_OPTION_HTTPS_CERT_CALLBACK : MHD_OPTION_END,
		api_tls_retrieve,
		MHD_OPTION_END);
	if (!l->d) {
		snprintf(errbuf, errlen, "cannot listen on %s (%s)", addr,
			 https ? "HTTPS" : "HTTP");
		return VT_EIO;
	}
	return 0;
}

int vt_api_start(const struct vt_api_conf *c, struct vt_api **out,
		 char *errbuf, size_t errlen)
{
	struct vt_api *a = calloc(1, sizeof *a);
	int rc;

	*out = NULL;
	if (!a)
		return VT_ENOMEM;
	a->conf = *c;
	if (!c->http && !c->https) {
		snprintf(errbuf, errlen, "give --http and/or --https");
		rc = VT_EINVAL;
		goto fail;
	}
	if ((rc = api_metrics_new(c->metrics, &a->metrics)) < 0 ||
	    (rc = vt_dbpool_new(c->db, c->db_conns, c->stmt_ms, 2000, &a->pool)) < 0 ||
	    (rc = vt_cache_new(c->cache_ms, &a->cache)) < 0 ||
	    (rc = vt_coalesce_new(&a->reads)) < 0 ||
	    (rc = vt_coalesce_start(a->reads, c->db_conns)) < 0 ||
	    (c->db_read && (rc = vt_dbread_new(c->db, c->db_read, c->db_conns,
					       c->stmt_ms, c->db_read_max_lag_s,
					       &a->rd)) < 0)) {
		snprintf(errbuf, errlen, "out of memory");
		goto fail;
	}
	if (c->objstore && (rc = vt_objstore_open(c->objstore, &a->store, errbuf,
						  errlen)) < 0)
		goto fail;
	if (c->https) {
		if (!c->tls_cert || !c->tls_key) {
			snprintf(errbuf, errlen, "--https needs --tls-cert and --tls-key");
			rc = VT_EINVAL;
			goto fail;
		}
		if ((rc = api_tls_new(c->tls_cert, c->tls_key, &a->tls, errbuf,
				      errlen)) < 0)
			goto fail;
		if ((rc = start_listener(a, &a->https, c->https, 1, errbuf, errlen)) < 0)
			goto fail;
	}
	if (c->http && (rc = start_listener(a, &a->http, c->http, 0, errbuf,
					    errlen)) < 0)
		goto fail;
	*out = a;
	return 0;
fail:
	vt_api_stop(a);
	return rc;
}

int vt_api_reload(struct vt_api *a, char *errbuf, size_t errlen)
{
	if (!a->tls) {      /* no HTTPS listener: nothing to do */
		if (errlen)
			errbuf[0] = '\0';
		return VT_OK;
	}
	return api_tls_reload(a->tls, errbuf, errlen);
}

void vt_api_stop(struct vt_api *a)
{
	if (!a)
		return;
	/* every suspended request is resumed before the listeners stop */
	if (a->reads)
		vt_coalesce_stop(a->reads);
	if (a->http.d)
		MHD_stop_daemon(a->http.d);
	if (a->https.d)
		MHD_stop_daemon(a->https.d);
	vt_dbread_free(a->rd);
	vt_dbpool_free(a->pool);
	vt_cache_free(a->cache);
	vt_coalesce_free(a->reads);
	vt_objstore_free(a->store);
	api_metrics_free(a->metrics);
	api_tls_free(a->tls);
	free(a);
}
