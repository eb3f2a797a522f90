#!/bin/bash
# Seats (seat.h, migration 035): at most --active workers work at once,
# each holding a seat (7346008, seat); the others stand in line with a
# ticket (7346009, ticket), in the order they came, holding no snapshot
# and no transaction id.
# 1. Four workers on two seats with a short --seat-ms drain a queue:
#    never more than two seated, workers seen standing in line, every
#    worker seated in turn and taking batches, every result stored once,
#    latest holding every probe's newest.
# 2. Both seats held by other sessions: two workers stand in line, the
#    first with the lower ticket, and neither holds back the horizon (no
#    backend_xmin, no backend_xid); a seat that frees (its session gone,
#    no NOTIFY) goes to the first in line, the other stays in line.
# 3. A seated worker killed with SIGKILL leaves its seat to the worker in
#    line, which drains the queue.
# 4. A worker in line stops at SIGTERM at once and leaves the line;
#    --once in line ends when the queue is empty; --active 0 takes no
#    seat; --seat-ms is checked; without migration 035 the worker says
#    what to do.
. "$(dirname "$0")/../lib.sh"
t_setup
t_pg_start || { t_notok "PostgreSQL starts"; t_done; exit 1; }

NP=20 NR=150
. "$TOP/tests/helpers/wk_lib.sh"
wk_setup
# backend APP: the pid of the backend of application_name APP (a worker's
# first connection is its oldest)
backend() {
	t_psql "SELECT pid FROM pg_stat_activity WHERE application_name = '$1'
	        ORDER BY backend_start, pid LIMIT 1"
}
# worker NAME ARGS...: a worker (application_name NAME, output in
# $T/NAME.out and .log) started with ARGS; its pid in w_NAME, its first
# backend's in p_NAME once it has connected
worker() {
	local n=$1
	shift
	PGAPPNAME=$n "$BIN/vantage-worker" --batch 10 --poll-ms 600000 "$@" \
		--log-level info >"$T/$n.out" 2>"$T/$n.log" &
	eval "w_$n=$!"
	t_bg $!
	t_wait 60 sh -c "[ -n \"\$(psql '$VANTAGE_DB' -qtAXc \"SELECT pid FROM pg_stat_activity WHERE application_name = '$n'\")\" ]"
	eval "p_$n=$(backend "$n")"
}
# in_line PID: the backend PID stands in line (holds a ticket's lock)
in_line() { wk_lock "$1" 7346009 true; }
# ticket PID: its ticket
ticket() {
	t_psql "SELECT objid FROM pg_locks WHERE locktype = 'advisory'
	        AND classid = 7346009 AND pid = $1"
}
# no_horizon PID: the backend PID holds back no row version
no_horizon() {
	test "$(t_psql "SELECT count(*) FROM pg_stat_activity WHERE pid = $1
	        AND backend_xmin IS NULL AND backend_xid IS NULL")" = 1
}
seated() { wk_lock "$1" 7346008 true; }

# 1. Four workers, two seats, a seat held 50 ms at least.
wk_fill
: >"$T/seats"
(while [ ! -e "$T/stop" ]; do
	echo "SELECT (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
	              AND classid = 7346008 AND objsubid = 2 AND granted),
	             (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
	              AND classid = 7346009 AND objsubid = 2 AND granted);"
	sleep 0.02
done | psql "$VANTAGE_DB" -qtAX -F ' ' >"$T/seats" 2>/dev/null) &
sampler=$!
t_bg $sampler
for i in 1 2 3 4; do
	"$BIN/vantage-worker" --once --active 2 --seat-ms 50 --batch 10 --stats \
		--log-level info >"$T/w$i.out" 2>"$T/w$i.log" &
	eval "w$i=$!"
	t_bg $!
done
st=0
for i in 1 2 3 4; do
	wait "$(eval echo "\$w$i")" || st=$?
done
touch "$T/stop"
wait $sampler
t_check "four workers end with status 0" test "$st" = 0
t_log "samples: $(wc -l <"$T/seats"), most seated at once: $(awk '$1 > m { m = $1 } END { print m + 0 }' "$T/seats")"
wk_stored_ok "four workers, two seats"
t_check "never more than two seated" awk '$1 > 2 { exit 1 }' "$T/seats"
t_check "workers were seen in line" awk '$2 > 0 { f = 1 } END { exit !f }' "$T/seats"
yields=0
for i in 1 2 3 4; do
	t_log "worker $i: $(cat "$T/w$i.out")"
	t_check "worker $i was seated and took batches" \
		test "$(wk_stat "$T/w$i.out" seats)" -ge 1 -a "$(wk_stat "$T/w$i.out" batches)" -ge 1
	yields=$((yields + $(wk_stat "$T/w$i.out" yields)))
done
t_check "seats were given up for workers in line ($yields times)" test "$yields" -ge 2
t_check "and the workers' logs say so" grep -q 'giving seat [12] up for a worker in line' "$T"/w[1-4].log
t_check "and say when one was seated from the line" grep -q 'seated (seat [12] of 2) after [0-9]* ms in line' "$T"/w[1-4].log
t_check "no seat or place in line is left" test "$(t_psql "SELECT count(*) FROM pg_locks
	WHERE locktype = 'advisory' AND classid IN (7346008, 7346009)")" = 0

