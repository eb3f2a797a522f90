#!/bin/bash
# Where a worker's claim looks (worker.h, struct vt_worker_cursor; migration
# 024): from the queue's front shared by all workers, one past the highest
# id any of them has claimed, not from the end of its own previous claim.
# 1. A claim moves the front past the rows it took; a claim whose own
#    cursor trails the front (other workers claimed since) looks from the
#    front.
# 2. Rows below the front (a batch rolled back after its claim had moved
#    the front, a row committed after higher ids were claimed) are claimed
#    when the look from the front finds nothing, and by every
#    WK_FULL_EVERY'th claim; a front ahead of every row is set back.
# 3. After a batch that batch_bytes cut, the worker looks from its own
#    cursor: the rows it locked and left lie below the front.  That claim
#    moves the front only on, even when it takes a whole batch.
# 4. A worker just woken looks from the front only (front_only): with
#    nothing past the front its claim is empty and leaves the cursor at the
#    start, and the next one (its last look under the wake lock) takes the
#    rows below.  A waiting worker woken by rows committed below the front
#    stores them.
# 5. Four workers on two seats and two turns: every worker takes batches
#    (each gives its seat up after 50 ms for one in line), every result is
#    stored once, and latest holds each probe's newest.
# 6. One claim at a time (the claim lock, 7346007): a claim waits while
#    another holds it; a claim from the front passes over rows an open
#    transaction deleted without waiting for it, and a look from the start
#    takes them once it rolls back; a worker whose claim failed gives the
#    lock back before it tries again.
# wk_claim (tests/helpers) runs one batch from the cursor it is given.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/helpers/wk_lib.sh"
CLAIM=${VANTAGE_UNIT:-$TOP/build/tests}/wk_claim
t_setup
[ -x "$CLAIM" ] || { t_notok "wk_claim is built"; t_done; exit 1; }
t_pg_start || { t_notok "PostgreSQL starts"; t_done; exit 1; }

now=$(date +%s)
t_psql "INSERT INTO measurements (id, type, af, target, interval, spread)
        VALUES (1001, 'ping', 4, '192.0.2.53', 240, 60);
        INSERT INTO probes (id, key_type, pubkey)
        SELECT g, 'ssh-ed25519', 'key' || g FROM generate_series(5000, 5019) g;
        INSERT INTO assignments (msm_id, probe_id) SELECT 1001, id FROM probes"
q() { # N T0: queues N results of probe 5000 at times T0+1..T0+N; prints "FIRST LAST" id
	t_psql "WITH i AS (INSERT INTO result_queue (probe_id, session_id, line)
	        SELECT 5000, 'ab', format('{\"id\":\"1001\",\"time\":%s,\"result\":[{\"rtt\":1.5}]}', $2 + k)
	        FROM generate_series(1, $1) k ORDER BY k RETURNING id)
	        SELECT min(id) || ' ' || max(id) FROM i"
}
stored() { # T0 T1: results with a time in T0+1..T1
	t_psql "SELECT count(*) FROM results WHERE ts > $1 AND ts <= $2"
}
front() { t_psql "SELECT last_value FROM vt_worker_front"; }
BIG=67108864

# 1. A claim from the front moves it past its rows.
read -r a1 a2 <<<"$(q 20 $((now - 10000)))"
read -r l1 l2 <<<"$(q 5 $((now - 9000)))"
read -r m1 m2 <<<"$(q 20 $((now - 8000)))"
out=$("$CLAIM" "$a1" 1 0 20 $BIG 2>&1)
t_log "claim from $a1: $out"
t_check "the claim took the first 20 rows" test "$(stored $((now - 10000)) $((now - 9980)))" = 20
t_check "the claim moved the shared front past them" test "$(front)" = $((a2 + 1))
# Another worker claims the next 5 rows, moving the front past them, and
# its batch is rolled back: they are back in the queue, below the front.
t_psql "SELECT setval('vt_worker_front', $((l2 + 1)))" >/dev/null
out=$("$CLAIM" "$l1" 1 0 20 $BIG 2>&1)
t_log "claim from $l1 (behind the front $((l2 + 1))): $out"
t_check "a claim behind the front looks from the front: it takes the 20 rows past it" \
	test "$(stored $((now - 8000)) $((now - 7980)))" = 20
