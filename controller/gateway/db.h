/* db.h - the gateway's PostgreSQL work: probe lookup by key, sessions,
 * the result queue, the gateways heartbeat, pushes and LISTEN/NOTIFY.
 *
 * One gw_db holds a command connection and a LISTEN connection, both
 * opened lazily and reopened after a failure (at most once a second), with
 * a short connect timeout and a statement timeout.  The calls block: the
 * gateway makes them on its database threads (dbq.h), one gw_db per
 * thread, never on the event loop.  Every call returns 0 or a VT_E* code;
 * database errors are VT_EDB with the reason readable through
 * gw_db_error(). */
#ifndef VT_GW_DB_H
#define VT_GW_DB_H

#include <stddef.h>
#include <stdint.h>
#include "common/err.h"
#include <libpq-fe.h>
#include "proto/reg.h"

struct gw_db;

/* Creates the handle (no connection yet).  conninfo is copied. */
int gw_db_new(const char *conninfo, struct gw_db **out) VT_WUR;
void gw_db_free(struct gw_db *db);
/* Sets the statement timeout of connections opened from now on
 * (default 5000 ms). */
void gw_db_set_timeout(struct gw_db *db, int ms);
/* The last error message (never NULL). */
const char *gw_db_error(const struct gw_db *db);

/* The command connection (opened when needed; NULL when the database is
 * away, gw_db_error says why), for the gateway's modules that keep their
 * SQL to themselves (balance.c).  Owned by db. */
PGconn *gw_db_conn(struct gw_db *db);
/* Runs sql, which takes no parameters and returns no rows (BEGIN, COMMIT,
 * ROLLBACK). */
int gw_db_cmd(struct gw_db *db, const char *sql) VT_WUR;
/* COMMIT and ROLLBACK of a transaction opened with gw_db_cmd("BEGIN"):
 * what the database handle did in it that the database took back (a push
 * tidy, gw_db_push_pending) is done again later. */
int gw_db_commit(struct gw_db *db) VT_WUR;
int gw_db_rollback(struct gw_db *db);
/* Runs sql with n text parameters; *res (may be NULL) gets the rows
 * (caller clears).  The connection is dropped when it broke. */
int gw_db_exec(struct gw_db *db, PGresult **res, const char *sql, int n,
	       const char *const *p) VT_WUR;

/* Probe id of a public key (base64 blob); VT_ENOTFOUND when unknown. */
int gw_db_probe_by_key(struct gw_db *db, const char *b64, long *probe_id) VT_WUR;

/* Fills the controller part of a registration reply: the live gateway
 * (heartbeat within live_s seconds, not draining) with the lowest load
 * (live sessions and choices pending, per capacity: vt_gateway_pick, which
 * counts this choice at once), its host, port
 * and RSA key.  VT_ENOTFOUND when no gateway is live.  Also records the
 * probe's TOKEN_SPECS and firmware. */
int gw_db_register(struct gw_db *db, long probe_id, const char *token_specs,
		   long firmware, int live_s, int rsa_probe,
		   struct vt_reg_reply *r) VT_WUR;

/* Stores a fresh session id and remote port for the probe (controller INIT). */
int gw_db_session_new(struct gw_db *db, long probe_id, const char *sid,
		      int remote_port) VT_WUR;
/* Reads the probe's session id and remote port; VT_ENOTFOUND when none. */
int gw_db_session_get(struct gw_db *db, long probe_id, char *sid,
		      size_t sidlen, int *remote_port) VT_WUR;
/* Marks the probe connected through gateway gw from address from. */
int gw_db_session_up(struct gw_db *db, long probe_id, const char *gw,
		     const char *from) VT_WUR;
/* Records the tcpip-forward bind address as sent. */
int gw_db_session_bind(struct gw_db *db, long probe_id, const char *gw,
		       const char *bind_addr) VT_WUR;
/* Marks the probe disconnected, when gw still holds it. */
int gw_db_session_down(struct gw_db *db, long probe_id, const char *gw) VT_WUR;
/* Marks every session of gw disconnected (start-up after a crash). */
int gw_db_sessions_reset(struct gw_db *db, const char *gw) VT_WUR;

/* A KEEP session gw holds, for gw_db_sessions_sync. */
struct gw_db_live {
	long probe_id;
	char from[64];        /* address text ("": unknown) */
	char bind[256];       /* tcpip-forward address ("": none yet) */
};
/* Makes probe_sessions and probes agree with what gw holds (after its
 * bookkeeping failed, e.g. while the database was away), in one
 * transaction: probes recorded as connected through gw but not in live[]
 * are marked disconnected; probes of live[] not recorded as connected are
 * marked connected through gw (a probe connected through another gateway
 * is left to it). */
int gw_db_sessions_sync(struct gw_db *db, const char *gw,
			const struct gw_db_live *live, int n) VT_WUR;

