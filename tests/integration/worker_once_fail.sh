#!/bin/bash
# vantage-worker when its batches keep failing (main.c, ONCE_TRIES):
#  1. with --once, a failure that may heal (a lock held past the worker's
#     lock_timeout) is tried five times in a row, then the worker gives up
#     with the error and exit status 1; the rows stay queued;
#  2. with --once, a failure that cannot heal (migration 024's sequence
#     vt_worker_front dropped: SQLSTATE 42P01) ends it at the first try,
#     with the error, the hint and exit status 1;
#  2b. failures that may heal and then one that cannot: out at that one,
#     saying after how many tries ("after 3 tries");
#  3. without --once, the same failure is logged and tried again, and the
#     worker stores the rows once the sequence is back;
#  4. with --once, a connection lost in a run that cannot be made again at
#     once (the database refusing connections a while, as in a restart) is
#     one of the tries, waited for like the others: the worker goes on and
#     drains the queue once the database takes connections again.
# Each --once run is bounded by timeout(1): a worker that retried forever
# would exit 124.
. "$(dirname "$0")/../lib.sh"
command -v timeout >/dev/null || t_skip "no timeout(1)"
W="$BIN/vantage-worker"
t_setup
t_pg_start || { t_notok "PostgreSQL starts"; t_done; exit 1; }

now=$(date +%s)
t_psql "INSERT INTO measurements (id, type, af, target, interval, spread)
        VALUES (1001, 'ping', 4, '192.0.2.53', 240, 60);
        INSERT INTO probes (id, key_type, pubkey) VALUES (1000, 'ssh-ed25519', 'k');
        INSERT INTO assignments (msm_id, probe_id) VALUES (1001, 1000);
        INSERT INTO result_queue (probe_id, session_id, line)
        SELECT 1000, 'ab', format('{\"id\":\"1001\",\"time\":%s,\"result\":[{\"rtt\":1.5}]}', $now - k)
        FROM generate_series(1, 3) k" >/dev/null ||
	{ t_notok "fixtures"; t_done; exit 1; }
queued() { t_psql "SELECT count(*) FROM result_queue"; }

# 1. a lock held on latest past lock_timeout: five failed batches, then out
psql "$VANTAGE_DB" -qtAX -c "BEGIN; LOCK TABLE latest; SELECT pg_sleep(600)" >/dev/null 2>&1 &
t_bg $!
holding() { [ "$(t_psql "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
	WHERE c.relname = 'latest' AND l.mode = 'AccessExclusiveLock' AND l.granted")" = 1 ]; }
t_wait 30 holding || t_notok "lock taken"
PGOPTIONS='-c lock_timeout=200' timeout 120 "$W" --once 2>"$T/w1.log"
rc=$?
t_log "exit $rc; $(grep -c 'batch failed' "$T/w1.log") failures logged; last: $(grep 'batch failed' "$T/w1.log" | tail -1)"
t_check "a failure that may heal: --once exits 1 (not killed by timeout)" test "$rc" = 1
t_check "after trying again four times" \
	test "$(grep -c 'batch failed (left queued): SQLSTATE 55P03.*retrying in' "$T/w1.log")" = 4
t_check "and giving up at the fifth, with the error" \
	grep -q 'batch failed (left queued): SQLSTATE 55P03.*giving up after 5 tries in a row' "$T/w1.log"
t_check "the rows stay queued" test "$(queued)" = 3
t_psql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE query LIKE '%pg_sleep(600)%' AND pid <> pg_backend_pid()" >/dev/null

# 2. migration 024's sequence missing: out at the first try
t_psql "DROP SEQUENCE vt_worker_front"
timeout 120 "$W" --once 2>"$T/w2.log"
rc=$?
t_log "exit $rc: $(grep 'batch failed' "$T/w2.log")"
t_check "a failure that cannot heal: --once exits 1 (not killed by timeout)" test "$rc" = 1
t_check "at the first try" test "$(grep -c 'batch failed' "$T/w2.log")" = 1
t_check "naming the missing sequence" \
	grep -q 'SQLSTATE 42P01.*vt_worker_front.*giving up after 1 try' "$T/w2.log"
t_check "and what to do" grep -q 'vantage db migrate' "$T/w2.log"
t_check "the rows stay queued" test "$(queued)" = 3

