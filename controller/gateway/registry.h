/* registry.h - the gateway's session registry, shared by its loop threads:
 * which session holds each probe's KEEP (found by probe id in O(1), from
 * any thread), and how many authenticated connections each probe holds
 * (--max-per-probe).  One lock guards it; every call takes it briefly and
 * hands copies out, never a pointer into the registry.
 *
 * A holder is named by its loop thread, its session (a pointer only that
 * thread may follow: the thread removes its sessions before freeing them)
 * and the session's serial number (unique in the process, so a message
 * about a session that went meanwhile finds nothing).
 *
 * Order.  Which of two KEEPs of a probe holds it never depends on which
 * loop thread answers first: each KEEP carries its place in the order the
 * KEEPs were asked for (seq), and the newest one holds.  What the database
 * must record of the holders (up, bind, down) is handed to the note
 * function under the lock, so the records reach the database's FIFO
 * control lane in the order of the registry's changes, whichever threads
 * make them. */
#ifndef VT_GW_REGISTRY_H
#define VT_GW_REGISTRY_H

#include <stdint.h>
#include "common/err.h"
#include "controller/gateway/db.h"
#include "proto/reg.h"

struct gw_thr;
struct gw_session;
struct gw_reg;

/* What the registry says of a KEEP holder (a copy). */
struct gw_reg_hold {
	struct gw_thr     *thr;       /* loop thread holding the session */
	struct gw_session *sess;      /* followed by thr alone */
	uint64_t           serial;
	uint64_t           seq;       /* its KEEP's place in the order asked */
	char               sid[VT_SESSION_ID_MAX + 1];
	int                has_fwd;   /* its tcpip-forward arrived */
};

/* What the database must record of probe_id's KEEP holder. */
enum gw_reg_change {
	GW_REG_UP,      /* a new holder (from its address, bind its forward) */
	GW_REG_BIND,    /* the holder's tcpip-forward came (bind) */
	GW_REG_DOWN     /* no holder any more */
};
/* Runs under the registry's lock (it must not call the registry); from
 * and bind may be NULL. */
typedef void (*gw_reg_note_fn)(void *arg, enum gw_reg_change what,
			       long probe_id, const char *from,
			       const char *bind);

int gw_reg_new(struct gw_reg **out) VT_WUR;
void gw_reg_free(struct gw_reg *r);
/* Sets the note function (none by default); before any other thread uses
 * r. */
void gw_reg_set_note(struct gw_reg *r, gw_reg_note_fn fn, void *arg);

/* Counts one more authenticated connection of probe_id: VT_ELIMIT when it
 * holds max already (*held says how many), VT_ENOMEM. */
int gw_reg_auth_inc(struct gw_reg *r, long probe_id, int max, int *held) VT_WUR;
/* One connection of probe_id less. */
void gw_reg_auth_dec(struct gw_reg *r, long probe_id);

#define GW_REG_REPLACED 1   /* gw_reg_keep: *old held it (caller drops it) */
#define GW_REG_OUTDATED 2   /* gw_reg_keep: *old, a newer KEEP, holds it */
/* Records h as probe_id's KEEP holder (from: its address, bind: its
 * tcpip-forward or NULL; noted GW_REG_UP).  Returns 0 when none held it
 * (or h's session did), GW_REG_REPLACED when an older KEEP did (*old, the
 * caller drops it), GW_REG_OUTDATED when a newer KEEP (larger seq) holds
 * it (*old; nothing changed: h's session is the one to drop), VT_ENOMEM. */
int gw_reg_keep(struct gw_reg *r, long probe_id, const struct gw_reg_hold *h,
		const char *from, const char *bind, struct gw_reg_hold *old) VT_WUR;
/* The tcpip-forward of the holder serial (ignored for another holder);
 * noted GW_REG_BIND when bind is not NULL. */
void gw_reg_bind(struct gw_reg *r, long probe_id, uint64_t serial,
		 const char *bind);
/* Forgets probe_id's KEEP when serial holds it (noted GW_REG_DOWN) and
 * returns 1; 0 when another session (or none) holds it. */
int gw_reg_drop(struct gw_reg *r, long probe_id, uint64_t serial);
/* probe_id's holder into *out: VT_OK or VT_ENOTFOUND. */
int gw_reg_find(struct gw_reg *r, long probe_id, struct gw_reg_hold *out) VT_WUR;
/* KEEP sessions held. */
int gw_reg_count(struct gw_reg *r);
/* Up to max holders as the database records them; returns how many.
 * With then (a sessions sync): every holder or nothing (VT_ELIMIT when
 * more than max), then run with them under the lock, so that no note
 * overtakes the snapshot. */
int gw_reg_live(struct gw_reg *r, struct gw_db_live *out, int max,
		void (*then)(void *arg, int n), void *arg);
/* A drain (drain.h): the next holder not sent away yet into *probe_id and
 * *out, marked sent away (a newer KEEP of the probe is not); VT_ENOTFOUND
 * when every one was. */
int gw_reg_drain_pick(struct gw_reg *r, long *probe_id,
		      struct gw_reg_hold *out) VT_WUR;
/* The drain ended: no holder is marked sent away. */
void gw_reg_drain_clear(struct gw_reg *r);
/* Up to max holders' probe ids and session ids; returns how many. */
int gw_reg_sids(struct gw_reg *r, long *ids,
		char (*sids)[VT_SESSION_ID_MAX + 1], int max);

#endif
