/* upjob.c - strict parsers of the condmv and httppost crontab commands
 * (see upjob.h). */
#include "probe/upjob.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/cmdline.h"
#include "proto/dialogue.h"

/* A refusal: the reason into err, VT_EPARSE returned. */
#define fail(err, errlen, ...) vt_err_set(VT_EPARSE, err, errlen, __VA_ARGS__)

const char *vt_upjob_name(enum vt_upjob_kind kind)
{
	switch (kind) {
	case VT_UPJOB_CONDMV:   return "condmv";
	case VT_UPJOB_HTTPPOST: return "httppost";
	}
	return "?";
}

/* Where a legacy path lands: 1 for the folder dir itself, 2 for a plain
 * name directly in it (not starting with '.'; *name points at it), 0 for
 * anything else or a path that does not map. */
static int place(const char *legacy, const char *root, const char *dir,
		 const char **name)
{
	char path[PATH_MAX];
	size_t dl = strlen(dir);

	if (vt_dlg_map_path(legacy, root, path, sizeof path) != VT_OK ||
	    strncmp(path, dir, dl) != 0)
		return 0;
	if (path[dl] == '\0')
		return 1;
	if (path[dl] != '/' || path[dl + 1] == '\0' || path[dl + 1] == '.' ||
	    strchr(path + dl + 1, '/'))
		return 0;
	*name = legacy + strlen(legacy) - strlen(path + dl + 1);
	return 2;
}

/* A decimal number of 1..18 digits into *v. */
static int number(const char *s, long *v)
{
	size_t n = strspn(s, "0123456789");

	if (n == 0 || n > 18 || s[n])
		return -1;
	*v = strtol(s, NULL, 10);
	return 0;
}

static int parse_condmv(const struct vt_argv *a, const char *root,
			const char *new_dir, const char *out_dir,
			struct vt_upjob *out, char *err, size_t errlen)
{
	const char *ops[2], *name = NULL;
	int nops = 0, w;

	for (int i = 1; i < a->argc; i++) {
		const char *t = a->argv[i];

		if (t[0] == '-') {
			if (strcmp(t, "-f"))
				return fail(err, errlen, "condmv: unknown option %.40s", t);
			continue;
		}
		if (nops == 2)
			return fail(err, errlen, "condmv: more than two paths");
		ops[nops++] = t;
	}
	if (nops != 2)
		return fail(err, errlen, "condmv: needs a source and a target");
	w = place(ops[0], root, new_dir, &name);
	if (w == 0)
		return fail(err, errlen, "condmv: source %.80s is not "
			    "/home/atlas/data/new or a file in it", ops[0]);
	out->src_is_dir = w == 1;
	if (vt_dlg_map_path(ops[0], root, out->src, sizeof out->src) != VT_OK)
		return fail(err, errlen, "condmv: source path too long");
	w = place(ops[1], root, out_dir, &name);
	if (w == 0)
		return fail(err, errlen, "condmv: target %.80s is not "
			    "/home/atlas/data/out or a file in it", ops[1]);
	if (w == 2) {
		if (strlen(name) >= sizeof out->dst_name)
			return fail(err, errlen, "condmv: target name too long");
		snprintf(out->dst_name, sizeof out->dst_name, "%s", name);
	}
	out->kind = VT_UPJOB_CONDMV;
	return VT_OK;
}

/* The URL of httppost: the local sink, query keys PROBE_ID, SESSION_ID,
 * SRC only. */
static int parse_url(const char *u, struct vt_upjob *out, char *err,
		     size_t errlen)
{
	static const char *const prefixes[] = {
		"http://127.0.0.1:8080/", "http://localhost:8080/"
	};
	const char *p = NULL;

	for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
		if (!strncmp(u, prefixes[i], strlen(prefixes[i])))
			p = u + strlen(prefixes[i]);
	if (!p)
		return fail(err, errlen, "httppost: URL %.80s is not the local "
			    "sink http://127.0.0.1:8080/", u);
	if (*p == '\0')
		return VT_OK;
	if (*p != '?')
		return fail(err, errlen, "httppost: URL path must be /");
	p++;
	while (*p) {
		size_t n = strcspn(p, "&"), k = strcspn(p, "=");
		char val[VT_SESSION_ID_MAX + 1];     /* the longest value */

		if (k >= n)
			return fail(err, errlen, "httppost: URL query without '='");
		if (n - k - 1 >= sizeof val)
			return fail(err, errlen, "httppost: URL query value too long");
		memcpy(val, p + k + 1, n - k - 1);
		val[n - k - 1] = '\0';
		if (k == 8 && !strncmp(p, "PROBE_ID", 8)) {
			if (number(val, &out->probe_id) < 0)
				return fail(err, errlen, "httppost: bad PROBE_ID");
		} else if (k == 10 && !strncmp(p, "SESSION_ID", 10)) {
			if (*val && !vt_session_id_valid(val))
				return fail(err, errlen, "httppost: bad SESSION_ID");
			snprintf(out->session_id, sizeof out->session_id, "%s", val);
		} else if (k == 3 && !strncmp(p, "SRC", 3)) {
			if (strspn(val, "abcdefghijklmnopqrstuvwxyz") != strlen(val))
				return fail(err, errlen, "httppost: bad SRC");
		} else {
			return fail(err, errlen, "httppost: unknown URL key %.*s",
				    (int)(k < 40 ? k : 40), p);
		}
		p += n;
		if (*p == '&' && *++p == '\0')
			return fail(err, errlen, "httppost: URL ends in '&'");
	}
	return VT_OK;
}