# 2b. failures that may heal, then one that cannot: out at once, with the
# number of tries said right ("after 3 tries", once "after 3 try")
t_psql "CREATE SEQUENCE vt_worker_front MINVALUE 0 START 0"
psql "$VANTAGE_DB" -qtAX -c "BEGIN; LOCK TABLE latest; SELECT pg_sleep(600)" >/dev/null 2>&1 &
t_bg $!
t_wait 30 holding || t_notok "lock taken for 2b"
PGOPTIONS='-c lock_timeout=200' timeout 120 "$W" --once 2>"$T/w2b.log" &
wpid=$!
t_bg $wpid
try2() { grep -q 'SQLSTATE 55P03.*retrying in 2 s (try 2)' "$T/w2b.log"; }
t_check "2b: two batches failed on the lock" t_wait 60 try2
t_psql "DROP SEQUENCE vt_worker_front;
	SELECT pg_terminate_backend(pid) FROM pg_stat_activity
	WHERE query LIKE '%pg_sleep(600)%' AND pid <> pg_backend_pid()" >/dev/null
wait $wpid
rc=$?
t_log "exit $rc: $(grep 'giving up' "$T/w2b.log")"
t_check "2b: the failure that cannot heal ends it (exit 1)" test "$rc" = 1
t_check "2b: saying after how many tries, in the plural" \
	grep -q 'SQLSTATE 42P01.*giving up after [34] tries (the database lacks' "$T/w2b.log"

# 3. without --once: logged, tried again, stored once the sequence is back
"$W" --poll-ms 100 2>"$T/w3.log" &
wpid=$!
t_bg $wpid
second() { grep -q 'SQLSTATE 42P01.*retrying in [0-9]* s (try 2' "$T/w3.log"; }
t_check "without --once the failure is tried again (logged with its try)" t_wait 60 second
t_check "and the worker runs on" kill -0 $wpid
t_psql "CREATE SEQUENCE vt_worker_front MINVALUE 0 START 0"
drained() { [ "$(queued)" = 0 ]; }
t_check "once the sequence is back, the rows are stored" t_wait 120 drained
t_check "all three" test "$(t_psql "SELECT count(*) FROM results")" = 3
kill "$wpid"; wait "$wpid" 2>/dev/null

# 4. --once loses its connection in a run, and cannot connect again for a
# while: batches fail on the lock, the database then refuses connections
# and the worker's backend is ended; connections are let in again (from
# the database postgres) once the worker said it would retry.
t_psql "INSERT INTO result_queue (probe_id, session_id, line)
        SELECT 1000, 'ab', format('{\"id\":\"1001\",\"time\":%s,\"result\":[{\"rtt\":1.5}]}', $now - k)
        FROM generate_series(11, 13) k" >/dev/null
psql "$VANTAGE_DB" -qtAX -c "BEGIN; LOCK TABLE latest; SELECT pg_sleep(600)" >/dev/null 2>&1 &
t_bg $!
t_wait 30 holding || t_notok "lock taken again"
PGAPPNAME=once4 PGOPTIONS='-c lock_timeout=200' timeout 120 "$W" --once 2>"$T/w4.log" &
wpid=$!
t_bg $wpid
first() { grep -q 'SQLSTATE 55P03.*retrying in 1 s (try 1)' "$T/w4.log"; }
t_check "a batch failed on the lock" t_wait 60 first
PG_OTHER=${VANTAGE_DB/dbname=vantage/dbname=postgres}
psql "$PG_OTHER" -qtAX -v ON_ERROR_STOP=1 -c "ALTER DATABASE vantage ALLOW_CONNECTIONS false" \
	-c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
	    WHERE application_name = 'once4'" >/dev/null
refused() { grep -q 'database: .*retrying in [0-9]* s (try [0-9]*)' "$T/w4.log"; }
t_check "the worker cannot connect again and says it will retry" t_wait 60 refused
psql "$PG_OTHER" -qtAX -v ON_ERROR_STOP=1 -c "ALTER DATABASE vantage ALLOW_CONNECTIONS true" \
	-c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
	    WHERE query LIKE '%pg_sleep(600)%' AND pid <> pg_backend_pid()" >/dev/null
wait $wpid
rc=$?
t_log "exit $rc; $(grep -c 'retrying' "$T/w4.log") retries logged; last: $(grep 'retrying' "$T/w4.log" | tail -1)"
t_check "it drained the queue and exited 0 (not 1 at the lost connection)" test "$rc" = 0
t_check "the rows are stored" test "$(queued)" = 0
t_done
