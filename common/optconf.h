/* optconf.h - a daemon's settings from its config file and its flags.
 *
 * The daemon's getopt_long table is the schema: each long option (but
 * config, check-config and help) is also a key of its config file (conf.h
 * syntax; '_' and '-' alike in keys), and a flag without a value takes
 * "yes", "no", "true" or "false" there.  The file's keys come out of
 * vt_optconf_next() first, as "--key=value" through the daemon's own
 * option handler, then the command line: flags override the file, and a
 * value the handler refuses from the file is refused as from a flag, with
 * "file:line" (vt_optconf_at).  Adding a flag adds its key.
 *
 * The file is --config FILE (which must exist), else the daemon's default
 * path when it exists.  VT_OPTCONF_OPTIONS adds --config, --check-config
 * and --log-format (text or json, log.h) to the table; vt_optconf_next()
 * handles them itself and never returns them. */
#ifndef VT_OPTCONF_H
#define VT_OPTCONF_H

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>

#include "err.h"

/* Where the daemons' files are: VT_CONF_DIR "/gateway.conf", ... */
#define VT_CONF_DIR "/etc/vantage"

#define VT_OPTCONF_CONFIG 0x10001
#define VT_OPTCONF_CHECK  0x10002
#define VT_OPTCONF_LOGFMT 0x10003
#define VT_OPTCONF_OPTIONS \
	{ "config", required_argument, NULL, VT_OPTCONF_CONFIG }, \
	{ "check-config", no_argument, NULL, VT_OPTCONF_CHECK }, \
	{ "log-format", required_argument, NULL, VT_OPTCONF_LOGFMT }
/* Their lines of --help; name is a string literal ("gateway"). */
#define VT_OPTCONF_HELP(name) \
"  --config FILE        settings file: 'key = value', a key per long option\n" \
"                       (default " VT_CONF_DIR "/" name ".conf when it exists)\n" \
"  --check-config       check the file and the flags, exit 0 (valid) or 1\n" \
"  --log-format F       text (default) or json: one object per line\n"

struct vt_optconf;

/* Reads argv for --config, --check-config and --log-format, reads the
 * file (defpath when no --config and it exists) and checks its keys
 * against opts.  opts and argv must outlive the optconf.  On error writes
 * "file:line: why" (or "prog: why") into errbuf and still sets *out (NULL
 * when out of memory) for `return vt_optconf_fail(oc, "%s", errbuf)`. */
int vt_optconf_new(const char *prog, const char *defpath,
		   const struct option *opts, const char *shortopts, int argc,
		   char **argv, struct vt_optconf **out, char *errbuf,
		   size_t errlen) VT_WUR;
void vt_optconf_free(struct vt_optconf *oc);

/* getopt_long over the file's keys, then argv (optarg, optind as
 * getopt_long sets them; longindex may be NULL); -1 at the end, optind
 * then counted in argv (optind < argc: operands are left; the daemons
 * take none). */
int vt_optconf_next(struct vt_optconf *oc, int *longindex);

/* For a reload (SIGHUP): as vt_optconf_new() with the same arguments
 * (the flags still override the file), reads the file afresh, checks
 * every key of it as at start, but vt_optconf_next() then returns only
 * the options named in keys (NULL-ended long names, such as
 * "log-level"); the others need a restart.  The daemon checks every
 * value into fresh variables and applies them only when all are good:
 * a bad file changes nothing, and vt_optconf_at() says file:line. */
int vt_optconf_reload(const char *prog, const char *defpath,
		      const struct option *opts, const char *shortopts,
		      const char *const *keys, int argc, char **argv,
		      struct vt_optconf **out, char *errbuf,
		      size_t errlen) VT_WUR;

/* A reload's check of a key other than log-level: value into the
 * daemon's fresh copy, or an error with why ("--key: ..."). */
typedef int (*vt_optconf_check_fn)(void *arg, const char *key,
				   const char *value, char *why, size_t len);
/* The whole reload: vt_optconf_reload() with keys, log-level checked
 * here, the other keys by check (may be NULL; a flag without a value
 * comes as "yes").  All good: sets the log level (info when the file no
 * longer names one) and writes "FILE, log level L" into errbuf; the
 * daemon then applies its copy.  Else errbuf says "file:line: --key:
 * why", the level is left alone, and the daemon drops its copy. */
int vt_optconf_reread(const char *prog, const char *defpath,
		      const struct option *opts, const char *shortopts,
		      const char *const *keys, int argc, char **argv,
		      vt_optconf_check_fn check, void *arg, char *errbuf,
		      size_t errlen) VT_WUR;

/* Where the option vt_optconf_next() returned last came from:
 * "file:line", or the program's name for a flag. */
const char *vt_optconf_at(struct vt_optconf *oc);
/* The file read, or NULL. */
const char *vt_optconf_path(const struct vt_optconf *oc);
/* 1 when --check-config was given. */
int vt_optconf_checking(const struct vt_optconf *oc);

/* For main() alone: prints "<where>: <message>" to stderr (vt_optconf_at)
 * and returns the exit code of a refused setting: 1 with --check-config,
 * else 2 (a usage error).  oc may be NULL (the program's name then). */
int vt_optconf_fail(struct vt_optconf *oc, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* For main() alone: with --check-config, prints "FILE: OK" (or "no
 * file, flags OK") and returns 1: main then exits 0.  Else returns 0. */
int vt_optconf_checked(const struct vt_optconf *oc);

#endif
