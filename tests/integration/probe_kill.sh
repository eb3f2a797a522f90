#!/bin/bash
# probe_kill.sh - several vantage-probes upload continuously while the
# gateway is SIGKILLed and restarted a few times.  At every kill, every
# result whose file a probe deleted (= acknowledged) must already be in
# result_queue; at the end every produced result is there.  Duplicates are
# possible only for a post whose OK was lost; their number is reported.
# No probe may re-register: a gateway restart, however slow on a loaded
# machine, costs reconnects only (the probe registers again only after
# KEEP failed 8 times and for --rereg-after seconds, default 600).  The
# test waits for events (results produced, probes noticing the loss),
# never for a span of time.
. "$(dirname "$0")/../lib.sh"
t_setup

[ -x "$BIN/vantage-gateway" ] || t_skip "bin/vantage-gateway not built"
[ -x "$BIN/vantage-probe" ] || t_skip "bin/vantage-probe not built"
t_pg_start || { t_notok "PostgreSQL starts"; t_done; exit 1; }

NPROBES=${NPROBES:-4}
NRESULTS=${NRESULTS:-120}     # per probe
KILLS=${KILLS:-3}

REG=$(t_free_port)
CTRL=$(t_free_port)
while [ "$CTRL" = "$REG" ]; do CTRL=$(t_free_port); done
mkdir -p "$T/hk"
GW=
start_gw() {
	"$BIN/vantage-gateway" --db "$VANTAGE_DB" --listen 127.0.0.1 --reg-port "$REG" \
		--ctrl-port "$CTRL" --ctrl-host 127.0.0.1 --host-keys "$T/hk" --name gw1 \
		>>"$T/gw.log" 2>&1 &
	GW=$!
	t_bg $GW
}
start_gw
t_wait 300 test -s "$T/hk/ssh_host_ed25519_key.pub" || { t_notok "gateway starts"; t_done; exit 1; }

PIDS=
for k in $(seq 1 $NPROBES); do
	S=$T/p$k
	"$BIN/vantage-probe" --spool "$S" --reg-host 127.0.0.1 --reg-port "$REG" \
		--reg-hostkey "$T/hk/ssh_host_ed25519_key.pub" --once >/dev/null 2>&1
	ID=$("$BIN/vantage" probe add --pubkey "$S/id_ed25519.pub" | grep -o '[0-9]\+' | head -1)
	echo "$ID" >"$T/id$k"
	"$BIN/vantage-probe" --spool "$S" --reg-host 127.0.0.1 --reg-port "$REG" \
		--reg-hostkey "$T/hk/ssh_host_ed25519_key.pub" --backoff-min-ms 200 \
		--backoff-max-ms 2000 --upload-poll-ms 300 >"$T/probe$k.log" 2>&1 &
	t_bg $!
	PIDS="$PIDS $!"
done
connected() { [ "$(t_psql "SELECT count(*) FROM probe_sessions WHERE connected")" = "$NPROBES" ]; }
t_check "$NPROBES probes hold KEEP" t_wait 300 connected

# Producers: numbered result files, written beside the spool (not in
# data/new, which the pushed condmv job empties on its own) and renamed
# into data/out; each name is logged once it is in data/out.
produce() { # k
	local S=$T/p$1 i
	for i in $(seq 1 $NRESULTS); do
		printf 'RESULT {"prb": %d, "seq": %d, "time": %d}\n' "$1" "$i" "$(date +%s)" \
			>"$T/new$1.$i"
		mv "$T/new$1.$i" "$S/data/out/$(printf 'r%06d' "$i")"
		echo "$i" >>"$T/produced$1"
		sleep 0.03
	done
}
PRODS=
for k in $(seq 1 $NPROBES); do
	: >"$T/produced$k"
	produce "$k" &
	PRODS="$PRODS $!"
	t_bg $!
done

