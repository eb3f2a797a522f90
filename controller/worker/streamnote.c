/* streamnote.c - the worker's NOTIFY vantage_stream (streamnote.h). */
#include "controller/worker/streamnote.h"

#include <stdlib.h>

/* Room for n more rows. */
static int room(struct wk_seqs *s, size_t n)
{
	if (s->n + n > s->cap) {
		size_t cap = (s->n + n) * 2;
		struct vt_stream_row *v = realloc(s->v, cap * sizeof *v);

		if (!v)
			return VT_ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	return VT_OK;
}

int wk_seqs_put(struct wk_seqs *s, long long msm, long long seq)
{
	if (room(s, 1) < 0)
		return VT_ENOMEM;
	s->v[s->n].msm = msm;
	s->v[s->n].seq = seq;
	s->n++;
	return VT_OK;
}

int wk_seqs_add(struct wk_seqs *s, const PGresult *res)
{
	int n = PQntuples(res);

	if (room(s, (size_t)n) < 0)
		return VT_ENOMEM;
	for (int i = 0; i < n; i++) {
		if (PQgetisnull(res, i, 1))
			continue;
		s->v[s->n].msm = atoll(PQgetvalue(res, i, 0));
		s->v[s->n].seq = atoll(PQgetvalue(res, i, 1));
		s->n++;
	}
	return VT_OK;
}

static int row_cmp(const void *a, const void *b)
{
	const struct vt_stream_row *x = a, *y = b;

	if (x->msm != y->msm)
		return x->msm < y->msm ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int wk_seqs_notify_sql(struct wk_seqs *s, struct vt_buf *sql)
{
	struct vt_buf note;
	size_t at = 0;
	int r = VT_OK;

	if (s->n)   /* none stored (status lines, rejects only): v is NULL */
		qsort(s->v, s->n, sizeof *s->v, row_cmp);
	vt_buf_init(&note, VT_STREAM_NOTE_MAX + 64);
	while (at < s->n) {
		vt_buf_reset(&note);
		/* the payload holds digits, ':', '-', ',' and ' ' only: safe
		 * inside a literal */
		if ((r = vt_stream_note_build(s->v, s->n, &at, &note)) < 0 ||
		    (r = vt_buf_addf(sql, "SELECT pg_notify('vantage_stream',"
				     " pg_current_xact_id()::text || ' %s'); ",
				     note.data)) < 0)
			break;
	}
	vt_buf_free(&note);
	return r;
}

void wk_seqs_free(struct wk_seqs *s)
{
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}
