#!/bin/bash
# vantage-worker against hostile and odd queue rows, on a real PostgreSQL:
#  - a result line that outgrows the stored-result cap once enriched (130,000
#    `1e14` values, ~650 KB) among good results of several probes: the good
#    ones are stored, the big one rejected with its reason, the queue drains;
#  - a row the database refuses at insert time (a CHECK on results added by
#    the test): the batch is halved until the row is alone, it is rejected
#    with the database's error, the rest of its batch is stored;
#  - a database failure (a lock held past the worker's lock_timeout) is
#    retried without rejecting anything;
#  - results only from probes the measurement was assigned to (current, or
#    ended less than the 14-day late window ago);
#  - NOTIFY on queue inserts: a worker that polls once an hour stores a new
#    result at once;
#  - the stock probe's status lines (7001 uptime, 9104 addresses, 9018 ...)
#    land in probe_status, not in rejected, and the interface address makes
#    the scheduler's address and NAT tag.
. "$(dirname "$0")/../lib.sh"
t_setup
t_pg_start || { t_notok "PostgreSQL starts"; t_done; exit 1; }
W="$BIN/vantage-worker"
command -v timeout >/dev/null || t_skip "no timeout(1)"

now=$(date +%s)
t_psql "INSERT INTO measurements (id, type, af, target, interval, spread, stop_time)
        VALUES (1001, 'ping', 4, '192.0.2.53', 240, 60, NULL),
               (1002, 'ping', 4, '192.0.2.54', 240, 60, NULL),
               (1003, 'ping', 4, '192.0.2.55', 240, 60, $((now - 20 * 86400))),
               (1004, 'ping', 4, '192.0.2.56', 240, 60, $((now - 2 * 86400)));
        INSERT INTO probes (id, key_type, pubkey)
        SELECT g, 'ssh-ed25519', 'key' || g FROM generate_series(1000, 1009) g;
        INSERT INTO assignments (msm_id, probe_id)
        SELECT 1001, g FROM generate_series(1000, 1005) g;
        INSERT INTO assignments (msm_id, probe_id, removed) VALUES
          (1002, 1006, now() - interval '20 days'),
          (1002, 1007, now() - interval '2 days'),
          (1003, 1000, NULL), (1004, 1000, NULL);" >/dev/null ||
	{ t_notok "fixtures"; t_done; exit 1; }

q() { # probe line
	t_psql "INSERT INTO result_queue (probe_id, session_id, from_addr, line)
	        VALUES ($1, 'ab12', '198.51.100.7', \$\$$2\$\$)"
}
ping() { # time [n] -> a ping result line
	echo "{\"id\":\"1001\",\"fw\":5120,\"af\":4,\"dst_addr\":\"192.0.2.53\",\"src_addr\":\"10.0.0.2\",\"result\":[{\"rtt\":1.5}],\"n\":${2:-0},\"time\":$1}"
}
rejected() { t_psql "SELECT count(*) FROM rejected WHERE $1"; }
stored() { t_psql "SELECT count(*) FROM results WHERE $1"; }

# 1. the big line among good ones from several probes
big="$T/big.json"
/usr/bin/python3 - "$big" "$now" <<'PY'
import sys
vals = ",".join(["1e14"] * 130000)
open(sys.argv[1], "w").write('{"id":"1001","fw":5120,"time":%s,"result":[{"rtt":1.0,"x":[%s]}]}'
                             % (sys.argv[2], vals))
PY
for p in 1000 1001 1002; do q $p "$(ping $((now - 10)) $p)"; done
{ printf 'INSERT INTO result_queue (probe_id, session_id, line) VALUES (1003, %s, $$' "'ab12'"
  cat "$big"; printf '$$);\n'; } >"$T/big.sql"
psql "$VANTAGE_DB" -qtAX -v ON_ERROR_STOP=1 -f "$T/big.sql"
for p in 1004 1005; do q $p "$(ping $((now - 10)) $p)"; done
t_log "big line: $(stat -c %s "$big") bytes"
timeout 120 "$W" --once 2>"$T/w1.log"
t_check "the worker drains the queue past the big line" \
	test "$(t_psql 'SELECT count(*) FROM result_queue')" = 0
