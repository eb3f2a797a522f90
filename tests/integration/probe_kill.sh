#!/bin/bash
# probe_kill.sh - several vantage-probes upload continuously while the
# gateway is SIGKILLed and restarted a few times.  At every kill, every
# result whose file a probe deleted (= acknowledged) must already be in
# result_queue; at the end every produced result is there.  Duplicates are
# possible only for a post whose OK was lost; their number is reported.
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
t_wait 20 test -s "$T/hk/ssh_host_ed25519_key.pub" || { t_notok "gateway starts"; t_done; exit 1; }

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
t_check "$NPROBES probes hold KEEP" t_wait 60 connected

# Producers: numbered result files, written in data/new and renamed into
# data/out; each name is logged once it is in data/out.
produce() { # k
	local S=$T/p$1 i
	for i in $(seq 1 $NRESULTS); do
		printf 'RESULT {"prb": %d, "seq": %d, "time": %d}\n' "$1" "$i" "$(date +%s)" \
			>"$S/data/new/r$i"
		mv "$S/data/new/r$i" "$S/data/out/$(printf 'r%06d' "$i")"
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
for n in $(seq 1 $KILLS); do
	sleep 2
	kill -9 "$GW"
	wait "$GW" 2>/dev/null
	m=$(acked_missing)
	t_check "kill $n: every acknowledged result is in result_queue ($m missing)" test "$m" = 0
	sleep 1
	start_gw
	t_check "after restart $n every probe holds KEEP again" t_wait 60 all_back $((n + 1))
done
wait $PRODS

empty() {
	for k in $(seq 1 $NPROBES); do
		[ -z "$(ls "$T/p$k/data/out")" ] || return 1
	done
}
t_check "every probe uploaded its spool after the restarts" t_wait 120 empty
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
