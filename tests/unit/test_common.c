/* Unit tests of common/: buffers, cursor, config, flag values, error
 * table, event loop. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/conf.h"
#include "common/err.h"
#include "common/evloop.h"
#include "common/opt.h"
#include "common/pg.h"
#include "common/vtime.h"
#include "tests/unit/check.h"

static void test_buf(void)
{
	struct vt_buf b;
	char *s;
	size_t n;

	vt_buf_init(&b, 10);
	CHECK_INT(vt_buf_adds(&b, "hello"), VT_OK);
	CHECK_INT(vt_buf_addf(&b, "%d", 1234), VT_OK);
	CHECK_STR(b.data, "hello1234");
	CHECK_INT(vt_buf_adds(&b, "xy"), VT_ETOOBIG);   /* cap holds */
	CHECK_STR(b.data, "hello1234");                 /* unchanged */
	CHECK_INT(vt_buf_addc(&b, '!'), VT_OK);
	CHECK_INT(b.len, 10);
	vt_buf_consume(&b, 5);
	CHECK_STR(b.data, "1234!");
	vt_buf_consume(&b, 100);
	CHECK_INT(b.len, 0);
	CHECK_STR(b.data, "");
	CHECK_INT(vt_buf_addf(&b, "%s", "0123456789A"), VT_ETOOBIG);
	s = vt_buf_take(&b, &n);
	CHECK(s != NULL && n == 0);
	free(s);
	vt_buf_free(&b);
	vt_buf_free(NULL);

	vt_buf_init(&b, 0);
	{
		int bad = 0;

		for (int i = 0; i < 10000; i++)
			bad += vt_buf_add(&b, "abcdefgh", 8) != VT_OK;
		CHECK_INT(bad, 0);
	}
	CHECK_INT(b.len, 80000);
	vt_buf_free(&b);

	/* the inline appends: in the storage reserved, past it (through
	 * vt_buf_add), up to the cap and no further; truncate takes back */
	vt_buf_init(&b, 12);
	CHECK_INT(vt_buf_addc_fast(&b, 'a'), VT_OK);     /* no storage yet */
	CHECK_INT(vt_buf_reserve(&b, 11), VT_OK);
	n = b.cap;
	CHECK_INT(vt_buf_add_fast(&b, "bcdef", 5), VT_OK);
	CHECK_INT(vt_buf_addc_fast(&b, 'g'), VT_OK);
	CHECK_STR(b.data, "abcdefg");
	CHECK_INT(b.cap, n);                            /* no reallocation */
	CHECK_INT(vt_buf_add_fast(&b, "hijkl", 5), VT_OK);
	CHECK_INT(b.len, 12);
	CHECK_INT(vt_buf_add_fast(&b, "m", 1), VT_ETOOBIG);
	CHECK_INT(vt_buf_addc_fast(&b, 'm'), VT_ETOOBIG);
	CHECK_STR(b.data, "abcdefghijkl");              /* unchanged */
	vt_buf_truncate(&b, 3);
	CHECK_STR(b.data, "abc");
	vt_buf_truncate(&b, 50);                        /* clamped */
	CHECK_INT(b.len, 3);
	CHECK_INT(vt_buf_addc_fast(&b, 'z'), VT_OK);
	CHECK_STR(b.data, "abcz");
	vt_buf_free(&b);
	/* storage larger than the cap (64 bytes at least): the cap holds */
	vt_buf_init(&b, 3);
	CHECK_INT(vt_buf_reserve(&b, 1), VT_OK);
	CHECK(b.cap > 3);
	CHECK_INT(vt_buf_add_fast(&b, "xy", 2), VT_OK);
	CHECK_INT(vt_buf_add_fast(&b, "zw", 2), VT_ETOOBIG);
	CHECK_INT(vt_buf_addc_fast(&b, 'z'), VT_OK);
	CHECK_INT(vt_buf_addc_fast(&b, 'w'), VT_ETOOBIG);
	CHECK_STR(b.data, "xyz");
	vt_buf_free(&b);
}

