/* optconf.c - a daemon's settings from its config file and its flags
 * (see optconf.h). */
#include "optconf.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"

#define KEY_MAX 64

struct vt_optconf {
	const char *prog;
	const struct option *opts;
	const char *shortopts;
	char *path;             /* the file read, or NULL */
	int check;              /* --check-config */
	int argc;               /* of argv: argv[0], the file's, the flags */
	char **argv;
	int nfile;              /* argv[1..nfile] come from the file */
	int *lines;             /* their lines */
	int cur;                /* argv index of the option returned last */
	const char *const *keys;/* a reload's keys (vt_optconf_reload), or NULL */
	char where[512];
};

/* The entry of opts named name (with '_' read as '-'), or NULL. */
static const struct option *lookup(const struct option *opts, const char *key)
{
	char name[KEY_MAX];

	if (strlen(key) >= sizeof name)
		return NULL;
	for (size_t i = 0; (name[i] = key[i] == '_' ? '-' : key[i]); i++)
		;
	for (; opts->name; opts++)
		if (!strcmp(opts->name, name))
			return opts->val == VT_OPTCONF_CONFIG ||
			       opts->val == VT_OPTCONF_CHECK ||
			       !strcmp(name, "help") ? NULL : opts;
	return NULL;
}

static int bool_value(const char *v)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true"))
		return 1;
	if (!strcmp(v, "no") || !strcmp(v, "false"))
		return 0;
	return -1;
}

/* The first look at argv: --config, --check-config, a --log-format that
 * is wrong.  getopt permutes what it reads: it reads a copy. */
static int prescan(struct vt_optconf *oc, int argc, char **argv,
		   const char **config, char *errbuf, size_t errlen)
{
	char **copy = calloc((size_t)argc + 1, sizeof *copy);
	int c, r = VT_OK, saved = opterr;

	if (!copy)
		return VT_ENOMEM;
	memcpy(copy, argv, (size_t)argc * sizeof *copy);
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, copy, oc->shortopts, oc->opts, NULL)) != -1) {
		if (c == VT_OPTCONF_CONFIG) {
			*config = optarg;
		} else if (c == VT_OPTCONF_CHECK) {
			oc->check = 1;
		} else if (c == VT_OPTCONF_LOGFMT && vt_log_format_parse(optarg) < 0 &&
			   r == VT_OK) {   /* read on: --check-config may follow */
			r = vt_err_set(VT_EINVAL, errbuf, errlen, "%s: --log-format: "
				       "'%.40s' is not text or json", oc->prog, optarg);
		}
	}
	opterr = saved;
	optind = 0;
	free(copy);
	return r;
}

/* The file's item i as an argument ("--key=value", "--key" or NULL for
 * a flag set to no) in *arg. */
static int file_arg(struct vt_optconf *oc, const char *key, const char *val,
		    int line, char **arg, char *errbuf, size_t errlen)
{
	const struct option *o = lookup(oc->opts, key);
	int b;

	*arg = NULL;
	if (!o)
		return vt_err_set(VT_EINVAL, errbuf, errlen, "%s:%d: unknown key "
				  "'%.64s' (see %s --help)", oc->path, line, key,
				  oc->prog);
	if (o->has_arg == no_argument) {
		if ((b = bool_value(val)) < 0)
			return vt_err_set(VT_EINVAL, errbuf, errlen, "%s:%d: %s: "
					  "'%.40s' is not yes, no, true or false",
					  oc->path, line, key, val);
		if (b && asprintf(arg, "--%s", o->name) < 0)
			return VT_ENOMEM;
		return VT_OK;
	}
	if (!*val && o->has_arg == required_argument)
		return vt_err_set(VT_EINVAL, errbuf, errlen, "%s:%d: %s: no value",
				  oc->path, line, key);
	if (o->val == VT_OPTCONF_LOGFMT && vt_log_format_parse(val) < 0)
		return vt_err_set(VT_EINVAL, errbuf, errlen, "%s:%d: %s: '%.40s' "
				  "is not text or json", oc->path, line, key, val);
	if ((*val ? asprintf(arg, "--%s=%s", o->name, val) :
		    asprintf(arg, "--%s", o->name)) < 0)
		return VT_ENOMEM;
	return VT_OK;
}

