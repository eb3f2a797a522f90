/* db_batch.c - the gateway's session bookkeeping, one statement per kind
 * for many probes (see db.h, "Set-based"). */
#include "controller/gateway/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/pg.h"

/* An array parameter of n elements of about each bytes. */
static void arr_init(struct vt_pg_array *a, int n, size_t each)
{
	vt_pg_array_init(a, (size_t)n * (each + 4) + 16);
}

/* Adds s as an element, NULL when s is NULL or empty. */
static int arr_str_or_null(struct vt_pg_array *a, const char *s)
{
	return s && *s ? vt_pg_array_str(a, s, strlen(s))
		       : vt_pg_array_raw(a, "NULL");
}

static int arr_ids(struct vt_pg_array *a, const long *ids, int n)
{
	int rc = VT_OK;

	arr_init(a, n, 24);
	for (int i = 0; i < n && rc == 0; i++)
		rc = vt_pg_array_ll(a, ids[i]);
	return rc;
}

/* Runs sql with params; VT_ENOMEM when an array did not close. */
static int exec_arrays(struct gw_db *db, PGresult **res, const char *sql,
		       int np, const char *const *p)
{
	for (int i = 0; i < np; i++)
		if (!p[i])
			return VT_ENOMEM;
	return gw_db_exec(db, res, sql, np, p);
}

int gw_db_sessions_get(struct gw_db *db, const long *ids, int n,
		       struct gw_db_sess *out)
{
	struct vt_pg_array a;
	const char *p[1];
	PGresult *r = NULL;
	int rc;

	for (int i = 0; i < n; i++)
		out[i].found = 0;
	if (n == 0)
		return VT_OK;
	if ((rc = arr_ids(&a, ids, n)) < 0)
		goto out;
	p[0] = vt_pg_array_done(&a);
	rc = exec_arrays(db, &r, "SELECT probe_id, session_id, remote_port"
			 " FROM probe_sessions WHERE probe_id ="
			 " ANY($1::integer[])", 1, p);
	for (int k = 0; rc == 0 && k < PQntuples(r); k++) {
		long id = atol(PQgetvalue(r, k, 0));

		for (int i = 0; i < n; i++)
			if (ids[i] == id) {
				snprintf(out[i].sid, sizeof out[i].sid, "%s",
					 PQgetvalue(r, k, 1));
				out[i].port = atoi(PQgetvalue(r, k, 2));
				out[i].found = 1;
			}
	}
out:
	PQclear(r);
	vt_pg_array_free(&a);
	return rc;
}

/* Runs sql with $1 gw, $2 the ids and $3 one text per id (NULL for NULL
 * or ""), then, when given, then_sql with $1 the ids. */
static int ids_texts(struct gw_db *db, const char *sql, const char *then_sql,
		     const char *gw, const long *ids, const char *const *texts,
		     int n)
{
	struct vt_pg_array a, t;
	const char *p[3];
	int rc;

	if (n == 0)
		return VT_OK;
	rc = arr_ids(&a, ids, n);
	arr_init(&t, n, 64);
	for (int i = 0; i < n && rc == 0; i++)
		rc = arr_str_or_null(&t, texts[i]);
	if (rc < 0)
		goto out;
	p[0] = gw;
	p[1] = vt_pg_array_done(&a);
	p[2] = vt_pg_array_done(&t);
	rc = exec_arrays(db, NULL, sql, 3, p);
	if (rc == 0 && then_sql)
		rc = exec_arrays(db, NULL, then_sql, 1, p + 1);
out:
	vt_pg_array_free(&a);
	vt_pg_array_free(&t);
	return rc;
}

int gw_db_sessions_up(struct gw_db *db, const char *gw, const long *ids,
		      const char *const *from, int n)
{
	/* As gw_db_session_up, for every probe of the batch. */
	return ids_texts(db, "UPDATE probe_sessions ps SET connected = true,"
			 " gateway = $1, from_addr = u.from_addr, since = now(),"
			 " last_seen = now() FROM unnest($2::integer[], $3::inet[])"
			 " AS u(id, from_addr) WHERE ps.probe_id = u.id",
			 "UPDATE probes SET status = 1, status_since ="
			 " CASE WHEN status = 1 THEN status_since ELSE now() END,"
			 " last_connected = now(), first_connected ="
			 " coalesce(first_connected, now())"
			 " WHERE id = ANY($1::integer[])", gw, ids, from, n);
}

