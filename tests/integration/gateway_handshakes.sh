#!/bin/bash
# gateway_handshakes: --max-handshakes bounds the connections in the
# handshake (accepted, not authenticated yet), over every loop thread.
# With the bound held by silent connections, the next connections are
# accepted but wait parked (no handshake, the kernel's listen queue
# empty: a full one hangs handshakes, controller/gateway/park.h) and the
# waits are counted; a probe among them is served, first come first
# served, as soon as a handshake ends, while the bound still holds for the
# silent ones behind it; when the silent ones go, everything drains and
# the gateway serves as before.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/helpers/gw_lib.sh"
t_setup
gw_setup
command -v curl >/dev/null || t_skip "no curl"
FLOOD=$TOP/build/tests/gw_flood
[ -x "$FLOOD" ] || t_skip "no gw_flood (make first)"
CHECK="/usr/bin/python3 $TOP/tests/helpers/prom_check.py"
M=$(t_free_port)

gw_start --max-handshakes 3 --threads 2 --login-grace 600 --metrics "127.0.0.1:$M" ||
	{ t_notok "gateway starts"; cat "$T/gw.log"; t_done; exit 1; }
t_check "the bound is in the start line" \
	grep -q "2 loop threads, at most 3 in the handshake" "$T/gw.log"

# metric NAME: its value now (empty when unreadable)
metric() {
	curl -sf --max-time 10 "http://127.0.0.1:$M/metrics" -o "$T/m.prom" &&
		$CHECK "$T/m.prom" "$1" | sed 's/\.0$//'
}
is() { [ "$(metric "$1")" = "$2" ]; }
at_least() { v=$(metric "$1"); [ -n "$v" ] && [ "$v" -ge "$2" ]; }
# backlog: connections waiting in the controller port's accept queue (the
# Recv-Q of a listening socket)
backlog() { ss -Htln "sport = :$CTRL" | awk '{ print $2 }'; }
backlog_is() { [ "$(backlog)" = "$1" ]; }
alive() { kill -0 "$1" 2>/dev/null; }
# backlog_max PORT: the backlog a listening socket was given (its Send-Q)
backlog_max() { ss -Htln "sport = :$1" | awk '{ print $3 }'; }
somax=$(cat /proc/sys/net/core/somaxconn)
want=$((somax < 64 ? somax : 64))
t_check "listen backlog not tied to --max-handshakes 3: at least 64 ($(backlog_max "$CTRL"), somaxconn $somax)" \
	[ "$(backlog_max "$CTRL")" -ge "$want" ]
# conns_is N: the gateway holds N connections on the controller port (in
# the handshake or parked), none left in its listen queue
conns_is() {
	[ "$(ss -Htn state established "sport = :$CTRL" | wc -l)" = "$1" ] && backlog_is 0
}

# flood NAME N: N silent connections held by gw_flood until flood_end NAME
# (its stdin is its own fifo opened read-write: no descriptor of this shell
# is left to the children started later)
flood() {
	mkfifo "$T/$1.in" "$T/$1.out"
	"$FLOOD" "$CTRL" "$2" <>"$T/$1.in" >"$T/$1.out" &
	t_bg $!
	eval "${1}_PID=$!"
	read -r line <"$T/$1.out"
	t_check "$1: $2 connections made ($line)" [ "$line" = "open=$2 failed=0" ]
}
flood_end() {
	eval "kill \$${1}_PID; wait \$${1}_PID"
}

flood A 3
t_check "3 silent connections take the 3 handshake slots" \
	t_wait 60 is vantage_gateway_handshakes_in_flight 3

# A probe (controller INIT) behind them: its connection waits parked.
gw_opts
OPTS=("${GW_OPTS[@]/ConnectTimeout=10/ConnectTimeout=600}")
ssh "${OPTS[@]}" -p "$CTRL" atlas@127.0.0.1 INIT </dev/null >"$T/init.out" 2>"$T/init.err" &
INITPID=$!
t_bg $INITPID
t_check "the probe's connection is accepted and waits parked" t_wait 60 conns_is 4
t_check "admission waited at the bound (counted)" \
	t_wait 60 at_least vantage_gateway_handshake_limit_waits_total 1
flood B 4
t_check "4 more silent connections wait behind it" t_wait 60 conns_is 8
t_check "still 3 in the handshake" is vantage_gateway_handshakes_in_flight 3
t_check "the waiting probe was not refused" alive $INITPID
t_check "nothing refused" is 'vantage_gateway_refusals_total' 0

# Slots free: the probe (first parked) is served.
flood_end A
t_check "the probe gets through once slots free" t_wait 120 sh -c "! kill -0 $INITPID"
wait $INITPID
t_check "its controller INIT answered" grep -q '^SESSION_ID ' "$T/init.out"
# The 4 silent ones behind it: 3 in the handshake, the 4th still waits.
t_check "the silent ones: 3 admitted, the bound holds" \
	t_wait 60 is vantage_gateway_handshakes_in_flight 3
t_check "the silent ones: 1 still waits parked" t_wait 60 conns_is 4
flood_end B
t_check "all gone: nothing in the handshake" t_wait 60 is vantage_gateway_handshakes_in_flight 0
t_check "all gone: nothing held, nothing queued" t_wait 60 conns_is 0
serves() { SID=; gw_init_ctrl; [ -n "$SID" ]; }
t_check "serves again" serves
t_check "gateway still running" alive "$GWPID"
t_done