t_check "and not the rows below the front" test "$(stored $((now - 9000)) $((now - 8995)))" = 0
t_check "the front is past them" test "$(front)" = $((m2 + 1))

# 2. Nothing past the front: the same claim looks from the start.
out=$("$CLAIM" $((m2 + 1)) 2 0 20 $BIG 2>&1)
t_log "claim from $((m2 + 1)): $out"
t_check "the rows below the front are claimed when nothing is past it" \
	test "$(stored $((now - 9000)) $((now - 8995)))" = 5
t_check "and the queue is empty" test "$(t_psql 'SELECT count(*) FROM result_queue')" = 0
# Rows below the front with rows past it: after WK_FULL_EVERY (16) claims
# from the front, the next looks from the start.
read -r p1 p2 <<<"$(q 3 $((now - 7000)))"
t_psql "SELECT setval('vt_worker_front', $((p2 + 1)))" >/dev/null
read -r r1 r2 <<<"$(q 5 $((now - 6000)))"
out=$("$CLAIM" "$r1" 16 0 20 $BIG 2>&1)
t_log "the claim after 16 from $r1: $out"
t_check "the claim after 16 from the front takes the rows below it" \
	test "$(stored $((now - 7000)) $((now - 6997)))" = 3
t_check "and those past it" test "$(stored $((now - 6000)) $((now - 5995)))" = 5

# A front ahead of every row (ids put back in the queue, as tests/bench
# does): the look from the start that takes a whole batch sets it back.
t_psql "CREATE TABLE kept AS SELECT * FROM result_queue WHERE false"
read -r e1 e2 <<<"$(q 40 $((now - 3000)))"
t_psql "INSERT INTO kept SELECT * FROM result_queue"
"$CLAIM" "$e1" 1 0 40 $BIG >/dev/null 2>&1
t_psql "DELETE FROM results WHERE ts > $((now - 3000)) AND ts <= $((now - 2960))"
ahead=$(front)
t_psql "INSERT INTO result_queue OVERRIDING SYSTEM VALUE SELECT * FROM kept"
out=$("$CLAIM" "$e1" 1 0 20 $BIG 2>&1)
t_log "claim from $e1, the front at $ahead: $out"
t_check "a claim with the front ahead of the queue takes a batch from the start" \
	test "$(stored $((now - 3000)) $((now - 2980)))" = 20
t_check "and sets the front back to its end" test "$(front)" = $((e1 + 20))
t_check "the front had been ahead" test "$ahead" -gt "$e2"
from=$(sed -n 's/^from \([0-9]*\) .*/\1/p' <<<"$out")
out=$("$CLAIM" "${from:-0}" 2 0 20 $BIG 2>&1)
t_log "claim from ${from:-?}: $out"
t_check "the next claim takes the rest from the front" \
	test "$(stored $((now - 2980)) $((now - 2960)))" = 20
t_check "looking from the front (not from the start)" grep -q " claims 3 " <<<"$out"

# 3. A batch cut by batch_bytes (lines of ~60 bytes, 100 bytes a batch:
# two rows) leaves its tail locked, and another worker's claim moves the
# front past it: the next claim looks from the worker's own cursor.
cut() { # T0: queues 10 rows at T0+1..T0+10 (ids c1..c2), claims with the
	# cut; its output in out, its cursor in from
	read -r c1 c2 <<<"$(q 10 "$1")"
	out=$("$CLAIM" "$c1" 1 0 20 100 2>&1)
	t_log "cut claim from $c1: $out"
	t_check "the cut batch took two rows" test "$(stored "$1" $(($1 + 10)))" = 2
	from=$(sed -n 's/^from \([0-9]*\) .*/\1/p' <<<"$out")
}
cut $((now - 5000))
t_check "and says to look from its own cursor next" grep -q " own 1 " <<<"$out"
t_psql "SELECT setval('vt_worker_front', $((c2 + 1)))" >/dev/null
read -r d1 d2 <<<"$(q 5 $((now - 4000)))"
out=$("$CLAIM" "${from:-0}" 2 1 20 $BIG 2>&1)
t_log "claim after the cut from ${from:-?}: $out"
t_check "the claim after a cut takes the rows the cut left, below the front" \
	test "$(stored $((now - 5000)) $((now - 4990)))" = 10
