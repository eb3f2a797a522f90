#!/bin/bash
# config.sh - the configuration files of every daemon (common/optconf.h):
# a good file runs the daemon (the settings it holds are the ones used), a
# flag overrides its key, an unknown key and a bad value are refused at
# start with "file:line: why" (exit 2), a --config that does not exist is
# refused, and --check-config says OK (exit 0) or refuses (exit 1)
# without starting anything.  A real PostgreSQL, the real daemons.
. "$(dirname "$0")/../lib.sh"
t_setup
t_pg_start || { t_notok "PostgreSQL starts"; t_done; exit 1; }
GOODDB=$VANTAGE_DB
DEAD="host=127.0.0.1 port=$(t_free_port) dbname=none connect_timeout=5"
unset VANTAGE_DB VANTAGE_ARCHIVE
C=$T/conf
mkdir -p "$C" "$T/hk" "$T/arc" "$T/spool"
REG=$(t_free_port)
CTRL=$(t_free_port)
while [ "$CTRL" = "$REG" ]; do CTRL=$(t_free_port); done
HTTP=$(t_free_port)

# The good file of each daemon (and a key with a value its handler refuses).
cat >"$C/worker.conf" <<X
# the database
db = $GOODDB
batch = 100
poll_ms = 200
once = yes
X
cat >"$C/scheduler.conf" <<X
db = $GOODDB
interval = 5
once = true
X
cat >"$C/archiver.conf" <<X
db = $GOODDB
store = file://$T/arc
threads = 1
X
cat >"$C/api.conf" <<X
db = $GOODDB
http = 127.0.0.1:$HTTP
threads = 2
X
cat >"$C/gateway.conf" <<X
db = $GOODDB
listen = 127.0.0.1
reg-port = $REG
ctrl-port = $CTRL
ctrl-host = 127.0.0.1
host-keys = $T/hk
name = cfg-gw
X
cat >"$C/probe.conf" <<X
spool = $T/spool
reg_host = 127.0.0.1
reg_port = $REG
reg-hostkey = $T/hk/ssh_host_ed25519_key.pub
backoff-min-ms = 200
X
declare -A BAD=([worker]="batch = x" [scheduler]="interval = 0"
	[archiver]="threads = 99" [api]="threads = lots"
	[gateway]="max-sessions = 12abc" [probe]="reg-port = 70000")

for dm in worker scheduler archiver api gateway probe; do
	b=$BIN/vantage-$dm
	f=$C/$dm.conf
	n=$(($(wc -l <"$f") + 2))
	t_check "$dm: --check-config on the good file: OK, exit 0" \
		sh -c "'$b' --config '$f' --check-config | grep -qx 'vantage-$dm: $f: OK'"
	{ cat "$f"; echo; echo "no-such-key = 1"; } >"$C/$dm.unknown"
	t_check "$dm: an unknown key is refused with file:line" \
		t_refuses 2 "$C/$dm.unknown:$n: unknown key 'no-such-key'" "$b" --config "$C/$dm.unknown"
	t_check "$dm: ... and --check-config says so, exit 1" \
		t_refuses 1 "$C/$dm.unknown:$n: unknown key" "$b" --config "$C/$dm.unknown" --check-config
	{ cat "$f"; echo; echo "${BAD[$dm]}"; } >"$C/$dm.bad"
	t_check "$dm: a bad value (${BAD[$dm]}) is refused with file:line" \
		t_refuses 2 "$C/$dm.bad:$n: " "$b" --config "$C/$dm.bad"
	t_check "$dm: ... and --check-config refuses it, exit 1" \
		t_refuses 1 "$C/$dm.bad:$n: " "$b" --config "$C/$dm.bad" --check-config
	{ cat "$f"; echo "log-level = loud"; } >"$C/$dm.level"
	t_check "$dm: a bad log-level is refused" \
		t_refuses 1 "$C/$dm.level:$(($(wc -l <"$f") + 1)): " "$b" --config "$C/$dm.level" --check-config
	{ echo "once"; } >"$C/$dm.syntax"
	t_check "$dm: a line without '=' is refused with file:line" \
		t_refuses 2 "$C/$dm.syntax:1: expected 'key = value'" "$b" --config "$C/$dm.syntax"
	t_check "$dm: a --config that does not exist is refused" \
		t_refuses 2 "$T/none.conf: No such file or directory" "$b" --config "$T/none.conf"
	t_check "$dm: a bad flag over a good file: --check-config exit 1" \
		t_refuses 1 "--log-format: 'xml'" "$b" --config "$f" --log-format xml --check-config
done
t_check "--check-config starts nothing (no host keys made)" test ! -e "$T/hk/ssh_host_ed25519_key"

