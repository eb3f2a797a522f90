#!/bin/bash
# pipeline bench: results per second from upload to `results`, beside a bare
# COPY of the same final rows into an equivalent table of the same cluster.
#   1. upload: a fleet of probes (tests/helpers/pipe_load, libssh) post
#      P_TO_C_REPORT bodies through vantage-gateway's result sink into
#      result_queue; every probe posts on its own, a post carries what a
#      stock probe accumulates between httppost runs (MIN..MAX lines), and
#      up to one post per probe is in flight at once
#   2. vantage-worker on the pre-filled queue: one worker, then two
#   3. end to end: uploads with two workers running, until all are stored
#   4. reference: COPY of the stored rows into a table like `results`
# Result lines are the RIPE samples (../shared/samples) in the probe's
# format, with per-probe timestamps; every figure is checked for count.
#   PIPE_BENCH_RESULTS=N (default 200000)  PIPE_BENCH_PROBES=N (default 400)
#   PIPE_BENCH_THREADS=N (load threads, default 8)
#   PIPE_BENCH_LINES="MIN MAX" (result lines per post, default "20 300")
. "$(dirname "$0")/../lib.sh"
N=${PIPE_BENCH_RESULTS:-200000}
P=${PIPE_BENCH_PROBES:-400}
LT=${PIPE_BENCH_THREADS:-8}
read -r LMIN LMAX <<<"${PIPE_BENCH_LINES:-20 300}"
HELPERS=${VANTAGE_TESTS:-$TOP/build/tests}
LOAD=$HELPERS/pipe_load
CMP=$HELPERS/pipe_enrichcmp
SAMPLES=${VANTAGE_SAMPLES:-$TOP/../shared/samples}
[ -x "$LOAD" ] && [ -x "$CMP" ] && [ -x "$BIN/vantage-gateway" ] && [ -x "$BIN/vantage-worker" ] ||
	{ echo "build first"; exit 1; }
[ -f "$SAMPLES/ping.jsonl" ] || { echo "no samples in $SAMPLES"; exit 1; }
command -v jq >/dev/null || { echo "jq missing"; exit 1; }
t_setup
t_pg_start >/dev/null || exit 1
CTRL=$(t_free_port)

ms() { date +%s%3N; }
rate() { awk -v n="$1" -v t="$2" 'BEGIN { printf "%d", (t > 0 ? n * 1000 / t : 0) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
count() { t_psql "SELECT count(*) FROM $1"; }

# The probe's result lines: the stored samples without what the controller
# adds (PROTOCOL.md), modern firmware only; pipe_load adds "id" and "time".
for t in ping:1001 traceroute:2001 dns:3001; do
	jq -c 'select((.fw // 0) >= 4600) | del(.msm_id, .prb_id, .timestamp,
		.type, .from, .group_id, .step, .stored_timestamp, .msm_name,
		.avg, .min, .max, .dup, .rcvd, .sent, .id, .time)' \
		"$SAMPLES/${t%%:*}.jsonl" | sed "s/^{/${t##*:}\t,/"
done >"$T/templates"
# The worker's fast enrichment path must give what proto/enrich gives.
awk -F'\t' '{print "{\"id\":\"" $1 "\",\"time\":1700000000" $2}' "$T/templates" >"$T/lines"
"$CMP" "$T/lines" 2000 "$$" >"$T/cmp.out" 2>&1 ||
	{ echo "fast enrichment differs from proto/enrich:"; tail -5 "$T/cmp.out"; exit 1; }
echo "fast enrichment path checked against proto/enrich: $(tail -1 "$T/cmp.out")"
t_psql "INSERT INTO measurements (id, type, af, target, interval, spread)
        VALUES (1001, 'ping', 4, '192.0.2.53', 240, 60),
               (2001, 'traceroute', 4, '192.0.2.53', 900, 60);
        INSERT INTO measurements (id, type, af, target, is_oneoff)
        VALUES (3001, 'dns', 4, '192.0.2.53', true);"
# The worker stores results only from probes the measurement was assigned
# to: pipe_load's probes are assigned all three as they are registered.
t_psql "CREATE FUNCTION bench_assign() RETURNS trigger LANGUAGE plpgsql AS \$\$
        BEGIN INSERT INTO assignments (msm_id, probe_id)
              SELECT id, NEW.id FROM measurements; RETURN NULL; END \$\$;
        CREATE TRIGGER bench_assign AFTER INSERT ON probes
        FOR EACH ROW EXECUTE FUNCTION bench_assign()"
echo "PostgreSQL as scripts/pg starts it for scripts/stack (unchanged):" \
	"$(t_psql "SELECT string_agg(name || '=' || current_setting(name), ', ' ORDER BY name)
	 FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit',
	 'shared_buffers', 'wal_level', 'full_page_writes')")"
echo "load: $N results ($(wc -l <"$T/templates") RIPE sample shapes, avg $(awk -F'\t' '{s += length($2) + 30} END {printf "%d", s / NR}' "$T/templates") bytes) from $P probes"

"$BIN/vantage-gateway" --db "$VANTAGE_DB" --listen 127.0.0.1 --reg-port 0 \
	--ctrl-port "$CTRL" --host-keys "$T/keys" --name gw-bench \
	--max-sessions $((P * 2 + 100)) --log-level warn >>"$T/gw.log" 2>&1 &
GWPID=$!
t_bg $GWPID
t_wait 60 sh -c "ss -Htln 'sport = :$CTRL' | grep -q ." || { echo "gateway did not start"; exit 1; }