# 2. Both seats held by sessions of their own: two workers stand in line.
wk_fill
wk_hold s0 "SELECT pg_backend_pid(), pg_advisory_lock(7346008, 0);"
wk_hold s1 "SELECT pg_backend_pid(), pg_advisory_lock(7346008, 1);"
t_wait 60 grep -q . "$T/s0.out"
t_wait 60 grep -q . "$T/s1.out"
worker wa --active 2 --stats
wa=$w_wa pa=$p_wa
t_check "the first worker stands in line" t_wait 60 in_line "$pa"
MB=$(t_free_port)
worker wb --active 2 --stats --metrics "127.0.0.1:$MB"
wb=$w_wb pb=$p_wb
t_check "the second stands behind it" t_wait 60 in_line "$pb"
t_check "with a later ticket" test "$(ticket "$pa")" -lt "$(ticket "$pb")"
t_check "which its log says" grep -q 'every seat held: standing in line' "$T/wb.log"
seated_metric() { # VALUE: the worker in line's vantage_worker_seated
	curl -s "http://127.0.0.1:$MB/metrics" | grep -qx "vantage_worker_seated $1"
}
t_check "its metrics say it is not seated" t_wait 60 seated_metric 0
# each asks once a second, in a short statement: some look finds it idle
t_check "the workers in line hold back no row version" \
	t_wait 60 sh -c "[ \"\$(psql '$VANTAGE_DB' -qtAXc \"SELECT count(*) FROM pg_stat_activity
	WHERE pid IN ($pa, $pb) AND backend_xmin IS NULL AND backend_xid IS NULL\")\" = 2 ]"
t_check "nothing is stored while both seats are held" test "$(wk_count results)" = 0
touch "$T/s1.go"
wait "$h_s1"
t_check "the seat that frees goes to the first in line" t_wait 60 seated "$pa"
t_check "which leaves the line" t_wait 60 sh -c "! psql '$VANTAGE_DB' -qtAXc \"SELECT 1 FROM pg_locks WHERE classid = 7346009 AND pid = $pa\" | grep -q 1"
t_check "the seated worker drains the queue" \
	t_wait 120 sh -c "[ \"\$(psql '$VANTAGE_DB' -qtAXc 'SELECT count(*) FROM results')\" = $((NP * NR)) ]"
wk_stored_ok "one seated worker"
t_check "the other is still in line" in_line "$pb"

# 3. The seated worker killed: its seat goes to the worker in line.
kill -9 $wa
wait $wa 2>/dev/null
wk_fill
t_check "a seated worker killed leaves its seat to the one in line" t_wait 60 seated "$pb"
t_check "whose metrics say so" t_wait 60 seated_metric 1
t_check "which drains the queue" \
	t_wait 120 sh -c "[ \"\$(psql '$VANTAGE_DB' -qtAXc 'SELECT count(*) FROM results')\" = $((NP * NR)) ]"
wk_stored_ok "after the kill"

# 4. SIGTERM in line; --active 0; --seat-ms.
worker wc --active 1
wc=$w_wc pc=$p_wc
t_check "with one seat, held, a worker stands in line" t_wait 60 in_line "$pc"
worker wd --active 1
wd=$w_wd pd=$p_wd
t_wait 60 in_line "$pd"
# --once in line, the queue empty: the seated never give their seats up
timeout 120 "$BIN/vantage-worker" --once --active 1 --log-level info >"$T/once.out" 2>&1
t_check "--once in line ends once the queue is empty" test $? = 0
t_check "and says so" grep -q 'in line, and the queue is empty: done' "$T/once.out"
kill -TERM $wd
t_check "a worker waiting in line stops at SIGTERM" t_wait 60 sh -c "! kill -0 $wd 2>/dev/null"
wait $wd
t_check "with status 0" test $? = 0
t_check "and leaves the line" t_wait 60 sh -c "[ \"\$(psql '$VANTAGE_DB' -qtAXc \"SELECT count(*) FROM pg_locks WHERE pid = $pd\")\" = 0 ]"
kill -TERM $wb $wc
wait $wb $wc
touch "$T/s0.go"
wait "$h_s0"
t_check "no seat or place in line is left" test "$(t_psql "SELECT count(*) FROM pg_locks
	WHERE locktype = 'advisory' AND classid IN (7346008, 7346009)")" = 0
wk_fill
"$BIN/vantage-worker" --once --active 0 --batch 10 --stats --log-level warn >"$T/none.out" 2>"$T/none.log"
t_check "--active 0: the worker ends with status 0" test $? = 0
t_check "and took no seat" test "$(wk_stat "$T/none.out" seats)" = 0
wk_stored_ok "--active 0"
t_refuses 2 "--seat-ms" "$BIN/vantage-worker" --seat-ms 0 --once
# migration 035 missing: no seat, and the hint
t_psql "ALTER FUNCTION vt_worker_seat_join() RENAME TO vt_worker_seat_join_gone"
timeout 120 "$BIN/vantage-worker" --once --active 2 >"$T/nomig.out" 2>&1
t_check "without migration 035, --once ends at the first try with status 1" test $? = 1
t_check "saying the seat's function is missing, and what to do" \
	grep -q 'no seat: SQLSTATE 42883.*giving up after 1 try.*vantage db migrate' "$T/nomig.out"
t_psql "ALTER FUNCTION vt_worker_seat_join_gone() RENAME TO vt_worker_seat_join"
t_done
