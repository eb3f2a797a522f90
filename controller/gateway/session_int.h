/* session_int.h - the insides of a probe session, shared by session.c
 * (the SSH state machine and its channels) and session_db.c (the
 * session's database requests).  Not an interface of the library. */
#ifndef VT_GW_SESSION_INT_H
#define VT_GW_SESSION_INT_H

#include <stdint.h>
#include <libssh/libssh.h>
#include <libssh/callbacks.h>

#include "common/buf.h"
#include "controller/gateway/gw_int.h"
#include "controller/gateway/jobs.h"
#include "controller/gateway/push.h"
#include "controller/gateway/session.h"
#include "controller/gateway/sink.h"
#include "proto/reg.h"

#define MAX_CHANNELS     8             /* open channels per session */
#define FLUSH_GRACE_MS   5000          /* a timed-out channel's last reply */
#define STDIN_MAX        (16 * 1024)   /* registration INIT stdin */
#define PUSH_TIMEOUT_MS  30000
#define PUSH_IN_MAX      (64 * 1024)
#define WAIT_SECONDS     60            /* WAIT/TIMEOUT when the DB is away */
#define SINK_HOST        "127.0.0.1"
#define SINK_PORT        8080
#define SINK_QUEUE_MAX   512           /* uploads waiting: 503 beyond */

enum sess_state { S_KEX, S_AUTH, S_OPEN };

enum chan_kind {
	C_NEW,          /* session channel, no exec yet */
	C_REG_INIT,     /* registration INIT: gathers stdin until EOF */
	C_CTRL_INIT,    /* controller INIT (or a refused KEEP): one reply */
	C_KEEP,         /* KEEP: held open, silent */
	C_SINK,         /* direct-tcpip to the result sink */
	C_PUSH          /* forwarded-tcpip to the probe's command port */
};

struct gw_chan {
	struct gw_chan    *next;
	struct gw_session *s;
	enum chan_kind     kind;
	ssh_channel        ch;
	struct ssh_channel_callbacks_struct cb;
	struct vt_buf      in;        /* received, not yet handled */
	struct vt_buf      out;       /* to send */
	int                eof;       /* peer sent EOF */
	int                closed;    /* peer closed */
	int                finish;    /* send out, then EOF and close */
	int                exit_status; /* >= 0: send it when finishing */
	int                opened;    /* C_PUSH: channel open confirmed */
	struct gw_sink    *sink;
	struct gw_push    *push;
	int64_t            deadline;  /* mono ms: C_PUSH its push, others
					 their exec, stdin or request (not
					 while waiting; none for C_KEEP) */
	int                waiting;   /* a database request answers it */
};

struct gw_session {
	struct gw_session *prev, *next;     /* t->sessions */
	struct gw_thr     *thr;              /* the loop thread holding it */
	uint64_t           serial;           /* unique in the process */
	ssh_session        ssh;
	ssh_event          ev;
	int                fd;
	enum gw_role       role;
	enum sess_state    st;
	int64_t            started, last_rx, last_ka;
	char               from[64];
	long               probe_id;             /* after AUTH */
	int                rsa_key;              /* its key is RSA (stock probe) */
	char               sid[VT_SESSION_ID_MAX + 1]; /* after INIT/KEEP */
	int                remote_port;
	char              *fwd_addr;             /* tcpip-forward as sent */
	int                fwd_port;
	int                keep;                 /* holds KEEP */
	int                keep_pending;         /* KEEP's lookup in flight */
	uint64_t           keep_seq;             /* its KEEP's order (registry.h) */
	int                claiming;             /* a push claim in flight */
	uint64_t           ask_tag;              /* push_gen + 1 while the thread's
						  * push_ask lists it; 0: not listed */
	struct gw_req     *reqs;                 /* requests in flight */
	int                dying;                /* close at the next step */
	int                counted;              /* in the registry's per-probe counts */
	int                hs;                   /* in the handshake: 1 counted, 2 stale
	                                          * (hslimit.h) */
	int                auth_fails;           /* failed auth attempts */
	int64_t            last_busy;            /* a channel opened or closed */
	int                watching;             /* events watched on fd */
	int                polling;              /* inside libssh's poll (its
						  * callbacks): no poll again */
	struct gw_chan    *chans;
	int                nchans;
	struct ssh_server_callbacks_struct scb;
};

/* Handles what the last poll or answer brought; may close s. */
void gw_sess_step(struct gw_session *s);

/* session_db.c */
/* Submits r on behalf of s (and channel c, may be NULL): answered on s's
 * thread, where gw_sess_req_back finds s again. */
void gw_sess_req_send(struct gw_session *s, struct gw_chan *c, struct gw_req *r);
/* Takes an answered request off its session's list; returns the session
 * (NULL when it went away meanwhile). */
struct gw_session *gw_sess_req_back(struct gw_req *r);
/* Registration INIT: c's stdin is complete; the reply follows. */
void gw_sess_reg_reply(struct gw_session *s, struct gw_chan *c);
/* Controller INIT on c; the reply follows. */
void gw_sess_ctrl_reply(struct gw_session *s, struct gw_chan *c);
/* KEEP on c: looks up the kept session id, then holds KEEP. */
int gw_sess_keep_start(struct gw_session *s, struct gw_chan *c) VT_WUR;
/* The result sink on c: gathers the request, stores its results. */
void gw_sess_sink_step(struct gw_session *s, struct gw_chan *c);

#endif
