/* sched.h - vantage-scheduler's pass over the database: system tags,
 * participation requests, probe selection, the status life cycle and the
 * anchor mesh (docs/vantage-scheduler.md).
 *
 * A pass is idempotent: running it twice changes nothing the second time
 * unless time or the database moved.  Every probe whose crontab changes is
 * NOTIFYed on channel vantage_crontab (payload: the probe id) when the
 * change commits.  Several schedulers may run: each pass takes an advisory
 * lock, so passes never overlap. */
#ifndef VT_SCHED_SCHED_H
#define VT_SCHED_SCHED_H

#include <stddef.h>
#include <libpq-fe.h>

#include "common/err.h"

struct vt_sched_stats {
	long tags_changed;     /* probes whose system tags were recomputed */
	long assigned;         /* assignments made */
	long unassigned;       /* assignments removed */
	long scheduled;        /* measurements Specified -> Scheduled/Ongoing */
	long no_probes;        /* measurements -> No suitable probes */
	long started;          /* Scheduled -> Ongoing */
	long stopped;          /* -> Stopped (stop time passed, one-off done) */
	long mesh_created;     /* anchor mesh measurements created */
	long works;            /* probes with a newer successful result */
	long addrs;            /* probes whose reported address changed */
};

/* Runs one pass at now (unix seconds); *st is added to.  Returns VT_OK,
 * VT_EAGAIN when another scheduler holds the pass lock, or VT_EDB with the
 * reason in errbuf (the step that failed is rolled back). */
int vt_sched_pass(PGconn *db, long long now, struct vt_sched_stats *st,
		  char *errbuf, size_t errlen) VT_WUR;

/* The "works" step (vt_refresh_works, storage/migrations/006): moves each
 * probe's last successful IPv4 / IPv6 result time forward from `latest`
 * (results of the day before now, unix seconds), which keeps
 * system-ipv4-works / system-ipv6-works true for probes that achieve
 * results over a family their session does not come from.  It reads the
 * whole of `latest`, so it runs on its own, slower cadence, outside
 * vt_sched_pass.  st->works counts the probes changed.  The same step
 * takes the probes' own addresses from the src_addr of their newest results
 * (vt_refresh_reported_addrs, migration 007); st->addrs counts those. */
int vt_sched_works(PGconn *db, long long now, struct vt_sched_stats *st,
		   char *errbuf, size_t errlen) VT_WUR;

/* Selects probes for participation request req_id (an "add"), at most
 * want of them: connected probes first, spread across ASNs and countries;
 * records the assignments and NOTIFYs their probes when notify is set.
 * Must run inside the caller's transaction.  *added counts the probes. */
int vt_sched_select(PGconn *db, long long req_id, int want, int notify,
		    int *added, char *errbuf, size_t errlen) VT_WUR;

/* The anchor mesh step of a pass (mesh.c): a ping and a traceroute
 * measurement towards each anchor, per address family it has an address
 * in, run by every other anchor; stopped when the anchor leaves. */
int vt_sched_mesh(PGconn *db, long long now, struct vt_sched_stats *st,
		  char *errbuf, size_t errlen) VT_WUR;

#endif