static int parse_httppost(const struct vt_argv *a, const char *root,
			  const char *out_dir, struct vt_upjob *out, char *err,
			  size_t errlen)
{
	const char *url = NULL, *name;
	char path[PATH_MAX];
	long v;
	int have_dir = 0;

	for (int i = 1; i < a->argc; i++) {
		const char *t = a->argv[i], *arg = i + 1 < a->argc ?
			a->argv[i + 1] : NULL;

		if (t[0] != '-') {
			if (url)
				return fail(err, errlen, "httppost: more than one URL");
			url = t;
			continue;
		}
		if (!strcmp(t, "--delete-file")) {
			out->delete_file = 1;
			continue;
		}
		if (strcmp(t, "-A") && strcmp(t, "--post-header") &&
		    strcmp(t, "--post-footer") && strcmp(t, "--post-dir") &&
		    strcmp(t, "-O") && strcmp(t, "--set-time"))
			return fail(err, errlen, "httppost: unknown option %.40s", t);
		if (!arg)
			return fail(err, errlen, "httppost: %s needs a value", t);
		i++;
		if (!strcmp(t, "-A")) {
			if (number(arg, &out->msm_id) < 0)
				return fail(err, errlen, "httppost: bad -A");
		} else if (!strcmp(t, "--set-time")) {
			if (number(arg, &v) < 0)
				return fail(err, errlen, "httppost: bad --set-time");
		} else if (!strcmp(t, "--post-dir")) {
			if (place(arg, root, out_dir, &name) != 1)
				return fail(err, errlen, "httppost: --post-dir %.80s "
					    "is not /home/atlas/data/out", arg);
			have_dir = 1;
		} else if (vt_dlg_map_path(arg, root, path, sizeof path) != VT_OK) {
			return fail(err, errlen, "httppost: %s %.80s is not a "
				    "/home/atlas/ path", t, arg);
		}
	}
	if (!have_dir)
		return fail(err, errlen, "httppost: no --post-dir");
	if (!url)
		return fail(err, errlen, "httppost: no URL");
	if (parse_url(url, out, err, errlen) < 0)
		return VT_EPARSE;
	snprintf(out->post_dir, sizeof out->post_dir, "%s", out_dir);
	out->kind = VT_UPJOB_HTTPPOST;
	return VT_OK;
}

int vt_upjob_parse(const char *cmd, size_t len, const char *root,
		   struct vt_upjob *out, char *err, size_t errlen)
{
	struct vt_argv *a = NULL;
	char new_dir[PATH_MAX], out_dir[PATH_MAX];
	int rc;

	if (err && errlen)
		err[0] = '\0';
	memset(out, 0, sizeof *out);
	if (vt_dlg_map_path("/home/atlas/data/new", root, new_dir,
			    sizeof new_dir) != VT_OK ||
	    vt_dlg_map_path("/home/atlas/data/out", root, out_dir,
			    sizeof out_dir) != VT_OK)
		return fail(err, errlen, "spool root unusable");
	a = malloc(sizeof *a);
	if (!a)
		return VT_ENOMEM;
	rc = vt_cmd_tokenize(cmd, len, a);
	if (rc < 0) {
		if (rc == VT_EPARSE)
			fail(err, errlen, "not a command line");
		else if (err && errlen)
			snprintf(err, errlen, "command line too long");
		goto out;
	}
	if (a->argc > 0 && !strcmp(a->argv[0], "condmv"))
		rc = parse_condmv(a, root, new_dir, out_dir, out, err, errlen);
	else if (a->argc > 0 && !strcmp(a->argv[0], "httppost"))
		rc = parse_httppost(a, root, out_dir, out, err, errlen);
	else
		rc = VT_EUNSUPP;
	if (rc < 0)
		memset(out, 0, sizeof *out);
out:
	free(a);
	return rc;
}
