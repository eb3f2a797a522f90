#!/bin/bash
# Who gets the second batch in flight (wkpipe.h, migration 033): a worker
# with --pipeline claims its next batch while its previous one is stored
# only on a spare turn, asked for once its store holds its own turn: no
# worker is next in line for a turn (the gate (7346006, 0) is free) and a
# turn is free.  Otherwise it claims after its store, as with --pipeline 0,
# and --stats counts the claim as serial.
# 1. --active 2, nothing else at work: every batch after the first is
#    claimed during the previous one's store.  --active 0 (no limit) too.
# 2. --active 1: the store holds the only turn, so a worker never has two
#    batches in flight.
# 3. A worker next in line for a turn (a session holding the gate) while a
#    turn is free: the worker does not claim a second batch ahead of it;
#    its next claim comes after its store's COMMIT, behind the gate's
#    holder.
# Each: every result stored once, latest holding every probe's newest.
. "$(dirname "$0")/../lib.sh"
t_setup
t_pg_start || { t_notok "PostgreSQL starts"; t_done; exit 1; }

. "$TOP/tests/helpers/wk_lib.sh"
wk_setup
# drain NAME ARGS...: one worker drains the queue (--once); its --stats
# in $T/NAME.out
drain() {
	local n=$1
	shift
	wk_fill
	"$BIN/vantage-worker" --once --batch 100 --stats --log-level warn "$@" \
		>"$T/$n.out" 2>"$T/$n.log"
	t_check "$n: the worker ends with status 0" test $? = 0
	t_log "$n: $(cat "$T/$n.out")"
	wk_stored_ok "$n"
}

# 1. a spare turn for every second batch: no claim waits for a store
drain a2 --active 2
t_check "--active 2: no claim waited for a store" test "$(wk_stat "$T/a2.out" serial)" = 0
drain a0 --active 0
t_check "--active 0: no claim waited for a store" test "$(wk_stat "$T/a0.out" serial)" = 0

# sessions holding locks, and what the worker's backends are at
hold() { # NAME SQL: runs SQL in a session that stays until $T/NAME.go exists
	( echo "$2"; while [ ! -e "$T/$1.go" ]; do sleep 0.1; done; echo "COMMIT;" ) |
		psql "$VANTAGE_DB" -qtAX -F ' ' >"$T/$1.out" 2>&1 &
	t_bg $!
	eval "h_$1=$!"
	t_wait 60 grep -q . "$T/$1.out"
}
release() { touch "$T/$1.go"; wait "$(eval echo "\$h_$1")"; }
# waits_on APP LIKE: a backend of the worker APP waits for a lock, in a
# statement starting with LIKE
waits_on() {
	test "$(t_psql "SELECT count(*) FROM pg_stat_activity WHERE application_name = '$1'
	        AND wait_event_type = 'Lock' AND query LIKE '$2%'")" = 1
}
# refused APP: a backend of the worker APP rolled back a spare turn's try
refused() {
	test "$(t_psql "SELECT count(*) FROM pg_stat_activity WHERE application_name = '$1'
	        AND state = 'idle' AND query = 'ROLLBACK'")" = 1
}
gate() { # PID GRANTED: the session PID holds (true) or waits for (false) the gate
	test "$(t_psql "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
	        AND classid = 7346006 AND objid = 0 AND pid = $1 AND granted = $2")" = 1
}

# 2. one turn, held by the store: while the first batch's store waits in
# its latest upsert, the worker's other connection asked for a spare turn,
# was refused (its last statement the ROLLBACK of that try) and holds no
# batch
wk_fill
hold l1 "BEGIN; LOCK TABLE latest IN SHARE MODE; SELECT 'locked';"
PGAPPNAME=wk_one "$BIN/vantage-worker" --once --active 1 --batch 100 --stats \
	--log-level warn >"$T/a1.out" 2>"$T/a1.log" &
w1=$!
t_bg $w1
t_check "--active 1: the first batch's store waits in its latest upsert" \
	t_wait 60 waits_on wk_one "INSERT INTO latest"
t_check "the other connection was refused a spare turn" t_wait 60 refused wk_one
t_check "and holds no batch: one transaction open" \
	test "$(t_psql "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'wk_one'
	       AND xact_start IS NOT NULL")" = 1
release l1
wait $w1
t_check "the worker ends with status 0" test $? = 0
t_log "a1: $(cat "$T/a1.out")"
wk_stored_ok a1
s1=$(wk_stat "$T/a1.out" serial)
t_check "--active 1: claims after the store ($s1)" test "${s1:-0}" -ge 1

# 3. a worker next in line for a turn goes first
wk_fill
# the first batch's lookups wait (its claim's turn given back), its store
# waits in its latest upsert
hold m "BEGIN; LOCK TABLE measurements IN ACCESS EXCLUSIVE MODE; SELECT 'locked';"
hold l "BEGIN; LOCK TABLE latest IN SHARE MODE; SELECT 'locked';"
PGAPPNAME=wk_gate "$BIN/vantage-worker" --once --active 2 --batch 100 --stats \
	--log-level warn >"$T/g.out" 2>"$T/g.log" &
wg=$!
t_bg $wg
t_check "the first batch claimed, its lookups waiting" t_wait 60 waits_on wk_gate "SELECT id, type"
# g1 is next in line for a turn when the worker's store asks for one
hold g1 "SELECT pg_backend_pid(); SELECT pg_advisory_lock(7346006, 0);"
t_check "a session holds the gate" t_wait 60 gate "$(head -1 "$T/g1.out")" true
release m
t_check "the store waits behind the gate's holder" t_wait 60 waits_on wk_gate "DISCARD SEQUENCES"
hold g2 "SELECT pg_backend_pid();
         SELECT pg_advisory_lock(7346006, 0);"
pg2=$(head -1 "$T/g2.out")
t_check "a second session queues behind the store" t_wait 60 gate "$pg2" false
# the store takes a turn and hands the gate to g2, with the other turn free
release g1
t_check "the store holds its turn and waits in its latest upsert" t_wait 60 waits_on wk_gate "INSERT INTO latest"
t_check "and g2 holds the gate, next in line" gate "$pg2" true
release l
t_check "the worker's next claim waits behind g2" t_wait 60 waits_on wk_gate "BEGIN"
t_check "after its first batch's COMMIT" test "$(wk_count results)" = 100
release g2
wait $wg
t_check "the worker ends with status 0" test $? = 0
t_log "gate: $(cat "$T/g.out")"
wk_stored_ok gate
t_check "one claim after a store (the gate held)" test "$(wk_stat "$T/g.out" serial)" = 1
t_done
