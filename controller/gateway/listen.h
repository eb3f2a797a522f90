/* listen.h - the gateway's LISTEN thread: it holds the LISTEN connection
 * (vantage_push, vantage_crontab, vantage_keys) and loads the probe key cache (keys.h),
 * and hands what it learns to the loop as events through the dbq
 * (gw_dbq_post), so the loop never reads from PostgreSQL itself.
 *
 * Keys are loaded when LISTEN (re)starts, every GW_KEYS_RELOAD_MS, when
 * probes' keys change (NOTIFY vantage_keys, migration 014; at most once a
 * second) and when the loop asks (gw_listen_reload: many cache misses); a
 * key added in between is found by the loop's background lookup on a cache
 * miss, a key removed stops working at the next reload. */
#ifndef VT_GW_LISTEN_H
#define VT_GW_LISTEN_H

#include "common/err.h"
#include "controller/gateway/dbq.h"
#include "controller/gateway/keys.h"

#define GW_KEYS_RELOAD_MS  60000
#define GW_LISTEN_IDS_MAX  256

/* What the thread tells the loop; the done function given to
 * gw_listen_new owns it and frees it with gw_listen_ev_free. */
struct gw_listen_ev {
	struct gw_job   job;
	void           *arg;          /* gw_listen_new's arg */
	struct gw_keys *keys;         /* a fresh key table (take it: set NULL) */
	int             listening;    /* LISTEN (re)started: NOTIFYs may be lost */
	int             notified;     /* NOTIFY arrived (pushes may be pending) */
	long            crontab[GW_LISTEN_IDS_MAX];  /* probes NOTIFYed */
	int             ncrontab;
	int             overflow;     /* more probes than crontab[] holds */
};

struct gw_listen;

/* Starts the thread with its own connections on conninfo. */
int gw_listen_new(const char *conninfo, struct gw_dbq *q, gw_job_done done,
		  void *arg, struct gw_listen **out) VT_WUR;
/* Asks the thread to load the keys again now (any thread; the caller
 * bounds how often). */
void gw_listen_reload(struct gw_listen *l);
/* Stops and joins the thread (before gw_dbq_free).  NULL is fine. */
void gw_listen_free(struct gw_listen *l);
void gw_listen_ev_free(struct gw_listen_ev *ev);

/* Loads every probe key into a new table (blocking; any thread). */
int gw_listen_load_keys(struct gw_db *db, struct gw_keys **out) VT_WUR;

#endif
