#!/bin/bash
# vantage-worker's store, statement by statement (the server's log of the
# worker's session, log_statement = all): the measurements' lookup sends
# each measurement and (measurement, probe) pair once, however many results
# of them a batch holds; the savepoint, the partitions of the batch's days
# and the seq numbers go in one round trip, and a COPY that meets a stored
# row rolls back in the round trip of the INSERT that follows.  What is
# stored stays as before: results once each, latest the newest per probe,
# the unassigned rejected.
. "$(dirname "$0")/../lib.sh"
t_setup
t_pg_start || { t_notok "PostgreSQL starts"; t_done; exit 1; }
LOG=$T/pg/server.log

now=$(date +%s)
old=$((now - 2 * 86400))    # another day, inside the late window
t_psql "INSERT INTO measurements (id, type, af, target, interval, spread)
        VALUES (1001, 'ping', 4, '192.0.2.53', 240, 60),
               (2001, 'traceroute', 4, '192.0.2.53', 900, 60);
        INSERT INTO probes (id, key_type, pubkey)
        SELECT g, 'ssh-ed25519', 'key' || g FROM generate_series(1000, 1002) g;
        INSERT INTO assignments (msm_id, probe_id)
        VALUES (1001, 1000), (1001, 1001), (1001, 1002), (2001, 1000);"

q() { # probe msm time [n]
	t_psql "INSERT INTO result_queue (probe_id, session_id, line)
	        VALUES ($1, 'ab', '{\"id\":\"$2\",\"time\":$3,\"n\":${4:-0},\"result\":[]}')"
}
# worker NAME: one --once run with its statements in the server's log,
# which go to $T/NAME.log; its --stats to $T/NAME.out
worker() {
	local off
	off=$(stat -c %s "$LOG")
	PGOPTIONS="-c log_statement=all" "$BIN/vantage-worker" --once --stats \
		>"$T/$1.out" 2>"$T/$1.err"
	tail -c +$((off + 1)) "$LOG" >"$T/$1.log"
}

# Many results of few pairs, on two days; 2001 is not assigned to 1001.
for i in 1 2 3 4 5 6; do
	q 1000 1001 $((now - i)) "$i"
	q 1001 1001 $((old - i)) "$i"
	q 1000 2001 $((now - i)) "$i"
done
q 1001 2001 "$now"
worker a
t_check "first batch: 18 stored by COPY" grep -q "rows 19, copied 18;" "$T/a.out"
t_check "first batch: the unassigned rejected" \
	test "$(t_psql "SELECT count(*) FROM rejected WHERE reason LIKE 'probe not assigned%'")" = 1
t_check "the measurements' lookup names each measurement once" \
	grep -q "parameters: \$1 = '{1001,2001}'$" "$T/a.log"
t_check "the assignments' lookup names each pair once" \
	grep -q "parameters: \$1 = '{1001,1001,2001,2001}', \$2 = '{1000,1001,1000,1001}', \$3 = " "$T/a.log"
t_check "savepoint, both days' partitions and the seq numbers: one statement" \
	grep -q "statement: SAVEPOINT wk; DO .*results_$(date -u -d "@$((now - 1))" +%Y%m%d).*; DO .*results_$(date -u -d "@$((old - 1))" +%Y%m%d).*; SELECT nextval('results_seq') FROM generate_series(1, 18)$" "$T/a.log"
t_check "no savepoint in a statement of its own" sh -c "! grep -q 'statement: SAVEPOINT wk\$' '$T/a.log'"
t_check "both partitions made" \
	test "$(t_psql "SELECT count(*) FROM pg_inherits WHERE inhparent = 'results'::regclass")" = 2
t_check "18 results, seq numbered, each once" \
	test "$(t_psql "SELECT count(*), count(DISTINCT seq) FROM results WHERE seq IS NOT NULL")" = "18|18"
t_check "latest: the newest per (measurement, probe)" \
	test "$(t_psql "SELECT string_agg(msm_id || ':' || prb_id || ':' || (ts - $old), ',' ORDER BY msm_id, prb_id) FROM latest")" = \
	"1001:1000:$((2 * 86400 - 1)),1001:1001:-1,2001:1000:$((2 * 86400 - 1))"

# A row stored before beside new ones on both days: the COPY fails on the
# key, and the rollback goes with the partitions and the INSERT.
q 1000 1001 $((now - 1)) 1
q 1000 1001 $((now + 0)) 7
q 1001 1001 $((old + 0)) 7
worker b
t_check "second batch: by INSERT, the stored row skipped" grep -q "rows 3, copied 0;" "$T/b.out"
t_check "second batch: rolled back in the round trip of the partitions" \
	grep -q "statement: ROLLBACK TO SAVEPOINT wk; DO .*; DO .*; \$" "$T/b.log"
t_check "20 results" test "$(t_psql "SELECT count(*) FROM results")" = 20
t_check "latest moved on for both pairs" \
	test "$(t_psql "SELECT string_agg(msm_id || ':' || prb_id || ':' || (ts - $old), ',' ORDER BY msm_id, prb_id) FROM latest")" = \
	"1001:1000:$((2 * 86400)),1001:1001:0,2001:1000:$((2 * 86400 - 1))"
t_check "queue empty, nothing more rejected" \
	test "$(t_psql "SELECT (SELECT count(*) FROM result_queue) || '|' || (SELECT count(*) FROM rejected)")" = "0|1"
t_done
