#!/bin/bash
# metrics.sh - every daemon's Prometheus metrics, scraped while a loopback
# stack works (the real vantage-gateway, -scheduler, -worker, -api and two
# vantage-probes; the archiver's textfile):
#  (a) each /metrics is valid text exposition (tests/helpers/prom_check.py:
#      HELP/TYPE, names, escapes, counters _total, histogram buckets),
#      other paths 404, other methods 405, the API's metrics on their own
#      port only;
#  (b) the gateway's KEEP sessions equal the probes connected, and its
#      handshakes and uploads count;
#  (c) results stored rises after results flow (worker), uploads and
#      their latency histogram (gateway), passes and assignments
#      (scheduler);
#  (d) the API's request counter and histogram rise with requests, by
#      endpoint and status;
#  (e) the archiver writes its textfile (--metrics-file) atomically.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/helpers/probe_lib.sh"
t_setup

for b in vantage-gateway vantage-probe vantage-scheduler vantage-worker \
	vantage-api vantage-archiver; do
	[ -x "$BIN/$b" ] || t_skip "bin/$b not built"
done
[ "$(id -u)" = 0 ] || t_skip "raw sockets need root"
id nobody >/dev/null 2>&1 || t_skip "no user nobody"
command -v curl >/dev/null || t_skip "no curl"
CHECK="/usr/bin/python3 $TOP/tests/helpers/prom_check.py"
t_pg_start || { t_notok "PostgreSQL starts"; t_done; exit 1; }

port() { # a free port none of ours took yet
	local p
	while :; do
		p=$(t_free_port)
		case " $PORTS " in *" $p "*) ;; *) PORTS="$PORTS $p"; echo "$p"; return ;; esac
	done
}
PORTS=""
REG=$(port); CTRL=$(port); M_GW=$(port); M_WK=$(port); M_SC=$(port)
M_API=$(port); API=$(port)
mkdir -p "$T/hk"
"$BIN/vantage-gateway" --db "$VANTAGE_DB" --listen 127.0.0.1 \
	--reg-port "$REG" --ctrl-port "$CTRL" --ctrl-host 127.0.0.1 \
	--host-keys "$T/hk" --name gw1 --metrics "127.0.0.1:$M_GW" >>"$T/gw.log" 2>&1 &
t_bg $!
"$BIN/vantage-worker" --db "$VANTAGE_DB" --poll-ms 200 \
	--metrics "127.0.0.1:$M_WK" >>"$T/worker.log" 2>&1 &
t_bg $!
"$BIN/vantage-scheduler" --db "$VANTAGE_DB" --interval 1 \
	--metrics "127.0.0.1:$M_SC" >>"$T/sched.log" 2>&1 &
t_bg $!
"$BIN/vantage-api" --db "$VANTAGE_DB" --http "127.0.0.1:$API" \
	--metrics "127.0.0.1:$M_API" >>"$T/api.log" 2>&1 &
t_bg $!
listening() { ss -Htln "sport = :$1" | grep -q .; }
for p in $CTRL $M_GW $M_WK $M_SC $M_API $API; do
	t_check "port $p listens" t_wait 30 listening "$p"
done

# scrape NAME PORT: GET /metrics into $T/NAME.prom (curl fails on >= 400)
scrape() { curl -sf --max-time 10 "http://127.0.0.1:$2/metrics" -o "$T/$1.prom"; }
# valid NAME PORT: a scrape that passes the checker
valid() { scrape "$1" "$2" && $CHECK "$T/$1.prom" >"$T/$1.check"; }
# val NAME METRIC [L=V...]: the sum of the matching samples of the last scrape
val() { local n=$1; shift; $CHECK "$T/$n.prom" "$@"; }
# ge NAME PORT WANT METRIC [L=V...]: a fresh scrape's value is >= WANT
ge() {
	local n=$1 p=$2 want=$3 v; shift 3
	scrape "$n" "$p" || return 1
	v=$(val "$n" "$@")
	[ -n "$v" ] && /usr/bin/python3 -c "import sys; sys.exit(0 if float('$v') >= float('$want') else 1)"
}

for d in gw:$M_GW wk:$M_WK sc:$M_SC api:$M_API; do
	t_check "${d%%:*}: /metrics is valid exposition text" valid "${d%%:*}" "${d#*:}"
