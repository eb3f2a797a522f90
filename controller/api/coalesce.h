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

/* Requests waiting for a statement not yet sent (for tests and stats). */
int vt_coalesce_waiting(struct vt_coalesce *c);

#endif
