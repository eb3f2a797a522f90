/* jobs.c - the gateway's database requests (see jobs.h). */
#include "controller/gateway/jobs.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

static const char *const kind_name[] = {
	"registration", "controller INIT", "KEEP", "upload", "push scan",
	"push claim", "key lookup", "heartbeat", "leave", "session up", "bind",
	"session down", "sessions reset", "crontab", "push outcome",
	"push release", "sessions sync"
};

struct gw_req *gw_req_of(struct gw_job *j)
{
	return (struct gw_req *)((char *)j - offsetof(struct gw_req, job));
}

void gw_req_free(struct gw_req *r)
{
	if (!r)
		return;
	free(r->text);
	free(r->reg);
	free(r->ids);
	free(r->probes);
	free(r->live);
	free(r->want);
	gw_sink_batch_free(r->batch);
	free(r);
}

/* Bookkeeping: nobody waits, a failure is logged. */
static void note_done(struct gw_job *j)
{
	struct gw_req *r = gw_req_of(j);

	if (j->rc < 0 && r->lost)
		__atomic_store_n(r->lost, 1, __ATOMIC_RELAXED);   /* resynced */
	if (j->rc < 0) {
		if (r->probe_id > 0)
			vt_warn("probe %ld: %s not recorded: %s", r->probe_id,
				kind_name[r->kind], j->err);
		else
			vt_warn("%s not recorded: %s", kind_name[r->kind], j->err);
	}
	gw_req_free(r);
}

static void job_rc(struct gw_job *j, int rc, struct gw_db *db)
{
	j->rc = rc;
	if (rc < 0)
		snprintf(j->err, sizeof j->err, "%s", rc == VT_EDB ?
			 gw_db_error(db) : vt_strerror(rc));
}

/* Group commit of uploads (GW_REQ_UPLOAD): one INSERT and one COMMIT for
 * all of them, so each is acknowledged only once its rows are durable.
 * When PostgreSQL refuses a row itself, the uploads are stored one by one
 * so that only the faulty one fails. */
static void run_uploads(struct gw_job *const *jobs, int n, struct gw_db *db)
{
	struct gw_sink_batch *b[GW_DBQ_GROUP_MAX] = { NULL };
	int rc, data_error = 0;
	int64_t b0, s0, b1, s1;

	gw_db_queue_times(db, &b0, &s0);
	for (int i = 0; i < n; i++)
		b[i] = gw_req_of(jobs[i])->batch;
	rc = gw_sink_batches_store(b, n, db, &data_error);
	if (rc < 0 && data_error && n > 1) {
		for (int i = 0; i < n; i++)
			job_rc(jobs[i], gw_sink_batch_store(b[i], db), db);
	} else {
		for (int i = 0; i < n; i++)
			job_rc(jobs[i], rc, db);
	}
	/* Where the group's time went, for the metrics (upload_done). */
	gw_db_queue_times(db, &b1, &s1);
	for (int i = 0; i < n; i++) {
		struct gw_req *r = gw_req_of(jobs[i]);

		r->build_us = b1 - b0;
		r->store_us = s1 - s0;
		r->group = n;
	}
}

static int run(struct gw_job *j, struct gw_db *db);

/* A run of jobs of a control group runs set-based, one statement per kind
 * (db_batch.c), the kinds in a fixed order (run_seg): a probe (a push, for
 * the push outcomes) may come in it once per kind, its jobs in that order
 * (a KEEP's lookup, up, crontab, claim: one segment for a whole storm),
 * and a job that would run before an earlier one of its probe (an up
 * after a down) begins the next segment.  INIT runs at once (rank 0); a
 * push scan (GW_REQ_PUSHES, a read) is a segment of its own, so that it
 * sees what the jobs before it wrote. */
static int seg_rank(enum gw_req_kind k)
{
	switch (k) {
	case GW_REQ_INIT:         return 0;
	case GW_REQ_KEEP:         return 1;
	case GW_REQ_UP:
	case GW_REQ_BIND:         return 2;   /* both may bind */
	case GW_REQ_DOWN:         return 3;
	case GW_REQ_CRONTAB:      return 4;
	case GW_REQ_CLAIM:        return 5;
	case GW_REQ_PUSH_DONE:    return 6;
	case GW_REQ_PUSH_RELEASE: return 7;
	default:                  return -1;
	}
}

