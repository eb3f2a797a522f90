#!/bin/bash
# One worker with two batches in flight (--pipeline, wkpipe.h): it claims,
# parses and enriches its next batch on a second connection while its
# previous batch is stored on the first.
# 1. While the first batch's store waits (a session holds latest in SHARE
#    mode), the worker's second connection holds the next batch claimed in
#    a transaction of its own, not storing it: two transactions open, one
#    store at a time.
# 2. Killed then, both batches stay queued (claim and store are one
#    transaction each); a worker after it stores every row once.
# 3. Released, it stores every row once and latest holds each probe's
#    newest, though every batch holds newer results of the same probes
#    than the one before; --stats counts the batches claimed during a
#    store (overlap), and SIGUSR1 prints its line so far.
# 4. --pipeline 0: one batch at a time, no overlap.
. "$(dirname "$0")/../lib.sh"
t_setup
t_pg_start || { t_notok "PostgreSQL starts"; t_done; exit 1; }

. "$TOP/tests/helpers/wk_lib.sh"
now=$wk_now
wk_setup
# hold NAME: a session holding latest in SHARE mode (a worker's upsert
# waits) until $T/NAME.go exists
hold() {
	( echo "BEGIN; LOCK TABLE latest IN SHARE MODE; SELECT 'locked';"
	  while [ ! -e "$T/$1.go" ]; do sleep 0.1; done
	  echo "COMMIT;" ) | psql "$VANTAGE_DB" -qtAX >"$T/$1.out" 2>&1 &
	t_bg $!
	eval "h_$1=$!"
	t_wait 60 grep -q locked "$T/$1.out"
}
# the worker's backends (PGAPPNAME APP): one waits in its latest upsert,
# one holds a claimed batch, idle in its transaction
two_open() {
	test "$(t_psql "SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'
	                 AND query LIKE 'INSERT INTO latest%') || ' ' ||
	                 count(*) FILTER (WHERE state = 'idle in transaction')
	                FROM pg_stat_activity WHERE application_name = '$1'")" = "1 1"
}
gone() { test "$(t_psql "SELECT count(*) FROM pg_stat_activity WHERE application_name = '$1'")" = 0; }
newest() { # every probe's latest is its newest result
	test "$(t_psql "SELECT count(*) FROM latest WHERE ts = $now - 1")" = "$NP" &&
	test "$(wk_count latest)" = "$NP"
}

# 2. killed with two batches in flight
wk_fill
hold k
PGAPPNAME=wk_kill "$BIN/vantage-worker" --active 2 --batch 100 --poll-ms 600000 \
	--log-level info >"$T/k.out" 2>"$T/k.log" &
wk=$!
t_bg $wk
t_check "two batches open at once on two connections, one store at a time" \
	t_wait 60 two_open wk_kill
t_log "$(t_psql "SELECT state, wait_event_type, left(query, 40) FROM pg_stat_activity WHERE application_name = 'wk_kill'" | tr '\n' ';')"
kill -9 $wk
wait $wk 2>/dev/null
touch "$T/k.go"
wait "$h_k"
t_check "the killed worker's backends end" t_wait 60 gone wk_kill
t_check "nothing stored" test "$(wk_count results)" = 0
t_check "every row still queued" test "$(wk_count result_queue)" = $((NP * NR))
"$BIN/vantage-worker" --once --batch 100 --log-level warn >"$T/k2.out" 2>"$T/k2.log"
t_check "a worker after it stores every result" test "$(wk_count results)" = $((NP * NR))
t_check "each once" test "$(t_psql "SELECT count(*) FROM (SELECT DISTINCT msm_id, prb_id, ts FROM results) s")" = $((NP * NR))
t_check "latest: every probe's newest" newest

# 1 and 3. two in flight, released
wk_fill
hold w
PGAPPNAME=wk_pipe "$BIN/vantage-worker" --active 2 --batch 100 --poll-ms 600000 --stats \
	--log-level info >"$T/w.out" 2>"$T/w.log" &
ww=$!
t_bg $ww
t_check "two batches open at once on two connections, one store at a time" \
	t_wait 60 two_open wk_pipe
t_check "the first batch not stored yet" test "$(wk_count results)" = 0
touch "$T/w.go"
wait "$h_w"
t_check "released, every result is stored" t_wait 120 sh -c \
	"[ \"\$(psql '$VANTAGE_DB' -qtAXc 'SELECT count(*) FROM results')\" = $((NP * NR)) ]"
t_check "and the queue is empty" t_wait 60 sh -c \
	"[ \"\$(psql '$VANTAGE_DB' -qtAXc 'SELECT count(*) FROM result_queue')\" = 0 ]"
# SIGUSR1: the --stats line so far, the worker going on (asked again
# until the line counts the last batch, whose outcome the worker takes
# at its next step)
usr1_three() {
	kill -USR1 $ww && sleep 0.2 && [ "$(wk_stat "$T/w.out" batches | tail -n 1)" = 3 ]
}
t_check "SIGUSR1 prints the --stats line so far: three batches" t_wait 60 usr1_three
t_check "and the worker goes on" kill -0 $ww
lines=$(grep -c '^vantage-worker stats:' "$T/w.out")
kill $ww
wait $ww
t_check "the worker stops with status 0" test $? = 0
t_log "$(cat "$T/w.out")"
t_check "each result once" test "$(t_psql "SELECT count(*) FROM (SELECT DISTINCT msm_id, prb_id, ts FROM results) s")" = $((NP * NR))
t_check "latest: every probe's newest" newest
t_check "one more line at exit" test "$(grep -c '^vantage-worker stats:' "$T/w.out")" = $((lines + 1))
t_check "three batches" test "$(wk_stat "$T/w.out" batches | tail -n 1)" = 3
o=$(wk_stat "$T/w.out" overlap | tail -n 1)
t_check "batches were claimed while another was stored (overlap $o)" test "${o:-0}" -ge 1

# 4. --pipeline 0
wk_fill
"$BIN/vantage-worker" --once --pipeline 0 --batch 100 --stats --log-level warn \
	>"$T/p0.out" 2>"$T/p0.log"
t_log "$(cat "$T/p0.out")"
t_check "--pipeline 0 stores every result" test "$(wk_count results)" = $((NP * NR))
t_check "latest: every probe's newest" newest
t_check "no batch claimed during a store" test "$(wk_stat "$T/p0.out" overlap)" = 0
t_refuses 2 "--pipeline" "$BIN/vantage-worker" --pipeline 2 --once
t_done
