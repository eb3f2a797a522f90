/* gw_int.h - what the gateway's modules share inside the library (not an
 * interface of it): the context every loop thread reads, and one loop
 * thread.
 *
 * Ownership.  struct gw_ctx is set up by gateway.c before any loop thread
 * runs and read-only afterwards, except for the fields marked atomic; the
 * modules it points to (dbq, registry, auth) guard themselves.  A struct
 * gw_thr and everything hanging off it (its sessions, their libssh objects,
 * its push scan) belongs to that loop thread alone; other threads reach it
 * only through its inbox (thread.h). */
#ifndef VT_GW_INT_H
#define VT_GW_INT_H

#include <pthread.h>
#include <stdint.h>
#include <libssh/libssh.h>
#include <libssh/server.h>

#include "controller/gateway/auth.h"
#include "controller/gateway/dbq.h"
#include "controller/gateway/gateway.h"
#include "controller/gateway/gwmetrics.h"
#include "controller/gateway/hslimit.h"
#include "controller/gateway/inbox.h"
#include "controller/gateway/registry.h"

struct gw_session;
struct gw_thr;

/* Runs on thread 0 at each sweep: the gateway-wide duties. */
typedef void (*gw_sweep_hook)(struct gw_thr *t, int64_t now, void *arg);

struct gw_ctx {
	struct gw_conf   conf;
	struct gw_dbq   *q;
	struct gw_reg   *reg;
	struct gw_auth  *auth;
	struct gw_metrics *m;        /* gwmetrics.h (its own atomics); NULL */
	int              resync;     /* atomic: session bookkeeping was lost */
	int              nsessions;  /* atomic: connections held, every thread */
	struct gw_hs    *hs;         /* of them, in the handshake (hslimit.h) */
	uint64_t         serial;     /* atomic: the last session's serial */
	uint64_t         keep_seq;   /* atomic: the last KEEP's place in order */
};

struct gw_thr {
	struct gw_ctx     *ctx;
	int                idx;
	struct vt_loop    *loop;
	struct gw_inbox   *inbox;
	ssh_bind           bind;          /* ed25519 and RSA host keys */
	ssh_bind           bind_rsa;      /* the RSA host key alone */
	struct gw_session *sessions;      /* held here */
	int                nsessions;
	int                nkeep;         /* KEEP sessions held here */
	int                load;          /* atomic: sessions handed here */
	int                push_wanted;   /* scan pending pushes soon */
	int                push_full;     /* ...of every KEEP held (pushq.c) */
	int                push_scanning; /* a push scan is in flight */
	int64_t            next_push_scan;
	long              *push_ask;      /* probes kicked since the last scan */
	int                push_nask, push_cap;
	uint64_t           push_gen;      /* push_ask's fill, from 0 (pushq.c) */
	uint64_t           sweep;         /* timer id */
	int                stopping;
	gw_sweep_hook      hook;          /* thread 0 */
	void              *hook_arg;
	pthread_t          th;
	int                started;
};

/* Marks the session bookkeeping lost (any thread): thread 0 resyncs. */
static inline void gw_ctx_lost(struct gw_ctx *ctx)
{
	__atomic_store_n(&ctx->resync, 1, __ATOMIC_RELAXED);
}

#endif
