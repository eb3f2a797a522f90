# shellcheck shell=bash
# wk_lib.sh - shared by the worker tests that feed result_queue straight
# (sourced after lib.sh, with $T and a PostgreSQL from t_pg_start).
# Sets NP probes (ids 5000..) assigned to ping measurement 1001; wk_fill
# queues NR results per probe, oldest first, so that every batch of 10*NP
# rows holds the next ten results of every probe.

: "${NP:=10}"   # probes
: "${NR:=30}"   # results per probe (batches of 100: three batches)
wk_now=$(date +%s)

wk_setup() {
	t_psql "INSERT INTO measurements (id, type, af, target, interval, spread)
	        VALUES (1001, 'ping', 4, '192.0.2.53', 240, 60);
	        INSERT INTO probes (id, key_type, pubkey)
	        SELECT g, 'ssh-ed25519', 'key' || g FROM generate_series(5000, 4999 + $NP) g;
	        INSERT INTO assignments (msm_id, probe_id) SELECT 1001, id FROM probes"
}

# wk_fill: empties results, latest and the queue, then queues the rows
wk_fill() {
	t_psql "TRUNCATE results, latest, result_queue;
	        INSERT INTO result_queue (probe_id, session_id, line)
	        SELECT p, 'ab', format('{\"id\":\"1001\",\"time\":%s,\"result\":[{\"rtt\":1.5}]}', $wk_now - k)
	        FROM generate_series($NR, 1, -1) k, generate_series(5000, 4999 + $NP) p
	        ORDER BY k DESC, p"
}

# wk_count TABLE: its rows
wk_count() { psql "$VANTAGE_DB" -qtAXc "SELECT count(*) FROM $1" 2>/dev/null; }

# wk_stored_ok WHAT: checks that every queued result is stored once and
# latest holds every probe's newest
wk_stored_ok() {
	t_check "$1: every result stored" test "$(wk_count results)" = $((NP * NR))
	t_check "$1: each once" test "$(t_psql "SELECT count(*) FROM (SELECT DISTINCT msm_id, prb_id, ts FROM results) s")" = $((NP * NR))
	t_check "$1: latest holds every probe's newest" \
		test "$(t_psql "SELECT count(*) FROM latest WHERE ts = $wk_now - 1")/$(wk_count latest)" = "$NP/$NP"
}

# wk_stat FILE KEY: a number of the worker's --stats line in FILE
wk_stat() {
	sed -n "s/^vantage-worker stats:.*[ ,;]$2 \([0-9]*\).*/\1/p" "$1"
}

# wk_locks KEY GRANTED: how many sessions hold (true) or wait for (false)
# an advisory lock (KEY, *) of the two-key form
wk_locks() {
	t_psql "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
	        AND classid = $1 AND objsubid = 2 AND granted = $2"
}

# wk_locked KEY GRANTED N: N sessions hold (true) or wait for (false) an
# advisory lock (KEY, *); read anew at each call, so that t_wait waits on it
wk_locked() { test "$(wk_locks "$1" "$2")" = "$3"; }

# wk_waiting N: N workers wait, each holding its wake lock (wake.h)
wk_waiting() { wk_locked 7346003 true "$1"; }

# wk_hold NAME SQL: runs SQL in a session of its own (output in $T/NAME.out,
# its shell's pid in h_NAME) that stays until $T/NAME.go exists
wk_hold() {
	( echo "$2"; while [ ! -e "$T/$1.go" ]; do sleep 0.1; done ) |
		psql "$VANTAGE_DB" -qtAX -F ' ' >"$T/$1.out" 2>&1 &
	t_bg $!
	eval "h_$1=$!"
}

# wk_lock PID KEY GRANTED: the session PID holds (true) or waits for
# (false) advisory lock KEY
wk_lock() {
	test "$(t_psql "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
	        AND classid = $2 AND pid = $1 AND granted = $3")" = 1
}
