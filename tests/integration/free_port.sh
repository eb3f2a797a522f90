#!/bin/bash
# free_port: the ports tests pick for their daemons (t_free_port, scripts/pg
# free-port) cannot be taken by anyone else before the daemon binds them or
# while it restarts on them: none lies in the kernel's ephemeral range
# (where outgoing connections, or a client retrying the port, take ports),
# none is in use, and a port a test picked stays its own until the test
# ends, so another test never gets it.
. "$(dirname "$0")/../lib.sh"
t_setup
command -v flock >/dev/null || t_skip "no flock"
read -r ELO EHI </proc/sys/net/ipv4/ip_local_port_range

: >"$T/ports"
for i in $(seq 40); do t_free_port >>"$T/ports"; done
t_check "40 ports picked" [ "$(grep -c '^[0-9][0-9]*$' "$T/ports")" = 40 ]
outside() { awk -v lo="$ELO" -v hi="$EHI" '$1 >= lo && $1 <= hi { bad = 1 } END { exit bad }' "$T/ports"; }
t_check "none in the ephemeral range $ELO-$EHI" outside
t_check "no two the same (each reserved for this test)" \
	[ "$(sort -u "$T/ports" | wc -l)" = 40 ]

# One port only (a picked one: free, ours), with a lock folder of its own
# standing for other tests'.
P=$(head -1 "$T/ports")
pick1() { VANTAGE_PORT_LOCKS=$T/locks VANTAGE_PORT_RANGE="$P $P" \
	VANTAGE_PORT_HOLDER=$1 "$TOP/scripts/pg" free-port 2>/dev/null; }
sleep infinity &
A=$!
t_bg $A
t_check "a test picks port $P" [ "$(pick1 $A)" = "$P" ]
sleep infinity &
B=$!
t_bg $B
not() { ! "$@"; }
t_check "no other test gets it while that one lives" not pick1 $B
kill $A
wait $A 2>/dev/null
t_check "it is free again once that test ended" t_wait 30 pick1 $B

# A port in use (a listener on it) is not handed out.
/usr/bin/python3 -c '
import signal, socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1)
open(sys.argv[2], "w").close()
signal.pause()' "$(sed -n 2p "$T/ports")" "$T/listening" &
L=$!
t_bg $L
t_check "a listener on a port" t_wait 30 test -e "$T/listening"
Q=$(sed -n 2p "$T/ports")
t_check "that port is not picked" \
	not env VANTAGE_PORT_LOCKS="$T/locks2" VANTAGE_PORT_RANGE="$Q $Q" "$TOP/scripts/pg" free-port
t_done
