#!/bin/bash
# pipeline bench: results per second from upload to `results`, beside a bare
# COPY of the same final rows into an equivalent table of the same cluster.
#   1. upload: a fleet of probes (tests/helpers/pipe_load, libssh) post
#      P_TO_C_REPORT bodies through vantage-gateway's result sink into
#      result_queue; every probe posts on its own, a post carries what a
#      stock probe accumulates between httppost runs (MIN..MAX lines), up
#      to one post per probe is in flight at once, and every probe posts
#      until the fleet's results are all sent (none runs dry early)
#   2. vantage-worker on the pre-filled queue: 1, 2 and 4 workers
#   3. end to end: uploads with 1, 2 and 4 workers running, until all are
#      stored; the workers have run before the figure, as deployed ones
#      have (they drain the kept queue first: their backends' first touch
#      of each shared buffer is paid then, not in the figure), or start
#      fresh for it with PIPE_BENCH_E2E=fresh
#   4. reference: COPY of the stored rows into a table like `results` (same
#      cluster, same settings, same indexes), measured twice in the run; the
#      faster of the two is the reference
# Each worker figure comes with where the workers' time went (their own
# clocks, vantage-worker --stats) and the wait events of the cluster's
# backends sampled every 0.1 s (pg_stat_activity); every figure with the
# CPU time its parts took (PostgreSQL's processes from /proc, the gateway,
# the load generator, the workers) and the cluster's page faults, beside
# the reference COPY's: on a
# machine whose cores are all busy, that sum is what sets the rate.  Beside
# it, the whole machine's CPU through the phase (/proc/stat): what the parts
# did not use (the bench's own processes, the kernel's threads, anything
# else on the machine) and how much of the time the cores were idle; the
# autovacuums that ran in the phase (pg_stat_all_tables: none, autovacuum
# is off in the bench's cluster); and the vacuum of the tables the phase
# wrote, run right after its window, with the ratio counting it on both
# sides (the reference COPY's table is vacuumed likewise).
# Result lines are the RIPE samples (../shared/samples) in the probe's
# format, with per-probe timestamps; every figure is checked for count.
#   PIPE_BENCH_RESULTS=N (default 200000)  PIPE_BENCH_PROBES=N (default 400)
#   PIPE_BENCH_THREADS=N (load threads, default 8)
#   PIPE_BENCH_LINES="MIN MAX" (result lines per post, default "20 300")
#   PIPE_BENCH_WORKERS="K ..." (worker counts measured, default "1 2 4";
#   a pre-filled queue drained by one worker always comes first)
# Where the upload's time goes comes from the gateway's --metrics (the
# sink threads' time building rows and storing them through COMMIT, the
# uploads' waits for a sink thread and for their OK).
#   PIPE_BENCH_GW_ARGS="..." (more vantage-gateway flags, e.g.
#   "--sink-gather 0" to compare)
#   PIPE_BENCH_WORKER_ARGS="..." (more vantage-worker flags for every
#   worker, e.g. "--active 0" to compare)
#   PIPE_BENCH_E2E=running|fresh (default running: see 3.)
#   PIPE_BENCH_E2E_WARM=N (running: the workers drain the kept queue N
#   times before the figure, default 1)
#   PIPE_BENCH_E2E_AGAIN=1|0 (default 1 with more than one worker count:
#   the end-to-end windows run once in the order of PIPE_BENCH_WORKERS and
#   once more in the reverse order, "2 4 4 2": a run's later windows came
#   out slower than its earlier ones, 2 then 4 making four workers look
#   about 5 % slower than two and 4 then 2 faster, so each count is
#   compared by both its windows)
#   PIPE_BENCH_UPLOAD_ONLY=1: the upload (phase 1) alone, its figures
#   without the ratio to COPY (no reference is made), for comparing sinks
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/helpers/bench_lib.sh"
N=${PIPE_BENCH_RESULTS:-200000}
P=${PIPE_BENCH_PROBES:-400}
LT=${PIPE_BENCH_THREADS:-8}
read -r LMIN LMAX <<<"${PIPE_BENCH_LINES:-20 300}"
read -r -a WS <<<"${PIPE_BENCH_WORKERS:-1 2 4}"
E2E=${PIPE_BENCH_E2E:-running}
WARM=${PIPE_BENCH_E2E_WARM:-1}
AGAIN=${PIPE_BENCH_E2E_AGAIN:-1}
case $E2E in fresh|running) ;; *) echo "PIPE_BENCH_E2E: fresh or running, not $E2E"; exit 2 ;; esac
HELPERS=${VANTAGE_TESTS:-$TOP/build/tests}
LOAD=$HELPERS/pipe_load
CMP=$HELPERS/pipe_enrichcmp
SAMPLES=${VANTAGE_SAMPLES:-$TOP/../shared/samples}
[ -x "$LOAD" ] && [ -x "$CMP" ] && [ -x "$BIN/vantage-gateway" ] && [ -x "$BIN/vantage-worker" ] ||
	{ echo "build first"; exit 1; }
