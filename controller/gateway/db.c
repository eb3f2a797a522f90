/* db.c - the gateway's PostgreSQL work (see db.h). */
#include "controller/gateway/db.h"
#include "controller/gateway/push.h"
#include "controller/gateway/qcopy.h"
#include "controller/scheduler/crontab.h"
#include "proto/dialogue.h"
#include "proto/probejobs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <poll.h>
#include <libpq-fe.h>

#include "common/buf.h"
#include "common/pg.h"
#include "common/pgbin.h"
#include "common/vtime.h"

#define RECONNECT_MS     1000
#define GW_CRONTAB_NOTIFY_MAX 1024
#define CONNECT_TIMEOUT  "2"
#define STMT_TIMEOUT_MS  5000

struct gw_db {
	char    *conninfo;
	PGconn  *c;            /* commands */
	PGconn  *l;            /* LISTEN */
	int64_t  c_next;       /* earliest next connect attempt (mono ms) */
	int64_t  l_next;
	char     err[512];
	long     crontab[GW_CRONTAB_NOTIFY_MAX];  /* NOTIFYed probe ids */
	int      ncrontab;
	int      crontab_overflow;
	int      timeout_ms;   /* statement timeout */
	int      push_delay_ms;  /* test only: hold each claimed push this long */
	int      tidied;       /* vt_pushes_tidy ran once (after the start) */
	int64_t  tidy_next;    /* and runs again from then on (mono ms) */
	int      tidy_txn;     /* it ran in the open transaction (1 + tidied
				  before it); 0: not */
	struct vt_pgcopy q_copy;   /* gw_db_queue_many's stream, kept */
	struct vt_pgcopy q_heads;  /* and its row heads (gw_qcopy_build) */
	int64_t  q_build_us;   /* gw_db_queue_many: building the rows */
	int64_t  q_store_us;   /* and sending them through their COMMIT */
};

int gw_db_new(const char *conninfo, struct gw_db **out)
{
	const char *env;
	struct gw_db *db;

	*out = NULL;
	if (!conninfo)
		return VT_EINVAL;
	if (!(db = calloc(1, sizeof *db)) || !(db->conninfo = strdup(conninfo))) {
		free(db);
		return VT_ENOMEM;
	}
	db->timeout_ms = STMT_TIMEOUT_MS;
	vt_pgcopy_init(&db->q_copy, 0);
	vt_pgcopy_init(&db->q_heads, 0);
	/* Test only (tests/integration/oneoff_race.sh): a claimed push waits
	 * this long before it goes to the probe, to force races. */
	if ((env = getenv("VANTAGE_GW_TEST_PUSH_DELAY_MS")))
		db->push_delay_ms = atoi(env);
	*out = db;
	return VT_OK;
}

void gw_db_free(struct gw_db *db)
{
	if (!db)
		return;
	PQfinish(db->c);
	PQfinish(db->l);
	vt_pgcopy_free(&db->q_copy);
	vt_pgcopy_free(&db->q_heads);
	free(db->conninfo);
	free(db);
}

const char *gw_db_error(const struct gw_db *db)
{
	return db && db->err[0] ? db->err : "database error";
}

static void quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/* Opens a connection with a bounded connect time, or returns NULL. */
static PGconn *open_conn(struct gw_db *db, int64_t *next)
{
	const char *kw[] = { "dbname", "connect_timeout", NULL };
	const char *val[] = { db->conninfo, CONNECT_TIMEOUT, NULL };
	int64_t now = vt_mono_ms();
	char set[64];
	PGconn *c;

	if (now < *next) {
		snprintf(db->err, sizeof db->err, "database unavailable");
		return NULL;
	}
	*next = now + RECONNECT_MS;
	c = PQconnectdbParams(kw, val, 1);
	if (!c || PQstatus(c) != CONNECTION_OK) {
		snprintf(db->err, sizeof db->err, "%s",
			 c ? PQerrorMessage(c) : "out of memory");
		db->err[strcspn(db->err, "\n")] = '\0';
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, quiet, NULL);
	snprintf(set, sizeof set, "SET statement_timeout = %d", db->timeout_ms);
	vt_pg_try(c, set);
	/* Long result lines (traceroutes) are compressed on insert: lz4 costs
	 * a fraction of pglz's CPU.  A server built without it keeps pglz. */
	vt_pg_try(c, "SET default_toast_compression = lz4");
	return c;
}

void gw_db_queue_times(const struct gw_db *db, int64_t *build_us,
		       int64_t *store_us)
{
	*build_us = db ? db->q_build_us : 0;
	*store_us = db ? db->q_store_us : 0;
}

void gw_db_set_timeout(struct gw_db *db, int ms)
{
	if (db && ms > 0)
		db->timeout_ms = ms;
}

/* An idle connection with something to read was told something by the
 * server (a FATAL at shutdown) or closed: read it so that a connection the
 * server dropped is noticed before a statement is sent on it. */
static void check_idle(PGconn *c)
{
	struct pollfd p = { .fd = PQsocket(c), .events = POLLIN };

	/* A FATAL message, then the end of the stream: read until libpq
	 * sees the end (it marks the connection bad) or nothing is left. */
	for (int i = 0; i < 8 && p.fd >= 0 && poll(&p, 1, 0) > 0; i++)
		if (!PQconsumeInput(c))
			break;
}

