#!/bin/bash
# PostgreSQL killed (immediate shutdown: no checkpoint, no flush) while two
# vantage-workers store a full queue.  A worker's batch commits without
# waiting for its WAL flush (synchronous_commit off for that transaction),
# so the crash may take back batches that were committed already; the same
# transaction deleted their rows from the queue, so they come back queued
# and are stored again.  After the restart every result is stored exactly
# once, nothing stays queued, and latest holds each probe's newest.
. "$(dirname "$0")/../lib.sh"
t_setup
t_pg_start || { t_notok "PostgreSQL starts"; t_done; exit 1; }
pport=$(printf '%s\n' "$VANTAGE_DB" | sed -n 's/.*port=\([0-9]*\).*/\1/p')

now=$(date +%s)
NP=50      # probes
NR=600     # results per probe
total=$((NP * NR))
t_psql "INSERT INTO measurements (id, type, af, target, interval, spread)
        VALUES (1001, 'ping', 4, '192.0.2.53', 240, 60);
        INSERT INTO probes (id, key_type, pubkey)
        SELECT g, 'ssh-ed25519', 'key' || g FROM generate_series(4000, 3999 + $NP) g;
        INSERT INTO assignments (msm_id, probe_id) SELECT 1001, id FROM probes"
# Each probe's results in random order over the queue, so one probe's
# results are spread over many batches of both workers.
t_psql "INSERT INTO result_queue (probe_id, session_id, line)
        SELECT p, 'ab', format('{\"id\":\"1001\",\"time\":%s,\"result\":[{\"rtt\":%s}]}', $now - k, k)
        FROM generate_series(4000, 3999 + $NP) p, generate_series(1, $NR) k
        ORDER BY random()"
count() { psql "$VANTAGE_DB" -qtAXc "SELECT count(*) FROM $1" 2>/dev/null; }

for i in 1 2; do
	"$BIN/vantage-worker" --batch 20 --poll-ms 200 --log-level info \
		>"$T/w$i.out" 2>"$T/w$i.log" &
	eval "w$i=$!"
	t_bg $!
done
# Kill the cluster twice while the workers commit batch after batch.
kills=0 busy=0
for at in $((total / 5)) $((total / 2)); do
	t_wait 300 sh -c "[ \"\$(psql '$VANTAGE_DB' -qtAXc 'SELECT count(*) FROM results')\" -ge $at ]" ||
		break
	seen=$(count results)
	left=$(count result_queue)
	"$TOP/scripts/pg" kill "$T/pg"
	kills=$((kills + 1))
	[ "$left" -gt 0 ] && busy=$((busy + 1))
	"$TOP/scripts/pg" start "$T/pg" "$pport" >/dev/null || break
	t_log "kill $kills: $seen results stored and $left queued just before, $(count results) stored after the restart"
done
t_check "the cluster was killed twice while the workers ran" test "$kills$busy" = 22
t_check "the workers reconnected and drained the queue" \
	t_wait 300 sh -c "[ \"\$(psql '$VANTAGE_DB' -qtAXc 'SELECT count(*) FROM result_queue')\" = 0 ]"
t_check "both workers still run" kill -0 "$w1" "$w2"
t_check "every result stored" test "$(count results)" = "$total"
t_check "no result stored twice" \
	test "$(t_psql "SELECT count(*) FROM (SELECT DISTINCT msm_id, prb_id, ts FROM results) s")" = "$total"
t_check "nothing rejected" test "$(count rejected)" = 0
t_check "latest: one row per probe, its newest result" \
	test "$(t_psql "SELECT count(*) FROM latest WHERE ts = $now - 1
	                AND strpos(result, '\"timestamp\":' || ts) > 0")" = "$NP"
t_check "the workers saw the database go and come back" \
	test "$(cat "$T/w1.log" "$T/w2.log" | grep -c "connected to the database")" -ge 4
kill "$w1" "$w2"
wait "$w1" "$w2" 2>/dev/null
# Rows the workers committed more than once: batches a crash took back
# after their COMMIT returned (asynchronous), stored again from the queue.
again=$(sed -n 's/.*stopping: claimed [0-9]*, stored \([0-9]*\),.*/\1/p' "$T/w1.log" "$T/w2.log" |
	awk -v t="$total" '{ s += $1 } END { print s - t }')
t_log "results committed again after a crash took their batch back: $again"
t_done
