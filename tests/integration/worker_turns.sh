#!/bin/bash
# How workers claim (worker.h): where a claim looks, and whose turn it is.
# 1. A claim looks on from where the worker's previous one ended, and from
#    the queue's start only every WK_FULL_EVERY claims and when that finds
#    nothing: --stats counts the looks from the start, and a row with a
#    lower id that commits after the worker went past it (an upload that
#    commits after a later one) is still stored.
# 2. --active N: at most N workers have their backend work at once
#    (migration 023) and at most N work at all (seats, migration 035):
#    the others stand in line, and every worker gets a seat and turns.
# 3. A worker waiting for a turn takes whichever turn frees first (not one
#    it picked beforehand), waiters take turns in the order they came, and
#    a cancelled wait leaves the queue for turns free.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/helpers/wk_lib.sh"
t_setup
t_pg_start || { t_notok "PostgreSQL starts"; t_done; exit 1; }

now=$(date +%s)
NP=30      # probes
NR=100     # results per probe
t_psql "INSERT INTO measurements (id, type, af, target, interval, spread)
        VALUES (1001, 'ping', 4, '192.0.2.53', 240, 60);
        INSERT INTO probes (id, key_type, pubkey)
        SELECT g, 'ssh-ed25519', 'key' || g FROM generate_series(5000, 4999 + $NP) g;
        INSERT INTO assignments (msm_id, probe_id) SELECT 1001, id FROM probes"
fill() { # PART: a tenth of every probe's results, in random order
	t_psql "INSERT INTO result_queue (probe_id, session_id, line)
	        SELECT p, 'ab', format('{\"id\":\"1001\",\"time\":%s,\"result\":[{\"rtt\":1.5}]}', $now - k)
	        FROM generate_series(5000, 4999 + $NP) p, generate_series(1, $NR) k
	        WHERE k % 10 = $1 ORDER BY random()"
}
count() { psql "$VANTAGE_DB" -qtAXc "SELECT count(*) FROM $1" 2>/dev/null; }
stat() { # FILE KEY: a number of the --stats line
	sed -n "s/^vantage-worker stats:.*[ ,;]$2 \([0-9]*\).*/\1/p" "$1"
}

# 1. One worker drains 3,000 rows in batches of 20: 150 claims, of which
# only every 16th (and the last, empty one) looks from the start.
for part in 0 1 2 3 4 5 6 7 8 9; do fill $part; done
"$BIN/vantage-worker" --once --batch 20 --stats --log-level warn >"$T/once.out" 2>"$T/once.log"
t_check "one worker stores every result" test "$(count results)" = $((NP * NR))
b=$(stat "$T/once.out" batches) f=$(stat "$T/once.out" full)
t_log "$(cat "$T/once.out")"
t_check "it took 150 batches" test "${b:-0}" = 150
t_check "at most one claim in 16 looked from the queue's start ($f of $b)" \
	test -n "$f" -a "${f:-999}" -le $((b / 16 + 2))

# A row that takes its id first and commits last: the worker has gone past
# its id when it becomes visible.
t_psql "TRUNCATE results, latest, result_queue"
"$BIN/vantage-worker" --batch 20 --poll-ms 600000 --log-level info \
	>"$T/w0.out" 2>"$T/w0.log" &
w0=$!
t_bg $w0
# The worker waits (holds its wake lock) before the row takes its id: an
# insert that comes first holds every free slot's wake lock shared until
# its COMMIT (018), and the worker's wait would begin only after it.
t_wait 60 wk_waiting 1
( echo "BEGIN; INSERT INTO result_queue (probe_id, session_id, line) VALUES
        (5000, 'ab', '{\"id\":\"1001\",\"time\":$((now - 5000)),\"result\":[{\"rtt\":9.5}]}')
        RETURNING id;"
  while [ ! -e "$T/go" ]; do sleep 0.1; done
  echo "COMMIT;" ) | psql "$VANTAGE_DB" -qtAX >"$T/held.out" 2>&1 &
held=$!
t_wait 60 grep -q . "$T/held.out"
fill 0
fill 1
t_check "the rows committed first are stored" \
	t_wait 120 sh -c "[ \"\$(psql '$VANTAGE_DB' -qtAXc 'SELECT count(*) FROM results')\" = $((NP * NR / 5)) ]"
t_check "the held row's id is below the stored rows' ids" \
	test "$(t_psql "SELECT last_value - $(head -1 "$T/held.out") FROM result_queue_id_seq")" -ge $((NP * NR / 5))
touch "$T/go"
wait $held
fill 2
t_check "the row committed last, below the worker's position, is stored too" \
	t_wait 120 sh -c "[ \"\$(psql '$VANTAGE_DB' -qtAXc 'SELECT count(*) FROM results WHERE ts = $((now - 5000))')\" = 1 ]"
t_check "and the queue is empty" t_wait 60 sh -c \
	"[ \"\$(psql '$VANTAGE_DB' -qtAXc 'SELECT count(*) FROM result_queue')\" = 0 ]"
kill $w0
wait $w0 2>/dev/null

