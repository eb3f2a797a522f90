#!/bin/bash
# gateway_balance: registration spreads real vantage-probes over three
# gateways by live load per capacity (within 10 % of even); a gateway
# SIGKILLed for good has its probes come back spread over the other two; a
# gateway that joins draws the new registrations until balanced; a drain
# (`vantage gateway drain NAME --rate N`) writes on KEEP and moves every
# probe of the drained gateway to the others, its kicks spaced by at least
# 1/N s as the gateway recorded them; `vantage gateway list` shows it all.
#   BAL_PROBES  probes of the first round (default 30, a multiple of 6)
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/helpers/probe_lib.sh"
N=${BAL_PROBES:-30}
[ -x "$BIN/vantage-gateway" ] && [ -x "$BIN/vantage-probe" ] ||
	t_skip "no vantage-gateway or vantage-probe (make first)"
t_setup
t_pg_start || { t_notok "PostgreSQL starts"; t_done; exit 1; }

# gw_up NAME: starts gateway NAME (host keys $T/hk-NAME, controller port
# CPORT_NAME, registration port REG for a), pid in GWPID_NAME.
declare -A CPORT GWPID
gw_up() {
	local name=$1 regargs=(--reg-port 0)
	[ "$name" = a ] && regargs=(--reg-port "$REG")
	CPORT[$name]=${CPORT[$name]:-$(t_free_port)}
	"$BIN/vantage-gateway" --db "$VANTAGE_DB" --listen 127.0.0.1 \
		"${regargs[@]}" --ctrl-port "${CPORT[$name]}" --ctrl-host 127.0.0.1 \
		--host-keys "$T/hk-$name" --name "bal-$name" --capacity 1000 \
		--login-grace 20 >>"$T/gw-$name.log" 2>&1 &
	GWPID[$name]=$!
	t_bg "${GWPID[$name]}"
	t_wait 60 sh -c "ss -Htln 'sport = :${CPORT[$name]}' | grep -q ." &&
	t_wait 30 sh -c "[ \"\$(psql '$VANTAGE_DB' -qtAX -c \"SELECT count(*) FROM gateways WHERE name = 'bal-$name' AND stopped IS NULL AND heartbeat > now() - interval '5 seconds'\")\" = 1 ]"
}
# live NAME: the KEEP sessions recorded on gateway NAME.
live() { t_psql "SELECT count(*) FROM probe_sessions WHERE connected AND gateway = 'bal-$1'"; }
# up_on N GATEWAYS...: N probes hold KEEP, all on the gateways named.
up_on() {
	local n=$1 list
	shift
	list=$(printf "'bal-%s'," "$@")
	[ "$(t_psql "SELECT count(*) FROM probe_sessions WHERE connected AND gateway IN (${list%,})")" = "$n" ] &&
	[ "$(t_psql "SELECT count(*) FROM probe_sessions WHERE connected")" = "$n" ]
}
# near WANT GOT: GOT within 10 % of WANT.
near() { awk -v w="$1" -v g="$2" 'BEGIN { exit !(g >= w * 0.9 && g <= w * 1.1) }'; }
# load_agrees: gateway_load (kept by triggers) equals a count of
# probe_sessions for every gateway.
load_agrees() {
	[ "$(t_psql "SELECT count(*) FROM (SELECT gateway, count(*) FROM probe_sessions
		WHERE connected AND gateway IS NOT NULL GROUP BY gateway) s
		FULL JOIN (SELECT gateway, live AS count FROM gateway_load WHERE live > 0) l
		USING (gateway) WHERE s.count IS DISTINCT FROM l.count")" = 0 ]
}
# probes FROM TO: probes FROM..TO made, registered and started.
probes() {
	for i in $(seq "$1" "$2"); do
		probe_new "$T/p$i" --rereg-after 8 || return 1
		"$BIN/vantage-probe" "${PARGS[@]}" >"$T/p$i.log" 2>&1 &
		t_bg $!
	done
}

REG=$(t_free_port)
for g in a b c; do
	gw_up $g || { t_notok "gateway $g starts"; cat "$T/gw-$g.log"; t_done; exit 1; }
done
mkdir -p "$T/hk"
cp "$T/hk-a/ssh_host_ed25519_key.pub" "$T/hk/"