static void test_cur(void)
{
	static const char text[] = "one\r\ntwo\n\nlast";
	static const uint8_t bin[] = { 1, 0x02, 0x03, 0, 0, 1, 0 };
	struct vt_cur c;
	const char *l;
	const uint8_t *p;
	size_t n;

	vt_cur_init(&c, text, strlen(text));
	CHECK_INT(vt_cur_line(&c, &l, &n), 1);
	CHECK(n == 3 && !memcmp(l, "one", 3));
	CHECK_INT(vt_cur_line(&c, &l, &n), 1);
	CHECK(n == 3 && !memcmp(l, "two", 3));
	CHECK_INT(vt_cur_line(&c, &l, &n), 1);
	CHECK_INT(n, 0);
	CHECK_INT(vt_cur_line(&c, &l, &n), 1);
	CHECK(n == 4 && !memcmp(l, "last", 4));
	CHECK_INT(vt_cur_line(&c, &l, &n), 0);

	vt_cur_init(&c, bin, sizeof bin);
	CHECK_INT(vt_cur_u8(&c), 1);
	CHECK_INT(vt_cur_u16(&c), 0x0203);
	CHECK_INT(vt_cur_u32(&c), 0x00000100);
	CHECK_INT(c.err, 0);
	CHECK_INT(vt_cur_u16(&c), 0);            /* short: error sticks */
	CHECK_INT(c.err, VT_EPARSE);
	CHECK_INT(vt_cur_u8(&c), 0);
	CHECK_INT(vt_cur_bytes(&c, 1, &p), VT_EPARSE);
	CHECK_INT(vt_cur_left(&c), 0);
}

static void test_conf(void)
{
	static const char good[] = "# comment\n  db = host=x port=1 \n\nport=22 # trailing\n";
	static const char bad[] = "ok = 1\nnot a pair\n";
	struct vt_conf *c = NULL;
	char err[128] = "";
	long v;

	CHECK_INT(vt_conf_parse("t", good, strlen(good), &c, err, sizeof err), VT_OK);
	CHECK_STR(vt_conf_get(c, "db", NULL), "host=x port=1");
	CHECK_INT(vt_conf_int(c, "port", 0, 1, 65535, &v), VT_OK);
	CHECK_INT(v, 22);
	CHECK_INT(vt_conf_int(c, "db", 0, 1, 65535, &v), VT_EPARSE);
	CHECK_INT(vt_conf_set(c, "half", "22x"), VT_OK);
	CHECK_INT(vt_conf_int(c, "half", 0, 1, 65535, &v), VT_EPARSE);
	CHECK_INT(vt_conf_int(c, "absent", 7, 1, 65535, &v), VT_OK);
	CHECK_INT(v, 7);
	CHECK_INT(vt_conf_set(c, "port", "23"), VT_OK);
	CHECK_STR(vt_conf_get(c, "port", NULL), "23");
	vt_conf_free(c);
	c = NULL;
	CHECK_INT(vt_conf_parse("f.conf", bad, strlen(bad), &c, err, sizeof err),
		  VT_EPARSE);
	CHECK(c == NULL);
	CHECK(strstr(err, "f.conf:2:") != NULL);
	CHECK_INT(vt_conf_load("/nonexistent/x.conf", &c, err, sizeof err), VT_EIO);
	vt_conf_free(NULL);
}

