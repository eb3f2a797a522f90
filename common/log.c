#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "vtime.h"

#define SITES 64   /* call sites tracked at once (by format string) */

/* The lines of one call site in the current window. */
struct site {
	const char        *fmt;       /* NULL: free slot */
	enum vt_log_level  level;
	int64_t            window;    /* mono ms the window began */
	int                lines;     /* printed in the window */
	long               dropped;   /* suppressed in the window */
	int64_t            used;      /* mono ms of the last line */
};

static const char *log_prog = "vantage";
static enum vt_log_level log_level = VT_LOG_INFO;
static const char *const level_names[] = { "err", "warn", "info", "debug" };
static int lim_burst = VT_LOG_BURST;
static int64_t lim_window = VT_LOG_WINDOW_MS;
static struct site sites[SITES];
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

void vt_log_init(const char *progname, enum vt_log_level level)
{
	const char *slash = strrchr(progname, '/');

	log_prog = slash ? slash + 1 : progname;
	log_level = level;
}

void vt_log_limit(int burst, int window_ms)
{
	pthread_mutex_lock(&log_mu);
	lim_burst = burst;
	lim_window = window_ms;
	memset(sites, 0, sizeof sites);
	pthread_mutex_unlock(&log_mu);
}

int vt_log_level_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, level_names[i]) == 0)
			return i;
	return -1;
}

/* Writes one line: stamp, program, level, text. */
static void emit(enum vt_log_level level, const char *text)
{
	char stamp[32];
	struct timeval tv;
	struct tm tm;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03dZ %s[%d] %s: %s\n", stamp, (int)(tv.tv_usec / 1000),
		log_prog, (int)getpid(), level_names[level], text);
}

/* The summary of a site's suppressed lines; the caller holds the lock. */
static void summary(struct site *s)
{
	char line[256];

	if (s->dropped <= 0)
		return;
	snprintf(line, sizeof line, "%ld more like \"%.160s\" in %lld s",
		 s->dropped, s->fmt, (long long)((lim_window + 999) / 1000));
	emit(s->level, line);
	s->dropped = 0;
}

/* The site of fmt (made, or taking the least recently used slot); the
 * caller holds the lock. */
static struct site *site_of(const char *fmt, int64_t now)
{
	uintptr_t h = ((uintptr_t)fmt >> 3) * 2654435761u;
	struct site *s, *lru = NULL;

	for (int i = 0; i < SITES; i++) {
		s = &sites[(h + (uintptr_t)i) % SITES];
		if (s->fmt == fmt)
			return s;
		if (!s->fmt) {
			lru = s;
			break;
		}
		if (!lru || s->used < lru->used)
			lru = s;
	}
	summary(lru);
	*lru = (struct site){ .fmt = fmt, .window = now };
	return lru;
}

/* 1 when a line of fmt may be printed now; counts it otherwise. */
static int admit(const char *fmt, enum vt_log_level level)
{
	int64_t now;
	struct site *s;
	int ok;

	if (lim_burst <= 0)
		return 1;
	now = vt_mono_ms();
	s = site_of(fmt, now);
	s->level = level;
	s->used = now;
	if (now - s->window >= lim_window) {
		summary(s);
		s->window = now;
		s->lines = 0;
	}
	ok = s->lines < lim_burst;
	if (ok)
		s->lines++;
	else
		s->dropped++;
	return ok;
}

void vt_log_flush(void)
{
	int64_t now = vt_mono_ms();

	pthread_mutex_lock(&log_mu);
	for (int i = 0; i < SITES; i++)
		if (sites[i].fmt && sites[i].dropped &&
		    now - sites[i].window >= lim_window) {
			summary(&sites[i]);
			sites[i].window = now;
			sites[i].lines = 0;
		}
	pthread_mutex_unlock(&log_mu);
}

/* Formats and prints one line; rate-limited by its call site (fmt) when
 * limited. */
static void vlog(enum vt_log_level level, int limited, const char *fmt,
		 va_list ap)
{
	char line[2048];

	if (level > log_level)
		return;
	vsnprintf(line, sizeof line, fmt, ap);
	pthread_mutex_lock(&log_mu);
	if (!limited || admit(fmt, level))
		emit(level, line);
	pthread_mutex_unlock(&log_mu);
}

void vt_log(enum vt_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, 1, fmt, ap);
	va_end(ap);
}

void vt_log_record(enum vt_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, 0, fmt, ap);
	va_end(ap);
}
