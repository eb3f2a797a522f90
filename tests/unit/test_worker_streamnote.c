/* test_worker_streamnote - the worker's NOTIFY vantage_stream statements
 * (controller/worker/streamnote.h): none for a batch that stored no row
 * (only status lines or rejects; the set was never allocated), and the
 * rows sorted into ranges per measurement otherwise. */
#include <string.h>

#include "check.h"
#include "common/buf.h"
#include "controller/worker/streamnote.h"

static void test_empty(void)
{
	struct wk_seqs s = { 0 };
	struct vt_buf sql;

	vt_buf_init(&sql, 0);
	/* under UBSan a qsort of the NULL set stopped the worker here */
	CHECK_INT(wk_seqs_notify_sql(&s, &sql), VT_OK);
	CHECK(sql.len == 0);
	wk_seqs_free(&s);
	vt_buf_free(&sql);
}

static void test_rows(void)
{
	struct wk_seqs s = { 0 };
	struct vt_buf sql;

	vt_buf_init(&sql, 0);
	CHECK_INT(wk_seqs_put(&s, 2001, 12), VT_OK);
	CHECK_INT(wk_seqs_put(&s, 1001, 11), VT_OK);
	CHECK_INT(wk_seqs_put(&s, 1001, 10), VT_OK);
	CHECK_INT(wk_seqs_notify_sql(&s, &sql), VT_OK);
	CHECK(sql.data && strstr(sql.data, "SELECT pg_notify('vantage_stream',") == sql.data);
	CHECK(sql.data && strstr(sql.data, " 1001:10-11 2001:12-12'); ") != NULL);
	wk_seqs_free(&s);
	vt_buf_free(&sql);
}

int main(void)
{
	test_empty();
	test_rows();
	return CHECK_DONE();
}
