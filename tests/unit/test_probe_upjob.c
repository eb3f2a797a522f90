/* test_probe_upjob.c - the condmv and httppost parsers (probe/upjob.h):
 * the lines the gateway pushes, path mapping onto the spool, and every
 * kind of refusal. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "probe/upjob.h"

#define ROOT "/var/spool/vp"

static int parse(const char *cmd, struct vt_upjob *u, char *err, size_t n)
{
	return vt_upjob_parse(cmd, strlen(cmd), ROOT, u, err, n);
}

/* 1 when cmd is refused (VT_EPARSE) with a reason containing want. */
static int refused(const char *cmd, const char *want)
{
	struct vt_upjob u;
	char err[200];
	int rc = parse(cmd, &u, err, sizeof err);

	if (rc != VT_EPARSE || !strstr(err, want) || u.kind != 0) {
		printf("# %s: rc %d, err '%s'\n", cmd, rc, err);
		return 0;
	}
	return 1;
}

static void test_condmv(void)
{
	struct vt_upjob u;
	char err[200];

	/* the gateway's line */
	CHECK_INT(parse("condmv /home/atlas/data/new/2 /home/atlas/data/out/2",
			&u, err, sizeof err), VT_OK);
	CHECK_INT(u.kind, VT_UPJOB_CONDMV);
	CHECK_STR(u.src, ROOT "/data/new/2");
	CHECK_STR(u.dst_name, "2");
	CHECK_INT(u.src_is_dir, 0);

	CHECK_INT(parse("condmv -f /home/atlas/data/new/7 /home/atlas/data/out/x",
			&u, err, sizeof err), VT_OK);
	CHECK_STR(u.dst_name, "x");
	/* folders: every file, each keeping its name */
	CHECK_INT(parse("condmv /home/atlas/data/new /home/atlas/data/out",
			&u, err, sizeof err), VT_OK);
	CHECK_INT(u.src_is_dir, 1);
	CHECK_STR(u.dst_name, "");
	CHECK_INT(parse("condmv \"/home/atlas/data/new/a b\" /home/atlas/data/out",
			&u, err, sizeof err), VT_OK);
	CHECK_STR(u.src, ROOT "/data/new/a b");

	CHECK(refused("condmv", "needs a source and a target"));
	CHECK(refused("condmv /home/atlas/data/new/2", "needs a source"));
	CHECK(refused("condmv /home/atlas/data/new/2 /home/atlas/data/out/2 /x",
		      "more than two"));
	CHECK(refused("condmv -A 9999 /home/atlas/data/new/2 /home/atlas/data/out/2",
		      "unknown option -A"));
	CHECK(refused("condmv /tmp/2 /home/atlas/data/out/2", "source /tmp/2"));
	CHECK(refused("condmv /home/atlas/data/new/../../etc/passwd "
		      "/home/atlas/data/out/2", "source"));
	CHECK(refused("condmv /home/atlas/data/new/a/b /home/atlas/data/out/2",
		      "source"));
	CHECK(refused("condmv /home/atlas/data/new/.hidden /home/atlas/data/out/2",
		      "source"));
	CHECK(refused("condmv /home/atlas/crons/2 /home/atlas/data/out/2",
		      "source"));
	CHECK(refused("condmv /home/atlas/data/new/2 /home/atlas/data/new/3",
		      "target"));
	CHECK(refused("condmv /home/atlas/data/new/2 /home/atlas/data/out/",
		      "target"));
	CHECK(refused("condmv /home/atlas/data/new/2 /home/atlas/data/outx",
		      "target"));
	CHECK(refused("condmv /home/atlas/data/new/2 /home/atlas/data/out/\"\"",
		      "target"));
	CHECK(refused("condmv \"/home/atlas/data/new/2", "not a command line"));
}

