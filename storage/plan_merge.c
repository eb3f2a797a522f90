/* plan_merge.c - the planner's spool, k-way heap merge and line key reader. */
#include "storage/plan_merge.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SPOOL_WBUF ((size_t)1 << 20)   /* write buffer of a spilled spool */

/* ---- the key of a line ---- */

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* p at the opening quote; returns the byte after the closing one, or NULL. */
static const char *skip_string(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		if (*p == '\\') {
			if (++p == end)
				return NULL;
		} else if (*p == '"') {
			return p + 1;
		}
	}
	return NULL;
}

/* Skips one value (string, object, array, number or literal); NULL when it
 * runs off the end. */
static const char *skip_value(const char *p, const char *end)
{
	int depth = 0;

	if (p == end)
		return NULL;
	if (*p == '"')
		return skip_string(p, end);
	if (*p != '{' && *p != '[') {
		while (p < end && *p != ',' && *p != '}' && *p != ']' &&
		       *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
			p++;
		return p;
	}
	while (p < end) {
		if (*p == '"') {
			if (!(p = skip_string(p, end)))
				return NULL;
			continue;
		}
		if (*p == '{' || *p == '[')
			depth++;
		else if ((*p == '}' || *p == ']') && --depth == 0)
			return p + 1;
		p++;
	}
	return NULL;
}

/* A JSON integer (no fraction or exponent) that fits int64_t. */
static const char *read_int(const char *p, const char *end, int64_t *v)
{
	int neg = 0, digits = 0;
	uint64_t x = 0;

	if (p < end && *p == '-') {
		neg = 1;
		p++;
	}
	for (; p < end && *p >= '0' && *p <= '9'; p++, digits++) {
		if (x > (UINT64_MAX - 9) / 10)
			return NULL;
		x = x * 10 + (uint64_t)(*p - '0');
	}
	if (!digits || (p < end && (*p == '.' || *p == 'e' || *p == 'E')))
		return NULL;
	if (neg ? x > (uint64_t)INT64_MAX + 1 : x > (uint64_t)INT64_MAX)
		return NULL;
	*v = neg ? (int64_t)(0 - x) : (int64_t)x;
	return p;
}

int vt_plan_line_key(const char *line, size_t len, int64_t *ts, int64_t *prb)
{
	const char *p = line, *end = line + len;
	int have_ts = 0, have_prb = prb == NULL;

	if (prb)
		*prb = 0;
	p = skip_ws(p, end);
	if (p == end || *p++ != '{')
		return VT_EPARSE;
	for (;;) {
		const char *k, *kend;

		p = skip_ws(p, end);
		if (p < end && *p == '}')
			break;
		if (p == end || *p != '"' || !(kend = skip_string(p, end)))
			return VT_EPARSE;
		k = p + 1;
		p = skip_ws(kend, end);
		if (p == end || *p++ != ':')
			return VT_EPARSE;
		p = skip_ws(p, end);
		if (kend - k == 10 && !memcmp(k, "timestamp", 9)) {
			if (!(p = read_int(p, end, ts)))
				return VT_EPARSE;
			have_ts = 1;
		} else if (prb && kend - k == 7 && !memcmp(k, "prb_id", 6)) {
			if (!(p = read_int(p, end, prb)))
				return VT_EPARSE;
			have_prb = 1;
		} else if (!(p = skip_value(p, end))) {
			return VT_EPARSE;
		}
		if (have_ts && have_prb)
			return VT_OK;
		p = skip_ws(p, end);
		if (p < end && *p == ',') {
			p++;
			continue;
		}
		if (p < end && *p == '}')
			break;
		return VT_EPARSE;
	}
	return have_ts ? VT_OK : VT_EPARSE;
}

/* ---- the spool ---- */

void vt_pspool_init(struct vt_pspool *s, size_t mem_max, const char *tmpdir)
{
	const char *d = tmpdir ? tmpdir : getenv("TMPDIR");

	memset(s, 0, sizeof *s);
	vt_buf_init(&s->mem, 0);
	s->mem_max = mem_max;
	s->fd = -1;
	snprintf(s->tmpdir, sizeof s->tmpdir, "%s", d && *d ? d : "/tmp");
}

static int spool_file(struct vt_pspool *s)
{
	char path[300];

#ifdef O_TMPFILE
	s->fd = open(s->tmpdir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (s->fd >= 0)
		return VT_OK;
#endif
	snprintf(path, sizeof path, "%s/vantage-plan.XXXXXX", s->tmpdir);
	if ((s->fd = mkostemp(path, O_CLOEXEC)) < 0)
		return VT_EIO;
	unlink(path);
	return VT_OK;
}

static int write_all(int fd, const char *p, size_t n, uint64_t off)
{
	while (n) {
		ssize_t w = pwrite(fd, p, n, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return VT_EIO;
		p += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return VT_OK;
}

int vt_pspool_flush(struct vt_pspool *s)
{
	int r;

	if (s->fd < 0 || !s->mem.len)
		return VT_OK;
	if ((r = write_all(s->fd, s->mem.data, s->mem.len, s->flushed)) < 0)
		return r;
	s->flushed += s->mem.len;
	vt_buf_reset(&s->mem);
	return VT_OK;
}

int vt_pspool_add(struct vt_pspool *s, const void *p, size_t n, uint64_t *off)
{
	int r;

	if (off)
		*off = s->size;
	if (s->fd < 0 && s->mem.len + n > s->mem_max) {
		if ((r = spool_file(s)) < 0)
			return r;
		if ((r = vt_pspool_flush(s)) < 0)
			return r;
	}
	if (s->fd >= 0 && s->mem.len + n > SPOOL_WBUF) {
		if ((r = vt_pspool_flush(s)) < 0)
			return r;
		if (n > SPOOL_WBUF) {   /* big pieces go straight to the file */
			if ((r = write_all(s->fd, p, n, s->flushed)) < 0)
				return r;
			s->flushed += n;
			s->size += n;
			return VT_OK;
		}
	}
	if ((r = vt_buf_add(&s->mem, p, n)) < 0)
		return r;
	s->size += n;
	return VT_OK;
}

void vt_pspool_reset(struct vt_pspool *s)
{
	vt_buf_reset(&s->mem);
	if (s->fd >= 0)
		close(s->fd);    /* unlinked: its blocks go with it */
	s->fd = -1;
	s->size = s->flushed = 0;
}

void vt_pspool_free(struct vt_pspool *s)
{
	if (!s)
		return;
	vt_buf_free(&s->mem);
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->size = s->flushed = 0;
}

/* ---- the merge ---- */

void vt_merge_init(struct vt_merge *m, struct vt_pspool *sp, size_t bufsize)
{
	memset(m, 0, sizeof *m);
	m->sp = sp;
	m->bufsize = bufsize ? bufsize : 8192;
	m->last = SIZE_MAX;
}

int vt_merge_add(struct vt_merge *m, uint64_t off, uint64_t len, int64_t prb,
		 size_t tag)
{
	struct vt_mrun *r;

	if (!len)
		return VT_OK;
	if (m->n == m->cap) {
		size_t nc = m->cap ? m->cap * 2 : 64;
		struct vt_mrun *nr = realloc(m->runs, nc * sizeof *nr);
		size_t *nh;

		if (!nr)
			return VT_ENOMEM;
		m->runs = nr;
		if (!(nh = realloc(m->heap, nc * sizeof *nh)))
			return VT_ENOMEM;
		m->heap = nh;
		m->cap = nc;
	}
	r = &m->runs[m->n++];
	memset(r, 0, sizeof *r);
	r->pos = off;
	r->end = off + len;
	r->prb = prb;
	r->tag = tag;
	return VT_OK;
}

/* Reads more of a run from a spilled spool into its buffer. */
static int run_fill(struct vt_merge *m, struct vt_mrun *r)
{
	size_t want;
	ssize_t got;

	if (r->at) {
		memmove(r->buf, r->buf + r->at, r->len - r->at);
		r->len -= r->at;
		r->at = 0;
	}
	if (r->len == r->cap) {
		size_t nc = r->cap ? r->cap * 2 : m->bufsize;
		char *nb;

		if (nc > VT_PLAN_LINE_MAX + 1)
			return VT_ETOOBIG;
		if (!(nb = realloc(r->buf, nc)))
			return VT_ENOMEM;
		r->buf = nb;
		r->cap = nc;
	}
	want = r->cap - r->len;
	if (want > r->end - r->pos)
		want = (size_t)(r->end - r->pos);
	do
		got = pread(m->sp->fd, r->buf + r->len, want, (off_t)r->pos);
	while (got < 0 && errno == EINTR);
	if (got <= 0)
		return VT_EIO;
	r->len += (size_t)got;
	r->pos += (uint64_t)got;
	return VT_OK;
}

/* Moves a run to its next line; 1: a line, 0: the run is done. */
static int run_advance(struct vt_merge *m, struct vt_mrun *r)
{
	const char *nl;
	int ret;

	if (m->sp->fd < 0) {
		const char *p = m->sp->mem.data + r->pos;
		size_t left = (size_t)(r->end - r->pos);

		if (!left)
			return 0;
		nl = memchr(p, '\n', left);
		r->line = p;
		r->llen = nl ? (size_t)(nl - p) : left;
		r->pos += r->llen + (nl != NULL);
	} else {
		for (;;) {
			const char *p = r->buf + r->at;
			size_t left = r->len - r->at;

			nl = left ? memchr(p, '\n', left) : NULL;
			if (nl || (left && r->pos == r->end)) {
				r->line = p;
				r->llen = nl ? (size_t)(nl - p) : left;
				r->at += r->llen + (nl != NULL);
				break;
			}
			if (r->pos == r->end)
				return 0;
			if ((ret = run_fill(m, r)) < 0)
				return ret;
		}
	}
	if (r->llen > VT_PLAN_LINE_MAX)
		return VT_ETOOBIG;
	ret = vt_plan_line_key(r->line, r->llen, &r->ts, r->prb ? NULL : &r->lprb);
	if (ret < 0)
		return ret;
	if (r->prb)
		r->lprb = r->prb;
	return 1;
}

/* Heap order: key, then the order runs were added in. */
static int run_less(const struct vt_merge *m, size_t a, size_t b)
{
	const struct vt_mrun *x = &m->runs[a], *y = &m->runs[b];

	if (x->ts != y->ts)
		return x->ts < y->ts;
	if (x->lprb != y->lprb)
		return x->lprb < y->lprb;
	return a < b;
}

static void sift_down(struct vt_merge *m, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, s = i, t;

		if (l < m->hn && run_less(m, m->heap[l], m->heap[s]))
			s = l;
		if (r < m->hn && run_less(m, m->heap[r], m->heap[s]))
			s = r;
		if (s == i)
			return;
		t = m->heap[i];
		m->heap[i] = m->heap[s];
		m->heap[s] = t;
		i = s;
	}
}

int vt_merge_start(struct vt_merge *m)
{
	int r;

	m->hn = 0;
	m->last = SIZE_MAX;
	for (size_t i = 0; i < m->n; i++) {
		if ((r = run_advance(m, &m->runs[i])) < 0) {
			m->bad = m->runs[i].tag;
			return r;
		}
		if (r)
			m->heap[m->hn++] = i;
	}
	for (size_t i = m->hn / 2; i-- > 0;)
		sift_down(m, i);
	return VT_OK;
}

int vt_merge_next(struct vt_merge *m, const char **line, size_t *len,
		  int64_t *ts, int64_t *prb)
{
	struct vt_mrun *r;
	int ret;

	if (m->last != SIZE_MAX) {
		/* The top of the heap is the run handed out last. */
		size_t i = m->last;

		m->last = SIZE_MAX;
		if ((ret = run_advance(m, &m->runs[i])) < 0) {
			m->bad = m->runs[i].tag;
			return ret;
		}
		if (!ret)
			m->heap[0] = m->heap[--m->hn];
		if (m->hn)
			sift_down(m, 0);
	}
	if (!m->hn)
		return 0;
	m->last = m->heap[0];
	r = &m->runs[m->last];
	*line = r->line;
	*len = r->llen;
	if (ts)
		*ts = r->ts;
	if (prb)
		*prb = r->lprb;
	return 1;
}

void vt_merge_clear(struct vt_merge *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->runs[i].buf);
	m->n = m->hn = 0;
	m->last = SIZE_MAX;
}

void vt_merge_free(struct vt_merge *m)
{
	if (!m)
		return;
	vt_merge_clear(m);
	free(m->runs);
	free(m->heap);
	m->runs = NULL;
	m->heap = NULL;
	m->cap = 0;
}