int gw_db_sessions_bind(struct gw_db *db, const char *gw, const long *ids,
			const char *const *bind, int n)
{
	return ids_texts(db, "UPDATE probe_sessions ps SET bind_addr = b.bind,"
			 " last_seen = now() FROM unnest($2::integer[], $3::text[])"
			 " AS b(id, bind) WHERE ps.probe_id = b.id AND ps.gateway = $1",
			 NULL, gw, ids, bind, n);
}

/* Runs sql with $1 gw and $2 the ids. */
static int ids_only(struct gw_db *db, const char *sql, const char *gw,
		    const long *ids, int n)
{
	struct vt_pg_array a;
	const char *p[2];
	int rc;

	if (n == 0)
		return VT_OK;
	if ((rc = arr_ids(&a, ids, n)) == 0) {
		p[0] = gw;
		p[1] = vt_pg_array_done(&a);
		rc = exec_arrays(db, NULL, sql, 2, p);
	}
	vt_pg_array_free(&a);
	return rc;
}

int gw_db_sessions_down(struct gw_db *db, const char *gw, const long *ids, int n)
{
	/* Only the probes gw still holds are marked disconnected. */
	return ids_only(db, "WITH gone AS (UPDATE probe_sessions SET"
			" connected = false, gateway = NULL, last_seen = now()"
			" WHERE probe_id = ANY($2::integer[]) AND gateway = $1"
			" RETURNING probe_id)"
			" UPDATE probes SET status = 2, status_since = now()"
			" WHERE id IN (SELECT probe_id FROM gone)", gw, ids, n);
}

int gw_db_pushes_done(struct gw_db *db, const char *gw, const long *ids,
		      const int *ok, const char *const *outcome, int n)
{
	struct vt_pg_array a, s, o;
	const char *p[4];
	int rc;

	if (n == 0)
		return VT_OK;
	rc = arr_ids(&a, ids, n);
	arr_init(&s, n, 8);
	arr_init(&o, n, 64);
	for (int i = 0; i < n && rc == 0; i++)
		if ((rc = vt_pg_array_raw(&s, ok[i] ? "ok" : "failed")) == 0)
			rc = outcome[i] ? vt_pg_array_str(&o, outcome[i],
							  strlen(outcome[i]))
					: vt_pg_array_raw(&o, "NULL");
	if (rc < 0)
		goto out;
	p[0] = gw;
	p[1] = vt_pg_array_done(&a);
	p[2] = vt_pg_array_done(&s);
	p[3] = vt_pg_array_done(&o);
	/* A trigger settles each push's one-offs (011_push_claims.sql). */
	rc = exec_arrays(db, NULL, "UPDATE probe_pushes p SET status = d.st,"
			 " outcome = d.outcome, finished = now() FROM"
			 " unnest($2::bigint[], $3::text[], $4::text[])"
			 " AS d(id, st, outcome) WHERE p.id = d.id"
			 " AND p.status = 'sending' AND p.gateway = $1", 4, p);
out:
	vt_pg_array_free(&a);
	vt_pg_array_free(&s);
	vt_pg_array_free(&o);
	return rc;
}

int gw_db_pushes_release(struct gw_db *db, const char *gw, const long *ids,
			 int n)
{
	return ids_only(db, "UPDATE probe_pushes SET status = 'pending',"
			" gateway = NULL, claimed = NULL WHERE id = ANY($2::bigint[])"
			" AND status = 'sending' AND gateway = $1", gw, ids, n);
}

/* Hands out the claimed rows of r (id, probe_id, claimed): push_id[i]
 * and batch[i], text[i] with the probe's one-offs added. */