/* Reads the file's items into argv[1..] (arguments) and lines. */
static int read_file(struct vt_optconf *oc, int argc, char **argv,
		     char *errbuf, size_t errlen)
{
	struct vt_conf *file = NULL;
	size_t n;
	int r;

	if (oc->path) {
		if ((r = vt_conf_load(oc->path, &file, errbuf, errlen)) < 0)
			return r;
	}
	n = vt_conf_count(file);
	oc->argv = calloc(n + (size_t)argc + 1, sizeof *oc->argv);
	oc->lines = calloc(n + 1, sizeof *oc->lines);
	if (!oc->argv || !oc->lines) {
		r = VT_ENOMEM;
		goto out;
	}
	oc->argv[oc->argc++] = argv[0];
	for (size_t i = 0; i < n; i++) {
		const char *key, *val;
		char *arg;
		int line;

		if ((r = vt_conf_item(file, i, &key, &val, &line)) < 0 ||
		    (r = file_arg(oc, key, val, line, &arg, errbuf, errlen)) < 0)
			goto out;
		if (!arg)
			continue;
		oc->lines[oc->nfile] = line;
		oc->argv[oc->argc++] = arg;
		oc->nfile++;
	}
	for (int i = 1; i < argc; i++)
		oc->argv[oc->argc++] = argv[i];
	r = VT_OK;
out:
	vt_conf_free(file);
	return r;
}

int vt_optconf_new(const char *prog, const char *defpath,
		   const struct option *opts, const char *shortopts, int argc,
		   char **argv, struct vt_optconf **out, char *errbuf,
		   size_t errlen)
{
	struct vt_optconf *oc = calloc(1, sizeof *oc);
	const char *config = NULL;
	int r;

	if (!oc)
		return vt_err_set(VT_ENOMEM, errbuf, errlen, "%s: out of memory",
				  prog);
	oc->prog = prog;
	oc->opts = opts;
	oc->shortopts = shortopts;
	if ((r = prescan(oc, argc, argv, &config, errbuf, errlen)) < 0)
		goto out;
	if (!config && defpath && access(defpath, F_OK) == 0)
		config = defpath;
	if (config && !(oc->path = strdup(config))) {
		r = VT_ENOMEM;
		goto out;
	}
	r = read_file(oc, argc, argv, errbuf, errlen);
out:
	if (r == VT_ENOMEM)
		vt_err_set(r, errbuf, errlen, "%s: out of memory", prog);
	if (r < 0)
		oc->cur = -1;   /* errbuf says where: vt_optconf_fail adds nothing */
	*out = oc;
	return r;
}

void vt_optconf_free(struct vt_optconf *oc)
{
	if (!oc)
		return;
	for (int i = 1; oc->argv && i <= oc->nfile; i++)
		free(oc->argv[i]);
	free(oc->argv);
	free(oc->lines);
	free(oc->path);
	free(oc);
}

int vt_optconf_reload(const char *prog, const char *defpath,
		      const struct option *opts, const char *shortopts,
		      const char *const *keys, int argc, char **argv,
		      struct vt_optconf **out, char *errbuf, size_t errlen)
{
	int r = vt_optconf_new(prog, defpath, opts, shortopts, argc, argv, out,
			       errbuf, errlen);

	if (*out)
		(*out)->keys = keys;
	return r;
}

static const char *const level_names[] = { "err", "warn", "info", "debug" };

