/* Fuzz target: a request target of the researcher API (path, query
 * string, every list's filters, paging, results parameters) as vantage-api
 * parses it, and the error object it would answer.  Input: the path, then
 * '?', then the query string (as it comes on the request line). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "controller/api/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vt_qs qs;
	struct vt_api_err err = { 0 };
	struct vt_api_path path;
	struct vt_api_page pg;
	struct vt_api_results res;
	char *s = malloc(size + 1), *q;
	struct vt_buf b;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	q = memchr(s, '?', size);
	if (q)
		*q++ = '\0';
	vt_buf_init(&b, 1 << 20);
	if (vt_api_path_parse(s, &path, &err) < 0 && vt_api_err_json(&err, &b) < 0)
		abort();
	if (q && vt_qs_parse(q, size - (size_t)(q - s), &qs, &err) == 0) {
		for (int w = VT_LIST_MSM; w <= VT_LIST_ANCHOR; w++) {
			struct vt_sqlq sq;

			vt_sqlq_init(&sq, 5);
			if (vt_api_filters((enum vt_api_list)w, &qs, &sq, &err) < 0)
				vt_buf_reset(&b), (void)!vt_api_err_json(&err, &b);
			/* Every parameter number in the SQL must be one we hold. */
			for (const char *p = sq.where.data; p && (p = strchr(p, '$')); p++)
				if (atoi(p + 1) < 6 || atoi(p + 1) > 5 + sq.nparams)
					abort();
			vt_sqlq_free(&sq);
			if (vt_api_page_parse((enum vt_api_list)w, &qs, &pg, &err) == 0 &&
			    (pg.size < 1 || pg.size > VT_API_PAGE_MAX || pg.page < 1))
				abort();
		}
		(void)!vt_api_results_parse(&qs, 0, &res, &err);
		(void)!vt_api_results_parse(&qs, 1, &res, &err);
	}
	vt_buf_free(&b);
	free(s);
	return 0;
}
