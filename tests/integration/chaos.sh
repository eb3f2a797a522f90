#!/bin/bash
# chaos.sh - nothing lost, nothing doubled.  On loopback: a PostgreSQL
# cluster, a vantage-gateway, two vantage-workers and four vantage-probes
# running pushed crontabs of fast measurements (evping, evtraceroute against
# 127.0.0.x) while a producer beside each probe adds a steady stream of
# result files to its spool.  While results flow the gateway and a worker
# are SIGKILLed and restarted, PostgreSQL is restarted (fast, then
# immediate), one probe is frozen past the gateway's keepalive (its link
# dropped) and thawed, another is SIGKILLed and restarted on its spool.
# The producers' times walk over the past 12 days, so the two workers keep
# creating results partitions side by side.  Then production stops, the
# spools drain, and every result line the probes produced (hard links to
# each result file: tests/helpers/chaos_tap for the measurements, the
# producers for theirs) must be in `results` exactly as often as it was
# produced, by (msm_id, prb_id, timestamp); the queue empty, nothing
# rejected.  Prints produced / stored / duplicates / missing.
. "$(dirname "$0")/../lib.sh"
t_setup

TAP=$TOP/build/tests/chaos_tap
for b in vantage-gateway vantage-probe vantage-worker vantage; do
	[ -x "$BIN/$b" ] || t_skip "bin/$b not built"
done
[ -x "$TAP" ] || t_skip "no $TAP (make tests)"
[ "$(id -u)" = 0 ] || t_skip "probes measure with raw sockets: needs root"
command -v python3 >/dev/null || t_skip "no python3"

NPROBES=${NPROBES:-4}
# A stalled pipeline must fail the test, not hang it: queries give up.
t_psql() { PGOPTIONS='-c statement_timeout=20s' psql "$VANTAGE_DB" -qtAX -v ON_ERROR_STOP=1 -c "$1"; }
PGD=$T/pg
t_pg_start "$PGD" || { t_notok "PostgreSQL starts"; t_done; exit 1; }
PGPORT=$(sed -n 's/.*port=\([0-9]*\).*/\1/p' <<<"$VANTAGE_DB")

REG=$(t_free_port)
CTRL=$(t_free_port)
while [ "$CTRL" = "$REG" ]; do CTRL=$(t_free_port); done
mkdir -p "$T/hk" "$T/rec"

GW=
start_gw() {
	"$BIN/vantage-gateway" --db "$VANTAGE_DB" --listen 127.0.0.1 --reg-port "$REG" \
		--ctrl-port "$CTRL" --ctrl-host 127.0.0.1 --host-keys "$T/hk" \
		--name gw1 --keepalive 2 >>"$T/gw.log" 2>&1 &
	GW=$!
	t_bg $GW
}
W1= W2=
start_worker() { # N
	"$BIN/vantage-worker" --db "$VANTAGE_DB" --batch 200 >>"$T/w$1.log" 2>&1 &
	eval "W$1=$!"
	t_bg $!
}
start_gw
t_wait 20 test -s "$T/hk/ssh_host_ed25519_key.pub" || { t_notok "gateway starts"; t_done; exit 1; }
start_worker 1
start_worker 2

# Measurements the probes run: two pings every 2 s, a traceroute every 4 s;
# 9001 takes the producers' results.
NOW=$(date +%s)
t_psql "INSERT INTO measurements (id, type, af, target, interval, spread, start_time, status, definition) VALUES
  (9101, 'ping', 4, '127.0.0.2', 2, 1, $NOW, 2,
   '{\"type\":\"ping\",\"af\":4,\"target\":\"127.0.0.2\",\"packets\":1,\"packet_interval\":100}'),
  (9102, 'ping', 4, '127.0.0.3', 2, 1, $NOW, 2,
   '{\"type\":\"ping\",\"af\":4,\"target\":\"127.0.0.3\",\"packets\":2,\"packet_interval\":100}'),
  (9103, 'traceroute', 4, '127.0.0.4', 4, 2, $NOW, 2,
   '{\"type\":\"traceroute\",\"af\":4,\"target\":\"127.0.0.4\",\"protocol\":\"ICMP\",\"packets\":1,\"max_hops\":2,\"paris\":0}'),
  (9001, 'ping', 4, '127.0.0.9', 60, 1, $NOW, 2, '{}')" ||
	{ t_notok "measurements inserted"; t_done; exit 1; }

