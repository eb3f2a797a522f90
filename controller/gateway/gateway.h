/* gateway.h - vantage-gateway: one process, N epoll loop threads holding
 * many probe SSH sessions (DESIGN.md, PROTOCOL.md), and database threads
 * that do its PostgreSQL work (dbq.h explains the split).
 *
 * Thread 0 (the caller of gw_run) owns up to four listening sockets,
 * registration role and controller role each with the host keys of
 * Vantage's own probes (ed25519, RSA) and each with the RSA host key alone
 * for stock RIPE Atlas probes (PROTOCOL.md, "Transport"); it accepts, hands
 * each connection to the loop thread holding the fewest (thread.h), and
 * does the gateway-wide duties (heartbeat, sessions sync, LISTEN events).
 * Each loop thread owns its sessions and sweeps them every second (login
 * grace, keepalive, push scan, pushq.h).  Shared between threads, each
 * behind its own lock: the session registry (registry.h), the key cache
 * (auth.h) and the database lanes (dbq.h).  struct gw is opaque. */
#ifndef VT_GW_GATEWAY_H
#define VT_GW_GATEWAY_H

#include <signal.h>
#include <stdint.h>

#include "common/err.h"

struct vt_metrics;

enum gw_role { GW_ROLE_REG = 0, GW_ROLE_CTRL = 1 };

/* Defaults of the per-probe and per-channel bounds (struct gw_conf, 0). */
#define GW_MAX_PER_PROBE   8
#define GW_MAX_AUTH_TRIES  6
#define GW_CHAN_TIMEOUT    30
#define GW_IDLE_TIMEOUT    60
/* Connections in the handshake (accepted, not authenticated) at most, per
 * loop thread, when --max-handshakes is not given. */
#define GW_MAX_HANDSHAKES_PER_THREAD 256
/* Listening sockets: role | GW_LISTEN_RSA for the RSA-only ones. */
#define GW_LISTEN_RSA  2
#define GW_LISTENERS   4

/* A stock probe's atlasinit refuses controller key material over 512
 * base64 characters (RSA-2048 is 372, RSA-3072 544), and its OpenSSH
 * refuses RSA keys under 1024 bits (RequiredRSASize). */
#define GW_RSA_BITS        2048   /* made on first start */
#define GW_RSA_B64_MAX     512
#define GW_RSA_MIN_BITS    1024

/* Liveness in the gateways table: a heartbeat every GW_HEARTBEAT_MS; a
 * gateway whose last one is older than GW_LIVE_S is not handed out (one
 * that stops says so at once, gw_free). */
#define GW_HEARTBEAT_MS    2000
#define GW_LIVE_S          6
/* REREGISTER: a stock probe retries its cached controller at each
 * 180-second pass until this expires, so a gateway gone for good strands
 * its probes at most this plus two passes: under an hour. */
#define GW_REREG_DEFAULT   3240

struct gw_conf {
	const char *db;            /* libpq conninfo */
	const char *listen;        /* address to listen on (v4 or v6) */
	int         reg_port;      /* registration role; 0: none */
	int         ctrl_port;     /* controller role */
	int         rsa_reg_port;  /* registration, RSA host key only; 0: none */
	int         rsa_ctrl_port; /* controller, RSA host key only; 0: none */
	const char *ctrl_host;     /* host probes are sent to */
	const char *host_keys;     /* folder of ssh_host_{ed25519,rsa}_key */
	const char *name;          /* row in gateways */
	int         max_sessions;  /* connections held at most */
	int         max_handshakes;/* of them, not authenticated yet at most:
				      more wait in the listen backlog (0:
				      GW_MAX_HANDSHAKES_PER_THREAD per thread) */
	int         capacity;      /* weight in registration's choice (0:
				      max_sessions) */
	int         threads;       /* loop threads (0: one per core) */
	int         login_grace;   /* seconds to authenticate and start */
	int         keepalive;     /* seconds between keepalives when idle */
	long        rereg;         /* REREGISTER seconds told to probes */
	int         verbose;       /* libssh logging */
	int         db_timeout;    /* seconds an upload's COMMIT may take (0: 30) */
	int         sink_gather;   /* ms uploads gather (0: default, -1: never) */
	int         max_per_probe; /* authenticated connections of one probe */
	int         max_auth_tries;/* failed attempts before a disconnect */
	int         chan_timeout;  /* seconds a channel may take for its exec,
				      INIT's stdin, an upload's request */
	int         idle_timeout;  /* seconds a connection without KEEP may
				      hold no channel */
	volatile sig_atomic_t *stop_flag; /* set by a signal handler: the loop
				      ends once it is non-zero (NULL: none) */
	struct vt_metrics *metrics; /* counted into (gwmetrics.h); NULL: none */
	volatile sig_atomic_t *reload_flag; /* set by SIGHUP's handler: the
				      loop clears it, calls reload (may be
				      NULL) and reloads the key cache */
	void      (*reload)(void);
};

struct gw;

/* Loads (or creates) the host keys, opens the listening sockets and the
 * database handle.  On failure err says why. */
int gw_new(const struct gw_conf *conf, struct gw **out, char *err,
	   size_t errlen) VT_WUR;
/* Runs the loop until gw_stop() or conf.stop_flag. */
int gw_run(struct gw *gw) VT_WUR;
/* Asks the loop to stop (from the loop's thread; a signal handler sets
 * conf.stop_flag instead). */
void gw_stop(struct gw *gw);
/* Closes every session and frees everything.  NULL is fine. */
void gw_free(struct gw *gw);

/* The session limit in force (--max-sessions, lowered to what the
 * open-file limit allows). */
int gw_max_sessions(const struct gw *gw);
/* Loop threads running (--threads). */
int gw_threads(const struct gw *gw);
/* The bound in force on connections in the handshake (--max-handshakes). */
int gw_max_handshakes(const struct gw *gw);

#endif
