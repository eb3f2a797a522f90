/* measure.h - the measurement engine of vantage-probe.
 *
 * One context per probe process: it holds the event loop, the raw sockets
 * (opened once, before the probe drops root), the c-ares channel used to
 * resolve target names, and the address policy.  A measurement is started
 * from its command line (PROTOCOL.md, "Measurement command lines") and,
 * when finished, hands its result JSON text (PROTOCOL.md, "Result JSON",
 * the object that follows "RESULT ") to a callback.  Any number of
 * measurements run at once on the one loop; none of them blocks.
 *
 * The second half of this header is for the measurement modules
 * (ping.c, traceroute.c, tdig.c): name resolution, the address policy,
 * the common result fields and the bookkeeping of running measurements. */
#ifndef VT_PROBE_MEASURE_H
#define VT_PROBE_MEASURE_H

#include <stdint.h>
#include <sys/socket.h>
#include <jansson.h>

#include "common/err.h"

struct vt_loop;
struct vt_measure_ctx;

#define VT_MEASURE_FW   5120       /* default "fw" of results */
#define VT_MEASURE_MVER "2.6.4"    /* default "mver" of results */

struct vt_measure_opts {
	int         allow_private;  /* lab switch: accept loopback, RFC 1918,
				     * link-local, multicast and ULA targets */
	int         fw;             /* "fw" in results; 0: VT_MEASURE_FW */
	const char *mver;           /* "mver" in results; NULL: VT_MEASURE_MVER */
	const char *dns_servers;    /* c-ares servers ("ip[:port],..."); NULL:
				     * the system resolver (/etc/resolv.conf) */
	int         no_raw;         /* 1: never open raw sockets (use ICMP
				     * datagram sockets only; for tests) */
};

/* Called once per measurement with its result JSON text (NUL-terminated,
 * valid only during the call).  msm_id is the -A argument (-1 if none). */
typedef void (*vt_measure_done_cb)(void *arg, long msm_id, const char *json);

/* Makes a context on loop (borrowed; it must outlive the context).  Opens
 * the raw ICMP/ICMPv6/TCP sockets when allowed (root or CAP_NET_RAW), else
 * falls back to unprivileged ICMP datagram sockets per measurement.
 * opts may be NULL.  Returns 0, VT_ENOMEM or VT_EIO. */
int vt_measure_ctx_new(struct vt_loop *loop, const struct vt_measure_opts *opts,
		       struct vt_measure_ctx **out) VT_WUR;
/* Aborts every running measurement (their callbacks are not called),
 * closes the sockets and frees the context.  NULL is fine. */
void vt_measure_ctx_free(struct vt_measure_ctx *ctx);

/* Drops root after the context has opened its sockets: keeps only
 * CAP_NET_RAW and becomes user (e.g. "nobody").  Does nothing and returns
 * 0 when not running as root.  Returns VT_ENOTFOUND (no such user) or
 * VT_EIO on failure (the caller should then exit). */
int vt_measure_drop_root(const char *user) VT_WUR;

/* Sets "lts": the wall-clock second at which the clock was last confirmed
 * (the upload reply's Date: header); results then carry now - last.
 * Until this is called (or with last < 0) lts is -1. */
void vt_measure_set_clock_confirmed(struct vt_measure_ctx *ctx, int64_t last);

/* Starts the measurement of cmdline ("evping ...", "evtraceroute ...",
 * "evtdig ...").  cb is called exactly once, later, from the loop, with a
 * result (a result that only says "error" counts).  Returns VT_EPARSE
 * when the command line does not parse, VT_EUNSUPP for an unknown command,
 * VT_ENOMEM; then cb is never called. */
int vt_measure_start(struct vt_measure_ctx *ctx, const char *cmdline,
		     vt_measure_done_cb cb, void *arg) VT_WUR;
/* Number of measurements running now. */
int vt_measure_running(const struct vt_measure_ctx *ctx);

/* ---- for measurement modules ------------------------------------------ */