done
t_check "content type is text/plain version 0.0.4" sh -c \
	"curl -sI 'http://127.0.0.1:$M_WK/metrics' | grep -qi '^content-type: text/plain; version=0.0.4'"
t_check "another path is 404" test "$(curl -s -o /dev/null -w '%{http_code}' \
	"http://127.0.0.1:$M_WK/")" = 404
t_check "POST is 405" test "$(curl -s -o /dev/null -w '%{http_code}' -X POST \
	"http://127.0.0.1:$M_WK/metrics")" = 405
t_check "the API's public port has no /metrics" sh -c \
	"! curl -s 'http://127.0.0.1:$API/metrics' | grep -q vantage_api_requests_total"
t_check "each daemon says which it is" sh -c \
	"grep -q 'vantage_build_info{daemon=\"gateway\"} 1' '$T/gw.prom' &&
	 grep -q 'vantage_build_info{daemon=\"api\"} 1' '$T/api.prom'"
t_check "worker: nothing stored yet" test "$(val wk vantage_worker_results_stored_total)" = 0
t_check "worker: seated (one worker, a seat free)" t_wait 20 ge wk "$M_WK" 1 vantage_worker_seated

# ---- probes connect: sessions ----
t_check "probe 1 added" probe_new "$T/p1" --upload-poll-ms 300
ID1=$ID; P1=("${PARGS[@]}")
probe_run "$T/p1.log"
t_check "probe 2 added" probe_new "$T/p2" --upload-poll-ms 300
ID2=$ID
probe_run "$T/p2.log"
connected() { t_psql "SELECT count(*) FROM probe_sessions WHERE connected AND gateway = 'gw1'"; }
t_check "both probes connected" t_wait 60 sh -c "[ \"\$(psql '$VANTAGE_DB' -tAXc \"SELECT count(*) FROM probe_sessions WHERE connected\")\" = 2 ]"
keep_matches() { scrape gw "$M_GW" && [ "$(val gw vantage_gateway_keep_sessions)" = "$(connected)" ]; }
t_check "gateway: KEEP sessions equal the connected probes" t_wait 20 keep_matches
t_check "gateway: 2 KEEP sessions" test "$(val gw vantage_gateway_keep_sessions)" = 2
t_check "gateway: authenticated controller sessions >= 2" \
	ge gw "$M_GW" 2 vantage_gateway_sessions role=ctrl kind=vantage