# Acknowledged = produced and no longer in data/out.  All of them must be
# in result_queue.
acked_missing() {
	local k i missing=0
	for k in $(seq 1 $NPROBES); do
		t_psql "SELECT (line::json->>'seq') FROM result_queue
			WHERE line::json->>'prb' = '$k'" | sort -u >"$T/stored$k"
		while read -r i; do
			[ -e "$T/p$k/data/out/$(printf 'r%06d' "$i")" ] && continue
			echo "$i"
		done <"$T/produced$k" | sort -u | comm -23 - "$T/stored$k" >"$T/lost$k"
		missing=$((missing + $(wc -l <"$T/lost$k")))
	done
	echo "$missing"
}

# all_back N: every probe has connected KEEP at least N times.
all_back() {
	local k
	for k in $(seq 1 $NPROBES); do
		[ "$(grep -c 'KEEP: connected' "$T/probe$k.log")" -ge "$1" ] || return 1
	done
}
# produced_at_least N: every producer wrote N results (or all of its own).
produced_at_least() {
	local k
	for k in $(seq 1 $NPROBES); do
		[ "$(wc -l <"$T/produced$k")" -ge "$1" ] || return 1
	done
}
# retries K: how many reconnect delays probe K has begun.
retries() { grep -c 'retrying in' "$T/probe$1.log"; }
# all_retried: every probe began two more delays than in $T/retries.K
# (the lost KEEP, then a connect the dead gateway refused).
all_retried() {
	local k
	for k in $(seq 1 $NPROBES); do
		[ "$(retries "$k")" -ge $(($(cat "$T/retries.$k") + 2)) ] || return 1
	done
}
# (the round is not $n: t_wait uses that name)
for round in $(seq 1 $KILLS); do
	# a share of the results is produced before each kill
	t_wait 600 produced_at_least $((round * NRESULTS / (KILLS + 1)))
	for k in $(seq 1 $NPROBES); do retries "$k" >"$T/retries.$k"; done
	kill -9 "$GW"
	wait "$GW" 2>/dev/null
	m=$(acked_missing)
	t_check "kill $round: every acknowledged result is in result_queue ($m missing)" \
		test "$m" = 0
	t_check "kill $round: every probe tried the dead gateway" t_wait 300 all_retried
	start_gw
	t_check "after restart $round every probe holds KEEP again" \
		t_wait 300 all_back $((round + 1))
done
wait $PRODS

empty() {
	for k in $(seq 1 $NPROBES); do
		[ -z "$(ls "$T/p$k/data/out")" ] || return 1
	done
}
t_check "every probe uploaded its spool after the restarts" t_wait 600 empty
m=$(acked_missing)
t_check "every acknowledged result is in result_queue ($m missing)" test "$m" = 0

produced=$((NPROBES * NRESULTS))
distinct=$(t_psql "SELECT count(DISTINCT (line::json->>'prb', line::json->>'seq')) FROM result_queue")
rows=$(t_psql "SELECT count(*) FROM result_queue")
t_log "produced $produced, stored $rows rows, $distinct distinct, $((rows - distinct)) duplicate(s) (posts whose OK was lost)"
t_check "every produced result is stored" test "$distinct" = "$produced"
t_check "no result stored under another probe" \
	test "$(for k in $(seq 1 $NPROBES); do t_psql "SELECT count(*) FROM result_queue WHERE line::json->>'prb' = '$k' AND probe_id <> $(cat "$T/id$k")"; done | sort -u)" = 0
reconnects=$(cat "$T"/probe*.log | grep -c 'KEEP: connected')
t_log "$reconnects KEEP connections over $KILLS gateway restarts"
t_check "no probe re-registered (old session ids reused)" \
	sh -c "! grep -h 'registered (' '$T'/probe*.log | grep -vq '(NEW)'"

for p in $PIDS; do kill "$p" 2>/dev/null; done
for p in $PIDS; do wait "$p" 2>/dev/null; done

if [ "$T_FAIL" -ne 0 ]; then
	t_log "gateway log:"; tail -30 "$T/gw.log" | sed 's/^/#   /'
	t_log "probe 1 log:"; tail -30 "$T/probe1.log" | sed 's/^/#   /'
fi
t_done
