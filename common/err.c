#include "err.h"

#include <stdarg.h>
#include <stdio.h>

static const char *const messages[] = {
	[0]  = "success",
	[1]  = "out of memory",
	[2]  = "invalid argument",
	[3]  = "input too large",
	[4]  = "malformed input",
	[5]  = "I/O error",
	[6]  = "database error",
	[7]  = "resource temporarily unavailable",
	[8]  = "authentication failed",
	[9]  = "protocol violation",
	[10] = "not found",
	[11] = "timed out",
	[12] = "connection closed",
	[13] = "already exists",
	[14] = "SSH error",
	[15] = "limit reached",
	[16] = "data corrupted",
	[17] = "not supported",
};

const char *vt_strerror(int err)
{
	if (err > 0 || err <= VT_ERR_MIN_)
		return "unknown error";
	return messages[-err];
}

int vt_err_set(int rc, char *errbuf, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errbuf && errlen) {
		va_start(ap, fmt);
		vsnprintf(errbuf, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}
