/* catchment.c - the views of an anycast catchment (catchment.h). */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/site.h"
#include "storage/catchment.h"

struct csite {
	char name[VT_SITE_MAX];
	double *rt;                 /* samples (at most VT_CATCH_SAMPLES_MAX) */
	size_t nrt, caprt;
	long long results;          /* results it answered (all, not only sampled) */
};

struct cprobe {
	long long id;
	int site;                   /* index into sites of its newest answer, -1 */
	double rt;                  /* its newest answer's response time, -1 none */
	long long ts;               /* its newest answer's timestamp */
	long long first;            /* its first answer's timestamp */
	long long results, unanswered, changes;
	double ping_sum;
	long long ping_n;
	char cc[4];
	long long asn;
};

struct cchange {
	long long prb;
	int from, to;
	long long last_before, first_after;
};

struct vt_catch {
	long long msm_id, start, stop, ping_msm;
	struct cprobe *probes;
	size_t nprobes, capprobes;
	size_t *slots;              /* open addressing: index + 1, 0 empty */
	size_t nslots;
	struct csite *sites;
	size_t nsites, capsites;
	struct cchange *changes;
	size_t nchanges, capchanges;
	int changes_truncated;
	long long results, answered, unanswered, ignored;
	uint64_t rng;
};

int vt_catch_new(struct vt_catch **out, long long msm_id, long long start,
		 long long stop)
{
	struct vt_catch *c = calloc(1, sizeof *c);

	*out = NULL;
	if (!c)
		return VT_ENOMEM;
	c->msm_id = msm_id;
	c->start = start;
	c->stop = stop;
	c->rng = 0x9e3779b97f4a7c15ULL;
	*out = c;
	return 0;
}

void vt_catch_free(struct vt_catch *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nsites; i++)
		free(c->sites[i].rt);
	free(c->sites);
	free(c->probes);
	free(c->slots);
	free(c->changes);
	free(c);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t n = *cap ? *cap : 16;
	void *q;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	if (!(q = realloc(*p, n * elem)))
		return VT_ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

static size_t slot_of(long long id, size_t nslots)
{
	uint64_t h = (uint64_t)id * 0x9e3779b97f4a7c15ULL;

	return (size_t)(h >> 17) & (nslots - 1);
}

static struct cprobe *probe_find(const struct vt_catch *c, long long id)
{
	size_t s;

	if (!c->nslots)
		return NULL;
	for (s = slot_of(id, c->nslots); c->slots[s]; s = (s + 1) & (c->nslots - 1))
		if (c->probes[c->slots[s] - 1].id == id)
			return &c->probes[c->slots[s] - 1];
	return NULL;
}

static int rehash(struct vt_catch *c, size_t nslots)
{
	size_t *slots = calloc(nslots, sizeof *slots);

	if (!slots)
		return VT_ENOMEM;
	for (size_t i = 0; i < c->nprobes; i++) {
		size_t s = slot_of(c->probes[i].id, nslots);

		while (slots[s])
			s = (s + 1) & (nslots - 1);
		slots[s] = i + 1;
	}
	free(c->slots);
	c->slots = slots;
	c->nslots = nslots;
	return 0;
}

/* The probe id, added when new; NULL over the cap (*rc 0) or on ENOMEM. */
static struct cprobe *probe_get(struct vt_catch *c, long long id, int *rc)
{
	struct cprobe *p = probe_find(c, id);
	size_t s;

	*rc = 0;
	if (p)
		return p;
	if (c->nprobes >= VT_CATCH_PROBES_MAX)
		return NULL;
	if ((c->nprobes + 1) * 2 > c->nslots &&
	    (*rc = rehash(c, c->nslots ? c->nslots * 2 : 64)) < 0)
		return NULL;
	if ((*rc = grow((void **)&c->probes, &c->capprobes, c->nprobes + 1,
			sizeof *c->probes)) < 0)
		return NULL;
	p = &c->probes[c->nprobes];
	memset(p, 0, sizeof *p);
	p->id = id;
	p->site = -1;
	p->rt = -1;
	for (s = slot_of(id, c->nslots); c->slots[s]; s = (s + 1) & (c->nslots - 1))
		;
	c->slots[s] = ++c->nprobes;
	return p;
}

