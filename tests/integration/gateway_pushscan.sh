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
t_check "kicked scans ask about the probes whose push ended" t_wait 60 kicked_at_least 1
t_check "the metric has its all series" scanned all
t_log "probes asked: $SCANNED by full scans"
scanned kicked
t_log "probes asked: $SCANNED by kicked scans"
t_check "kicked scans asked about each probe at most twice ($SCANNED for $K)" \
	[ "$SCANNED" -le $((2 * K)) ]

t_done