[ -f "$SAMPLES/ping.jsonl" ] || { echo "no samples in $SAMPLES"; exit 1; }
command -v jq >/dev/null || { echo "jq missing"; exit 1; }
# --stats where the worker has it (the bench also measures older builds:
# VANTAGE_BIN, VANTAGE_MIGRATIONS)
WSTATS=
"$BIN/vantage-worker" --help | grep -q -- --stats && WSTATS=--stats
t_setup
t_pg_start >/dev/null || exit 1
# Autovacuum off in the bench's own cluster.  Its launcher visits the
# database about once a minute, so a vacuum of the tables under test fell
# inside some runs' windows and not others' (docs/scaling.md, "Autovacuum
# inside the window").  Each phase's tables are
# vacuumed right after its window instead, the same in every run, and that
# vacuum is printed beside the figure (vacuum_after, vac_show).
t_psql "ALTER SYSTEM SET autovacuum = off" >/dev/null &&
	t_psql "SELECT pg_reload_conf()" >/dev/null || exit 1
CTRL=$(t_free_port)
MPORT=$(t_free_port)

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
echo "PostgreSQL as scripts/pg starts it for scripts/stack, but autovacuum (each phase's tables vacuumed after its window):" \
	"$(t_psql "SELECT string_agg(name || '=' || current_setting(name), ', ' ORDER BY name)
	 FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'autovacuum',
	 'shared_buffers', 'wal_level', 'full_page_writes', 'max_wal_size')")"
echo "load: $N results ($(wc -l <"$T/templates") RIPE sample shapes, avg $(awk -F'\t' '{s += length($2) + 30} END {printf "%d", s / NR}' "$T/templates") bytes) from $P probes"

# The gateway's and the workers' backends, told apart in pg_stat_activity.
PGAPPNAME=gateway "$BIN/vantage-gateway" --db "$VANTAGE_DB" --listen 127.0.0.1 --reg-port 0 \
	--ctrl-port "$CTRL" --host-keys "$T/keys" --name gw-bench \
	--max-sessions $((P * 5 + 100)) --log-level warn --metrics "127.0.0.1:$MPORT" \
	${PIPE_BENCH_GW_ARGS:-} >>"$T/gw.log" 2>&1 &
GWPID=$!
t_bg $GWPID
t_wait 60 sh -c "ss -Htln 'sport = :$CTRL' | grep -q ." || { echo "gateway did not start"; exit 1; }

