#!/bin/bash
# tests/integration/lab_stock.sh - an unmodified RIPE Atlas software probe
# (firmware 5120, built from its published source by scripts/atlas-probe,
# cached outside the checkout) joins Vantage in the lab, configured only
# through its own files as an operator does: mode, reg_servers.sh,
# known_hosts.reg in its shipped plain "host ssh-rsa KEY" style with the
# gateway's RSA key, its own RSA key added with `vantage probe add`.
# Registration on port 443 and the controller on another port than 22,
# both RSA-only listeners of the gateway.  In order:
#   registration, controller INIT, KEEP; periodic ping, traceroute, DNS SOA
#   and CHAOS id.server (pushed to crons/7) each storing results; a one-off
#   storing its result; lts >= 0 once an upload confirmed the clock
#   (httppost --set-time); `vantage msm stop` taking the line out of the
#   probe's crontab; its KEEP ssh killed and back on the cached session; the
#   gateway restarted (leaving registration's list at once) and the probe
#   back; a second gateway joining and the first drained (`vantage gateway
#   drain`): the probe reads the output on KEEP, registers again and holds
#   KEEP on the second; every result stored exactly once.
# The probe's main loop sleeps 180 s between passes; the test ends that
# sleep with a signal to the sleep process (scripts/atlas-probe kick)
# where it waits for a pass, never touching the probe's code or files.
# Root only.  VANTAGE_LAB_PREFIX is honoured (a pid is appended).
. "$(dirname "$0")/../lib.sh"
export PATH="$PATH:/usr/sbin:/sbin"

[ "$(id -u)" = 0 ] || t_skip "the lab needs root (network namespaces)"
ip netns list >/dev/null 2>&1 || t_skip "ip netns is unavailable"
for c in nsd nft jq psql ssh ssh-keygen capsh unshare autoreconf; do
	command -v "$c" >/dev/null || t_skip "$c is not installed"
done
for b in vantage vantage-gateway vantage-scheduler vantage-worker; do
	[ -x "$BIN/$b" ] || t_skip "$BIN/$b is not built"
done
ATLAS="$TOP/scripts/atlas-probe"
TARBALL=${ATLAS_PROBE_TARBALL:-$TOP/../shared/peers/ripe-atlas-software-probe-5120.tar.gz}
[ -r "$TARBALL" ] || t_skip "no stock probe source at $TARBALL (ATLAS_PROBE_TARBALL)"

t_setup
export VANTAGE_LAB_PREFIX="${VANTAGE_LAB_PREFIX:-vts-}$$-" VANTAGE_RUN="$T/run" VANTAGE_LAB_DIR="$T/lab"
LAB="$TOP/scripts/lab"
SP="$T/stock"    # the stock probe's folder (its tree in $SP/root)
mkdir -p "$VANTAGE_RUN"
chmod 755 "$VANTAGE_RUN"

stock_cleanup() {
	"$ATLAS" stop "$SP" 2>/dev/null
	[ -n "${GWPID:-}" ] && kill "$GWPID" 2>/dev/null
	"$LAB" exec ctl "$TOP/scripts/stack" down >/dev/null 2>&1
	"$LAB" down >/dev/null 2>&1
	if [ -n "${T_KEEP:-}" ]; then
		cp -r "$VANTAGE_RUN/log" "$T/stack-log" 2>/dev/null
		cp "$SP/probe.log" "$T/stock-probe.log" 2>/dev/null
	fi
	t_cleanup
}
trap stock_cleanup EXIT

is() { # DESC GOT WANT
	if [ "$2" = "$3" ]; then t_ok "$1"; else t_notok "$1: got '$2', want '$3'"; fi
}

# The stock probe, built once per tarball (about 5 minutes the first time;
# `make check` starts this build in the background before it compiles).
if ! CACHE=$("$ATLAS" build 2>"$T/build.err"); then
	cat "$T/build.err"
	t_notok "the stock probe builds"
	t_done
	exit 1
