/* arcmetrics.h - what a vantage-archiver run leaves for monitoring: its
 * heartbeat row's numbers and, with --metrics-file, a textfile of gauges
 * (the archiver runs from a timer, so a scrape endpoint would be gone
 * between runs; node_exporter's textfile collector serves the file). */
#ifndef VT_ARC_METRICS_H
#define VT_ARC_METRICS_H

#include <libpq-fe.h>
#include "common/beat.h"
#include "storage/archive.h"

/* After vt_archive_run returned rc with stats: reads where the archive
 * stands, sets b's numbers (NULL: none) and writes path (NULL: none).
 * Failures are logged (this is the top of the program). */
void arc_observe(struct vt_beat *b, const char *path, PGconn *db,
		 const struct vt_arc_opts *o, const struct vt_arc_stats *st,
		 int rc);

#endif
