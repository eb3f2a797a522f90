#!/bin/bash
# Four vantage-workers on one queue, all at work (--active 4: four seats,
# four turns; worker_seats has more workers than seats): many small batches taken with FOR
# UPDATE SKIP LOCKED, every result stored once, latest the newest per
# (measurement, probe) whatever order the batches commit in, every worker
# takes batches (its own --stats), and the queue's insert trigger NOTIFYs
# exactly when a worker waits (migration 018), one worker only (034): the
# workers poll only every ten minutes here, so a lost wakeup stalls the
# test.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/helpers/wk_lib.sh"
t_setup
t_pg_start || { t_notok "PostgreSQL starts"; t_done; exit 1; }

now=$(date +%s)
NP=40      # probes
NR=100     # results per probe
t_psql "INSERT INTO measurements (id, type, af, target, interval, spread)
        VALUES (1001, 'ping', 4, '192.0.2.53', 240, 60);
        INSERT INTO probes (id, key_type, pubkey)
        SELECT g, 'ssh-ed25519', 'key' || g FROM generate_series(3000, 2999 + $NP) g;
        INSERT INTO assignments (msm_id, probe_id) SELECT 1001, id FROM probes"
one() { # probe ts: SQL that queues one result
	printf "INSERT INTO result_queue (probe_id, session_id, line) VALUES (%s, 'ab', '{\"id\":\"1001\",\"time\":%s,\"result\":[{\"rtt\":1.5}]}')" "$1" "$2"
}
told() { # SQL: runs it in a session that LISTENs on every wake slot's
	# channel; prints the NOTIFYs that came, one line each
	psql "$VANTAGE_DB" -qX -c "$(for s in $(seq 0 31); do printf 'LISTEN vantage_queue_%d; ' "$s"; done)" \
		-c "$1" -c "SELECT 1" 2>&1 | grep 'Asynchronous notification "vantage_queue_'
}
notified() { test "$(told "$1" | wc -l)" = 1; }   # exactly one NOTIFY

silent() { test -z "$(told "$1")"; }   # no NOTIFY at all

t_check "no worker waits: a queue insert NOTIFYs nobody" silent "$(one 3000 $((now - 500)))"

for i in 1 2 3 4; do
	"$BIN/vantage-worker" --active 4 --batch 20 --poll-ms 600000 --stats --log-level info \
		>"$T/w$i.out" 2>"$T/w$i.log" &
	eval "w$i=$!"
	t_bg $!
done
t_check "four idle workers hold their wake locks" t_wait 60 wk_waiting 4
t_check "four workers wait: a queue insert NOTIFYs one of them" notified "$(one 3001 $((now - 500)))"

# One insert of many batches (400 rows, batches of 20) while the four wait:
# it wakes one, which finds a whole batch and wakes one more at its COMMIT
# (034), and so on: more than one worker takes part.
stats_at() { # N: the batches of each worker's N-th --stats line (SIGUSR1)
	kill -USR1 "$w1" "$w2" "$w3" "$w4"
	for i in 1 2 3 4; do
		t_wait 60 sh -c "[ \$(grep -c '^vantage-worker stats:' '$T/w$i.out') -ge $1 ]" || return 1
	done
	for i in 1 2 3 4; do
		sed -n 's/^vantage-worker stats: batches \([0-9]*\),.*/\1/p' "$T/w$i.out" | sed -n "$1p"
	done
}
t_check "the four wait again" t_wait 60 wk_waiting 4
before=$(stats_at 1)
t_psql "INSERT INTO result_queue (probe_id, session_id, line)
        SELECT 3002, 'ab', format('{\"id\":\"1001\",\"time\":%s,\"result\":[{\"rtt\":1.5}]}', $now - 600 - k)
        FROM generate_series(1, 400) k"
big_stored() { test "$(t_psql "SELECT count(*) FROM results WHERE prb_id = 3002")" = 400; }
t_check "one insert of 400 rows is stored" t_wait 120 big_stored
after=$(stats_at 2)
t_log "batches per worker before and after it: $(paste -d: <(echo "$before") <(echo "$after") | tr '\n' ' ')"
t_check "more than one worker took batches of it" \
	test "$(paste <(echo "$before") <(echo "$after") | awk '$2 > $1' | wc -l)" -ge 2

# NP * NR results, each probe's in random order across many batches and
# several insert transactions, some while the workers are busy.
for part in 0 1 2 3 4 5 6 7 8 9; do
	t_psql "INSERT INTO result_queue (probe_id, session_id, line)
	        SELECT p, 'ab', format('{\"id\":\"1001\",\"time\":%s,\"result\":[{\"rtt\":1.5}]}', $now - k)
	        FROM generate_series(3000, 2999 + $NP) p, generate_series(1, $NR) k
	        WHERE k % 10 = $part ORDER BY random()"
done
total=$((NP * NR + 2 + 400))
t_check "every result stored once (no lost wakeup)" \
	t_wait 300 sh -c "[ \"\$(psql '$VANTAGE_DB' -qtAXc 'SELECT count(*) FROM results')\" = $total ]"
t_check "the queue is empty" test "$(t_psql 'SELECT count(*) FROM result_queue')" = 0
t_check "nothing rejected" test "$(t_psql 'SELECT count(*) FROM rejected')" = 0
t_check "no result stored twice" test "$(t_psql "SELECT count(*) FROM (SELECT DISTINCT msm_id, prb_id, ts FROM results) s")" = "$total"
t_check "latest: one row per probe, each the newest" \
	test "$(t_psql "SELECT count(*) FROM latest l JOIN (SELECT msm_id, prb_id, max(ts) AS ts
	                FROM results GROUP BY 1, 2) r USING (msm_id, prb_id) WHERE l.ts = r.ts")" = "$NP"
t_check "latest: the newest is the probe's last time" \
	test "$(t_psql "SELECT count(*) FROM latest WHERE ts = $now - 1")" = "$NP"

# A result older than latest's, stored after it: latest stays.
t_psql "$(one 3005 $((now - 3000)))"
t_check "a late older result is stored" t_wait 60 sh -c \
	"[ \"\$(psql '$VANTAGE_DB' -qtAXc 'SELECT count(*) FROM results WHERE prb_id = 3005 AND ts = $((now - 3000))')\" = 1 ]"
t_check "and leaves latest alone" \
	test "$(t_psql "SELECT ts FROM latest WHERE prb_id = 3005")" = $((now - 1))

kill "$w1" "$w2" "$w3" "$w4"
wait "$w1" "$w2" "$w3" "$w4" 2>/dev/null
for i in 1 2 3 4; do
	b=$(sed -n 's/^vantage-worker stats: batches \([0-9]*\),.*/\1/p' "$T/w$i.out" | tail -n 1)
	t_log "worker $i: $(cat "$T/w$i.out")"
	t_check "worker $i took batches" test "${b:-0}" -ge 1
done
t_check "the workers' rows add up" test "$(for i in 1 2 3 4; do
	sed -n 's/.* rows \([0-9]*\),.*/\1/p' "$T/w$i.out" | tail -n 1; done |
	awk '{ s += $1 } END { print s }')" = $((total + 1))
t_done
