/* conf.h - configuration: "key = value" files and the database setting.
 *
 * A config file holds one "key = value" per line: the key is letters,
 * digits, '-', '_' and '.'; the value is the rest of the line, its outer
 * blanks trimmed.  '#' at the start of a line or after a blank starts a
 * comment ("password=a#b" keeps its '#').  A key set twice is an error.
 * The daemons read theirs through optconf.h (keys = their long options). */
#ifndef VT_CONF_H
#define VT_CONF_H

#include <stddef.h>
#include "err.h"

struct vt_conf;

/* Reads a config file (at most 1 MiB).  On a syntax error returns
 * VT_EPARSE and writes "file:line: reason" into errbuf; VT_EIO when it
 * cannot be read ("file: reason"). */
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
/* The number of keys, and the i-th (0-based, in file order) with the line
 * it came from (0 for one set by vt_conf_set); the strings belong to the
 * conf.  VT_ENOTFOUND when i is past the end. */
size_t vt_conf_count(const struct vt_conf *c);
int vt_conf_item(const struct vt_conf *c, size_t i, const char **key,
		 const char **value, int *line) VT_WUR;
/* Sets (or replaces) key. */
int vt_conf_set(struct vt_conf *c, const char *key, const char *value) VT_WUR;
struct vt_conf *vt_conf_new(void);

/* The libpq connection string: the --db argument when given, else
 * $VANTAGE_DB, else NULL.  A --db given without a value ("", or the next
 * option as in "--db --once") is NULL too, never $VANTAGE_DB: check it
 * with vt_opt_value (opt.h) to say so. */
const char *vt_conf_db(const char *arg);

#endif