static int claimed_out(struct gw_db *db, PGresult *r, const long *ids,
		       int n, struct vt_buf *text, long *push_id, char **batch)
{
	int rc;

	for (int k = 0; k < PQntuples(r); k++) {
		long id = atol(PQgetvalue(r, k, 0)), probe = atol(PQgetvalue(r, k, 1));
		int i = 0;

		if (strcmp(PQgetvalue(r, k, 2), "t"))
			continue;
		while (i < n && (ids[i] != probe || push_id[i]))
			i++;
		if (i < n)
			push_id[i] = id;
	}
	/* the one-offs of all the claimed pushes in one statement */
	rc = gw_db_push_oneoffs(db, ids, push_id, n, text);
	for (int i = 0; i < n && rc == 0; i++)
		if (push_id[i] > 0 &&
		    !(batch[i] = strdup(text[i].data ? text[i].data : "")))
			rc = VT_ENOMEM;
	return rc;
}

int gw_db_crontabs_enqueue(struct gw_db *db, const char *gw, const long *ids,
			   const char *const *sid, const int *claim, int n,
			   long *push_id, char **batch)
{
	struct vt_pg_array a, t, c;
	struct vt_buf *text;
	const char *p[4];
	PGresult *r = NULL;
	size_t bytes = 0;
	int rc, nclaim = 0;

	for (int i = 0; i < n; i++) {
		push_id[i] = 0;
		batch[i] = NULL;
		nclaim += claim[i] != 0;
	}
	if (n <= 0)
		return VT_OK;
	if (!(text = calloc((size_t)n, sizeof *text)))
		return VT_ENOMEM;
	for (int i = 0; i < n; i++)
		vt_buf_init(&text[i], 256 * 1024);
	/* one scheduler query for the whole batch */
	rc = gw_db_crontab_texts(db, ids, sid, n, text);
	/* A restart's tidy takes back this gateway's older claims: it runs
	 * before the claims made here, never after them. */
	if (rc == 0 && nclaim)
		rc = gw_db_push_tidy(db, gw);
	if (rc == 0)
		rc = arr_ids(&a, ids, n);
	else
		arr_init(&a, 0, 0);
	for (int i = 0; i < n; i++)
		bytes += text[i].len * 2 + 8;
	vt_pg_array_init(&t, bytes + 16);
	arr_init(&c, n, 1);
	for (int i = 0; i < n && rc == 0; i++)
		if ((rc = vt_pg_array_str(&t, text[i].data ? text[i].data : "",
					  text[i].len)) == 0)
			rc = vt_pg_array_raw(&c, claim[i] ? "t" : "f");
	if (rc < 0)
		goto out;
	p[0] = vt_pg_array_done(&a);
	p[1] = vt_pg_array_done(&t);
	p[2] = vt_pg_array_done(&c);
	p[3] = gw;
	/* A crontab push still pending for one of the probes is replaced; a
	 * claimed one is as gw_db_push_claims leaves it. */
	rc = exec_arrays(db, nclaim ? &r : NULL, "WITH gone AS (DELETE FROM"
			 " probe_pushes WHERE probe_id = ANY($1::integer[])"
			 " AND status = 'pending' AND kind = 'crontab')"
			 " INSERT INTO probe_pushes (probe_id, batch, kind, status,"
			 " gateway, claimed, attempts)"
			 " SELECT id, batch, 'crontab',"
			 " CASE WHEN cl THEN 'sending' ELSE 'pending' END,"
			 " CASE WHEN cl THEN $4 END, CASE WHEN cl THEN now() END,"
			 " CASE WHEN cl THEN 1 ELSE 0 END"
			 " FROM unnest($1::integer[], $2::text[], $3::boolean[])"
			 " AS c(id, batch, cl) RETURNING id, probe_id, status = 'sending'",
			 4, p);
	if (rc == 0 && nclaim)
		rc = claimed_out(db, r, ids, n, text, push_id, batch);
out:
	if (rc < 0)
		for (int i = 0; i < n; i++) {
			free(batch[i]);
			batch[i] = NULL;
			push_id[i] = 0;
		}
	PQclear(r);
	for (int i = 0; i < n; i++)
		vt_buf_free(&text[i]);
	free(text);
	vt_pg_array_free(&a);
	vt_pg_array_free(&t);
	vt_pg_array_free(&c);
	return rc;
}
