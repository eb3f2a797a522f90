# bench_lib.sh - shared by the benches (tests/bench/pipeline.sh,
# tests/bench/stream.sh, tests/bench/gateway.sh; sourced after lib.sh, with
# $T and a PostgreSQL from t_pg_start): timing and rate arithmetic, the
# cluster's CPU time, and a result_queue that is filled once and replayed
# for every figure.

bench_ms() { date +%s%3N; }
# bench_rate N MS: N per second
bench_rate() { awk -v n="$1" -v t="$2" 'BEGIN { printf "%d", (t > 0 ? n * 1000 / t : 0) }'; }
# bench_ratio A B: A / B, two decimals
bench_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
bench_count() { t_psql "SELECT count(*) FROM $1"; }
# bench_machine_ms: the CPU time (ms) of the whole machine so far, all its
# cores, from /proc/stat: "BUSY IDLE" (idle counts iowait; busy is the
# rest, steal included).  A phase's difference beside the parts a bench
# counts shows what else took the cores (the bench's own psql and shells,
# the kernel's threads, any other process) and whether they were all busy.
bench_machine_ms() {
	awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" {
		printf "%d %d\n", ($2 + $3 + $4 + $7 + $8 + $9) * 1000 / hz, ($5 + $6) * 1000 / hz; exit }' /proc/stat
}

# bench_queue_keep: result_queue as it is now becomes the bench's queue
# (table bench_queue, every column, ids and receive times included).
# Vacuumed here and never by autovacuum (BENCH_NO_AUTOVACUUM).
bench_queue_keep() {
	t_psql "CREATE TABLE bench_queue $BENCH_NO_AUTOVACUUM AS SELECT * FROM result_queue" &&
		t_psql "VACUUM ANALYZE result_queue, bench_queue"
}

# The storage options of a table the bench makes for itself (the kept
# queue, a reference COPY's table): autovacuum leaves it alone.  Its
# launcher looks at each database about once a minute, so the vacuum of
# 200,000 rows the bench wrote into such a table came a phase or two later,
# inside another phase's measured window, and its CPU (about a second) was
# counted there (bench_pg_cpu_ms waits for a running autovacuum).  The
# vacuums of the tables under test still count where they happen.
BENCH_NO_AUTOVACUUM="WITH (autovacuum_enabled = false, toast.autovacuum_enabled = false)"

# bench_queue_refill: empties what the workers write and puts the kept
# queue back, the same rows with the same ids, vacuumed and checkpointed
# so that every figure starts from the same cluster state.
bench_queue_refill() {
	t_psql "TRUNCATE results, latest, rejected, result_queue;
	        INSERT INTO result_queue OVERRIDING SYSTEM VALUE SELECT * FROM bench_queue" &&
		t_psql "VACUUM ANALYZE result_queue" &&
		t_psql "CHECKPOINT"
}

# bench_stored_ok WHAT N: exits the bench unless the workers stored all N
# rows, rejected none and left the queue empty.
bench_stored_ok() {
	local s r q
	s=$(bench_count results)
	r=$(bench_count rejected)
	q=$(bench_count result_queue)
	[ "$s" = "$2" ] && [ "$r" = 0 ] && [ "$q" = 0 ] ||
		{ echo "$1: stored $s of $2, rejected $r, $q still queued"; tail -5 "$T/worker.log"; exit 1; }
}

# bench_pg_cpu_ms [PGDIR]: the CPU time (ms) the whole PostgreSQL cluster
# in PGDIR (default $T/pg) has used so far: every process of the
# postmaster's tree (backends, autovacuum, walwriter... and their own
# children, at any depth), each with the children it has reaped (so a
# backend that ended is in its parent's count, one not reaped yet in its
# own).  Running autovacuum workers are waited for first (60 s at most), so
# that the vacuum a phase causes while it runs counts in that phase.  The
# tree is read three times and a reading is taken only when the same
# processes (pid and start time) were there before and after it: a process
# that ended while its parent and it were read would count twice or not at
# all.  Prints -1 when the cluster is not running.
bench_pg_cpu_ms() { _bench_pg_sum "${1:-$T/pg}"; }
# bench_pg_faults [PGDIR]: the page faults (minor, with those of reaped
# children) the cluster's processes have taken so far, read as
# bench_pg_cpu_ms reads CPU time, without waiting for autovacuum (-1 when
# the cluster is not running).
bench_pg_faults() { _bench_pg_sum "${1:-$T/pg}" faults; }
# _bench_pg_sum PGDIR [faults]: the reading of bench_pg_cpu_ms (with
# faults: of bench_pg_faults)
_bench_pg_sum() {
	local pm a b c i
	pm=$(head -1 "$1/data/postmaster.pid" 2>/dev/null)
	[ -n "$pm" ] && [ -d "/proc/$pm" ] || { echo -1; return; }
	[ -n "${2:-}" ] || t_wait 60 _bench_pg_no_autovacuum || true
	for i in $(seq 50); do
		a=$(_bench_pg_tree "$pm" "${2:-}") b=$(_bench_pg_tree "$pm" "${2:-}") c=$(_bench_pg_tree "$pm" "${2:-}")
		[ "${a#* }" = "${b#* }" ] && [ "${b#* }" = "${c#* }" ] && break
	done
	echo "${b%% *}"
}
_bench_pg_no_autovacuum() {
	[ "$(t_psql "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'")" = 0 ]
}
# _bench_pg_tree PM [faults]: "MS PID:START..." of the process tree below
# PM (with faults: the minor page faults in place of MS)
_bench_pg_tree() {
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v pm="$1" -v hz="$(getconf CLK_TCK)" -v faults="${2:-}" '
		{ s = $0; sub(/^[0-9]+ \(.*\) /, "", s); split(s, f, " ")
		  p = $1 + 0; par[p] = f[2] + 0; st[p] = f[20]
		  t[p] = faults != "" ? f[8] + f[9] : f[12] + f[13] + f[14] + f[15] }
		END { for (p in par) {
			for (q = p + 0; q != pm && q > 1 && (q in par); q = par[q]) ;
			if (q == pm) { sum += t[p]; print p ":" st[p] | "sort -n | tr \"\\n\" \" \"" } }
		      close("sort -n | tr \"\\n\" \" \"")
		      printf "\n%d\n", faults != "" ? sum : sum * 1000 / hz }' | { read -r keys; read -r ms; echo "$ms $keys"; }
}
