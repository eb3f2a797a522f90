/* Unit tests of the config parser (common/conf.h) and of options read from
 * a config file and the command line (common/optconf.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "common/conf.h"
#include "common/log.h"
#include "common/optconf.h"

/* parse_err TEXT: the error of parsing TEXT ("" when it parses). */
static const char *parse_err(const char *text)
{
	static char err[256];
	struct vt_conf *c = NULL;

	err[0] = '\0';
	if (vt_conf_parse("f.conf", text, strlen(text), &c, err, sizeof err) == 0)
		err[0] = '\0';
	vt_conf_free(c);
	return err;
}

static void test_parse(void)
{
	static const char text[] =
		"# a comment\r\n"
		"\n"
		"  db = host=/run/pg password=a#b   # the database\n"
		"reg_port=22\r\n"
		"\t empty =\n"
		"#x = 1\n"
		"log-level = debug";
	struct vt_conf *c = NULL;
	const char *k, *v;
	char err[256] = "";
	int line;

	CHECK_INT(vt_conf_parse("t", text, strlen(text), &c, err, sizeof err), VT_OK);
	CHECK_INT(vt_conf_count(c), 4);
	CHECK_INT(vt_conf_item(c, 0, &k, &v, &line), VT_OK);
	CHECK_STR(k, "db");
	CHECK_STR(v, "host=/run/pg password=a#b");
	CHECK_INT(line, 3);
	CHECK_INT(vt_conf_item(c, 1, &k, &v, &line), VT_OK);
	CHECK_STR(v, "22");
	CHECK_INT(line, 4);
	CHECK_INT(vt_conf_item(c, 2, &k, &v, &line), VT_OK);
	CHECK_STR(k, "empty");
	CHECK_STR(v, "");
	CHECK_INT(vt_conf_item(c, 3, &k, &v, &line), VT_OK);
	CHECK_STR(k, "log-level");
	CHECK_INT(line, 7);
	CHECK_INT(vt_conf_item(c, 4, &k, &v, &line), VT_ENOTFOUND);
	vt_conf_free(c);

	CHECK_STR(parse_err("a = 1\nnot a pair\n"), "f.conf:2: expected 'key = value'");
	CHECK_STR(parse_err(" = 1\n"), "f.conf:1: empty key");
	CHECK(strstr(parse_err("a = 1\n\nb c = 2\n"), "f.conf:3: bad key 'b c'") != NULL);
	CHECK_STR(parse_err("a = 1\n\na = 2\n"), "f.conf:3: 'a' is set again (line 1)");
	CHECK_STR(parse_err("a = 1\nb = 2\0\n"), "");   /* strlen stops at NUL */
	{
		static const char nul[] = "a = 1\nb = 2\0x\n";
		struct vt_conf *n = NULL;

		CHECK_INT(vt_conf_parse("f.conf", nul, sizeof nul - 1, &n, err,
					sizeof err), VT_EPARSE);
		CHECK_STR(err, "f.conf:2: NUL byte");
		CHECK(n == NULL);
	}
	CHECK_STR(parse_err(""), "");
	CHECK_STR(parse_err("# only\n   \n"), "");
}

static const struct option opts[] = {
	{ "db", required_argument, NULL, 'd' },
	{ "batch", required_argument, NULL, 'b' },
	{ "batch-bytes", required_argument, NULL, 'B' },
	{ "once", no_argument, NULL, '1' },
	{ "level", optional_argument, NULL, 'l' },
	VT_OPTCONF_OPTIONS,
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

/* argv_of "a b c" into args (a copy of s split at blanks); the count. */
static int argv_of(const char *s, char *copy, size_t len, char **args, int max)
{
	int n = 0;

	snprintf(copy, len, "%s", s);
	for (char *t = strtok(copy, " "); t && n < max - 1; t = strtok(NULL, " "))
		args[n++] = t;
	args[n] = NULL;
	return n;
}

/* run FILE_TEXT "ARGS": the options as "c=value@where;" (where: ":line" in
 * the file, or "prog"), or the error of vt_optconf_new. */
static char *run(const char *text, const char *flags)
{
	static char out[1024];
	static char path[] = "/tmp/test_conf_XXXXXX";
	struct vt_optconf *oc = NULL;
	char err[256], *args[16], copy[256], prog[] = "prog", config[] = "--config";
	int c, n, fd;

	strcpy(path, "/tmp/test_conf_XXXXXX");
	fd = mkstemp(path);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		snprintf(out, sizeof out, "cannot write %s", path);
		return out;
	}
	close(fd);
	n = argv_of(flags, copy, sizeof copy, args + 3, 13) + 3;
	args[0] = prog;
	args[1] = config;
	args[2] = path;
	out[0] = '\0';
	if (vt_optconf_new("prog", NULL, opts, "h", n, args, &oc, err,
			   sizeof err) < 0) {
		/* the temporary name is not part of what is compared */
		char *p = strstr(err, path);

		snprintf(out, sizeof out, "%s", p ? p + strlen(path) : err);
		goto done;
	}
	while ((c = vt_optconf_next(oc, NULL)) != -1) {
		const char *at = vt_optconf_at(oc);

		snprintf(out + strlen(out), sizeof out - strlen(out), "%c=%s@%s;",
			 c, optarg ? optarg : "",
			 strncmp(at, path, strlen(path)) ? at : at + strlen(path));
	}
	if (optind != n)        /* counted in the original argv */
		snprintf(out + strlen(out), sizeof out - strlen(out), "optind %d/%d",
			 optind, n);
	if (vt_optconf_checking(oc))
		strncat(out, "check", sizeof out - strlen(out) - 1);
done:
	vt_optconf_free(oc);
	unlink(path);
	return out;
}

