#!/bin/bash
# status.sh - `vantage status` against a running stack (the real
# vantage-gateway, -worker, -scheduler, -api and -archiver):
#  (a) every section is there, with the daemons that run (each records
#      itself in daemons, migration 016), and nothing needs attention;
#  (b) --json holds the same, as one JSON document;
#  (c) the worker stopped: the worker line comes under ATTENTION (WARN),
#      and with results queued it is CRIT with the queue's depth;
#  (d) a scheduler killed (no clean stop) is reported silent, then as
#      missing (CRIT);
#  (e) the archiver's last run and the archive's state are shown;
#  (f) it exits as monitoring plugins do: 0 nothing needs attention, 1 WARN
#      entries only, 2 a CRIT entry, 3 no report (database, flags).
. "$(dirname "$0")/../lib.sh"
t_setup

for b in vantage-gateway vantage-scheduler vantage-worker vantage-api \
	vantage-archiver; do
	[ -x "$BIN/$b" ] || t_skip "bin/$b not built"
done
t_pg_start || { t_notok "PostgreSQL starts"; t_done; exit 1; }

REG=$(t_free_port)
CTRL=$(t_free_port)
while [ "$CTRL" = "$REG" ]; do CTRL=$(t_free_port); done
API=$(t_free_port)
while [ "$API" = "$REG" ] || [ "$API" = "$CTRL" ]; do API=$(t_free_port); done
mkdir -p "$T/hk" "$T/archive"
"$BIN/vantage-gateway" --db "$VANTAGE_DB" --listen 127.0.0.1 \
	--reg-port "$REG" --ctrl-port "$CTRL" --ctrl-host 127.0.0.1 \
	--host-keys "$T/hk" --name gw-status >>"$T/gw.log" 2>&1 &
t_bg $!
"$BIN/vantage-worker" --db "$VANTAGE_DB" >>"$T/worker.log" 2>&1 &
WPID=$!
t_bg $WPID
"$BIN/vantage-scheduler" --db "$VANTAGE_DB" --interval 1 >>"$T/sched.log" 2>&1 &
SPID=$!
t_bg $SPID
"$BIN/vantage-api" --db "$VANTAGE_DB" --http "127.0.0.1:$API" >>"$T/api.log" 2>&1 &
t_bg $!
"$BIN/vantage-archiver" --db "$VANTAGE_DB" --store "file://$T/archive" \
	>"$T/arc.log" 2>&1
t_check "archiver ran" test $? = 0

# status: the report into $T/status.txt, its exit status into ST_RC;
# succeeds when a report was read (exit 0, 1 or 2; 3 is "unknown")
status() {
	"$BIN/vantage" status >"$T/status.txt" 2>&1
	ST_RC=$?
	[ "$ST_RC" -le 2 ]
}
# rc_matches: ST_RC is what the report's ATTENTION section says: 2 with a
# CRIT entry, else 1 with a WARN entry, else 0 (monitoring plugins' codes)
rc_matches() {
	local want=0
	attention | grep -q '^  WARN ' && want=1
	attention | grep -q '^  CRIT ' && want=2
	[ "$ST_RC" = "$want" ] || { t_log "status exit $ST_RC, its report wants $want"; return 1; }
}
# warn_only: a report with WARN entries and no CRIT one, which exits 1
warn_only() {
	status; attention | grep -q '^  WARN ' && ! attention | grep -q '^  CRIT ' &&
		[ "$ST_RC" = 1 ]
}
# attention: the ATTENTION section (up to the first empty line)
attention() { sed -n '/^ATTENTION/,/^$/p' "$T/status.txt"; }
# section NAME: the lines of a section (up to the next empty line)
section() { sed -n "/^$1/,/^\$/p" "$T/status.txt"; }
all_up() {
	status && [ "$(t_psql "SELECT count(*) FROM daemons WHERE stopped IS NULL")" -ge 4 ] &&
	grep -q '^ATTENTION: nothing' "$T/status.txt" &&
	grep -q '^SCHEDULER  last pass [0-9]*s ago' "$T/status.txt"   # its first pass done
}
t_check "everything up: nothing needs attention" t_wait 30 all_up
t_check "... and status exits 0" test "$ST_RC" = 0
[ -n "${T_VERBOSE:-}" ] && cat "$T/status.txt"
t_check "gateway listed alive with its sessions" sh -c \
	"sed -n '/^GATEWAYS/,/^\$/p' '$T/status.txt' | grep -q 'gw-status .* alive  0/[0-9]* sessions'"
t_check "probes line" grep -q '^GATEWAYS   probes: 0 connected of 0 registered' "$T/status.txt"
t_check "queue line" grep -q '^QUEUE      0 results queued' "$T/status.txt"
t_check "a worker running" sh -c "sed -n '/^WORKERS/,/^\$/p' '$T/status.txt' | grep -q 'pid $WPID .*running'"
t_check "the scheduler's last pass" sh -c \
	"grep -q '^SCHEDULER  last pass [0-9]*s ago' '$T/status.txt' &&
	 sed -n '/^SCHEDULER/,/^\$/p' '$T/status.txt' | grep -q 'pid $SPID .*running'"