static void test_opt(void)
{
	char err[128] = "";
	long long v = 7;
	long l = 0;
	int i = 0;

	CHECK_INT(vt_num_parse("42", 0, 100, &v), VT_OK);
	CHECK_INT(v, 42);
	CHECK_INT(vt_num_parse("-5", -10, 10, &v), VT_OK);
	CHECK_INT(v, -5);
	CHECK_INT(vt_num_parse("9223372036854775807", 0, INT64_MAX, &v), VT_OK);
	CHECK(v == INT64_MAX);
	/* what atoi/strtol took as 0 or a prefix */
	v = 7;
	CHECK_INT(vt_num_parse("x", 0, 100, &v), VT_EPARSE);
	CHECK_INT(vt_num_parse("", 0, 100, &v), VT_EPARSE);
	CHECK_INT(vt_num_parse("12abc", 0, 100, &v), VT_EPARSE);
	CHECK_INT(vt_num_parse(" 12", 0, 100, &v), VT_EPARSE);
	CHECK_INT(vt_num_parse("+12", 0, 100, &v), VT_EPARSE);
	CHECK_INT(vt_num_parse("0x10", 0, 100, &v), VT_EPARSE);
	CHECK_INT(vt_num_parse("-", 0, 100, &v), VT_EPARSE);
	CHECK_INT(vt_num_parse("--1", -10, 100, &v), VT_EPARSE);
	CHECK_INT(vt_num_parse(NULL, 0, 100, &v), VT_EPARSE);
	CHECK_INT(vt_num_parse("101", 0, 100, &v), VT_ETOOBIG);
	CHECK_INT(vt_num_parse("-1", 0, 100, &v), VT_ETOOBIG);
	CHECK_INT(vt_num_parse("99999999999999999999", 0, INT64_MAX, &v),
		  VT_ETOOBIG);
	CHECK_INT(v, 7);                        /* untouched on failure */
	CHECK_INT(vt_opt_num("--batch", "x", 1, 9, &v, err, sizeof err), VT_EPARSE);
	CHECK_STR(err, "--batch: 'x' is not a whole number in 1..9");
	CHECK_INT(vt_opt_int("--interval", "0", 1, 60, &i, err, sizeof err),
		  VT_ETOOBIG);
	CHECK(strstr(err, "--interval") != NULL);
	CHECK_INT(vt_opt_int("--interval", "60", 1, 60, &i, err, sizeof err), VT_OK);
	CHECK_INT(i, 60);
	CHECK_INT(vt_opt_long("--now", "1700000000", 1, 2000000000L, &l, err,
			      sizeof err), VT_OK);
	CHECK_INT(l, 1700000000L);
	/* text values: "--db" with nothing, or with the next option */
	CHECK_INT(vt_opt_value("--db", "dbname=x", err, sizeof err), VT_OK);
	CHECK_INT(vt_opt_value("--db", "", err, sizeof err), VT_EINVAL);
	CHECK_STR(err, "--db needs a value");
	CHECK_INT(vt_opt_value("--db", "--once", err, sizeof err), VT_EINVAL);
	CHECK_INT(vt_opt_value("--db", NULL, err, sizeof err), VT_EINVAL);
	/* vt_conf_db: a --db without a value never falls back to $VANTAGE_DB */
	setenv("VANTAGE_DB", "dbname=env", 1);
	CHECK_STR(vt_conf_db(NULL), "dbname=env");
	CHECK_STR(vt_conf_db("dbname=arg"), "dbname=arg");
	CHECK(vt_conf_db("") == NULL);
	CHECK(vt_conf_db("--once") == NULL);
	unsetenv("VANTAGE_DB");
	CHECK(vt_conf_db(NULL) == NULL);
}

static void test_err(void)
{
	CHECK_STR(vt_strerror(VT_OK), "success");
	CHECK_STR(vt_strerror(VT_ETOOBIG), "input too large");
	CHECK_STR(vt_strerror(VT_ERR_MIN_), "unknown error");
	CHECK_STR(vt_strerror(5), "unknown error");
	for (int e = VT_ERR_MIN_ + 1; e <= 0; e++)
		CHECK(vt_strerror(e) != NULL && strcmp(vt_strerror(e), "unknown error"));
}

struct loop_state {
	int order[8];
	int n;
	int reads;
	uint64_t cancel_id;
};

/* A timer's argument: which timer it is, and where it records firing. */
struct timer_arg {
	struct loop_state *st;
	int which;
	int64_t lo, hi;         /* its deadline lies in lo..hi (mono ms) */
};

static void on_timer(struct vt_loop *l, void *arg)
{
	struct timer_arg *t = arg;
	struct loop_state *st = t->st;

	if (st->n < 8)
		st->order[st->n] = t->which;
	st->n++;
	if (st->n == 3)
		vt_loop_stop(l);
}

static void on_read(struct vt_loop *l, int fd, int ev, void *arg)
{
	struct loop_state *st = arg;
	char c;

	if ((ev & VT_EV_READ) && read(fd, &c, 1) == 1)
		st->reads++;
	vt_loop_del(l, fd);
}

static void never(struct vt_loop *l, void *arg)
{
	(void)l;
	((struct loop_state *)arg)->n = 100;
}

/* Registers timer t after ms, noting the span its deadline falls in. */
static int add_timer(struct vt_loop *l, struct timer_arg *t, int64_t ms)
{
	int rc;

	t->lo = vt_mono_ms() + ms;
	rc = vt_loop_timer(l, ms, on_timer, t, NULL);
	t->hi = vt_mono_ms() + ms;
	return rc;
}

