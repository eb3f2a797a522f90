#!/bin/bash
# stream_measure.sh - the live stream of a measurement that runs for real:
# vantage-probe (root, --user nobody, loopback targets) measures through
# vantage-gateway, vantage-worker stores, and python3-websocket clients of
# vantage-api's /stream/ receive every stored result of the measurement
# exactly once and in storage order: one subscribed before the first
# result (no backlog), one that subscribes with sendBacklog while the
# measurement runs (its backlog, then live, no gap, no repeat), and one
# over TLS for the one probe.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/helpers/probe_lib.sh"
PY=/usr/bin/python3
CLIENT=$TOP/tests/integration/stream_client.py
t_setup
[ -x "$BIN/vantage-probe" ] || t_skip "bin/vantage-probe not built"
[ "$(id -u)" = 0 ] || t_skip "raw sockets need root"
id nobody >/dev/null 2>&1 || t_skip "no user nobody"
$PY -c 'import websocket' 2>/dev/null || t_skip "no python3-websocket"
t_pg_start || { t_notok "PostgreSQL starts"; t_done; exit 1; }

REG=$(t_free_port)
CTRL=$(t_free_port)
SP=$(t_free_port)
TP=$(t_free_port)
[ "$(printf '%s\n' $REG $CTRL $SP $TP | sort -u | wc -l)" = 4 ] || { TP=$(t_free_port); SP=$(t_free_port); }
mkdir -p "$T/hk"
"$BIN/vantage-gateway" --db "$VANTAGE_DB" --listen 127.0.0.1 --reg-port "$REG" \
	--ctrl-port "$CTRL" --ctrl-host 127.0.0.1 --host-keys "$T/hk" --name gw1 \
	>>"$T/gw.log" 2>&1 &
t_bg $!
t_check "gateway up" t_wait 30 sh -c "ss -Htln 'sport = :$CTRL' | grep -q ."
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=localhost" \
	-addext "subjectAltName=IP:127.0.0.1" -keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null
export VANTAGE_STREAM_CA=$T/cert.pem
"$BIN/vantage-api" --http 127.0.0.1:0 --stream 127.0.0.1:$SP --stream-tls 127.0.0.1:$TP \
	--tls-cert "$T/cert.pem" --tls-key "$T/key.pem" --log-level warn >"$T/api.log" 2>&1 &
t_bg $!
"$BIN/vantage-worker" --poll-ms 200 --log-level warn >"$T/worker.log" 2>&1 &
t_bg $!
t_check "stream listens" t_wait 30 sh -c "ss -Htln 'sport = :$TP' | grep -q ."

S=$T/probe
t_check "probe added" probe_new "$S" --upload-poll-ms 300
probe_run "$T/probe.log"
connected() { [ "$(t_psql "SELECT connected FROM probe_sessions WHERE probe_id = $ID")" = t ]; }
t_check "probe holds KEEP" t_wait 30 connected
M=4001
t_psql "INSERT INTO measurements (id, type, af, target, interval, spread)
        VALUES ($M, 'ping', 4, '127.0.0.1', 2, 0);
        INSERT INTO assignments (msm_id, probe_id) VALUES ($M, $ID)"
N=24      # results each client waits for
URL=ws://127.0.0.1:$SP/stream/
$PY "$CLIENT" sub "$URL" $M "$T/live.out" --count $N --ready "$T/live.ready" 2>"$T/live.err" &
LIVE=$!
$PY "$CLIENT" sub "wss://127.0.0.1:$TP/stream/" $M "$T/tls.out" --prb "$ID" --count $N \
	--ready "$T/tls.ready" 2>"$T/tls.err" &
TLS=$!
t_check "clients subscribed" t_wait 60 test -f "$T/live.ready" -a -f "$T/tls.ready"

# the measurement: a ping of 127.0.0.1 every 2 s, pushed to the probe
NOW=$(date +%s)
printf 'CRONTAB /home/atlas/crons/3\nCRONLINE 2 %s %s NONE 0 evping -4 -c 1 -A %s 127.0.0.1\n' \
	"$NOW" $((NOW + 3600)) $M >"$T/batch"
t_check "crontab pushed" sh -c "'$BIN/vantage' probe push $ID '$T/batch' 2>&1 | tail -1 | grep -qi ': ok\$'"
stored() { [ "$(t_psql "SELECT count(*) FROM results WHERE msm_id = $M")" -ge "$1" ]; }
t_check "results stored" t_wait 120 stored $((N / 3))
# while it runs: a client with the backlog
$PY "$CLIENT" sub "$URL" $M "$T/back.out" --backlog --count $N 2>"$T/back.err" &
BACK=$!
done_() { ! kill -0 "$1" 2>/dev/null; }
t_check "live client got $N results" t_wait 300 done_ $LIVE
t_check "backlog client got $N results" t_wait 300 done_ $BACK
t_check "TLS client got $N results" t_wait 300 done_ $TLS
want() { t_psql "SELECT result FROM results WHERE msm_id = $M ORDER BY seq LIMIT $N"; }
t_check "live: the first $N stored results, each once, in storage order" cmp -s "$T/live.out" <(want)
t_check "TLS: the same" cmp -s "$T/tls.out" <(want)
t_check "backlog: the same (backlog, then live)" cmp -s "$T/back.out" <(want)
t_check "results are the probe's own" grep -q "\"prb_id\":$ID,.*\"type\":\"ping\"" "$T/live.out"
if [ "$T_FAIL" -ne 0 ]; then
	for f in live tls back; do t_log "$f: $(wc -l <"$T/$f.out") lines; $(head -3 "$T/$f.err")"; done
	tail -5 "$T/api.log" "$T/worker.log" | sed 's/^/#   /'
fi
t_done
