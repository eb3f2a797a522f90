/* text.h - the line and blank handling the line-oriented wire texts share
 * (registration and controller INIT, uploads, crontab lines). */
#ifndef VT_PROTO_TEXT_H
#define VT_PROTO_TEXT_H

#include <stddef.h>

/* 1 for the blanks that separate fields: space and tab. */
int vt_text_is_blank(char c);

/* Length of s[0..n) without its trailing blanks and '\r's. */
size_t vt_text_rtrim(const char *s, size_t n);

/* The next line of buf[0..len) from *off, which moves past it: *line and
 * *llen get the line without its '\n' and without one '\r' before it.
 * With complete NULL the text is whole, and a '\r' ending an unterminated
 * last line is dropped as well; otherwise *complete says whether a '\n'
 * was found, and such a '\r' is kept (its '\n' may still be to come).
 * Returns 1, or 0 at the end. */
int vt_text_next_line(const char *buf, size_t len, size_t *off,
		      const char **line, size_t *llen, int *complete);

#endif
