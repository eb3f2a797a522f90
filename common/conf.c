#include "conf.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "opt.h"

#define CONF_MAX_BYTES (1 << 20)

struct conf_item {
	char *key;
	char *value;
	int line;      /* line of the file it came from; 0: set by a call */
};

struct vt_conf {
	struct conf_item *items;
	size_t n, cap;
};

struct vt_conf *vt_conf_new(void)
{
	return calloc(1, sizeof(struct vt_conf));
}

void vt_conf_free(struct vt_conf *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->items[i].key);
		free(c->items[i].value);
	}
	free(c->items);
	free(c);
}

static struct conf_item *find(const struct vt_conf *c, const char *key)
{
	for (size_t i = 0; c && i < c->n; i++)
		if (strcmp(c->items[i].key, key) == 0)
			return &c->items[i];
	return NULL;
}

int vt_conf_set(struct vt_conf *c, const char *key, const char *value)
{
	struct conf_item *it = find(c, key);
	char *v = strdup(value), *k;

	if (!v)
		return VT_ENOMEM;
	if (it) {
		free(it->value);
		it->value = v;
		return VT_OK;
	}
	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 16;
		struct conf_item *ni = realloc(c->items, ncap * sizeof *ni);

		if (!ni) {
			free(v);
			return VT_ENOMEM;
		}
		c->items = ni;
		c->cap = ncap;
	}
	k = strdup(key);
	if (!k) {
		free(v);
		return VT_ENOMEM;
	}
	c->items[c->n] = (struct conf_item){ .key = k, .value = v };
	c->n++;
	return VT_OK;
}

size_t vt_conf_count(const struct vt_conf *c)
{
	return c ? c->n : 0;
}

int vt_conf_item(const struct vt_conf *c, size_t i, const char **key,
		 const char **value, int *line)
{
	if (!c || i >= c->n)
		return VT_ENOTFOUND;
	*key = c->items[i].key;
	*value = c->items[i].value;
	if (line)
		*line = c->items[i].line;
	return VT_OK;
}

static char *trim(char *s, char *end)
{
	while (s < end && isspace((unsigned char)*s))
		s++;
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	*end = '\0';
	return s;
}

/* The comment of a line: a '#' at its start or after a space or tab (so
 * "password=a#b" keeps its '#'); NULL when none. */
static char *comment(char *line)
{
	for (char *p = line; *p; p++)
		if (*p == '#' && (p == line || p[-1] == ' ' || p[-1] == '\t'))
			return p;
	return NULL;
}

/* One line (NUL-terminated, no '\n'); adds its item to c.  0 when it holds
 * nothing, VT_EPARSE with "name:lineno: why" in errbuf when malformed. */
static int parse_line(struct vt_conf *c, const char *name, int lineno,
		      char *line, char *errbuf, size_t errlen)
{
	char *eq, *hash, *key, *val, *end = line + strlen(line);
	struct conf_item *dup;
	int r;

	if ((hash = comment(line)))
		end = hash;
	*end = '\0';
	if (*trim(line, end) == '\0')
		return VT_OK;
	eq = strchr(line, '=');
	if (!eq)
		return vt_err_set(VT_EPARSE, errbuf, errlen,
				  "%s:%d: expected 'key = value'", name, lineno);
	key = trim(line, eq);
	val = trim(eq + 1, eq + 1 + strlen(eq + 1));
	if (!*key)
		return vt_err_set(VT_EPARSE, errbuf, errlen, "%s:%d: empty key",
				  name, lineno);
	if (strspn(key, "abcdefghijklmnopqrstuvwxyz"
			"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") != strlen(key))
		return vt_err_set(VT_EPARSE, errbuf, errlen,
				  "%s:%d: bad key '%.40s' (letters, digits, "
				  "'-', '_', '.')", name, lineno, key);
	if ((dup = find(c, key)))
		return vt_err_set(VT_EPARSE, errbuf, errlen,
				  "%s:%d: '%.40s' is set again (line %d)",
				  name, lineno, key, dup->line);
	if ((r = vt_conf_set(c, key, val)) < 0)
		return r;
	c->items[c->n - 1].line = lineno;
	return VT_OK;
}

int vt_conf_parse(const char *name, const char *text, size_t len,
		  struct vt_conf **out, char *errbuf, size_t errlen)
{
	struct vt_conf *c = vt_conf_new();
	char *copy = NULL, *line, *next;
	int lineno = 0, r = VT_OK;

	if (!c || !(copy = malloc(len + 1))) {
		r = VT_ENOMEM;
		goto out;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	if (memchr(text, '\0', len)) {
		const char *nul = memchr(text, '\0', len);

		for (const char *p = text; p < nul; p++)
			lineno += *p == '\n';
		r = vt_err_set(VT_EPARSE, errbuf, errlen, "%s:%d: NUL byte",
			       name, lineno + 1);
		goto out;
	}
	for (line = copy; line && *line; line = next) {
		lineno++;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if ((r = parse_line(c, name, lineno, line, errbuf, errlen)) < 0)
			goto out;
	}
	*out = c;
	c = NULL;
out:
	free(copy);
	vt_conf_free(c);
	return r;
}

int vt_conf_load(const char *path, struct vt_conf **out, char *errbuf,
		 size_t errlen)
{
	struct vt_buf b;
	char chunk[4096];
	size_t n;
	FILE *f = fopen(path, "r");
	int r = VT_OK;

	if (!f) {
		snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
		return VT_EIO;
	}
	vt_buf_init(&b, CONF_MAX_BYTES);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		r = vt_buf_add(&b, chunk, n);
		if (r < 0) {
			snprintf(errbuf, errlen, "%s: %s", path, vt_strerror(r));
			goto out;
		}
	}
	if (ferror(f)) {
		snprintf(errbuf, errlen, "%s: read error", path);
		r = VT_EIO;
		goto out;
	}
	r = vt_conf_parse(path, b.data ? b.data : "", b.len, out, errbuf, errlen);
out:
	fclose(f);
	vt_buf_free(&b);
	return r;
}

const char *vt_conf_get(const struct vt_conf *c, const char *key,
			const char *def)
{
	const struct conf_item *it = find(c, key);

	return it ? it->value : def;
}

int vt_conf_int(const struct vt_conf *c, const char *key, long def,
		long min, long max, long *out)
{
	const char *v = vt_conf_get(c, key, NULL);
	long long x;

	if (!v) {
		*out = def;
		return VT_OK;
	}
	if (vt_num_parse(v, min, max, &x) < 0)
		return VT_EPARSE;
	*out = (long)x;
	return VT_OK;
}

const char *vt_conf_db(const char *arg)
{
	if (arg)
		return vt_opt_value("--db", arg, NULL, 0) == VT_OK ? arg : NULL;
	arg = getenv("VANTAGE_DB");
	return arg && *arg ? arg : NULL;
}