/* Per-type starts, all with the shape of vt_measure_start.  cmdline is the
 * whole command line including the command name. */
int vt_ping_start(struct vt_measure_ctx *ctx, const char *cmdline,
		  vt_measure_done_cb cb, void *arg) VT_WUR;
int vt_traceroute_start(struct vt_measure_ctx *ctx, const char *cmdline,
			vt_measure_done_cb cb, void *arg) VT_WUR;
int vt_tdig_start(struct vt_measure_ctx *ctx, const char *cmdline,
		  vt_measure_done_cb cb, void *arg) VT_WUR;

/* A running measurement, embedded in the module's own state.  The module
 * fills abort (frees the state without calling back: used when the context
 * goes away) and registers it while it runs. */
struct vt_measure_run {
	void (*abort)(struct vt_measure_run *run);
	struct vt_measure_run *next, *prev;  /* engine-owned */
};
void vt_measure_run_add(struct vt_measure_ctx *ctx, struct vt_measure_run *run);
void vt_measure_run_del(struct vt_measure_ctx *ctx, struct vt_measure_run *run);

struct vt_loop *vt_measure_loop(const struct vt_measure_ctx *ctx);

/* Address policy: 0 when sa may be measured, VT_EAUTH when it is in
 * loopback, private (RFC 1918), link-local, multicast, ULA, unspecified or
 * broadcast space and the context does not allow private targets.
 * Documentation ranges are allowed. */
int vt_measure_addr_allowed(const struct vt_measure_ctx *ctx,
			    const struct sockaddr *sa) VT_WUR;
/* The stock probe's error text for a refused address. */
#define VT_MEASURE_ENOTALLOWED "address not allowed"

/* Result of a name resolution: status 0 with the first address of family
 * af (port 0) in *sa, or a negative VT_E* code with a message in errmsg
 * (e.g. "name resolution failed: Domain name not found").  ttr_ms is the
 * time spent resolving (0 for a literal address, which is parsed without
 * a query; is_literal is then 1). */
struct vt_measure_addr {
	struct sockaddr_storage sa;
	socklen_t               salen;
	int                     is_literal;
	double                  ttr_ms;
	const char             *errmsg;     /* static text, NULL on success */
};
typedef void (*vt_measure_resolve_cb)(void *arg, int status,
				      const struct vt_measure_addr *addr);
struct vt_measure_resolve;
/* Resolves name for af (4 or 6).  cb runs later from the loop (also for
 * literals), unless cancelled first.  *req identifies the request for
 * vt_measure_resolve_cancel and is invalid once cb has run. */
int vt_measure_resolve(struct vt_measure_ctx *ctx, const char *name, int af,
		       vt_measure_resolve_cb cb, void *arg,
		       struct vt_measure_resolve **req) VT_WUR;
/* Cancels a pending resolution: cb will not be called.  NULL is fine. */
void vt_measure_resolve_cancel(struct vt_measure_resolve *req);

/* A new result object holding the common fields in the stock order:
 * "fw", "mver", "lts", then "time" (start_s) and, when msm_id >= 0, "id"
 * (the msm id as a string) is put first.  Returns NULL on allocation
 * failure. */
json_t *vt_measure_result_new(const struct vt_measure_ctx *ctx, long msm_id,
			      int64_t start_s);
/* Serialises obj compactly, calls cb(arg, msm_id, text) and releases obj
 * (the reference is stolen).  On allocation failure a minimal error
 * result is passed instead. */
void vt_measure_emit(json_t *obj, long msm_id, vt_measure_done_cb cb, void *arg);

/* Number formatting helpers used by modules: a JSON real rounded to 3
 * decimals (milliseconds to microseconds), as the stock probe prints. */
json_t *vt_measure_ms(double ms);
/* Address to text ("192.0.2.1", "2001:db8::1"); buf of at least 46 bytes. */
const char *vt_measure_ntop(const struct sockaddr *sa, char *buf, size_t len);

#endif
