#!/bin/bash
# gateway bench: memory per connected probe session in vantage-gateway and
# the time for all probes to reconnect after a SIGKILL and restart, beside
# the CPU the same libssh handshakes cost the client (tests/helpers/gw_load,
# many simulated probes in one process, measured in the same run).
#   GW_BENCH_SESSIONS=N (default 2000; the design goal is 10000 < 64 KiB each)
. "$(dirname "$0")/../lib.sh"
N=${GW_BENCH_SESSIONS:-2000}
LOAD=$TOP/build/tests/gw_load
[ -x "$LOAD" ] && [ -x "$BIN/vantage-gateway" ] || { echo "build first"; exit 1; }
ulimit -n $((N * 2 + 1024)) 2>/dev/null || { echo "cannot raise the fd limit"; exit 1; }
t_setup
t_pg_start >/dev/null || exit 1
CTRL=$(t_free_port)
start_gw() {
	"$BIN/vantage-gateway" --db "$VANTAGE_DB" --listen 127.0.0.1 --reg-port 0 \
		--ctrl-port "$CTRL" --host-keys "$T/keys" --name gw-bench \
		--max-sessions $((N + 100)) --log-level warn >>"$T/gw.log" 2>&1 3>&- &
	GWPID=$!
	t_bg $GWPID
	t_wait 60 sh -c "ss -Htln 'sport = :$CTRL' | grep -q ."
}
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{print int(($14 + $15) * 1000 / hz)}' "/proc/$1/stat"; }

start_gw || { echo "gateway did not start"; exit 1; }
rss0=$(rss_kib $GWPID)
mkfifo "$T/ctl"
"$LOAD" "$VANTAGE_DB" "$CTRL" "$N" <"$T/ctl" >"$T/load.out" 2>"$T/load.err" &
LOADPID=$!
t_bg $LOADPID
exec 3>"$T/ctl"
t_wait 600 grep -q '^connected' "$T/load.out"
sleep 2
rss1=$(rss_kib $GWPID)
read -r _ ok ms cms < <(grep '^connected' "$T/load.out")
echo "sessions held: $ok of $N (connected one after the other in $ms ms)"
echo "gateway RSS: $rss0 KiB idle, $rss1 KiB with $ok sessions"
[ "$ok" -gt 0 ] && echo "memory per session: $(( (rss1 - rss0) / ok )) KiB (goal < 64 KiB)"

kill -9 $GWPID
wait $GWPID 2>/dev/null
start_gw || { echo "gateway did not restart"; exit 1; }
c0=$(cpu_ms $GWPID)
echo reconnect >&3
t_wait 600 grep -q '^reconnected' "$T/load.out"
c1=$(cpu_ms $GWPID)
read -r _ ok2 ms2 cms2 < <(grep '^reconnected' "$T/load.out")
echo "reconnect after SIGKILL: $ok2 probes in $ms2 ms (sequential client)"
echo "gateway CPU for them: $((c1 - c0)) ms; client libssh CPU for the same handshakes: $cms2 ms"
[ "$ok2" -gt 0 ] && [ "$cms2" -gt 0 ] && echo "ratio gateway/client CPU: $(awk -v a=$((c1 - c0)) -v b="$cms2" 'BEGIN {printf "%.2f", a / b}')"
exec 3>&-
wait $LOADPID 2>/dev/null
