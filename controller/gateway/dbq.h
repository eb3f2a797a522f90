/* dbq.h - the gateway's database threads: blocking PostgreSQL work runs
 * off the loop threads, its completions come back to the thread that asked
 * (its inbox, inbox.h).
 *
 * Design.  A loop thread owns the libssh objects of its sessions and never
 * waits on PostgreSQL.  Database work is a job: plain data (ids, strings, a batch of
 * result lines, never a libssh handle) with a run function, executed on a
 * worker thread with that worker's own gw_db connection, and a done
 * function, executed later on the thread of the job's inbox (job.home; the
 * default inbox, the first loop thread's, when none is named).  Workers are grouped in
 * lanes, each a FIFO queue:
 *   GW_LANE_CTRL  one worker: session bookkeeping, INIT/KEEP lookups,
 *                 registration, pushes, heartbeat.  One thread keeps them in
 *                 submission order (a probe's "up" before its "down").
 *   GW_LANE_SINK  two workers: uploads into result_queue.  A slow or locked
 *                 result_queue holds up uploads only, never sessions.
 *   GW_LANE_AUTH  one worker: key lookups that missed the key cache.
 * Group commit.  A job may name a group function: a worker that takes such
 * a job also takes the jobs queued right behind it on its lane that name
 * the same function (at most GW_DBQ_GROUP_MAX of them and
 * GW_DBQ_GROUP_BYTES of their sizes, one job always), and runs them all
 * with one call, which sets each job's rc and err (on the sink lane: one
 * INSERT, one COMMIT for every waiting upload; see jobs.c).  Each job of a
 * group still reaches its own done function.
 * Gathering.  A worker that finds a group job at the head of its lane while
 * another worker of the lane runs one leaves the queue to grow until that
 * one ends, the queue holds GW_DBQ_GATHER_BYTES or a full group, or
 * gather_ms has passed (gw_dbq_gather): on the sink lane, uploads that
 * arrive during a COMMIT then go in one COPY and one COMMIT together
 * instead of the first of them alone (PostgreSQL's CPU per row is about
 * twice as high in small concurrent COPYs as in one large one).  Nobody is
 * answered earlier for it: a job's done function runs after its group.
 * Holding.  On GW_LANE_CTRL a group whose jobs came close together (a
 * reconnect storm: KEEPs answered one by one, each then records its probe
 * up and queues its crontab) waits a few milliseconds for more like jobs
 * while they keep coming, bounded (dbq.c, hold()), so that one group,
 * one statement per kind and one COMMIT serve many probes.  A job on a
 * quiet lane never waits.
 * A finished job goes to its inbox, whose eventfd wakes the loop thread
 * that owns it; that thread runs the done functions.  A job submitted always
 * reaches its done function exactly once (with rc VT_ECLOSED when the
 * queue is shutting down), so callers never handle a failed submit.
 *
 * Jobs of a session hold pointers to it that the session clears when it
 * closes (see session.c); the worker never reads them.
 *
 * Public-key authentication cannot wait: libssh wants the answer inside its
 * callback.  The gateway answers from an in-memory key cache (keys.h) that
 * the LISTEN thread (listen.h) loads at start and reloads periodically; a
 * key the cache does not know is denied and looked up on GW_LANE_AUTH in
 * the background (gw_auth_key): the loop never waits for a job. */
#ifndef VT_GW_DBQ_H
#define VT_GW_DBQ_H

#include <stddef.h>
#include <stdint.h>
#include "common/err.h"
#include "controller/gateway/db.h"
#include "controller/gateway/inbox.h"

enum gw_lane { GW_LANE_CTRL = 0, GW_LANE_SINK = 1, GW_LANE_AUTH = 2, GW_LANES = 3 };

#define GW_DBQ_GROUP_MAX   64            /* jobs run together at most */
#define GW_DBQ_GROUP_BYTES (4u << 20)    /* their sizes together at most */
#define GW_DBQ_GATHER_BYTES (1u << 20)   /* gathering stops at this much */
#define GW_DBQ_GATHER_MS   20            /* gathering lasts this long at most */

struct gw_dbq;

/* Starts the worker threads (each with its own gw_db on conninfo;
 * sink_timeout_ms is the statement timeout of GW_LANE_SINK, 0: default);
 * jobs that name no inbox are answered in def. */
int gw_dbq_new(const char *conninfo, int sink_timeout_ms, struct gw_inbox *def,
	       struct gw_dbq **out) VT_WUR;
/* Waits until no job is queued or running on any lane (every answer is
 * then in its inbox), or until mono ms until has passed with jobs still
 * queued (VT_ETIMEOUT; a job running then is waited for).  For the end of
 * the gateway, when the caller is the only one left to submit: it runs
 * the inboxes, whose done functions may submit more, and settles again. */
int gw_dbq_settle(struct gw_dbq *q, int64_t until) VT_WUR;
/* Lets the workers finish the jobs queued (for a few seconds at most;
 * later ones end with VT_ETIMEOUT) and joins them; every job has then been
 * posted to its inbox (whose owner runs or frees it), and a job submitted
 * later goes straight to its inbox with VT_ECLOSED.  q stays valid until
 * gw_dbq_free.  NULL is fine. */
void gw_dbq_stop(struct gw_dbq *q);
/* gw_dbq_stop, then frees: nothing may submit any more.  NULL is fine. */
void gw_dbq_free(struct gw_dbq *q);

/* Queues j (run and done set) on lane; takes ownership.  Any thread. */
void gw_dbq_submit(struct gw_dbq *q, enum gw_lane lane, struct gw_job *j);
/* Sets how long a worker gathers group jobs at most (see Gathering; 0:
 * never, default GW_DBQ_GATHER_MS).  Any thread. */
void gw_dbq_gather(struct gw_dbq *q, int ms);
/* Hands a finished event (run NULL, done set) to the default inbox.  Any
 * thread. */
void gw_dbq_post(struct gw_dbq *q, struct gw_job *j);
/* Reports lane waits to gm (gwmetrics.h; NULL: none).  Before jobs run. */
struct gw_metrics;
void gw_dbq_metrics(struct gw_dbq *q, struct gw_metrics *gm);
/* Jobs queued or running on lane.  Any thread. */
int gw_dbq_pending(struct gw_dbq *q, enum gw_lane lane);

#endif
