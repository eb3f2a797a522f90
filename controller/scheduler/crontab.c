/* crontab.c - a probe's assignments as a command batch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "common/buf.h"
#include "common/pg.h"
#include "controller/scheduler/crontab.h"
#include "controller/scheduler/def.h"
#include "proto/cmdline.h"
#include "proto/crontab.h"

/* The command line of a measurement from its stored definition; 0 when it
 * cannot be made (the measurement is then left out). */
static int command_of(const char *def_text, long long msm_id, char *out,
		      size_t outlen)
{
	json_t *def = json_loads(def_text, 0, NULL);
	struct vt_buf b;
	char why[128];
	int ok = 0;

	if (!def)
		return 0;
	vt_buf_init(&b, VT_CMD_MAX_BYTES + 1);
	if (vt_msm_command(def, (long)msm_id, VT_MSM_OUT_FILE, &b, why,
			   sizeof why) == 0 && b.len < outlen) {
		memcpy(out, b.data, b.len + 1);
		ok = 1;
	}
	vt_buf_free(&b);
	json_decref(def);
	return ok;
}

/* Adds to batches[i] the CRONLINEs of ids[i] (see vt_sched_probes_batch):
 * one query for all the probes, ordered by measurement, so that each
 * measurement's command is made once and each probe's lines stay in
 * measurement order. */
static int add_periodic(PGconn *db, const long *ids, int n, const char *t,
			struct vt_dlg_batch *const *batches, char *errbuf,
			size_t errlen)
{
	struct vt_pg_array a;
	const char *p[2];
	PGresult *res = NULL;
	struct vt_buf line;
	long long cmd_msm = -1;
	int rc = VT_OK, cmd_ok = 0;
	struct vt_cron_line cl;

	vt_buf_init(&line, VT_DLG_LINE_MAX);
	vt_pg_array_init(&a, (size_t)n * 24 + 16);
	for (int i = 0; i < n && rc == 0; i++)
		rc = vt_pg_array_ll(&a, ids[i]);
	if (rc < 0 || !(p[0] = vt_pg_array_done(&a))) {
		rc = VT_ENOMEM;
		snprintf(errbuf, errlen, "crontab: %s", vt_strerror(rc));
		goto out;
	}
	p[1] = t;
	rc = vt_pg_exec(db, &res, errbuf, errlen,
		"SELECT m.id, m.interval, m.start_time, m.stop_time,"
		" coalesce(m.spread, 0), m.definition, a.probe_id"
		" FROM assignments a JOIN measurements m ON m.id = a.msm_id"
		" WHERE a.probe_id = ANY($1::integer[]) AND a.removed IS NULL"
		" AND NOT m.is_oneoff"
		" AND m.status IN (1, 2) AND m.interval > 0"
		" AND (m.stop_time IS NULL OR m.stop_time > $2)"
		" ORDER BY m.id, a.probe_id", 2, p);
	if (rc < 0)
		goto out;
	memset(&cl, 0, sizeof cl);
	for (int i = 0; i < PQntuples(res); i++) {
		long long msm = atoll(PQgetvalue(res, i, 0));
		long pid = atol(PQgetvalue(res, i, 6));

		if (msm != cmd_msm) {   /* a new measurement: its line */
			cmd_msm = msm;
			memset(&cl, 0, sizeof cl);
			cl.interval = atol(PQgetvalue(res, i, 1));
			cl.start = atoll(PQgetvalue(res, i, 2));
			cl.end = PQgetisnull(res, i, 3) ? VT_SCHED_NO_END :
				 atoll(PQgetvalue(res, i, 3));
			cl.uniform = 1;
			cl.spread = atol(PQgetvalue(res, i, 4));
			cmd_ok = command_of(PQgetvalue(res, i, 5), msm,
					    cl.command, sizeof cl.command);
			vt_buf_reset(&line);
			if (cmd_ok && vt_cron_line_format(&cl, &line) < 0)
				cmd_ok = 0;
		}
		if (!cmd_ok)
			continue;
		for (int k = 0; k < n; k++) {
			if (ids[k] != pid)
				continue;
			if ((rc = vt_dlg_batch_cronline(batches[k], line.data)) < 0) {
				snprintf(errbuf, errlen, "crontab line: %s",
					 vt_strerror(rc));
				goto out;
			}
		}
	}
out:
	vt_pg_array_free(&a);
	vt_buf_free(&line);
	PQclear(res);
	return rc;
}

