#!/bin/bash
# gateway_flood: an unauthenticated connection flood against a gateway that
# runs short of file descriptors.  Started under a low hard limit it fits
# --max-sessions to the limit (and says so); with the limit lowered under
# it while it runs to a little above what it holds, accept fails with
# EMFILE and it stops polling its listeners for a moment instead of
# spinning.  Either way the flood costs
# little CPU and few log lines, and the gateway serves again afterwards.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/helpers/gw_lib.sh"
t_setup
gw_setup
FLOOD=$TOP/build/tests/gw_flood
[ -x "$FLOOD" ] || t_skip "no gw_flood (make first)"
N=400
HZ=$(getconf CLK_TCK)

cpu_ms() { awk -v hz="$HZ" '{ print int(($14 + $15) * 1000 / hz) }' "/proc/$GWPID/stat"; }
now_ms() { date +%s%3N; }
flood_count() { echo count >&7; read -r line <&8; echo "$line"; }
flood_done() { [ "$(flood_count)" = "closed=$N open=0" ]; }

# flood NAME: N silent connections to the controller port until the
# gateway has closed every one of them (login grace, or the session cap);
# then CPU time and log lines spent on it.
flood() {
	local name=$1 c0 w0 c1 w1 l0 lines
	l0=$(wc -l <"$T/gw.log")
	c0=$(cpu_ms); w0=$(now_ms)
	rm -f "$T/fl.in" "$T/fl.out"; mkfifo "$T/fl.in" "$T/fl.out"
	"$FLOOD" "$CTRL" "$N" <"$T/fl.in" >"$T/fl.out" &
	FLPID=$!
	t_bg $FLPID
	exec 7>"$T/fl.in" 8<"$T/fl.out"
	read -r line <&8
	t_check "$name: $N connections made ($line)" [ "$line" = "open=$N failed=0" ]
	t_check "$name: the gateway closed every one" t_wait 120 flood_done
	c1=$(cpu_ms); w1=$(now_ms)
	exec 7>&- 8<&-
	wait $FLPID
	lines=$(($(wc -l <"$T/gw.log") - l0))
	t_log "$name: gateway CPU $((c1 - c0)) ms over $((w1 - w0)) ms, $lines log lines"
	t_check "$name: CPU under a quarter of a core" [ $((4 * (c1 - c0))) -lt $((w1 - w0)) ]
	t_check "$name: log stays small" [ "$lines" -lt 400 ]
}

serves() {
	gw_init_ctrl
	[ -n "$SID" ] && [ "$(head -1 "$T/ctrl_init.out")" = OK ]
}

# 1. Started under a hard limit of 200 descriptors.
GW_NOFILE=200 gw_start --login-grace 3 || { t_notok "gateway starts"; cat "$T/gw.log"; t_done; exit 1; }
t_check "low limit: sessions capped to fit, in the log" \
	grep -q 'open-file limit 200 (hard 200): at most 136 sessions instead of --max-sessions 20000' "$T/gw.log"
t_check "low limit: the heartbeat tells the cap" \
	t_wait 10 sh -c "[ \"\$(psql '$VANTAGE_DB' -qtAX -c \"SELECT max_sessions FROM gateways WHERE name = 'gw-test'\")\" = 136 ]"
flood "low limit"
t_check "low limit: serves again" serves
kill "$GWPID"; wait "$GWPID" 2>/dev/null

# 2. The limit lowered while it runs to a few descriptors fewer than it has
# open plus what the handshake limit lets in at first (16 per loop thread;
# N silent connections never raise it): accept fails with EMFILE.
gw_start --login-grace 3 || { t_notok "gateway restarts"; t_done; exit 1; }
THREADS=$(sed -n 's/.* \([0-9]*\) loop threads.*/\1/p' "$T/gw.log" | tail -1)
NOFILE=$(($(ls "/proc/$GWPID/fd" | wc -l) + 16 * ${THREADS:-1} - 4))
t_check "limit lowered under the running gateway (to $NOFILE)" \
	prlimit --pid "$GWPID" --nofile=$NOFILE:$NOFILE
flood "EMFILE"
t_check "EMFILE: accepting paused, in the log" grep -q 'accept: Too many open files: not accepting for' "$T/gw.log"
t_check "EMFILE: gateway still running" kill -0 "$GWPID"
t_check "EMFILE: serves again" serves
t_done
