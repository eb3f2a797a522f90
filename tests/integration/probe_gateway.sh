#!/bin/bash
# probe_gateway.sh - vantage-probe against the real vantage-gateway and a
# private PostgreSQL: key made on first start and refused until added,
# registration, controller INIT, KEEP, a pushed batch acknowledged with OK
# and the crontab written, a spool file uploaded into result_queue exactly
# once and deleted, a restart that goes straight to KEEP with the old
# session id, and --once.
. "$(dirname "$0")/../lib.sh"
t_setup

[ -x "$BIN/vantage-gateway" ] || t_skip "bin/vantage-gateway not built"
[ -x "$BIN/vantage-probe" ] || t_skip "bin/vantage-probe not built"
t_pg_start || { t_notok "PostgreSQL starts"; t_done; exit 1; }

REG=$(t_free_port)
CTRL=$(t_free_port)
while [ "$CTRL" = "$REG" ]; do CTRL=$(t_free_port); done
mkdir -p "$T/hk"
"$BIN/vantage-gateway" --db "$VANTAGE_DB" --listen 127.0.0.1 --reg-port "$REG" \
	--ctrl-port "$CTRL" --ctrl-host 127.0.0.1 --host-keys "$T/hk" --name gw1 \
	>"$T/gw.log" 2>&1 &
t_bg $!
t_check "gateway writes its host keys" t_wait 20 test -s "$T/hk/ssh_host_ed25519_key.pub"
t_wait 10 test -s "$T/hk/ssh_host_rsa_key.pub"

S=$T/probe
PARGS=(--spool "$S" --reg-host 127.0.0.1 --reg-port "$REG"
	--reg-hostkey "$T/hk/ssh_host_ed25519_key.pub" --log-level debug
	--backoff-min-ms 200 --backoff-max-ms 2000 --upload-poll-ms 300)
probe() { "$BIN/vantage-probe" "${PARGS[@]}" "$@"; }

# First start: a new key, refused by the gateway until it is added.
probe --once >"$T/first.out" 2>"$T/first.err"
rc=$?
t_check "first start makes an ed25519 key" grep -q '^ssh-ed25519 ' "$S/id_ed25519.pub"
t_check "first start prints the key path" grep -q "vantage probe add --pubkey $S/id_ed25519.pub" "$T/first.out"
t_check "an unknown key is refused (--once fails)" test "$rc" -ne 0
t_check "private key is mode 600" test "$(stat -c %a "$S/id_ed25519")" = 600

ID=$("$BIN/vantage" probe add --pubkey "$S/id_ed25519.pub" | grep -o '[0-9]\+' | head -1)
t_check "probe added" test -n "$ID"

"$BIN/vantage-probe" "${PARGS[@]}" >"$T/probe.log" 2>&1 &
PPID_=$!
t_bg $PPID_

state() { sed -n "s/^$1 = //p" "$S/status/link.state" 2>/dev/null; }
connected() { [ "$(t_psql "SELECT connected FROM probe_sessions WHERE probe_id = $ID")" = t ]; }
disconnected() { [ "$(t_psql "SELECT connected FROM probe_sessions WHERE probe_id = $ID")" = f ]; }
has_id() { [ "$(state probe_id)" = "$ID" ]; }
has_sid() { [ -n "$(state session_id)" ]; }
t_check "registered: probe id cached" t_wait 20 has_id
t_check "controller INIT: session id cached" t_wait 20 has_sid
t_check "KEEP held (probe_sessions.connected)" t_wait 20 connected
SID=$(state session_id)
RPORT=$(state remote_port)
t_check "session id matches the gateway's" \
	test "$(t_psql "SELECT session_id FROM probe_sessions WHERE probe_id = $ID")" = "$SID"
t_check "controller host key pinned (ssh-ed25519 from CONTROLLER: an ed25519 probe gets the fast key)" \
	test "$(state ctrl_key_type) $(state ctrl_key)" = "ssh-ed25519 $(awk '{print $2}' "$T/hk/ssh_host_ed25519_key.pub")"
t_check "status/con_session_id.txt written" grep -qx "SESSION_ID $SID" "$S/status/con_session_id.txt"
t_check "nothing listens on REMOTE_PORT" sh -c "! ss -ltn | grep -q ':$RPORT '"

# A pushed batch: crontab replaced atomically, one-off run, OK.  The
# targets are loopback, which the probe (without --allow-private) refuses
# with an error result: the probe's scheduler runs them, and no packet
# leaves this machine.
cat >"$T/batch" <<EOF
CRONTAB /home/atlas/crons/2
CRONLINE 240 1700000000 1900000000 UNIFORM 60 evping -4 -c 3 -A 1001 127.0.0.1
CRONLINE 300 1700000000 1900000000 NONE 0 evtdig -4 -i -A 1002 127.0.0.53
ONEOFF /home/atlas/crons/oneoff evping -4 -c 1 -A 1003 127.0.0.1
EOF
if "$BIN/vantage" probe push "$ID" "$T/batch" >"$T/push.out" 2>&1; then
	t_ok "vantage probe push accepted"
else
	t_notok "vantage probe push accepted: $(cat "$T/push.out")"
fi
t_check "crontab written to crons/2" t_wait 20 grep -q 'A 1002' "$S/crons/2"
t_check "crontab content exact" test "$(cat "$S/crons/2")" = "$(printf '%s\n%s' \
	'240 1700000000 1900000000 UNIFORM 60 evping -4 -c 3 -A 1001 127.0.0.1' \
	'300 1700000000 1900000000 NONE 0 evtdig -4 -i -A 1002 127.0.0.53')"
