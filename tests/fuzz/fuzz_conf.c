/* fuzz_conf.c - the config file parser (vt_conf_parse): on any bytes it
 * must not crash, and what it accepts must hold to its grammar: keys
 * non-empty, of letters, digits, '-', '_' and '.', each once, in file
 * order with rising line numbers; values without outer blanks or '\n'. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vt_conf *c = NULL;
	char err[256];
	const char *k, *v, *k2, *v2;
	int line, line2, last = 0;

	err[0] = '\0';
	if (vt_conf_parse("fuzz", (const char *)data, size, &c, err,
			  sizeof err) < 0) {
		if (c || strncmp(err, "fuzz", 4) != 0)
			abort();   /* no conf, and an error naming the file */
		return 0;
	}
	for (size_t i = 0; i < vt_conf_count(c); i++) {
		size_t vl;

		if (vt_conf_item(c, i, &k, &v, &line) < 0 || !*k || line <= last ||
		    strspn(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			      "0123456789-_.") != strlen(k) || strchr(v, '\n'))
			abort();
		vl = strlen(v);
		if (vl && (isspace((unsigned char)v[0]) ||
			   isspace((unsigned char)v[vl - 1])))
			abort();
		if (vt_conf_get(c, k, NULL) != v)
			abort();
		for (size_t j = 0; j < i; j++)
			if (vt_conf_item(c, j, &k2, &v2, &line2) < 0 ||
			    !strcmp(k, k2))
				abort();
		last = line;
	}
	vt_conf_free(c);
	return 0;
}