# 1. upload into result_queue, no worker running
"$LOAD" "$VANTAGE_DB" "$CTRL" "$P" "$N" "$T/templates" "$LT" "$LMIN" "$LMAX" >"$T/load1.out" 2>"$T/load1.err" ||
	{ echo "upload failed:"; tail -n 5 "$T/load1.err" "$T/gw.log"; exit 1; }
read -r _ up_n up_posts up_ms _ _ < <(grep '^uploaded' "$T/load1.out")
read -r _ _ _ _ _ avg_lines in_flight busy < <(grep '^shape' "$T/load1.out")
echo "load shape: $P probes posting independently ($LT load threads), $LMIN..$LMAX result lines per post (avg $avg_lines), $up_posts posts, up to $in_flight posts in flight at once, $busy answered 503 (busy) and posted again"
q=$(count result_queue)
[ "$q" = "$N" ] || { echo "queue holds $q of $N"; exit 1; }
t_psql "CREATE TABLE bench_queue AS SELECT * FROM result_queue"
t_psql "VACUUM ANALYZE result_queue"

# 2. workers on the pre-filled queue
refill() {
	t_psql "TRUNCATE results, latest, rejected, result_queue;
	        INSERT INTO result_queue OVERRIDING SYSTEM VALUE SELECT * FROM bench_queue"
	t_psql "VACUUM ANALYZE result_queue"
	t_psql "CHECKPOINT"
}
workers() { # N: N workers drain the queue; prints ms
	local t0 pids=() i
	t0=$(ms)
	for ((i = 0; i < $1; i++)); do
		"$BIN/vantage-worker" --once --log-level warn 2>>"$T/worker.log" &
		pids+=($!)
	done
	wait "${pids[@]}"
	echo $(($(ms) - t0))
}
stored_ok() {
	local s r
	s=$(count results)
	r=$(count rejected)
	[ "$s" = "$N" ] && [ "$r" = 0 ] && [ "$(count result_queue)" = 0 ] ||
		{ echo "$1: stored $s of $N, rejected $r"; tail -5 "$T/worker.log"; exit 1; }
}
t_psql "CHECKPOINT"
w1_ms=$(workers 1)
stored_ok "one worker"

# 4. the reference: the same final rows, COPY into a table like results
t_psql "CREATE TABLE ref_results (LIKE results INCLUDING ALL) PARTITION BY RANGE (day)"
for d in $(t_psql "SELECT DISTINCT day FROM results"); do
	t_psql "CREATE TABLE \"ref_$d\" PARTITION OF ref_results FOR VALUES FROM ('$d') TO (('$d'::date + 1))"
done
psql "$VANTAGE_DB" -qX -c "\\copy (SELECT * FROM results) TO '$T/rows.copy'"
t_psql "CHECKPOINT"
t0=$(ms)
# With the compression the gateway's and the workers' sessions use (lz4).
PGOPTIONS="-c default_toast_compression=lz4" psql "$VANTAGE_DB" -qX -v ON_ERROR_STOP=1 \
	-c "\\copy ref_results FROM '$T/rows.copy'" >/dev/null || exit 1
ref_ms=$(($(ms) - t0))
[ "$(count ref_results)" = "$N" ] || { echo "reference COPY incomplete"; exit 1; }

refill || exit 1
w2_ms=$(workers 2)
stored_ok "two workers"

# 3. end to end: new probes upload while two workers run
t_psql "TRUNCATE results, latest, rejected, result_queue; CHECKPOINT"
wpids=()
for i in 1 2; do
	"$BIN/vantage-worker" --log-level warn 2>>"$T/worker.log" &
	wpids+=($!)
	t_bg $!
done
"$LOAD" "$VANTAGE_DB" "$CTRL" "$P" "$N" "$T/templates" "$LT" "$LMIN" "$LMAX" >"$T/load2.out" 2>"$T/load2.err" ||
	{ echo "upload failed:"; tail -5 "$T/load2.err"; exit 1; }
read -r _ _ _ e_up_ms _ e_start < <(grep '^uploaded' "$T/load2.out")
read -r _ _ _ _ _ _ e_in_flight e_busy < <(grep '^shape' "$T/load2.out")
t_wait 600 sh -c "[ \"\$(psql '$VANTAGE_DB' -qtAXc 'SELECT count(*) FROM result_queue')\" = 0 ]"
e2e_ms=$(($(ms) - e_start))
kill "${wpids[@]}"
wait "${wpids[@]}" 2>/dev/null
stored_ok "end to end"

ref=$(rate "$N" "$ref_ms")
show() { # what results ms
	local r
	r=$(rate "$2" "$3")
	printf '%-44s %7d results/s  (%d in %d ms)  ratio to COPY %s\n' "$1" "$r" "$2" "$3" "$(ratio "$r" "$ref")"
}
printf '%-44s %7d rows/s     (%d in %d ms)\n' "reference: bare COPY into a results-like table (lz4)" "$ref" "$N" "$ref_ms"
show "upload via gateway sink -> result_queue" "$up_n" "$up_ms"
show "1 worker: result_queue -> results" "$N" "$w1_ms"
show "2 workers: result_queue -> results" "$N" "$w2_ms"
show "end to end, upload + 2 workers" "$N" "$e2e_ms"
echo "end to end goal: 20000 results/s; upload alone took $e_up_ms ms of the end-to-end run ($up_posts posts per run; end to end: up to $e_in_flight in flight, $e_busy answered 503 and posted again)"
