#!/bin/bash
# balance bench: BAL_BENCH_PROBES probes (default 3000) register at once
# over three gateways on this machine, each gateway a registration server
# too (probe i registers on gateway i mod 3, BAL_BENCH_PAR registrations in
# flight), then every probe holds KEEP on the controller its registration
# named.  Prints the spread of live sessions (gateway_load and
# probe_sessions agree) against even, the goal being within 10 %, and what
# registration costs with the choice in it (registrations per second,
# the choice's own time in PostgreSQL per call).
# The load generator is tests/helpers/gw_load (one process, non-blocking
# libssh sessions; its registrations run in BAL_BENCH_PAR processes).
. "$(dirname "$0")/../lib.sh"
N=${BAL_BENCH_PROBES:-3000}
PAR=${BAL_BENCH_PAR:-6}
LOAD=$TOP/build/tests/gw_load
[ -x "$LOAD" ] && [ -x "$BIN/vantage-gateway" ] || { echo "build first"; exit 1; }
want=$((N + 1024))
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt "$want" ]; then
	ulimit -Hn "$want" 2>/dev/null || { echo "fd hard limit $hard < $want"; exit 1; }
fi
ulimit -n "$want" || exit 1
t_setup
t_pg_start >/dev/null || exit 1

mkfifo "$T/in" "$T/out"
"$LOAD" "$VANTAGE_DB" "$N" ed25519 <"$T/in" >"$T/out" 2>"$T/load.err" &
t_bg $!
exec 3>"$T/in" 4<"$T/out"
read -r -t 600 ready <&4 || { echo "generator did not start"; cat "$T/load.err"; exit 1; }
ask() {
	echo "$1" >&3
	read -r -t 900 A <&4 || { echo "generator gave no answer to '$1'"; tail -5 "$T/load.err"; exit 1; }
}
val() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }

REGS=
for g in a b c; do
	reg=$(t_free_port) ctrl=$(t_free_port)
	"$BIN/vantage-gateway" --db "$VANTAGE_DB" --listen 127.0.0.1 \
		--reg-port "$reg" --ctrl-port "$ctrl" --ctrl-host 127.0.0.1 \
		--host-keys "$T/hk-$g" --name "bal-$g" --capacity 5000 \
		--max-sessions $((N + 100)) --login-grace 120 --log-level warn \
		>>"$T/gw-$g.log" 2>&1 3>&- 4>&- &
	t_bg $!
	t_wait 60 sh -c "ss -Htln 'sport = :$ctrl' | grep -q ." || { echo "gateway $g did not start"; exit 1; }
	REGS="$REGS $reg"
done
t_wait 30 sh -c "[ \"\$(psql '$VANTAGE_DB' -qtAX -c \"SELECT count(*) FROM gateways WHERE heartbeat > now() - interval '5 seconds'\")\" = 3 ]" ||
	{ echo "gateways did not heartbeat"; exit 1; }
psql "$VANTAGE_DB" -qtAX -c "ALTER SYSTEM SET track_functions = 'pl'" -c "SELECT pg_reload_conf()" >/dev/null

echo "balance bench: $N probes, three gateways (capacity 5000 each) on $(nproc) cores"
echo "  shared with PostgreSQL and the load generator"
ask "register $N $PAR$REGS"
r=$A
ok=$(val ok "$r") ms=$(val ms "$r")
echo "registration: $ok of $N registered in $ms ms, $PAR at a time over the three"
echo "  gateways' registration ports: $(awk -v n="$ok" -v ms="$ms" 'BEGIN { printf "%.0f", (ms > 0 ? n * 1000 / ms : 0) }')/s"
t_psql "SELECT 'choice (vt_gateway_pick) in PostgreSQL: ' || calls || ' calls, ' ||
	round((self_time / greatest(calls, 1))::numeric, 3) || ' ms each'
	FROM pg_stat_user_functions WHERE funcname = 'vt_gateway_pick'" | sed 's/^/  /'
ask "hold 0 $N 256"
h=$A
echo "KEEP: $(val ok "$h") of $N held on the controllers registration named, in $(val ms "$h") ms"
t_wait 60 sh -c "[ \"\$(psql '$VANTAGE_DB' -qtAX -c 'SELECT count(*) FROM probe_sessions WHERE connected')\" = $(val ok "$h") ]"
t_psql "SELECT gateway, count(*) FROM probe_sessions WHERE connected GROUP BY 1 ORDER BY 1" >"$T/spread"
awk -F'|' -v n="$N" '{ g[++k] = $1; c[k] = $2 }
	END {
		even = n / 3; min = n; max = 0
		for (i = 1; i <= k; i++) { if (c[i] < min) min = c[i]; if (c[i] > max) max = c[i] }
		printf "spread: "; sep = ""
		for (i = 1; i <= k; i++) { printf "%s%s %d", sep, g[i], c[i]; sep = ", " }
		printf " (even %.0f): furthest from even %.1f %% (goal: within 10 %%)\n",
			even, 100 * ((max - even > even - min) ? max - even : even - min) / even
	}' "$T/spread"
t_psql "SELECT 'gateway_load agrees with probe_sessions: ' ||
	CASE WHEN count(*) = 0 THEN 'yes' ELSE 'NO' END FROM
	(SELECT gateway, count(*) FROM probe_sessions WHERE connected GROUP BY 1) s
	FULL JOIN (SELECT gateway, live AS count FROM gateway_load WHERE live > 0) l
	USING (gateway) WHERE s.count IS DISTINCT FROM l.count"
echo quit >&3