/* Position of timer which in the firing order, or -1. */
static int pos(const struct loop_state *st, int which)
{
	for (int i = 0; i < st->n && i < 8; i++)
		if (st->order[i] == which)
			return i;
	return -1;
}

static void test_loop(void)
{
	struct loop_state st = { .n = 0 };
	struct timer_arg t[3];
	struct vt_loop *l = NULL;
	int p[2];

	for (int i = 0; i < 3; i++)
		t[i] = (struct timer_arg){ &st, i, 0, 0 };
	CHECK_INT(vt_loop_new(&l), VT_OK);
	CHECK_INT(pipe(p), 0);
	CHECK_INT(vt_loop_add(l, p[0], VT_EV_READ, on_read, &st), VT_OK);
	CHECK_INT(vt_loop_add(l, p[0], VT_EV_READ, on_read, &st), VT_EEXIST);
	CHECK_INT(write(p[1], "x", 1), 1);
	CHECK_INT(add_timer(l, &t[2], 30), VT_OK);
	CHECK_INT(add_timer(l, &t[0], 10), VT_OK);
	CHECK_INT(vt_loop_timer(l, 20, never, &st, &st.cancel_id), VT_OK);
	CHECK_INT(add_timer(l, &t[1], 20), VT_OK);
	vt_loop_timer_cancel(l, st.cancel_id);
	CHECK_INT(vt_loop_run(l), VT_OK);
	CHECK_INT(st.n, 3);
	CHECK_INT(st.reads, 1);
	/* Timers fire in deadline order.  A deadline is the clock at
	 * registration plus the delay; on a loaded machine the registrations
	 * may be far apart, so only pairs whose deadline spans do not overlap
	 * are ordered for certain (on an idle machine: all three, 0 1 2). */
	CHECK(pos(&st, 0) >= 0 && pos(&st, 1) >= 0 && pos(&st, 2) >= 0);
	for (int a = 0; a < 3; a++)
		for (int b = 0; b < 3; b++)
			if (t[a].hi < t[b].lo && pos(&st, a) > pos(&st, b)) {
				printf("# timer %d (due by %lld) fired after timer %d "
				       "(due from %lld)\n", a, (long long)t[a].hi, b,
				       (long long)t[b].lo);
				CHECK(!"deadline order");
			}
	CHECK_INT(vt_loop_mod(l, p[0], VT_EV_READ), VT_ENOTFOUND);

	/* Equal delays fire in the order they were set, whatever the load:
	 * deadlines never decrease and ties go to the older timer. */
	st.n = 0;
	CHECK_INT(add_timer(l, &t[1], 0), VT_OK);
	CHECK_INT(add_timer(l, &t[2], 0), VT_OK);
	CHECK_INT(add_timer(l, &t[0], 0), VT_OK);
	CHECK_INT(vt_loop_run(l), VT_OK);
	CHECK_INT(st.n, 3);
	CHECK_INT(st.order[0], 1);
	CHECK_INT(st.order[1], 2);
	CHECK_INT(st.order[2], 0);
	close(p[0]);
	close(p[1]);
	vt_loop_free(l);
	vt_loop_free(NULL);
}

static void test_pg_array(void)
{
	struct vt_pg_array a;

	vt_pg_array_init(&a, 0);
	CHECK_STR(vt_pg_array_done(&a), "{}");
	vt_pg_array_free(&a);
	vt_pg_array_init(&a, 0);
	CHECK_INT(vt_pg_array_ll(&a, -5), VT_OK);
	CHECK_INT(vt_pg_array_raw(&a, "NULL"), VT_OK);
	CHECK_INT(vt_pg_array_str(&a, "a\"b\\c", 5), VT_OK);
	CHECK_STR(vt_pg_array_done(&a), "{-5,NULL,\"a\\\"b\\\\c\"}");
	vt_pg_array_free(&a);
	vt_pg_array_init(&a, 4);
	CHECK_INT(vt_pg_array_ll(&a, 12345), VT_ETOOBIG);
	vt_pg_array_free(&a);
	vt_pg_array_free(NULL);
}

int main(void)
{
	test_pg_array();
	test_buf();
	test_cur();
	test_conf();
	test_opt();
	test_err();
	test_loop();
	return CHECK_DONE();
}
