/* msm.h - measurements in PostgreSQL: create, stop, participation requests.
 *
 * Every change wakes the scheduler (NOTIFY vantage_sched); a stop also
 * NOTIFYs vantage_crontab with each probe whose crontab loses a line.
 * Errors: VT_EDB (reason in errbuf), VT_ENOTFOUND for an unknown id. */
#ifndef VT_SCHED_MSM_H
#define VT_SCHED_MSM_H

#include <stddef.h>
#include <libpq-fe.h>

#include "common/err.h"
#include "controller/scheduler/def.h"

/* Measurement status ids (API.md, "Objects"). */
enum vt_msm_status {
	VT_MSM_SPECIFIED = 0,
	VT_MSM_SCHEDULED = 1,
	VT_MSM_ONGOING = 2,
	VT_MSM_STOPPED = 4,
	VT_MSM_FORCED_STOP = 5,
	VT_MSM_NO_PROBES = 6,
	VT_MSM_FAILED = 7,
	VT_MSM_ARCHIVED = 8
};

/* The status name of an id ("Ongoing"), "Unknown" for others. */
const char *vt_msm_status_name(int status);

/* Stores the measurements of a checked request (one per definition, all in
 * one group whose id is the first one), status Specified, and its probe
 * specs as "add" participation requests, in one transaction.  now (unix s)
 * is the start time when the request gives none.  Writes at most max ids
 * (in definition order) to ids and their number to *nids. */
int vt_msm_create(PGconn *db, const struct vt_msm_request *r, long long now,
		  long long *ids, int max, int *nids, char *errbuf,
		  size_t errlen) VT_WUR;

/* Stops a measurement now: status Stopped, stop time now unless earlier.
 * Stopping a measurement in a final state (Stopped, No suitable probes,
 * ...) is fine and leaves it as it is. */
int vt_msm_stop(PGconn *db, long long msm_id, long long now, char *errbuf,
		size_t errlen) VT_WUR;

/* Adds a participation request that adds probes by spec; *req_id gets its
 * id.  The next scheduler pass selects the probes.  VT_EINVAL (reason in
 * errbuf) when the measurement no longer runs: Stopped, No suitable probes
 * and the other final states are never rescheduled. */
int vt_msm_participate_add(PGconn *db, long long msm_id,
			   const struct vt_msm_spec *spec, long long *req_id,
			   char *errbuf, size_t errlen) VT_WUR;

/* Adds a participation request that removes the probes of ids ("1,2,3",
 * see vt_msm_id_list); *req_id gets its id.  VT_EINVAL as above. */
int vt_msm_participate_remove(PGconn *db, long long msm_id, const char *ids,
			      long long *req_id, char *errbuf,
			      size_t errlen) VT_WUR;

#endif
