/* Tests of proto/enrich as data: tests/data/enrich/NAME.in is a result as a
 * probe writes it, NAME.env what the controller knows ("type prb_id from
 * group_id step stored"), NAME.out the stored result (byte for byte, or as
 * equal JSON when NAME.unordered exists: samples served by the API in
 * another key order). */
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/enrich.h"
#include "tests/unit/check.h"

#define DATA "tests/data/enrich"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	s = calloc(1, (size_t)n + 1);
	if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
		free(s);
		s = NULL;
	}
	fclose(f);
	while (s && n > 0 && s[n - 1] == '\n')
		s[--n] = '\0';
	return s;
}

static void run_case(const char *name)
{
	char path[512], type[32], from[64], err[256];
	char *in, *env, *want;
	struct vt_enrich e = { 0 };
	struct vt_result *r = NULL;
	struct vt_buf out;
	long long group, stored;
	long prb, step;

	snprintf(path, sizeof path, DATA "/%s.in", name);
	in = slurp(path);
	snprintf(path, sizeof path, DATA "/%s.env", name);
	env = slurp(path);
	snprintf(path, sizeof path, DATA "/%s.out", name);
	want = slurp(path);
	CHECK(in && env && want);
	if (!in || !env || !want)
		goto out;
	CHECK_INT(sscanf(env, "%31s %ld %63s %lld %ld %lld", type, &prb, from,
			 &group, &step, &stored), 6);
	e = (struct vt_enrich){ type, prb, strcmp(from, "-") ? from : NULL,
				group, step, stored };
	CHECK_INT(vt_result_parse(in, strlen(in), &r, err, sizeof err), VT_OK);
	if (!r)
		goto out;
	vt_buf_init(&out, 0);
	CHECK_INT(vt_result_enrich(r, &e, &out), VT_OK);
	snprintf(path, sizeof path, DATA "/%s.unordered", name);
	if (access(path, F_OK) == 0) {
		json_t *a = json_loads(out.data, 0, NULL), *b = json_loads(want, 0, NULL);

		if (!json_equal(a, b))
			printf("# %s:\n#  got  %s\n#  want %s\n", name, out.data, want);
		CHECK(a && b && json_equal(a, b));
		json_decref(a);
		json_decref(b);
	} else {
		if (strcmp(out.data, want))
			printf("# %s:\n#  got  %s\n#  want %s\n", name, out.data, want);
		CHECK_STR(out.data, want);
	}
	vt_buf_free(&out);
out:
	vt_result_free(r);
	free(in);
	free(env);
	free(want);
}

static void test_bad(void)
{
	static const char *const bad[] = {
		"", "[]", "{", "{\"time\":1}", "{\"id\":\"12x\",\"time\":1}",
		"{\"id\":\"1001\"}", "{\"id\":\"1001\",\"time\":\"x\"}",
		"{\"id\":1001,\"time\":1,\"time\":2}", "\"x\"", "{\"id\":-4,\"time\":5}",
	};
	struct vt_result *r = NULL;
	char err[256];

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		err[0] = '\0';
		CHECK_INT(vt_result_parse(bad[i], strlen(bad[i]), &r, err, sizeof err),
			  VT_EPARSE);
		CHECK(r == NULL && err[0] != '\0');
	}
	CHECK_INT(vt_result_parse("{\"id\":1001,\"time\":5}", 20, &r, err,
				  sizeof err), VT_OK);
	CHECK_INT(vt_result_msm_id(r), 1001);
	CHECK_INT(vt_result_time(r), 5);
	{
		struct vt_enrich e = { "bogus", 1, NULL, 0, 0, 1 };
		struct vt_buf b;

		vt_buf_init(&b, 0);
		CHECK_INT(vt_result_enrich(r, &e, &b), VT_EINVAL);
		vt_buf_free(&b);
	}
	vt_result_free(r);
	vt_result_free(NULL);
}

int main(void)
{
	DIR *d = opendir(DATA);
	struct dirent *de;
	int cases = 0;

	CHECK(d != NULL);
	while (d && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		char name[256];

		if (n < 4 || strcmp(de->d_name + n - 3, ".in") || n - 3 >= sizeof name)
			continue;
		memcpy(name, de->d_name, n - 3);
		name[n - 3] = '\0';
		run_case(name);
		cases++;
	}
	if (d)
		closedir(d);
	CHECK(cases >= 4);
	test_bad();
	return CHECK_DONE();
}