t_check "the five good results of five probes are stored" \
	test "$(stored "msm_id = 1001 AND prb_id IN (1000, 1001, 1002, 1004, 1005)")" = 5
t_check "the big line is in rejected with its reason" \
	test "$(rejected "probe_id = 1003 AND reason LIKE 'result over % bytes once enriched'")" = 1
t_check "no failed batch logged" sh -c "! grep -q 'batch failed' '$T/w1.log'"

# 2. a row the database refuses: found alone and rejected, its batch stored
t_psql "ALTER TABLE results ADD CONSTRAINT no_poison CHECK (result NOT LIKE '%poison%')"
for i in $(seq 1 40); do
	if [ "$i" = 23 ]; then
		q 1001 "{\"id\":\"1001\",\"time\":$((now - 100 - i)),\"note\":\"poison\",\"result\":[]}"
	else
		q $((1000 + i % 6)) "$(ping $((now - 100 - i)) "$i")"
	fi
done
timeout 120 "$W" --once --batch 40 2>"$T/w2.log"
t_check "a refused row: the queue drains" \
	test "$(t_psql 'SELECT count(*) FROM result_queue')" = 0
t_check "a refused row: the 39 others of its batch are stored" \
	test "$(stored "ts BETWEEN $((now - 140)) AND $((now - 101))")" = 39
t_check "a refused row: rejected with the database's reason" \
	test "$(rejected "reason LIKE 'cannot store: SQLSTATE 23514%' AND line LIKE '%poison%'")" = 1
t_psql "ALTER TABLE results DROP CONSTRAINT no_poison"

# 3. a database failure is retried, nothing rejected
before=$(rejected true)
psql "$VANTAGE_DB" -qtAX -c "BEGIN; LOCK TABLE latest; SELECT pg_sleep(600)" >/dev/null 2>&1 &
t_bg $!
holding() { [ "$(t_psql "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
	WHERE c.relname = 'latest' AND l.mode = 'AccessExclusiveLock' AND l.granted")" = 1 ]; }
t_wait 30 holding || t_notok "lock taken"
for p in 1000 1001; do q $p "$(ping $((now - 200)) $p)"; done
PGOPTIONS='-c lock_timeout=200' "$W" --poll-ms 100 2>"$T/w3.log" &
wpid=$!
t_bg $wpid
failed() { grep -q 'batch failed (left queued): SQLSTATE 55P03' "$T/w3.log"; }
t_check "a lock timeout fails the batch (logged with its reason)" t_wait 60 failed
t_check "the rows stay queued" test "$(t_psql 'SELECT count(*) FROM result_queue')" = 2
t_psql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE query LIKE '%pg_sleep(600)%' AND pid <> pg_backend_pid()" >/dev/null
drained() { [ "$(t_psql 'SELECT count(*) FROM result_queue')" = 0 ]; }
t_check "once the lock goes, the batch is stored" t_wait 60 drained
t_check "and nothing was rejected for it" test "$(rejected true)" = "$before"
t_check "both results stored" test "$(stored "ts = $((now - 200))")" = 2
kill "$wpid"; wait "$wpid" 2>/dev/null

# 4. only from probes the measurement was assigned to
q 1008 "$(ping $((now - 300)) 1)"                                 # never assigned
q 1006 "{\"id\":\"1002\",\"time\":$((now - 300)),\"result\":[]}"  # left 20 days ago
q 1007 "{\"id\":\"1002\",\"time\":$((now - 300)),\"result\":[]}"  # left 2 days ago
q 1000 "{\"id\":\"1003\",\"time\":$((now - 300)),\"result\":[]}"  # stopped 20 days ago
q 1000 "{\"id\":\"1004\",\"time\":$((now - 300)),\"result\":[]}"  # stopped 2 days ago
"$W" --once 2>"$T/w4.log"
t_check "a probe never assigned: rejected with the reason" \
	test "$(rejected "probe_id = 1008 AND reason = 'probe not assigned to the measurement'")" = 1
