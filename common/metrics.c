/* metrics.c - the metrics registry and the text exposition writer
 * (see metrics.h). */
#include "common/metrics.h"

#include "common/file.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum mtype { M_COUNTER, M_GAUGE, M_HISTOGRAM };

static const char *const type_name[] = { "counter", "gauge", "histogram" };

const double vt_metrics_latency_bounds[] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
	10, 30
};
const int vt_metrics_latency_nbounds =
	(int)(sizeof vt_metrics_latency_bounds / sizeof vt_metrics_latency_bounds[0]);

struct vt_mseries {
	struct vt_mfamily *f;
	char *values[VT_METRICS_LABELS_MAX];
	_Atomic uint64_t v;              /* counter, gauge: a double's bits */
	_Atomic uint64_t sum;            /* histogram: a double's bits */
	_Atomic uint64_t bucket[VT_METRICS_BUCKETS_MAX + 1]; /* not cumulative */
};

struct vt_mfamily {
	struct vt_mfamily *next;
	enum mtype type;
	char *name, *help;
	char *labels[VT_METRICS_LABELS_MAX];
	int nlabels;
	double bounds[VT_METRICS_BUCKETS_MAX];
	int nbounds;
	pthread_mutex_t mu;              /* creating series */
	struct vt_mseries *series[VT_METRICS_SERIES_MAX];
	_Atomic int nseries;             /* published after series[n] is set */
};

struct collect {
	vt_metrics_collect_fn fn;
	void *arg;
};

struct vt_metrics {
	pthread_mutex_t mu;              /* the family list, rendering */
	struct vt_mfamily *head, *tail;
	struct collect collect[8];
	int ncollect;
};

static uint64_t dbits(double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof u);
	return u;
}

static double bitsd(uint64_t u)
{
	double d;

	memcpy(&d, &u, sizeof d);
	return d;
}

static void atomic_dadd(_Atomic uint64_t *p, double v)
{
	uint64_t old = atomic_load_explicit(p, memory_order_relaxed);

	while (!atomic_compare_exchange_weak_explicit(p, &old,
			dbits(bitsd(old) + v), memory_order_relaxed,
			memory_order_relaxed))
		;
}

int vt_metrics_new(struct vt_metrics **out)
{
	struct vt_metrics *m = calloc(1, sizeof *m);

	*out = NULL;
	if (!m)
		return VT_ENOMEM;
	pthread_mutex_init(&m->mu, NULL);
	*out = m;
	return VT_OK;
}

static void series_free(struct vt_mseries *s)
{
	if (!s)
		return;
	for (int i = 0; i < VT_METRICS_LABELS_MAX; i++)
		free(s->values[i]);
	free(s);
}

static void family_free(struct vt_mfamily *f)
{
	int n;

	if (!f)
		return;
	n = atomic_load(&f->nseries);
	for (int i = 0; i < n; i++)
		series_free(f->series[i]);
	for (int i = 0; i < f->nlabels; i++)
		free(f->labels[i]);
	pthread_mutex_destroy(&f->mu);
	free(f->name);
	free(f->help);
	free(f);
}

void vt_metrics_free(struct vt_metrics *m)
{
	struct vt_mfamily *f, *next;

	if (!m)
		return;
	for (f = m->head; f; f = next) {
		next = f->next;
		family_free(f);
	}
	pthread_mutex_destroy(&m->mu);
	free(m);
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* (metric names); labels: no ':', no "__". */
static int name_ok(const char *s, size_t n, int label)
{
	if (!n || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	if (label && n >= 2 && s[0] == '_' && s[1] == '_')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || (c == ':' && !label)))
			return 0;
	}
	return 1;
}

/* Splits "a,b" into f->labels. */
static int split_labels(struct vt_mfamily *f, const char *labels)
{
	const char *p = labels;

	if (!labels || !*labels)
		return VT_OK;
	for (;;) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (f->nlabels == VT_METRICS_LABELS_MAX || !name_ok(p, n, 1) ||
		    (f->type == M_HISTOGRAM && n == 2 && !memcmp(p, "le", 2)))
			return VT_EINVAL;
		if (!(f->labels[f->nlabels++] = strndup(p, n)))
			return VT_ENOMEM;
		if (!e)
			return VT_OK;
		p = e + 1;
	}
}

static int same_labels(const struct vt_mfamily *f, const struct vt_mfamily *g)
{
	if (f->nlabels != g->nlabels || f->type != g->type)
		return 0;
	for (int i = 0; i < f->nlabels; i++)
		if (strcmp(f->labels[i], g->labels[i]))
			return 0;
	return 1;
}

