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

int vt_conf_set(struct vt_conf *c, const char *key, const char *value)
{
	char *v = strdup(value), *k;

	if (!v)
		return VT_ENOMEM;
	for (size_t i = 0; i < c->n; i++) {
		if (strcmp(c->items[i].key, key) == 0) {
			free(c->items[i].value);
			c->items[i].value = v;
			return VT_OK;
		}
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
	c->items[c->n].key = k;
	c->items[c->n].value = v;
	c->n++;
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
	for (line = copy; line && *line; line = next) {
		char *eq, *hash, *key, *val, *end;

		lineno++;
		next = strchr(line, '\n');
		end = next ? next : line + strlen(line);
		if (next)
			*next++ = '\0';
		if (memchr(line, '\0', (size_t)(end - line)) != NULL &&
		    strlen(line) != (size_t)(end - line)) {
			snprintf(errbuf, errlen, "%s:%d: NUL byte", name, lineno);
			r = VT_EPARSE;
			goto out;
		}
		hash = strchr(line, '#');
		if (hash)
			end = hash;
		*end = '\0';
		if (*trim(line, end) == '\0')
			continue;
		eq = strchr(line, '=');
		if (!eq) {
			snprintf(errbuf, errlen, "%s:%d: expected 'key = value'",
				 name, lineno);
			r = VT_EPARSE;
			goto out;
		}
		key = trim(line, eq);
		val = trim(eq + 1, eq + 1 + strlen(eq + 1));
		if (!*key) {
			snprintf(errbuf, errlen, "%s:%d: empty key", name, lineno);
			r = VT_EPARSE;
			goto out;
		}
		r = vt_conf_set(c, key, val);
		if (r < 0)
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
	if (!c)
		return def;
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->items[i].key, key) == 0)
			return c->items[i].value;
	return def;
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
