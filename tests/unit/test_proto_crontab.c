/* test_proto_crontab.c - crontab lines, from the table in
 * tests/data/proto/crontab_lines.txt. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "proto/crontab.h"

static int code(const char *name)
{
	if (strcmp(name, "EPARSE") == 0)
		return VT_EPARSE;
	if (strcmp(name, "ETOOBIG") == 0)
		return VT_ETOOBIG;
	return 99;
}

static void test_table(void)
{
	FILE *f = fopen("tests/data/proto/crontab_lines.txt", "r");
	char row[2048];
	int rows = 0;

	CHECK(f != NULL);
	if (!f)
		return;
	while (fgets(row, sizeof row, f)) {
		struct vt_cron_line l, back;
		struct vt_buf b;
		char *bar = strstr(row, " | "), *line;
		long long iv, st, en, sp, msm;
		int uni, r;

		if (row[0] == '#' || !bar)
			continue;
		*bar = '\0';
		line = bar + 3;
		line[strcspn(line, "\n")] = '\0';
		rows++;
		r = vt_cron_line_parse(line, strlen(line), &l);
		if (sscanf(row, "%lld %lld %lld %d %lld %lld", &iv, &st, &en, &uni, &sp, &msm) != 6) {
			if (r != code(row))
				printf("# %s\n", line);
			CHECK_INT(r, code(row));
			continue;
		}
		if (r != 0)
			printf("# %s\n", line);
		CHECK_INT(r, VT_OK);
		CHECK_INT(l.interval, iv);
		CHECK_INT(l.start, st);
		CHECK_INT(l.end, en);
		CHECK_INT(l.uniform, uni);
		CHECK_INT(l.spread, sp);
		CHECK_INT(vt_cron_msm_id(l.command), msm);
		/* format and parse again: the same job */
		vt_buf_init(&b, 4096);
		CHECK_INT(vt_cron_line_format(&l, &b), VT_OK);
		CHECK_INT(vt_cron_line_parse(b.data, b.len, &back), VT_OK);
		CHECK(vt_cron_same_job(&l, &back));
		CHECK_INT(back.end, l.end);
		CHECK_INT(back.spread, l.spread);
		CHECK_INT(back.uniform, l.uniform);
		vt_buf_free(&b);
	}
	fclose(f);
	CHECK(rows >= 15);
}

static void test_same_job(void)
{
	struct vt_cron_line a, b;
	struct vt_buf out;

	CHECK_INT(vt_cron_line_parse("240 100 200 UNIFORM 240 evping -4 -A 1 192.0.2.1\n", 49, &a), VT_OK);
	CHECK_STR(a.command, "evping -4 -A 1 192.0.2.1");
	CHECK_INT(vt_cron_line_parse("240 100 900 NONE 0 evping -4 -A 1 192.0.2.1", 43, &b), VT_OK);
	CHECK(vt_cron_same_job(&a, &b));          /* end time only */
	b.start = 101;
	CHECK(!vt_cron_same_job(&a, &b));
	b.start = 100;
	b.interval = 60;
	CHECK(!vt_cron_same_job(&a, &b));
	b.interval = 240;
	strcpy(b.command, "evping -4 -A 1 192.0.2.2");
	CHECK(!vt_cron_same_job(&a, &b));

	CHECK_INT(vt_cron_msm_id("evping -4 -A 1001 x"), 1001);
	CHECK_INT(vt_cron_msm_id("evping -4 -A"), -1);
	CHECK_INT(vt_cron_msm_id("evping -4 -A x1"), -1);
	CHECK_INT(vt_cron_msm_id("evping -4 -A1001 x"), -1);
	CHECK_INT(vt_cron_msm_id("evtdig \"-A\" 5 -A 7 x"), 7);
	CHECK_INT(vt_cron_msm_id(""), -1);
	CHECK_INT(vt_cron_msm_id(NULL), -1);

	vt_buf_init(&out, 0);
	a.command[0] = '\0';
	CHECK_INT(vt_cron_line_format(&a, &out), VT_EINVAL);
	strcpy(a.command, "x\ny");
	CHECK_INT(vt_cron_line_format(&a, &out), VT_EINVAL);
	strcpy(a.command, "x");
	a.interval = 0;
	CHECK_INT(vt_cron_line_format(&a, &out), VT_EINVAL);
	a.interval = 60;
	CHECK_INT(vt_cron_line_format(&a, &out), VT_OK);
	CHECK_STR(out.data, "60 100 200 UNIFORM 240 x");
	vt_buf_free(&out);
}

int main(void)
{
	test_table();
	test_same_job();
	return CHECK_DONE();
}
