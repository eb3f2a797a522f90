/* check.h - a tiny test harness for unit tests.
 *
 * Each CHECK prints "ok N - expr" or "not ok N - expr (file:line)"; the
 * program ends with CHECK_DONE(), which prints "N passed, N failed" and
 * returns non-zero when anything failed. */
#ifndef VT_CHECK_H
#define VT_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_pass, check_fail;

#define CHECK(expr) do { \
	if (expr) { check_pass++; } \
	else { check_fail++; \
	       printf("not ok - %s (%s:%d)\n", #expr, __FILE__, __LINE__); } \
} while (0)

#define CHECK_INT(a, b) do { \
	long long check_a_ = (long long)(a), check_b_ = (long long)(b); \
	if (check_a_ == check_b_) { check_pass++; } \
	else { check_fail++; \
	       printf("not ok - %s == %s: %lld != %lld (%s:%d)\n", #a, #b, \
		      check_a_, check_b_, __FILE__, __LINE__); } \
} while (0)

#define CHECK_STR(a, b) do { \
	const char *check_a_ = (a), *check_b_ = (b); \
	if (check_a_ && check_b_ && strcmp(check_a_, check_b_) == 0) { check_pass++; } \
	else { check_fail++; \
	       printf("not ok - %s == %s: \"%s\" != \"%s\" (%s:%d)\n", #a, #b, \
		      check_a_ ? check_a_ : "(null)", check_b_ ? check_b_ : "(null)", \
		      __FILE__, __LINE__); } \
} while (0)

#define CHECK_DONE() ( \
	printf("%d passed, %d failed\n", check_pass, check_fail), \
	check_fail ? 1 : 0)

#endif