static void test_optconf(void)
{
	struct vt_optconf *oc = NULL;
	char err[256], copy[128], *none[8];

	/* file first (with its lines), then the flags: flags win */
	CHECK_STR(run("db = x=1 y=2\n\nbatch_bytes = 9\nbatch = 5\n", "--batch 7 --once"),
		  "d=x=1 y=2@:1;B=9@:3;b=5@:4;b=7@prog;1=@prog;");
	/* flags without a value: yes/true sets, no/false leaves */
	CHECK_STR(run("once = yes\n", ""), "1=@:1;");
	CHECK_STR(run("once = true\n", ""), "1=@:1;");
	CHECK_STR(run("once = no\n", ""), "");
	CHECK_STR(run("once = false\n", ""), "");
	CHECK_STR(run("once = 1\n", ""),
		  ":1: once: '1' is not yes, no, true or false");
	/* an optional value may be empty; a required one may not */
	CHECK_STR(run("level =\n", ""), "l=@:1;");
	CHECK_STR(run("level = 3\n", ""), "l=3@:1;");
	CHECK_STR(run("\ndb =\n", ""), ":2: db: no value");
	/* unknown keys, and the keys that are not settings */
	CHECK_STR(run("# x\nbatchy = 1\n", ""),
		  ":2: unknown key 'batchy' (see prog --help)");
	CHECK_STR(run("config = /etc/x\n", ""),
		  ":1: unknown key 'config' (see prog --help)");
	CHECK_STR(run("help = yes\n", ""),
		  ":1: unknown key 'help' (see prog --help)");
	CHECK_STR(run("check-config = yes\n", ""),
		  ":1: unknown key 'check-config' (see prog --help)");
	/* syntax errors come with the line */
	CHECK_STR(run("db = x\nbatch\n", ""), ":2: expected 'key = value'");
	/* --log-format: checked in the file and on the command line */
	CHECK_STR(run("log-format = xml\n", ""),
		  ":1: log-format: 'xml' is not text or json");
	CHECK_STR(run("log_format = json\n", ""), "");
	vt_log_format(VT_LOG_TEXT);
	CHECK_STR(run("", "--log-format yaml"), "prog: --log-format: 'yaml' is not text or json");
	CHECK_STR(run("", "--check-config"), "check");

	/* --config that does not exist; no --config and no default file */
	CHECK_INT(argv_of("prog --batch 3", copy, sizeof copy, none, 8), 3);
	CHECK_INT(vt_optconf_new("prog", "/nonexistent/prog.conf", opts, "h", 3,
				 none, &oc, err, sizeof err), VT_OK);
	CHECK(vt_optconf_path(oc) == NULL);
	CHECK_INT(vt_optconf_next(oc, NULL), 'b');
	CHECK_STR(vt_optconf_at(oc), "prog");
	CHECK_INT(vt_optconf_next(oc, NULL), -1);
	CHECK_INT(optind, 3);
	vt_optconf_free(oc);
	CHECK_INT(argv_of("prog --config /nonexistent/x.conf", copy, sizeof copy,
			  none, 8), 3);
	CHECK(vt_optconf_new("prog", NULL, opts, "h", 3, none, &oc, err,
			     sizeof err) < 0);
	CHECK_STR(err, "/nonexistent/x.conf: No such file or directory");
	CHECK_INT(vt_optconf_fail(oc, "%s", err), 2);
	vt_optconf_free(oc);
	/* a default file that exists is read; the exit code with --check-config */
	{
		char def[] = "/tmp/test_conf_def_XXXXXX";
		int fd = mkstemp(def);

		CHECK(fd >= 0 && write(fd, "once = yes\n", 11) == 11);
		close(fd);
		CHECK_INT(argv_of("prog --check-config", copy, sizeof copy, none, 8), 2);
		CHECK_INT(vt_optconf_new("prog", def, opts, "h", 2, none, &oc, err,
					 sizeof err), VT_OK);
		CHECK_STR(vt_optconf_path(oc), def);
		CHECK_INT(vt_optconf_next(oc, NULL), '1');
		CHECK_STR(vt_optconf_at(oc), strcat(strcpy(err, def), ":1"));
		CHECK_INT(vt_optconf_next(oc, NULL), -1);
		CHECK_INT(vt_optconf_fail(oc, "refused"), 1);
		vt_optconf_free(oc);
		unlink(def);
	}
}

