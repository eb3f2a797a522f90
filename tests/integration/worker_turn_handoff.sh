#!/bin/bash
# A worker giving a turn back wakes the worker next in line (migration 034):
# 1. the next in line publishes its backend pid and sleeps; a turn given
#    back with vt_worker_turn_give wakes it at once (its sleep is set to an
#    hour here: only the signal can wake it), and turns are handed over in
#    the order the waiters came;
# 2. a waiter killed while next in line, or while queued, strands nobody;
#    a holder killed without giving its turn back frees it (the bounded
#    sleep of a waiter that is not signalled);
# 3. a cancel that is not a wake (the client's, a statement_timeout) still
#    fails the wait, and leaves the gate, the bell and the pid free.
. "$(dirname "$0")/../lib.sh"
t_setup
t_pg_start || { t_notok "PostgreSQL starts"; t_done; exit 1; }

# hold NAME SQL [SQL2]: a session that runs SQL, then at $T/NAME.go SQL2,
# and ends at $T/NAME.end (at NAME.go without SQL2)
hold() {
	( echo "$2"
	  while [ ! -e "$T/$1.go" ]; do sleep 0.1; done
	  if [ -n "$3" ]; then
		echo "$3"
		while [ ! -e "$T/$1.end" ]; do sleep 0.1; done
	  fi ) | psql "$VANTAGE_DB" -qtAX -F ' ' >"$T/$1.out" 2>&1 &
	t_bg $!
	eval "h_$1=$!"
}
# waiter NAME [SLEEP]: takes one of 2 turns (the wait's sleep SLEEP ms,
# default an hour), prints "took T", gives it back at NAME.go
waiter() {
	hold "$1" "SET vantage.turn_sleep_ms = ${2:-3600000};
SELECT pg_backend_pid();
SELECT vt_worker_turn_take(2) AS t \\gset
\\echo took :t" "SELECT 'gave', vt_worker_turn_give(:t);"
	t_wait 60 grep -q . "$T/$1.out"
	eval "p_$1=$(head -1 "$T/$1.out")"
}
lock() { # PID KEY GRANTED: the session PID holds (true) or waits for (false) lock KEY
	test "$(t_psql "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
	        AND classid = $2 AND objid = 0 AND pid = $1 AND granted = $3")" = 1
}
took() { grep -q "^took ${2:-[01]}$" "$T/$1.out"; }
turn() { sed -n 's/^took \([0-9][0-9]*\)$/\1/p' "$T/$1.out"; }
published() { test "$(t_psql "SELECT last_value FROM vt_worker_turn_head")" = "$1"; }
unheld() { # nothing holds or waits for the gate or the bell
	test "$(t_psql "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
	        AND classid IN (7346006, 7346007)")" = 0
}
kill_backend() { t_psql "SELECT pg_terminate_backend($1)" >/dev/null; }

# 1. a and b take the two turns at once; c waits, d and e queue behind it.
waiter a
waiter b
t_check "two sessions take the two turns" t_wait 60 took a
t_check "(the second)" t_wait 60 took b
waiter c
t_check "the first waiter is next in line (holds the gate)" t_wait 60 lock "$p_c" 7346006 true
t_check "and publishes its pid for the one who gives a turn back" t_wait 60 published "$p_c"
t_check "it sleeps (no turn)" test -z "$(turn c)"
waiter d
t_check "the second waiter queues at the gate" t_wait 60 lock "$p_d" 7346006 false
waiter e
t_check "the third behind it" t_wait 60 lock "$p_e" 7346006 false
ta=$(turn a) tb=$(turn b)
touch "$T/a.go"
t_check "a gives its turn back (vt_worker_turn_give)" t_wait 60 grep -q "^gave t" "$T/a.out"
t_check "the sleeping waiter is woken and takes that turn ($ta)" t_wait 60 took c "$ta"
t_check "the second waiter is next in line now" t_wait 60 published "$p_d"
t_check "and holds the gate" t_wait 60 lock "$p_d" 7346006 true

# 2. d is killed while next in line (asleep, its pid published): e goes on.
kill_backend "$p_d"
t_check "a waiter killed while next in line leaves the gate to the next" t_wait 60 lock "$p_e" 7346006 true
t_check "which publishes its own pid" t_wait 60 published "$p_e"
touch "$T/b.go"
t_check "the turn given back next goes to it ($tb)" t_wait 60 took e "$tb"
t_check "the killed waiter took none" test -z "$(turn d)"
t_check "the gate and the bell are free" t_wait 60 unheld
t_check "no pid is published" t_wait 60 published 0
# a waiter killed while queued behind the next in line
waiter f 50
t_check "a waiter with the default sleep is next in line" t_wait 60 published "$p_f"
waiter g
t_check "another queues behind it" t_wait 60 lock "$p_g" 7346006 false
kill_backend "$p_g"
# c is killed holding its turn, without giving it back: f's bounded
# sleep finds it free
kill_backend "$p_c"
t_check "a holder killed without giving its turn back strands nobody" t_wait 60 took f "$ta"
t_check "the gate and the bell are free again" t_wait 60 unheld

# 3. cancels that are not wakes
waiter h
t_check "a waiter is next in line" t_wait 60 published "$p_h"
t_psql "SELECT pg_cancel_backend($p_h)" >/dev/null
t_check "the client's cancel fails its wait" t_wait 60 grep -q "canceling statement due to user request" "$T/h.out"
t_check "and leaves the gate and the bell free" t_wait 60 unheld
t_check "and its pid unpublished" t_wait 60 published 0
t_check "and took no turn" test -z "$(turn h)"
psql "$VANTAGE_DB" -qtAX -c "SET vantage.turn_sleep_ms = 3600000" -c "SET statement_timeout = 300" \
	-c "SELECT vt_worker_turn_take(2)" >"$T/timeout.out" 2>&1
t_check "a wait cancelled by statement_timeout fails" grep -q "statement timeout" "$T/timeout.out"
t_check "and leaves the gate and the bell free" unheld
t_check "and its pid unpublished" published 0
touch "$T/e.go" "$T/f.go"
t_check "the turns are given back" t_wait 60 grep -q "^gave t" "$T/e.out"
t_check "(the other)" t_wait 60 grep -q "^gave t" "$T/f.out"
t_check "a turn is taken at once then" test "$(t_psql "SELECT vt_worker_turn_take(2)")" -ge 0
for n in a b c d e f g h; do touch "$T/$n.go" "$T/$n.end"; done
t_done
