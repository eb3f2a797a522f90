/* text.c - shared line and blank handling of the wire texts. */
#include "proto/text.h"

#include <string.h>

int vt_text_is_blank(char c)
{
	return c == ' ' || c == '\t';
}

size_t vt_text_rtrim(const char *s, size_t n)
{
	while (n && (vt_text_is_blank(s[n - 1]) || s[n - 1] == '\r'))
		n--;
	return n;
}

int vt_text_next_line(const char *buf, size_t len, size_t *off,
		      const char **line, size_t *llen, int *complete)
{
	const char *s, *nl;
	size_t n;

	if (*off >= len)
		return 0;
	s = buf + *off;
	nl = memchr(s, '\n', len - *off);
	n = nl ? (size_t)(nl - s) : len - *off;
	*off += nl ? n + 1 : n;
	if (complete)
		*complete = nl != NULL;
	if ((nl || !complete) && n && s[n - 1] == '\r')
		n--;
	*line = s;
	*llen = n;
	return 1;
}