/* Writes n result lines to result_queue in one statement (one transaction);
 * returns only once committed.  gw_db_queue_many with one upload. */
int gw_db_queue(struct gw_db *db, long probe_id, const char *sid,
		const char *from, const char *src, int64_t received_ms,
		const char *const *lines, const size_t *lens, int n) VT_WUR;

/* The result lines of one upload (pointers owned by the caller). */
struct gw_db_upload {
	long               probe_id;
	const char        *sid;
	const char        *from;       /* address text; NULL or unparsable: NULL */
	const char        *src;        /* NULL or "": NULL */
	int64_t            received_ms;
	const char *const *lines;
	const size_t      *lens;
	int                n;
	/* Lines the sink refused (text already made storable, see
	 * vt_report_line_escape), each with its reason: go to rejected in the
	 * same transaction. */
	const char *const *rej_lines;
	const size_t      *rej_lens;
	const char *const *rej_reasons;
	int                nrej;
};

/* Group commit: writes the lines of nu uploads to result_queue with one
 * INSERT (one transaction, parameters in binary form), and their refused
 * lines to rejected in the same statement; returns 0 only once
 * committed, else nothing of them is stored.  *data_error (may be NULL) is
 * set to 1 when PostgreSQL refused the rows themselves (an invalid line,
 * SQLSTATE class 22 or 23): storing the uploads one by one may then save
 * all but the faulty one. */
int gw_db_queue_many(struct gw_db *db, const struct gw_db_upload *u, int nu,
		     int *data_error) VT_WUR;
/* The time gw_db_queue_many spent on this connection so far (mono us),
 * of the calls that reached the server: building the rows, and sending
 * them through their COMMIT (the WAL flush included). */
void gw_db_queue_times(const struct gw_db *db, int64_t *build_us,
		       int64_t *store_us);

/* What a heartbeat records of the gateway. */
struct gw_heartbeat {
	const char *host, *rsa_key, *ed_key;   /* live as long as the gateway */
	int port;                              /* Vantage's probes (ed25519) */
	int rsa_port;                          /* stock probes (RSA only); 0: none */
	int sessions, max_sessions;
	int capacity;                          /* weight in the choice; 0: max_sessions */
};

/* Upserts the gateway's row with a fresh heartbeat (and clears stopped). */
int gw_db_heartbeat(struct gw_db *db, const char *name,
		    const struct gw_heartbeat *hb) VT_WUR;
/* Marks the gateway stopped: registration no longer hands it out. */
int gw_db_leave(struct gw_db *db, const char *name) VT_WUR;

/* A claim older than this is taken as lost with its gateway (far longer
 * than a push may take, the dialogue's timeout included). */
#define GW_PUSH_LEASE_S 120
/* vt_pushes_tidy runs at most this often (a scan follows each NOTIFY). */
#define GW_PUSH_TIDY_MS 10000

/* Settles the pushes nobody will finish (gw_db_push_tidy), then reads
 * the oldest pending push
 * of each of the nwant probes in want[] (those this gateway holds that can
 * take one): fills ids[] and probes[] (at most max, oldest first), *n
 * their count. */
int gw_db_push_pending(struct gw_db *db, const char *gw, const long *want,
		       int nwant, long *ids, long *probes, int max, int *n) VT_WUR;
/* Runs vt_pushes_tidy when due (at the first call, then every
 * GW_PUSH_TIDY_MS): claims past GW_PUSH_LEASE_S, and at the first call
 * those of gateway gw from before its restart, go back to pending;
 * expired, superseded and orphaned pending pushes are expired. */
int gw_db_push_tidy(struct gw_db *db, const char *gw) VT_WUR;
/* Adds probe_ids[i]'s due one-offs to push_ids[i], crontab pushes
 * claimed in the transaction open on db, as many as fit beside text[i]'s
 * lines: to text[i]; one statement for all n (push_ids[i] <= 0: none). */
struct vt_buf;
int gw_db_push_oneoffs(struct gw_db *db, const long *probe_ids,
		       const long *push_ids, int n, struct vt_buf *text) VT_WUR;
/* Claims a pending push for gateway gw; *batch (caller frees) holds its
 * lines: for a crontab push, with the probe's due one-offs added, which
 * the push takes in the claim's transaction (vt_sched_oneoffs_add).
 * VT_ENOTFOUND when it is no longer pending. */
int gw_db_push_claim(struct gw_db *db, long push_id, const char *gw,
		     char **batch) VT_WUR;
/* Records the outcome of a push gw claimed (ok: 1 when the probe answered
 * OK); its one-offs are delivered (ok) or due again.  Nothing when the
 * claim was lost meanwhile. */
int gw_db_push_done(struct gw_db *db, long push_id, const char *gw, int ok,
		    const char *outcome) VT_WUR;

