#!/bin/bash
# gateway_dboutage: session bookkeeping lost while PostgreSQL is away is
# reconciled from the gateway's live sessions once it is back: a probe
# that disconnects during the outage ends up disconnected (probe_sessions
# and probes), one that stays connected stays so.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/helpers/gw_lib.sh"
t_setup
gw_setup
ssh-keygen -q -t ed25519 -N '' -C probe2 -f "$T/probe2_key"
PRB2=$("$BIN/vantage" probe add --pubkey "$T/probe2_key.pub")
gw_start || { t_notok "gateway starts"; cat "$T/gw.log"; t_done; exit 1; }

# Two probes hold KEEP.
gw_init_ctrl
t_check "probe 1: KEEP up" gw_keep
KEEP1=$KEEPPID
P1=$PRB
PRB=$PRB2
GW_KEY=$T/probe2_key gw_init_ctrl
GW_KEY=$T/probe2_key gw_keep
t_check "probe 2: KEEP up" gw_connected t
KEEP2=$KEEPPID
PRB=$P1
state() { # PROBE: "connected status" as the database has it
	t_psql "SELECT s.connected || ' ' || p.status FROM probe_sessions s JOIN probes p ON p.id = s.probe_id WHERE p.id = $1"
}
t_check "both recorded connected" [ "$(state "$PRB") $(state "$PRB2")" = "true 1 true 1" ]

# The database goes away; probe 1 disconnects meanwhile.
pgport=$(echo "$VANTAGE_DB" | sed 's/.*port=\([0-9]*\).*/\1/')
"$TOP/scripts/pg" stop "$T/pg" >/dev/null 2>&1
kill "$KEEP1"
t_check "the gateway saw probe 1 go" t_wait 30 grep -q "probe $PRB: disconnected" "$T/gw.log"
t_check "... and could not record it" t_wait 30 grep -q "probe $PRB: session down not recorded" "$T/gw.log"
"$TOP/scripts/pg" start "$T/pg" "$pgport" >/dev/null
t_check "database back" t_wait 30 t_psql "SELECT 1"
down() { [ "$(state "$PRB")" = "false 2" ]; }
t_check "probe 1 recorded disconnected once the database is back" t_wait 30 down
t_check "probe 1 no longer held by the gateway in probe_sessions" \
	[ "$(t_psql "SELECT coalesce(gateway, '-') FROM probe_sessions WHERE probe_id = $PRB")" = - ]
t_check "probe 2 still recorded connected through gw-test" \
	[ "$(state "$PRB2") $(t_psql "SELECT gateway FROM probe_sessions WHERE probe_id = $PRB2")" = "true 1 gw-test" ]
t_check "the gateway logged the sync" grep -q "sessions sync: 1 KEEP sessions recorded" "$T/gw.log"
t_check "probe 2's KEEP still up" kill -0 "$KEEP2"
kill "$KEEP2"
t_check "probe 2's disconnect recorded as usual" t_wait 20 sh -c "[ \"\$(psql '$VANTAGE_DB' -qtAX -c 'SELECT connected FROM probe_sessions WHERE probe_id = $PRB2')\" = f ]"
t_check "gateway still running" kill -0 "$GWPID"
t_done
