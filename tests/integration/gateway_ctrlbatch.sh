#!/bin/bash
# gateway_ctrlbatch: the control lane runs the session bookkeeping of a
# group set-based, one statement per kind for all its probes, not one per
# probe, with the same outcome.  40 probes hold KEEP; probe_sessions is
# locked, so the lane stops at its first write; the 40 links drop (40
# "session down" queue up), and 40 others come (40 KEEP lookups queue
# behind them).  Once the backend goes on (SIGCONT): at most a few statements mark them
# down, and all 40 come up, recorded with their forward, crontab pushed
# and answered, as before, also in a few statements: a probe's up and its
# crontab share one set-based run (jobs.c, seg_len; one run per probe
# before, 40 statements).  The first 40 probes come 8 at a time and their
# KEEPs reach the lane one by one: it holds a group while they keep coming
# (dbq.c, hold()), so a few groups record them up (about 10 without).
# The hold's gap is stretched here (VANTAGE_GW_TEST_CTRL_HOLD_MS; 2 ms by
# default) so that a loaded machine's scheduling does not split the
# groups; CTRL_HOLD_MS=0 turns it off.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/helpers/gw_lib.sh"
t_setup
gw_setup
command -v curl >/dev/null || t_skip "no curl"
LOAD=$TOP/build/tests/gw_load
[ -x "$LOAD" ] || t_skip "no gw_load (make first)"
M=$(t_free_port)
K=40

t_psql "ALTER SYSTEM SET log_statement = 'mod'" >/dev/null
t_psql "SELECT pg_reload_conf()" >/dev/null
VANTAGE_GW_TEST_CTRL_HOLD_MS=${CTRL_HOLD_MS:-500} gw_start --threads 2 --metrics "127.0.0.1:$M" ||
	{ t_notok "gateway starts"; cat "$T/gw.log"; t_done; exit 1; }

# gen N: a generator with its own K probes on fifos N.in/N.out
gen() { gw_gen "$1" "$VANTAGE_DB" ed25519; }
gen a
gw_ask "hold $CTRL $K 8" 600
t_check "$K probes hold KEEP, crontab pushed ($GW_ANSWER)" \
	gw_said "ok=$K failed=0 .*pushed=$K"
up() { [ "$(t_psql "SELECT count(*) FROM probe_sessions WHERE connected AND gateway = 'gw-test' AND bind_addr IS NOT NULL")" = "$1" ]; }
t_check "$K recorded up" t_wait 120 up "$K"
ups1=$(grep -c 'SET connected = true' "$T/pg/server.log")
t_log "the first $K probes (8 handshakes at a time) recorded up in $ups1 statements"
t_check "the lane held for fuller groups: $K ups in at most 6 statements ($ups1; about 10 without the hold)" \
	[ "$ups1" -le 6 ]

# The control lane's backend (gw_lib.sh).
t_wait 60 gw_ctrl_backend
t_check "the control lane's backend found ($BE)" [ -n "$BE" ]
kill -STOP "$BE"
log0=$(stat -c %s "$T/pg/server.log")

# The links drop: K "session down" wait in the lane.
kill -9 $GENPID
wait $GENPID 2>/dev/null
exec 3>&- 4<&-
t_check "$K session-down jobs queued" t_wait 120 gw_ctrl_depth_at_least "$M" "$K"
# K probes come (a new generator, probes of its own): K KEEP lookups behind.
gen a2
gw_tell "hold $CTRL $K 8"
t_check "and $K KEEP lookups behind them" t_wait 120 gw_ctrl_depth_at_least "$M" $((2 * K))
kill -CONT "$BE"
gw_answer 600
t_check "all $K up, crontab pushed once the lock went ($GW_ANSWER)" \
	gw_said "ok=$K failed=0 .*pushed=$K"
t_check "$K recorded up again, with their forwards" t_wait 120 up "$K"
t_check "session history: marked down, then up (probes.status 1)" \
	[ "$(t_psql "SELECT count(*) FROM probes WHERE status = 1 AND last_connected > now() - interval '10 minutes'")" -ge "$K" ]
downs=$(tail -c +$((log0 + 1)) "$T/pg/server.log" | grep -c 'SET connected = false')
keeps=$(tail -c +$((log0 + 1)) "$T/pg/server.log" | grep -c 'SET connected = true')
t_log "statements after the stop: $downs marking down, $keeps marking up, for $K probes each"
t_check "the $K downs in at most 3 statements (one per probe before)" [ "$downs" -le 3 ]
t_check "the $K ups in at most $((K / 4)) statements (one per probe without the hold)" \
	[ "$keeps" -le $((K / 4)) ]
# the pushes' outcomes are recorded on the control lane after the probes
# answered: wait for them
pushes_ok() {
	[ "$(t_psql "SELECT count(*) FROM probe_pushes WHERE kind = 'crontab' AND status = 'ok'")" -ge "$1" ]
}
t_check "crontab pushes of the return answered" t_wait 120 pushes_ok $((2 * K))
t_check "gateway still running" kill -0 "$GWPID"
gw_tell quit
t_done