# Samples the wait events of the gateway's and the workers' backends every
# 0.1 s into $T/waits.$1 until sample_stop.  One psql session repeats the
# query itself (\watch): a shell loop forking `sleep` ten times a second
# cost about 5 % of the machine's two cores here (perf), inside the
# measured phases and not in the reference COPY.
sample_start() {
	printf '%s\n\\watch 0.1\n' "SELECT application_name,
	  coalesce(wait_event_type || ':' || wait_event, 'CPU')
	  FROM pg_stat_activity WHERE state = 'active'
	  AND application_name IN ('gateway', 'worker');" >"$T/sample.sql"
	psql "$VANTAGE_DB" -qtAX -F ' ' <"$T/sample.sql" >"$T/waits.$1" 2>/dev/null &
	SAMPLER=$!
	t_bg $SAMPLER
}
sample_stop() {
	kill "$SAMPLER" 2>/dev/null
	wait "$SAMPLER" 2>/dev/null
}
# waits NAME: the sampled wait events, share of samples per backend kind
waits() {
	awk -v what="$1" 'NF >= 2 { n[$1]++; w[$1 " " $2]++ }
	     END { for (k in w) { split(k, a, " ");
	             printf "%s %.0f %s\n", a[1], 100 * w[k] / n[a[1]], a[2] } }' "$T/waits.$1" |
		sort -k1,1 -k2,2nr | awk '{ if ($1 != last) { if (last != "") printf "\n"; printf "    %s backends:", $1; last = $1; k = 0 }
		                            if (k++ < 5) printf " %s %d%%", $3, $2 } END { if (last != "") printf "\n" }'
}
# split FILE [BEFORE]: the workers' --stats lines summed (ms of all
# workers), less those in BEFORE (the same workers' lines at the phase's
# start)
split_of() {
	awk -v before="${2:-}" 'FILENAME == before { sign = -1 } FILENAME != before { sign = 1 }
	     /^vantage-worker stats:/ { if (sign > 0) seen = 1; gsub(/[,;]/, ""); for (i = 1; i <= NF; i++)
	       if ($i ~ /^(batches|rows|turn|sturn|claim|parse|lookup|enrich|results|latest|other|commit|total|short|full|pipe|overlap|serial|seat|seats|yields)$/) { s[$i] += sign * $(i + 1); if ($i == "pipe") piped = 1; if ($i == "serial") spared = 1; if ($i == "seats") seated = 1 } }
	     END { if (!seen) { print "    (this vantage-worker has no --stats)"; exit }
	           printf "    worker time, ms summed over workers: turn wait %d (claim %d, store %d), claim %d, parse %d, lookup %d, enrich %d, results insert %d, latest upsert %d, other %d, commit %d (total %d; %d batches, %d of them short; %d claims from the queue'"'"'s start)\n",
	           s["turn"] + s["sturn"], s["turn"], s["sturn"], s["claim"], s["parse"], s["lookup"], s["enrich"], s["results"], s["latest"], s["other"], s["commit"], s["total"], s["batches"], s["short"], s["full"]
	           # two batches in flight (--pipeline): the parts above overlap then
	           if (piped) printf "    worker pipeline: %d batches claimed during a store%s, ms summed over workers waiting for the previous store %d\n", s["overlap"], (spared ? sprintf(", %d after one (no turn spare)", s["serial"]) : ""), s["pipe"]
	           # seats (seat.h): the workers beyond --active stand in line
	           if (seated) printf "    worker seats: %d taken, %d given up for a worker in line, ms summed over workers standing in line %d\n", s["seats"], s["yields"], s["seat"] }' ${2:+"$2"} "$1"
}

