#!/bin/bash
# logs.sh - the log lines of the daemons (common/log.h): --log-format json
# (or log-format = json in the file) prints one JSON object a line that
# /usr/bin/python3's json reads, with time, prog, pid, level and msg, and
# the subject and key=value fields of the message as members (the
# gateway's "probe N: ..." lines carry "probe": N); when stderr is the
# journal ($JOURNAL_STREAM is its dev:ino) each line starts with its syslog
# level, and only then.  A real PostgreSQL, gateway and probe.
. "$(dirname "$0")/../lib.sh"
t_setup
t_pg_start || { t_notok "PostgreSQL starts"; t_done; exit 1; }
DEAD="host=127.0.0.1 port=$(t_free_port) dbname=none connect_timeout=5"
PY=/usr/bin/python3

# jsonl FILE [KEY=VALUE...]: every line of FILE is a JSON object with
# time, prog, pid, level, msg; with KEY=VALUE, some line has them all.
jsonl() {
	$PY - "$@" <<'X'
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
want = dict(a.split("=", 1) for a in sys.argv[2:])
if not lines:
    sys.exit("no lines")
hit = not want
for l in lines:
    o = json.loads(l)
    for k in ("time", "prog", "pid", "level", "msg"):
        if k not in o:
            sys.exit("no %s in %s" % (k, l))
    if o["level"] not in ("err", "warn", "info", "debug"):
        sys.exit("level %s" % o["level"])
    if all(str(o.get(k)) == v for k, v in want.items()):
        hit = True
sys.exit(0 if hit else "no line with %s" % want)
X
}

"$BIN/vantage-worker" --db "$VANTAGE_DB" --once --log-format json 2>"$T/w.json"
t_check "worker --log-format json: every line is a JSON object with time, prog, pid, level, msg" \
	jsonl "$T/w.json" prog=vantage-worker level=info
t_check "... pid is a number" jsonl "$T/w.json" "pid=$(grep -o '"pid":[0-9]*' "$T/w.json" | head -1 | cut -d: -f2)"
echo "log-format = json" >"$T/w.conf"
# --once gives up at once when its database cannot be reached (an
# error); without --once the worker retries (a warning each time).
"$BIN/vantage-worker" --config "$T/w.conf" --db "$DEAD" --once 2>"$T/w2.json"
t_check "log-format = json from the file; giving up is level err" \
	jsonl "$T/w2.json" level=err
"$BIN/vantage-worker" --config "$T/w.conf" --db "$DEAD" 2>"$T/w4.json" &
WPID=$!
t_bg $WPID
t_check "... a warning (retrying) is level warn" \
	t_wait 60 grep -q '"level":"warn","msg":"database: ' "$T/w4.json"
kill $WPID 2>/dev/null
wait $WPID 2>/dev/null
t_check "... every line of the retrying worker parses" jsonl "$T/w4.json" level=warn
t_check "... a message with quotes survives ($(head -c 200 "$T/w2.json"))" \
	jsonl "$T/w2.json"
"$BIN/vantage-worker" --config "$T/w.conf" --log-format text --db "$VANTAGE_DB" --once 2>"$T/w3.txt"
t_check "--log-format text overrides the file's json" \
	grep -q '^[0-9-]*T[0-9:.]*Z vantage-worker\[[0-9]*\] info: ' "$T/w3.txt"

# The journal: stderr is the file named by JOURNAL_STREAM.
: >"$T/j.txt"
JOURNAL_STREAM=$(stat -c %d:%i "$T/j.txt") "$BIN/vantage-worker" --db "$DEAD" --once 2>>"$T/j.txt"
t_check "stderr is the journal: errors start with <3>" grep -q '^<3>.* err: database: ' "$T/j.txt"
JOURNAL_STREAM=$(stat -c %d:%i "$T/j.txt") "$BIN/vantage-worker" --db "$DEAD" 2>>"$T/j.txt" &
WPID=$!
t_bg $WPID
t_check "... warnings start with <4>" t_wait 60 grep -q '^<4>.* warn: database: ' "$T/j.txt"
kill $WPID 2>/dev/null
wait $WPID 2>/dev/null
t_check "... and every line starts with its level (a multi-line libpq error is one line)" \
	sh -c "! grep -qv '^<[3467]>' '$T/j.txt'"
: >"$T/j2.txt"
JOURNAL_STREAM=$(stat -c %d:%i "$T/j2.txt") "$BIN/vantage-worker" --db "$VANTAGE_DB" --once 2>>"$T/j2.txt"
t_check "... info lines start with <6>" grep -q '^<6>.* info: started' "$T/j2.txt"
JOURNAL_STREAM=1:2 "$BIN/vantage-worker" --db "$DEAD" --once 2>"$T/nj.txt"
t_check "JOURNAL_STREAM naming another file: no prefix" sh -c "! grep -q '^<' '$T/nj.txt'"
: >"$T/jj.txt"
JOURNAL_STREAM=$(stat -c %d:%i "$T/jj.txt") "$BIN/vantage-worker" --db "$DEAD" --once \
	--log-format json 2>>"$T/jj.txt"
sed 's/^<[0-9]>//' "$T/jj.txt" >"$T/jj.json"
t_check "journal and json: <N> then the object" grep -q '^<3>{' "$T/jj.txt"
t_check "... the object parses" jsonl "$T/jj.json" level=err

# The gateway's probe lines carry the probe's id as a member.
REG=$(t_free_port)
CTRL=$(t_free_port)
while [ "$CTRL" = "$REG" ]; do CTRL=$(t_free_port); done
mkdir -p "$T/hk"
"$BIN/vantage-gateway" --db "$VANTAGE_DB" --listen 127.0.0.1 --reg-port "$REG" \
	--ctrl-port "$CTRL" --ctrl-host 127.0.0.1 --host-keys "$T/hk" --name cfg-logs \
	--log-format json --log-level debug 2>"$T/gw.json" &
t_bg $!
t_wait 30 sh -c "ss -Htln 'sport = :$CTRL' | grep -q ."
t_wait 20 test -s "$T/hk/ssh_host_ed25519_key.pub"
P=(--spool "$T/sp" --reg-host 127.0.0.1 --reg-port "$REG"
   --reg-hostkey "$T/hk/ssh_host_ed25519_key.pub" --log-format json)
"$BIN/vantage-probe" "${P[@]}" --once >/dev/null 2>"$T/p1.json"
ID=$("$BIN/vantage" probe add --pubkey "$T/sp/id_ed25519.pub" | grep -o '[0-9]\+' | head -1)
# the gateway takes the new probe's key when its cache reloads (NOTIFY)
t_wait 30 grep -q 'key cache: [1-9]' "$T/gw.json"
"$BIN/vantage-probe" "${P[@]}" --once >/dev/null 2>"$T/p2.json"
t_check "probe --log-format json: JSON lines" jsonl "$T/p2.json" prog=vantage-probe
has_probe() { jsonl "$T/gw.json" "probe=$ID" level=info; }
t_check "gateway: a line about probe $ID has \"probe\": $ID" t_wait 20 has_probe
t_check "gateway: every line parses" jsonl "$T/gw.json"
t_done