static long seg_key(const struct gw_req *r)
{
	return r->probe_id > 0 ? r->probe_id : -r->push_id;
}

static int seg_len(struct gw_job *const *jobs, int n)
{
	int len = 1;

	if (gw_req_of(jobs[0])->kind == GW_REQ_PUSHES)
		return 1;
	for (; len < n; len++) {
		const struct gw_req *b = gw_req_of(jobs[len]);

		if (b->kind == GW_REQ_PUSHES)
			return len;
		for (int k = 0; k < len; k++) {
			const struct gw_req *a = gw_req_of(jobs[k]);

			if (seg_key(a) == seg_key(b) &&
			    seg_rank(b->kind) <= seg_rank(a->kind))
				return len;
		}
	}
	return len;
}

/* Runs a segment in the open transaction; res[i] gets each job's own
 * outcome (VT_ENOTFOUND of a KEEP or a claim), the return a failure of
 * the whole. */
static int run_seg(struct gw_job *const *jobs, int n, struct gw_db *db,
		   int *res)
{
	struct gw_req *r[GW_DBQ_GROUP_MAX];
	long ids[GW_DBQ_GROUP_MAX], bids[GW_DBQ_GROUP_MAX];
	long kids[GW_DBQ_GROUP_MAX] = { 0 }, cids[GW_DBQ_GROUP_MAX];
	long dids[GW_DBQ_GROUP_MAX], oids[GW_DBQ_GROUP_MAX], lids[GW_DBQ_GROUP_MAX];
	long pids[GW_DBQ_GROUP_MAX];
	const char *from[GW_DBQ_GROUP_MAX], *bind[GW_DBQ_GROUP_MAX];
	const char *sid[GW_DBQ_GROUP_MAX], *outc[GW_DBQ_GROUP_MAX];
	int ok[GW_DBQ_GROUP_MAX], crc[GW_DBQ_GROUP_MAX];
	int kj[GW_DBQ_GROUP_MAX], pj[GW_DBQ_GROUP_MAX];
	int cj[GW_DBQ_GROUP_MAX], ccl[GW_DBQ_GROUP_MAX];
	long cpush[GW_DBQ_GROUP_MAX];
	char *text[GW_DBQ_GROUP_MAX], *ctext[GW_DBQ_GROUP_MAX];
	struct gw_db_sess sess[GW_DBQ_GROUP_MAX];
	int nu = 0, nb = 0, nk = 0, nc = 0, nd = 0, no = 0, nl = 0, np = 0;
	const char *gw = gw_req_of(jobs[0])->gw_name;
	int rc = 0;

	for (int i = 0; i < n; i++) {
		r[i] = gw_req_of(jobs[i]);
		res[i] = 0;
		switch (r[i]->kind) {
		case GW_REQ_INIT:   /* rare (a registration): alone */
		case GW_REQ_PUSHES: /* a segment of its own (seg_len) */
			if ((rc = run(jobs[i], db)) < 0)
				return rc;
			break;
		case GW_REQ_KEEP:
			kj[nk] = i;
			kids[nk++] = r[i]->probe_id;
			break;
		case GW_REQ_UP:
			from[nu] = r[i]->from;
			ids[nu++] = r[i]->probe_id;
			if (r[i]->text) {
				bind[nb] = r[i]->text;
				bids[nb++] = r[i]->probe_id;
			}
			break;
		case GW_REQ_BIND:
			bind[nb] = r[i]->text ? r[i]->text : "";
			bids[nb++] = r[i]->probe_id;
			break;
		case GW_REQ_DOWN:
			dids[nd++] = r[i]->probe_id;
			break;
		case GW_REQ_CRONTAB:
			cj[nc] = i;
			ccl[nc] = r[i]->ok;
			sid[nc] = r[i]->sid;
			cids[nc++] = r[i]->probe_id;
			break;
		case GW_REQ_CLAIM:
			pj[np] = i;
			pids[np++] = r[i]->push_id;
			break;
		case GW_REQ_PUSH_DONE:
			ok[no] = r[i]->ok;
			outc[no] = r[i]->text;
			oids[no++] = r[i]->push_id;
			break;
		case GW_REQ_PUSH_RELEASE:
			lids[nl++] = r[i]->push_id;
			break;
		default:
			return VT_EINVAL;
		}
	}
	if (rc == 0)
		rc = gw_db_sessions_get(db, kids, nk, sess);
	for (int k = 0; rc == 0 && k < nk; k++) {
		struct gw_req *q = r[kj[k]];

		if (!sess[k].found) {
			res[kj[k]] = VT_ENOTFOUND;
			continue;
		}
		snprintf(q->sid, sizeof q->sid, "%s", sess[k].sid);
		q->port = sess[k].port;
	}
	if (rc == 0)
		rc = gw_db_sessions_up(db, gw, ids, from, nu);
	if (rc == 0)
		rc = gw_db_sessions_bind(db, gw, bids, bind, nb);
	if (rc == 0)
		rc = gw_db_sessions_down(db, gw, dids, nd);
	if (rc == 0)
		rc = gw_db_crontabs_enqueue(db, gw, cids, sid, ccl, nc, cpush, ctext);
	for (int k = 0; rc == 0 && k < nc; k++) {
		struct gw_req *q = r[cj[k]];

		free(q->text);
		q->text = ctext[k];
		q->push_id = cpush[k];
	}
	if (rc == 0)
		rc = gw_db_push_claims(db, gw, pids, np, text, crc);
	for (int k = 0; rc == 0 && k < np; k++) {
		struct gw_req *q = r[pj[k]];

		free(q->text);
		q->text = text[k];
		res[pj[k]] = crc[k];
	}
	if (rc == 0)
		rc = gw_db_pushes_done(db, gw, oids, ok, outc, no);
	if (rc == 0)
		rc = gw_db_pushes_release(db, gw, lids, nl);
	return rc;
}