fi
t_ok "the stock probe is built (cache $CACHE, outside the checkout)"
case $CACHE in "$TOP"/*) t_notok "the cache is outside the checkout" ;; esac

t_lab_up
PH=${LAB_STOCK_PROBES%% *}
[ -n "$PH" ] || { t_notok "the lab has a stock probe host"; t_done; exit 1; }
PH_NS=$(eval echo "\$LAB_${PH}_NS") PH_V4=$(eval echo "\$LAB_${PH}_V4")
PH_SITE=$(eval echo "\$LAB_${PH}_SITE4")

"$LAB" exec ctl env VANTAGE_RUN="$VANTAGE_RUN" VANTAGE_LISTEN=:: \
	VANTAGE_CTRL_HOST="$LAB_CTL4,$LAB_CTL6" VANTAGE_RSA_REG_PORT=443 \
	"$TOP/scripts/stack" up >"$T/stack.log" 2>&1
[ -f "$VANTAGE_RUN/stack.env" ] || { cat "$T/stack.log"; t_notok "stack up"; t_done; exit 1; }
# shellcheck disable=SC1091
. "$VANTAGE_RUN/stack.env"
t_ok "stack up on host ctl: stock probes register on 443, controller on $VANTAGE_RSA_CTRL_PORT"
t_check "the stock probes' controller port is not 22" test "$VANTAGE_RSA_CTRL_PORT" != 22
V() { "$LAB" exec ctl "$BIN/vantage" --db "$VANTAGE_DB" "$@"; }
Q() { "$LAB" exec ctl psql "$VANTAGE_DB" -qtAX -c "$1"; }
GWLOG=$VANTAGE_RUN/log/gateway.log
RSA_PUB=$VANTAGE_HOST_KEYS/ssh_host_rsa_key.pub
t_check "the gateway's RSA key fits the stock probe (<= 512 base64 characters)" \
	test "$(awk '{ print length($2) }' "$RSA_PUB")" -le 512

# --- the operator's part: the probe's own files, then its key ---
"$ATLAS" setup "$SP" "$LAB_CTL4" "$RSA_PUB"
S=$SP/root/var/spool/ripe-atlas        # its spool (/home/atlas/ to the controller)
ST=$SP/root/run/ripe-atlas/status      # its status folder
t_check "known_hosts.reg in the shipped plain style" \
	grep -qx "$LAB_CTL4 ssh-rsa $(awk '{ print $2 }' "$RSA_PUB")" "$SP/root/share/ripe-atlas/known_hosts.reg"
"$ATLAS" start "$SP" "$PH_NS"
t_check "the probe makes its own RSA key" t_wait 60 test -s "$SP/root/etc/ripe-atlas/probe_key.pub"
t_check "its key is RSA" grep -q '^ssh-rsa ' "$SP/root/etc/ripe-atlas/probe_key.pub"
PID=$(V probe add --pubkey "$SP/root/etc/ripe-atlas/probe_key.pub" \
	--description "stock probe on $PH" --country NL --asn 64510)
t_check "vantage probe add: probe $PID" test -n "$PID"

# kick_until SECONDS COND...: ends the main loop's sleep (one pass now)
# every few seconds until COND holds.
kick_until() {
	local end=$(($(date +%s) + $1)); shift
	while [ "$(date +%s)" -lt "$end" ]; do
		"$ATLAS" kick "$SP" 2>/dev/null
		t_wait 4 "$@" && return 0
	done
	return 1
}
gwline() { grep -n "probe $PID: $1" "$GWLOG" | tail -1 | cut -d: -f1; }
count() { grep -c "probe $PID: $1" "$GWLOG"; }
registered() { [ -n "$(gwline "registered from $PH_V4")" ]; }
keep_up() { [ -n "$(gwline "KEEP from $PH_V4")" ]; }
t_check "registration (port 443, RSA host key)" kick_until 120 registered
# (INIT and KEEP follow registration in the same pass: two more RSA
# handshakes on each side, seconds apiece on a starved machine)
t_check "controller INIT and KEEP" t_wait 120 keep_up
r=$(gwline registered) i=$(gwline "INIT from") k=$(gwline "KEEP from")
t_check "in order: registration ($r), controller INIT ($i), KEEP ($k)" \
	test -n "$i" -a "$r" -lt "${i:-0}" -a "${i:-0}" -lt "$k"
t_check "the probe registered on port 443" grep -q -- '-p 443 atlas@' "$SP/probe.log"
t_check "sent to the RSA-only controller port $VANTAGE_RSA_CTRL_PORT" \
	grep -q "registered from $PH_V4 (NEW), controller $LAB_CTL4:$VANTAGE_RSA_CTRL_PORT" "$GWLOG"
t_check "the probe pinned the controller as a plain ssh-rsa line" \
	grep -qx "$LAB_CTL4 ssh-rsa $(awk '{ print $2 }' "$RSA_PUB")" "$ST/known_hosts_controllers"
connected() { [ "$(Q "SELECT connected FROM probe_sessions WHERE probe_id = $PID")" = t ]; }
t_check "probe list: connected" t_wait 30 connected
SID0=$(Q "SELECT session_id FROM probe_sessions WHERE probe_id = $PID")

# --- periodic measurements (crons/7), results ---
# Waits for results take their budgets from the stock probe's own periods
# (proto/probejobs.h): perd and eperd read a changed crontab once a minute,
# the measurements here run every 60 s (spread 2), condmv moves the results
# to data/out every 60 s and httppost posts them every 60 s (spread 20).
# Each wait is twice the longest path through them: a slow machine may miss
# a tick, and every wait ends at its event, so a fast run is not longer.
CRON_READ_S=60 MSM_S=62 CONDMV_S=60 POST_S=80
TO_SINK_S=$((CONDMV_S + POST_S))               # measured -> stored
NEXT_S=$((2 * (MSM_S + TO_SINK_S)))            # a running measurement's next result
FIRST_S=$((2 * (CRON_READ_S + MSM_S + TO_SINK_S)))   # a pushed line's first result
START=$(date +%s)
cat >"$T/msm.json" <<JSON
{"definitions": [
  {"type": "ping", "af": 4, "target": "$LAB_ANYCAST4", "description": "stock ping", "packets": 3, "interval": 60, "spread": 2},
  {"type": "traceroute", "af": 4, "target": "$LAB_ANYCAST4", "protocol": "ICMP", "description": "stock traceroute", "interval": 60, "spread": 2},
  {"type": "dns", "af": 4, "target": "$LAB_ANYCAST4", "query_class": "IN", "query_type": "SOA", "query_argument": "example.", "description": "stock SOA", "interval": 60, "spread": 2},
  {"type": "dns", "af": 4, "target": "$LAB_ANYCAST4", "query_class": "CHAOS", "query_type": "TXT", "query_argument": "id.server", "description": "stock id.server", "interval": 60, "spread": 2}],
 "probes": [{"type": "probes", "value": "$PID", "requested": 1}],
 "start_time": $START}
JSON
mapfile -t M < <(V msm create "$T/msm.json")
PING=${M[0]:-} TRACE=${M[1]:-} SOA=${M[2]:-} CHAOS=${M[3]:-}
t_check "four periodic measurements ($PING $TRACE $SOA $CHAOS)" test -n "$CHAOS"
in_cron7() { grep -q -- "-A $1 " "$S/crons/7/root" 2>/dev/null; }
all_in_cron7() { for m in "$@"; do in_cron7 "$m" || return 1; done; }
# (a scheduler pass, every 10 s, then a push through the gateway: both
# wait for CPU on a loaded machine)
t_check "their lines reach crons/7 (eperd's crontab)" t_wait 120 all_in_cron7 "$PING" "$TRACE" "$SOA" "$CHAOS"
t_check "nothing pushed to crons/2" sh -c "! grep -qs -- ' -A ' '$S/crons/2/root'"
t_check "the upload job in crons/main carries --set-time" \
	grep -q "httppost .*--set-time [0-9]" "$S/crons/main/root"
nres() { Q "SELECT count(*) FROM results WHERE msm_id = $1 AND prb_id = $PID"; }
has() { [ "$(nres "$1")" -gt 0 ]; }
t_check "ping stores results" t_wait $FIRST_S has "$PING"
t_check "traceroute stores results" t_wait $FIRST_S has "$TRACE"
t_check "DNS SOA stores results" t_wait $FIRST_S has "$SOA"
t_check "CHAOS id.server stores results" t_wait $FIRST_S has "$CHAOS"
# any_result MSM JQ: a stored result of MSM satisfies JQ.  A measurement
# on a starved machine may time out once (its own timers); the next one is
# waited for instead of judging only the last.
any_result() {
	[ "$(V results "$1" --probe "$PID" | jq -s "any(.[]; try ($2) catch false)")" = true ]
}
SITE_ID=$(eval echo "\$LAB_${PH_SITE}_ID")
t_check "ping got replies" t_wait $NEXT_S any_result "$PING" '.rcvd > 0'
t_check "traceroute reached the anycast address" t_wait $NEXT_S any_result "$TRACE" \
	'[.result[].result[]?.from] | index("'"$LAB_ANYCAST4"'") != null'
t_check "SOA answer" t_wait $NEXT_S any_result "$SOA" '.result.answers[0].TYPE == "SOA"'
t_check "id.server names its site $PH_SITE" t_wait $NEXT_S any_result "$CHAOS" \
	'(.result.answers[0].RDATA | if type == "array" then .[0] else . end) == "'"$SITE_ID"'"'

# --- a one-off ---
cat >"$T/oneoff.json" <<JSON
{"definitions": [
  {"type": "dns", "af": 4, "target": "$LAB_ANYCAST4", "description": "stock one-off id.server",
   "query_class": "CHAOS", "query_type": "TXT", "query_argument": "id.server"}],
 "probes": [{"type": "probes", "value": "$PID", "requested": 1}],
 "is_oneoff": true}
JSON
ONE=$(V msm create "$T/oneoff.json")
t_check "one-off created ($ONE)" test -n "$ONE"
t_check "the one-off stores its result" t_wait $((2 * (CRON_READ_S + TO_SINK_S))) has "$ONE"

# --- lts: the clock confirmed by an upload (httppost --set-time) ---
lts_ok() { [ "$(Q "SELECT count(*) FROM results WHERE prb_id = $PID AND (result::json->>'lts')::int >= 0")" -gt 0 ]; }
t_check "lts >= 0 once an upload confirmed the clock" t_wait $NEXT_S lts_ok
t_check "the probe recorded the confirmed clock" test -s "$S/data/new/timesync.vol"

# --- stop ---
V msm stop "$PING" >/dev/null
t_check "msm stop: the ping line leaves the probe's crontab" t_wait 120 sh -c "! grep -q -- '-A $PING ' '$S/crons/7/root'"
t_check "... and the others stay" all_in_cron7 "$TRACE" "$SOA" "$CHAOS"

# --- the KEEP ssh killed: back on the cached session, no new INIT ---
main=$(pgrep -P "$(cat "$SP/launcher.pid")" | head -1)
keep=$(pgrep -P "$main" -x ssh | head -1)
t_check "the KEEP ssh runs (pid $keep)" test -n "$keep"
regs=$(count "registered") inits=$(count "INIT from") keeps=$(count "KEEP from")
kill -9 "$keep"
down() { ! connected; }
t_check "the gateway sees the session end" t_wait 30 down
keep_again() { [ "$(count "KEEP from")" -gt "$keeps" ]; }
t_check "KEEP back after the next pass" kick_until 120 keep_again
t_check "... connected" t_wait 30 connected
is "no new registration" "$(count registered)" "$regs"
is "no new controller INIT" "$(count "INIT from")" "$inits"
is "same session id" "$(Q "SELECT session_id FROM probe_sessions WHERE probe_id = $PID")" "$SID0"

# --- the gateway restarted ---
GW0=$(cat "$VANTAGE_RUN/gateway.pid")
mapfile -t GWARGS < <(tr '\0' '\n' <"/proc/$GW0/cmdline")
GWNAME=$(Q "SELECT name FROM gateways")
keeps=$(count "KEEP from")
kill -TERM "$GW0"
gone() { ! kill -0 "$GW0" 2>/dev/null; }
t_check "gateway stops on SIGTERM" t_wait 30 gone
is "it left registration's list at once" \
	"$(Q "SELECT stopped IS NOT NULL FROM gateways WHERE name = '$GWNAME'")" t
"$LAB" exec ctl "${GWARGS[@]}" >>"$GWLOG" 2>&1 &
GWPID=$!                        # scripts/lab exec execs: the gateway itself
echo "$GWPID" >"$VANTAGE_RUN/gateway.pid"
live() { [ "$(Q "SELECT count(*) FROM gateways WHERE stopped IS NULL AND heartbeat > now() - interval '6 s'")" = 1 ]; }
t_check "gateway started again, back on the list" t_wait 30 live
t_check "the probe is back after its next pass" kick_until 120 keep_again
t_check "... connected" t_wait 30 connected
is "still no new registration" "$(count registered)" "$regs"
is "still the same session id" "$(Q "SELECT session_id FROM probe_sessions WHERE probe_id = $PID")" "$SID0"
n_before=$(nres "$TRACE")
more() { [ "$(nres "$TRACE")" -gt "$n_before" ]; }
t_check "results flow again after the restart" t_wait $NEXT_S more

# --- a drain: a second gateway joins, the first is drained; the stock
# probe reads the output on its KEEP at its next pass, registers again
# (FORCE_REG) and is sent to the other gateway ---
G2CTRL=$("$TOP/scripts/pg" free-port) G2RCTRL=$("$TOP/scripts/pg" free-port)
G2ARGS=() prev=
for a in "${GWARGS[@]}"; do
	flag=$a
	case $prev in
	--name) a="$GWNAME-2" ;;
	--ctrl-port) a=$G2CTRL ;;
	--rsa-ctrl-port) a=$G2RCTRL ;;
	--reg-port|--rsa-reg-port) a=0 ;;
	--metrics) a="${a%:*}:$("$TOP/scripts/pg" free-port)" ;;
	--host-keys) a="$T/hk2" ;;
	esac
	G2ARGS+=("$a")
	prev=$flag
done
GW2LOG=$T/gateway2.log
"$LAB" exec ctl "${G2ARGS[@]}" >>"$GW2LOG" 2>&1 &
t_bg $!
two_live() { [ "$(Q "SELECT count(*) FROM gateways WHERE stopped IS NULL AND heartbeat > now() - interval '6 s'")" = 2 ]; }
t_check "a second gateway joins" t_wait 60 two_live
V gateway drain "$GWNAME" --rate 1 >/dev/null
kicked() { [ "$(Q "SELECT count(*) FROM gateway_drain_kicks WHERE gateway = '$GWNAME' AND probe_id = $PID")" -ge 1 ]; }
t_check "the drained gateway wrote on the probe's KEEP" t_wait 30 kicked
on_g2() { [ "$(Q "SELECT gateway FROM probe_sessions WHERE probe_id = $PID AND connected")" = "$GWNAME-2" ]; }
t_check "the stock probe follows the drain to the other gateway" kick_until 400 on_g2
t_check "... after a registration with FORCE_REG that named it" \
	grep -q "probe $PID: registered from $PH_V4 (FORCE_REG), controller $LAB_CTL4:$G2RCTRL" "$GWLOG"
V gateway undrain "$GWNAME" >/dev/null
n_before=$(nres "$TRACE")
# (a new session id: the upload job is pushed again and read by perd)
t_check "results flow through the other gateway" t_wait $FIRST_S more

# --- every result stored exactly once ---
for m in "$TRACE" "$SOA" "$CHAOS"; do V msm stop "$m" >/dev/null; done
no_lines() { ! grep -q -- ' -A ' "$S/crons/7/root" 2>/dev/null; }
t_check "all lines gone from crons/7" t_wait 120 no_lines
# Whatever was measured is uploaded and acknowledged (the probe deletes a
# posted file only on OK, which the gateway sends once it is committed).
spool_empty() {
	! grep -qs '"id" *: *"1[0-9]*"' "$S/data/new/2" "$S/data/out/2" "$S"/data/out/ooq/* 2>/dev/null
}
t_check "the probe's spool holds no result left to upload" t_wait $FIRST_S spool_empty
is "no result stored twice (same measurement, probe and time)" \
	"$(Q "SELECT count(*) FROM (SELECT 1 FROM results WHERE prb_id = $PID GROUP BY msm_id, ts HAVING count(*) > 1) d")" 0
is "the one-off stored exactly once" "$(nres "$ONE")" 1
ids="$PING|$TRACE|$SOA|$CHAOS|$ONE"
is "no measurement result rejected" \
	"$(Q "SELECT count(*) FROM rejected WHERE line ~ '\"id\" *: *\"($ids)\"'")" 0
t_log "stored: ping $(nres "$PING"), traceroute $(nres "$TRACE"), SOA $(nres "$SOA"), id.server $(nres "$CHAOS"), one-off $(nres "$ONE")"
t_done
