#!/bin/bash
# gateway_stop: SIGTERM ends the gateway cleanly whatever is in flight.
#  (a) A push claim in flight when the gateway stops (its UPDATE waits for
#      a row lock another client holds until the probe's session has been
#      closed by the stop): once the claim is answered, for a session gone,
#      the push is released (back to pending, no gateway) before the
#      gateway exits, and the exit is clean (status 0).
#  (b) A storm: many probes linking up (KEEP, crontab pushes), one probe
#      uploading without pause (three uploads at a time), pushes claimed and sent, and SIGTERM in the
#      middle of it: the gateway exits with status 0, and every upload it
#      acknowledged is in result_queue.
# tests/run.sh runs this also with the ThreadSanitizer gateway (@tsan),
# which fails it on any race report.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/helpers/gw_lib.sh"
t_setup
gw_setup
command -v curl >/dev/null || t_skip "no curl"
LOAD=$TOP/build/tests/gw_load
[ -x "$LOAD" ] || t_skip "no gw_load (make first)"

gone() { ! kill -0 "$1" 2>/dev/null; }
# stop_gw: SIGTERM, then the gateway's exit status in RC (255 when it hangs)
stop_gw() {
	kill -TERM "$GWPID"
	t_wait 120 gone "$GWPID"
	RC=255
	if gone "$GWPID"; then
		wait "$GWPID"
		RC=$?
	fi
}

# (a)
gw_start || { t_notok "gateway starts"; cat "$T/gw.log"; t_done; exit 1; }
gw_init_ctrl
t_check "controller INIT" [ -n "$SID" ]
printf 'ONEOFF /home/atlas/crons/oneoff evping -4 -c 3 -A 1002 192.0.2.2\n' >"$T/batch"
"$BIN/vantage" probe push "$PRB" "$T/batch" --timeout 600 >"$T/push.out" 2>&1 &
t_bg $!
push_id() { t_psql "SELECT id FROM probe_pushes WHERE kind = 'manual'"; }
t_check "a push waits for the probe" t_wait 30 sh -c "[ -n \"\$(psql '$VANTAGE_DB' -qtAX -c \"SELECT id FROM probe_pushes WHERE kind = 'manual'\")\" ]"
PUSH=$(push_id)
# Another client holds the push's row until $T/release appears.
gw_hold "SELECT 1 FROM probe_pushes WHERE id = $PUSH FOR UPDATE"
t_check "the push's row is locked by another client" grep -qx locked "$T/lock.out"
t_check "KEEP up" gw_keep
claim_waits() {
	[ "$(t_psql "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE probe_pushes SET status = ''sending''%'")" -ge 1 ]
}
t_check "the gateway's claim of the push waits for the lock" t_wait 60 claim_waits
kill -TERM "$GWPID"
t_check "the stop closes the probe's session" \
	t_wait 60 grep -q "probe $PRB: disconnected" "$T/gw.log"
touch "$T/release"
t_wait 120 gone "$GWPID"
t_check "the gateway exits" gone "$GWPID"
wait "$GWPID"
t_check "... with status 0" [ $? = 0 ]
t_check "the push claimed for the closed session was released" \
	[ "$(t_psql "SELECT status || ' ' || coalesce(gateway, '-') FROM probe_pushes WHERE id = $PUSH")" = "pending -" ]
t_check "the probe is recorded disconnected" gw_connected f
kill "$KEEPPID" 2>/dev/null

# (b)
rm -f "$T/gw.log"
gw_start || { t_notok "gateway starts again"; cat "$T/gw.log"; t_done; exit 1; }
gw_init_ctrl
t_check "storm: controller INIT" [ -n "$SID" ]
t_check "storm: uploading probe's KEEP up" gw_keep
# The uploading probe: one upload after the other, each with its own
# result, until the gateway is gone; an acknowledged one is listed in
# $T/acked.
uploader() { # N: ids N00001...
	local i=0 id
	while :; do
		i=$((i + 1)); id=$(($1 * 100000 + i))
		printf 'P_TO_C_REPORT\nRESULT {"id":"%s","probe":"up"}\nSESSION_ID %s\n' "$id" "$SID" >"$T/up.$id"
		curl -s -i --max-time 30 --data-binary "@$T/up.$id" \
			-H 'Content-Type: application/x-www-form-urlencoded' \
			-H 'User-Agent: httppost for atlas.ripe.net' \
			"http://127.0.0.1:$SINKP/?PROBE_ID=$PRB&SESSION_ID=$SID" >"$T/upr.$id" 2>/dev/null ||
			break
		gw_body_ok <"$T/upr.$id" && echo "$id" >>"$T/acked"
		rm -f "$T/up.$id" "$T/upr.$id"
	done
}
: >"$T/acked"
UPPIDS=""
for u in 1 2 3; do
	uploader $u &
	UPPIDS="$UPPIDS $!"
	t_bg $!
done
# Pushes waiting for the uploading probe: claimed and sent during the storm.
for i in 1 2 3 4 5; do
	"$BIN/vantage" probe push "$PRB" "$T/batch" --timeout 600 >>"$T/push.out" 2>&1 &
	t_bg $!
done
# Many probes link up at once (gw_load: KEEP, crontab pushes answered).
rm -f "$T/ld.in" "$T/ld.out"; mkfifo "$T/ld.in" "$T/ld.out"
"$LOAD" "$VANTAGE_DB" 200 rsa <"$T/ld.in" >"$T/ld.out" 2>"$T/ld.err" &
LDPID=$!
t_bg $LDPID
exec 7>"$T/ld.in" 8<"$T/ld.out"
read -r line <&8
t_check "storm: 200 simulated probes made ($line)" [ "$line" = "ready 200" ]
echo "hold $CTRL 200 50" >&7
keeps() { [ "$(grep -c 'KEEP from' "$T/gw.log")" -ge "$1" ]; }
acked() { [ "$(wc -l <"$T/acked")" -ge "$1" ]; }
t_check "storm: probes link up" t_wait 120 keeps 40
t_check "storm: uploads acknowledged meanwhile" t_wait 60 acked 6
stop_gw
t_check "storm: SIGTERM ends the gateway with status 0 ($RC)" [ "$RC" = 0 ]
exec 7>&- 8<&-
kill "$LDPID" 2>/dev/null
for p in $UPPIDS; do t_wait 60 gone "$p"; done
N=$(wc -l <"$T/acked")
queued() {
	t_psql "SELECT line::json->>'id' FROM result_queue WHERE line::json->>'probe' = 'up'" | sort
}
queued >"$T/queued"
t_log "storm: $N uploads acknowledged, $(wc -l <"$T/queued") queued, $(grep -c 'KEEP from' "$T/gw.log") KEEPs"
t_check "storm: every acknowledged upload is queued" \
	sh -c "sort '$T/acked' | comm -23 - '$T/queued' | grep -q . && exit 1 || exit 0"
t_check "storm: the gateway logged no error" sh -c "! grep -E ' err: |Sanitizer|runtime error' '$T/gw.log'"
t_done