declare -a PRB PPID_
start_probe() { # k
	"$BIN/vantage-probe" --spool "$T/p$1" --reg-host 127.0.0.1 --reg-port "$REG" \
		--reg-hostkey "$T/hk/ssh_host_ed25519_key.pub" --backoff-min-ms 200 \
		--backoff-max-ms 1000 --upload-poll-ms 300 --allow-private \
		>>"$T/probe$1.log" 2>&1 &
	PPID_[$1]=$!
	t_bg $!
}
SPOOLS=
for k in $(seq 1 $NPROBES); do
	S=$T/p$k
	"$BIN/vantage-probe" --spool "$S" --reg-host 127.0.0.1 --reg-port "$REG" \
		--reg-hostkey "$T/hk/ssh_host_ed25519_key.pub" --once >/dev/null 2>&1
	PRB[$k]=$("$BIN/vantage" probe add --pubkey "$S/id_ed25519.pub" | grep -o '[0-9]\+' | head -1)
	t_psql "INSERT INTO assignments (msm_id, probe_id)
	        SELECT m, ${PRB[$k]} FROM unnest('{9101,9102,9103}'::bigint[]) m" >/dev/null
	# 9001: the producers' late results of a measurement the probe ran
	# until now (ended, so not pushed; accepted for the late window)
	t_psql "INSERT INTO assignments (msm_id, probe_id, removed)
	        VALUES (9001, ${PRB[$k]}, now())" >/dev/null
	SPOOLS="$SPOOLS $S"
done
"$TAP" "$T/rec" $SPOOLS >"$T/tap.out" 2>&1 &
TAPPID=$!
t_bg $TAPPID
t_wait 10 grep -q ready "$T/tap.out" || { t_notok "chaos_tap starts"; t_done; exit 1; }
for k in $(seq 1 $NPROBES); do start_probe "$k"; done

connected() { [ "$(t_psql "SELECT count(*) FROM probe_sessions WHERE connected")" = "$NPROBES" ]; }
t_check "$NPROBES probes hold KEEP" t_wait 60 connected
# keeps(k): KEEP connections probe k made so far
keeps() { grep -c 'KEEP: connected' "$T/probe$1.log"; }
# snap: remembers each probe's KEEP count; back k: probe k connected
# again since; all_back: every probe did
declare -a K0
snap() { for k in $(seq 1 $NPROBES); do K0[$k]=$(keeps "$k"); done; }
back() { [ "$(keeps "$1")" -gt "${K0[$1]}" ]; }
all_back() { for k in $(seq 1 $NPROBES); do back "$k" || return 1; done; }
crontabs() {
	for k in $(seq 1 $NPROBES); do grep -q 9103 "$T/p$k/crons/7" 2>/dev/null || return 1; done
}
t_check "every probe got its crontab" t_wait 30 crontabs

# Producers: result files written in data/new and renamed into data/out,
# as the probe's scheduler does, one every 20 ms until $T/produce goes.
# Their times walk over the past 12 days, so that the two workers keep
# meeting days whose results partition does not exist yet.
touch "$T/produce"
produce() { # k
	local S=$T/p$1 i=0
	while [ -e "$T/produce" ]; do
		i=$((i + 1))
		printf 'RESULT {"fw":5080,"lts":3,"id":"9001","dst_name":"127.0.0.9","af":4,"dst_addr":"127.0.0.9","src_addr":"127.0.0.1","proto":"ICMP","ttl":64,"size":48,"result":[{"rtt":0.051}],"time":%d}\n' \
			$((NOW - 86400 * (1 + i / 100 % 12) - i)) >"$S/data/new/.syn$i"
		# recorded before the probe can see it (as chaos_tap would name it)
		ln "$S/data/new/.syn$i" "$T/rec/$1/$(stat -c %i "$S/data/new/.syn$i")"
		mv "$S/data/new/.syn$i" "$S/data/out/$(printf 's%09d' "$i")"
		echo "$i" >>"$T/produced$1"
		sleep 0.02
	done
}
PRODS=
for k in $(seq 1 $NPROBES); do
	: >"$T/produced$k"
	produce "$k" &
	PRODS="$PRODS $!"
	t_bg $!
done