oneoff_done() {
	test "$(t_psql "SELECT count(*) FROM result_queue WHERE probe_id = $ID AND line LIKE '{\"id\":\"1003\"%address not allowed%'")" = 1
}
t_check "one-off run by the probe, its result uploaded" t_wait 40 oneoff_done
t_check "the probe logged the batch as OK" t_wait 10 grep -q 'command batch: 1 crontab' "$T/probe.log"

# An upload: three results (and a legacy status line) land once; file deleted.
cat >"$S/data/new/r1" <<EOF
RESULT {"fw": 5120, "id": "1001", "time": 1700000100, "seq": 1}
RESULT 9000 done 1700000100 00:00:00:00:00:00
RESULT {"fw": 5120, "id": "1001", "time": 1700000101, "seq": 2}
RESULT {"fw": 5120, "id": "1002", "time": 1700000102, "seq": 3}
EOF
mv "$S/data/new/r1" "$S/data/out/r1"
t_check "uploaded file deleted after OK" t_wait 20 test ! -e "$S/data/out/r1"
# Only this test's own result lines (the probe's scheduler adds its own).
count() { t_psql "SELECT count(*) FROM result_queue WHERE probe_id = $ID AND line LIKE '%\"seq\"%'"; }
t_check "three results in result_queue" test "$(count)" = 3
t_check "queued under the probe's session id" \
	test "$(t_psql "SELECT count(DISTINCT session_id) FROM result_queue WHERE probe_id = $ID AND session_id = '$SID'")" = 1
t_check "result line stored as sent" \
	test "$(t_psql "SELECT count(*) FROM result_queue WHERE probe_id = $ID AND line LIKE '%\"seq\": 2}'")" = 1
t_check "reply Date kept in status/timesync" t_wait 30 test -s "$S/status/timesync"
sleep 1.5
t_check "still exactly once after more polls" test "$(count)" = 3

# Restart: straight to KEEP with the old session id (no registration).
kill "$PPID_"; wait "$PPID_" 2>/dev/null
t_wait 10 disconnected
"$BIN/vantage-probe" "${PARGS[@]}" >"$T/probe2.log" 2>&1 &
PPID_=$!
t_bg $PPID_
t_check "restarted probe holds KEEP again" t_wait 20 grep -q 'KEEP: connected' "$T/probe2.log"
t_check "restart skipped registration" sh -c "! grep -q 'registered (' '$T/probe2.log'"
t_check "restart kept the session id" test "$(state session_id)" = "$SID"
printf 'RESULT {"id": "1001", "time": 1700000200, "seq": 4}\n' >"$S/data/new/r2"
mv "$S/data/new/r2" "$S/data/out/r2"
t_check "upload after restart" t_wait 20 test ! -e "$S/data/out/r2"
t_check "four results now" test "$(count)" = 4
kill "$PPID_"; wait "$PPID_" 2>/dev/null

# Cached state: an expired re-register deadline, a forced registration,
# and a session id the gateway does not know (uploads refused with 403).
setstate() { sed -i "s/^$1 = .*/$1 = $2/" "$S/status/link.state"; }
run_until_keep() { # log
	"$BIN/vantage-probe" "${PARGS[@]}" >"$1" 2>&1 &
	PPID_=$!
	t_bg $PPID_
	t_wait 20 grep -q 'KEEP: connected' "$1"
}
t_wait 10 disconnected
setstate rereg_at 0
run_until_keep "$T/probe3.log"
t_check "expired deadline: REREG_TIMER_EXPIRED registration" grep -q 'registered (REREG_TIMER_EXPIRED)' "$T/probe3.log"
t_check "expired deadline: new deadline cached" test "$(state rereg_at)" -gt "$(date +%s)"
kill "$PPID_"; wait "$PPID_" 2>/dev/null
t_wait 10 disconnected
setstate force_reg 1
run_until_keep "$T/probe4.log"
t_check "force_reg: FORCE_REG registration" grep -q 'registered (FORCE_REG)' "$T/probe4.log"
t_check "force_reg: flag cleared" test "$(state force_reg)" = 0
kill "$PPID_"; wait "$PPID_" 2>/dev/null
t_wait 10 disconnected
setstate session_id 0123456789abcdef
printf 'RESULT {"id": "1001", "time": 1700000250, "seq": 9}\n' >"$S/data/out/r9"
run_until_keep "$T/probe5.log"
t_check "unknown session: upload refused, then controller INIT" \
	t_wait 20 grep -q 'controller INIT: remote port' "$T/probe5.log"
t_check "unknown session: uploaded under the new session" t_wait 20 test ! -e "$S/data/out/r9"
t_check "unknown session: new session id cached" test "$(state session_id)" != 0123456789abcdef
t_check "five results now" test "$(count)" = 5
kill "$PPID_"; wait "$PPID_" 2>/dev/null

# --once: connect, upload what is spooled, exit 0.
for i in 5 6; do
	printf 'RESULT {"id": "1001", "time": 1700000300, "seq": %d}\n' $i >"$S/data/out/r$i"
done
t_wait 10 disconnected
probe --once >"$T/once.log" 2>&1
t_check "--once exits 0" test $? -eq 0
t_check "--once uploaded and deleted" test ! -e "$S/data/out/r5" -a ! -e "$S/data/out/r6"
t_check "seven results now" test "$(count)" = 7

if [ "$T_FAIL" -ne 0 ]; then
	t_log "gateway log:"; tail -30 "$T/gw.log" | sed 's/^/#   /'
	t_log "probe log:"; tail -30 "$T/probe.log" | sed 's/^/#   /'
fi
t_done