# 2. Three workers, one turn and one seat (given up after 50 ms when
# another worker stands in line): at most one holds a batch at any time,
# the others are seen standing in line, and each takes batches.
t_psql "TRUNCATE results, latest, result_queue"
for part in 0 1 2 3 4 5 6 7 8 9; do fill $part; done
: >"$T/turns"
(while [ ! -e "$T/stop" ]; do
	echo "SELECT count(*) FILTER (WHERE classid = 7346005),
	      count(*) FILTER (WHERE classid = 7346009),
	      count(*) FILTER (WHERE classid = 7346008)
	      FROM pg_locks WHERE locktype = 'advisory' AND granted
	      AND classid IN (7346005, 7346008, 7346009);"
	sleep 0.05
done | psql "$VANTAGE_DB" -qtAX -F ' ' >"$T/turns" 2>/dev/null) &
sampler=$!
for i in 1 2 3; do
	"$BIN/vantage-worker" --once --active 1 --seat-ms 50 --batch 10 --stats --log-level warn \
		>"$T/t$i.out" 2>"$T/t$i.log" &
	eval "t$i=$!"
	t_bg $!
done
wait "$t1" "$t2" "$t3"
touch "$T/stop"
wait $sampler
t_log "turn samples: $(wc -l <"$T/turns"), most held at once: $(awk '$1 > m { m = $1 } END { print m + 0 }' "$T/turns")"
t_check "every result stored once" test "$(t_psql "SELECT count(*) FROM (SELECT DISTINCT msm_id, prb_id, ts FROM results) s")" = $((NP * NR))
t_check "no result stored twice" test "$(count results)" = $((NP * NR))
t_check "latest: the newest of every probe" \
	test "$(t_psql "SELECT count(*) FROM latest WHERE ts = $now - 1")" = "$NP"
t_check "never more than one turn held" awk '$1 > 1 { exit 1 }' "$T/turns"
t_check "never more than one seat held" awk '$3 > 1 { exit 1 }' "$T/turns"
t_check "a worker was seen standing in line" awk '$2 > 0 { f = 1 } END { exit !f }' "$T/turns"
for i in 1 2 3; do
	b=$(stat "$T/t$i.out" batches)
	t_log "worker $i: $(cat "$T/t$i.out")"
	t_check "worker $i took batches" test "${b:-0}" -ge 1
done
t_refuses 2 "--active" "$BIN/vantage-worker" --active -1 --once

# 3. Two turns, both held by sessions of their own; waiters queue for them.
took() { grep -q "^took $2$" "$T/$1.out"; }
wk_hold t0 "SELECT pg_backend_pid(), pg_advisory_lock(7346005, 0);"
wk_hold t1 "SELECT pg_backend_pid(), pg_advisory_lock(7346005, 1);"
t_wait 60 grep -q . "$T/t0.out"
t_wait 60 grep -q . "$T/t1.out"
wk_hold c "SELECT pg_backend_pid(); SELECT 'took', vt_worker_turn_take(2);"
t_wait 60 grep -q . "$T/c.out"
pc=$(head -1 "$T/c.out")
t_check "the first waiter is next in line (holds the gate)" t_wait 60 wk_lock "$pc" 7346006 true
wk_hold d "SELECT pg_backend_pid(); SELECT 'took', vt_worker_turn_take(2);"
t_wait 60 grep -q . "$T/d.out"
pd=$(head -1 "$T/d.out")
t_check "the second waiter queues behind it" t_wait 60 wk_lock "$pd" 7346006 false
# free the turn that is not the first waiter's pid mod 2 (020 waited there)
other=$((1 - pc % 2))
touch "$T/t$other.go"
wait "$(eval echo "\$h_t$other")"
t_check "the first waiter takes the turn that freed (turn $other, its pid mod 2 is $((pc % 2)))" \
	t_wait 60 took c "$other"
t_check "the second waiter takes the gate" t_wait 60 wk_lock "$pd" 7346006 true
t_check "and no turn yet" test -z "$(grep '^took' "$T/d.out")"
touch "$T/c.go"
wait "$h_c"
t_check "the second waiter takes the turn the first gave back" t_wait 60 took d "$other"
t_check "the gate is free" test "$(t_psql "SELECT count(*) FROM pg_locks
	WHERE locktype = 'advisory' AND classid = 7346006")" = 0
touch "$T/d.go"
wait "$h_d"
# a wait cancelled by statement_timeout gives the gate back
wk_hold t2 "SELECT pg_backend_pid(), pg_advisory_lock(7346005, $other);"
t_wait 60 grep -q . "$T/t2.out"
psql "$VANTAGE_DB" -qtAX -c "SET statement_timeout = 300" -c "SELECT vt_worker_turn_take(2)" >"$T/cancel.out" 2>&1
grep -q "statement timeout" "$T/cancel.out" ||
	t_log "the wait said: $(cat "$T/cancel.out"); advisory locks: $(t_psql "SELECT pid, classid, objid, granted
	        FROM pg_locks WHERE locktype = 'advisory'")"
t_check "a wait cancelled by statement_timeout fails" grep -q "statement timeout" "$T/cancel.out"
t_check "and leaves the gate free" test "$(t_psql "SELECT count(*) FROM pg_locks
	WHERE locktype = 'advisory' AND classid = 7346006")" = 0
touch "$T/t$((1 - other)).go" "$T/t2.go"
wait "$h_t2"
t_check "with no turn held, a turn is taken at once" test "$(t_psql "SELECT vt_worker_turn_take(2)")" -ge 0
t_done