# queued_more: result_queue has seen new rows since the last call (its
# identity moves on even when workers empty it).
LASTQ=0
queued_more() {
	local q
	q=$(t_psql "SELECT coalesce(max(id), 0) FROM result_queue") || return 1
	[ "$q" -gt "$LASTQ" ] || q=$(t_psql "SELECT last_value FROM result_queue_id_seq") || return 1
	[ "$q" -gt "$LASTQ" ] && LASTQ=$q
}
stored() { t_psql "SELECT count(*) FROM results"; }
S0=0
more_stored() { [ "$(stored)" -gt "$S0" ]; }
flowing() { # results keep arriving in the queue and in results
	S0=$(stored) || return 1
	t_wait 30 queued_more && t_wait 30 more_stored
}
t_check "results flow" flowing

t_log "kill -9 the gateway"
snap
kill -9 "$GW"; wait "$GW" 2>/dev/null
sleep 1
start_gw
t_check "every probe holds KEEP again after the gateway restart" t_wait 60 all_back
t_check "results flow after the gateway restart" flowing
sleep 4

t_log "kill -9 worker 1"
kill -9 "$W1"; wait "$W1" 2>/dev/null
sleep 2
start_worker 1
t_check "results flow after the worker restart" flowing
sleep 4

t_log "PostgreSQL: fast shutdown, 2 s down, start"
"$TOP/scripts/pg" stop "$PGD"
sleep 2
"$TOP/scripts/pg" start "$PGD" "$PGPORT" >/dev/null || t_notok "PostgreSQL restarts"
t_check "results flow after the PostgreSQL restart" flowing
sleep 4

t_log "probe 2 frozen for 10 s (gateway keepalive 2 s: its session is dropped)"
snap
silent() { grep -c "probe ${PRB[2]}: peer .* silent" "$T/gw.log"; }
dropped() { [ "$(silent)" -gt "$D0" ]; }
D0=$(silent)
kill -STOP "${PPID_[2]}"
t_check "the gateway drops the frozen probe" t_wait 20 dropped
sleep 2
kill -CONT "${PPID_[2]}"
t_check "the thawed probe holds KEEP again" t_wait 60 back 2
sleep 4

t_log "kill -9 probe 3, restart it on its spool"
snap
kill -9 "${PPID_[3]}"; wait "${PPID_[3]}" 2>/dev/null
sleep 2
start_probe 3
t_check "the restarted probe holds KEEP again" t_wait 60 back 3
sleep 4

t_log "PostgreSQL: immediate shutdown (crash), 2 s down, start"
"$TOP/scripts/pg" kill "$PGD"
sleep 2
"$TOP/scripts/pg" start "$PGD" "$PGPORT" >/dev/null || t_notok "PostgreSQL restarts after a crash"
t_check "results flow after the PostgreSQL crash" flowing
sleep 4

t_log "kill -9 the gateway and worker 2 together"
snap
kill -9 "$GW" "$W2"; wait "$GW" "$W2" 2>/dev/null
sleep 1
start_gw
start_worker 2
t_check "every probe holds KEEP again after the second gateway restart" \
	t_wait 60 all_back
t_check "results flow at the end" flowing

# Stop producing: the producers end, the assignments go, the probes are
# stopped (they move data/new to data/out on the way out) and, their
# crontabs removed, started again to upload what is left.
rm -f "$T/produce"
wait $PRODS
t_psql "UPDATE assignments SET removed = now()" >/dev/null
for k in $(seq 1 $NPROBES); do kill -TERM "${PPID_[$k]}"; done
for k in $(seq 1 $NPROBES); do wait "${PPID_[$k]}" 2>/dev/null; done
for k in $(seq 1 $NPROBES); do
	rm -f "$T/p$k/crons/7"
	start_probe "$k"
done
spools_empty() {
	for k in $(seq 1 $NPROBES); do
		[ -z "$(ls -A "$T/p$k/data/out")" ] && [ -z "$(ls -A "$T/p$k/data/new")" ] || return 1
	done
}
if t_wait 60 spools_empty; then
	t_ok "every spool uploaded (data/new and data/out empty)"
else
	t_notok "every spool uploaded (data/new and data/out empty)"
	for k in $(seq 1 $NPROBES); do
		t_log "probe $k: $(ls "$T/p$k/data/new" | wc -l) file(s) in data/new, $(ls "$T/p$k/data/out" | wc -l) in data/out"
	done
fi
for k in $(seq 1 $NPROBES); do kill -TERM "${PPID_[$k]}"; done
for k in $(seq 1 $NPROBES); do wait "${PPID_[$k]}" 2>/dev/null; done
queue_empty() { [ "$(t_psql "SELECT count(*) FROM result_queue")" = 0 ]; }
t_check "result_queue drained" t_wait 60 queue_empty
kill -TERM $TAPPID; wait $TAPPID
t_log "chaos_tap: $(tail -1 "$T/tap.out")"

