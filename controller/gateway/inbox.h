/* inbox.h - a loop thread's inbox: finished work handed to the thread
 * that owns it.  Any thread posts a job; the inbox's eventfd wakes the
 * owning loop, which runs the jobs' done functions in posting order.
 *
 * Database threads post answered requests here (dbq.h: a job goes back to
 * the inbox it names, job.home), loop threads post messages to each other
 * (a socket handed over, a session to drop, a push scan wanted): a
 * session's state is touched only on the thread whose inbox it answers. */
#ifndef VT_GW_INBOX_H
#define VT_GW_INBOX_H

#include <stddef.h>
#include <stdint.h>
#include "common/err.h"
#include "common/evloop.h"

struct gw_job;
struct gw_db;
struct gw_inbox;

/* Runs on a database thread with its connection; returns 0 or a VT_E* code. */
typedef int (*gw_job_run)(struct gw_job *j, struct gw_db *db);
/* Runs on the thread of the job's inbox once the job finished; owns j. */
typedef void (*gw_job_done)(struct gw_job *j);
/* Runs n jobs (n >= 1, in submission order) together on a database thread;
 * sets rc (and err when rc < 0) of every one of them. */
typedef void (*gw_job_group)(struct gw_job *const *jobs, int n,
			     struct gw_db *db);

/* Embedded first in a caller's job struct. */
struct gw_job {
	struct gw_job   *qnext;      /* the queue's or the inbox's link */
	struct gw_inbox *home;       /* where done runs (NULL: dbq's default) */
	gw_job_run       run;        /* NULL: a message posted to an inbox */
	gw_job_done      done;
	gw_job_group     group;      /* non-NULL: run with like jobs, not run */
	size_t           size;       /* its weight for GW_DBQ_GROUP_BYTES */
	int              rc;         /* run's result */
	int64_t          queued_us;  /* when submitted to dbq (vt_mono_us) */
	char             err[256];   /* the database's reason when rc < 0 */
};

/* An inbox watched by loop (its owner's). */
int gw_inbox_new(struct vt_loop *loop, struct gw_inbox **out) VT_WUR;
/* Runs the done functions of every job left (on the caller's thread: the
 * owner's loop must have stopped), stops watching and frees.  NULL is fine. */
void gw_inbox_free(struct gw_inbox *b);
/* Hands j to the inbox's thread (done set).  Any thread. */
void gw_inbox_post(struct gw_inbox *b, struct gw_job *j);
/* Runs the done functions of the jobs posted so far; returns how many.
 * The owner's thread only. */
int gw_inbox_drain(struct gw_inbox *b);

#endif