/* A daemon's reload: vt_optconf_reread. */
static const struct option ropts[] = {
	{ "db", required_argument, NULL, 'd' },
	{ "batch", required_argument, NULL, 'b' },
	{ "once", no_argument, NULL, '1' },
	{ "log-level", required_argument, NULL, 'L' },
	VT_OPTCONF_OPTIONS,
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

struct seen {
	char keys[128];
	int batch;
};

static int seen_check(void *arg, const char *key, const char *val, char *why,
		      size_t len)
{
	struct seen *s = arg;

	snprintf(s->keys + strlen(s->keys), sizeof s->keys - strlen(s->keys),
		 "%s=%s;", key, val);
	if (!strcmp(key, "batch") && !strcmp(val, "0"))
		return vt_err_set(VT_EINVAL, why, len, "--batch: 0 is too few");
	if (!strcmp(key, "batch"))
		s->batch = atoi(val);
	return VT_OK;
}

/* reread FILE_TEXT "FLAGS": the keys the check saw, then " -> " and
 * errbuf (the file's name cut out), or "!" and errbuf on refusal. */
static char *reread(const char *text, const char *flags)
{
	static const char *const keys[] = { "log-level", "batch", NULL };
	static char out[512];
	char path[] = "/tmp/test_conf_rl_XXXXXX", err[256], copy[256], *args[16];
	char prog[] = "prog", config[] = "--config", *p;
	struct seen s = { "", -1 };
	int fd = mkstemp(path), n, r;

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return strcpy(out, "cannot write");
	close(fd);
	n = argv_of(flags, copy, sizeof copy, args + 3, 13) + 3;
	args[0] = prog;
	args[1] = config;
	args[2] = path;
	r = vt_optconf_reread("prog", NULL, ropts, "h", keys, n, args, seen_check,
			      &s, err, sizeof err);
	p = strstr(err, path);
	snprintf(out, sizeof out, "%s%s%s", r < 0 ? "!" : s.keys,
		 r < 0 ? "" : " -> ", p ? p + strlen(path) : err);
	unlink(path);
	return out;
}

static void test_reread(void)
{
	/* only the reloadable keys come back; the flags still win */
	CHECK_STR(reread("db = x\nbatch = 5\nonce = yes\nlog_level = debug\n", ""),
		  "batch=5; -> , log level debug");
	CHECK_STR(reread("batch = 5\n", "--batch 7 --db y"),
		  "batch=5;batch=7; -> , log level info");
	/* refused with file:line: a bad value of a reloadable key, a bad
	 * level, an unknown key, a line that does not parse */
	CHECK_STR(reread("db = x\nbatch = 0\n", ""), "!:2: --batch: 0 is too few");
	CHECK_STR(reread("\nlog_level = loud\n", ""),
		  "!:2: --log-level: 'loud' is not err, warn, info or debug");
	CHECK_STR(reread("batch = 3\n\nbatchy = 1\n", ""),
		  "!:3: unknown key 'batchy' (see prog --help)");
	CHECK_STR(reread("batch = 3\nbatch\n", ""), "!:2: expected 'key = value'");
	/* a key that needs a restart is not looked at by a reload */
	CHECK_STR(reread("once = yes\n", ""), " -> , log level info");
}

int main(void)
{
	test_parse();
	test_optconf();
	test_reread();
	return CHECK_DONE();
}