static PGconn *conn(struct gw_db *db)
{
	if (db->c)
		check_idle(db->c);
	if (db->c && PQstatus(db->c) != CONNECTION_OK) {
		PQfinish(db->c);
		db->c = NULL;
	}
	if (!db->c)
		db->c = open_conn(db, &db->c_next);
	return db->c;
}

/* Runs one statement; drops the connection when it broke. */
static int run(struct gw_db *db, PGresult **res, const char *sql, int n,
	       const char *const *p)
{
	PGconn *c = conn(db);
	int rc;

	if (res)
		*res = NULL;
	if (!c)
		return VT_EDB;
	rc = vt_pg_exec(c, res, db->err, sizeof db->err, sql, n, p);
	if (rc < 0 && vt_pg_broken(c)) {
		PQfinish(db->c);
		db->c = NULL;
	}
	return rc;
}

int gw_db_exec(struct gw_db *db, PGresult **res, const char *sql, int n,
	       const char *const *p)
{
	return run(db, res, sql, n, p);
}

PGconn *gw_db_conn(struct gw_db *db)
{
	return conn(db);
}

int gw_db_cmd(struct gw_db *db, const char *sql)
{
	return run(db, NULL, sql, 0, NULL);
}

int gw_db_commit(struct gw_db *db)
{
	int rc = run(db, NULL, "COMMIT", 0, NULL);

	if (rc < 0)
		(void)gw_db_rollback(db);   /* PostgreSQL took it back */
	db->tidy_txn = 0;
	return rc;
}

int gw_db_rollback(struct gw_db *db)
{
	/* A tidy the transaction took back runs again at the next scan. */
	if (db->tidy_txn) {
		db->tidied = db->tidy_txn - 1;
		db->tidy_next = 0;
		db->tidy_txn = 0;
	}
	return db->c ? run(db, NULL, "ROLLBACK", 0, NULL) : VT_OK;
}

int gw_db_probe_by_key(struct gw_db *db, const char *b64, long *probe_id)
{
	const char *p[1] = { b64 };
	PGresult *r;
	int rc;

	rc = run(db, &r, "SELECT id FROM probes WHERE pubkey = $1", 1, p);
	if (rc < 0)
		return rc;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return VT_ENOTFOUND;
	}
	*probe_id = atol(PQgetvalue(r, 0, 0));
	PQclear(r);
	return VT_OK;
}

int gw_db_register(struct gw_db *db, long probe_id, const char *token_specs,
		   long firmware, int live_s, int rsa_probe,
		   struct vt_reg_reply *rep)
{
	char id[32], fw[32], live[32];
	const char *p[3] = { id, token_specs, fw };
	const char *q[3] = { id, live, rsa_probe ? "t" : "f" };
	PGresult *r = NULL;
	int rc;

	snprintf(id, sizeof id, "%ld", probe_id);
	snprintf(fw, sizeof fw, "%ld", firmware);
	snprintf(live, sizeof live, "%d", live_s);
	rc = run(db, NULL, "UPDATE probes SET token_specs = $2,"
		 " firmware_version = nullif($3::integer, 0) WHERE id = $1", 3, p);
	if (rc < 0)
		return rc;
	/* The least loaded live gateway by live sessions and pending
	 * choices per capacity, kept up to date in gateway_load
	 * (017_gateway_balance.sql); the choice counts there at once.  A
	 * probe with an RSA key (a stock probe) gets the RSA-only listener and
	 * the ssh-rsa key, preferring gateways that have one; a probe with
	 * another key gets the ed25519 listener and key (PROTOCOL.md). */
	rc = run(db, &r, "SELECT host, port, key_type, key FROM"
		 " vt_gateway_pick($1, $3::boolean, $2::integer)", 3, q);
	if (rc < 0)
		return rc;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return VT_ENOTFOUND;
	}
	snprintf(rep->ctrl_host, sizeof rep->ctrl_host, "%s", PQgetvalue(r, 0, 0));
	rep->ctrl_port = atoi(PQgetvalue(r, 0, 1));
	snprintf(rep->ctrl_key_type, sizeof rep->ctrl_key_type, "%s",
		 PQgetvalue(r, 0, 2));
	snprintf(rep->ctrl_key, sizeof rep->ctrl_key, "%s", PQgetvalue(r, 0, 3));
	PQclear(r);
	return VT_OK;
}

int gw_db_session_new(struct gw_db *db, long probe_id, const char *sid,
		      int remote_port)
{
	char id[32], port[16];
	const char *p[3] = { id, sid, port };

	snprintf(id, sizeof id, "%ld", probe_id);
	snprintf(port, sizeof port, "%d", remote_port);
	return run(db, NULL, "INSERT INTO probe_sessions (probe_id, session_id,"
		   " remote_port, issued) VALUES ($1, $2, $3, now())"
		   " ON CONFLICT (probe_id) DO UPDATE SET session_id = $2,"
		   " remote_port = $3, issued = now()", 3, p);
}

