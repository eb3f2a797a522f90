/* jobs.h - the gateway's database requests: one struct of plain data per
 * request, run on a dbq worker (dbq.h), answered on the loop.
 *
 * A request that someone waits for (a session, one of its channels) keeps
 * them in owner/chan; the session clears those pointers when it goes away
 * before the answer (session.c), and the done function then only cleans
 * up.  Bookkeeping requests nobody waits for (gw_note_*) log a failure and
 * are done. */
#ifndef VT_GW_JOBS_H
#define VT_GW_JOBS_H

#include "common/err.h"
#include "controller/gateway/dbq.h"
#include "controller/gateway/sink.h"
#include "proto/reg.h"

enum gw_req_kind {
	GW_REQ_REGISTER,    /* gw_db_register: probe_id, text = token specs,
			       firmware, live_s -> reg */
	GW_REQ_INIT,        /* controller INIT: sid (fresh) and port (random)
			       in; the stored port kept, -> sid, port */
	GW_REQ_KEEP,        /* gw_db_session_get -> sid, port */
	GW_REQ_UPLOAD,      /* gw_sink_batch_store(batch) */
	GW_REQ_PUSHES,      /* gw_db_push_pending(want, nwant) -> ids, probes, n */
	GW_REQ_CLAIM,       /* gw_db_push_claim(push_id, gw_name) -> text */
	GW_REQ_KEY,         /* gw_db_probe_by_key(text) -> probe_id */
	GW_REQ_HEARTBEAT,   /* gw_db_heartbeat(gw_name, hb) */
	GW_REQ_LEAVE,       /* gw_db_leave(gw_name) */
	/* bookkeeping */
	GW_REQ_UP,          /* session_up(probe_id, gw_name, from) and, with
			       text, session_bind(text) */
	GW_REQ_BIND,        /* session_bind(probe_id, gw_name, text) */
	GW_REQ_DOWN,        /* session_down(probe_id, gw_name) */
	GW_REQ_RESET,       /* sessions_reset(gw_name) */
	GW_REQ_CRONTAB,     /* crontabs_enqueue(probe_id, sid); ok 1: claimed
			       for gw_name (a session waits) -> push_id, text */
	GW_REQ_PUSH_DONE,   /* push_done(push_id, gw_name, ok, text) */
	GW_REQ_PUSH_RELEASE,/* push_release(push_id, gw_name) */
	GW_REQ_SYNC         /* sessions_sync(gw_name, live) */
};

#define GW_REQ_PUSHES_MAX 256

struct gw_req {
	struct gw_job          job;      /* first: dbq's part */
	enum gw_req_kind       kind;
	struct gw_req         *prev, *next;  /* the owner's list */
	void                  *owner;    /* who waits, NULL once gone */
	void                  *chan;     /* channel that waits, NULL once gone */
	void                  *ctx;      /* the gateway */
	const char            *gw_name;  /* the gateway's name (lives as long) */
	long                   probe_id;
	long                   push_id;
	int                    ok;
	long                   firmware;
	enum vt_reg_reason     reason;   /* REGISTER: for the log */
	int                    live_s;
	int                    rsa_probe;  /* REGISTER: the probe's key is RSA */
	int                    port;
	char                   sid[VT_SESSION_ID_MAX + 1];
	char                   from[64];
	char                  *text;     /* owned */
	struct vt_reg_reply   *reg;      /* owned */
	struct gw_sink_batch  *batch;    /* owned */
	long                  *ids, *probes;   /* PUSHES: GW_REQ_PUSHES_MAX each */
	int                    n;
	long                  *want;     /* PUSHES: probes asked about (owned) */
	int                    nwant;
	struct gw_heartbeat    hb;
	int                   *lost;     /* bookkeeping: set to 1 on failure */
	struct gw_db_live     *live;     /* SYNC: owned, n of them */
	/* UPLOAD: its group's store (gw_db_queue_times) and size */
	int64_t                build_us, store_us;
	int                    group;
};

/* A zeroed request of kind answered by done (NULL for the bookkeeping
 * kinds: the default logs a failure and frees).  text is copied (may be
 * NULL).  NULL when out of memory. */
struct gw_req *gw_req_new(enum gw_req_kind kind, const char *gw_name,
			  const char *text, gw_job_done done);
void gw_req_free(struct gw_req *r);
/* The request a job belongs to. */
struct gw_req *gw_req_of(struct gw_job *j);
/* Submits r on the lane its kind belongs to. */
void gw_req_submit(struct gw_dbq *q, struct gw_req *r);

#endif