t_check "and those past the front" test "$(stored $((now - 4000)) $((now - 3995)))" = 5
t_check "and looks from the front again next" grep -q " own 0 " <<<"$out"
# The claim from the worker's own cursor only ever moves the front on,
# even when it takes a whole batch (only a look from the start sets it
# back): the front is where the other workers' claims have got to.
cut $((now - 4500))
read -r h1 h2 <<<"$(q 5 $((now - 4400)))"
t_psql "SELECT setval('vt_worker_front', $((h2 + 1)))" >/dev/null
out=$("$CLAIM" "${from:-0}" 2 1 10 $BIG 2>&1)
t_log "claim of 10 after the cut from ${from:-?}, the front at $((h2 + 1)): $out"
t_check "the claim from its own cursor took a whole batch: the cut's tail" \
	test "$(stored $((now - 4500)) $((now - 4490)))" = 10
t_check "and two rows past it" test "$(stored $((now - 4400)) $((now - 4395)))" = 2
t_check "and left the shared front where it was" test "$(front)" = $((h2 + 1))

# 4. Just woken: from the front only.
woken() { # T0 FRONT: queues 5 rows at T0+1..T0+5, sets the front to FRONT
	# ("above": one past them), claims as a worker just woken; its
	# output in out
	local r1 r2 f
	read -r r1 r2 <<<"$(q 5 "$1")"
	f=$2
	[ "$f" = above ] && f=$((r2 + 1))
	t_psql "SELECT setval('vt_worker_front', $f)" >/dev/null
	out=$("$CLAIM" 0 0 0 20 $BIG 1 2>&1)
	t_log "claim just after a wake, rows $r1..$r2, the front at $f: $out"
}
t_psql "TRUNCATE results, latest, result_queue"
woken $((now - 1500)) above
t_check "a claim just after a wake does not look below the front" \
	test "$(stored $((now - 1500)) $((now - 1495)))" = 0
t_check "and leaves its cursor at the start" grep -q "^from 0 .* rows 0$" <<<"$out"
out=$("$CLAIM" 0 1 0 20 $BIG 2>&1)
t_log "the next claim: $out"
t_check "the next claim (the last look before sleeping) takes the rows below" \
	test "$(stored $((now - 1500)) $((now - 1495)))" = 5
woken $((now - 1400)) 1
t_check "a claim just after a wake takes the rows past the front" \
	test "$(stored $((now - 1400)) $((now - 1395)))" = 5
# A worker that waits (not --once), woken by rows that commit below the
# front (a late upload): it stores them.
"$BIN/vantage-worker" --poll-ms 600000 --log-level info >"$T/wait.log" 2>&1 &
wpid=$!
t_bg $wpid
t_wait 60 grep -q "connected to the database" "$T/wait.log"
t_check "the worker waits, holding its wake lock" t_wait 60 wk_waiting 1
t_psql "BEGIN;
        INSERT INTO result_queue (probe_id, session_id, line)
        SELECT 5000, 'ab', format('{\"id\":\"1001\",\"time\":%s,\"result\":[{\"rtt\":1.5}]}', $now - 1300 + k)
        FROM generate_series(1, 5) k;
        SELECT setval('vt_worker_front', (SELECT max(id) FROM result_queue) + 1000);
        COMMIT" >/dev/null
late_stored() { test "$(stored $((now - 1300)) $((now - 1295)))" = 5; }
t_check "a waiting worker woken by rows below the front stores them" \
	t_wait 60 late_stored
kill "$wpid"
wait "$wpid" 2>/dev/null

# 5. Four workers, two seats and two turns, a seat given up after 50 ms
# for a worker in line: 4,000 results of 20 probes in random order.
t_psql "TRUNCATE results, latest, result_queue"
for part in 0 1 2 3; do
	t_psql "INSERT INTO result_queue (probe_id, session_id, line)
	        SELECT p, 'ab', format('{\"id\":\"1001\",\"time\":%s,\"result\":[{\"rtt\":1.5}]}', $now - k)
	        FROM generate_series(5000, 5019) p, generate_series(1, 200) k
	        WHERE k % 4 = $part ORDER BY random()"
done
for i in 1 2 3 4; do
	"$BIN/vantage-worker" --once --active 2 --seat-ms 50 --batch 50 --stats --log-level warn \
		>"$T/w$i.out" 2>"$T/w$i.log" &
	eval "w$i=$!"
	t_bg $!