static int site_get(struct vt_catch *c, const char *name, int *rc)
{
	*rc = 0;
	for (size_t i = 0; i < c->nsites; i++)
		if (!strcmp(c->sites[i].name, name))
			return (int)i;
	if (c->nsites >= VT_CATCH_SITES_MAX)
		return -1;
	if ((*rc = grow((void **)&c->sites, &c->capsites, c->nsites + 1,
			sizeof *c->sites)) < 0)
		return -1;
	memset(&c->sites[c->nsites], 0, sizeof *c->sites);
	snprintf(c->sites[c->nsites].name, VT_SITE_MAX, "%s", name);
	return (int)c->nsites++;
}

static uint64_t rnd(struct vt_catch *c)
{
	c->rng ^= c->rng << 13;
	c->rng ^= c->rng >> 7;
	c->rng ^= c->rng << 17;
	return c->rng;
}

static int sample(struct vt_catch *c, struct csite *s, double rt)
{
	int rc;

	s->results++;
	if (rt < 0)
		return 0;
	if (s->nrt < VT_CATCH_SAMPLES_MAX) {
		if ((rc = grow((void **)&s->rt, &s->caprt, s->nrt + 1, sizeof *s->rt)) < 0)
			return rc;
		s->rt[s->nrt++] = rt;
		return 0;
	}
	/* reservoir: keep each of the n seen with probability max / n */
	{
		uint64_t k = rnd(c) % (uint64_t)s->results;

		if (k < VT_CATCH_SAMPLES_MAX)
			s->rt[k] = rt;
	}
	return 0;
}

static long long jint(json_t *o, const char *k, int *ok)
{
	json_t *v = json_object_get(o, k);

	if (json_is_integer(v))
		return (long long)json_integer_value(v);
	if (json_is_real(v))
		return (long long)json_real_value(v);
	*ok = 0;
	return 0;
}

static double jnum(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_number(v) ? json_number_value(v) : -1;
}

/* The site and rt of a result: its "result" or the first entry of its
 * "resultset" that names a site. */
static int result_site(json_t *j, char *site, double *rt)
{
	json_t *res = json_object_get(j, "result"), *set, *e;
	enum vt_site_how how;
	size_t i;

	if (json_is_object(res)) {
		json_t *ab = json_object_get(res, "abuf");

		if (json_is_string(ab) &&
		    vt_site_from_abuf(json_string_value(ab), json_string_length(ab),
				      site, &how) == 0) {
			*rt = jnum(res, "rt");
			return 1;
		}
		return 0;
	}
	set = json_object_get(j, "resultset");
	json_array_foreach(set, i, e) {
		json_t *r = json_object_get(e, "result"), *ab;

		ab = json_object_get(r, "abuf");
		if (json_is_string(ab) &&
		    vt_site_from_abuf(json_string_value(ab), json_string_length(ab),
				      site, &how) == 0) {
			*rt = jnum(r, "rt");
			return 1;
		}
	}
	return 0;
}

static void add_change(struct vt_catch *c, struct cprobe *p, int to, long long ts)
{
	struct cchange *ch;

	p->changes++;
	if (c->nchanges >= VT_CATCH_CHANGES_MAX ||
	    grow((void **)&c->changes, &c->capchanges, c->nchanges + 1,
		 sizeof *c->changes) < 0) {
		c->changes_truncated = 1;
		return;
	}
	ch = &c->changes[c->nchanges++];
	ch->prb = p->id;
	ch->from = p->site;
	ch->to = to;
	ch->last_before = p->ts;
	ch->first_after = ts;
}

