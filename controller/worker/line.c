/* line.c - one queued line, fast path or full path (see line.h). */
#include "controller/worker/line.h"

#include <stdio.h>
#include <string.h>

void wk_line_init(struct wk_line *l)
{
	memset(l, 0, sizeof *l);
	wk_fast_init(&l->fast);
}

void wk_line_free(struct wk_line *l)
{
	if (!l)
		return;
	wk_fast_free(&l->fast);
	vt_result_free(l->res);
	l->res = NULL;
}

static int full_parse(struct wk_line *l, const char *line, size_t len,
		      char *err, size_t errlen)
{
	if (l->res)
		return VT_OK;
	return vt_result_parse(line, len, &l->res, err, errlen);
}

int wk_line_parse(struct wk_line *l, const char *line, size_t len,
		  char *err, size_t errlen)
{
	int r = wk_fast_parse(line, len, &l->fast);

	if (r < 0)
		return r;
	if (r == 1) {
		l->fast_ok = 1;
		l->msm_id = l->fast.msm_id;
		l->time = l->fast.time;
		return VT_OK;
	}
	if ((r = full_parse(l, line, len, err, errlen)) < 0)
		return r;
	l->msm_id = vt_result_msm_id(l->res);
	l->time = vt_result_time(l->res);
	return VT_OK;
}

int wk_line_enrich(struct wk_line *l, const char *line, size_t len,
		   const struct vt_enrich *e, struct vt_buf *out, char *err,
		   size_t errlen)
{
	size_t mark = out->len;
	int r = l->fast_ok ? wk_fast_enrich(&l->fast, e, out) : 0;

	if (r == 1)
		return VT_OK;
	if (r == VT_ENOMEM)
		return r;
	/* declined (or over the cap): the full path decides, as for any
	 * line, and gives the reasons */
	if ((r = full_parse(l, line, len, err, errlen)) < 0)
		return r;
	r = vt_result_enrich(l->res, e, out);
	if (r < 0) {
		out->len = mark;
		if (out->data)
			out->data[mark] = '\0';
	}
	if (r == VT_EINVAL)
		snprintf(err, errlen, "unknown measurement type %s", e->type);
	else if (r == VT_ETOOBIG)
		snprintf(err, errlen, "result over %d bytes once enriched",
			 WK_STORED_MAX);
	else if (r < 0 && r != VT_ENOMEM)
		snprintf(err, errlen, "cannot enrich: %s", vt_strerror(r));
	return r;
}
