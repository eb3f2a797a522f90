/* crontab.c - crontab lines (PROTOCOL.md, "Crontab lines"):
 *
 *   <interval_s> <start_unix> <end_unix> NONE|UNIFORM <spread_s> <command...> */
#include "proto/crontab.h"

#include <string.h>

#include "proto/text.h"

#define NUM_MAX_DIGITS 15

/* Next blank-separated field of s[0..n) from *i. */
static int field(const char *s, size_t n, size_t *i, const char **f, size_t *flen)
{
	size_t st;

	while (*i < n && vt_text_is_blank(s[*i]))
		(*i)++;
	st = *i;
	while (*i < n && !vt_text_is_blank(s[*i]))
		(*i)++;
	*f = s + st;
	*flen = *i - st;
	return *flen > 0;
}

/* Unsigned decimal of 1..NUM_MAX_DIGITS digits filling f[0..n). */
static int number(const char *f, size_t n, long long *out)
{
	long long v = 0;

	if (n == 0 || n > NUM_MAX_DIGITS)
		return VT_EPARSE;
	for (size_t i = 0; i < n; i++) {
		if (f[i] < '0' || f[i] > '9')
			return VT_EPARSE;
		v = v * 10 + (f[i] - '0');
	}
	*out = v;
	return VT_OK;
}

int vt_cron_line_parse(const char *line, size_t len, struct vt_cron_line *out)
{
	const char *f;
	size_t i = 0, n;
	long long v;

	memset(out, 0, sizeof *out);
	if (memchr(line, '\0', len))
		return VT_EPARSE;
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r' ||
		       vt_text_is_blank(line[len - 1])))
		len--;
	if (!field(line, len, &i, &f, &n) || number(f, n, &v) < 0 ||
	    v <= 0 || v > 0x7fffffffL)
		return VT_EPARSE;
	out->interval = (long)v;
	if (!field(line, len, &i, &f, &n) || number(f, n, &v) < 0)
		return VT_EPARSE;
	out->start = v;
	if (!field(line, len, &i, &f, &n) || number(f, n, &v) < 0)
		return VT_EPARSE;
	out->end = v;
	if (!field(line, len, &i, &f, &n))
		return VT_EPARSE;
	if (n == 7 && memcmp(f, "UNIFORM", 7) == 0)
		out->uniform = 1;
	else if (!(n == 4 && memcmp(f, "NONE", 4) == 0))
		return VT_EPARSE;
	if (!field(line, len, &i, &f, &n) || number(f, n, &v) < 0 || v > 0x7fffffffL)
		return VT_EPARSE;
	out->spread = (long)v;
	while (i < len && vt_text_is_blank(line[i]))
		i++;
	if (i == len)
		return VT_EPARSE;
	if (memchr(line + i, '\n', len - i) || memchr(line + i, '\r', len - i))
		return VT_EPARSE;
	if (len - i > VT_CMDLINE_MAX)
		return VT_ETOOBIG;
	memcpy(out->command, line + i, len - i);
	out->command[len - i] = '\0';
	return VT_OK;
}

int vt_cron_line_format(const struct vt_cron_line *l, struct vt_buf *out)
{
	size_t n = strnlen(l->command, sizeof l->command);

	if (l->interval <= 0 || l->start < 0 || l->end < 0 || l->spread < 0 ||
	    n == 0 || n > VT_CMDLINE_MAX || strpbrk(l->command, "\r\n") ||
	    vt_text_is_blank(l->command[0]))
		return VT_EINVAL;
	return vt_buf_addf(out, "%ld %lld %lld %s %ld %s", l->interval, l->start,
			   l->end, l->uniform ? "UNIFORM" : "NONE", l->spread,
			   l->command);
}

int vt_cron_same_job(const struct vt_cron_line *a, const struct vt_cron_line *b)
{
	return a->interval == b->interval && a->start == b->start &&
	       strcmp(a->command, b->command) == 0;
}

/* Next argument of a command line: blanks separate, "..." groups (the
 * quotes are not part of the argument).  *quoted says a quote was seen. */
static int next_arg(const char **p, const char **a, size_t *alen, int *quoted)
{
	const char *s = *p;

	while (vt_text_is_blank(*s))
		s++;
	if (!*s)
		return 0;
	*quoted = *s == '"';
	if (*quoted) {
		const char *q = strchr(s + 1, '"');

		*a = s + 1;
		*alen = q ? (size_t)(q - s - 1) : strlen(s + 1);
		*p = q ? q + 1 : s + 1 + *alen;
		return 1;
	}
	*a = s;
	while (*s && !vt_text_is_blank(*s))
		s++;
	*alen = (size_t)(s - *a);
	*p = s;
	return 1;
}

long vt_cron_msm_id(const char *command)
{
	const char *p = command, *a;
	size_t n;
	int quoted, want = 0;
	long long v;

	if (!command)
		return -1;
	while (next_arg(&p, &a, &n, &quoted)) {
		if (want)
			return number(a, n, &v) == 0 && v <= 0x7fffffffL ? (long)v : -1;
		want = !quoted && n == 2 && a[0] == '-' && a[1] == 'A';
	}
	return -1;
}