int vt_catch_add(struct vt_catch *c, const char *json, size_t len)
{
	json_t *j = json_loadb(json, len, 0, NULL);
	char site[VT_SITE_MAX];
	struct cprobe *p;
	long long prb, ts;
	double rt = -1;
	int ok = 1, rc = 0, si;

	if (!json_is_object(j)) {
		rc = VT_EPARSE;
		goto out;
	}
	prb = jint(j, "prb_id", &ok);
	ts = jint(j, "timestamp", &ok);
	if (!ok || prb <= 0) {
		rc = VT_EPARSE;
		goto out;
	}
	c->results++;
	if (!(p = probe_get(c, prb, &rc))) {
		c->ignored++;
		goto out;
	}
	p->results++;
	if (!result_site(j, site, &rt)) {
		p->unanswered++;
		c->unanswered++;
		goto out;
	}
	if ((si = site_get(c, site, &rc)) < 0) {
		c->ignored++;
		goto out;
	}
	c->answered++;
	if ((rc = sample(c, &c->sites[si], rt)) < 0)
		goto out;
	if (p->site >= 0 && p->site != si)
		add_change(c, p, si, ts);
	if (p->site < 0)
		p->first = ts;
	p->site = si;
	p->rt = rt;
	p->ts = ts;
	rc = 1;
out:
	json_decref(j);
	return rc;
}

void vt_catch_join_ping(struct vt_catch *c, long long ping_msm)
{
	c->ping_msm = ping_msm;
}

