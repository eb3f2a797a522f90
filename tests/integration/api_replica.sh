#!/bin/bash
# tests/integration/api_replica.sh - reads on a streaming replica (--db-read):
# a real replica made with pg_basebackup -R beside the primary.
# - results written on the primary are served by vantage-api from the
#   replica once replayed (the request's log line says db=replica, and the
#   replica's pg_stat_activity shows vantage-api);
# - replay paused: past --db-read-max-lag the responses come from the
#   primary, complete; within a looser limit they are the replica's earlier
#   state, complete as of then (never a mix, never a result twice);
# - read your writes: a measurement created through the API reads back at
#   once although the replica has not replayed it;
# - a stream that started on the replica and lost it ends as an aborted
#   chunked transfer, a strict prefix of the right answer;
# - the replica stopped: requests are answered from the primary; it comes
#   back: reads go to it again;
# - the same for `vantage results --db-read`.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/archive_common.inc"
. "$TOP/tests/helpers/sched_lib.sh"
. "$TOP/tests/helpers/api_lib.sh"
command -v openssl >/dev/null || t_skip "openssl is not installed"
command -v jq >/dev/null || t_skip "jq is not installed"
t_setup
arc_need
t_pg_start || t_skip "cannot start PostgreSQL"
arc_measurements
t_psql "SELECT setval(pg_get_serial_sequence('measurements', 'id'), 2000000)" >/dev/null
for d in 2026-01-05 2026-01-06 2026-01-07; do arc_day "$d"; done
arc_run --now 2026-03-01 --day 2026-01-05 2>"$T/arc.log"
t_check "one archived day (expired from results), two hot days" [ "$(t_psql "
	SELECT count(*) FROM archive_objects WHERE expired IS NOT NULL")" -ge 1 ]
t_pg_replica "$T/pgr" || { t_notok "a replica starts (pg_basebackup -R)"; t_done; exit 1; }
t_ok "a replica starts (pg_basebackup -R)"
rpsql() { psql "$VANTAGE_DB_READ" -qtAX -v ON_ERROR_STOP=1 -c "$1"; }
t_check "the replica is in recovery" test "$(rpsql "SELECT pg_is_in_recovery()")" = t

# The replica has replayed everything the primary has written so far.
caught_up() {
	local lsn
	lsn=$(t_psql "SELECT pg_current_wal_lsn()") &&
	test "$(rpsql "SELECT pg_last_wal_replay_lsn() >= '$lsn'::pg_lsn")" = t
}
want() { t_psql "SELECT result FROM results WHERE msm_id = 1000002 ORDER BY ts, prb_id, digest"; }
same() { cmp -s "$1" "$2" && [ "$(sort "$2" | uniq -d | wc -l)" = 0 ]; }
# expected FILE: the whole stream of 1000002 as a single reader sees it now
# on the primary (archived day through the CLI on the primary alone).
expected() { VANTAGE_DB_READ= "$BIN/vantage" results 1000002 --store "file://$T/store" >"$1"; }
get() { curl -sS --fail "$API_HTTP/api/v2/measurements/$1"; }
# api_uses_replica: the API's latest word on the replica is "in use" (its
# monitor checks once a second, so it may follow the replay by a second).
api_uses_replica() {
	grep "vantage-api\[$API_PID\].*read replica:" "$T/api.log" | tail -n 1 | grep -q 'in use'
}
logline() { grep -c "GET /api/v2/measurements/$1 200 .* db=$2\$" "$T/api.log"; }
# served DB PATH OUT: GET PATH into OUT; its log line names DB.
served() {
	local n i=0
	n=$(logline "${2%%\?*}" "$1")
	get "$2" >"$3" || return 1
	# The line is written when the response is done, maybe after curl ends.
	while [ "$(logline "${2%%\?*}" "$1")" -le "$n" ]; do
		[ $i -lt 100 ] || return 1
		sleep 0.1
		i=$((i + 1))
	done
}

t_wait 60 caught_up
api_start --store "file://$T/store" --db-read "$VANTAGE_DB_READ" \
	--db-read-max-lag 2 --cache-ms 0
t_check "the API logs the replica in use" t_wait 60 api_uses_replica

# --- served from the replica once replayed --------------------------------
expected "$T/want1"
t_check "the request's log line names the replica" \
	served replica "1000002/results/?format=txt" "$T/got1"
t_check "results from the replica: byte for byte, each once (archived and hot days)" \
	same "$T/want1" "$T/got1"
t_check "pg_stat_activity on the replica shows vantage-api" \
	test "$(rpsql "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'vantage-api'")" -ge 1
