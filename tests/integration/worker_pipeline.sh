#!/bin/bash
# vantage-worker against a real PostgreSQL: enrichment, rejection reasons,
# de-duplication, latest, and two workers draining one queue exactly once.
# Rows go into results by COPY; a batch holding a row stored already (or
# twice) is stored by INSERT ... ON CONFLICT DO NOTHING instead.
. "$(dirname "$0")/../lib.sh"
t_setup
t_pg_start || { t_notok "PostgreSQL starts"; t_done; exit 1; }

now=$(date +%s)
t_psql "INSERT INTO measurements (id, type, af, target, interval, spread)
        VALUES (1001, 'ping', 4, '192.0.2.53', 240, 60),
               (2001, 'traceroute', 4, '192.0.2.53', 900, 60);
        INSERT INTO measurements (id, type, af, target, is_oneoff)
        VALUES (3001, 'dns', 4, '192.0.2.53', true);
        INSERT INTO probes (id, key_type, pubkey)
        SELECT g, 'ssh-ed25519', 'key' || g FROM generate_series(1000, 1002) g
        UNION ALL SELECT g, 'ssh-ed25519', 'key' || g FROM generate_series(2000, 2049) g;
        INSERT INTO assignments (msm_id, probe_id)
        SELECT m, p.id FROM probes p, unnest('{1001,2001,3001}'::bigint[]) m;"

q() { # probe line
	t_psql "INSERT INTO result_queue (probe_id, session_id, from_addr, line)
	        VALUES ($1, 'ab12', '198.51.100.7', \$\$$2\$\$)"
}
ping="{\"id\":\"1001\",\"fw\":5120,\"mver\":\"2.6.4\",\"lts\":41,\"dst_name\":\"192.0.2.53\",\"af\":4,\"dst_addr\":\"192.0.2.53\",\"src_addr\":\"10.0.0.2\",\"proto\":\"ICMP\",\"ttl\":54,\"size\":48,\"result\":[{\"rtt\":19.725885},{\"x\":\"*\"},{\"rtt\":19.387082},{\"rtt\":20.1,\"dup\":1}],\"time\":$now}"
q 1000 "$ping"
q 1000 "$ping"                                          # the same upload twice
q 1001 "{\"id\":\"2001\",\"fw\":5120,\"time\":$now,\"result\":[]}"
q 1001 "{\"id\":\"3001\",\"fw\":5120,\"time\":$((now - 5)),\"result\":{}}"
q 1001 "{\"id\":\"3001\",\"fw\":5120,\"time\":$((now - 1)),\"result\":{}}"
q 1002 "{\"id\":\"4444\",\"time\":$now}"                 # unknown measurement
q 1002 "{\"id\":\"1001\",\"time\":$((now - 15 * 86400))}" # past the late window
q 1002 "{\"id\":\"1001\",\"time\":$((now + 3 * 86400))}"  # in the future
q 1002 "{\"id\":\"1001\", broken"                         # malformed
q 1002 "[1,2,3]"

out=$("$BIN/vantage-worker" --once --stats 2>&1)
t_check "worker drains the queue" test "$(t_psql 'SELECT count(*) FROM result_queue')" = 0
t_check "four results stored (duplicate stored once)" \
	test "$(t_psql 'SELECT count(*) FROM results')" = 4
t_check "a batch with a duplicate is stored by INSERT, not COPY" grep -q "rows 10, copied 0;" <<<"$out"
t_check "stored column is the result's stored_timestamp, seq numbered" \
	test "$(t_psql "SELECT count(*) FROM results WHERE strpos(result, '\"stored_timestamp\":' || stored) > 0 AND seq IS NOT NULL")" = 4
# A row stored in an earlier batch, beside a new one: the COPY fails on
# the key and the batch goes by INSERT, storing the new row only.
q 1000 "$ping"
q 1001 "${ping/\"time\":$now/\"time\":$((now - 7))}"
out=$("$BIN/vantage-worker" --once --stats 2>&1)
t_check "a row stored before: not stored again, the new one is" \
	test "$(t_psql 'SELECT count(*) FROM results')" = 5
t_check "that batch went by INSERT" grep -q "rows 2, copied 0;" <<<"$out"
t_check "the queue is empty" test "$(t_psql 'SELECT count(*) FROM result_queue')" = 0
t_check "nothing rejected for it" test "$(t_psql "SELECT count(*) FROM rejected")" = 5
t_check "five rejected, each with a reason" \
	test "$(t_psql "SELECT count(*) FROM rejected WHERE reason <> ''")" = 5
for reason in "unknown measurement" "too late" "time in the future" "malformed"; do
	t_check "rejected: $reason" test "$(t_psql "SELECT count(*) FROM rejected WHERE reason LIKE '$reason%'")" -ge 1
done
row=$(t_psql "SELECT result FROM results WHERE msm_id = 1001")
t_check "ping enriched: summary" grep -q '"dup":1,"rcvd":2,"sent":3,"min":19.387082,"max":19.725885,"avg":19.5564835' <<<"$row"
t_check "ping enriched: controller fields" grep -q "\"msm_id\":1001,\"prb_id\":1000,\"timestamp\":$now,\"msm_name\":\"Ping\",\"from\":\"198.51.100.7\",\"type\":\"ping\",\"group_id\":1001,\"step\":240,\"stored_timestamp\":" <<<"$row"
t_check "probe's id and time are replaced" test -z "$(grep -o '"id":\|"time":' <<<"$row")"
t_check "one-off has step null" grep -q '"msm_name":"Tdig".*"step":null' <<<"$(t_psql "SELECT result FROM results WHERE msm_id = 3001 LIMIT 1")"
t_check "latest holds the newest per probe" \
	test "$(t_psql "SELECT ts FROM latest WHERE msm_id = 3001 AND prb_id = 1001")" = $((now - 1))
t_check "vantage results prints in time order" \
	test "$("$BIN/vantage" results 3001 | grep -o '"timestamp":[0-9]*' | tr '\n' ' ')" = "\"timestamp\":$((now - 5)) \"timestamp\":$((now - 1)) "
t_check "vantage results filters by probe" test "$("$BIN/vantage" results 1001 --probe 1000 | wc -l)" = 1
t_check "vantage results rejects a bad id" sh -c "! '$BIN/vantage' results x 2>/dev/null"

# Two workers on one queue: every row stored exactly once.
t_psql "INSERT INTO result_queue (probe_id, session_id, line)
        SELECT 2000 + (g % 50), 'ab', format('{\"id\":\"1001\",\"time\":%s,\"n\":%s,\"result\":[{\"rtt\":1.5}]}', $now - g, g)
        FROM generate_series(1, 20000) g"
"$BIN/vantage-worker" --once --stats --batch 500 >"$T/s1" 2>"$T/w1.log" & w1=$!
"$BIN/vantage-worker" --once --stats --batch 500 >"$T/s2" 2>"$T/w2.log" & w2=$!
wait $w1 $w2
t_check "two workers: every row by COPY" \
	test "$(cat "$T/s1" "$T/s2" | sed -n 's/.* copied \([0-9]*\);.*/\1/p' | awk '{s += $1} END {print s}')" = 20000
t_check "two workers: queue empty" test "$(t_psql 'SELECT count(*) FROM result_queue')" = 0
t_check "two workers: 20000 stored once" \
	test "$(t_psql "SELECT count(*) FROM results WHERE prb_id >= 2000")" = 20000
t_done
