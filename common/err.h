/* err.h - one error enum for all of Vantage, with a message table.
 *
 * Functions return 0 (VT_OK) or a negative VT_E* code and hand results
 * through out-parameters.  Only the top of a program logs or exits. */
#ifndef VT_ERR_H
#define VT_ERR_H

#include <stddef.h>

#define VT_WUR __attribute__((warn_unused_result))

enum vt_err {
	VT_OK        =   0,
	VT_ENOMEM    =  -1,  /* allocation failed */
	VT_EINVAL    =  -2,  /* bad argument */
	VT_ETOOBIG   =  -3,  /* input or buffer over its cap */
	VT_EPARSE    =  -4,  /* malformed input */
	VT_EIO       =  -5,  /* system I/O error (see errno) */
	VT_EDB       =  -6,  /* database error */
	VT_EAGAIN    =  -7,  /* try again later (would block, busy) */
	VT_EAUTH     =  -8,  /* authentication or authorisation failed */
	VT_EPROTO    =  -9,  /* peer broke the protocol */
	VT_ENOTFOUND = -10,  /* no such object */
	VT_ETIMEOUT  = -11,  /* deadline passed */
	VT_ECLOSED   = -12,  /* peer closed the connection */
	VT_EEXIST    = -13,  /* object already exists */
	VT_ESSH      = -14,  /* SSH library error */
	VT_ELIMIT    = -15,  /* a configured limit was reached */
	VT_ECORRUPT  = -16,  /* stored data failed a check (CRC, length) */
	VT_EUNSUPP   = -17,  /* not supported */
	VT_ERR_MIN_  = -18
};

/* Returns a static, human-readable message for a VT_E* code (or "unknown error"). */
const char *vt_strerror(int err);

/* Writes the printf-style reason into errbuf (when it is not NULL) and
 * returns rc: `return vt_err_set(VT_EPARSE, err, errlen, "bad %s", x);`. */
int vt_err_set(int rc, char *errbuf, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