/* Group commit of the control lane's short requests (session lookups and
 * bookkeeping, crontabs, push claims and outcomes, push scans: the kinds
 * gw_req_new gives this group): the ones queued back to back run in one
 * transaction, set-based in runs where a probe's jobs come in run_seg's
 * order (seg_len), so a reconnect storm costs a few statements and one
 * COMMIT (one WAL flush) per group, not several of each per probe.  When one of them fails, the transaction
 * is rolled back and each runs alone again, so that only the faulty one
 * fails. */
static void run_ctrl(struct gw_job *const *jobs, int n, struct gw_db *db)
{
	int res[GW_DBQ_GROUP_MAX], rc, i, claims = 0;

	if (n == 1) {
		job_rc(jobs[0], run(jobs[0], db), db);
		return;
	}
	rc = gw_db_cmd(db, "BEGIN");
	for (i = 0; rc == 0 && i < n; ) {
		int len = seg_len(jobs + i, n - i);

		rc = run_seg(jobs + i, len, db, res + i);
		i += len;
	}
	if (rc == 0)
		rc = gw_db_commit(db);
	else if (gw_db_rollback(db) < 0)
		vt_debug("ROLLBACK: %s", gw_db_error(db));   /* a new connection then */
	if (rc == 0) {
		for (i = 0; i < n; i++) {
			struct gw_req *r = gw_req_of(jobs[i]);

			job_rc(jobs[i], res[i], db);
			if ((r->kind == GW_REQ_CLAIM && res[i] == 0) ||
			    (r->kind == GW_REQ_CRONTAB && r->push_id > 0))
				claims++;
		}
		while (claims-- > 0)
			gw_db_claim_delay(db);
		return;
	}
	for (i = 0; i < n; i++)
		job_rc(jobs[i], run(jobs[i], db), db);
}

static int run_init(struct gw_req *r, struct gw_db *db)
{
	char old[VT_SESSION_ID_MAX + 1];
	int port = 0, rc;

	rc = gw_db_session_get(db, r->probe_id, old, sizeof old, &port);
	if (rc < 0 && rc != VT_ENOTFOUND)
		return rc;
	if (port > 0 && port <= 65535)
		r->port = port;
	return gw_db_session_new(db, r->probe_id, r->sid, r->port);
}

/* A crontab alone, in a transaction of its own when it is claimed. */
static int run_crontab(struct gw_req *r, struct gw_db *db)
{
	const char *sid = r->sid;
	char *text = NULL;
	int rc;

	if (r->ok && (rc = gw_db_cmd(db, "BEGIN")) < 0)
		return rc;
	rc = gw_db_crontabs_enqueue(db, r->gw_name, &r->probe_id, &sid, &r->ok,
				    1, &r->push_id, &text);
	if (r->ok && rc == 0)
		rc = gw_db_commit(db);
	else if (r->ok && gw_db_rollback(db) < 0)
		vt_debug("ROLLBACK: %s", gw_db_error(db));
	if (rc < 0) {
		free(text);
		r->push_id = 0;
		return rc;
	}
	free(r->text);
	r->text = text;
	if (r->push_id > 0)
		gw_db_claim_delay(db);
	return VT_OK;
}

