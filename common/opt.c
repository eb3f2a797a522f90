/* opt.c - strict flag values (see opt.h). */
#include "opt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vt_num_parse(const char *s, long long min, long long max, long long *out)
{
	const char *d = s && *s == '-' ? s + 1 : s;
	char *end;
	long long v;

	if (!d || !*d || strspn(d, "0123456789") != strlen(d))
		return VT_EPARSE;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == ERANGE || v < min || v > max)
		return VT_ETOOBIG;
	if (errno || *end)
		return VT_EPARSE;
	*out = v;
	return VT_OK;
}

int vt_opt_num(const char *flag, const char *s, long long min, long long max,
	       long long *out, char *errbuf, size_t errlen)
{
	int rc = vt_num_parse(s, min, max, out);

	if (rc < 0 && errbuf && errlen)
		snprintf(errbuf, errlen, "%s: '%.40s' is not a whole number in "
			 "%lld..%lld", flag, s ? s : "", min, max);
	return rc;
}

int vt_opt_int(const char *flag, const char *s, int min, int max, int *out,
	       char *errbuf, size_t errlen)
{
	long long v;
	int rc = vt_opt_num(flag, s, min, max, &v, errbuf, errlen);

	if (rc == VT_OK)
		*out = (int)v;
	return rc;
}

int vt_opt_long(const char *flag, const char *s, long min, long max,
		long *out, char *errbuf, size_t errlen)
{
	long long v;
	int rc = vt_opt_num(flag, s, min, max, &v, errbuf, errlen);

	if (rc == VT_OK)
		*out = (long)v;
	return rc;
}

int vt_opt_value(const char *flag, const char *s, char *errbuf, size_t errlen)
{
	if (s && *s && *s != '-')
		return VT_OK;
	if (errbuf && errlen)
		snprintf(errbuf, errlen, "%s needs a value", flag);
	return VT_EINVAL;
}
