#!/bin/bash
# gateway_hsqueue: a reconnect storm larger than the handshake limit never
# overflows the kernel's listen queue.  Connections the limit has no room
# for are accepted at once and wait parked (controller/gateway/park.h);
# left in the listen queue instead, the queue fills, the kernel drops the
# segments that complete clients' TCP handshakes and carry their SSH
# banners, and those clients (connected on their side) wait for their
# retransmission timer while the gateway waits for their banner
# (docs/scaling.md, "Handshakes that never finish").  The gateway and the
# load generator run in a network namespace of their own, so that the
# kernel's ListenOverflows counter is theirs alone.  The RSA host key (a
# stock probe's): its handshakes are slow enough for the storm to outrun
# them.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/helpers/gw_lib.sh"
t_setup
command -v ip >/dev/null || t_skip "no ip"
ip netns list >/dev/null 2>&1 || t_skip "ip netns is unavailable"
LOAD=$TOP/build/tests/gw_load
[ -x "$LOAD" ] || t_skip "no gw_load (make first)"
NS="${VANTAGE_LAB_PREFIX:-vtt$$-}hsq"
ip netns add "$NS" 2>/dev/null || t_skip "cannot create network namespaces here"
hsq_cleanup() {
	t_cleanup
	# anything of this test still in its namespace, by pid
	for p in $(ip netns pids "$NS" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	ip netns del "$NS" 2>/dev/null
}
trap hsq_cleanup EXIT
ip netns exec "$NS" ip link set lo up
gw_setup
# ($! of `ip netns exec` is the program itself: it execs.)
# PostgreSQL over its Unix socket (its TCP port is in the host's namespace).
PGDIR=${T_PGDIRS##* }
NSDB="host=$PGDIR $(printf '%s\n' "$VANTAGE_DB" | tr ' ' '\n' | grep -v '^host=' | tr '\n' ' ')"
nx() { ip netns exec "$NS" "$@"; }
K=300
MAXHS=16
overflows() {
	nx cat /proc/net/netstat | awk '/^TcpExt:/ { if (!h) { for (i = 1; i <= NF; i++) n[i] = $i; h = 1 } else for (i = 1; i <= NF; i++) if (n[i] == "ListenOverflows") print $i }'
}
start() {
	ip netns exec "$NS" "$BIN/vantage-gateway" --db "$NSDB" --listen 127.0.0.1 \
		--reg-port 0 --ctrl-port "$CTRL" --host-keys "$T/keys" \
		--name gw-hsq --threads 1 --max-handshakes "$MAXHS" \
		--login-grace 600 --log-level info >>"$T/gw.log" 2>&1 &
	GWPID=$!
	t_bg $GWPID
	t_wait 120 sh -c "ip netns exec '$NS' ss -Htln 'sport = :$CTRL' | grep -q . || ! kill -0 $GWPID"
	nx ss -Htln "sport = :$CTRL" | grep -q .
}
start || { t_notok "gateway starts in its namespace"; cat "$T/gw.log"; t_done; exit 1; }
t_ok "gateway starts in its namespace"
gw_gen gen "$NSDB" rsa ip netns exec "$NS"
gw_ask "hold $CTRL $K 8"
t_check "$K probes hold KEEP ($GW_ANSWER)" gw_said "ok=$K failed=0"
kill -9 "$GWPID"
wait "$GWPID" 2>/dev/null
start || { t_notok "gateway restarts"; tail "$T/gw.log"; t_done; exit 1; }
t_ok "gateway restarts"
o0=$(overflows)
gw_ask "storm $CTRL $K 0 $GWPID" 1800
o1=$(overflows)
t_log "storm: $GW_ANSWER"
t_log "ListenOverflows: $o0 before the storm, $o1 after"
t_check "all $K back after the storm" gw_said " up=$K "
same() { [ -n "$1" ] && [ "$1" = "$2" ]; }
t_check "the listen queue never overflowed (ListenOverflows $o0 -> $o1)" \
	same "$o0" "$o1"
t_check "no probe had to try again (a stalled handshake hits the generator's deadline)" \
	gw_said ' retries=0 '
t_check "gateway still running" kill -0 "$GWPID"
gw_tell quit
t_done
