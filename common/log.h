/* log.h - one line per event on stderr: time, program, level, message. */
#ifndef VT_LOG_H
#define VT_LOG_H

enum vt_log_level { VT_LOG_ERR, VT_LOG_WARN, VT_LOG_INFO, VT_LOG_DEBUG };

/* Sets the program name shown in each line and the most verbose level kept. */
void vt_log_init(const char *progname, enum vt_log_level level);
/* Parses "err", "warn", "info" or "debug"; returns -1 when unknown. */
int vt_log_level_parse(const char *s);
void vt_log(enum vt_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define vt_err(...)   vt_log(VT_LOG_ERR, __VA_ARGS__)
#define vt_warn(...)  vt_log(VT_LOG_WARN, __VA_ARGS__)
#define vt_info(...)  vt_log(VT_LOG_INFO, __VA_ARGS__)
#define vt_debug(...) vt_log(VT_LOG_DEBUG, __VA_ARGS__)

#endif