# 1. N probes over three gateways: within 10 % of even.
probes 1 "$N" || { t_notok "probes made"; t_done; exit 1; }
t_wait 300 up_on "$N" a b c
t_check "all $N probes hold KEEP" up_on "$N" a b c
for g in a b c; do
	t_check "gateway $g holds $(live $g) of $N: within 10 % of $((N / 3))" near $((N / 3)) "$(live $g)"
done
t_check "gateway_load agrees with probe_sessions" load_agrees
t_check "nothing pending once all are connected" \
	[ "$(t_psql "SELECT coalesce(sum(pending), 0) FROM gateway_load")" = 0 ]

# 2. gateway c killed for good: its probes come back over a and b.
kill -9 "${GWPID[c]}"
t_wait 300 up_on "$N" a b
t_check "after c's SIGKILL all $N probes are back on a and b" up_on "$N" a b
for g in a b; do
	t_check "gateway $g holds $(live $g): within 10 % of $((N / 2))" near $((N / 2)) "$(live $g)"
done
t_check "gateway_load agrees after the kill" load_agrees
"$BIN/vantage" gateway list >"$T/list1" 2>&1
t_check "gateway list shows c gone" grep -Eq '^bal-c +.* gone +-$' "$T/list1"

# 3. gateway d joins: the next N/2 registrations all go to it.
gw_up d || { t_notok "gateway d starts"; cat "$T/gw-d.log"; t_done; exit 1; }
M=$((N + N / 2))
probes $((N + 1)) "$M" || { t_notok "more probes made"; t_done; exit 1; }
t_wait 300 up_on "$M" a b d
t_check "all $M probes hold KEEP on a, b, d" up_on "$M" a b d
# (a probe of a or b that registers again meanwhile, on a loaded machine,
# may go to d too, and one new probe elsewhere: balance, not exact counts)
t_check "the new gateway took the new probes ($(live d) of $((N / 2)))" \
	[ "$(live d)" -ge $((N / 2 - N / 20 - 1)) ]
for g in a b d; do
	t_check "gateway $g holds $(live $g): within 10 % of $((M / 3))" near $((M / 3)) "$(live $g)"
done

# 4. drain d at 4 probes/s: every probe moves to a and b, paced.
RATE=4
HELD=$(live d)
"$BIN/vantage" gateway drain bal-d --rate ${RATE}/s >"$T/drain.out" 2>&1
t_check "gateway drain accepted" grep -q 'bal-d: draining, 4 probes/s' "$T/drain.out"
"$BIN/vantage" gateway list >"$T/list2" 2>&1
t_check "gateway list shows d draining" grep -Eq "^bal-d +127.0.0.1:${CPORT[d]} +1000 .* live +4/s$" "$T/list2"
t_wait 300 up_on "$M" a b
t_check "after the drain all $M probes are on a and b" up_on "$M" a b
t_check "d holds none" [ "$(live d)" = 0 ]
for g in a b; do
	t_check "gateway $g holds $(live $g): within 10 % of $((M / 2))" near $((M / 2)) "$(live $g)"
done
kicks=$(t_psql "SELECT count(*) FROM gateway_drain_kicks WHERE gateway = 'bal-d'")
t_check "d recorded a kick per probe it held ($kicks >= $HELD)" [ "$kicks" -ge "$HELD" ]
gap=$(t_psql "SELECT min(d) FROM (SELECT mono_ms - lag(mono_ms) OVER (ORDER BY id) AS d
	FROM gateway_drain_kicks WHERE gateway = 'bal-d') x")
t_check "kicks spaced by at least 1/$RATE s (smallest gap $gap ms)" [ "$gap" -ge $((1000 / RATE)) ]
t_check "the probes read the drain on KEEP and registered again" \
	sh -c "grep -l 'wrote on KEEP' '$T'/p*.log | wc -l | grep -qx '[1-9][0-9]*'"
t_check "gateway_load agrees after the drain" load_agrees
"$BIN/vantage" gateway undrain bal-d >"$T/undrain.out" 2>&1
t_check "gateway undrain" grep -q 'bal-d: not draining' "$T/undrain.out"
t_wait 10 sh -c "! '$BIN/vantage' gateway list | grep -q '/s$'"
t_check "gateway list shows no drain" sh -c "! '$BIN/vantage' gateway list | grep -q '/s$'"
t_check "drain of an unknown gateway fails" sh -c "! '$BIN/vantage' gateway drain bal-x 2>/dev/null"
t_check "drain --rate x refused naming the flag" \
	sh -c "'$BIN/vantage' gateway drain bal-a --rate x 2>&1 | grep -q -- '--rate'"
t_done