# The good files run the daemons, and flags override them.
t_psql "INSERT INTO result_queue (probe_id, line) SELECT 1, '{}' WHERE false" >/dev/null 2>&1
"$BIN/vantage-worker" --config "$C/worker.conf" >"$T/worker.log" 2>&1
t_check "worker: the good file runs it (--once from the file: drains, exit 0)" \
	sh -c "test $? = 0 && grep -q 'started (batch 100, ' '$T/worker.log'"
sed "s|^db = .*|db = $DEAD|" "$C/worker.conf" >"$C/worker.dead"
"$BIN/vantage-worker" --config "$C/worker.dead" --db "$GOODDB" --batch 7 >"$T/worker2.log" 2>&1
t_check "worker: --db and --batch override the file's" \
	sh -c "test $? = 0 && grep -q 'started (batch 7, ' '$T/worker2.log'"
"$BIN/vantage-worker" --config "$C/worker.dead" >"$T/worker3.log" 2>&1
t_check "worker: ... where the file's own database is unreachable" test $? != 0

"$BIN/vantage-scheduler" --config "$C/scheduler.conf" >"$T/sched.log" 2>&1
t_check "scheduler: the good file runs one pass (once = true), exit 0" test $? = 0
sed "s|^db = .*|db = $DEAD|" "$C/scheduler.conf" >"$C/scheduler.dead"
"$BIN/vantage-scheduler" --config "$C/scheduler.dead" >/dev/null 2>&1
t_check "scheduler: its unreachable database fails the pass" test $? = 1
"$BIN/vantage-scheduler" --config "$C/scheduler.dead" --db "$GOODDB" >/dev/null 2>&1
t_check "scheduler: --db overrides the file's" test $? = 0

"$BIN/vantage-archiver" --config "$C/archiver.conf" --dry-run >"$T/arc.log" 2>&1
t_check "archiver: the good file runs it, exit 0" test $? = 0
"$BIN/vantage-archiver" --config "$C/archiver.conf" --threads 0 >"$T/arc2.log" 2>&1
t_check "archiver: a flag is checked over the file's good value" \
	sh -c "test $? = 2 && grep -q 'vantage-archiver: --threads' '$T/arc2.log'"

"$BIN/vantage-api" --config "$C/api.conf" >"$T/api.log" 2>&1 &
t_bg $!
t_check "api: the good file runs it on the file's --http port" \
	t_wait 30 curl -sf -o /dev/null "http://127.0.0.1:$HTTP/api/v2/probes/"
HTTP2=$(t_free_port)
"$BIN/vantage-api" --config "$C/api.conf" --http "127.0.0.1:$HTTP2" >"$T/api2.log" 2>&1 &
t_bg $!
t_check "api: --http overrides the file's" \
	t_wait 30 curl -sf -o /dev/null "http://127.0.0.1:$HTTP2/api/v2/probes/"

CTRL2=$(t_free_port)
"$BIN/vantage-gateway" --config "$C/gateway.conf" --ctrl-port "$CTRL2" >"$T/gw.log" 2>&1 &
t_bg $!
t_check "gateway: the good file runs it (registration port from the file)" \
	t_wait 30 sh -c "ss -Htln 'sport = :$REG' | grep -q ."
t_check "gateway: --ctrl-port overrides the file's" \
	t_wait 30 sh -c "ss -Htln 'sport = :$CTRL2' | grep -q ."
t_check "gateway: ... and the file's is not listened on" \
	sh -c "! ss -Htln 'sport = :$CTRL' | grep -q ."

# The probe: its first start from the file makes its key and is refused
# (not added), then, added, registers with the gateway of the file.
t_wait 20 test -s "$T/hk/ssh_host_ed25519_key.pub"
"$BIN/vantage-probe" --config "$C/probe.conf" --once >"$T/probe1.log" 2>&1
t_check "probe: the good file runs it (key made in the file's spool)" \
	test -s "$T/spool/id_ed25519.pub"
VANTAGE_DB=$GOODDB "$BIN/vantage" probe add --pubkey "$T/spool/id_ed25519.pub" >/dev/null
# the gateway takes the new probe's key when its cache reloads (NOTIFY)
t_wait 30 grep -q 'key cache: [1-9]' "$T/gw.log"
"$BIN/vantage-probe" --config "$C/probe.conf" --once >"$T/probe2.log" 2>&1
t_check "probe: registers with the gateway the file names, --once exit 0" \
	sh -c "test $? = 0 && grep -q 'registered' '$T/probe2.log'"
"$BIN/vantage-probe" --config "$C/probe.conf" --reg-port "$(t_free_port)" --once \
	>"$T/probe3.log" 2>&1 &
p=$!
t_check "probe: --reg-port overrides the file's (nothing there: no registration)" \
	sh -c "! grep -q registered '$T/probe3.log'"
kill $p 2>/dev/null; wait $p 2>/dev/null
t_done
