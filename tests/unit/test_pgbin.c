/* test_pgbin.c - binary PostgreSQL arrays (common/pgbin.h): the bytes of
 * known arrays, laid out as array_send writes them.  With a conninfo
 * argument (tests/integration/gateway_pgbin.sh) every array also goes to
 * a real server, which must read it and send back the very same bytes from
 * array_send, and print the expected text form. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>

#include "check.h"
#include "common/pg.h"
#include "common/pgbin.h"

#define NARR 7

struct sample {
	const char *type;          /* SQL array type */
	unsigned    oid;           /* its OID */
	const char *text;          /* the server's text form */
	struct vt_pgbin a;
	const char *p;
	int         len;
};

static const unsigned char empty_int8[] = {
	0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 20 };
static const unsigned char int4_2[] = {
	0, 0, 0, 1,  0, 0, 0, 0,  0, 0, 0, 23,  0, 0, 0, 2,  0, 0, 0, 1,
	0, 0, 0, 4,  0, 0, 0, 7,
	0, 0, 0, 4,  0xff, 0xff, 0xff, 0xfe };
static const unsigned char text_null[] = {
	0, 0, 0, 1,  0, 0, 0, 1,  0, 0, 0, 25,  0, 0, 0, 3,  0, 0, 0, 1,
	0, 0, 0, 2,  'a', '"',
	0xff, 0xff, 0xff, 0xff,
	0, 0, 0, 0 };
static const unsigned char inet_2[] = {
	0, 0, 0, 1,  0, 0, 0, 0,  0, 0, 3, 101,  0, 0, 0, 2,  0, 0, 0, 1,
	0, 0, 0, 8,  2, 32, 0, 4,  192, 0, 2, 1,
	0, 0, 0, 20, 3, 128, 0, 16,  0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 1 };
static const unsigned char ts_1[] = {
	0, 0, 0, 1,  0, 0, 0, 0,  0, 0, 4, 160,  0, 0, 0, 1,  0, 0, 0, 1,
	/* 2000-01-01 00:00:01.5 UTC: 1500000 microseconds */
	0, 0, 0, 8,  0, 0, 0, 0, 0, 0x16, 0xe3, 0x60 };

static int same(const char *p, int len, const unsigned char *want, size_t n)
{
	return p && (size_t)len == n && memcmp(p, want, n) == 0;
}

static void build(struct sample *s)
{
	struct vt_pgbin *a = &s[0].a;
	static const char big[3000] = { [0 ... 2998] = 'x' };

	s[0] = (struct sample){ .type = "bigint[]", .oid = VT_OID_INT8_ARR,
				.text = "{}" };
	vt_pgbin_init(&s[0].a, VT_OID_INT8, 0);

	s[1] = (struct sample){ .type = "integer[]", .oid = VT_OID_INT4_ARR,
				.text = "{7,-2}" };
	vt_pgbin_init(a = &s[1].a, VT_OID_INT4, 0);
	CHECK_INT(vt_pgbin_i32(a, 7), 0);
	CHECK_INT(vt_pgbin_i32(a, -2), 0);

	s[2] = (struct sample){ .type = "text[]", .oid = VT_OID_TEXT_ARR,
				.text = "{\"a\\\"\",NULL,\"\"}" };
	vt_pgbin_init(a = &s[2].a, VT_OID_TEXT, 0);
	CHECK_INT(vt_pgbin_bytes(a, "a\"", 2), 0);
	CHECK_INT(vt_pgbin_null(a), 0);
	CHECK_INT(vt_pgbin_bytes(a, "", 0), 0);

	s[3] = (struct sample){ .type = "inet[]", .oid = VT_OID_INET_ARR,
				.text = "{192.0.2.1,2001:db8::1}" };
	vt_pgbin_init(a = &s[3].a, VT_OID_INET, 0);
	CHECK_INT(vt_pgbin_inet(a, "192.0.2.1"), 0);
	CHECK_INT(vt_pgbin_inet(a, "2001:db8::1"), 0);
	CHECK_INT(vt_pgbin_inet(a, "not an address"), VT_EINVAL);
	CHECK_INT(vt_pgbin_inet(a, NULL), VT_EINVAL);
	CHECK_INT(vt_pgbin_inet(a, "10.0.0.0/8"), VT_EINVAL);

	s[4] = (struct sample){ .type = "timestamptz[]", .oid = VT_OID_TIMESTAMPTZ_ARR,
				.text = "{\"2000-01-01 00:00:01.5+00\"}" };
	vt_pgbin_init(a = &s[4].a, VT_OID_TIMESTAMPTZ, 0);
	CHECK_INT(vt_pgbin_ts_ms(a, 946684801500LL), 0);

	s[5] = (struct sample){ .type = "bigint[]", .oid = VT_OID_INT8_ARR,
				.text = "{-9223372036854775808,1700000000}" };
	vt_pgbin_init(a = &s[5].a, VT_OID_INT8, 0);
	CHECK_INT(vt_pgbin_i64(a, INT64_MIN), 0);
	CHECK_INT(vt_pgbin_i64(a, 1700000000LL), 0);

	/* bytea and a long element; the text form is only checked in length */
	s[6] = (struct sample){ .type = "bytea[]", .oid = VT_OID_BYTEA_ARR,
				.text = NULL };
	vt_pgbin_init(a = &s[6].a, VT_OID_BYTEA, 0);
	CHECK_INT(vt_pgbin_bytes(a, "\0\1\2", 3), 0);
	CHECK_INT(vt_pgbin_bytes(a, big, sizeof big - 1), 0);

	for (int i = 0; i < NARR; i++) {
		s[i].p = vt_pgbin_done(&s[i].a, &s[i].len);
		CHECK(s[i].p != NULL);
	}
}