refused=$(grep -c 'refused channel type' "$T/gw.log")
t_log "sink channels the gateway refused before a KEEP was looked up: $refused"
# produced: every RESULT line of every recorded file, by probe id
for k in $(seq 1 $NPROBES); do
	for f in "$T/rec/$k"/*; do
		[ -f "$f" ] && sed -n "s/^RESULT /${PRB[$k]} /p" "$f"
	done
done >"$T/produced.lines"
t_psql "SELECT msm_id, prb_id, ts FROM results" >"$T/stored.rows"
python3 - "$T/produced.lines" "$T/stored.rows" >"$T/counts" <<'PY'
import collections, json, sys
prod = collections.Counter()
for l in open(sys.argv[1]):
    prb, js = l.split(" ", 1)
    r = json.loads(js)
    prod[(int(r["id"]), int(prb), int(r["time"]))] += 1
stored = collections.Counter()
for l in open(sys.argv[2]):
    if l.strip():
        m, p, t = l.strip().split("|")
        stored[(int(m), int(p), int(t))] += 1
produced = sum(prod.values())
# A probe may produce two results with one key (late runs caught up in the
# same second): each key must be stored as often as it was produced.
same_key = sum(n - 1 for n in prod.values() if n > 1)
dups = [(k, stored[k] - prod[k]) for k in stored if stored[k] > prod[k] > 0]
extra = [(k, n) for k, n in stored.items() if k not in prod]
missing = [(k, prod[k] - stored[k]) for k in prod if prod[k] > stored[k]]
real = sum(n for k, n in prod.items() if k[0] != 9001)
print(f"produced {produced} real {real} synthetic {produced - real} "
      f"stored {sum(stored.values())} duplicates {sum(n for k, n in dups)} "
      f"missing {sum(n for k, n in missing)} unexpected {sum(n for k, n in extra)} "
      f"same-key {same_key}")
for k, n in missing[:10]: print("missing", *k, n)
for k, n in dups[:10]: print("duplicate", *k, n)
for k, n in extra[:10]: print("unexpected", *k, n)
for k, n in [(k, n) for k, n in prod.items() if n > 1][:5]:
    print("produced twice with one key:", *k, n)
PY
C=$(head -1 "$T/counts")
t_log "$C"
sed -n '2,$p' "$T/counts" | sed 's/^/#   /'
val() { sed -n "s/.* $1 \([0-9]*\).*/\1/p; s/^$1 \([0-9]*\).*/\1/p" <<<"$C" | head -1; }
synthetic=0
for k in $(seq 1 $NPROBES); do synthetic=$((synthetic + $(wc -l <"$T/produced$k"))); done
t_check "every producer file recorded ($synthetic written, $(val synthetic) recorded)" \
	test "$(val synthetic)" = "$synthetic"
t_check "the probes measured ($(val real) real results)" test "$(val real)" -gt 0
t_check "no result missing ($(val missing))" test "$(val missing)" = 0
t_check "no result stored twice ($(val duplicates))" test "$(val duplicates)" = 0
t_check "nothing stored that no probe produced ($(val unexpected))" test "$(val unexpected)" = 0
t_check "stored = produced" test "$(val stored)" = "$(val produced)"
rej=$(t_psql "SELECT count(*) FROM rejected")
t_check "nothing rejected ($rej)" test "$rej" = 0
[ "$rej" = 0 ] || t_psql "SELECT reason, left(line, 120) FROM rejected LIMIT 5" | sed 's/^/#   /'
t_log "workers: $(grep -h 'stored' "$T"/w*.log | sed -n 's/.*claimed \([0-9]*\), stored \([0-9]*\), duplicates \([0-9]*\).*/\1 \2 \3/p' |
	awk '{c+=$1; s+=$2; d+=$3} END {printf "claimed %d, stored %d, duplicates %d (re-posts)", c, s, d}')"

kill -TERM "$GW" "$W1" "$W2" 2>/dev/null
wait "$GW" "$W1" "$W2" 2>/dev/null
if [ "$T_FAIL" -ne 0 ]; then
	t_log "gateway log:"; tail -20 "$T/gw.log" | sed 's/^/#   /'
	for k in $(seq 1 $NPROBES); do
		t_log "probe $k log:"; tail -8 "$T/probe$k.log" | sed 's/^/#   /'
	done
	t_log "worker logs:"; tail -n 5 "$T"/w*.log | sed 's/^/#   /'
fi
t_done
