/* stream_int.h - what the stream's service thread (stream.c) and its feed
 * (stream_feed.c) hand each other.  Requests go to the feed, events come
 * back, each through a mutex-guarded FIFO; nothing else is shared. */
#ifndef VT_API_STREAM_INT_H
#define VT_API_STREAM_INT_H

#include <pthread.h>
#include <stdint.h>

#include "controller/api/stream.h"

/* One outgoing message, shared by every client queue that holds it.  The
 * service thread alone touches refs (the feed makes it with refs 0). */
struct st_msg {
	int refs;
	long prb;                  /* the result's probe (0: not a result) */
	size_t len;
	unsigned char buf[];       /* LWS_PRE bytes of room, then len bytes */
};

struct st_msg *st_msg_new(const char *p, size_t len, long prb);
void st_msg_unref(struct st_msg *m);

/* The feed's snapshot at a backlog read: which transactions it saw. */
struct st_snap {
	unsigned long long xmin, xmax;
	unsigned long long *xip;
	size_t nxip;
};
/* 1 when the committed transaction xid was visible to s. */
int st_snap_sees(const struct st_snap *s, unsigned long long xid);
void st_snap_free(struct st_snap *s);

enum st_req_kind { ST_REQ_SUB = 1, ST_REQ_UNSUB };
struct st_req {
	enum st_req_kind kind;
	uint64_t sub;              /* subscription id */
	long long msm;
	long prb;
	int backlog;
	struct st_req *next;
};

enum st_ev_kind {
	ST_EV_SUBSCRIBED = 1,      /* sub: from now on (snap, msgs: the backlog) */
	ST_EV_BATCH,               /* msm: msgs stored by transaction xid */
	ST_EV_RESET,               /* the feed lost notifications: drop all */
	ST_EV_SUBFAIL,             /* sub: could not be served (reason) */
};
struct st_ev {
	enum st_ev_kind kind;
	uint64_t sub;
	long long msm;
	unsigned long long xid;
	struct st_snap *snap;      /* owned */
	struct st_msg **msgs;      /* owned array; each msg refs 0 */
	size_t n;
	char reason[128];
	struct st_ev *next;
};
void st_ev_free(struct st_ev *e);

struct st_feed;
/* Connects and LISTENs (blocking), then runs the feed's thread; wake()
 * is called (from the feed's thread) when events are waiting. */
int st_feed_start(const struct vt_stream_conf *c, void (*wake)(void *), void *arg,
		  struct st_feed **out, char *errbuf, size_t errlen) VT_WUR;
/* Queues a request (the feed owns r); never blocks on the database. */
void st_feed_request(struct st_feed *f, struct st_req *r);
/* Takes every waiting event, oldest first (a list the caller frees). */
struct st_ev *st_feed_events(struct st_feed *f);
/* Stops the feed's thread (no wake() after it); requests are still
 * taken (and dropped).  NULL ok. */
void st_feed_halt(struct st_feed *f);
/* Halts and frees.  NULL ok. */
void st_feed_stop(struct st_feed *f);

#endif
