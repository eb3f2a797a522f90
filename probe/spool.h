/* spool.h - the probe's spool directory.
 *
 *   <root>/crons/<n>       crontabs pushed by the controller (whole file
 *                          replaced atomically on every push)
 *   <root>/crons/oneoff    one-off commands, one per line, appended; the
 *                          scheduler takes the file by renaming it away
 *   <root>/data/new/       results being written by the measurement engine
 *   <root>/data/out/       complete result files, ready for upload; a writer
 *                          puts a file here only by rename(2), so every name
 *                          seen here is complete.  Names starting with '.'
 *                          are ignored.
 *   <root>/status/         small state files (link state, session id,
 *                          time-sync record)
 *
 * Every file that replaces another is written to a temporary name, fsynced
 * and renamed, so a crash leaves the old or the new content, never a mix. */
#ifndef VT_PROBE_SPOOL_H
#define VT_PROBE_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include "common/buf.h"

struct vt_spool;

/* Opens (creating when needed) the spool under root and its sub-folders.
 * The caller frees *out with vt_spool_free. */
int vt_spool_open(const char *root, struct vt_spool **out) VT_WUR;
void vt_spool_free(struct vt_spool *sp);
/* The root folder (owned by the spool). */
const char *vt_spool_root(const struct vt_spool *sp);
/* Writes "<root>/<rel>" into out; VT_ETOOBIG when it does not fit. */
int vt_spool_path(const struct vt_spool *sp, const char *rel, char *out,
		  size_t outlen) VT_WUR;

/* Replaces the file at path (absolute) with data, atomically: temporary
 * file beside it, fsync, rename, fsync of the folder.  mode as for open(2). */
int vt_spool_write_atomic(const char *path, const void *data, size_t len,
			  int mode) VT_WUR;
/* Reads a whole file (at most max bytes) into out (appended).  VT_ENOTFOUND
 * when it does not exist, VT_ETOOBIG when bigger than max. */
/* Writes all of data to fd, again after EINTR: VT_OK or VT_EIO. */
int vt_spool_write_all(int fd, const void *data, size_t len) VT_WUR;

/* fsync()s the folder dir, so that names made or moved in it last:
 * VT_OK or VT_EIO. */
int vt_spool_fsync_dir(const char *dir) VT_WUR;

int vt_spool_read_file(const char *path, size_t max, struct vt_buf *out) VT_WUR;
/* Appends line and "\n" to the file at path (created 0644) and fsyncs it. */
int vt_spool_append_line(const char *path, const char *line) VT_WUR;

/* A crontab being received: lines go to a temporary file that replaces the
 * crontab at commit. */
struct vt_spool_crontab;

/* Starts a new version of the crontab at path (absolute, inside
 * <root>/crons/; VT_EINVAL otherwise). */
int vt_spool_crontab_begin(struct vt_spool *sp, const char *path,
			   struct vt_spool_crontab **out) VT_WUR;
int vt_spool_crontab_line(struct vt_spool_crontab *ct, const char *line) VT_WUR;
/* Makes the new crontab visible (fsync, rename) and frees ct. */
int vt_spool_crontab_commit(struct vt_spool_crontab *ct) VT_WUR;
/* Drops an unfinished crontab (the old one stays).  NULL is fine. */
void vt_spool_crontab_abort(struct vt_spool_crontab *ct);

/* A batch of result files from data/out, oldest name first. */
struct vt_spool_file {
	char   name[256];
	size_t size;
};

struct vt_spool_batch {
	struct vt_spool_file *files;
	size_t n;
	size_t bytes;       /* sum of sizes */
};

/* Lists data/out in name order and picks files while the running total of
 * their sizes stays within max_bytes and their count within max_files.  A
 * file alone bigger than max_bytes is skipped (*skipped counts those).  An
 * empty folder gives n == 0. */
int vt_spool_out_batch(struct vt_spool *sp, size_t max_bytes, size_t max_files,
		       struct vt_spool_batch *out, int *skipped) VT_WUR;
/* Appends the contents of the batch's files to body, each ending in '\n'.
 * VT_ENOTFOUND when a file disappeared in between. */
int vt_spool_out_read(struct vt_spool *sp, const struct vt_spool_batch *b,
		      struct vt_buf *body) VT_WUR;
/* Deletes the batch's files and fsyncs data/out. */
int vt_spool_out_remove(struct vt_spool *sp, const struct vt_spool_batch *b) VT_WUR;
void vt_spool_batch_free(struct vt_spool_batch *b);

/* The clock check of the last upload reply: server Date and local time, both
 * unix seconds, kept in <root>/status/timesync as "<date> <local>\n".  The
 * measurement engine computes lts from it. */
int vt_spool_timesync_write(struct vt_spool *sp, long long date,
			    long long local) VT_WUR;
/* Reads it back; VT_ENOTFOUND when never written. */
int vt_spool_timesync_read(struct vt_spool *sp, long long *date,
			   long long *local) VT_WUR;

#endif
