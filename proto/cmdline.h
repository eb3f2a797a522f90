/* cmdline.h - measurement command lines (PROTOCOL.md, "Measurement command
 * lines"): the tokenizer, parsers of evping / evtraceroute / evtdig lines
 * into one tagged struct, and the inverse formatter used by the
 * controller's scheduler.
 *
 * Pure functions: no I/O, no allocation except in the caller's vt_buf.
 * Everything lives in fixed arrays inside the structs, so a parsed
 * command owns nothing and needs no free function.  docs/cmdline.md lists
 * every option. */
#ifndef VT_PROTO_CMDLINE_H
#define VT_PROTO_CMDLINE_H

#include <stddef.h>
#include "common/buf.h"

#define VT_CMD_MAX_ARGS   64    /* arguments of one line, tool name included */
#define VT_CMD_MAX_BYTES  512   /* bytes of one line */
#define VT_CMD_NAME_MAX   255   /* target, query name, out file, interface */

/* ---- tokenizer ---------------------------------------------------- */

/* Tokens split on blanks (space, tab); "..." groups blanks into a token
 * (quotes may join with unquoted text: a"b c" is `ab c`; "" is an empty
 * token).  There is no escape character. */
struct vt_argv {
	int   argc;
	char *argv[VT_CMD_MAX_ARGS + 1];        /* point into store; argv[argc] = NULL */
	char  store[VT_CMD_MAX_BYTES + VT_CMD_MAX_ARGS + 1];
};

/* Splits line[0..len) into out.  VT_ETOOBIG over 512 bytes or 64 tokens,
 * VT_EPARSE on an unclosed quote, a NUL, a newline or another control
 * byte.  An empty line gives argc 0. */
int vt_cmd_tokenize(const char *line, size_t len, struct vt_argv *out) VT_WUR;

/* ---- parsed commands ---------------------------------------------- */

enum vt_cmd_type {
	VT_CMD_NONE = 0,
	VT_CMD_PING,           /* evping */
	VT_CMD_TRACEROUTE,     /* evtraceroute */
	VT_CMD_TDIG            /* evtdig */
};

enum vt_trt_proto { VT_TRT_ICMP = 0, VT_TRT_UDP, VT_TRT_TCP };

struct vt_cmd_ping {
	int  count;            /* -c, default 3, 1..1000 */
	int  size;             /* -s payload bytes, default 48, 0..2048 */
	int  interval_ms;      /* -i, default 1000, 1..60000 */
};

struct vt_cmd_traceroute {
	enum vt_trt_proto proto;   /* -I (default) / -U / -T */
	int  paris;            /* -a modulus, default 16; 0 = classic traceroute */
	int  packets;          /* -c per hop, default 3, 1..16 */
	int  first_hop;        /* -f, default 1, 1..255 */
	int  max_hops;         /* -m, default 32, first_hop..255 */
	int  port;             /* -p destination port; default 0 = tool's own
	                        * (UDP 33434 base, TCP 80) */
	int  size;             /* -S, default 40, 0..2048 */
	int  wait_ms;          /* -w, default 1000, 10..60000 */
	int  dont_fragment;    /* -F */
	int  gap_limit;        /* -g, default 0 (off), 0..255 */
};

/* evtdig query shortcuts (all CHAOS TXT) */
enum vt_tdig_chaos {
	VT_TDIG_Q_NONE = 0,    /* --type/--class/--query or a --a style option */
	VT_TDIG_Q_HOSTNAME_BIND,   /* -h (the default query) */
	VT_TDIG_Q_ID_SERVER,       /* -i */
	VT_TDIG_Q_VERSION_BIND,    /* -b */
	VT_TDIG_Q_VERSION_SERVER   /* -r */
};

struct vt_cmd_tdig {
	int  tcp;              /* -t */
	int  rd;               /* -R: recursion desired */
	int  cd;               /* --cd: checking disabled */
	int  edns0;            /* -e UDP payload size; 0 = no OPT record unless
	                        * -d or -n ask for one (then 512) */
	int  dnssec_ok;        /* -d: DO bit (implies EDNS0) */
	int  nsid;             /* -n: NSID option (implies EDNS0) */
	int  qbuf;             /* -q / --qbuf: put the query in the result */
	int  retry;            /* --retry, default 0, 0..10 */
	int  timeout_ms;       /* --timeout, default 5000, 100..60000 */
	int  port;             /* -p / --port, default 53 (lab only, not stock) */
	enum vt_tdig_chaos chaos;   /* set when a CHAOS shortcut was used */
	int  qtype;            /* resolved query type (16 TXT by default) */
	int  qclass;           /* resolved query class (3 CH by default) */
	char qname[VT_CMD_NAME_MAX + 1];   /* with its trailing dot */
};

struct vt_cmdline {
	enum vt_cmd_type type;
	int  af;                            /* 4 or 6 (6 when neither was given) */
	int  af_given;                      /* 1 when -4 or -6 was on the line */
	long msm_id;                        /* -A, required, > 0 */
	char out_file[VT_CMD_NAME_MAX + 1]; /* -O, "" when absent */
	char bundle[32];                    /* -B, "" when absent (echoed as "bundle") */
	char target[VT_CMD_NAME_MAX + 1];   /* the last argument: name or address */
	union {
		struct vt_cmd_ping       ping;
		struct vt_cmd_traceroute traceroute;
		struct vt_cmd_tdig       tdig;
	} u;
};

/* Fills c with the defaults of a tool (msm_id 0, target ""). */
void vt_cmdline_defaults(struct vt_cmdline *c, enum vt_cmd_type type);

/* Parses tokens (argv[0] is the tool name) into out.  On failure returns
 * VT_EPARSE (unknown tool or option, missing or bad value, missing -A or
 * target) or VT_EUNSUPP, and when errbuf is not NULL writes a one-line
 * reason into it (NUL-terminated, truncated to errlen). */
int vt_cmdline_parse_argv(int argc, char *const *argv, struct vt_cmdline *out,
			  char *errbuf, size_t errlen) VT_WUR;

/* vt_cmd_tokenize + vt_cmdline_parse_argv.  VT_ETOOBIG from the tokenizer. */
int vt_cmdline_parse(const char *line, size_t len, struct vt_cmdline *out,
		     char *errbuf, size_t errlen) VT_WUR;

/* Appends the canonical line of c (always -4 or -6, options in a fixed
 * order, defaults included, values with blanks quoted), no newline.
 * VT_EINVAL when c cannot be written as a line (a '"' or control byte in a
 * value, missing target), VT_ETOOBIG over 512 bytes or the buffer's cap.
 * The result parses back to an equal struct. */
int vt_cmdline_format(const struct vt_cmdline *c, struct vt_buf *out) VT_WUR;

/* The tool name of a type ("evping", ...), or NULL. */
const char *vt_cmd_type_name(enum vt_cmd_type type);

#endif
