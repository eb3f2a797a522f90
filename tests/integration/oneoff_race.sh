#!/bin/bash
# oneoff_race.sh - one-offs made for one probe while its crontab is being
# pushed reach it once each and are stored once each (the real
# vantage-gateway, vantage-probe, vantage-scheduler and vantage-worker).
#
# The race is forced: the gateway holds every claimed push for a while
# before it goes to the probe (VANTAGE_GW_TEST_PUSH_DELAY_MS, a test-only
# knob), and each new one-off is made while a push is held that was built
# after the previous one-off: one by one, then several at once.
#  (a) every one-off line reached the probe in exactly one push (the
#      probe's "command batch" log lines) and ran once (its results);
#  (b) every one-off is recorded as delivered, by one acknowledged push;
#  (c) every one-off is stored once, also when a probe uploads a second
#      result of the same run (same measurement, probe and timestamp), in
#      the same worker batch or a later one.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/helpers/probe_lib.sh"
t_setup

for b in vantage-gateway vantage-probe vantage-scheduler vantage-worker; do
	[ -x "$BIN/$b" ] || t_skip "bin/$b not built"
done
[ "$(id -u)" = 0 ] || t_skip "raw sockets need root"
id nobody >/dev/null 2>&1 || t_skip "no user nobody"
t_pg_start || { t_notok "PostgreSQL starts"; t_done; exit 1; }

REG=$(t_free_port)
CTRL=$(t_free_port)
while [ "$CTRL" = "$REG" ]; do CTRL=$(t_free_port); done
mkdir -p "$T/hk"
VANTAGE_GW_TEST_PUSH_DELAY_MS=3000 "$BIN/vantage-gateway" --db "$VANTAGE_DB" \
	--listen 127.0.0.1 --reg-port "$REG" --ctrl-port "$CTRL" \
	--ctrl-host 127.0.0.1 --host-keys "$T/hk" --name gw1 \
	--log-level debug >>"$T/gw.log" 2>&1 &
t_bg $!
t_check "gateway up" t_wait 30 sh -c "ss -Htln 'sport = :$CTRL' | grep -q ."

t_check "probe added" probe_new "$T/probe" --upload-poll-ms 300
probe_run "$T/probe.log"

# claimed_since [MSM]: a push to the probe was claimed (held by the
# knob, then sent) that was made after MSM was assigned to it
claimed_since() {
	[ "$(t_psql "SELECT count(*) FROM probe_pushes p WHERE p.probe_id = $ID
		AND p.status IN ('sending', 'ok', 'failed') AND p.created >=
		coalesce((SELECT added FROM assignments WHERE msm_id = ${1:-0}
		AND probe_id = $ID), '-infinity')")" -ge 1 ]
}
# oneoff: makes a one-off ping of 127.0.0.1 on the probe, prints its id
oneoff() {
	echo "{\"definitions\": [{\"type\": \"ping\", \"af\": 4, \"packets\": 1,
	  \"target\": \"127.0.0.1\", \"description\": \"race\"}], \"is_oneoff\": true,
	  \"probes\": [{\"type\": \"probes\", \"value\": \"$ID\", \"requested\": 1}]}" |
		"$BIN/vantage" msm create -
}
# pass: a scheduler pass (assigns the new one-offs, NOTIFYs the gateway)
pass() { "$BIN/vantage-scheduler" --once >>"$T/sched.log" 2>&1; }

t_check "the probe's first crontab push is claimed" t_wait 30 claimed_since
MSMS=""
# one by one: each made while the push made after the previous one is held
for i in 1 2 3; do
	M=$(oneoff)
	MSMS="$MSMS $M"
	pass
	t_check "one-off $i ($M) made while a push is held, a push for it claimed" \
		t_wait 60 claimed_since "$M"