arc_day 2026-01-08
t_wait 60 caught_up
t_wait 60 api_uses_replica
expected "$T/want2"
t_check "new results written on the primary" test "$(wc -l <"$T/want2")" -gt "$(wc -l <"$T/want1")"
t_check "(log: db=replica)" served replica "1000002/results/?format=txt" "$T/got2"
t_check "once replayed they are served from the replica" same "$T/want2" "$T/got2"
t_check "a measurement object from the replica" served replica 1000002/ "$T/obj"

# The CLI, fresh replica: no note, the same stream.
"$BIN/vantage" results 1000002 --store "file://$T/store" --db-read "$VANTAGE_DB_READ" \
	--db-read-max-lag 2 >"$T/cli1" 2>"$T/cli1.err"
t_check "vantage results --db-read: the same stream" same "$T/want2" "$T/cli1"
t_check "(no note: read on the replica)" test ! -s "$T/cli1.err"

# --- replay paused --------------------------------------------------------
rpsql "SELECT pg_wal_replay_pause()" >/dev/null
paused() { test "$(rpsql "SELECT pg_get_wal_replay_pause_state()")" = paused; }
t_wait 30 paused
arc_day 2026-01-09
arc_day 2026-01-10
expected "$T/want3"
KEY=$("$BIN/vantage" key add --label rw --grant results,create)
P1=$(sched_probe --country NL)
printf '{"definitions": [{"type": "ping", "af": 4, "target": "192.0.2.1",
  "description": "rw"}], "probes": [{"type": "probes", "value": "%s",
  "requested": 1}]}' "$P1" >"$T/create.json"
t_check "the API sees the replica lag past --db-read-max-lag" \
	t_wait 60 grep -q 'read replica: lagging more than 2 s; reads go to the primary' "$T/api.log"
t_check "(log: db=primary)" served primary "1000002/results/?format=txt" "$T/got3"
t_check "replay paused: the response comes from the primary, complete" same "$T/want3" "$T/got3"

# A second API that accepts an hour of lag reads the paused replica.
API1=$API_HTTP API1_HPORT=$API_HPORT API1_PID=$API_PID
api_start --db-read "$VANTAGE_DB_READ" --db-read-max-lag 3600 --cache-ms 0 --store "file://$T/store"
t_wait 60 api_uses_replica
t_check "(log: db=replica)" served replica "1000002/results/?format=txt" "$T/got4"
t_check "within a looser limit: the replica's state, complete as of then" same "$T/want2" "$T/got4"
st=$(curl -s -o "$T/created" -w '%{http_code}' -X POST -H "Authorization: Key $KEY" \
	--data-binary "@$T/create.json" "$API_HTTP/api/v2/measurements/")
NEW=$(jq -r '.measurements[0]' "$T/created" 2>/dev/null)
t_check "a measurement created through the API (201)" test "$st" = 201
t_check "the paused replica does not have it" test "$(rpsql "SELECT count(*) FROM measurements WHERE id = ${NEW:-0}")" = 0
st=$(curl -s -o "$T/read" -w '%{http_code}' -H "Authorization: Key $KEY" "$API_HTTP/api/v2/measurements/$NEW/")
t_check "read your writes: it reads back at once (200, not 404)" \
	sh -c "[ $st = 200 ] && jq -e '.id == $NEW' '$T/read' >/dev/null"
t_check "(log: asked the replica, then the primary)" \
	grep -q "GET /api/v2/measurements/$NEW/ 200 .* key=rw db=replica+primary" "$T/api.log"
st=$(curl -s -o "$T/res" -w '%{http_code}' -H "Authorization: Key $KEY" \
	"$API_HTTP/api/v2/measurements/$NEW/results/")
t_check "its (empty) results too: 200 []" sh -c "[ $st = 200 ] && [ \"\$(cat '$T/res')\" = '[]' ]"
kill "$API_PID"
API_HTTP=$API1 API_HPORT=$API1_HPORT API_PID=$API1_PID

# The CLI with the replica paused.
"$BIN/vantage" results 1000002 --store "file://$T/store" --db-read "$VANTAGE_DB_READ" \
	--db-read-max-lag 86400 >"$T/cli2" 2>"$T/cli2.err"
t_check "vantage results, lag within the limit: the replica's earlier state" same "$T/want2" "$T/cli2"
lagged() { test "$(rpsql "SELECT extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()) > 2")" = t; }
t_wait 60 lagged
"$BIN/vantage" results 1000002 --store "file://$T/store" --db-read "$VANTAGE_DB_READ" \
	--db-read-max-lag 1 >"$T/cli3" 2>"$T/cli3.err"
