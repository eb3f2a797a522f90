/* conf.h - configuration: "key = value" files and the database setting.
 *
 * A config file holds one "key = value" per line; '#' starts a comment.
 * Command-line options override the file; the file overrides defaults. */
#ifndef VT_CONF_H
#define VT_CONF_H

#include <stddef.h>
#include "err.h"

struct vt_conf;

/* Reads a config file.  On a syntax error returns VT_EPARSE and writes
 * "file:line: reason" into errbuf. */
int vt_conf_load(const char *path, struct vt_conf **out, char *errbuf,
		 size_t errlen) VT_WUR;
/* Parses config text held in memory (name is used in error messages). */
int vt_conf_parse(const char *name, const char *text, size_t len,
		  struct vt_conf **out, char *errbuf, size_t errlen) VT_WUR;
void vt_conf_free(struct vt_conf *c);
/* Value of key, or def when absent.  The string belongs to the conf. */
const char *vt_conf_get(const struct vt_conf *c, const char *key,
			const char *def);
/* Integer value of key; VT_EPARSE when present but not an integer in range. */
int vt_conf_int(const struct vt_conf *c, const char *key, long def,
		long min, long max, long *out) VT_WUR;
/* Sets (or replaces) key. */
int vt_conf_set(struct vt_conf *c, const char *key, const char *value) VT_WUR;
struct vt_conf *vt_conf_new(void);

/* The libpq connection string: the --db argument when given, else
 * $VANTAGE_DB, else NULL.  A --db given without a value ("", or the next
 * option as in "--db --once") is NULL too, never $VANTAGE_DB: check it
 * with vt_opt_value (opt.h) to say so. */
const char *vt_conf_db(const char *arg);

#endif
