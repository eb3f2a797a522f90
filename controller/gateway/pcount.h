/* pcount.h - authenticated connections per probe, so that one probe's key
 * cannot hold more than --max-per-probe of the gateway's sessions.  Open
 * addressing on the probe id; entries go when their count drops to 0. */
#ifndef VT_GW_PCOUNT_H
#define VT_GW_PCOUNT_H

#include "common/err.h"

struct gw_pcount;

int gw_pcount_new(struct gw_pcount **out) VT_WUR;
void gw_pcount_free(struct gw_pcount *pc);
/* Connections counted for probe_id (0 when none). */
int gw_pcount_get(const struct gw_pcount *pc, long probe_id);
/* Counts one more connection of probe_id. */
int gw_pcount_inc(struct gw_pcount *pc, long probe_id) VT_WUR;
/* Counts one connection of probe_id less (ignored when none is counted). */
void gw_pcount_dec(struct gw_pcount *pc, long probe_id);

#endif