static struct vt_mfamily *family_add(struct vt_metrics *m, enum mtype type,
				     const char *name, const char *help,
				     const char *labels, const double *bounds,
				     int nbounds)
{
	struct vt_mfamily *f, *have = NULL;

	if (!m || !name || !name_ok(name, strlen(name), 0) ||
	    nbounds < 0 || nbounds > VT_METRICS_BUCKETS_MAX)
		return NULL;
	for (int i = 1; i < nbounds; i++)
		if (!(bounds[i] > bounds[i - 1]))
			return NULL;
	if (!(f = calloc(1, sizeof *f)))
		return NULL;
	pthread_mutex_init(&f->mu, NULL);
	f->type = type;
	f->nbounds = nbounds;
	if (nbounds)
		memcpy(f->bounds, bounds, (size_t)nbounds * sizeof *bounds);
	if (!(f->name = strdup(name)) || !(f->help = strdup(help ? help : "")) ||
	    split_labels(f, labels) < 0)
		goto fail;
	pthread_mutex_lock(&m->mu);
	for (struct vt_mfamily *g = m->head; g; g = g->next)
		if (!strcmp(g->name, name))
			have = g;
	if (have) {
		pthread_mutex_unlock(&m->mu);
		if (!same_labels(f, have))
			have = NULL;
		family_free(f);
		return have;
	}
	if (m->tail)
		m->tail->next = f;
	else
		m->head = f;
	m->tail = f;
	pthread_mutex_unlock(&m->mu);
	if (!f->nlabels)
		(void)vt_metrics_seriesv(f, NULL);
	return f;
fail:
	family_free(f);
	return NULL;
}

struct vt_mfamily *vt_metrics_counter(struct vt_metrics *m, const char *name,
				      const char *help, const char *labels)
{
	return family_add(m, M_COUNTER, name, help, labels, NULL, 0);
}

struct vt_mfamily *vt_metrics_gauge(struct vt_metrics *m, const char *name,
				    const char *help, const char *labels)
{
	return family_add(m, M_GAUGE, name, help, labels, NULL, 0);
}

struct vt_mfamily *vt_metrics_histogram(struct vt_metrics *m, const char *name,
					const char *help, const char *labels,
					const double *bounds, int nbounds)
{
	return family_add(m, M_HISTOGRAM, name, help, labels, bounds, nbounds);
}

struct vt_mseries *vt_metrics_seriesv(struct vt_mfamily *f,
				      const char *const *values)
{
	struct vt_mseries *s = NULL;
	int n;

	if (!f)
		return NULL;
	pthread_mutex_lock(&f->mu);
	n = atomic_load_explicit(&f->nseries, memory_order_relaxed);
	for (int i = 0; i < n; i++) {
		int j = 0;

		while (j < f->nlabels &&
		       !strncmp(f->series[i]->values[j], values[j] ? values[j] : "",
				VT_METRICS_VALUE_MAX))
			j++;
		if (j == f->nlabels) {
			s = f->series[i];
			goto out;
		}
	}
	if (n == VT_METRICS_SERIES_MAX || !(s = calloc(1, sizeof *s)))
		goto out;
	s->f = f;
	for (int j = 0; j < f->nlabels; j++)
		if (!(s->values[j] = strndup(values[j] ? values[j] : "",
					     VT_METRICS_VALUE_MAX))) {
			series_free(s);
			s = NULL;
			goto out;
		}
	f->series[n] = s;
	atomic_store_explicit(&f->nseries, n + 1, memory_order_release);
out:
	pthread_mutex_unlock(&f->mu);
	return s;
}

struct vt_mseries *vt_metrics_series(struct vt_mfamily *f, ...)
{
	const char *v[VT_METRICS_LABELS_MAX] = { 0 };
	va_list ap;

	if (!f)
		return NULL;
	va_start(ap, f);
	for (int i = 0; i < f->nlabels; i++)
		v[i] = va_arg(ap, const char *);
	va_end(ap);
	return vt_metrics_seriesv(f, v);
}

void vt_metrics_add(struct vt_mseries *s, double v)
{
	if (!s || s->f->type == M_HISTOGRAM || (s->f->type == M_COUNTER && !(v >= 0)))
		return;
	atomic_dadd(&s->v, v);
}

void vt_metrics_set(struct vt_mseries *s, double v)
{
	if (s && s->f->type == M_GAUGE)
		atomic_store_explicit(&s->v, dbits(v), memory_order_relaxed);
}

void vt_metrics_observe(struct vt_mseries *s, double v)
{
	int b = 0;

	if (!s || s->f->type != M_HISTOGRAM || isnan(v))
		return;
	while (b < s->f->nbounds && v > s->f->bounds[b])
		b++;
	atomic_fetch_add_explicit(&s->bucket[b], 1, memory_order_relaxed);
	atomic_dadd(&s->sum, v);
}

double vt_metrics_value(const struct vt_mseries *s)
{
	return s ? bitsd(atomic_load_explicit(&s->v, memory_order_relaxed)) : 0;
}

int vt_metrics_on_collect(struct vt_metrics *m, vt_metrics_collect_fn fn,
			  void *arg)
{
	int rc = VT_ELIMIT;

	if (!m || !fn)
		return VT_EINVAL;
	pthread_mutex_lock(&m->mu);
	if (m->ncollect < (int)(sizeof m->collect / sizeof m->collect[0])) {
		m->collect[m->ncollect].fn = fn;
		m->collect[m->ncollect++].arg = arg;
		rc = VT_OK;
	}
	pthread_mutex_unlock(&m->mu);
	return rc;
}

/* ---- the text format -------------------------------------------------- */