/* Adds the one-off of row i of res (id, definition) to batch as a line;
 * *n counts the lines added. */
static int oneoff_line(PGresult *res, int i, struct vt_dlg_batch *batch,
		       int *n, char *errbuf, size_t errlen)
{
	char cmd[VT_CMD_MAX_BYTES + 1];
	int rc;

	/* taken all the same: a definition that cannot be a line never
	 * will be */
	if (!command_of(PQgetvalue(res, i, 1), atoll(PQgetvalue(res, i, 0)),
			cmd, sizeof cmd))
		return VT_OK;
	if ((rc = vt_dlg_batch_oneoff(batch, VT_SCHED_ONEOFF, cmd)) < 0) {
		snprintf(errbuf, errlen, "one-off line: %s", vt_strerror(rc));
		return rc;
	}
	(*n)++;
	return VT_OK;
}

int vt_sched_oneoffs_add(PGconn *db, long probe_id, long push_id, int max,
			 struct vt_dlg_batch *batch, int *n, char *errbuf,
			 size_t errlen)
{
	char id[24], lim[16];
	const char *p[2] = { id, lim };
	PGresult *res = NULL;
	const char *sql;
	int rc;

	*n = 0;
	if (push_id > 0)   /* the claim's statement, for one probe */
		return vt_sched_oneoffs_take(db, &probe_id, &push_id, &max, 1,
					     &batch, n, errbuf, errlen);
	snprintf(id, sizeof id, "%ld", probe_id);
	snprintf(lim, sizeof lim, "%d", max > 0 ? max : 0);
	/* The outer WHERE is checked again on a row another transaction
	 * changed meanwhile: a one-off taken by a concurrent claim (the row
	 * lock is waited for) is not taken twice. */
	if (push_id == VT_SCHED_ACK)
		sql = "UPDATE assignments a SET delivered = now() FROM measurements m"
		      " WHERE m.id = a.msm_id AND a.probe_id = $1"
		      " AND a.push_id IS NULL AND a.delivered IS NULL"
		      " AND a.msm_id IN (SELECT msm_id FROM vt_oneoffs_due($1)"
		      "  ORDER BY msm_id LIMIT $2)"
		      " RETURNING m.id, m.definition, pg_notify('vantage_sched', '')";
	else
		sql = "SELECT m.id, m.definition FROM vt_oneoffs_due($1) a"
		      " JOIN measurements m ON m.id = a.msm_id"
		      " ORDER BY m.id LIMIT $2";
	rc = vt_pg_exec(db, &res, errbuf, errlen, sql, 2, p);
	if (rc < 0)
		goto out;
	for (int i = 0; i < PQntuples(res) && rc == 0; i++)
		rc = oneoff_line(res, i, batch, n, errbuf, errlen);
out:
	PQclear(res);
	return rc;
}