int gw_db_session_get(struct gw_db *db, long probe_id, char *sid,
		      size_t sidlen, int *remote_port)
{
	char id[32];
	const char *p[1] = { id };
	PGresult *r;
	int rc;

	snprintf(id, sizeof id, "%ld", probe_id);
	rc = run(db, &r, "SELECT session_id, remote_port FROM probe_sessions"
		 " WHERE probe_id = $1", 1, p);
	if (rc < 0)
		return rc;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return VT_ENOTFOUND;
	}
	snprintf(sid, sidlen, "%s", PQgetvalue(r, 0, 0));
	*remote_port = atoi(PQgetvalue(r, 0, 1));
	PQclear(r);
	return VT_OK;
}

int gw_db_session_up(struct gw_db *db, long probe_id, const char *gw,
		     const char *from)
{
	char id[32];
	const char *p[3] = { id, gw, from };
	int rc;

	snprintf(id, sizeof id, "%ld", probe_id);
	rc = run(db, NULL, "UPDATE probe_sessions SET connected = true,"
		 " gateway = $2, from_addr = $3::inet, since = now(),"
		 " last_seen = now() WHERE probe_id = $1", 3, p);
	if (rc < 0)
		return rc;
	return run(db, NULL, "UPDATE probes SET status = 1, status_since ="
		   " CASE WHEN status = 1 THEN status_since ELSE now() END,"
		   " last_connected = now(), first_connected ="
		   " coalesce(first_connected, now()) WHERE id = $1", 1, p);
}

int gw_db_session_bind(struct gw_db *db, long probe_id, const char *gw,
		       const char *bind_addr)
{
	char id[32];
	const char *p[3] = { id, gw, bind_addr };

	snprintf(id, sizeof id, "%ld", probe_id);
	return run(db, NULL, "UPDATE probe_sessions SET bind_addr = $3,"
		   " last_seen = now() WHERE probe_id = $1 AND gateway = $2", 3, p);
}

int gw_db_session_down(struct gw_db *db, long probe_id, const char *gw)
{
	char id[32];
	const char *p[2] = { id, gw };
	PGresult *r;
	int rc;

	snprintf(id, sizeof id, "%ld", probe_id);
	rc = run(db, &r, "UPDATE probe_sessions SET connected = false,"
		 " gateway = NULL, last_seen = now() WHERE probe_id = $1"
		 " AND gateway = $2 RETURNING probe_id", 2, p);
	if (rc < 0)
		return rc;
	if (PQntuples(r) == 1)
		rc = run(db, NULL, "UPDATE probes SET status = 2, status_since = now()"
			 " WHERE id = $1", 1, p);
	PQclear(r);
	return rc;
}

int gw_db_sessions_reset(struct gw_db *db, const char *gw)
{
	/* A sync with nothing held.  The session triggers work per
	 * statement (migration 019), so even 10,000 sessions reset in a
	 * fraction of a second; the sync keeps a timeout of its own only for
	 * a database that is slow or busy. */
	return gw_db_sessions_sync(db, gw, NULL, 0);
}

int gw_db_sessions_sync(struct gw_db *db, const char *gw,
			const struct gw_db_live *live, int n)
{
	struct vt_buf ids, froms, binds;
	const char *p[4];
	int rc;

	vt_buf_init(&ids, 0);
	vt_buf_init(&froms, 0);
	vt_buf_init(&binds, 0);
	/* Array literals of the live sessions (addresses are inet text and
	 * forward addresses are at most 255 bytes of what the probe sent:
	 * quoted with the array-literal escapes). */
	rc = vt_buf_adds(&ids, "{");
	if (rc == 0)
		rc = vt_buf_adds(&froms, "{");
	if (rc == 0)
		rc = vt_buf_adds(&binds, "{");
	for (int i = 0; i < n && rc == 0; i++) {
		const char *sep = i ? "," : "";

		rc = vt_buf_addf(&ids, "%s%ld", sep, live[i].probe_id);
		if (rc == 0)
			rc = vt_buf_addf(&froms, "%s%s", sep,
					 live[i].from[0] ? live[i].from : "NULL");
		if (rc == 0 && !live[i].bind[0])
			rc = vt_buf_addf(&binds, "%sNULL", sep);
		else if (rc == 0) {
			rc = vt_buf_addf(&binds, "%s\"", sep);
			for (const char *c = live[i].bind; *c && rc == 0; c++)
				rc = (*c == '"' || *c == '\\')
					? vt_buf_addf(&binds, "\\%c", *c)
					: vt_buf_addc(&binds, *c);
			if (rc == 0)
				rc = vt_buf_addc(&binds, '"');
		}
	}
	if (rc == 0 && (rc = vt_buf_addc(&ids, '}')) == 0 &&
	    (rc = vt_buf_addc(&ids, '\0')) == 0 &&
	    (rc = vt_buf_addc(&froms, '}')) == 0 &&
	    (rc = vt_buf_addc(&froms, '\0')) == 0 &&
	    (rc = vt_buf_addc(&binds, '}')) == 0)
		rc = vt_buf_addc(&binds, '\0');
	if (rc < 0)
		goto out;
	p[0] = gw;
	p[1] = ids.data;
	p[2] = froms.data;
	p[3] = binds.data;
	if ((rc = run(db, NULL, "BEGIN", 0, NULL)) < 0)
		goto out;
	rc = run(db, NULL, "SET LOCAL statement_timeout = '60s'", 0, NULL);
	if (rc == 0)
		rc = run(db, NULL, "WITH gone AS (UPDATE probe_sessions SET"
			 " connected = false, gateway = NULL, last_seen = now()"
			 " WHERE gateway = $1 AND NOT (probe_id = ANY($2::integer[]))"
			 " RETURNING probe_id)"
			 " UPDATE probes SET status = 2, status_since = now()"
			 " WHERE id IN (SELECT probe_id FROM gone) AND status = 1",
			 2, p);
	if (rc == 0)
		rc = run(db, NULL, "WITH live AS (SELECT * FROM unnest($2::integer[],"
			 " $3::inet[], $4::text[]) AS l(id, from_addr, bind)),"
			 " up AS (UPDATE probe_sessions ps SET connected = true,"
			 " gateway = $1, from_addr = live.from_addr,"
			 " since = CASE WHEN ps.connected AND ps.gateway = $1"
			 " THEN ps.since ELSE now() END, last_seen = now(),"
			 " bind_addr = coalesce(live.bind, ps.bind_addr)"
			 " FROM live WHERE ps.probe_id = live.id AND"
			 " (NOT ps.connected OR ps.gateway IS NULL OR"
			 " (ps.gateway = $1 AND ps.bind_addr IS DISTINCT FROM"
			 " coalesce(live.bind, ps.bind_addr)))"
			 " RETURNING ps.probe_id)"
			 " UPDATE probes SET status = 1, status_since ="
			 " CASE WHEN status = 1 THEN status_since ELSE now() END,"
			 " last_connected = now(), first_connected ="
			 " coalesce(first_connected, now())"
			 " WHERE id IN (SELECT probe_id FROM up)", 4, p);
	if (rc == 0)
		rc = run(db, NULL, "COMMIT", 0, NULL);
	else
		(void)run(db, NULL, "ROLLBACK", 0, NULL);
out:
	vt_buf_free(&ids);
	vt_buf_free(&froms);
	vt_buf_free(&binds);
	return rc;
}

