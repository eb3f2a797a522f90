/* test_log_evloop - common/log.c's rate limit and common/evloop.c's
 * dispatch of events to watches (not to fd numbers). */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "check.h"
#include "common/evloop.h"
#include "common/log.h"

/* Runs fn with stderr going to a file; returns what it wrote (free it). */
static char *capture(void (*fn)(void))
{
	char path[] = "/tmp/vantage-log.XXXXXX", *out;
	int fd = mkstemp(path), saved = dup(2);
	long n;
	FILE *f;

	if (fd < 0 || saved < 0)
		return NULL;
	fflush(stderr);
	dup2(fd, 2);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	f = fopen(path, "r");
	unlink(path);
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	out = calloc(1, (size_t)n + 1);
	if (out && fread(out, 1, (size_t)n, f) != (size_t)n)
		out[0] = '\0';
	fclose(f);
	return out;
}

static int count(const char *s, const char *what)
{
	int n = 0;

	for (; s && (s = strstr(s, what)); s += strlen(what))
		n++;
	return n;
}

static void flood(void)
{
	/* a window far longer than the flood takes on a loaded machine */
	vt_log_limit(5, 3600 * 1000);
	for (int i = 0; i < 100000; i++)
		vt_warn("accept: %s (%d)", "Too many open files", i);
	vt_info("another site %d", 1);
	vt_log_expire();   /* the window ends */
	vt_log_flush();
	vt_warn("accept: %s (%d)", "Too many open files", -1);
}

static void test_log_limit(void)
{
	char *out = capture(flood);

	CHECK(out != NULL);
	/* 5 of the burst, the summary, 1 in the next window */
	CHECK_INT(count(out, "accept: Too many open files"), 6);
	CHECK_INT(count(out, "99995 more like \"accept: %s (%d)\""), 1);
	CHECK_INT(count(out, "another site 1"), 1);
	CHECK(strstr(out, "(-1)") != NULL);
	CHECK_INT(count(out, "\n"), 8);
	free(out);
	vt_log_limit(VT_LOG_BURST, VT_LOG_WINDOW_MS);
}

static void rare(void)
{
	vt_log_limit(50, 3600 * 1000);
	for (int i = 0; i < 1000; i++)
		vt_log_burst(VT_LOG_WARN, 1, "accept: paused %d", i);
	for (int i = 0; i < 10; i++)
		vt_warn("common site %d", i);
	vt_log_expire();
	vt_log_flush();
	vt_log_burst(VT_LOG_WARN, 1, "accept: paused %d", -1);
}

/* A site with its own burst of 1: one line a window, then the summary
 * counts the rest; other sites keep the global burst. */
static void test_log_burst(void)
{
	char *out = capture(rare);

	CHECK(out != NULL);
	/* the two lines and the summary */
	CHECK_INT(count(out, "accept: paused"), 3);
	CHECK(strstr(out, "accept: paused 0") != NULL);
	CHECK(strstr(out, "accept: paused -1") != NULL);
	CHECK_INT(count(out, "999 more like \"accept: paused %d\""), 1);
	CHECK_INT(count(out, "common site"), 10);
	free(out);
	vt_log_limit(VT_LOG_BURST, VT_LOG_WINDOW_MS);
}

static void records(void)
{
	vt_log_limit(5, 60000);
	for (int i = 0; i < 100; i++)
		vt_log_record(VT_LOG_INFO, "GET /api/v2/probes/ 200 %dB", i);
	vt_log_flush();
}

/* Record lines (the API's access log) are never rate-limited. */
static void test_log_records(void)
{
	char *out = capture(records);

	CHECK(out != NULL);
	CHECK_INT(count(out, "GET /api/v2/probes/ 200"), 100);
	CHECK_INT(count(out, "more like"), 0);
	free(out);
	vt_log_limit(VT_LOG_BURST, VT_LOG_WINDOW_MS);
}

/* Two readable eventfds; whichever callback runs first closes the other
 * and puts a fresh, empty eventfd under the same number, watched by
 * stale().  The event still pending for the old fd must not reach it. */
struct reuse {
	int fd[2];
	int first;       /* index of the watch that ran first, -1 */
	int stale_calls;
	int fresh_fd;
};

static void stale(struct vt_loop *l, int fd, int ev, void *arg)
{
	struct reuse *r = arg;
	uint64_t v;

	(void)l;
	(void)ev;
	if (read(fd, &v, sizeof v) < 0)
		r->stale_calls += 100;
	r->stale_calls++;
}

static void first(struct vt_loop *l, int fd, int ev, void *arg)
{
	struct reuse *r = arg;
	int me = fd == r->fd[0] ? 0 : 1, other = r->fd[1 - me], nfd;
	uint64_t v;

	(void)ev;
	if (read(fd, &v, sizeof v) < 0)
		r->stale_calls += 100;
	if (r->first >= 0) {
		r->stale_calls++;   /* the other one ran too: it was not replaced */
		return;
	}
	r->first = me;
	vt_loop_del(l, other);
	close(other);
	nfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (nfd != other) {
		/* the number must be reused for the test to mean something */
		if (nfd >= 0) {
			dup2(nfd, other);
			close(nfd);
		}
	}
	r->fresh_fd = other;
	if (vt_loop_add(l, other, VT_EV_READ, stale, r) < 0)
		r->fresh_fd = -1;
}

static void test_loop_reuse(void)
{
	struct reuse r = { .first = -1, .fresh_fd = -1 };
	struct vt_loop *l = NULL;
	uint64_t one = 1;

	CHECK_INT(vt_loop_new(&l), VT_OK);
	for (int i = 0; i < 2; i++) {
		r.fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		CHECK(write(r.fd[i], &one, sizeof one) == sizeof one);
		CHECK_INT(vt_loop_add(l, r.fd[i], VT_EV_READ, first, &r), VT_OK);
	}
	/* one round sees both events at once */
	CHECK_INT(vt_loop_once(l, 1000), VT_OK);
	CHECK(r.first >= 0);
	CHECK(r.fresh_fd >= 0);
	CHECK_INT(r.stale_calls, 0);
	/* the fresh watch works when its own fd has something */
	CHECK(write(r.fresh_fd, &one, sizeof one) == sizeof one);
	CHECK_INT(vt_loop_once(l, 1000), VT_OK);
	CHECK_INT(r.stale_calls, 1);
	/* a paused watch (events 0) gets nothing */
	CHECK_INT(vt_loop_mod(l, r.fresh_fd, 0), VT_OK);
	CHECK(write(r.fresh_fd, &one, sizeof one) == sizeof one);
	CHECK_INT(vt_loop_once(l, 50), VT_OK);
	CHECK_INT(r.stale_calls, 1);
	vt_loop_del(l, r.fresh_fd);
	close(r.fd[0]);
	close(r.fd[1]);
	vt_loop_free(l);
}

int main(void)
{
	test_log_limit();
	test_log_records();
	test_log_burst();
	test_loop_reuse();
	return CHECK_DONE();
}
