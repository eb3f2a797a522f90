#!/bin/bash
# stream_results.sh - vantage-api's live stream (/stream/) fed by the real
# vantage-worker on a real PostgreSQL: python3-websocket clients receive
# every stored result of a measurement exactly once and in storage order
# (results.seq, one worker), without and with sendBacklog, while results
# keep arriving; over TLS too; refused messages get atlas_error; a client
# that never reads is dropped (its last message an atlas_error) while
# another keeps receiving everything.
. "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3
CLIENT=$TOP/tests/integration/stream_client.py
t_setup
$PY -c 'import websocket' 2>/dev/null || t_skip "no python3-websocket"
t_pg_start || { t_notok "PostgreSQL starts"; t_done; exit 1; }

t_psql "INSERT INTO measurements (id, type, af, target, interval, spread)
        VALUES (1001, 'ping', 4, '192.0.2.53', 240, 60),
               (1002, 'ping', 4, '192.0.2.54', 240, 60);
        INSERT INTO probes (id, key_type, pubkey)
        SELECT g, 'ssh-ed25519', 'key' || g FROM generate_series(2000, 2049) g;
        INSERT INTO assignments (msm_id, probe_id)
        SELECT m, p.id FROM probes p, unnest('{1001,1002}'::bigint[]) m;"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=localhost" \
	-addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
	-keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null
export VANTAGE_STREAM_CA=$T/cert.pem

SP=$(t_free_port)
TP=$(t_free_port)
while [ "$TP" = "$SP" ]; do TP=$(t_free_port); done
"$BIN/vantage-api" --http 127.0.0.1:0 --stream 127.0.0.1:$SP \
	--stream-tls 127.0.0.1:$TP --tls-cert "$T/cert.pem" --tls-key "$T/key.pem" \
	--stream-queue 5000 --stream-queue-bytes 1048576 --stream-idle 900 --log-level warn \
	>"$T/api.log" 2>&1 &
t_bg $!
"$BIN/vantage-worker" --batch 500 --poll-ms 200 --log-level warn >"$T/worker.log" 2>&1 &
t_bg $!
listening() { ss -Htln "sport = :$1" | grep -q .; }
t_check "stream listens (plain and TLS)" t_wait 30 sh -c "ss -Htln 'sport = :$SP' | grep -q . && ss -Htln 'sport = :$TP' | grep -q ."
URL=ws://127.0.0.1:$SP/stream/
TURL=wss://127.0.0.1:$TP/stream/

G=0   # rows queued so far (distinct results: each its own time)
inject() { # MSM N: N results of MSM from the 50 probes, one statement
	t_psql "INSERT INTO result_queue (probe_id, session_id, from_addr, line)
	        SELECT 2000 + (g % 50), 'ab', '198.51.100.7',
	          format('{\"id\":\"$1\",\"fw\":5120,\"time\":%s,\"dst_addr\":\"192.0.2.53\",\"af\":4,\"proto\":\"ICMP\",\"size\":48,\"result\":[{\"rtt\":%s.5}]}',
	                 $(date +%s) - 3600 + g, g % 90 + 1)
	        FROM generate_series($G + 1, $G + $2) g"
	G=$((G + $2))
}
stored() { [ "$(t_psql "SELECT count(*) FROM results WHERE msm_id = $1")" -ge "$2" ]; }
want() { t_psql "SELECT result FROM results WHERE msm_id = $1 ORDER BY seq"; }
same() { # FILE MSM: FILE holds every stored result of MSM once, in order
	cmp -s "$1" <(want "$2") || { t_log "$1: $(wc -l <"$1") lines, want $(want "$2" | wc -l)"; return 1; }
}