#define QUEUE_COLS 6
#define REJ_COLS   4
#define ALL_COLS   (QUEUE_COLS + REJ_COLS)

static const char queue_sql[] =
	"INSERT INTO result_queue (probe_id, session_id, from_addr, src,"
	" received, line) SELECT * FROM unnest($1::integer[], $2::text[],"
	" $3::inet[], $4::text[], $5::timestamptz[], $6::text[])";
/* The refused lines in the same statement (one transaction). */
static const char queue_rej_sql[] =
	"WITH rej AS (INSERT INTO rejected (probe_id, received, reason, line)"
	" SELECT * FROM unnest($7::integer[], $8::timestamptz[], $9::text[],"
	" $10::text[]))"
	" INSERT INTO result_queue (probe_id, session_id, from_addr, src,"
	" received, line) SELECT * FROM unnest($1::integer[], $2::text[],"
	" $3::inet[], $4::text[], $5::timestamptz[], $6::text[])";

/* Adds the rows of upload u to the arrays; counts them in *rows, *rej. */
static int queue_rows(struct vt_pgbin *a, const struct gw_db_upload *u,
		      int *rows, int *rej)
{
	size_t sidlen = strlen(u->sid);
	size_t srclen = u->src ? strlen(u->src) : 0;
	int rc = VT_OK;

	for (int l = 0; l < u->n && rc == 0; l++) {
		rc = vt_pgbin_i32(&a[0], u->probe_id);
		if (rc == 0)
			rc = vt_pgbin_bytes(&a[1], u->sid, sidlen);
		if (rc == 0 && vt_pgbin_inet(&a[2], u->from) < 0)
			rc = vt_pgbin_null(&a[2]);
		if (rc == 0)
			rc = srclen ? vt_pgbin_bytes(&a[3], u->src, srclen)
				    : vt_pgbin_null(&a[3]);
		if (rc == 0)
			rc = vt_pgbin_ts_ms(&a[4], u->received_ms);
		if (rc == 0)
			rc = vt_pgbin_bytes(&a[5], u->lines[l], u->lens[l]);
		(*rows)++;
	}
	for (int l = 0; l < u->nrej && rc == 0; l++) {
		rc = vt_pgbin_i32(&a[6], u->probe_id);
		if (rc == 0)
			rc = vt_pgbin_ts_ms(&a[7], u->received_ms);
		if (rc == 0)
			rc = vt_pgbin_bytes(&a[8], u->rej_reasons[l],
					    strlen(u->rej_reasons[l]));
		if (rc == 0)
			rc = vt_pgbin_bytes(&a[9], u->rej_lines[l], u->rej_lens[l]);
		(*rej)++;
	}
	return rc;
}