# cpu_pids PID...: the CPU (ms) the processes have used so far
cpu_pids() {
	local p
	for p in "$@"; do cat "/proc/$p/stat" 2>/dev/null; done |
		awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); s += $12 + $13 } END { printf "%d", s * 1000 / hz }'
}
cpu_gw() { cpu_pids "$GWPID"; }
# cpu_gw_backends: the CPU (ms) the gateway's PostgreSQL backends have used
# so far (application_name gateway: the sink threads' COPYs, and the
# control and key lanes' sessions, which an upload run hardly uses); the
# gateway keeps its connections, so a phase's difference is theirs
cpu_gw_backends() {
	local pids
	pids=$(t_psql "SELECT string_agg(pid::text, ' ') FROM pg_stat_activity WHERE application_name = 'gateway'")
	# shellcheck disable=SC2086 # one pid a word
	cpu_pids $pids
}
# bk_show PHASE N: the gateway's backends' share of the phase's CPU
bk_show() {
	[ -s "$T/bk.$1" ] || return 0
	awk -v n="$2" '{ printf "    of PostgreSQL'"'"'s CPU, the gateway'"'"'s backends (the sink'"'"'s COPYs into result_queue): %.0f ms per 1000 results\n", $1 * 1000 / n }' "$T/bk.$1"
}
# cpu_note PHASE WHAT MS: one part's CPU time in a phase
cpu_note() { echo "$2 $3" >>"$T/cpu.$1"; }
# flt_note PHASE FAULTS: the cluster's page faults in a phase
flt_note() { echo "$2" >"$T/flt.$1"; }
# cpu_show PHASE N: the CPU of the phase's parts per 1000 results
cpu_show() {
	awk -v n="$2" -v ref="$(awk '$1 == "PostgreSQL" { print $2 }' "$T/cpu.ref" 2>/dev/null)" '
	    { ms[$1] += $2; if (!($1 in seen)) { seen[$1] = 1; order[++k] = $1 }; all += $2 }
	    END { printf "    CPU ms per 1000 results:"; for (i = 1; i <= k; i++) printf " %s %.0f,", order[i], ms[order[i]] * 1000 / n
	          printf " all %.0f (%.1fx the reference COPY'"'"'s PostgreSQL CPU)\n", all * 1000 / n, (ref > 0 ? all / ref : 0) }' "$T/cpu.$1"
	[ -s "$T/flt.$1" ] && awk -v n="$2" '{ printf "    PostgreSQL page faults per 1000 results: %.0f\n", $1 * 1000 / n }' "$T/flt.$1"
	mach_show "$1" "$2"
	av_show "$1"
	return 0
}
# mach_show PHASE N: the whole machine's CPU (bench_machine_ms) from the
# start of the phase's run to its end (the load generator's whole run with
# its probes' connects, the workers' drain, the COPY) per 1000 results,
# what of it the parts above did not use, and the share of that time its
# cores were idle
mach_show() {
	[ "$(wc -l <"$T/mach.$1" 2>/dev/null)" = 2 ] || return 0
	awk -v n="$2" -v cores="$(getconf _NPROCESSORS_ONLN)" '
	    FILENAME ~ /\/cpu\./ { parts += $2; next }
	    FNR == 1 { b0 = $1; i0 = $2; next }
	    { b = $1 - b0; i = $2 - i0 }
	    END { printf "    the whole machine: %.0f ms of CPU per 1000 results, %.0f of them outside the parts above (the bench'"'"'s own psql and shells, the kernel'"'"'s threads, any other process); its %d cores idle %.0f%% of the phase\n",
	              b * 1000 / n, (b - parts) * 1000 / n, cores, (b + i > 0 ? 100 * i / (b + i) : 0) }' "$T/cpu.$1" "$T/mach.$1"
}
# vacuum_after PHASE TABLE...: vacuums (and analyses) the tables the phase
# wrote, after its window and the phase's own readings; its ms and
# PostgreSQL CPU into $T/vac.PHASE
vacuum_after() {
	local ph=$1 c t0
	shift
	c=$(bench_pg_cpu_ms) t0=$(bench_ms)
	t_psql "VACUUM (ANALYZE) $(echo "$@" | sed 's/ /, /g')" >/dev/null || return 1
	echo "$(($(bench_ms) - t0)) $(($(bench_pg_cpu_ms) - c))" >"$T/vac.$ph"
}
# vac_show PHASE N MS: the vacuum after the phase (N results in MS), and
# the phase's rate and ratio to COPY with it, the reference COPY's own
# vacuum counted likewise
vac_show() {
	local vms vcpu rvms=0
	[ -s "$T/vac.$1" ] || return 0
	read -r vms vcpu <"$T/vac.$1"
	[ -s "$T/vac.ref" ] && read -r rvms _ <"$T/vac.ref"
	awk -v ph="$1" -v n="$2" -v ms="$3" -v vms="$vms" -v vcpu="$vcpu" \
	    -v rn="$N" -v rms="$ref_ms" -v rvms="$rvms" 'BEGIN {
		printf "    then the vacuum of what it wrote, after the window: %d ms, PostgreSQL %.0f ms of CPU per 1000 results", vms, vcpu * 1000 / n
		if (ph != "ref" && ms + vms > 0 && rn > 0)
			printf "; with it %d results/s, ratio %.2f to the COPY with its own vacuum", n * 1000 / (ms + vms), (n / (ms + vms)) / (rn / (rms + rvms))
		printf "\n" }'
}
# av_mark FILE: the cluster's autovacuum and autoanalyze counts so far, a
# table a line (those that had one)
av_mark() {
	t_psql "SELECT relname, autovacuum_count, autoanalyze_count FROM pg_stat_all_tables
	        WHERE autovacuum_count + autoanalyze_count > 0" | tr '|' ' ' >"$1"
}
# av_show PHASE: the autovacuums and autoanalyzes that ran in the phase (its
# PostgreSQL CPU waits for a running one to end, so each counts in the phase
# it ran in); a vacuum of the tables under test costs a second or more
av_show() {
	[ -f "$T/av.$1.0" ] && [ -f "$T/av.$1.1" ] || return 0
	awk -v before="$T/av.$1.0" 'FILENAME == before { v[$1] = $2; a[$1] = $3; next }
	    { dv = $2 - v[$1]; da = $3 - a[$1]
	      if (dv > 0) s = s sprintf(" vacuum %s%s,", $1, dv > 1 ? " (" dv "x)" : "")
	      if (da > 0) s = s sprintf(" analyze %s%s,", $1, da > 1 ? " (" da "x)" : "") }
	    END { sub(/,$/, "", s); printf "    autovacuum in the phase:%s\n", s == "" ? " none" : s }' "$T/av.$1.0" "$T/av.$1.1"
}
# sink_scrape FILE: the gateway's sink metrics now (name and value a line)
sink_scrape() {
	curl -sf --max-time 10 "http://127.0.0.1:$MPORT/metrics" |
		awk '/^vantage_gateway_sink_(seconds_total|groups_total)|^vantage_gateway_upload_seconds_(sum|count)|^vantage_gateway_db_lane_wait_seconds_sum\{lane="sink"\}/ { print $1, $2 }' >"$1"
}
# sink_show PHASE MS: where the upload's time went in the phase (MS long),
# from the gateway's metrics before and after it
sink_show() {
	[ -s "$T/sink.$1.0" ] && [ -s "$T/sink.$1.1" ] ||
		{ echo "    (this vantage-gateway has no sink metrics)"; return; }
	awk -v ms="$2" 'FNR == NR { a[$1] = $2; next } { d[$1] = $2 - a[$1] }
	    END { b = d["vantage_gateway_sink_seconds_total{part=\"build\"}"]
	          s = d["vantage_gateway_sink_seconds_total{part=\"store\"}"]
	          g = d["vantage_gateway_sink_groups_total"]
	          w = d["vantage_gateway_db_lane_wait_seconds_sum{lane=\"sink\"}"]
	          u = d["vantage_gateway_upload_seconds_sum"]; n = d["vantage_gateway_upload_seconds_count"]
	          if (g < 0.5) { print "    (no sink groups counted)"; exit }
	          printf "    upload time: the sink threads built rows %.0f ms and sent them through COMMIT %.0f ms (%.0f groups, %.1f + %.1f ms each; the two threads busy %.0f%% of the phase); an upload waited %.0f ms for a sink thread and %.0f ms for its OK on average (%d uploads)\n",
	                 b * 1000, s * 1000, g, b * 1000 / g, s * 1000 / g, (ms > 0 ? 100 * (b + s) * 1000 / (2 * ms) : 0),
	                 (n > 0 ? w * 1000 / n : 0), (n > 0 ? u * 1000 / n : 0), n }' "$T/sink.$1.0" "$T/sink.$1.1"
}
# the CPU of the workers (their --stats) in FILE
cpu_workers() { sed -n 's/^vantage-worker stats: .*; cpu \([0-9]*\)$/\1/p' "$1" | awk '{ s += $1 } END { printf "%d", s }'; }

