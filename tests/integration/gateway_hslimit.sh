#!/bin/bash
# gateway_hslimit: the handshake limit under a reconnect storm larger than
# it.  150 probes hold KEEP; the gateway is SIGKILLed and restarted with
# --max-handshakes 40 (one loop thread: the limit starts at 16 and follows
# the handshakes completed per second, never above 40), and all 150 come
# back at once: every one is back in the end (the excess waited parked:
# accepted, not in the handshake yet), admission waited at the limit, the gateway never held more connections in the handshake than
# --max-handshakes (its peak gauge), and the limit in force stayed within
# its floor and ceiling.  Before it: 16 silent connections fill the
# limit at its floor; a probe's connection waits behind them only until
# they have been silent for 10 s (then they no longer count against the
# adaptive limit, only against --max-handshakes), not until --login-grace.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/helpers/gw_lib.sh"
t_setup
gw_setup
command -v curl >/dev/null || t_skip "no curl"
LOAD=$TOP/build/tests/gw_load
[ -x "$LOAD" ] || t_skip "no gw_load (make first)"
FLOOD=$TOP/build/tests/gw_flood
[ -x "$FLOOD" ] || t_skip "no gw_flood (make first)"
CHECK="/usr/bin/python3 $TOP/tests/helpers/prom_check.py"
M=$(t_free_port)
K=150
MAXHS=40

metric() {
	curl -sf --max-time 10 "http://127.0.0.1:$M/metrics" -o "$T/m.prom" &&
		$CHECK "$T/m.prom" "$1" | sed 's/\.0$//'
}
GWFLAGS=(--threads 1 --max-handshakes "$MAXHS" --login-grace 600
	--metrics "127.0.0.1:$M" --log-level debug)
gw_start "${GWFLAGS[@]}" ||
	{ t_notok "gateway starts"; cat "$T/gw.log"; t_done; exit 1; }
t_check "the ceiling is in the start line" \
	grep -q "1 loop threads, at most $MAXHS in the handshake" "$T/gw.log"
t_check "the limit starts at its floor (16)" \
	[ "$(metric vantage_gateway_handshake_limit)" = 16 ]

# 16 silent connections hold the limit's floor; a probe comes behind them.
mkfifo "$T/f.in" "$T/f.out"
"$FLOOD" "$CTRL" 16 <>"$T/f.in" >"$T/f.out" &
FPID=$!
t_bg $FPID
read -r line <"$T/f.out"
t_check "16 silent connections ($line)" [ "$line" = "open=16 failed=0" ]
in_flight_is() { [ "$(metric vantage_gateway_handshakes_in_flight)" = "$1" ]; }
# at_least V N, within V LO HI: V is a number, N at least, from LO to HI
at_least() { [ -n "$1" ] && [ "$1" -ge "$2" ]; }
within() { [ -n "$1" ] && [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }
t_check "they fill the limit (16 in the handshake)" t_wait 60 in_flight_is 16
gw_opts
# (it waits 120 s at most: without the stale rule it would wait 600)
OPTS=("${GW_OPTS[@]/ConnectTimeout=10/ConnectTimeout=120}")
ssh "${OPTS[@]}" -p "$CTRL" atlas@127.0.0.1 INIT </dev/null >"$T/init.out" 2>"$T/init.err"
t_check "a probe behind them gets in once they are silent for 10 s (login grace 600 s)" \
	grep -q '^SESSION_ID ' "$T/init.out"
t_check "the silent ones still held" in_flight_is 16
kill $FPID
wait $FPID 2>/dev/null
t_check "they go" t_wait 60 in_flight_is 0

gw_gen gen "$VANTAGE_DB" ed25519
gw_ask "hold $CTRL $K 8"
t_check "$K probes hold KEEP ($GW_ANSWER)" gw_said "ok=$K failed=0"

kill -9 "$GWPID"
wait "$GWPID" 2>/dev/null
gw_start "${GWFLAGS[@]}" ||
	{ t_notok "gateway restarts"; tail "$T/gw.log"; t_done; exit 1; }
gw_ask "storm $CTRL $K 0 $GWPID" 1800
t_log "storm: $GW_ANSWER"
t_check "all $K back after the storm" gw_said " up=$K "
waits=$(metric vantage_gateway_handshake_limit_waits_total)
t_check "admission waited at the limit ($waits times)" at_least "$waits" 1
peak=$(metric vantage_gateway_handshakes_in_flight_peak)
t_check "never more than $MAXHS in the handshake (peak $peak)" \
	within "$peak" 1 "$MAXHS"
lim=$(metric vantage_gateway_handshake_limit)
t_check "the limit within 16..$MAXHS ($lim)" within "$lim" 16 "$MAXHS"
# every limit the gateway set (debug log): within its floor and ceiling
grep -o 'handshake limit [0-9]*' "$T/gw.log" | awk '{ print $3 }' >"$T/limits"
t_log "limits set: $(sort -n "$T/limits" | uniq -c | tr -s ' \n' ' ')"
t_check "every limit set within 16..$MAXHS" \
	awk -v hi="$MAXHS" '$1 < 16 || $1 > hi { bad = 1 } END { exit bad }' "$T/limits"
t_check "gateway still running" kill -0 "$GWPID"
gw_tell quit
t_done