done
wait "$w1" "$w2" "$w3" "$w4"
t_check "every result stored" test "$(t_psql 'SELECT count(*) FROM results')" = 4000
t_check "none twice" test "$(t_psql "SELECT count(*) FROM (SELECT DISTINCT msm_id, prb_id, ts FROM results) s")" = 4000
t_check "the queue is empty" test "$(t_psql 'SELECT count(*) FROM result_queue')" = 0
t_check "latest: each probe's newest" \
	test "$(t_psql "SELECT count(*) FROM latest WHERE ts = $now - 1")" = 20
for i in 1 2 3 4; do
	b=$(sed -n 's/^vantage-worker stats: batches \([0-9]*\),.*/\1/p' "$T/w$i.out")
	t_log "worker $i: $(cat "$T/w$i.out")"
	t_check "worker $i took batches" test "${b:-0}" -ge 1
done

# 6. One claim at a time.
t_psql "TRUNCATE results, latest, result_queue"
read -r k1 k2 <<<"$(q 10 $((now - 800)))"
t_psql "SELECT setval('vt_worker_front', $k1)" >/dev/null
wk_hold cl "SELECT pg_advisory_lock(7346007, 0), 'locked';"
t_wait 60 grep -q locked "$T/cl.out"
"$CLAIM" "$k1" 1 0 20 $BIG >"$T/cl_claim.out" 2>&1 &
cpid=$!
t_bg $cpid
t_check "a claim waits while another holds the claim lock" t_wait 60 wk_locked 7346007 false 1
t_check "and has taken nothing" test "$(stored $((now - 800)) $((now - 790)))" = 0
touch "$T/cl.go"
wait "$cpid"
t_log "the claim after the lock: $(cat "$T/cl_claim.out")"
t_check "given the lock, it takes the rows" test "$(stored $((now - 800)) $((now - 790)))" = 10
# An open transaction has deleted the first three rows at the front (as a
# claim not yet committed has): a claim from the front passes over them.
read -r k1 k2 <<<"$(q 10 $((now - 700)))"
t_psql "SELECT setval('vt_worker_front', $k1)" >/dev/null
wk_hold del "BEGIN; DELETE FROM result_queue WHERE id < $((k1 + 3)); SELECT 'deleted';"
t_wait 60 grep -q deleted "$T/del.out"
out=$(timeout 120 "$CLAIM" "$k1" 1 0 20 $BIG 2>&1)
t_log "claim from the front past three deleted rows: $out"
t_check "a claim from the front does not wait for rows an open transaction deleted" \
	test "$(stored $((now - 700)) $((now - 690)))" = 7
t_check "and moves the front past the rows it took" test "$(front)" = $((k2 + 1))
touch "$T/del.go"      # its session ends: the DELETE rolls back
wait "$(eval echo "\$h_del")"
t_check "rolled back, the three rows are queued again" test "$(wk_count result_queue)" = 3
out=$("$CLAIM" $((k2 + 1)) 1 0 20 $BIG 2>&1)
t_log "claim from the front after the rollback: $out"
t_check "the look from the start takes them" test "$(stored $((now - 700)) $((now - 690)))" = 10
# A claim that fails: a worker that waits to try again holds no claim lock.
t_psql "CREATE FUNCTION t_no_delete() RETURNS trigger LANGUAGE plpgsql AS
        \$\$BEGIN RAISE EXCEPTION 'test: no delete from the queue'; END\$\$;
        CREATE TRIGGER t_no_delete BEFORE DELETE ON result_queue
        FOR EACH ROW EXECUTE FUNCTION t_no_delete()"
read -r k1 k2 <<<"$(q 10 $((now - 600)))"
"$BIN/vantage-worker" --poll-ms 600000 --log-level info >"$T/fail.log" 2>&1 &
wpid=$!
t_bg $wpid
t_check "the worker's claim fails" t_wait 60 grep -q "batch failed (left queued).*no delete" "$T/fail.log"
t_check "and it holds no claim lock while it waits to try again" \
	t_wait 60 wk_locked 7346007 true 0
t_psql "DROP TRIGGER t_no_delete ON result_queue"
fixed() { test "$(stored $((now - 600)) $((now - 590)))" = 10; }
t_check "tried again, it stores the rows" t_wait 120 fixed
kill "$wpid"
wait "$wpid" 2>/dev/null
t_done
