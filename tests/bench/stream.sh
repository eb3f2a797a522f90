#!/bin/bash
# stream bench: vantage-api's live stream (/stream/) while the pipeline
# ingests at full speed.
#   1. reference: two vantage-workers drain a pre-filled result_queue of N
#      results of one measurement (vantage-api with its stream running, no
#      subscriber): results per second stored
#   2. the same queue again, with 100 subscribers of that measurement
#      (tests/helpers/stream_load, libwebsockets, one thread): the ingest
#      rate beside 1 (goal: at least 0.9, ingest loses at most 10 %), and
#      the results per second delivered to the subscribers (first result
#      to the last, all clients together)
# The queue rows are the RIPE ping samples in the probe's format, as
# tests/bench/pipeline.sh uses them; every figure is checked for count.
#   STREAM_BENCH_RESULTS=N (default 20000)  STREAM_BENCH_CLIENTS=N (default 100)
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/helpers/bench_lib.sh"
N=${STREAM_BENCH_RESULTS:-20000}
C=${STREAM_BENCH_CLIENTS:-100}
HELPERS=${VANTAGE_TESTS:-$TOP/build/tests}
LOAD=$HELPERS/stream_load
SAMPLES=${VANTAGE_SAMPLES:-$TOP/../shared/samples}
[ -x "$LOAD" ] && [ -x "$BIN/vantage-api" ] && [ -x "$BIN/vantage-worker" ] ||
	{ echo "build first"; exit 1; }
[ -f "$SAMPLES/ping.jsonl" ] || { echo "no samples in $SAMPLES"; exit 1; }
command -v jq >/dev/null || { echo "jq missing"; exit 1; }
t_setup
t_pg_start >/dev/null || exit 1
t_psql "INSERT INTO measurements (id, type, af, target, interval, spread)
        VALUES (1001, 'ping', 4, '192.0.2.53', 240, 60);
        INSERT INTO probes (id, key_type, pubkey)
        SELECT g, 'ssh-ed25519', 'key' || g FROM generate_series(2000, 2399) g;
        INSERT INTO assignments (msm_id, probe_id) SELECT 1001, id FROM probes"
# the probe's lines: the modern ping samples without what the controller adds
jq -c 'select((.fw // 0) >= 4600) | del(.msm_id, .prb_id, .timestamp, .type,
	.from, .group_id, .step, .stored_timestamp, .msm_name, .avg, .min, .max,
	.dup, .rcvd, .sent, .id, .time)' "$SAMPLES/ping.jsonl" |
	sed 's/^{//' >"$T/templates"
NT=$(wc -l <"$T/templates")
now=$(date +%s)
awk -v n="$N" -v nt="$NT" -v now="$now" '
	{ t[NR - 1] = $0 }
	END { for (g = 0; g < n; g++) {
		s = t[g % nt]; gsub(/\\/, "\\\\", s); gsub(/\t/, "\\t", s)
		printf "%d\tab\t198.51.100.7\t{\"id\":\"1001\",\"time\":%d,%s\n", 2000 + g % 400, now - 3600 + int(g / 400), s } }' \
	"$T/templates" >"$T/queue.tsv"
psql "$VANTAGE_DB" -qX -v ON_ERROR_STOP=1 \
	-c "\\copy result_queue (probe_id, session_id, from_addr, line) FROM '$T/queue.tsv'" >/dev/null || exit 1
bench_queue_keep || exit 1
echo "load: $N results of one ping measurement from 400 probes (RIPE samples, avg $(t_psql "SELECT avg(octet_length(line))::int FROM bench_queue") bytes), 2 workers, $C subscribers"

SP=$(t_free_port)
"$BIN/vantage-api" --http 127.0.0.1:0 --stream 127.0.0.1:$SP --stream-clients $((C + 10)) \
	--stream-queue $((N + 10)) --stream-queue-bytes $((N * 2048)) --stream-idle 3600 --log-level warn >"$T/api.log" 2>&1 &
API=$!
t_bg $API
t_wait 30 sh -c "ss -Htln 'sport = :$SP' | grep -q ." || { echo "stream did not start"; exit 1; }

workers() { # 2 workers drain the queue; prints ms
	local t0 pids=() i
	t0=$(bench_ms)
	for i in 1 2; do
		"$BIN/vantage-worker" --once --log-level warn 2>>"$T/worker.log" &
		pids+=($!)
	done
	wait "${pids[@]}"
	echo $(($(bench_ms) - t0))
}

# 1. no subscriber (twice: the first warms the cluster up)
bench_queue_refill; workers >/dev/null; bench_stored_ok "warm-up" "$N"
bench_queue_refill
base_ms=$(workers)
bench_stored_ok "no subscribers" "$N"

# 2. 100 subscribers
bench_queue_refill
rm -f "$T/ready"
nice -n 10 "$LOAD" 127.0.0.1 "$SP" 1001 "$C" "$N" "$T/ready" 600 >"$T/load.out" 2>"$T/load.err" &
LP=$!
t_wait 120 test -f "$T/ready" || { echo "subscribers did not subscribe"; cat "$T/load.err"; exit 1; }
sub_ms=$(workers)
bench_stored_ok "with subscribers" "$N"
wait $LP
lrc=$?
read -r _ delivered _ first _ last _ errs _ closed <"$T/load.out"
[ "$lrc" = 0 ] && [ "$delivered" = $((N * C)) ] ||
	{ echo "subscribers: $(cat "$T/load.out") (want $((N * C)))"; tail -3 "$T/api.log"; exit 1; }
deliv_ms=$((last - first))
base=$(bench_rate "$N" "$base_ms")
sub=$(bench_rate "$N" "$sub_ms")
printf '%-52s %8d results/s  (%d in %d ms)\n' "reference: ingest, 2 workers, stream without subscribers" "$base" "$N" "$base_ms"
printf '%-52s %8d results/s  (%d in %d ms)  ratio to reference %s (goal >= 0.90)\n' \
	"ingest, 2 workers, $C subscribers of the measurement" "$sub" "$N" "$sub_ms" "$(bench_ratio "$sub" "$base")"
printf '%-52s %8d results/s  (%d in %d ms, first to last; %s per subscriber)\n' \
	"delivered to $C subscribers (all together)" "$(bench_rate "$delivered" "$deliv_ms")" "$delivered" "$deliv_ms" "$(bench_rate "$N" "$deliv_ms")"
echo "vantage-api peak RSS: $(awk '/VmHWM/ {print $2, $3}' /proc/$API/status); errors $errs, clients closed early $closed; load average $(cut -d" " -f1-3 /proc/loadavg) on $(nproc) CPUs"