# 1. a client subscribed before the results come (no backlog), one over
#    TLS, and one for a single probe
$PY "$CLIENT" sub "$URL" 1001 "$T/live.out" --count 1200 --ready "$T/live.ready" 2>"$T/live.err" &
LIVE=$!
$PY "$CLIENT" sub "$TURL" 1001 "$T/tls.out" --count 1200 --ready "$T/tls.ready" 2>"$T/tls.err" &
TLS=$!
$PY "$CLIENT" sub "$URL" 1001 "$T/prb.out" --prb 2007 --count 24 --ready "$T/prb.ready" 2>"$T/prb.err" &
PRB=$!
t_check "clients subscribed" t_wait 60 test -f "$T/live.ready" -a -f "$T/tls.ready" -a -f "$T/prb.ready"
for i in 1 2 3 4 5 6; do inject 1001 100; inject 1002 20; done
t_wait 120 stored 1001 600
# 2. a client with sendBacklog subscribes while results keep coming: the
#    backlog and then the live results, with no gap and no repeat
$PY "$CLIENT" sub "$URL" 1001 "$T/back.out" --backlog --count 1200 2>"$T/back.err" &
BACK=$!
for i in 1 2 3 4 5 6; do inject 1001 100; inject 1002 20; done
t_check "results stored" t_wait 120 stored 1001 1200
t_check "live client got its 1200 results" t_wait 120 sh -c "! kill -0 $LIVE 2>/dev/null"
wait $LIVE; t_check "live client: no error" test $? = 0
t_check "live client: every result once, in storage order" same "$T/live.out" 1001
t_check "TLS client got its results" t_wait 120 sh -c "! kill -0 $TLS 2>/dev/null"
t_check "TLS client: every result once, in storage order" same "$T/tls.out" 1001
t_check "backlog client got its results" t_wait 120 sh -c "! kill -0 $BACK 2>/dev/null"
wait $BACK; t_check "backlog client: no error" test $? = 0
t_check "backlog client: every result once, in storage order" same "$T/back.out" 1001
t_check "probe filter: the probe's results only, in order" \
	cmp -s "$T/prb.out" <(t_psql "SELECT result FROM results WHERE msm_id = 1001 AND prb_id = 2007 ORDER BY seq")

# 3. refusals
$PY "$CLIENT" bad "$URL" "$T/bad.out" 2>"$T/bad.err"
t_check "bad messages: each answered" test "$(wc -l <"$T/bad.out")" = 13
t_check "bad messages: atlas_error for each refusal" \
	test "$(head -11 "$T/bad.out" | grep -c '^\["atlas_error",')" = 11
t_check "bad messages: the connection still subscribes (streamType)" \
	test "$(tail -2 "$T/bad.out" | cut -c1-22 | tr '\n' ' ')" = '["atlas_subscribed",{" ["atlas_unsubscribed", '
t_check "bad message: msm required" grep -q 'msm is required' "$T/bad.out"
t_check "plain HTTP on the stream port is refused" \
	sh -c "! curl -fsS -o /dev/null http://127.0.0.1:$SP/stream/ 2>/dev/null"
t_check "other paths are refused" \
	sh -c "! $PY -c 'import websocket; websocket.create_connection(\"ws://127.0.0.1:$SP/other\", timeout=10)' 2>/dev/null"

# 4. a client that never reads is dropped; another keeps receiving
$PY "$CLIENT" stall "$URL" 1002 "$T/stall.ready" "$T/stall.go" "$T/stall.out" 2>"$T/stall.err" &
STALL=$!
have=$(want 1002 | wc -l)
$PY "$CLIENT" sub "$URL" 1002 "$T/fast.out" --count 12000 --ready "$T/fast.ready" 2>"$T/fast.err" &
FAST=$!
t_check "stalled and fast clients subscribed" t_wait 60 test -f "$T/stall.ready" -a -f "$T/fast.ready"
# paced by the fast client (never more than 1000 results behind), so that
# only the stalled one overflows its queue
got() { [ "$(wc -l <"$T/fast.out")" -ge "$1" ]; }
for i in $(seq 12); do
	inject 1002 1000
	t_wait 120 got $(((i - 1) * 1000)) || break
done
t_check "fast client got all 12000 results" t_wait 300 sh -c "! kill -0 $FAST 2>/dev/null"
wait $FAST; t_check "fast client: no error" test $? = 0
t_check "fast client: every result once, in storage order" \
	cmp -s "$T/fast.out" <(want 1002 | tail -n +$((have + 1)))
touch "$T/stall.go"
t_check "stalled client: closed by the server" t_wait 60 test -s "$T/stall.out"
t_check "stalled client: its last message is atlas_error (overflow)" \
	grep -q '^\["atlas_error",".*overflow' "$T/stall.out"
t_check "the worker stored everything meanwhile" stored 1002 $((have + 12000))
t_check "api still up" kill -0 "$(echo $T_PIDS | cut -d' ' -f1)"

# 5. the database goes away: subscribers are told (their stream may have
#    a gap) and dropped, not left waiting
$PY "$CLIENT" sub "$URL" 1001 "$T/lost.out" --ready "$T/lost.ready" 2>"$T/lost.err" &
LOST=$!
t_check "subscribed before the database stops" t_wait 60 test -f "$T/lost.ready"
"$TOP/scripts/pg" kill "$T/pg"
t_check "subscriber dropped when the database went away" t_wait 60 sh -c "! kill -0 $LOST 2>/dev/null"
t_check "... with an atlas_error saying why" grep -q 'atlas_error.*lost its database connection' "$T/lost.err"
t_check "api still up without its database" kill -0 "$(echo $T_PIDS | cut -d' ' -f1)"
t_done
