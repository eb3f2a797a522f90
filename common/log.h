/* log.h - one line per event on stderr: time, program, level, message.
 *
 * The shape of a message: an optional subject ("probe 12: ", "msm 1001: ",
 * "session S: ", after an optional one-word area such as "sched: "), the
 * text, and key=value fields for what the text names (probe=12 msm=1001
 * session=S; a value with blanks is "quoted").  The text format prints it
 * as it is:
 *     2026-01-02T03:04:05.678Z vantage-gateway[42] info: probe 12: KEEP ...
 * --log-format json prints one JSON object per line, for log shippers:
 *     {"time":"...","prog":"vantage-gateway","pid":42,"level":"info",
 *      "msg":"probe 12: KEEP ...","probe":12,...}
 * with the subject and every key=value field as members (numbers as
 * numbers).  When stderr is the journal ($JOURNAL_STREAM names it) each
 * line starts with the syslog level, "<3>" err to "<7>" debug, which
 * journald takes as the priority.
 *
 * Repeated lines are rate-limited: each call site (its format string) prints
 * at most VT_LOG_BURST lines per VT_LOG_WINDOW_MS; the rest of the window is
 * counted and summarised in one line ("N more like ...") when the site logs
 * again after the window, when vt_log_flush() runs after it, or when the
 * site's slot is reused.  Safe from any thread (not from signal handlers). */
#ifndef VT_LOG_H
#define VT_LOG_H

enum vt_log_level { VT_LOG_ERR, VT_LOG_WARN, VT_LOG_INFO, VT_LOG_DEBUG };

#define VT_LOG_BURST      50
#define VT_LOG_WINDOW_MS  10000

/* Sets the program name shown in each line and the most verbose level
 * kept, and finds out whether stderr is the journal.  Called again (a
 * reload) it changes the level. */
void vt_log_init(const char *progname, enum vt_log_level level);
enum vt_log_format { VT_LOG_TEXT, VT_LOG_JSON };
/* Sets the line format (text by default); a negative value is ignored. */
void vt_log_format(int fmt);
/* Parses "text" or "json"; -1 when neither. */
int vt_log_format_parse(const char *s);
/* Says whether stderr is the journal (the syslog prefix), as vt_log_init
 * finds out from $JOURNAL_STREAM; for tests. */
void vt_log_journal(int on);
/* Sets the rate limit: burst lines per site per window_ms (burst 0: none). */
void vt_log_limit(int burst, int window_ms);
/* Prints the summaries of windows that ended with lines suppressed (a
 * daemon calls it now and then, say once a second). */
void vt_log_flush(void);
/* Ends every call site's window now, as if window_ms had passed (tests use
 * it instead of sleeping through a window). */
void vt_log_expire(void);
/* Parses "err", "warn", "info" or "debug"; returns -1 when unknown. */
int vt_log_level_parse(const char *s);
void vt_log(enum vt_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Like vt_log, but this call site prints at most burst lines per window
 * (burst < 1: 1), not the global burst: for a condition that can hold for
 * minutes, where one line per window and its "N more like" summary say
 * all there is.  A site must always pass the same burst. */
void vt_log_burst(enum vt_log_level level, int burst, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A record line (an access log: one line per request by contract): printed
 * like vt_log, never rate-limited. */
void vt_log_record(enum vt_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define vt_err(...)   vt_log(VT_LOG_ERR, __VA_ARGS__)
#define vt_warn(...)  vt_log(VT_LOG_WARN, __VA_ARGS__)
#define vt_info(...)  vt_log(VT_LOG_INFO, __VA_ARGS__)
#define vt_debug(...) vt_log(VT_LOG_DEBUG, __VA_ARGS__)

#endif