done
# several at once, twice
for round in 1 2; do
	BURST="" PIDS=""
	for i in 1 2 3 4; do
		oneoff >"$T/burst.$i" &
		PIDS="$PIDS $!"
	done
	wait $PIDS
	for i in 1 2 3 4; do BURST="$BURST $(cat "$T/burst.$i")"; done
	MSMS="$MSMS $BURST"
	pass
	LAST=${BURST##* }
	t_check "burst $round (4 one-offs at once) while a push is held, a push for them claimed" \
		t_wait 60 claimed_since "$LAST"
done
N=$(echo $MSMS | wc -w)
t_check "$N one-offs made" test "$N" = 11

delivered_all() {
	[ "$(t_psql "SELECT count(*) FROM assignments WHERE probe_id = $ID
		AND delivered IS NULL")" = 0 ] &&
	[ "$(t_psql "SELECT count(*) FROM probe_pushes WHERE probe_id = $ID
		AND status IN ('pending', 'sending')")" = 0 ]
}
t_check "all one-offs delivered, no push waiting" t_wait 120 delivered_all
ran() { [ "$(grep -c "msm $1: result written" "$T/probe.log")" -ge 1 ]; }
for M in $MSMS; do
	t_check "one-off $M ran" t_wait 60 ran "$M"
done
# The probe stops (its last results move to data/out); --once uploads them.
kill -TERM $PRPID
wait $PRPID
t_check "probe stopped cleanly" test $? = 0
"$BIN/vantage-probe" "${PARGS[@]}" --once >"$T/once.log" 2>&1
t_check "--once uploaded the rest" test $? = 0

# (a) delivered once: one-off lines the probe took, runs per one-off
TAKEN=$(sed -n 's/.*command batch: .*, \([0-9]*\) one-off(s).*/\1/p' "$T/probe.log" |
	awk '{ n += $1 } END { print n + 0 }')
t_check "(a) the probe took $N one-off lines in all (took $TAKEN)" test "$TAKEN" = "$N"
for M in $MSMS; do
	R=$(grep -c "msm $M: result written" "$T/probe.log")
	t_check "(a) one-off $M ran once (ran $R times)" test "$R" = 1
done
# (b) delivered by one acknowledged push each (the schema's record)
t_check "(b) every one-off recorded as delivered" test "$(t_psql "SELECT count(*)
	FROM assignments WHERE probe_id = $ID AND delivered IS NOT NULL")" = "$N"

# (c) stored once: a second result of the same run (the same line spaced
# otherwise: another digest) queued beside the first, and again later
M1=${MSMS# }
M1=${M1%% *}
# requeue MSM INDENT: queues msm MSM's first queued result of the probe
# again, spaced otherwise (another digest, the same run)
requeue() {
	[ -s "$T/line.$1" ] || t_psql "SELECT line FROM result_queue WHERE probe_id = $ID
		AND line::json->>'id' = '$1' ORDER BY id LIMIT 1" >"$T/line.$1"
	/usr/bin/python3 -c 'import json, sys
r = json.loads(open(sys.argv[1]).read())
print(json.dumps(r, indent=int(sys.argv[2])).replace("\n", " "))' \
		"$T/line.$1" "$2" >"$T/dup.$1"
	[ -s "$T/dup.$1" ] && t_psql "INSERT INTO result_queue (probe_id, session_id,
		line) VALUES ($ID, 'dup', \$dup\$$(cat "$T/dup.$1")\$dup\$)"
}
t_check "(c) every one-off's result queued" test "$(t_psql "SELECT count(DISTINCT
	line::json->>'id') FROM result_queue WHERE probe_id = $ID")" -ge "$N"
t_check "(c) a second result of one run queued beside the first" requeue "$M1" 1
"$BIN/vantage-worker" --once >"$T/worker1.log" 2>&1
t_check "(c) worker drained the queue" test "$(t_psql "SELECT count(*) FROM result_queue")" = 0
t_check "(c) a third one queued after the first was stored" requeue "$M1" 2
"$BIN/vantage-worker" --once >"$T/worker2.log" 2>&1
for M in $MSMS; do
	C=$(t_psql "SELECT count(*) FROM results WHERE msm_id = $M AND prb_id = $ID")
	t_check "(c) one-off $M stored once (stored $C)" test "$C" = 1
done
t_check "(c) nothing rejected" test "$(t_psql "SELECT count(*) FROM rejected")" = 0

if [ "$T_FAIL" -ne 0 ]; then
	t_log "gateway log:"; grep -i 'push' "$T/gw.log" | tail -30 | sed 's/^/#   /'
	t_log "probe log:"; grep -E 'command batch|result written' "$T/probe.log" | tail -40 | sed 's/^/#   /'
	t_log "pushes:"; t_psql "SELECT id, kind, status, outcome, created FROM probe_pushes
		WHERE probe_id = $ID ORDER BY id" | sed 's/^/#   /'
fi
t_done