/* Puts a push claimed by gw back to pending (its probe went away before
 * it could be delivered); its one-offs are due again. */
int gw_db_push_release(struct gw_db *db, long push_id, const char *gw) VT_WUR;

/* Calls cb for every probe's id and public key (base64); a negative return
 * of cb stops and is returned. */
typedef int (*gw_db_key_cb)(void *arg, long probe_id, const char *b64);
int gw_db_keys(struct gw_db *db, gw_db_key_cb cb, void *arg) VT_WUR;

/* The LISTEN connection's socket (LISTEN vantage_push), opening it when
 * needed; -1 when the database is away. */
int gw_db_listen_fd(struct gw_db *db);

/* The text of a probe's crontab push (gw_db_crontabs_enqueue), into text. */
int gw_db_crontab_text(struct gw_db *db, long probe_id, const char *sid,
		       struct vt_buf *text) VT_WUR;
/* gw_db_crontab_text for ids[0..n) (session ids sid[i]) with one
 * scheduler query for all (vt_sched_probes_batch): texts[i] gets ids[i]'s,
 * appended. */
int gw_db_crontab_texts(struct gw_db *db, const long *ids,
			const char *const *sid, int n, struct vt_buf *texts) VT_WUR;

/* Set-based (db_batch.c): the bookkeeping of many probes, one statement
 * per kind, each as its single-probe call above for every probe given
 * (a probe given at most once).  They run in the caller's transaction
 * when one is open (the control lane's group, jobs.c). */
struct gw_db_sess {
	int  found;                         /* 0: no session (ENOTFOUND) */
	char sid[VT_SESSION_ID_MAX + 1];
	int  port;
};
/* gw_db_session_get for ids[0..n): out[i] for ids[i]. */
int gw_db_sessions_get(struct gw_db *db, const long *ids, int n,
		       struct gw_db_sess *out) VT_WUR;
/* gw_db_session_up (from[i] NULL or "": address unknown). */
int gw_db_sessions_up(struct gw_db *db, const char *gw, const long *ids,
		      const char *const *from, int n) VT_WUR;
int gw_db_sessions_bind(struct gw_db *db, const char *gw, const long *ids,
			const char *const *bind, int n) VT_WUR;
int gw_db_sessions_down(struct gw_db *db, const char *gw, const long *ids,
			int n) VT_WUR;
/* Queues each probe's whole crontab as a push: the measurement crontab
 * from its assignments (vt_sched_probes_batch) and the crons/main upload
 * job (httppost with PROBE_ID and session id sid[i], condmv) that a stock
 * probe needs; a crontab push still pending for the probe is replaced.
 * claim[i] 1 (a session of gw waits to deliver it): the push is inserted
 * already claimed for gw (status sending, as gw_db_push_claims) and its
 * due one-offs taken in the caller's transaction (gw_db_push_tidy runs
 * first, so a restart's tidy never takes back such a claim): push_id[i]
 * and batch[i] (caller frees) are its.  Else push_id[i] is 0 and batch[i]
 * NULL, and the one-offs join the push when it is claimed. */
int gw_db_crontabs_enqueue(struct gw_db *db, const char *gw, const long *ids,
			   const char *const *sid, const int *claim, int n,
			   long *push_id, char **batch) VT_WUR;
int gw_db_pushes_done(struct gw_db *db, const char *gw, const long *ids,
		      const int *ok, const char *const *outcome, int n) VT_WUR;
int gw_db_pushes_release(struct gw_db *db, const char *gw, const long *ids,
			 int n) VT_WUR;
/* gw_db_push_claim for the pushes ids[0..n) in the transaction the caller
 * has open (one UPDATE, then each crontab push's one-offs): rcs[i] is 0
 * with batch[i] (caller frees) or VT_ENOTFOUND.  A negative return: none
 * is claimed (the caller rolls back). */
int gw_db_push_claims(struct gw_db *db, const char *gw, const long *ids,
		      int n, char **batch, int *rcs) VT_WUR;
/* Test only (VANTAGE_GW_TEST_PUSH_DELAY_MS): holds a claimed push. */
void gw_db_claim_delay(struct gw_db *db);

/* Reads what arrived on the LISTEN connection; *notified gets
 * GW_NOTIFY_PUSH when a push or crontab notification came and
 * GW_NOTIFY_KEYS when probes' keys changed (vantage_keys).  VT_EDB when the connection broke (it is closed;
 * the caller stops watching the old fd and asks gw_db_listen_fd again). */
#define GW_NOTIFY_PUSH 1
#define GW_NOTIFY_KEYS 2
int gw_db_listen_drain(struct gw_db *db, int *notified) VT_WUR;
/* The probe ids NOTIFYed on vantage_crontab since the last call (at most
 * max; the rest are dropped, and *overflow says so). */
int gw_db_crontab_notified(struct gw_db *db, long *ids, int max, int *overflow);

#endif