int gw_db_queue_many(struct gw_db *db, const struct gw_db_upload *u, int nu,
		     int *data_error)
{
	static const unsigned elem[ALL_COLS] = { VT_OID_INT4, VT_OID_TEXT,
		VT_OID_INET, VT_OID_TEXT, VT_OID_TIMESTAMPTZ, VT_OID_TEXT,
		VT_OID_INT4, VT_OID_TIMESTAMPTZ, VT_OID_TEXT, VT_OID_TEXT };
	static const unsigned types[ALL_COLS] = { VT_OID_INT4_ARR,
		VT_OID_TEXT_ARR, VT_OID_INET_ARR, VT_OID_TEXT_ARR,
		VT_OID_TIMESTAMPTZ_ARR, VT_OID_TEXT_ARR, VT_OID_INT4_ARR,
		VT_OID_TIMESTAMPTZ_ARR, VT_OID_TEXT_ARR, VT_OID_TEXT_ARR };
	static const int fmt[ALL_COLS] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };
	struct vt_pgbin a[ALL_COLS];
	struct vt_pgcopy *cp = &db->q_copy;
	const char *p[ALL_COLS], *data;
	int len[ALL_COLS], rc = VT_OK, total = 0, nrej = 0, ncols;
	size_t dlen;
	PGresult *res = NULL;
	PGconn *c;
	int64_t t0 = vt_mono_us(), t1 = 0;

	if (data_error)
		*data_error = 0;
	vt_pgcopy_reset(cp);
	for (int k = 0; k < ALL_COLS; k++)
		vt_pgbin_init(&a[k], elem[k], 0);
	for (int i = 0; i < nu; i++)
		nrej += u[i].nrej;
	if (!nrej) {
		/* The usual case, no refused line: one COPY (a bulk load,
		 * one WAL record per page), in its own transaction,
		 * committed when it returns PGRES_COMMAND_OK
		 * (synchronous_commit as the cluster has it). */
		if ((rc = gw_qcopy_build(cp, &db->q_heads, u, nu)) < 0)
			goto out;
		if (!cp->rows)
			goto out;
		if (!(data = vt_pgcopy_done(cp, &dlen))) {
			rc = VT_ENOMEM;
			goto out;
		}
		t1 = vt_mono_us();   /* a (re)connect counts as storing */
		if (!(c = conn(db))) {
			rc = VT_EDB;
			goto out;
		}
		res = vt_pg_copy_in(c, GW_QCOPY_SQL, data, dlen);
		goto done;
	}
	nrej = 0;
	for (int i = 0; i < nu && rc == 0; i++)
		rc = queue_rows(a, &u[i], &total, &nrej);
	if (rc < 0 || total + nrej == 0)
		goto out;
	ncols = nrej ? ALL_COLS : QUEUE_COLS;
	for (int k = 0; k < ncols; k++)
		if (!(p[k] = vt_pgbin_done(&a[k], &len[k]))) {
			rc = VT_ENOMEM;
			goto out;
		}
	t1 = vt_mono_us();
	if (!(c = conn(db))) {
		rc = VT_EDB;
		goto out;
	}
	/* One statement: its own transaction, committed when it returns
	 * PGRES_COMMAND_OK (synchronous_commit as the cluster has it). */
	res = PQexecParams(c, nrej ? queue_rej_sql : queue_sql, ncols, types, p,
			   len, fmt, 0);
done:
	if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
		const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

		snprintf(db->err, sizeof db->err, "%s",
			 res ? PQresultErrorMessage(res) : PQerrorMessage(c));
		db->err[strcspn(db->err, "\n")] = '\0';
		if (data_error && st && (!strncmp(st, "22", 2) || !strncmp(st, "23", 2)))
			*data_error = 1;
		if (vt_pg_broken(c)) {
			PQfinish(db->c);
			db->c = NULL;
		}
		rc = VT_EDB;
	}
out:
	if (t1) {
		db->q_build_us += t1 - t0;
		db->q_store_us += vt_mono_us() - t1;
	}
	PQclear(res);
	/* The stream's storage stays for the next group (its pages mapped
	 * already), unless it grew past the largest group's. */
	if (cp->b.cap > 2 * (size_t)GW_QCOPY_KEEP)
		vt_pgcopy_free(cp);
	for (int k = 0; k < ALL_COLS; k++)
		vt_pgbin_free(&a[k]);
	return rc;
}

int gw_db_queue(struct gw_db *db, long probe_id, const char *sid,
		const char *from, const char *src, int64_t received_ms,
		const char *const *lines, const size_t *lens, int n)
{
	struct gw_db_upload u = { probe_id, sid, from, src, received_ms, lines,
				  lens, n, NULL, NULL, NULL, 0 };

	return gw_db_queue_many(db, &u, 1, NULL);
}

int gw_db_heartbeat(struct gw_db *db, const char *name,
		    const struct gw_heartbeat *hb)
{
	char po[16], rpo[16], se[16], mx[16], ca[16];
	const char *p[9] = { name, hb->host, po, hb->rsa_key, hb->ed_key, se, mx,
			     hb->rsa_port > 0 ? rpo : NULL,
			     hb->capacity > 0 ? ca : NULL };

	snprintf(po, sizeof po, "%d", hb->port);
	snprintf(rpo, sizeof rpo, "%d", hb->rsa_port);
	snprintf(se, sizeof se, "%d", hb->sessions);
	snprintf(mx, sizeof mx, "%d", hb->max_sessions);
	snprintf(ca, sizeof ca, "%d", hb->capacity);
	return run(db, NULL, "INSERT INTO gateways (name, ctrl_host, ctrl_port,"
		   " rsa_host_key, ed25519_host_key, sessions, max_sessions,"
		   " rsa_ctrl_port, capacity, heartbeat) VALUES ($1, $2, $3, $4,"
		   " $5, $6, $7, $8, $9, now())"
		   " ON CONFLICT (name) DO UPDATE SET ctrl_host = $2,"
		   " ctrl_port = $3, rsa_host_key = $4, ed25519_host_key = $5,"
		   " sessions = $6, max_sessions = $7, rsa_ctrl_port = $8,"
		   " capacity = $9, heartbeat = now(), stopped = NULL", 9, p);
}

