#!/bin/bash
# gateway_pushscan: a loop thread's push scans ask the database about the
# probes kicked since the last scan (a KEEP, a forward, a push or claim
# that ended), not about every KEEP it holds; every KEEP held is asked
# about only every 5 s and on NOTIFY (pushq.c).  Before, every kick made
# the next scan one of all the probes held, and in a reconnect storm scans
# ran back to back: about 200 scans of up to 10,000 probes each.
# vantage_gateway_push_scan_probes_total{scan} counts the probes asked.
# $K probes come (KEEP, forward, crontab pushed and answered): each is
# asked about after its crontab push ended (by a kicked scan, or by a full
# one when one was due), once or twice in all.  (That
# pushes still reach probes, a second one once the first ended, is
# gateway_push_claims's, gateway_oneoffbatch's and oneoff_race's.)
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/helpers/gw_lib.sh"
t_setup
gw_setup
CHECK="/usr/bin/python3 $TOP/tests/helpers/prom_check.py"
K=40
gw_hold_batch
# scanned KIND: the probes asked about by KIND scans, in SCANNED.
scanned() {
	curl -sf --max-time 10 "http://127.0.0.1:$M/metrics" -o "$T/m.prom" || return 1
	SCANNED=$($CHECK "$T/m.prom" vantage_gateway_push_scan_probes_total "scan=$1" |
		sed 's/\.0$//')
	[ -n "$SCANNED" ]
}
kicked_at_least() { scanned kicked && [ "$SCANNED" -ge "$1" ]; }
# The hold's kicks may all have fallen on sweeps that were full scans
# anyway (the first after the start, or one every 5 s).  Then one more
# push kicks its probe when its claim ends (the load generator leaves it
# unanswered: the CLI's wait times out), and the next sweep asks about it
# unless a full scan is due again: pushed until a kicked scan is counted.
P1=$(t_psql "SELECT probe_id FROM probe_sessions WHERE connected ORDER BY probe_id LIMIT 1")
printf 'CRONTAB /home/atlas/crons/3\nCRONLINE 60 1 2000000000 NONE 0 evping -4 -c 1 -A 4001 127.0.0.1\n' >"$T/cron"
kick_one() {
	kicked_at_least 1 && return 0
	"$BIN/vantage" probe push "$P1" "$T/cron" --timeout 5 >>"$T/push.out" 2>&1
	t_wait 10 kicked_at_least 1
}
t_check "kicked scans ask about the probes whose push ended" t_wait 120 kick_one
t_check "the metric has its all series" scanned all
t_log "probes asked: $SCANNED by full scans"
scanned kicked
t_log "probes asked: $SCANNED by kicked scans"
PUSHED=$(cat "$T/push.out" 2>/dev/null | wc -l)
t_check "kicked scans asked about each probe at most twice ($SCANNED for $K, $((PUSHED)) more push(es))" \
	[ "$SCANNED" -le $((2 * K + 2 * PUSHED)) ]

t_done