int vt_catch_add_ping(struct vt_catch *c, const char *json, size_t len)
{
	json_t *j = json_loadb(json, len, 0, NULL);
	struct cprobe *p;
	long long prb;
	double avg;
	int ok = 1, rc = 0;

	if (!json_is_object(j)) {
		rc = VT_EPARSE;
		goto out;
	}
	prb = jint(j, "prb_id", &ok);
	if (!ok || prb <= 0) {
		rc = VT_EPARSE;
		goto out;
	}
	avg = jnum(j, "avg");
	if (avg > 0 && (p = probe_find(c, prb))) {
		p->ping_sum += avg;
		p->ping_n++;
		rc = 1;
	}
out:
	json_decref(j);
	return rc;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int vt_catch_probe_ids(const struct vt_catch *c, long long **ids, size_t *n)
{
	*ids = NULL;
	*n = 0;
	if (!c->nprobes)
		return 0;
	if (!(*ids = malloc(c->nprobes * sizeof **ids)))
		return VT_ENOMEM;
	for (size_t i = 0; i < c->nprobes; i++)
		(*ids)[i] = c->probes[i].id;
	qsort(*ids, c->nprobes, sizeof **ids, cmp_ll);
	*n = c->nprobes;
	return 0;
}

void vt_catch_set_probe(struct vt_catch *c, long long prb, const char *cc,
			long long asn)
{
	struct cprobe *p = probe_find(c, prb);

	if (!p)
		return;
	snprintf(p->cc, sizeof p->cc, "%s", cc ? cc : "");
	p->asn = asn;
}

/* Nearest-rank percentile of sorted v[0..n), n > 0. */
static double pct(const double *v, size_t n, int p)
{
	size_t k = (n * (size_t)p + 99) / 100;

	return v[k ? k - 1 : 0];
}

static json_t *num_or_null(double v)
{
	return v < 0 ? json_null() : json_real(v);
}

static int cmp_probe(const void *a, const void *b)
{
	const struct cprobe *x = *(struct cprobe *const *)a;
	const struct cprobe *y = *(struct cprobe *const *)b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static int cmp_change(const void *a, const void *b)
{
	const struct cchange *x = a, *y = b;

	if (x->first_after != y->first_after)
		return x->first_after < y->first_after ? -1 : 1;
	return x->prb < y->prb ? -1 : x->prb > y->prb;
}

static int cmp_site(const void *a, const void *b)
{
	const struct csite *x = *(struct csite *const *)a;
	const struct csite *y = *(struct csite *const *)b;

	return strcmp(x->name, y->name);
}

static double probe_ping(const struct cprobe *p)
{
	return p->ping_n ? p->ping_sum / (double)p->ping_n : -1;
}

/* One site's object; byid are the probes in id order. */
static json_t *site_json(const struct vt_catch *c, int si,
			 struct cprobe *const *byid, double *tmp, long long *tmpl)
{
	const struct csite *s = &c->sites[si];
	json_t *o = json_object(), *ids = json_array(), *cc = json_array();
	json_t *asns = json_array();
	size_t n = 0, np = 0, i;

	if (!o || !ids || !cc || !asns)
		goto fail;
	for (i = 0; i < c->nprobes; i++) {
		if (byid[i]->site != si)
			continue;
		if (json_array_append_new(ids, json_integer(byid[i]->id)) < 0)
			goto fail;
		tmpl[n++] = byid[i]->asn;
		if (probe_ping(byid[i]) > 0)
			tmp[np++] = probe_ping(byid[i]);
	}
	json_object_set_new(o, "site", json_string(s->name));
	json_object_set_new(o, "probe_count", json_integer((json_int_t)n));
	json_object_set_new(o, "probes", ids);
	ids = NULL;
	qsort(tmpl, n, sizeof *tmpl, cmp_ll);
	for (i = 0; i < n; i++)
		if (tmpl[i] > 0 && (i == 0 || tmpl[i] != tmpl[i - 1]))
			json_array_append_new(asns, json_integer(tmpl[i]));
	for (i = 0; i < c->nprobes; i++) {        /* distinct, sorted */
		size_t k;
		int d = 1;

		if (byid[i]->site != si || !byid[i]->cc[0])
			continue;
		for (k = 0; k < json_array_size(cc); k++)
			if ((d = strcmp(json_string_value(json_array_get(cc, k)),
					byid[i]->cc)) >= 0)
				break;
		if (d != 0 && json_array_insert_new(cc, k, json_string(byid[i]->cc)) < 0)
			goto fail;
	}
	json_object_set_new(o, "countries", cc);
	json_object_set_new(o, "asns", asns);
	cc = asns = NULL;
	json_object_set_new(o, "results", json_integer(s->results));
	if (s->nrt) {
		memcpy(tmp + np, s->rt, s->nrt * sizeof *tmp);
		qsort(tmp + np, s->nrt, sizeof *tmp, cmp_d);
		json_object_set_new(o, "rtt_median", json_real(pct(tmp + np, s->nrt, 50)));
		json_object_set_new(o, "rtt_p90", json_real(pct(tmp + np, s->nrt, 90)));
	} else {
		json_object_set_new(o, "rtt_median", json_null());
		json_object_set_new(o, "rtt_p90", json_null());
	}
	if (c->ping_msm && np) {
		qsort(tmp, np, sizeof *tmp, cmp_d);
		json_object_set_new(o, "ping_median", json_real(pct(tmp, np, 50)));
		json_object_set_new(o, "ping_p90", json_real(pct(tmp, np, 90)));
	} else if (c->ping_msm) {
		json_object_set_new(o, "ping_median", json_null());
		json_object_set_new(o, "ping_p90", json_null());
	}
	return o;
fail:
	json_decref(o);
	json_decref(ids);
	json_decref(cc);
	json_decref(asns);
	return NULL;
}

json_t *vt_catch_json(const struct vt_catch *c)
{
	json_t *o = json_object(), *sites = json_array(), *probes = json_array();
	json_t *changes = json_array();
	struct cprobe **byid = NULL;
	struct csite **sorted = NULL;
	struct cchange *ch = NULL;
	double *tmp = NULL;
	long long *tmpl = NULL;
	size_t i, maxrt = 0;

	if (!o || !sites || !probes || !changes)
		goto fail;
	for (i = 0; i < c->nsites; i++)
		if (c->sites[i].nrt > maxrt)
			maxrt = c->sites[i].nrt;
	byid = calloc(c->nprobes + 1, sizeof *byid);
	sorted = calloc(c->nsites + 1, sizeof *sorted);
	tmp = calloc(maxrt + c->nprobes + 1, sizeof *tmp);
	tmpl = calloc(c->nprobes + 1, sizeof *tmpl);
	ch = calloc(c->nchanges + 1, sizeof *ch);
	if (!byid || !sorted || !tmp || !tmpl || !ch)
		goto fail;
	for (i = 0; i < c->nprobes; i++)
		byid[i] = &c->probes[i];
	qsort(byid, c->nprobes, sizeof *byid, cmp_probe);
	for (i = 0; i < c->nsites; i++)
		sorted[i] = &c->sites[i];
	qsort(sorted, c->nsites, sizeof *sorted, cmp_site);
	for (i = 0; i < c->nsites; i++) {
		json_t *s = site_json(c, (int)(sorted[i] - c->sites), byid, tmp, tmpl);

		if (!s || json_array_append_new(sites, s) < 0)
			goto fail;
	}
	for (i = 0; i < c->nprobes; i++) {
		const struct cprobe *p = byid[i];
		json_t *po = json_pack("{sI so so so so ss so sI sI sI}",
			"prb_id", (json_int_t)p->id,
			"site", p->site >= 0 ? json_string(c->sites[p->site].name) : json_null(),
			"rtt", num_or_null(p->site >= 0 ? p->rt : -1),
			"timestamp", p->site >= 0 ? json_integer(p->ts) : json_null(),
			"first_timestamp", p->site >= 0 ? json_integer(p->first) : json_null(),
			"country_code", p->cc,
			"asn", p->asn > 0 ? json_integer(p->asn) : json_null(),
			"results", (json_int_t)p->results,
			"unanswered", (json_int_t)p->unanswered,
			"changes", (json_int_t)p->changes);

		if (!po)
			goto fail;
		if (!p->cc[0])
			json_object_set_new(po, "country_code", json_null());
		if (c->ping_msm)
			json_object_set_new(po, "ping_avg", num_or_null(probe_ping(p)));
		if (json_array_append_new(probes, po) < 0)
			goto fail;
	}
	if (c->nchanges)
		memcpy(ch, c->changes, c->nchanges * sizeof *ch);
	qsort(ch, c->nchanges, sizeof *ch, cmp_change);
	for (i = 0; i < c->nchanges; i++) {
		json_t *co = json_pack("{sI ss ss sI sI}", "prb_id", (json_int_t)ch[i].prb,
				       "from", c->sites[ch[i].from].name,
				       "to", c->sites[ch[i].to].name,
				       "last_before", (json_int_t)ch[i].last_before,
				       "first_after", (json_int_t)ch[i].first_after);

		if (!co || json_array_append_new(changes, co) < 0)
			goto fail;
	}
	json_object_set_new(o, "msm_id", json_integer(c->msm_id));
	json_object_set_new(o, "start", json_integer(c->start));
	json_object_set_new(o, "stop", c->stop == LLONG_MAX ? json_null() :
			    json_integer(c->stop));
	json_object_set_new(o, "ping_msm_id", c->ping_msm ? json_integer(c->ping_msm) :
			    json_null());
	json_object_set_new(o, "results", json_integer(c->results));
	json_object_set_new(o, "answered", json_integer(c->answered));
	json_object_set_new(o, "unanswered", json_integer(c->unanswered));
	json_object_set_new(o, "ignored", json_integer(c->ignored));
	json_object_set_new(o, "sites", sites);
	json_object_set_new(o, "probes", probes);
	json_object_set_new(o, "changes", changes);
	json_object_set_new(o, "changes_truncated", json_boolean(c->changes_truncated));
	free(byid);
	free(sorted);
	free(tmp);
	free(tmpl);
	free(ch);
	return o;
fail:
	json_decref(o);
	json_decref(sites);
	json_decref(probes);
	json_decref(changes);
	free(byid);
	free(sorted);
	free(tmp);
	free(tmpl);
	free(ch);
	return NULL;
}

const char *vt_catch_fmt_time(long long t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || !gmtime_r(&tt, &tm) ||
	    !strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm))
		return "-";
	return buf;
}

const char *vt_catch_fmt_ms(const json_t *v, char *buf, size_t len)
{
	if (!json_is_number(v))
		return "-";
	snprintf(buf, len, "%.3f", json_number_value(v));
	return buf;
}
