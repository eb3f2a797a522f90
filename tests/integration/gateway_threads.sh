#!/bin/bash
# gateway_threads: nothing about a probe's session depends on the loop
# thread holding it (tests/run.sh runs this with VANTAGE_GW_THREADS=4 and
# again with 1).  A real OpenSSH client plays the probe; its second KEEP,
# made while the first is held, lands on another loop thread (the acceptor
# hands a connection to the thread holding fewest), and then:
#  (a) the newer KEEP replaces the older one: the old connection is closed
#      and the database records the probe connected, also once the old
#      session's end has gone through the control lane;
#  (b) a push made for the probe reaches the newer session's command port;
#  (c) a drain writes on the newer KEEP and records the kick;
#  (d) the newer KEEP's end records the probe down.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/helpers/gw_lib.sh"
t_setup
gw_setup
gw_start || { t_notok "gateway starts"; cat "$T/gw.log"; t_done; exit 1; }
NTHR=${VANTAGE_GW_THREADS:-4}
t_check "gateway runs $NTHR loop threads" \
	grep -q "$NTHR loop thread" "$T/gw.log"

# keep N: KEEP number N, its command port CMDP_N forwarded, pid in KEEP_N;
# waits until the gateway logged it.
declare -A CMDP KEEP
keep() {
	CMDP[$1]=$(t_free_port)
	gw_opts
	ssh "${GW_OPTS[@]}" -o ExitOnForwardFailure=yes \
		-R "$RPORT:127.0.0.1:${CMDP[$1]}" -p "$CTRL" atlas@127.0.0.1 KEEP \
		</dev/null >"$T/keep$1.out" 2>>"$T/keep$1.err" &
	KEEP[$1]=$!
	t_bg "${KEEP[$1]}"
	t_wait 30 sh -c "[ \$(grep -c 'probe $PRB: KEEP from' '$T/gw.log') -ge $1 ]"
}
# thread_of N: the loop thread of the probe's N-th KEEP.
thread_of() {
	grep "probe $PRB: KEEP from" "$T/gw.log" | sed -n "$1s/.* thread=\([0-9]*\).*/\1/p"
}
gone() { ! kill -0 "$1" 2>/dev/null; }

gw_init_ctrl
t_check "controller INIT" [ -n "$SID" ]
t_check "first KEEP held" keep 1
t_wait 20 gw_connected t
t_check "first KEEP recorded connected" gw_connected t
gw_crontab_settled 1
t_check "second KEEP held" keep 2
if [ "$NTHR" -gt 1 ]; then
	t_check "the KEEPs are on different loop threads ($(thread_of 1), $(thread_of 2))" \
		[ "$(thread_of 1)" != "$(thread_of 2)" ]
else
	t_check "both KEEPs on loop thread 0" [ "$(thread_of 1)$(thread_of 2)" = 00 ]
fi

# (a)
t_wait 30 gone "${KEEP[1]}"
t_check "the older KEEP's connection is closed" gone "${KEEP[1]}"
t_check "the gateway says the newer KEEP replaced it" \
	grep -q "probe $PRB: newer KEEP replaces the old one" "$T/gw.log"
t_check "the newer KEEP is still held" kill -0 "${KEEP[2]}"
gw_crontab_settled 2
t_check "each KEEP had its crontab pushed" gw_crontab_done 2
t_check "the probe is recorded connected" gw_connected t

# (b) the push goes through the control lane after the old session's end.
"$CMDTOOL" "${CMDP[2]}" "$PRB" "$SID" "$T/cmd.log" 1 &
t_bg $!
t_wait 10 sh -c "ss -Htln 'sport = :${CMDP[2]}' | grep -q ."
printf 'ONEOFF /home/atlas/crons/oneoff evping -4 -c 3 -A 1002 192.0.2.2\n' >"$T/batch"
"$BIN/vantage" probe push "$PRB" "$T/batch" --timeout 120 >"$T/push.out" 2>&1
t_check "probe push exits 0" [ $? = 0 ]
t_check "the push reached the newer session's command port" \
	grep -qx "ONEOFF /home/atlas/crons/oneoff evping -4 -c 3 -A 1002 192.0.2.2" "$T/cmd.log"
t_check "push recorded ok" \
	[ "$(t_psql "SELECT status FROM probe_pushes WHERE kind = 'manual'")" = ok ]
t_check "the probe is still recorded connected" gw_connected t
t_check "one session recorded for the probe" \
	[ "$(t_psql "SELECT count(*) FROM probe_sessions WHERE probe_id = $PRB AND connected")" = 1 ]

# (c)
"$BIN/vantage" gateway drain gw-test --rate 10/s >"$T/drain.out" 2>&1
t_check "drain accepted" grep -q 'gw-test: draining' "$T/drain.out"
t_wait 30 grep -q DRAIN "$T/keep2.out"
t_check "the drain wrote on the newer KEEP" grep -qx DRAIN "$T/keep2.out"
t_check "the kick is recorded for the probe" \
	[ "$(t_psql "SELECT count(*) FROM gateway_drain_kicks WHERE gateway = 'gw-test' AND probe_id = $PRB")" -ge 1 ]
"$BIN/vantage" gateway undrain gw-test >/dev/null 2>&1

# (d)
kill "${KEEP[2]}"
t_wait 30 gw_connected f
t_check "the newer KEEP's end records the probe down" gw_connected f
t_check "probe status disconnected" \
	[ "$(t_psql "SELECT status FROM probes WHERE id = $PRB")" = 2 ]
t_done