int vt_sched_oneoffs_take(PGconn *db, const long *ids, const long *push_ids,
			  const int *max, int n,
			  struct vt_dlg_batch *const *batches, int *nout,
			  char *errbuf, size_t errlen)
{
	struct vt_pg_array a, p, l;
	const char *prm[3];
	PGresult *res = NULL;
	int rc = VT_OK, k = 0;

	vt_pg_array_init(&a, (size_t)n * 24 + 16);
	vt_pg_array_init(&p, (size_t)n * 24 + 16);
	vt_pg_array_init(&l, (size_t)n * 24 + 16);
	for (int i = 0; i < n && rc == 0; i++) {
		nout[i] = 0;
		if (push_ids[i] <= 0 || max[i] <= 0)
			continue;
		k++;
		if ((rc = vt_pg_array_ll(&a, ids[i])) == 0 &&
		    (rc = vt_pg_array_ll(&p, push_ids[i])) == 0)
			rc = vt_pg_array_ll(&l, max[i] < VT_SCHED_ONEOFFS_MAX ?
						max[i] : VT_SCHED_ONEOFFS_MAX);
	}
	if (rc < 0 || !(prm[0] = vt_pg_array_done(&a)) ||
	    !(prm[1] = vt_pg_array_done(&p)) || !(prm[2] = vt_pg_array_done(&l))) {
		rc = VT_ENOMEM;
		snprintf(errbuf, errlen, "one-offs: %s", vt_strerror(rc));
		goto out;
	}
	if (k == 0)
		goto out;
	/* As vt_sched_oneoffs_add, for every probe in one statement: each
	 * probe's due one-offs (its first entry only, so that no row is
	 * joined twice; a lateral subquery, run once per probe), the outer
	 * WHERE checked again on rows a concurrent claim changed. */
	rc = vt_pg_exec(db, &res, errbuf, errlen,
		"WITH t AS (UPDATE assignments a SET push_id = x.push"
		" FROM measurements m, (SELECT DISTINCT ON (q.probe) q.probe,"
		"  q.push, q.lim FROM unnest($1::integer[], $2::bigint[],"
		"  $3::integer[]) WITH ORDINALITY AS q(probe, push, lim, o)"
		"  ORDER BY q.probe, q.o) x CROSS JOIN LATERAL (SELECT msm_id"
		"  FROM vt_oneoffs_due(x.probe) ORDER BY msm_id LIMIT x.lim) d"
		" WHERE m.id = a.msm_id AND a.probe_id = x.probe"
		" AND a.msm_id = d.msm_id"
		" AND a.push_id IS NULL AND a.delivered IS NULL"
		" RETURNING m.id, m.definition, a.push_id)"
		" SELECT id, definition, push_id FROM t ORDER BY push_id, id",
		3, prm);
	for (int r = 0, i = 0; rc == 0 && r < PQntuples(res); r++) {
		long push = atol(PQgetvalue(res, r, 2));

		/* rows come by push: the entry of the last row is most
		 * often the entry of this one */
		if (i >= n || push_ids[i] != push)
			for (i = 0; i < n && push_ids[i] != push; i++)
				;
		if (i < n)
			rc = oneoff_line(res, r, batches[i], &nout[i], errbuf,
					 errlen);
	}
out:
	PQclear(res);
	vt_pg_array_free(&a);
	vt_pg_array_free(&p);
	vt_pg_array_free(&l);
	return rc;
}

int vt_sched_probes_batch(PGconn *db, const long *ids, int n, long long now,
			  struct vt_dlg_batch *const *batches, char *errbuf,
			  size_t errlen)
{
	char t[24];
	int rc;

	snprintf(t, sizeof t, "%lld", now);
	for (int i = 0; i < n; i++)
		if ((rc = vt_dlg_batch_crontab(batches[i], VT_SCHED_CRONTAB)) < 0) {
			snprintf(errbuf, errlen, "crontab: %s", vt_strerror(rc));
			return rc;
		}
	if (n == 0)
		return VT_OK;
	return add_periodic(db, ids, n, t, batches, errbuf, errlen);
}

int vt_sched_probe_batch(PGconn *db, long probe_id, long long now,
			 struct vt_dlg_batch *batch, char *errbuf, size_t errlen)
{
	return vt_sched_probes_batch(db, &probe_id, 1, now, &batch, errbuf,
				     errlen);
}