t_check "vantage results past --db-read-max-lag: from the primary, complete" same "$T/want3" "$T/cli3"
t_check "(a note says so)" grep -q 'reading from the primary' "$T/cli3.err"
"$BIN/vantage" msm show "$NEW" --db-read "$VANTAGE_DB_READ" --db-read-max-lag 86400 >"$T/show" 2>&1
t_check "vantage msm show of a measurement the replica lacks: read your writes" \
	jq -e ".id == $NEW" "$T/show" >/dev/null

rpsql "SELECT pg_wal_replay_resume()" >/dev/null
t_wait 60 caught_up
t_check "replay resumed: the API uses the replica again" \
	t_wait 60 api_uses_replica
t_check "(log: db=replica)" served replica "1000002/results/?format=txt" "$T/got5"
t_check "complete, from the replica" same "$T/want3" "$T/got5"

# --- the replica lost in the middle of a stream ---------------------------
# A client reads a little of a long stream and stops reading (its small
# window holds the server back), the replica goes away, then it reads on.
/usr/bin/python3 - "$API_HPORT" "$T/slow" <<'PY' &
import http.client, os, socket, sys, time
port, out = int(sys.argv[1]), sys.argv[2]
c = http.client.HTTPConnection("127.0.0.1", port)
# A small window (set before connecting): the server is held back while
# the client waits, and it drains fast when it reads on.
c.sock = socket.socket()
c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 131072)
c.sock.connect(("127.0.0.1", port))
c.request("GET", "/api/v2/measurements/1000002/results/?format=txt")
r = c.getresponse()
data = r.read(65536)
open(out + ".started", "w").close()
while not os.path.exists(out + ".go"):
    time.sleep(0.1)
status = "complete"
try:
    while True:
        b = r.read(65536)
        if not b:
            break
        data += b
except Exception as e:
    status = "broken: %s" % type(e).__name__
open(out, "wb").write(data)
open(out + ".status", "w").write(status)
PY
SLOW=$!
t_bg $SLOW
t_wait 120 sh -c "test -f $T/slow.started || ! kill -0 $SLOW"
"$TOP/scripts/pg" kill "$T/pgr"
touch "$T/slow.go"
t_wait 120 sh -c "test -f $T/slow.status || ! kill -0 $SLOW"
t_check "the stream that lost the replica is aborted ($(cat "$T/slow.status" 2>/dev/null))" \
	grep -q '^broken' "$T/slow.status"
t_check "what came is a strict prefix of the right answer" \
	bash -c "[ \$(wc -c <'$T/slow') -lt \$(wc -c <'$T/want3') ] && cmp -s '$T/slow' <(head -c \$(wc -c <'$T/slow') '$T/want3')"
t_check "(log: aborted, on the replica)" \
	grep -q "GET /api/v2/measurements/1000002/results/ 200 .* db=replica (aborted)" "$T/api.log"

# --- the replica stopped ----------------------------------------------------
ok=0
for i in 1 2 3; do
	if get "1000002/results/?format=txt" >"$T/got6.$i"; then
		same "$T/want3" "$T/got6.$i" && ok=$((ok + 1))
	else
		ok=$((ok + 1))       # failed clearly (an HTTP error or a broken transfer)
	fi
done
t_check "right after the replica went away: complete answers or clear failures" test $ok = 3
t_check "the API logs the replica unreachable" t_wait 60 grep -q 'read replica: unreachable' "$T/api.log"
t_check "(log: db=primary)" served primary "1000002/results/?format=txt" "$T/got7"
t_check "the replica stopped: complete, from the primary" same "$T/want3" "$T/got7"
t_check "objects too" served primary 1000002/ "$T/obj"
"$BIN/vantage" results 1000002 --store "file://$T/store" --db-read "$VANTAGE_DB_READ" \
	>"$T/cli4" 2>"$T/cli4.err"
t_check "vantage results --db-read, replica down: from the primary, complete" same "$T/want3" "$T/cli4"
t_check "(a note says the replica cannot be reached)" grep -q 'cannot be reached' "$T/cli4.err"

"$TOP/scripts/pg" start "$T/pgr" "$(printf '%s\n' "$VANTAGE_DB_READ" |
	sed -n 's/.*port=\([0-9]*\).*/\1/p')" >/dev/null
t_wait 60 caught_up
t_check "the replica is back: the API uses it again" \
	t_wait 60 api_uses_replica
# Idle connections of the pool broke with the old server: a request that
# meets one is answered from the primary; soon they are all replaced.
back() {
	served replica "1000002/results/?format=txt" "$T/got8" && same "$T/want3" "$T/got8"
}
t_check "complete, from the replica again" t_wait 60 back
t_done
