#!/bin/bash
# REREGISTER bench: what the registration timer costs for 10,000 probes.
#
# A stock probe whose gateway is gone for good retries its cached controller
# at every 180-second pass until REREGISTER expires, so REREGISTER bounds
# how long such probes stay lost; the gateway tells 3240 s (54 min: lost
# probes are on another gateway within an hour) instead of 86400.  The
# price: at most PROBES / REREGISTER registrations per second in steady
# state (Vantage's own probe re-registers, with a controller INIT and a new
# KEEP, each time the timer expires; a stock probe only when its KEEP has
# broken, since its main loop runs registration only then).
#
# Measured here beside that arithmetic: registrations per second the
# gateway answers on its RSA-only registration port (OpenSSH clients as the
# stock probe runs them, RSA keys, BENCH_REG_PAR at a time) and the
# gateway's CPU time per registration (/proc utime+stime), which gives the
# share of one core the timer costs.
#   BENCH_REG_COUNT  registrations measured (default 300)
#   BENCH_REG_PAR    clients at a time (default 4)
#   BENCH_PROBES     probes for the arithmetic (default 10000)
. "$(dirname "$0")/../lib.sh"
N=${BENCH_REG_COUNT:-300}
PAR=${BENCH_REG_PAR:-4}
PROBES=${BENCH_PROBES:-10000}
[ -x "$BIN/vantage-gateway" ] || { echo "build first"; exit 1; }
t_setup
t_pg_start >/dev/null || exit 1
for i in $(seq 0 $((PAR - 1))); do
	ssh-keygen -q -t rsa -b 2048 -N '' -C "p$i" -f "$T/key$i"
	"$BIN/vantage" probe add --pubkey "$T/key$i.pub" >/dev/null || exit 1
done
RREG=$(t_free_port) CTRL=$(t_free_port) RCTRL=$(t_free_port)
"$BIN/vantage-gateway" --db "$VANTAGE_DB" --listen 127.0.0.1 --reg-port 0 \
	--ctrl-port "$CTRL" --rsa-reg-port "$RREG" --rsa-ctrl-port "$RCTRL" \
	--host-keys "$T/keys" --name gw-bench --log-level warn >>"$T/gw.log" 2>&1 &
GW=$!
t_bg $GW
t_wait 60 sh -c "ss -Htln 'sport = :$RREG' | grep -q ." || { cat "$T/gw.log"; exit 1; }
t_wait 10 sh -c "[ \"\$(psql '$VANTAGE_DB' -qtAX -c 'SELECT count(*) FROM gateways')\" = 1 ]"
echo "127.0.0.1 ssh-rsa $(cut -d' ' -f2 "$T/keys/ssh_host_rsa_key.pub")" >"$T/known_hosts"
cat >"$T/reg.sh" <<EOF
#!/bin/sh
# one registration as the stock probe's reginit.sh makes it
printf 'P_TO_R_INIT\nTOKEN_SPECS x86_64 1000 5120 linux/1/x86_64\nREASON_FOR_REGISTRATION REREG_TIMER_EXPIRED\n' |
ssh -F /dev/null -o UserKnownHostsFile=$T/known_hosts -o StrictHostKeyChecking=yes \
	-o BatchMode=yes -o IdentitiesOnly=yes -i "$T/key\$((\$1 % $PAR))" \
	-p $RREG atlas@127.0.0.1 INIT | grep -q '^CONTROLLER '
EOF
chmod +x "$T/reg.sh"
"$T/reg.sh" 0 || { echo "a registration fails"; cat "$T/gw.log"; exit 1; }
REREG=$(printf 'P_TO_R_INIT\nREASON_FOR_REGISTRATION NEW\n' |
	ssh -F /dev/null -o UserKnownHostsFile="$T/known_hosts" -o StrictHostKeyChecking=yes \
	-o BatchMode=yes -o IdentitiesOnly=yes -i "$T/key0" -p "$RREG" atlas@127.0.0.1 INIT |
	sed -n 's/^REREGISTER //p')
cpu() { sed 's/.*) //' "/proc/$GW/stat" | awk -v hz="$(getconf CLK_TCK)" '{ print ($12 + $13) / hz }'; }
c0=$(cpu) t0=$(date +%s.%N)
seq 1 "$N" | xargs -P "$PAR" -n 1 "$T/reg.sh" || { echo "registrations failed"; exit 1; }
t1=$(date +%s.%N) c1=$(cpu)
awk -v n="$N" -v par="$PAR" -v dt="$(awk "BEGIN { print $t1 - $t0 }")" \
	-v cpu="$(awk "BEGIN { print $c1 - $c0 }")" -v rereg="$REREG" -v probes="$PROBES" 'BEGIN {
	rate = n / dt; per = cpu / n
	need = probes / rereg; old = probes / 86400
	printf "registration: %d stock-style registrations (OpenSSH, RSA host key, %d at a time) in %.1f s: %.1f/s measured (clients on the same 2 cores); gateway CPU %.2f ms each: %.0f/s per core\n", n, par, dt, rate, per * 1000, 1 / per
	printf "REREGISTER %d s for %d probes: %.2f registrations/s at most (%.1f%% of the measured rate, %.2f%% of one core in the gateway); 86400 s was %.2f/s\n", rereg, probes, need, 100 * need / rate, 100 * need * per, old
	printf "lost probes: on another gateway within REREGISTER + 2 passes of 180 s = %d s (%.0f min; 86400 s: %.1f h)\n", rereg + 360, (rereg + 360) / 60, (86400 + 360) / 3600
}'
