/* registry.h - the gateway's session registry, shared by its loop threads:
 * which session holds each probe's KEEP (found by probe id in O(1), from
 * any thread), and how many authenticated connections each probe holds
 * (--max-per-probe).  One lock guards it; every call takes it briefly and
 * hands copies out, never a pointer into the registry.
 *
 * A holder is named by its loop thread, its session (a pointer only that
 * thread may follow: the thread removes its sessions before freeing them)
 * and the session's serial number (unique in the process, so a message
 * about a session that went meanwhile finds nothing). */
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
	char               sid[VT_SESSION_ID_MAX + 1];
	int                has_fwd;   /* its tcpip-forward arrived */
};

int gw_reg_new(struct gw_reg **out) VT_WUR;
void gw_reg_free(struct gw_reg *r);

/* Counts one more authenticated connection of probe_id: VT_ELIMIT when it
 * holds max already (*held says how many), VT_ENOMEM. */
int gw_reg_auth_inc(struct gw_reg *r, long probe_id, int max, int *held) VT_WUR;
/* One connection of probe_id less. */
void gw_reg_auth_dec(struct gw_reg *r, long probe_id);

/* Records h as probe_id's KEEP holder (from: its address, bind: its
 * tcpip-forward or NULL).  When another session held it, *old is that one
 * and 1 is returned (the caller drops it); 0 when none did. */
int gw_reg_keep(struct gw_reg *r, long probe_id, const struct gw_reg_hold *h,
		const char *from, const char *bind, struct gw_reg_hold *old) VT_WUR;
/* The tcpip-forward of the holder serial (ignored for another holder). */
void gw_reg_bind(struct gw_reg *r, long probe_id, uint64_t serial,
		 const char *bind);
/* Forgets probe_id's KEEP when serial holds it. */
void gw_reg_drop(struct gw_reg *r, long probe_id, uint64_t serial);
/* probe_id's holder into *out: VT_OK or VT_ENOTFOUND. */
int gw_reg_find(struct gw_reg *r, long probe_id, struct gw_reg_hold *out) VT_WUR;
/* KEEP sessions held. */
int gw_reg_count(struct gw_reg *r);
/* Up to max holders as the database records them; returns how many. */
int gw_reg_live(struct gw_reg *r, struct gw_db_live *out, int max);
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
