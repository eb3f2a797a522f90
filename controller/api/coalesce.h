/* coalesce.h - identical reads that arrive together share one statement.
 *
 * Under many clients asking for the same object (a popular measurement's
 * latest results), each request costing a database round trip is what
 * limits the rate.  A read here joins a statement with the same name and
 * parameters that has not been sent yet; while one such statement is in
 * flight, the next requests gather behind it and the first of them runs
 * one statement for all once it is back.  So every answer comes from a
 * statement sent after its request arrived: nothing is older than an
 * uncached read's answer (unlike the anonymous cache).
 *
 * The groups are bounded by the callers (one per request in progress).
 * Thread-safe. */
#ifndef VT_API_COALESCE_H
#define VT_API_COALESCE_H

#include <libpq-fe.h>

#include "common/err.h"

struct vt_coalesce;

/* Runs the statement: returns what run returns, *res set to a result of
 * the caller's own (PQclear it) when that is >= 0.  errbuf gets run's
 * message on failure. */
typedef int (*vt_coalesce_run)(void *arg, PGresult **res, char *errbuf,
			       size_t errlen);

int vt_coalesce_new(struct vt_coalesce **out) VT_WUR;
void vt_coalesce_free(struct vt_coalesce *c);

/* key (keylen bytes, any bytes) names the statement and its parameters. */
int vt_coalesce_do(struct vt_coalesce *c, const char *key, size_t keylen,
		   vt_coalesce_run run, void *arg, PGresult **res,
		   char *errbuf, size_t errlen);

/* The same without waiting: the read joins a group as vt_coalesce_do's
 * do, and the statement is run by one of the threads vt_coalesce_start
 * started (run(arg) for the group that arg starts; arg_free(arg) frees
 * arg, now or once the group is over).  accepted(cookie) is called
 * before submit returns 0 (under the lock: it must not call back here);
 * done(cookie) once the statement is back, from a runner thread; then
 * vt_coalesce_collect(*ticket) gives the caller's result as
 * vt_coalesce_do does and frees the ticket.  Collecting before done
 * gives the read up (VT_EAGAIN).  VT_EAGAIN without runner threads or
 * once stopping (run the read with vt_coalesce_do then). */
struct vt_coalesce_ticket;
int vt_coalesce_submit(struct vt_coalesce *c, const char *key, size_t keylen,
		       vt_coalesce_run run, void *arg, void (*arg_free)(void *),
		       void (*accepted)(void *cookie), void (*done)(void *cookie),
		       void *cookie, struct vt_coalesce_ticket **ticket) VT_WUR;
int vt_coalesce_collect(struct vt_coalesce *c, struct vt_coalesce_ticket *t,
			PGresult **res, char *errbuf, size_t errlen);

/* Starts nthreads runner threads for vt_coalesce_submit. */
int vt_coalesce_start(struct vt_coalesce *c, int nthreads) VT_WUR;
/* Runs what was submitted (every ticket is notified), then ends the
 * runner threads; submit says VT_EAGAIN from now on.  free does it too. */
void vt_coalesce_stop(struct vt_coalesce *c);

/* Requests waiting for a statement not yet sent (for tests and stats). */
int vt_coalesce_waiting(struct vt_coalesce *c);

#endif
