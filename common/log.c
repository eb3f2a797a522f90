#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
	int                burst;     /* the site's own burst, 0: lim_burst */
	long               dropped;   /* suppressed in the window */
	int64_t            used;      /* mono ms of the last line */
};

static const char *log_prog = "vantage";
static enum vt_log_level log_level = VT_LOG_INFO;
static const char *const level_names[] = { "err", "warn", "info", "debug" };
static int log_fmt = VT_LOG_TEXT;
static int log_journal;   /* stderr is the journal: "<N>" first */
static int lim_burst = VT_LOG_BURST;
static int64_t lim_window = VT_LOG_WINDOW_MS;
static struct site sites[SITES];
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

/* 1 when $JOURNAL_STREAM ("DEV:INO", set by systemd for a unit whose
 * output goes to the journal) is stderr. */
static int journal_is_stderr(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char tail;

	if (!env || sscanf(env, "%llu:%llu%c", &dev, &ino, &tail) != 2 ||
	    fstat(2, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

/* The setters take the lock the writers of lines hold (a reload sets the
 * level while other threads log); the level is read without it. */
void vt_log_init(const char *progname, enum vt_log_level level)
{
	const char *slash = strrchr(progname, '/');
	int journal = journal_is_stderr();

	pthread_mutex_lock(&log_mu);
	log_prog = slash ? slash + 1 : progname;
	__atomic_store_n(&log_level, level, __ATOMIC_RELAXED);
	log_journal = journal;
	pthread_mutex_unlock(&log_mu);
}

void vt_log_format(int fmt)
{
	if (fmt != VT_LOG_TEXT && fmt != VT_LOG_JSON)
		return;
	pthread_mutex_lock(&log_mu);
	log_fmt = fmt;
	pthread_mutex_unlock(&log_mu);
}

int vt_log_format_parse(const char *s)
{
	if (s && !strcmp(s, "text"))
		return VT_LOG_TEXT;
	if (s && !strcmp(s, "json"))
		return VT_LOG_JSON;
	return -1;
}

void vt_log_journal(int on)
{
	pthread_mutex_lock(&log_mu);
	log_journal = on;
	pthread_mutex_unlock(&log_mu);
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

/* A line being built: capped, the tail cut when it is full. */
struct line {
	char   b[3072];
	size_t n;
};

static void put(struct line *l, const char *s, size_t n)
{
	if (n > sizeof l->b - 1 - l->n)
		n = sizeof l->b - 1 - l->n;
	memcpy(l->b + l->n, s, n);
	l->n += n;
}

static void puts_(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

/* The length of the valid UTF-8 sequence at s (of n bytes), 0 if none. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t k = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 :
		   s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : 0;

	if (!k || k > n)
		return 0;
	for (size_t i = 1; i < k; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return k;
}

/* s (n bytes) as a JSON string. */
static void put_json(struct line *l, const char *s, size_t n)
{
	char esc[8];

	puts_(l, "\"");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		size_t k;

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			put(l, esc, 2);
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof esc, "\\u%04x", c);
			puts_(l, esc);
		} else if (c < 0x80) {
			put(l, s + i, 1);
		} else if ((k = utf8_len((const unsigned char *)s + i, n - i))) {
			put(l, s + i, k);
			i += k - 1;
		} else {
			puts_(l, "\\ufffd");
		}
	}
	puts_(l, "\"");
}

/* The members already written (each once; the fixed ones reserved). */
struct seen {
	char keys[16][32];
	int  n;
};

/* Adds "key":value (a number when it is one) unless key is there. */
static void member(struct line *l, struct seen *sn, const char *key,
		   size_t klen, const char *val, size_t vlen)
{
	static const char *const fixed[] = { "time", "prog", "pid", "level", "msg" };
	size_t d = vlen && val[0] == '-' ? 1 : 0;
	int num;

	if (!klen || klen >= sizeof sn->keys[0] || sn->n == 16)
		return;
	for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
		if (strlen(fixed[i]) == klen && !memcmp(fixed[i], key, klen))
			return;
	for (int i = 0; i < sn->n; i++)
		if (strlen(sn->keys[i]) == klen && !memcmp(sn->keys[i], key, klen))
			return;
	memcpy(sn->keys[sn->n], key, klen);
	sn->keys[sn->n++][klen] = '\0';
	num = vlen > d && vlen - d <= 18 && (vlen - d == 1 || val[d] != '0');
	for (size_t i = d; num && i < vlen; i++)
		num = val[i] >= '0' && val[i] <= '9';
	puts_(l, ",");
	put_json(l, key, klen);
	puts_(l, ":");
	if (num)
		put(l, val, vlen);
	else
		put_json(l, val, vlen);
}

/* The subject of text ("probe 12: ", "sched: msm 5: ") as members. */
static void subject(struct line *l, struct seen *sn, const char *text)
{
	static const char *const names[] = { "probe", "msm", "session" };
	const char *p = text, *colon, *sp;

	for (int part = 0; part < 3 && (colon = strstr(p, ": ")); part++) {
		size_t seg = (size_t)(colon - p), i;

		sp = memchr(p, ' ', seg);
		if (!sp) {      /* a one-word area: "sched", "link" */
			if (seg > 16 || strspn(p, "abcdefghijklmnopqrstuvwxyz") < seg)
				return;
			p = colon + 2;
			continue;
		}
		if (memchr(sp + 1, ' ', (size_t)(colon - sp - 1)) || sp + 1 == colon)
			return;
		for (i = 0; i < 3; i++)
			if (strlen(names[i]) == (size_t)(sp - p) &&
			    !memcmp(names[i], p, (size_t)(sp - p)))
				break;
		if (i == 3)
			return;
		member(l, sn, p, (size_t)(sp - p), sp + 1, (size_t)(colon - sp - 1));
		p = colon + 2;
	}
}

/* The key=value fields of text (key: a lower-case word; value: up to the
 * next blank, or "quoted") as members. */
static void kv_fields(struct line *l, struct seen *sn, const char *text)
{
	for (const char *p = text; *p; p++) {
		const char *k = p, *v, *e;

		if (p != text && p[-1] != ' ')
			continue;
		if (*k < 'a' || *k > 'z')
			continue;
		v = k + strspn(k, "abcdefghijklmnopqrstuvwxyz0123456789_");
		if (*v != '=')
			continue;
		v++;
		if (*v == '"' && (e = strchr(v + 1, '"'))) {
			member(l, sn, k, (size_t)(v - 1 - k), v + 1, (size_t)(e - v - 1));
			p = e;
			continue;
		}
		e = v + strcspn(v, " ");
		while (e > v && strchr(",;)", e[-1]))
			e--;
		if (e > v)
			member(l, sn, k, (size_t)(v - 1 - k), v, (size_t)(e - v));
	}
}

/* Writes one line: stamp, program, level, text (or the JSON object), the
 * syslog level first when stderr is the journal. */
static void emit(enum vt_log_level level, const char *text)
{
	static const char prio[] = { '3', '4', '6', '7' };
	struct line l = { .n = 0 };
	struct seen sn = { .n = 0 };
	char stamp[48], head[128];
	size_t pre;
	struct timeval tv;
	struct tm tm;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(stamp + strlen(stamp), sizeof stamp - strlen(stamp), ".%03dZ",
		 (int)(tv.tv_usec / 1000));
	if (log_journal) {
		char p[4] = { '<', prio[level], '>', '\0' };

		puts_(&l, p);
	}
	pre = l.n;
	if (log_fmt == VT_LOG_JSON) {
		snprintf(head, sizeof head, "{\"time\":\"%s\",\"prog\":", stamp);
		puts_(&l, head);
		put_json(&l, log_prog, strlen(log_prog));
		snprintf(head, sizeof head, ",\"pid\":%d,\"level\":\"%s\",\"msg\":",
			 (int)getpid(), level_names[level]);
		puts_(&l, head);
		put_json(&l, text, strlen(text));
		subject(&l, &sn, text);
		kv_fields(&l, &sn, text);
		if (l.n >= sizeof l.b - 2)     /* cut: still one valid object */
			l.n = pre, puts_(&l, "{\"level\":\"err\",\"msg\":\"(log line too long)\"");
		puts_(&l, "}");
	} else {
		snprintf(head, sizeof head, "%s %s[%d] %s: ", stamp, log_prog,
			 (int)getpid(), level_names[level]);
		puts_(&l, head);
		/* one line per event: a multi-line text (a libpq error) is
		 * joined */
		for (const char *p = text; *p; p++) {
			if (*p != '\n' && *p != '\r' && *p != '\t')
				put(&l, p, 1);
			else if (l.b[l.n - 1] != ' ')
				put(&l, " ", 1);
		}
	}
	l.b[l.n++] = '\n';
	/* one write(2) per line, not stdio: stderr is unbuffered anyway, and
	 * stdio's lock would queue a busy daemon's threads behind each write */
	for (size_t off = 0; off < l.n;) {
		ssize_t w = write(2, l.b + off, l.n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
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

/* 1 when a line of fmt may be printed now; counts it otherwise.  burst:
 * the site's own, 0 for lim_burst. */
static int admit(const char *fmt, enum vt_log_level level, int burst)
{
	int64_t now;
	struct site *s;
	int ok;

	if (lim_burst <= 0)
		return 1;
	now = vt_mono_ms();
	s = site_of(fmt, now);
	s->level = level;
	s->burst = burst;
	s->used = now;
	if (now - s->window >= lim_window) {
		summary(s);
		s->window = now;
		s->lines = 0;
	}
	ok = s->lines < (s->burst > 0 ? s->burst : lim_burst);
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

void vt_log_expire(void)
{
	int64_t now = vt_mono_ms();

	pthread_mutex_lock(&log_mu);
	for (int i = 0; i < SITES; i++)
		if (sites[i].fmt)
			sites[i].window = now - lim_window;
	pthread_mutex_unlock(&log_mu);
}

/* Formats and prints one line; rate-limited by its call site (fmt) when
 * limited, to burst lines a window (0: the global burst). */
static void vlog(enum vt_log_level level, int limited, int burst,
		 const char *fmt, va_list ap)
{
	char line[2048];

	if (level > __atomic_load_n(&log_level, __ATOMIC_RELAXED))
		return;
	vsnprintf(line, sizeof line, fmt, ap);
	if (!limited) {
		/* no rate limit to keep: nothing shared but stderr, which
		 * stdio locks itself (a busy daemon's threads do not queue here) */
		emit(level, line);
		return;
	}
	pthread_mutex_lock(&log_mu);
	if (admit(fmt, level, burst))
		emit(level, line);
	pthread_mutex_unlock(&log_mu);
}

void vt_log(enum vt_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, 1, 0, fmt, ap);
	va_end(ap);
}

void vt_log_burst(enum vt_log_level level, int burst, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, 1, burst < 1 ? 1 : burst, fmt, ap);
	va_end(ap);
}

void vt_log_record(enum vt_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, 0, 0, fmt, ap);
	va_end(ap);
}
