# bench_lib.sh - shared by the results benches (tests/bench/pipeline.sh,
# tests/bench/stream.sh; sourced after lib.sh, with $T and a PostgreSQL from
# t_pg_start): timing and rate arithmetic, and a result_queue that is filled
# once and replayed for every figure.

bench_ms() { date +%s%3N; }
# bench_rate N MS: N per second
bench_rate() { awk -v n="$1" -v t="$2" 'BEGIN { printf "%d", (t > 0 ? n * 1000 / t : 0) }'; }
# bench_ratio A B: A / B, two decimals
bench_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
bench_count() { t_psql "SELECT count(*) FROM $1"; }

# bench_queue_keep: result_queue as it is now becomes the bench's queue
# (table bench_queue, every column, ids and receive times included).
bench_queue_keep() {
	t_psql "CREATE TABLE bench_queue AS SELECT * FROM result_queue" &&
		t_psql "VACUUM ANALYZE result_queue"
}

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
