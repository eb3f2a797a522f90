/* plan_merge.h - the parts of the results planner that do no database or
 * object store I/O: a spool holding one day's runs, the k-way heap merge of
 * those runs into (timestamp, prb_id) order, and the reader of a result
 * line's sort key.  storage/planner.h is the planner itself.
 *
 * A run is a sequence of result lines, each ending in '\n', already in
 * (timestamp, prb_id) order: one probe's results of a day (an archive
 * segment, or the hot rows of that probe), or a one-off segment (every probe
 * of one measurement, sorted by time, then probe).  The runs of a day go
 * into a spool, which holds them in memory up to a cap and past it in an
 * unlinked temporary file; the merge then reads every run through a small
 * buffer of its own, so memory follows the number of runs (probes), not
 * their length.  docs/archive.md, "Reading through the planner". */
#ifndef VT_PLAN_MERGE_H
#define VT_PLAN_MERGE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

/* A result line longer than this is an error (VT_ETOOBIG). */
#define VT_PLAN_LINE_MAX ((size_t)64 << 20)

/* Reads the top-level "timestamp" and (when prb is not NULL) "prb_id"
 * members of a result line without building a tree: both must be integers
 * (*prb is 0 when there is no prb_id).  VT_EPARSE when the line is not a
 * JSON object or has no integer timestamp. */
int vt_plan_line_key(const char *line, size_t len, int64_t *ts,
		     int64_t *prb) VT_WUR;

/* The spool: bytes appended, read back by offset. */
struct vt_pspool {
	struct vt_buf mem;      /* everything while in memory; the write buffer after */
	size_t        mem_max;  /* spill to a file past this */
	int           fd;       /* -1 while in memory */
	uint64_t      size;     /* bytes appended */
	uint64_t      flushed;  /* bytes written to the file */
	char          tmpdir[256];
};

/* An empty spool keeping up to mem_max bytes in memory; past that it moves
 * to an unlinked file in tmpdir (NULL: $TMPDIR or /tmp). */
void vt_pspool_init(struct vt_pspool *s, size_t mem_max, const char *tmpdir);
/* Appends n bytes; *off (may be NULL) gets their offset.  VT_EIO when the
 * file cannot be made or written. */
int vt_pspool_add(struct vt_pspool *s, const void *p, size_t n,
		 uint64_t *off) VT_WUR;
/* Writes out buffered bytes (before reading a spilled spool). */
int vt_pspool_flush(struct vt_pspool *s) VT_WUR;
/* Empties the spool (back to memory; a file is closed). */
void vt_pspool_reset(struct vt_pspool *s);
void vt_pspool_free(struct vt_pspool *s);

/* One run being merged. */
struct vt_mrun {
	uint64_t    pos, end;   /* spool bytes of the run not yet buffered */
	int64_t     prb;        /* the run's probe; 0: read prb_id from each line */
	size_t      tag;        /* the caller's name for the run (for errors) */
	char       *buf;        /* spilled spool: buffered bytes [at, len) */
	size_t      cap, len, at;
	const char *line;       /* the head line (no '\n') */
	size_t      llen;
	int64_t     ts, lprb;   /* its key */
};

struct vt_merge {
	struct vt_pspool *sp;
	struct vt_mrun  *runs;
	size_t           n, cap;
	size_t          *heap;
	size_t           hn;
	size_t           last;    /* run of the line handed out last (SIZE_MAX: none) */
	size_t           bufsize; /* first read buffer of a run on a spilled spool */
	size_t           bad;     /* tag of the run that failed */
};

/* An empty merge over sp (which must outlive it); bufsize 0: 8 KiB. */
void vt_merge_init(struct vt_merge *m, struct vt_pspool *sp, size_t bufsize);
/* Adds the run at spool bytes [off, off + len); prb 0 when each line names
 * its probe (one-off segments).  Before vt_merge_start. */
int vt_merge_add(struct vt_merge *m, uint64_t off, uint64_t len, int64_t prb,
		 size_t tag) VT_WUR;
/* Reads the head of every run and builds the heap.  On error m->bad is the
 * tag of the bad run. */
int vt_merge_start(struct vt_merge *m) VT_WUR;
/* The next line in (timestamp, prb_id) order; lines of one run keep their
 * order, equal keys of different runs go by the order runs were added.
 * *line stays valid until the next call.  1: a line; 0: the end;
 * VT_EPARSE (a line without a key), VT_ETOOBIG, VT_EIO, VT_ENOMEM, with
 * m->bad the tag of the run. */
int vt_merge_next(struct vt_merge *m, const char **line, size_t *len,
		  int64_t *ts, int64_t *prb) VT_WUR;
/* Forgets every run (keeps the arrays for the next day). */
void vt_merge_clear(struct vt_merge *m);
void vt_merge_free(struct vt_merge *m);

#endif