int gw_db_leave(struct gw_db *db, const char *name)
{
	const char *p[1] = { name };

	return run(db, NULL, "UPDATE gateways SET stopped = now(), sessions = 0"
		   " WHERE name = $1", 1, p);
}

int gw_db_push_tidy(struct gw_db *db, const char *gw)
{
	char lease[16], restarted[8];
	const char *t[3] = { gw, restarted, lease };
	int rc;

	if (vt_mono_ms() < db->tidy_next)
		return VT_OK;
	snprintf(lease, sizeof lease, "%d", GW_PUSH_LEASE_S);
	snprintf(restarted, sizeof restarted, "%s", db->tidied ? "false" : "true");
	/* Claims lost with their gateway, and pushes nobody will send. */
	if ((rc = run(db, NULL, "SELECT vt_pushes_tidy($1, $2::boolean,"
		      " $3::integer)", 3, t)) < 0)
		return rc;
	if (!db->tidy_txn && db->c &&
	    PQtransactionStatus(db->c) == PQTRANS_INTRANS)
		db->tidy_txn = 1 + db->tidied;   /* gw_db_rollback */
	db->tidied = 1;
	db->tidy_next = vt_mono_ms() + GW_PUSH_TIDY_MS;
	return VT_OK;
}

int gw_db_push_pending(struct gw_db *db, const char *gw, const long *want,
		       int nwant, long *ids, long *probes, int max, int *n)
{
	char lim[16];
	const char *p[2] = { NULL, lim };
	struct vt_pg_array a;
	PGresult *r = NULL;
	int rc = VT_ENOMEM;

	*n = 0;
	snprintf(lim, sizeof lim, "%d", max);
	vt_pg_array_init(&a, (size_t)nwant * 24 + 16);
	for (int i = 0; i < nwant; i++)
		if (vt_pg_array_ll(&a, want[i]) < 0)
			goto out;
	if (!(p[0] = vt_pg_array_done(&a)))
		goto out;
	if ((rc = gw_db_push_tidy(db, gw)) < 0)
		goto out;
	/* The oldest pending push of each probe given (one at a time each). */
	rc = run(db, &r, "SELECT id, probe_id FROM (SELECT DISTINCT ON (probe_id)"
		 " id, probe_id FROM probe_pushes WHERE status = 'pending'"
		 " AND probe_id = ANY ($1::integer[]) ORDER BY probe_id, id) x"
		 " ORDER BY id LIMIT $2", 2, p);
	if (rc < 0)
		goto out;
	for (int i = 0; i < PQntuples(r) && i < max; i++) {
		ids[i] = atol(PQgetvalue(r, i, 0));
		probes[i] = atol(PQgetvalue(r, i, 1));
		(*n)++;
	}
out:
	PQclear(r);
	vt_pg_array_free(&a);
	return rc;
}

/* Adds the due one-offs of probe_ids[i] to push_ids[i] (crontab pushes
 * claimed in the transaction open on c; <= 0: none), as many as fit beside
 * text[i]'s lines: to text[i]; one statement for all n. */
static int oneoffs_in(struct gw_db *db, PGconn *c, const long *probe_ids,
		      const long *push_ids, int n, struct vt_buf *text)
{
	struct vt_dlg_batch **b = calloc((size_t)(n > 0 ? n : 1), sizeof *b);
	int *max = calloc((size_t)(n > 0 ? n : 1), sizeof *max);
	int *got = calloc((size_t)(n > 0 ? n : 1), sizeof *got);
	int rc = VT_OK;

	if (!b || !max || !got)
		rc = VT_ENOMEM;
	for (int i = 0; i < n && rc == 0; i++) {
		size_t room = text[i].len < GW_PUSH_MAX_TEXT ?
			      GW_PUSH_MAX_TEXT - text[i].len : 0;

		max[i] = (int)(room / (VT_DLG_LINE_MAX + 2));
		if (push_ids[i] > 0 && !(b[i] = vt_dlg_batch_new()))
			rc = VT_ENOMEM;
	}
	if (rc == 0)
		rc = vt_sched_oneoffs_take(c, probe_ids, push_ids, max, n, b,
					   got, db->err, sizeof db->err);
	for (int i = 0; i < n && rc == 0; i++)
		if (got[i] > 0 && (rc = vt_dlg_batch_format(b[i], &text[i])) < 0)
			snprintf(db->err, sizeof db->err, "one-offs: %s",
				 vt_strerror(rc));
	for (int i = 0; b && i < n; i++)
		vt_dlg_batch_free(b[i]);
	free(b);
	free(max);
	free(got);
	return rc;
}