static int run(struct gw_job *j, struct gw_db *db)
{
	struct gw_req *r = gw_req_of(j);
	char *batch = NULL;
	int rc;

	switch (r->kind) {
	case GW_REQ_REGISTER:
		return gw_db_register(db, r->probe_id, r->text, r->firmware,
				      r->live_s, r->rsa_probe, r->reg);
	case GW_REQ_INIT:
		return run_init(r, db);
	case GW_REQ_KEEP:
		return gw_db_session_get(db, r->probe_id, r->sid, sizeof r->sid,
					 &r->port);
	case GW_REQ_UPLOAD:   /* run_uploads runs these */
		return gw_sink_batch_store(r->batch, db);
	case GW_REQ_PUSHES:
		return gw_db_push_pending(db, r->gw_name, r->want, r->nwant,
					  r->ids, r->probes, GW_REQ_PUSHES_MAX,
					  &r->n);
	case GW_REQ_CLAIM:
		rc = gw_db_push_claim(db, r->push_id, r->gw_name, &batch);
		free(r->text);
		r->text = batch;
		return rc;
	case GW_REQ_KEY:
		return gw_db_probe_by_key(db, r->text, &r->probe_id);
	case GW_REQ_HEARTBEAT:
		return gw_db_heartbeat(db, r->gw_name, &r->hb);
	case GW_REQ_LEAVE:
		return gw_db_leave(db, r->gw_name);
	case GW_REQ_UP:
		rc = gw_db_session_up(db, r->probe_id, r->gw_name, r->from);
		if (rc == 0 && r->text)
			rc = gw_db_session_bind(db, r->probe_id, r->gw_name, r->text);
		return rc;
	case GW_REQ_BIND:
		return gw_db_session_bind(db, r->probe_id, r->gw_name, r->text);
	case GW_REQ_DOWN:
		return gw_db_session_down(db, r->probe_id, r->gw_name);
	case GW_REQ_RESET:
		return gw_db_sessions_reset(db, r->gw_name);
	case GW_REQ_CRONTAB:
		return run_crontab(r, db);
	case GW_REQ_PUSH_DONE:
		return gw_db_push_done(db, r->push_id, r->gw_name, r->ok, r->text);
	case GW_REQ_PUSH_RELEASE:
		return gw_db_push_release(db, r->push_id, r->gw_name);
	case GW_REQ_SYNC:
		return gw_db_sessions_sync(db, r->gw_name, r->live, r->n);
	}
	return VT_EINVAL;
}

struct gw_req *gw_req_new(enum gw_req_kind kind, const char *gw_name,
			  const char *text, gw_job_done done)
{
	struct gw_req *r = calloc(1, sizeof *r);

	if (!r)
		return NULL;
	r->kind = kind;
	r->gw_name = gw_name;
	r->job.run = run;
	r->job.done = done ? done : note_done;
	if (kind == GW_REQ_UPLOAD)
		r->job.group = run_uploads;
	else if (seg_rank(kind) >= 0 || kind == GW_REQ_PUSHES)
		r->job.group = run_ctrl;   /* the kinds run_seg knows */
	if ((text && !(r->text = strdup(text))) ||
	    (kind == GW_REQ_REGISTER && !(r->reg = calloc(1, sizeof *r->reg))) ||
	    (kind == GW_REQ_PUSHES &&
	     (!(r->ids = calloc(GW_REQ_PUSHES_MAX, sizeof *r->ids)) ||
	      !(r->probes = calloc(GW_REQ_PUSHES_MAX, sizeof *r->probes))))) {
		gw_req_free(r);
		return NULL;
	}
	return r;
}

void gw_req_submit(struct gw_dbq *q, struct gw_req *r)
{
	enum gw_lane lane = GW_LANE_CTRL;

	if (r->kind == GW_REQ_UPLOAD) {
		lane = GW_LANE_SINK;
		r->job.size = gw_sink_batch_bytes(r->batch);
	} else if (r->kind == GW_REQ_KEY) {
		lane = GW_LANE_AUTH;
	}
	gw_dbq_submit(q, lane, &r->job);
}