# 1. upload into result_queue, no worker running
sample_start up
sink_scrape "$T/sink.up.0"
c_pg=$(bench_pg_cpu_ms) c_gw=$(cpu_gw) c_bk=$(cpu_gw_backends) f_pg=$(bench_pg_faults)
av_mark "$T/av.up.0"
bench_machine_ms >"$T/mach.up"
"$LOAD" "$VANTAGE_DB" "$CTRL" "$P" "$N" "$T/templates" "$LT" "$LMIN" "$LMAX" >"$T/load1.out" 2>"$T/load1.err" ||
	{ echo "upload failed:"; tail -n 5 "$T/load1.out" "$T/load1.err" "$T/gw.log"; exit 1; }
bench_machine_ms >>"$T/mach.up"
cpu_note up PostgreSQL $(($(bench_pg_cpu_ms) - c_pg))
av_mark "$T/av.up.1"
flt_note up $(($(bench_pg_faults) - f_pg))
echo $(($(cpu_gw_backends) - c_bk)) >"$T/bk.up"
cpu_note up gateway $(($(cpu_gw) - c_gw))
cpu_note up load-generator "$(sed -n 's/^cpu //p' "$T/load1.out")"
sink_scrape "$T/sink.up.1"
sample_stop
vacuum_after up result_queue || exit 1
read -r _ up_n up_posts up_ms _ _ < <(grep '^uploaded' "$T/load1.out")
echo "load generator: $(sed -n "s/^times \([0-9]*\) \([0-9]*\)/ms summed over its threads sending posts \1, reading their answers \2/p" "$T/load1.out")"
read -r _ _ _ _ _ avg_lines in_flight busy < <(grep '^shape' "$T/load1.out")
echo "load shape: $P probes posting independently ($LT load threads), $LMIN..$LMAX result lines per post (avg $avg_lines), $up_posts posts, up to $in_flight posts in flight at once, $busy answered 503 (busy) and posted again"
q=$(bench_count result_queue)
[ "$q" = "$N" ] || { echo "queue holds $q of $N"; exit 1; }
# the sink's COPYs (one transaction each; their rows share xmin)
up_copies=$(t_psql "SELECT count(DISTINCT xmin::text) FROM result_queue")
if [ -n "${PIPE_BENCH_UPLOAD_ONLY:-}" ]; then
	printf '%-44s %7d results/s  (%d in %d ms)\n' "upload via gateway sink -> result_queue" \
		"$(bench_rate "$up_n" "$up_ms")" "$up_n" "$up_ms"
	cpu_show up "$up_n"
	bk_show up "$up_n"
	echo "    sink: $up_posts posts stored in $up_copies COPYs ($((up_n / (up_copies > 0 ? up_copies : 1))) results each)"
	sink_show up "$up_ms"
	waits up
	exit 0