/* Claims the pending pushes ids[0..n) for gw in the transaction open on
 * c: one UPDATE for all, then one statement for the one-offs of all the
 * crontab pushes among them. */
static int claims_in(struct gw_db *db, PGconn *c, const char *gw,
		     const long *ids, int n, char **batch, int *rcs)
{
	struct vt_pg_array a;
	const char *p[2] = { NULL, gw };
	PGresult *r = NULL;
	struct vt_buf *text = calloc((size_t)(n > 0 ? n : 1), sizeof *text);
	long *probe = calloc((size_t)(n > 0 ? n : 1), sizeof *probe);
	long *push = calloc((size_t)(n > 0 ? n : 1), sizeof *push);
	int rc = VT_OK;

	vt_pg_array_init(&a, (size_t)n * 24 + 16);
	for (int i = 0; i < n; i++) {
		batch[i] = NULL;
		rcs[i] = VT_ENOTFOUND;
		if (text)
			vt_buf_init(&text[i], GW_PUSH_MAX_TEXT + VT_DLG_LINE_MAX);
		if (rc == 0)
			rc = vt_pg_array_ll(&a, ids[i]);
	}
	if (rc < 0 || !text || !probe || !push ||
	    !(p[0] = vt_pg_array_done(&a))) {
		rc = VT_ENOMEM;
		goto out;
	}
	rc = vt_pg_exec(c, &r, db->err, sizeof db->err,
			"UPDATE probe_pushes SET status = 'sending', gateway = $2,"
			" claimed = now(), attempts = attempts + 1"
			" WHERE id = ANY($1::bigint[]) AND status = 'pending'"
			" RETURNING id, batch, probe_id, kind", 2, p);
	for (int k = 0; rc == 0 && k < PQntuples(r); k++) {
		long id = atol(PQgetvalue(r, k, 0));
		int i = 0;

		while (i < n && (ids[i] != id || rcs[i] == VT_OK))
			i++;
		if (i == n)
			continue;
		if (vt_buf_add(&text[i], PQgetvalue(r, k, 1),
			       (size_t)PQgetlength(r, k, 1)) < 0)
			rc = VT_ENOMEM;
		probe[i] = atol(PQgetvalue(r, k, 2));
		if (!strcmp(PQgetvalue(r, k, 3), "crontab"))
			push[i] = id;
		rcs[i] = VT_OK;
	}
	if (rc == 0)
		rc = oneoffs_in(db, c, probe, push, n, text);
	for (int i = 0; rc == 0 && i < n; i++)
		if (rcs[i] == VT_OK &&
		    !(batch[i] = strdup(text[i].data ? text[i].data : "")))
			rc = VT_ENOMEM;
out:
	if (rc < 0)
		for (int i = 0; i < n; i++) {
			free(batch[i]);
			batch[i] = NULL;
		}
	PQclear(r);
	vt_pg_array_free(&a);
	for (int i = 0; text && i < n; i++)
		vt_buf_free(&text[i]);
	free(text);
	free(probe);
	free(push);
	return rc;
}

/* Test only: holds each claimed push before it goes to the probe. */
void gw_db_claim_delay(struct gw_db *db)
{
	if (db->push_delay_ms > 0)
		(void)poll(NULL, 0, db->push_delay_ms);
}

int gw_db_push_claims(struct gw_db *db, const char *gw, const long *ids,
		      int n, char **batch, int *rcs)
{
	PGconn *c = conn(db);
	int rc;

	for (int i = 0; i < n; i++) {
		batch[i] = NULL;
		rcs[i] = VT_ENOTFOUND;
	}
	if (!c)
		return VT_EDB;
	rc = n > 0 ? claims_in(db, c, gw, ids, n, batch, rcs) : VT_OK;
	if (rc < 0 && vt_pg_broken(c)) {
		PQfinish(db->c);
		db->c = NULL;
	}
	return rc;
}

int gw_db_push_claim(struct gw_db *db, long push_id, const char *gw,
		     char **batch)
{
	PGconn *c = conn(db);
	int rc, one;

	*batch = NULL;
	if (!c)
		return VT_EDB;
	/* One transaction: the claim and the one-offs it takes. */
	if ((rc = vt_pg_cmd(c, "BEGIN", db->err, sizeof db->err)) < 0)
		goto out;
	rc = claims_in(db, c, gw, &push_id, 1, batch, &one);
	if (rc == 0)
		rc = one;
	if (rc == 0) {
		if ((rc = vt_pg_cmd(c, "COMMIT", db->err, sizeof db->err)) < 0) {
			free(*batch);
			*batch = NULL;
		}
	} else {
		free(*batch);
		*batch = NULL;
		vt_pg_try(c, "ROLLBACK");
	}
	if (rc == 0)
		gw_db_claim_delay(db);
out:
	if (rc < 0 && vt_pg_broken(c)) {
		PQfinish(db->c);
		db->c = NULL;
	}
	return rc;
}