t_check "the archiver's state and last run" sh -c \
	"grep -q '^ARCHIVER   last day archived none; 0 objects, 0 bytes; nothing due' '$T/status.txt' &&
	 grep -q '^  last run .* ago on .* (ok)' '$T/status.txt'"
t_check "the API instance" sh -c "sed -n '/^API/,\$p' '$T/status.txt' | grep -q '127.0.0.1:$API .*running'"

"$BIN/vantage" status --json >"$T/status.json"
t_check "--json exits with its attention's worst level" /usr/bin/python3 -c '
import json, sys
levels = [a["level"] for a in json.load(open(sys.argv[1]))["attention"]]
sys.exit(int(sys.argv[2]) != (2 if "CRIT" in levels else 1 if "WARN" in levels else 0))' \
	"$T/status.json" $?
t_check "--json: sections and values" /usr/bin/python3 - "$T/status.json" "$WPID" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
ok = (d["attention"] == [] and d["queue"]["depth"] == 0 and
      [g["name"] for g in d["gateways"]] == ["gw-status"] and d["gateways"][0]["alive"] and
      any(w["pid"] == int(sys.argv[2]) and w["state"] == "running" for w in d["daemons"]["worker"]) and
      d["scheduler"]["last_pass"] > 0 and len(d["daemons"]["api"]) == 1 and
      d["archiver"]["overdue_s"] == 0 and d["archiver"]["last_run"]["info"]["ok"] == 1 and
      d["probes"] == {"registered": 0, "connected": 0})
sys.exit(0 if ok else 1)
PY

# ---- the worker stops ----
kill "$WPID"
stopped() { [ "$(t_psql "SELECT count(*) FROM daemons WHERE kind = 'worker' AND stopped IS NOT NULL")" = 1 ]; }
t_check "the worker marks itself stopped" t_wait 20 stopped
status
t_check "worker under ATTENTION (WARN) once it stops" sh -c \
	"sed -n '/^ATTENTION/,/^\$/p' '$T/status.txt' | grep -q 'WARN  worker    no worker running'"
t_check "a stopped worker is not listed as running" sh -c \
	"! sed -n '/^WORKERS/,/^\$/p' '$T/status.txt' | grep -q running"
t_check "the exit status is the report's worst level (WARN: 1)" rc_matches
t_check "WARN entries only: status exits 1" t_wait 60 warn_only
t_psql "INSERT INTO result_queue (probe_id, session_id, line) VALUES (1, 's', '{}'), (1, 's', '{}')" >/dev/null
status
t_check "results queued without a worker: CRIT with the depth" sh -c \
	"sed -n '/^ATTENTION/,/^\$/p' '$T/status.txt' | grep -q 'CRIT  worker    no worker running: 2 results queued'"
t_check "CRIT comes before WARN" sh -c \
	"attention_lines=\$(sed -n '/^ATTENTION/,/^\$/p' '$T/status.txt' | grep -n 'CRIT\\|WARN' | head -1); echo \"\$attention_lines\" | grep -q CRIT"
t_check "queue line shows 2" grep -q '^QUEUE      2 results queued' "$T/status.txt"
t_check "a CRIT entry: status exits 2" test "$ST_RC" = 2
"$BIN/vantage" status --json >/dev/null 2>&1
t_check "... --json too" test $? = 2

# ---- the scheduler dies ----
kill -9 "$SPID"
silent() { status && sed -n '/^ATTENTION/,/^$/p' "$T/status.txt" | grep -q "WARN  scheduler scheduler scheduler on .* (pid $SPID) silent"; }
t_check "a killed scheduler is reported silent" t_wait 60 silent
t_check "and no scheduler running (CRIT)" sh -c \
	"sed -n '/^ATTENTION/,/^\$/p' '$T/status.txt' | grep -q 'CRIT  scheduler no scheduler running'"
t_check "... status exits 2" rc_matches

# ---- the status cannot be read: 3 (unknown), never 0 ----
VANTAGE_DB="host=127.0.0.1 port=$(t_free_port) dbname=none connect_timeout=10" \
	"$BIN/vantage" status >"$T/unknown.txt" 2>&1
t_check "an unreachable database: exit 3 with the reason" sh -c \
	"test $? = 3 && grep -q '^vantage: database:' '$T/unknown.txt'"
t_check "a bad flag of status: exit 3" t_refuses 3 "--late-days: 'x'" \
	"$BIN/vantage" status --late-days x
t_check "a bad global flag before status: exit 3" t_refuses 3 "--db-read-max-lag" \
	"$BIN/vantage" --db-read-max-lag x status
t_check "... while other commands keep 2 for usage" t_refuses 2 "unrecognized option" \
	"$BIN/vantage" --bogus probe list
t_check "status --json still parses" sh -c \
	"'$BIN/vantage' status --json | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if any(a[\"what\"]==\"worker\" and a[\"level\"]==\"CRIT\" for a in d[\"attention\"]) else 1)'"

t_done
