#!/bin/bash
# gateway_sockopts: TCP_NODELAY and TCP keepalive (--keepalive) are set on
# the gateway's listeners once and reach every accepted connection from
# there, with no socket option call per connection (a reconnect storm pays
# no syscalls for them): the gateway runs under strace (setsockopt only),
# three probes' connections come in, and
#  (a) each accepted connection has TCP keepalive on, its timer within the
#      --keepalive idle time;
#  (b) TCP_KEEPIDLE was set once per listener (2), not per connection
#      (the database connections set none).
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/helpers/gw_lib.sh"
t_setup
command -v strace >/dev/null || t_skip "no strace"
gw_setup

# gw_start's gateway, under strace.
"$(command -v strace)" -f -qq -e trace=setsockopt -o "$T/strace.log" \
	"$BIN/vantage-gateway" --db "$VANTAGE_DB" --listen 127.0.0.1 \
	--reg-port "$REG" --ctrl-port "$CTRL" --ctrl-host 127.0.0.1 \
	--host-keys "$T/keys" --name gw-test --login-grace 300 \
	--keepalive 30 >>"$T/gw.log" 2>&1 &
GWPID=$!
t_bg "$GWPID"
t_wait 120 sh -c "ss -Htln 'sport = :$CTRL' | grep -q ." 2>/dev/null
# strace -f leaves its tracee running when it is killed: the gateway's own
# pid is stopped at the end too, or it outlives the test
for p in $(pgrep -P "$GWPID"); do t_bg "$p"; done
t_check "gateway listens (under strace)" sh -c "ss -Htln 'sport = :$CTRL' | grep -q ."
{
	echo "[127.0.0.1]:$REG $(cat "$T/keys/ssh_host_rsa_key.pub")"
	echo "[127.0.0.1]:$CTRL $(cat "$T/keys/ssh_host_rsa_key.pub")"
} >"$T/known_hosts"
mkfifo "$T/hold"
exec 5<>"$T/hold"
t_check "listener options set" t_wait 30 grep -q TCP_KEEPIDLE "$T/strace.log"
# Three connections, held open in their login grace (the server's
# banner sent, none from the client).
/usr/bin/python3 -c '
import socket, sys, time
held = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for i in range(3)]
sys.stdin.read()
' "$CTRL" <"$T/hold" &
t_bg $!
held() { [ "$(ss -Htn state established "sport = :$CTRL" | wc -l)" -ge 3 ]; }
t_check "three connections held" t_wait 30 held
# ss -o: timer:(keepalive,<left>,0) while keepalive is on.
ka_ok() {
	ss -Htno state established "sport = :$CTRL" | awk '
		{ n++ }
		/timer:\(keepalive,/ {
			t = $0; sub(/.*timer:\(keepalive,/, "", t); sub(/,.*/, "", t)
			s = t; sub(/sec$/, "", s)
			if (t ~ /min/) s = 999; else if (t ~ /ms$/) s = 0
			if (s + 0 <= 30) k++
		}
		END { exit !(n >= 3 && k == n) }'
}
t_check "(a) TCP keepalive on every accepted connection, within --keepalive" ka_ok
t_check "(b) TCP_KEEPIDLE set once per listener, none per connection" \
	test "$(grep -c TCP_KEEPIDLE "$T/strace.log")" = 2
exec 5>&-

if [ "$T_FAIL" -ne 0 ]; then
	t_log "strace:"; sed 's/^/#   /' "$T/strace.log" | tail -20
	t_log "sockets:"; ss -Htno "sport = :$CTRL" | sed 's/^/#   /'
fi
t_done