int vt_optconf_reread(const char *prog, const char *defpath,
		      const struct option *opts, const char *shortopts,
		      const char *const *keys, int argc, char **argv,
		      vt_optconf_check_fn check, void *arg, char *errbuf,
		      size_t errlen)
{
	struct vt_optconf *oc = NULL;
	char why[256];
	int c, li, r, level = VT_LOG_INFO;

	if ((r = vt_optconf_reload(prog, defpath, opts, shortopts, keys, argc,
				   argv, &oc, errbuf, errlen)) < 0)
		goto out;
	while ((c = vt_optconf_next(oc, &li)) != -1) {
		const char *name = li >= 0 ? opts[li].name : "?";
		const char *val = optarg ? optarg : "yes";

		if (c == '?') {
			r = vt_err_set(VT_EINVAL, errbuf, errlen, "%s: a bad option",
				       vt_optconf_at(oc));
			goto out;
		}
		why[0] = 0;
		if (!strcmp(name, "log-level")) {
			if ((level = vt_log_level_parse(val)) < 0)
				r = vt_err_set(VT_EINVAL, why, sizeof why, "--log-level: "
					       "'%.40s' is not err, warn, info or "
					       "debug", val);
		} else if (check) {
			r = check(arg, name, val, why, sizeof why);
		}
		if (r < 0) {
			vt_err_set(r, errbuf, errlen, "%s: %s",
				   vt_optconf_at(oc), why);
			goto out;
		}
	}
	vt_log_init(prog, (enum vt_log_level)level);
	snprintf(errbuf, errlen, "%s, log level %s", oc->path ? oc->path :
		 "no configuration file", level_names[level]);
	r = VT_OK;
out:
	vt_optconf_free(oc);
	return r;
}

/* 1 when option c (longindex li) is one of oc->keys. */
static int reloadable(const struct vt_optconf *oc, int c, int li)
{
	const char *name = NULL;

	if (li >= 0)
		name = oc->opts[li].name;
	for (const struct option *o = oc->opts; !name && o->name; o++)
		if (o->val == c && !o->flag)
			name = o->name;
	for (const char *const *k = oc->keys; name && *k; k++)
		if (!strcmp(*k, name))
			return 1;
	return 0;
}

int vt_optconf_next(struct vt_optconf *oc, int *longindex)
{
	int c, li;

	for (;;) {
		li = -1;
		c = getopt_long(oc->argc, oc->argv, oc->shortopts, oc->opts, &li);
		if (longindex)
			*longindex = li;
		oc->cur = c == -1 ? 0 : optind - 1;
		if (c == -1)    /* "optind != argc" means what it did */
			optind -= oc->nfile;
		if (c != -1 && c != '?' && oc->keys && !reloadable(oc, c, li))
			continue;   /* a reload: the rest wants a restart */
		if (c == VT_OPTCONF_LOGFMT)
			vt_log_format(vt_log_format_parse(optarg));
		else if (c != VT_OPTCONF_CONFIG && c != VT_OPTCONF_CHECK)
			return c;
	}
}

const char *vt_optconf_at(struct vt_optconf *oc)
{
	if (!oc)
		return "vantage";
	if (oc->cur >= 1 && oc->cur <= oc->nfile) {
		snprintf(oc->where, sizeof oc->where, "%s:%d", oc->path,
			 oc->lines[oc->cur - 1]);
		return oc->where;
	}
	return oc->prog;
}

const char *vt_optconf_path(const struct vt_optconf *oc)
{
	return oc ? oc->path : NULL;
}

int vt_optconf_checking(const struct vt_optconf *oc)
{
	return oc && oc->check;
}

int vt_optconf_fail(struct vt_optconf *oc, const char *fmt, ...)
{
	va_list ap;

	if (!oc || oc->cur >= 0)
		fprintf(stderr, "%s: ", vt_optconf_at(oc));
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return vt_optconf_checking(oc) ? 1 : 2;
}

int vt_optconf_checked(const struct vt_optconf *oc)
{
	if (!vt_optconf_checking(oc))
		return 0;
	if (oc->path)
		printf("%s: %s: OK\n", oc->prog, oc->path);
	else
		printf("%s: no configuration file; the flags are OK\n", oc->prog);
	fflush(stdout);
	return 1;
}
