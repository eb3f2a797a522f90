/* opt.h - values of command-line flags, checked strictly.
 *
 * Every binary reads its numeric flags through these, so "--batch x",
 * "--now 12abc" or "--interval ''" are refused with the flag's name
 * instead of silently becoming 0.  They print nothing: on failure errbuf
 * holds "FLAG: reason" for the caller to print. */
#ifndef VT_OPT_H
#define VT_OPT_H

#include <stddef.h>
#include "err.h"

/* Parses s as a whole decimal number in min..max: optional '-', then
 * digits only (no spaces, '+', hex or trailing bytes).  VT_EPARSE when it
 * is not one, VT_ETOOBIG when it is out of range. */
int vt_num_parse(const char *s, long long min, long long max,
		 long long *out) VT_WUR;

/* vt_num_parse for the value s of flag (e.g. "--batch"); on failure writes
 * "--batch: 'x' is not a whole number in 1..N" into errbuf. */
int vt_opt_num(const char *flag, const char *s, long long min, long long max,
	       long long *out, char *errbuf, size_t errlen) VT_WUR;
/* The same into an int (min and max must fit an int). */
int vt_opt_int(const char *flag, const char *s, int min, int max, int *out,
	       char *errbuf, size_t errlen) VT_WUR;
/* The same into a long. */
int vt_opt_long(const char *flag, const char *s, long min, long max,
		long *out, char *errbuf, size_t errlen) VT_WUR;

/* A flag that takes a text value (e.g. "--db"): refuses NULL, "" and a
 * value that starts with '-' (the flag lost its value to the next
 * option, as in "--db --once") with "--db needs a value". */
int vt_opt_value(const char *flag, const char *s, char *errbuf,
		 size_t errlen) VT_WUR;

#endif