static void layouts(const struct sample *s)
{
	CHECK(same(s[0].p, s[0].len, empty_int8, sizeof empty_int8));
	CHECK(same(s[1].p, s[1].len, int4_2, sizeof int4_2));
	CHECK(same(s[2].p, s[2].len, text_null, sizeof text_null));
	CHECK(same(s[3].p, s[3].len, inet_2, sizeof inet_2));
	CHECK(same(s[4].p, s[4].len, ts_1, sizeof ts_1));
	CHECK_INT(s[5].len, 20 + 2 * 12);
	CHECK_INT(s[6].len, 20 + 4 + 3 + 4 + 2999);
}

static void caps(void)
{
	struct vt_pgbin a;
	int len;

	vt_pgbin_init(&a, VT_OID_TEXT, 32);
	CHECK_INT(vt_pgbin_bytes(&a, "12345678", 8), 0);     /* 20 + 12 */
	CHECK_INT(vt_pgbin_bytes(&a, "x", 1), VT_ETOOBIG);
	vt_pgbin_free(&a);
	vt_pgbin_free(NULL);
	vt_pgbin_init(&a, VT_OID_TEXT, 0);
	CHECK(vt_pgbin_done(&a, &len) != NULL);
	CHECK_INT(len, 12);
	vt_pgbin_free(&a);
}

/* A COPY BINARY stream of two rows: (int4, text, inet, timestamptz, date,
 * int8, bytea) and the same with NULLs. */
static const unsigned char copy_2[] = {
	'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0,
	0, 0, 0, 0,  0, 0, 0, 0,
	0, 7,
	0, 0, 0, 4,  0xff, 0xff, 0xff, 0xfe,
	0, 0, 0, 2,  'a', '\t',
	0, 0, 0, 8,  2, 32, 0, 4,  192, 0, 2, 1,
	0, 0, 0, 8,  0, 0, 0, 0, 0, 0x16, 0xe3, 0x60,
	0, 0, 0, 4,  0xff, 0xff, 0xff, 0xff,      /* 1999-12-31 */
	0, 0, 0, 8,  0, 0, 0, 0, 0x65, 0x53, 0xf1, 0x00,
	0, 0, 0, 3,  0, 1, 2,
	0, 7,
	0, 0, 0, 4,  0, 0, 0, 1,
	0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff,
	0, 0, 0, 4,  0, 0, 0x20, 0xd3,          /* 2023-01-03: day 8403 */
	0xff, 0xff, 0xff, 0xff,
	0, 0, 0, 0,
	0xff, 0xff };

static const char *copy_build(struct vt_pgcopy *c, size_t *len)
{
	vt_pgcopy_init(c, 0);
	CHECK_INT(vt_pgcopy_row(c, 7), 0);
	CHECK_INT(vt_pgcopy_i32(c, -2), 0);
	CHECK_INT(vt_pgcopy_bytes(c, "a\t", 2), 0);
	CHECK_INT(vt_pgcopy_inet(c, "not an address"), VT_EINVAL);
	CHECK_INT(vt_pgcopy_inet(c, "192.0.2.1"), 0);
	CHECK_INT(vt_pgcopy_ts_ms(c, 946684801500LL), 0);
	CHECK_INT(vt_pgcopy_date(c, 946684800LL - 1), 0);
	CHECK_INT(vt_pgcopy_i64(c, 1700000000LL), 0);
	CHECK_INT(vt_pgcopy_bytes(c, "\0\1\2", 3), 0);
	CHECK_INT(vt_pgcopy_row(c, 7), 0);
	CHECK_INT(vt_pgcopy_i32(c, 1), 0);
	CHECK_INT(vt_pgcopy_null(c), 0);
	CHECK_INT(vt_pgcopy_null(c), 0);
	CHECK_INT(vt_pgcopy_null(c), 0);
	CHECK_INT(vt_pgcopy_date(c, 1672705000LL), 0);
	CHECK_INT(vt_pgcopy_null(c), 0);
	CHECK_INT(vt_pgcopy_bytes(c, "", 0), 0);
	CHECK_INT(c->rows, 2);
	return vt_pgcopy_done(c, len);
}

