/* wkpipe.h - one worker with two batches in flight (--pipeline).
 *
 * A worker alone alternates between its own CPU (parsing and enriching a
 * batch) and its backend's (the claim, the store, the COMMIT): the two
 * never overlap, so one worker uses at most one core.  With the pipeline
 * on, the worker claims, parses and enriches its next batch on a second
 * connection while a thread of its own stores the previous one on the
 * first; the two connections take turns.  Each batch's claim and store
 * stay one transaction on one connection (a worker killed between them
 * leaves the batch queued), and a batch's store starts only after the
 * previous batch has committed: one store at a time, in claim order, so
 * the worker's own batches never wait on each other's row locks in
 * latest and reach it in the order they were claimed (latest's upsert
 * keeps the newest by ts whatever the order, as with several workers).
 *
 * Without the pipeline (wk_pipe_new with threaded 0) the same calls store
 * each batch at once, on the first connection. */
#ifndef VT_WK_PIPE_H
#define VT_WK_PIPE_H

#include <libpq-fe.h>
#include <stddef.h>
#include "common/err.h"
#include "controller/worker/worker.h"

struct wk_pipe;

/* A pipeline storing with o (kept; it must outlive the pipe); threaded 1:
 * a store thread and two connections, 0: one connection, no thread.
 * VT_OK or VT_ENOMEM (also when the thread cannot start). */
int wk_pipe_new(const struct vt_worker_opts *o, int threaded,
		struct wk_pipe **out) VT_WUR;

/* Claims (and parses and enriches) the next batch on a connection of
 * db[0..1] (db[1] unused without a thread) that no batch in flight uses,
 * then waits for the batch in flight and takes its outcome (into *st and
 * *cur).  With a batch in flight the claim waits until that batch's
 * store holds its turn, and is made then only on a spare turn (worker.h,
 * vt_worker_claim); without one it is made after the store has ended
 * (st->serial counts those).  *rows: the rows claimed (0: the queue was empty), *shortc: 1
 * when the claim came back short.  On return no batch is in flight, and
 * a claimed one waits for wk_pipe_go.  A failure of the batch that was in
 * flight is returned (and the one just claimed is rolled back), or the
 * claim's. */
int wk_pipe_step(struct wk_pipe *p, PGconn *const db[2],
		 struct vt_worker_cursor *cur, struct vt_worker_stats *st,
		 int *rows, int *shortc, char *errbuf, size_t errlen) VT_WUR;

/* Stores the claimed batch (none: nothing): in the thread, returning at
 * once; without one, here, returning its outcome as wk_pipe_step would. */
int wk_pipe_go(struct wk_pipe *p, struct vt_worker_cursor *cur,
	       struct vt_worker_stats *st, char *errbuf, size_t errlen) VT_WUR;

/* 1 while a batch is in flight (its connection in the thread's hands). */
int wk_pipe_busy(const struct wk_pipe *p);

/* Waits for the batch in flight (none: VT_OK) and takes its outcome. */
int wk_pipe_drain(struct wk_pipe *p, struct vt_worker_cursor *cur,
		  struct vt_worker_stats *st, char *errbuf,
		  size_t errlen) VT_WUR;

/* Drains (outcome lost: call wk_pipe_drain first) and frees; NULL: none. */
void wk_pipe_free(struct wk_pipe *p);

#endif