fi
bench_queue_keep || exit 1

# 2. workers on the pre-filled queue
workers() { # N: N workers drain the queue; prints ms, their --stats in $T/stats.drain.N
	local t0 pids=() i
	: >"$T/stats.drain.$1"
	sample_start "drain.$1"
	c_pg=$(bench_pg_cpu_ms) f_pg=$(bench_pg_faults)
	av_mark "$T/av.drain.$1.0"
	bench_machine_ms >"$T/mach.drain.$1"
	t0=$(bench_ms)
	for ((i = 0; i < $1; i++)); do
		PGAPPNAME=worker "$BIN/vantage-worker" ${PIPE_BENCH_WORKER_ARGS:-} --once $WSTATS --log-level warn \
			>>"$T/stats.drain.$1" 2>>"$T/worker.log" &
		pids+=($!)
	done
	wait "${pids[@]}"
	echo $(($(bench_ms) - t0))
	bench_machine_ms >>"$T/mach.drain.$1"
	cpu_note "drain.$1" PostgreSQL $(($(bench_pg_cpu_ms) - c_pg))
	av_mark "$T/av.drain.$1.1"
	flt_note "drain.$1" $(($(bench_pg_faults) - f_pg))
	cpu_note "drain.$1" workers "$(cpu_workers "$T/stats.drain.$1")"
	sample_stop
	vacuum_after "drain.$1" result_queue results latest || exit 1
}
t_psql "CHECKPOINT"
declare -A w_ms e_ms e_up
w_ms[1]=$(workers 1) || exit 1
bench_stored_ok "one worker" "$N"

# 4. the reference: the same final rows, COPY into a table like results
t_psql "CREATE TABLE ref_results (LIKE results INCLUDING ALL) PARTITION BY RANGE (day)"
for d in $(t_psql "SELECT DISTINCT day FROM results"); do
	t_psql "CREATE TABLE \"ref_$d\" PARTITION OF ref_results FOR VALUES FROM ('$d') TO (('$d'::date + 1))
	        $BENCH_NO_AUTOVACUUM"
done
psql "$VANTAGE_DB" -qX -c "\\copy (SELECT * FROM results) TO '$T/rows.copy'"
reference() { # 1|2: prints ms of one COPY of the rows into ref_results
	local t0
	t_psql "TRUNCATE ref_results; CHECKPOINT"
	c_pg=$(bench_pg_cpu_ms) f_pg=$(bench_pg_faults)
	av_mark "$T/av.ref.$1.0"
	bench_machine_ms >"$T/mach.ref.$1"
	t0=$(bench_ms)
	# With the compression the gateway's and the workers' sessions use (lz4).
	PGOPTIONS="-c default_toast_compression=lz4" psql "$VANTAGE_DB" -qX -v ON_ERROR_STOP=1 \
		-c "\\copy ref_results FROM '$T/rows.copy'" >/dev/null || exit 1
	echo $(($(bench_ms) - t0))
	bench_machine_ms >>"$T/mach.ref.$1"
	cpu_note "ref.$1" PostgreSQL $(($(bench_pg_cpu_ms) - c_pg))
	av_mark "$T/av.ref.$1.1"
	flt_note "ref.$1" $(($(bench_pg_faults) - f_pg))
	vacuum_after "ref.$1" ref_results || exit 1
	[ "$(bench_count ref_results)" = "$N" ] || { echo "reference COPY incomplete" >&2; exit 1; }
}
ref1_ms=$(reference 1) || exit 1

for k in "${WS[@]}"; do
	[ "$k" = 1 ] && continue
	bench_queue_refill || exit 1
	w_ms[$k]=$(workers $k) || exit 1
	bench_stored_ok "$k workers" "$N"
done