static void test_httppost(void)
{
	struct vt_upjob u;
	char err[200];
	const char *gw = "httppost -A 9015 --delete-file --post-header "
		"/home/atlas/status/p_to_c_report_header --post-dir "
		"/home/atlas/data/out --post-footer "
		"/home/atlas/status/con_session_id.txt -O "
		"/home/atlas/data/new/httppost_sent.vol "
		"http://127.0.0.1:8080/?PROBE_ID=1234&SESSION_ID=00ab12cd";

	/* the gateway's line */
	CHECK_INT(parse(gw, &u, err, sizeof err), VT_OK);
	CHECK_INT(u.kind, VT_UPJOB_HTTPPOST);
	CHECK_STR(u.post_dir, ROOT "/data/out");
	CHECK_INT(u.msm_id, 9015);
	CHECK_INT(u.probe_id, 1234);
	CHECK_STR(u.session_id, "00ab12cd");
	CHECK_INT(u.delete_file, 1);
	CHECK_STR(vt_upjob_name(u.kind), "httppost");

	/* the least: a post dir and the sink; options after the URL too */
	CHECK_INT(parse("httppost http://127.0.0.1:8080/ --post-dir "
			"/home/atlas/data/out", &u, err, sizeof err), VT_OK);
	CHECK_INT(u.probe_id, 0);
	CHECK_STR(u.session_id, "");
	CHECK_INT(u.delete_file, 0);
	CHECK_INT(parse("httppost --set-time 3600 --post-dir /home/atlas/data/out "
			"http://localhost:8080/?SRC=oneoff&PROBE_ID=7", &u, err,
			sizeof err), VT_OK);
	CHECK_INT(u.probe_id, 7);

	CHECK(refused("httppost --bogus 1 --post-dir /home/atlas/data/out "
		      "http://127.0.0.1:8080/", "unknown option --bogus"));
	CHECK(refused("httppost --post-file /home/atlas/data/new/x --post-dir "
		      "/home/atlas/data/out http://127.0.0.1:8080/",
		      "unknown option --post-file"));
	CHECK(refused("httppost http://127.0.0.1:8080/", "no --post-dir"));
	CHECK(refused("httppost --post-dir /home/atlas/data/out", "no URL"));
	CHECK(refused("httppost --post-dir", "needs a value"));
	CHECK(refused("httppost -A x --post-dir /home/atlas/data/out "
		      "http://127.0.0.1:8080/", "bad -A"));
	CHECK(refused("httppost --post-dir /home/atlas/data/new "
		      "http://127.0.0.1:8080/", "--post-dir"));
	CHECK(refused("httppost --post-dir /var/tmp http://127.0.0.1:8080/",
		      "--post-dir"));
	CHECK(refused("httppost --post-dir /home/atlas/data/out/x "
		      "http://127.0.0.1:8080/", "--post-dir"));
	CHECK(refused("httppost --post-header /etc/shadow --post-dir "
		      "/home/atlas/data/out http://127.0.0.1:8080/",
		      "--post-header /etc/shadow"));
	CHECK(refused("httppost -O /home/atlas/../x --post-dir "
		      "/home/atlas/data/out http://127.0.0.1:8080/", "-O"));
	CHECK(refused("httppost --post-dir /home/atlas/data/out "
		      "http://192.0.2.1:8080/", "local sink"));
	CHECK(refused("httppost --post-dir /home/atlas/data/out "
		      "https://127.0.0.1:8080/", "local sink"));
	CHECK(refused("httppost --post-dir /home/atlas/data/out "
		      "http://127.0.0.1:8080/x", "path must be /"));
	CHECK(refused("httppost --post-dir /home/atlas/data/out "
		      "http://127.0.0.1:8080/?FOO=1", "unknown URL key FOO"));
	CHECK(refused("httppost --post-dir /home/atlas/data/out "
		      "http://127.0.0.1:8080/?PROBE_ID=x", "bad PROBE_ID"));
	CHECK(refused("httppost --post-dir /home/atlas/data/out "
		      "http://127.0.0.1:8080/?SESSION_ID=z!", "bad SESSION_ID"));
	/* PROTOCOL.md: SESSION_ID is hex, at most 80 characters */
	{
		char line[512], sid[82];

		memset(sid, 'a', 80);
		sid[80] = '\0';
		snprintf(line, sizeof line, "httppost --post-dir /home/atlas/data/out "
			 "http://127.0.0.1:8080/?PROBE_ID=3&SESSION_ID=%s", sid);
		CHECK_INT(parse(line, &u, err, sizeof err), VT_OK);
		CHECK_STR(u.session_id, sid);
		CHECK_INT(u.probe_id, 3);
		strcat(sid, "b");
		snprintf(line, sizeof line, "httppost --post-dir /home/atlas/data/out "
			 "http://127.0.0.1:8080/?PROBE_ID=3&SESSION_ID=%s", sid);
		CHECK(refused(line, "too long"));
	}
	CHECK(refused("httppost --post-dir /home/atlas/data/out "
		      "http://127.0.0.1:8080/?PROBE_ID", "without '='"));
	CHECK(refused("httppost --post-dir /home/atlas/data/out "
		      "http://127.0.0.1:8080/?PROBE_ID=1&", "ends in '&'"));
	CHECK(refused("httppost --post-dir /home/atlas/data/out "
		      "http://127.0.0.1:8080/ http://127.0.0.1:8080/",
		      "more than one URL"));
}

static void test_others(void)
{
	struct vt_upjob u;
	char err[200], big[700];

	CHECK_INT(parse("evping -4 -A 1 192.0.2.1", &u, err, sizeof err),
		  VT_EUNSUPP);
	CHECK_INT(u.kind, 0);
	CHECK_INT(parse("", &u, err, sizeof err), VT_EUNSUPP);
	CHECK_INT(parse("httppostx --post-dir /home/atlas/data/out", &u, err,
			sizeof err), VT_EUNSUPP);
	memset(big, 'a', sizeof big - 1);
	memcpy(big, "condmv ", 7);
	big[sizeof big - 1] = '\0';
	CHECK_INT(parse(big, &u, err, sizeof err), VT_ETOOBIG);
	/* a root with a trailing slash maps the same */
	{
		const char *l = "condmv /home/atlas/data/new/2 /home/atlas/data/out";

		CHECK_INT(vt_upjob_parse(l, strlen(l), ROOT "/", &u, NULL, 0),
			  VT_OK);
	}
	CHECK_STR(u.src, ROOT "/data/new/2");
	CHECK_STR(vt_upjob_name(VT_UPJOB_CONDMV), "condmv");
}

int main(void)
{
	test_condmv();
	test_httppost();
	test_others();
	return CHECK_DONE();
}