static void copy_layout(void)
{
	struct vt_pgcopy c;
	size_t len = 0;
	const char *p = copy_build(&c, &len);

	CHECK(p && len == sizeof copy_2 && !memcmp(p, copy_2, len));
	vt_pgcopy_free(&c);
	vt_pgcopy_free(NULL);
	vt_pgcopy_init(&c, 24);
	CHECK_INT(vt_pgcopy_row(&c, 1), 0);               /* 19 + 2 */
	CHECK_INT(vt_pgcopy_i32(&c, 1), VT_ETOOBIG);
	vt_pgcopy_free(&c);
}

/* The server loads the stream with COPY and shows it back as text. */
static void copy_roundtrip(PGconn *c)
{
	struct vt_pgcopy cp;
	size_t len = 0;
	const char *p = copy_build(&cp, &len);
	PGresult *r;

	PQclear(PQexec(c, "CREATE TEMP TABLE t_copy (i integer, s text,"
		       " a inet, t timestamptz, d date, b bigint, x bytea)"));
	r = vt_pg_copy_in(c, "COPY t_copy FROM STDIN (FORMAT binary)", p, len);
	CHECK(r && PQresultStatus(r) == PGRES_COMMAND_OK);
	PQclear(r);
	r = PQexec(c, "SELECT string_agg(concat_ws('|', i, s, a, t, d, b,"
		   " encode(x, 'hex')), ';' ORDER BY i) FROM t_copy");
	CHECK(PQresultStatus(r) == PGRES_TUPLES_OK);
	if (PQresultStatus(r) == PGRES_TUPLES_OK)
		CHECK_STR(PQgetvalue(r, 0, 0), "-2|a\t|192.0.2.1|2000-01-01 00:00:01.5+00|"
			  "1999-12-31|1700000000|000102;1|2023-01-03|");
	PQclear(r);
	/* a broken stream is refused, and the connection goes on */
	r = vt_pg_copy_in(c, "COPY t_copy FROM STDIN (FORMAT binary)", p, 25);
	CHECK(r && PQresultStatus(r) == PGRES_FATAL_ERROR);
	PQclear(r);
	r = PQexec(c, "SELECT count(*) FROM t_copy");
	CHECK(PQresultStatus(r) == PGRES_TUPLES_OK);
	if (PQresultStatus(r) == PGRES_TUPLES_OK)
		CHECK_STR(PQgetvalue(r, 0, 0), "2");
	PQclear(r);
	vt_pgcopy_free(&cp);
}

/* The server reads each array and sends it back through array_send. */
static void roundtrip(const char *conninfo, const struct sample *s)
{
	PGconn *c = PQconnectdb(conninfo);

	CHECK(PQstatus(c) == CONNECTION_OK);
	if (PQstatus(c) != CONNECTION_OK) {
		PQfinish(c);
		return;
	}
	PQexec(c, "SET TIME ZONE 'UTC'");
	for (int i = 0; i < NARR; i++) {
		char sql[200];
		const char *p[1] = { s[i].p };
		int len[1] = { s[i].len }, fmt[1] = { 1 };
		Oid type[1] = { s[i].oid };
		PGresult *r;

		snprintf(sql, sizeof sql, "SELECT array_send($1::%s), $1::%s::text,"
			 " cardinality($1::%s)", s[i].type, s[i].type, s[i].type);
		r = PQexecParams(c, sql, 1, type, p, len, fmt, 1);
		CHECK(PQresultStatus(r) == PGRES_TUPLES_OK);
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			printf("# %s: %s", s[i].type, PQresultErrorMessage(r));
			PQclear(r);
			continue;
		}
		CHECK(same(PQgetvalue(r, 0, 0), PQgetlength(r, 0, 0),
			   (const unsigned char *)s[i].p, (size_t)s[i].len));
		if (s[i].text) {
			char t[200];
			int n = PQgetlength(r, 0, 1);

			snprintf(t, sizeof t, "%.*s", n, PQgetvalue(r, 0, 1));
			CHECK_STR(t, s[i].text);
		}
		PQclear(r);
	}
	copy_roundtrip(c);
	PQfinish(c);
}

int main(int argc, char **argv)
{
	struct sample s[NARR];

	build(s);
	layouts(s);
	caps();
	copy_layout();
	if (argc > 1)
		roundtrip(argv[1], s);
	for (int i = 0; i < NARR; i++)
		vt_pgbin_free(&s[i].a);
	return CHECK_DONE();
}