# 3. end to end: new probes upload while k workers run
# queue_drained: waits until the workers have emptied result_queue
queue_drained() {
	# One session looks at the queue every 50 ms, through its index (a
	# count(*) or a new connection every time would cost the machine more
	# than the looking is worth), committing in between (no snapshot
	# held: vacuum and pruning go on as without it).
	timeout 600 psql "$VANTAGE_DB" -qX -v ON_ERROR_STOP=1 -c "DO \$\$ BEGIN
		LOOP EXIT WHEN (SELECT min(id) FROM result_queue) IS NULL;
		COMMIT; PERFORM pg_sleep(0.05); END LOOP; END \$\$"
}
# e2e_window PHASE K: one end-to-end window of K workers, its figures
# under PHASE (e2e.K, or e2e.K.again for the second window of K)
e2e_window() {
	local ph=$1 k=$2 i
	wpids=()
	: >"$T/stats.$ph"
	if [ "$E2E" = running ]; then
		# Workers that have run a while, as deployed ones have: they
		# drain the kept queue first, then the figure starts from empty
		# tables with the same workers and their connections.
		bench_queue_refill || return 1
	else
		t_psql "TRUNCATE results, latest, rejected, result_queue; CHECKPOINT"
	fi
	for ((i = 0; i < k; i++)); do
		PGAPPNAME=worker "$BIN/vantage-worker" ${PIPE_BENCH_WORKER_ARGS:-} $WSTATS --log-level warn \
			>>"$T/stats.$ph" 2>>"$T/worker.log" &
		wpids+=($!)
		t_bg $!
	done
	if [ "$E2E" = running ]; then
		queue_drained || { echo "end to end, $k workers: the kept queue did not drain"; return 1; }
		for ((i = 1; i < WARM; i++)); do
			bench_queue_refill && queue_drained ||
				{ echo "end to end, $k workers: the kept queue did not drain"; return 1; }
		done
		# their --stats so far (SIGUSR1), taken off the phase's
		if [ -n "$WSTATS" ]; then
			kill -USR1 "${wpids[@]}"
			t_wait 60 sh -c "[ \$(grep -c '^vantage-worker stats:' '$T/stats.$ph') -ge $k ]" ||
				{ echo "end to end, $k workers: no --stats line on SIGUSR1"; return 1; }
			cp "$T/stats.$ph" "$T/stats.warm.$ph"
			: >"$T/stats.$ph"
		fi
		t_psql "TRUNCATE results, latest, rejected, result_queue; CHECKPOINT"
	fi
	sample_start "$ph"
	sink_scrape "$T/sink.$ph.0"
	c_pg=$(bench_pg_cpu_ms) c_gw=$(cpu_gw) c_bk=$(cpu_gw_backends) f_pg=$(bench_pg_faults)
	c_wk=$(cpu_pids "${wpids[@]}")
	av_mark "$T/av.$ph.0"
	bench_machine_ms >"$T/mach.$ph"
	"$LOAD" "$VANTAGE_DB" "$CTRL" "$P" "$N" "$T/templates" "$LT" "$LMIN" "$LMAX" >"$T/load.$ph" 2>"$T/load2.err" ||
		{ echo "upload failed:"; tail -n 5 "$T/load.$ph" "$T/load2.err" "$T/gw.log"; return 1; }
	read -r _ _ _ up _ e_start < <(grep '^uploaded' "$T/load.$ph")
	e_up[$ph]=$up
	sink_scrape "$T/sink.$ph.1"
	queue_drained || { echo "end to end, $k workers: the queue did not drain"; return 1; }
	e_ms[$ph]=$(($(bench_ms) - e_start))
	bench_machine_ms >>"$T/mach.$ph"
	cpu_note "$ph" PostgreSQL $(($(bench_pg_cpu_ms) - c_pg))
	av_mark "$T/av.$ph.1"
	flt_note "$ph" $(($(bench_pg_faults) - f_pg))
	echo $(($(cpu_gw_backends) - c_bk)) >"$T/bk.$ph"
	cpu_note "$ph" gateway $(($(cpu_gw) - c_gw))
	cpu_note "$ph" load-generator "$(sed -n 's/^cpu //p' "$T/load.$ph")"
	cpu_note "$ph" workers $(($(cpu_pids "${wpids[@]}") - c_wk))
	sample_stop
	vacuum_after "$ph" result_queue results latest || return 1
	kill "${wpids[@]}"
	wait "${wpids[@]}" 2>/dev/null
	bench_stored_ok "end to end, $k workers" "$N"
}
# the windows: the worker counts in order, then (AGAIN) in reverse
order=("${WS[@]}")
if [ "$AGAIN" = 1 ] && [ "${#WS[@]}" -gt 1 ]; then
	for ((i = ${#WS[@]} - 1; i >= 0; i--)); do order+=("${WS[$i]}"); done
fi
for k in "${order[@]}"; do
	if [ -n "${e_ms[e2e.$k]:-}" ]; then
		e2e_window "e2e.$k.again" "$k" || exit 1
	else
		e2e_window "e2e.$k" "$k" || exit 1
	fi
done
ref2_ms=$(reference 2) || exit 1
ref_ms=$((ref1_ms < ref2_ms ? ref1_ms : ref2_ms))
ref_n=$((ref1_ms < ref2_ms ? 1 : 2))
cp "$T/cpu.ref.$ref_n" "$T/cpu.ref"
cp "$T/flt.ref.$ref_n" "$T/flt.ref"
cp "$T/mach.ref.$ref_n" "$T/mach.ref"
cp "$T/av.ref.$ref_n.0" "$T/av.ref.0"
cp "$T/av.ref.$ref_n.1" "$T/av.ref.1"
cp "$T/vac.ref.$ref_n" "$T/vac.ref"

ref=$(bench_rate "$N" "$ref_ms")
show() { # what results ms
	local r
	r=$(bench_rate "$2" "$3")
	printf '%-44s %7d results/s  (%d in %d ms)  ratio to COPY %s\n' "$1" "$r" "$2" "$3" "$(bench_ratio "$r" "$ref")"
}
printf '%-44s %7d rows/s     (%d in %d ms; the two COPYs of the run took %d and %d ms)\n' \
	"reference: bare COPY into a results-like table (lz4)" "$ref" "$N" "$ref_ms" "$ref1_ms" "$ref2_ms"
cpu_show ref "$N"
vac_show ref "$N" "$ref_ms"
show "upload via gateway sink -> result_queue" "$up_n" "$up_ms"
cpu_show up "$up_n"
vac_show up "$up_n" "$up_ms"
bk_show up "$up_n"
echo "    sink: $up_posts posts stored in $up_copies COPYs ($((up_n / (up_copies > 0 ? up_copies : 1))) results each)"
sink_show up "$up_ms"
waits up
for k in $(printf '%s\n' 1 "${WS[@]}" | awk '!seen[$0]++'); do
	show "$k worker(s): result_queue -> results" "$N" "${w_ms[$k]}"
	split_of "$T/stats.drain.$k"
	cpu_show "drain.$k" "$N"
	vac_show "drain.$k" "$N" "${w_ms[$k]}"
	waits "drain.$k"
done
[ "$E2E" = running ] &&
	echo "end to end: the workers ran before each figure (they drained the kept queue first, as deployed workers have run); PIPE_BENCH_E2E=fresh starts them with it"
# e2e_show PHASE K TITLE: one end-to-end window's figures
e2e_show() {
	show "$3" "$N" "${e_ms[$1]}"
	echo "    upload alone took ${e_up[$1]} ms of it"
	sink_show "$1" "${e_up[$1]}"
	split_of "$T/stats.$1" "$([ -s "$T/stats.warm.$1" ] && echo "$T/stats.warm.$1")"
	cpu_show "$1" "$N"
	vac_show "$1" "$N" "${e_ms[$1]}"
	bk_show "$1" "$N"
	waits "$1"
}
for k in "${WS[@]}"; do
	e2e_show "e2e.$k" "$k" "end to end, upload + $k worker(s)"
done
if [ -n "${e_ms[e2e.${WS[0]}.again]:-}" ]; then
	echo "end to end again, the worker counts in reverse order (${order[*]}):"
	for ((i = ${#WS[@]} - 1; i >= 0; i--)); do
		k=${WS[$i]}
		e2e_show "e2e.$k.again" "$k" "end to end again, upload + $k worker(s)"
	done
	# each count by both its windows, against two workers' (or the
	# first count's)
	base=2
	[ -n "${e_ms[e2e.2]:-}" ] || base=${WS[0]}
	for k in "${WS[@]}"; do
		[ "$k" = "$base" ] && continue
		awk -v k="$k" -v b="$base" -v a1="${e_ms[e2e.$k]}" -v a2="${e_ms[e2e.$k.again]}" \
		    -v b1="${e_ms[e2e.$base]}" -v b2="${e_ms[e2e.$base.again]}" 'BEGIN {
			printf "%s workers against %s, both windows of each: %d ms against %d ms, %.2fx the time (first windows %.2fx, second %.2fx)\n",
			       k, b, a1 + a2, b1 + b2, (a1 + a2) / (b1 + b2), a1 / b1, a2 / b2 }'
	done
fi
echo "goals: end to end with 2 workers >= 0.4 of COPY, 1 worker >= 0.3; 4 workers no slower than 2 ($up_posts posts per upload run)"