static int add_num(struct vt_buf *b, double v)
{
	if (isnan(v))
		return vt_buf_adds(b, "NaN");
	if (isinf(v))
		return vt_buf_adds(b, v > 0 ? "+Inf" : "-Inf");
	if (v == floor(v) && fabs(v) < 1e15)
		return vt_buf_addf(b, "%.0f", v);
	return vt_buf_addf(b, "%.17g", v);
}

/* HELP text: '\\' and newline escaped; label values: '"' too. */
static int add_escaped(struct vt_buf *b, const char *s, int quote)
{
	int rc = 0;

	for (; *s && rc == 0; s++) {
		if (*s == '\\')
			rc = vt_buf_adds(b, "\\\\");
		else if (*s == '\n')
			rc = vt_buf_adds(b, "\\n");
		else if (*s == '"' && quote)
			rc = vt_buf_adds(b, "\\\"");
		else
			rc = vt_buf_addc(b, *s);
	}
	return rc;
}

/* name{labels[,le="x"]} value\n */
static int add_sample(struct vt_buf *b, const struct vt_mseries *s,
		      const char *suffix, const char *le, double v)
{
	const struct vt_mfamily *f = s->f;
	int rc = vt_buf_addf(b, "%s%s", f->name, suffix);

	if (rc == 0 && (f->nlabels || le)) {
		rc = vt_buf_addc(b, '{');
		for (int i = 0; rc == 0 && i < f->nlabels; i++) {
			rc = vt_buf_addf(b, "%s%s=\"", i ? "," : "", f->labels[i]);
			if (rc == 0)
				rc = add_escaped(b, s->values[i], 1);
			if (rc == 0)
				rc = vt_buf_addc(b, '"');
		}
		if (rc == 0 && le)
			rc = vt_buf_addf(b, "%sle=\"%s\"", f->nlabels ? "," : "", le);
		if (rc == 0)
			rc = vt_buf_addc(b, '}');
	}
	if (rc == 0)
		rc = vt_buf_addc(b, ' ');
	if (rc == 0)
		rc = add_num(b, v);
	if (rc == 0)
		rc = vt_buf_addc(b, '\n');
	return rc;
}

static int add_histogram(struct vt_buf *b, const struct vt_mseries *s)
{
	const struct vt_mfamily *f = s->f;
	uint64_t cum = 0;
	char le[64];
	int rc = 0;

	for (int i = 0; rc == 0 && i <= f->nbounds; i++) {
		cum += atomic_load_explicit(&s->bucket[i], memory_order_relaxed);
		if (i == f->nbounds)
			snprintf(le, sizeof le, "+Inf");
		else if (snprintf(le, sizeof le, "%.15g", f->bounds[i]) > 0 &&
			 strtod(le, NULL) != f->bounds[i])
			snprintf(le, sizeof le, "%.17g", f->bounds[i]);
		rc = add_sample(b, s, "_bucket", le, (double)cum);
	}
	if (rc == 0)
		rc = add_sample(b, s, "_sum", NULL,
				bitsd(atomic_load_explicit(&s->sum,
							   memory_order_relaxed)));
	if (rc == 0)
		rc = add_sample(b, s, "_count", NULL, (double)cum);
	return rc;
}

static int add_family(struct vt_buf *b, const struct vt_mfamily *f)
{
	int n = atomic_load_explicit(&f->nseries, memory_order_acquire);
	int rc = vt_buf_addf(b, "# HELP %s ", f->name);

	if (rc == 0)
		rc = add_escaped(b, f->help, 0);
	if (rc == 0)
		rc = vt_buf_addf(b, "\n# TYPE %s %s\n", f->name, type_name[f->type]);
	for (int i = 0; rc == 0 && i < n; i++) {
		const struct vt_mseries *s = f->series[i];

		if (f->type == M_HISTOGRAM)
			rc = add_histogram(b, s);
		else
			rc = add_sample(b, s, "", NULL, vt_metrics_value(s));
	}
	return rc;
}

int vt_metrics_render(struct vt_metrics *m, struct vt_buf *out)
{
	int rc = VT_OK;

	if (!m)
		return VT_EINVAL;
	pthread_mutex_lock(&m->mu);
	for (int i = 0; i < m->ncollect; i++)
		m->collect[i].fn(m->collect[i].arg);
	for (struct vt_mfamily *f = m->head; f && rc == 0; f = f->next)
		rc = add_family(out, f);
	pthread_mutex_unlock(&m->mu);
	return rc;
}

int vt_metrics_write_file(struct vt_metrics *m, const char *path,
			  char *errbuf, size_t errlen)
{
	struct vt_buf b;
	int rc;

	/* node_exporter reads *.prom only: the temporary name is skipped */
	vt_buf_init(&b, VT_METRICS_TEXT_MAX);
	if ((rc = vt_metrics_render(m, &b)) < 0)
		vt_err_set(rc, errbuf, errlen, "%s: %s", path, vt_strerror(rc));
	else
		rc = vt_file_replace(path, b.data ? b.data : "", b.len, errbuf, errlen);
	vt_buf_free(&b);
	return rc;
}