t_check "and not stored" test "$(stored "prb_id = 1008")" = 0
t_check "an assignment that ended 20 days ago: rejected" \
	test "$(rejected "probe_id = 1006 AND reason LIKE 'probe not assigned%'")" = 1
t_check "an assignment that ended 2 days ago: stored" test "$(stored "msm_id = 1002 AND prb_id = 1007")" = 1
t_check "a measurement stopped 20 days ago: rejected" \
	test "$(rejected "probe_id = 1000 AND line LIKE '%\"1003\"%'")" = 1
t_check "a measurement stopped 2 days ago: stored" test "$(stored "msm_id = 1004")" = 1

# 5. NOTIFY on queue inserts: a worker polling once an hour is woken
q 1000 "$(ping $((now - 400)) 1)"
"$W" --poll-ms 3600000 2>"$T/w5.log" &
wpid=$!
t_bg $wpid
idle() { grep -q 'claimed 1, stored 1' "$T/w5.log"; }
t_check "the worker took the first result and is idle" t_wait 60 idle
q 1001 "$(ping $((now - 401)) 2)"
woken() { test "$(stored "ts = $((now - 401))")" = 1; }
t_check "a new result is stored without waiting for the poll" t_wait 60 woken
kill "$wpid"; wait "$wpid" 2>/dev/null

# 6. the stock probe's status lines (shapes of tests/data/status)
sed "s/1764662400/$((now - 30))/" "$TOP/tests/data/status/uptime.json" >"$T/s1"
sed "s/1764662580/$((now - 20))/" "$TOP/tests/data/status/addrs.json" >"$T/s2"
sed "s/1764662400/$((now - 30))/" "$TOP/tests/data/status/disk.json" >"$T/s3"
sed "s/1764662700/$((now - 30))/" "$TOP/tests/data/status/died.json" >"$T/s4"
t_psql "INSERT INTO probe_sessions (probe_id, session_id, remote_port, from_addr, connected)
        VALUES (1009, 'cd34', 2000, '198.51.100.9', true)" >/dev/null
before=$(rejected true)
for f in s1 s2 s3 s4; do q 1009 "$(cat "$T/$f")"; done
q 1009 "{\"id\":\"7001\",\"time\":$((now - 5000)),\"uptime\":12}"   # older: changes nothing
q 1009 "{\"id\":\"7001\",\"time\":$((now - 10))}"                   # no uptime
"$W" --once 2>"$T/w6.log"
t_check "status lines are not rejected as unknown measurements" \
	test "$(rejected "reason LIKE 'unknown measurement%' AND probe_id = 1009")" = 0
t_check "only the uptime line without uptime is rejected" \
	test "$(rejected true)" = $((before + 1))
t_check "its reason says why" \
	test "$(rejected "probe_id = 1009 AND reason LIKE 'malformed probe status line: %uptime%'")" = 1
t_check "uptime kept (the newest report)" \
	test "$(t_psql "SELECT uptime || ' ' || uptime_at FROM probe_status WHERE probe_id = 1009")" = "86523 $((now - 30))"
t_check "interface addresses kept" \
	test "$(t_psql "SELECT host(iface_v4) || ' ' || host(iface_v6) FROM probe_status WHERE probe_id = 1009")" = "10.0.5.2 2001:db8:5::2"
t_check "other status lines counted" \
	test "$(t_psql "SELECT other_count FROM probe_status WHERE probe_id = 1009")" = 2
t_check "the worker says what it kept and counted" \
	grep -q 'probe status lines 3 kept, 2 counted only' "$T/w6.log"
if [ -x "$BIN/vantage-scheduler" ]; then
	"$BIN/vantage-scheduler" --once --now "$now" 2>"$T/sched.log"
	t_check "the scheduler takes the probe's address from its interfaces" \
		test "$(t_psql "SELECT host(address_v4) || ' ' || host(address_v6) FROM probes WHERE id = 1009")" \
		= "10.0.5.2 2001:db8:5::2"
	t_check "which is a NAT behind its public session: system-ipv4-rfc1918" \
		grep -q system-ipv4-rfc1918 <<<"$(t_psql "SELECT system_tags FROM probes WHERE id = 1009")"
fi
t_done
