/* file.h - whole files written so that a reader sees the old content or
 * the new, never a part. */
#ifndef VT_FILE_H
#define VT_FILE_H

#include <stddef.h>
#include "common/err.h"

/* Writes data to "path.tmp.PID", fsyncs it, renames it over path and
 * fsyncs the folder.  On failure nothing is left but the old path, and
 * errbuf says why (VT_EIO; VT_ETOOBIG for a path too long). */
int vt_file_replace(const char *path, const void *data, size_t len,
		    char *errbuf, size_t errlen) VT_WUR;

#endif
