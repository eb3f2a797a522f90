/* metrics.h - Prometheus metrics: a registry of counters, gauges and
 * histograms, written in the text exposition format (version 0.0.4).
 *
 * A registry holds families (one metric name, its help, type and label
 * names); a family holds series (one set of label values).  Updates are
 * C11 atomics, so any thread may count without a lock; only finding or
 * creating a series takes the family's lock, so a hot path keeps the
 * series pointer it got once.  Every update function accepts NULL (a
 * daemon run without --metrics, or a family over its series cap, counts
 * nothing and costs nothing else).
 *
 * Serving the text is metrics_http.h; this module does no I/O but
 * vt_metrics_write_file(). */
#ifndef VT_METRICS_H
#define VT_METRICS_H

#include <stddef.h>
#include "buf.h"
#include "err.h"

#define VT_METRICS_LABELS_MAX   3     /* label names of a family */
#define VT_METRICS_SERIES_MAX   256   /* label sets of a family; more: NULL */
#define VT_METRICS_BUCKETS_MAX  16    /* histogram bounds */
#define VT_METRICS_VALUE_MAX    64    /* bytes of a label value (longer: cut) */
#define VT_METRICS_TEXT_MAX     (4u << 20)   /* exposition text cap */

struct vt_metrics;
struct vt_mfamily;
struct vt_mseries;

/* Bounds of latency histograms, in seconds: 1 ms to 30 s. */
extern const double vt_metrics_latency_bounds[];
extern const int vt_metrics_latency_nbounds;

int vt_metrics_new(struct vt_metrics **out) VT_WUR;
/* Frees the registry and every family and series in it.  NULL is fine. */
void vt_metrics_free(struct vt_metrics *m);

/* Registers a family.  name is [a-zA-Z_:][a-zA-Z0-9_:]*, counters end in
 * _total; labels is NULL or comma-separated label names ("role,kind").
 * The same name registered twice returns the first family when type and
 * labels agree.  NULL (m NULL, bad name, out of memory) is a family that
 * counts nothing.  A family without labels has its one series at once. */
struct vt_mfamily *vt_metrics_counter(struct vt_metrics *m, const char *name,
				      const char *help, const char *labels);
struct vt_mfamily *vt_metrics_gauge(struct vt_metrics *m, const char *name,
				    const char *help, const char *labels);
/* bounds: nbounds upper bounds, increasing (+Inf is implied). */
struct vt_mfamily *vt_metrics_histogram(struct vt_metrics *m, const char *name,
					const char *help, const char *labels,
					const double *bounds, int nbounds);

/* The series of f with these label values (as many as f has label names;
 * none for a family without labels), created at its first use.  NULL when
 * f is NULL or already holds VT_METRICS_SERIES_MAX series. */
struct vt_mseries *vt_metrics_series(struct vt_mfamily *f, ...);
/* The same with the values in an array. */
struct vt_mseries *vt_metrics_seriesv(struct vt_mfamily *f,
				      const char *const *values);

/* Counter or gauge: adds v (a counter ignores v < 0). */
void vt_metrics_add(struct vt_mseries *s, double v);
/* Gauge: sets the value. */
void vt_metrics_set(struct vt_mseries *s, double v);
/* Histogram: one observation. */
void vt_metrics_observe(struct vt_mseries *s, double v);
/* Counter or gauge: the value now (tests, logs); 0 for NULL. */
double vt_metrics_value(const struct vt_mseries *s);

/* A function run before every rendering (on the rendering thread), to set
 * gauges that are read rather than counted (a queue's depth).  At most 8. */
typedef void (*vt_metrics_collect_fn)(void *arg);
int vt_metrics_on_collect(struct vt_metrics *m, vt_metrics_collect_fn fn,
			  void *arg) VT_WUR;

/* Appends the exposition text of every family (in registration order) to
 * out, after running the collect functions.  Thread-safe. */
int vt_metrics_render(struct vt_metrics *m, struct vt_buf *out) VT_WUR;

/* Renders into path atomically (a temporary file beside it, renamed over
 * it), for node_exporter's textfile collector.  errbuf says why not. */
int vt_metrics_write_file(struct vt_metrics *m, const char *path,
			  char *errbuf, size_t errlen) VT_WUR;

#endif