int gw_db_push_done(struct gw_db *db, long push_id, const char *gw, int ok,
		    const char *outcome)
{
	char id[32];
	const char *p[4] = { id, ok ? "ok" : "failed", outcome, gw };

	snprintf(id, sizeof id, "%ld", push_id);
	/* A trigger settles the push's one-offs (011_push_claims.sql). */
	return run(db, NULL, "UPDATE probe_pushes SET status = $2, outcome = $3,"
		   " finished = now() WHERE id = $1 AND status = 'sending'"
		   " AND gateway = $4", 4, p);
}

int gw_db_push_release(struct gw_db *db, long push_id, const char *gw)
{
	char id[32];
	const char *p[2] = { id, gw };

	snprintf(id, sizeof id, "%ld", push_id);
	return run(db, NULL, "UPDATE probe_pushes SET status = 'pending',"
		   " gateway = NULL, claimed = NULL WHERE id = $1"
		   " AND status = 'sending' AND gateway = $2", 2, p);
}

int gw_db_keys(struct gw_db *db, gw_db_key_cb cb, void *arg)
{
	PGresult *r;
	int rc;

	rc = run(db, &r, "SELECT id, pubkey FROM probes", 0, NULL);
	if (rc < 0)
		return rc;
	for (int i = 0; i < PQntuples(r) && rc == 0; i++)
		rc = cb(arg, atol(PQgetvalue(r, i, 0)), PQgetvalue(r, i, 1));
	PQclear(r);
	return rc;
}

int gw_db_listen_fd(struct gw_db *db)
{
	if (db->l && PQstatus(db->l) != CONNECTION_OK) {
		PQfinish(db->l);
		db->l = NULL;
	}
	if (!db->l) {
		if (!(db->l = open_conn(db, &db->l_next)))
			return -1;
		if (vt_pg_cmd(db->l, "LISTEN vantage_push; LISTEN vantage_crontab;"
			      " LISTEN vantage_keys", db->err,
			      sizeof db->err) < 0 || PQsetnonblocking(db->l, 1) < 0) {
			PQfinish(db->l);
			db->l = NULL;
			return -1;
		}
	}
	return PQsocket(db->l);
}

int gw_db_listen_drain(struct gw_db *db, int *notified)
{
	PGnotify *n;

	*notified = 0;
	if (!db->l)
		return VT_EDB;
	if (!PQconsumeInput(db->l) || PQstatus(db->l) != CONNECTION_OK) {
		snprintf(db->err, sizeof db->err, "%s", PQerrorMessage(db->l));
		db->err[strcspn(db->err, "\n")] = '\0';
		PQfinish(db->l);
		db->l = NULL;
		return VT_EDB;
	}
	while ((n = PQnotifies(db->l))) {
		if (!strcmp(n->relname, "vantage_keys")) {
			*notified |= GW_NOTIFY_KEYS;
			PQfreemem(n);
			continue;
		}
		*notified |= GW_NOTIFY_PUSH;
		if (!strcmp(n->relname, "vantage_crontab")) {
			char *end;
			long id = strtol(n->extra, &end, 10);

			if (end != n->extra && !*end && id > 0) {
				if (db->ncrontab < GW_CRONTAB_NOTIFY_MAX)
					db->crontab[db->ncrontab++] = id;
				else
					db->crontab_overflow = 1;
			}
		}
		PQfreemem(n);
	}
	return VT_OK;
}

int gw_db_crontab_notified(struct gw_db *db, long *ids, int max, int *overflow)
{
	int n = db->ncrontab < max ? db->ncrontab : max;

	memcpy(ids, db->crontab, (size_t)n * sizeof *ids);
	*overflow = db->crontab_overflow || db->ncrontab > max;
	db->ncrontab = 0;
	db->crontab_overflow = 0;
	return n;
}

int gw_db_crontab_texts(struct gw_db *db, const long *ids,
			const char *const *sid, int n, struct vt_buf *texts)
{
	struct vt_dlg_batch **b = calloc(n > 0 ? (size_t)n : 1, sizeof *b);
	long long now = (long long)time(NULL);
	PGconn *c = conn(db);
	int rc = VT_ENOMEM;

	if (!b)
		goto out;
	for (int i = 0; i < n; i++)
		if (!(b[i] = vt_dlg_batch_new()))
			goto out;
	if (!c) {
		rc = VT_EDB;
		goto out;
	}
	rc = vt_sched_probes_batch(c, ids, n, now, b, db->err, sizeof db->err);
	for (int i = 0; rc == 0 && i < n; i++)
		if ((rc = vt_jobs_upload(b[i], ids[i], sid[i])) < 0 ||
		    (rc = vt_dlg_batch_format(b[i], &texts[i])) < 0)
			snprintf(db->err, sizeof db->err, "crontab batch: %s",
				 vt_strerror(rc));
out:
	for (int i = 0; b && i < n; i++)
		vt_dlg_batch_free(b[i]);
	free(b);
	return rc;
}

int gw_db_crontab_text(struct gw_db *db, long probe_id, const char *sid,
		       struct vt_buf *text)
{
	return gw_db_crontab_texts(db, &probe_id, &sid, 1, text);
}

int gw_db_push_oneoffs(struct gw_db *db, const long *probe_ids,
		       const long *push_ids, int n, struct vt_buf *text)
{
	PGconn *c = conn(db);

	if (!c)
		return VT_EDB;
	return oneoffs_in(db, c, probe_ids, push_ids, n, text);
}