t_check "gateway: handshakes counted (registration and controller)" sh -c \
	"[ \"\$($CHECK '$T/gw.prom' vantage_gateway_handshakes_total role=reg)\" -ge 2 ] &&
	 [ \"\$($CHECK '$T/gw.prom' vantage_gateway_handshakes_total role=ctrl)\" -ge 2 ]"

# ---- results flow ----
echo "{\"definitions\": [{\"type\": \"ping\", \"af\": 4, \"packets\": 1,
  \"target\": \"127.0.0.1\", \"description\": \"metrics\"}], \"is_oneoff\": true,
  \"probes\": [{\"type\": \"probes\", \"value\": \"$ID1,$ID2\", \"requested\": 2}]}" \
	>"$T/oneoff.json"
MSM=$("$BIN/vantage" msm create "$T/oneoff.json" 2>>"$T/cli.log" | grep -o '[0-9]\+' | head -1)
t_check "one-off created" test -n "$MSM"
stored() { [ "$(t_psql "SELECT count(*) FROM results WHERE msm_id = ${MSM:-0}")" -ge 2 ]; }
t_check "both probes' results stored" t_wait 90 stored
NSTORED=$(t_psql "SELECT count(*) FROM results")
t_check "worker: results stored rose to what results holds" \
	t_wait 20 ge wk "$M_WK" "$NSTORED" vantage_worker_results_stored_total
t_check "worker: batch latency observed" ge wk "$M_WK" 1 vantage_worker_batch_seconds_count
t_check "worker: exposition still valid" $CHECK "$T/wk.prom"
t_check "gateway: uploads answered 200" t_wait 20 ge gw "$M_GW" 1 vantage_gateway_uploads_total status=200
t_check "gateway: result lines queued >= 2" ge gw "$M_GW" 2 vantage_gateway_results_queued_total
t_check "gateway: upload latency observed" ge gw "$M_GW" 1 vantage_gateway_upload_seconds_count
t_check "gateway: sink lane waits observed" ge gw "$M_GW" 1 vantage_gateway_db_lane_wait_seconds_count lane=sink
t_check "gateway: sink groups counted" ge gw "$M_GW" 1 vantage_gateway_sink_groups_total
t_check "gateway: the sink's store time observed" ge gw "$M_GW" 0.000001 vantage_gateway_sink_seconds_total part=store
t_check "gateway: the sink's build time counted" ge gw "$M_GW" 0 vantage_gateway_sink_seconds_total part=build
t_check "gateway: pushes ok" ge gw "$M_GW" 1 vantage_gateway_pushes_total outcome=ok
t_check "gateway: exposition still valid" $CHECK "$T/gw.prom"
# (a metric renamed or added keeps docs/ in step, both ways)
names_of() { sed -n 's/^# TYPE \(vantage_gateway_[a-z_]*\) .*/\1/p' "$T/gw.prom" | sort -u; }
names_in_docs() { grep -rhoE 'vantage_gateway_[a-z_]+' "$TOP/docs" | sort -u; }
t_check "gateway: the metrics it exposes are the ones docs/ name" \
	diff <(names_of) <(names_in_docs)
t_check "scheduler: passes and assignments counted" sh -c \
	"curl -sf 'http://127.0.0.1:$M_SC/metrics' -o '$T/sc.prom' &&
	 [ \"\$($CHECK '$T/sc.prom' vantage_scheduler_passes_total outcome=ok)\" -ge 1 ] &&
	 [ \"\$($CHECK '$T/sc.prom' vantage_scheduler_assignments_total change=added)\" -ge 2 ]"
t_check "scheduler: the one-off counted by status" sh -c \
	"[ \"\$($CHECK '$T/sc.prom' vantage_scheduler_measurements)\" -ge 1 ]"

# ---- API requests ----
scrape api "$M_API"
B200=$(val api vantage_api_requests_total endpoint=measurement status=200)
B404=$(val api vantage_api_requests_total endpoint=measurement status=404)
for _ in 1 2 3; do
	curl -sf "http://127.0.0.1:$API/api/v2/measurements/$MSM/" >/dev/null
done
curl -s "http://127.0.0.1:$API/api/v2/measurements/999999999/" >/dev/null
curl -s "http://127.0.0.1:$API/api/v2/measurements/$MSM/results/" >"$T/results.json"
t_check "API: 3 more 200s on the measurement endpoint" t_wait 10 ge api "$M_API" \
	$(( ${B200:-0} + 3 )) vantage_api_requests_total endpoint=measurement status=200
t_check "API: one more 404" ge api "$M_API" $(( ${B404:-0} + 1 )) \
	vantage_api_requests_total endpoint=measurement status=404
t_check "API: latency histogram counts them" ge api "$M_API" 4 \
	vantage_api_request_seconds_count endpoint=measurement
RB=$(stat -c %s "$T/results.json")
t_check "API: bytes streamed of results counted" ge api "$M_API" "$RB" \
	vantage_api_response_bytes_total endpoint=results
t_check "API: exposition still valid" $CHECK "$T/api.prom"

# ---- archiver textfile ----
mkdir -p "$T/archive" "$T/textfile"
t_check "archiver runs with --metrics-file" "$BIN/vantage-archiver" --db "$VANTAGE_DB" \
	--store "file://$T/archive" --metrics-file "$T/textfile/vantage_archiver.prom" \
	>"$T/arc.log" 2>&1
t_check "archiver: textfile valid" $CHECK "$T/textfile/vantage_archiver.prom"
t_check "archiver: last run succeeded" test \
	"$($CHECK "$T/textfile/vantage_archiver.prom" vantage_archiver_last_run_success)" = 1
t_check "archiver: nothing overdue" test \
	"$($CHECK "$T/textfile/vantage_archiver.prom" vantage_archiver_oldest_unarchived_age_seconds)" = 0
t_check "archiver: no temporary file left" test "$(ls "$T/textfile")" = vantage_archiver.prom

t_done
