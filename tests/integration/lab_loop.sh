#!/bin/bash
# tests/integration/lab_loop.sh - the whole loop in the anycast lab, as
# scripts/demo runs it: the controller (PostgreSQL, gateway, scheduler,
# worker) on the lab's controller host, one vantage-probe per probe host,
# measurements made with `vantage msm create` (API.md bodies) and results
# read back with `vantage results`:
#   1. a periodic ping reaches the chosen probes as a stock-format crontab
#      line (the probe's spool file) and each of them stores results;
#   2. a one-off CHAOS id.server lands one result per requested probe (the
#      site of its catchment) and ends Stopped;
#   3. `vantage msm stop` takes the line out of the probes' crontabs and
#      their results stop;
#   4. a participation request adding one probe and one removing another
#      reach them: the added one starts producing results, the removed one
#      stops.
# Root only.  Its namespaces carry a prefix of its own (vtl<pid>-), so a lab
# someone else runs, or one an interrupted run left, is neither touched nor
# in the way.
. "$(dirname "$0")/../lib.sh"
export PATH="$PATH:/usr/sbin:/sbin"

[ "$(id -u)" = 0 ] || t_skip "the lab needs root (network namespaces)"
ip netns list >/dev/null 2>&1 || t_skip "ip netns is unavailable"
for c in nsd nft jq psql ssh-keygen; do
	command -v "$c" >/dev/null || t_skip "$c is not installed"
done
for b in vantage vantage-gateway vantage-probe vantage-scheduler vantage-worker; do
	[ -x "$BIN/$b" ] || t_skip "$BIN/$b is not built"
done
export VANTAGE_LAB_PREFIX="vtl$$-"
if ip netns list 2>/dev/null | grep -q "^$VANTAGE_LAB_PREFIX"; then
	t_skip "a lab with prefix $VANTAGE_LAB_PREFIX already exists"
fi

t_setup
export VANTAGE_RUN="$T/run" VANTAGE_LAB_DIR="$T/lab"
LAB="$TOP/scripts/lab"
mkdir -p "$VANTAGE_RUN/probes"
chmod 755 "$VANTAGE_RUN" "$VANTAGE_RUN/probes"

loop_cleanup() {
	local pf
	for pf in "$VANTAGE_RUN"/probes/*/probe.pid; do
		[ -f "$pf" ] && kill "$(cat "$pf")" 2>/dev/null
	done
	"$LAB" exec ctl "$TOP/scripts/stack" down >/dev/null 2>&1
	"$LAB" down >/dev/null 2>&1
	[ -n "${T_KEEP:-}" ] && cp -r "$VANTAGE_RUN/log" "$T/stack-log" 2>/dev/null
	t_cleanup
}
trap loop_cleanup EXIT

is() { # DESC GOT WANT
	if [ "$2" = "$3" ]; then t_ok "$1"; else t_notok "$1: got '$2', want '$3'"; fi
}
var() { eval "echo \"\${LAB_$1_$2:-}\""; }

t_lab_up

"$LAB" exec ctl env VANTAGE_RUN="$VANTAGE_RUN" VANTAGE_LISTEN=:: \
	VANTAGE_CTRL_HOST="$LAB_CTL4,$LAB_CTL6" \
	"$TOP/scripts/stack" up >"$T/stack.log" 2>&1
t_check "stack up on host ctl" test -f "$VANTAGE_RUN/stack.env"
[ -f "$VANTAGE_RUN/stack.env" ] || { cat "$T/stack.log"; t_done; exit 1; }
# shellcheck disable=SC1091
. "$VANTAGE_RUN/stack.env"
V() { "$LAB" exec ctl "$BIN/vantage" --db "$VANTAGE_DB" "$@"; }
Q() { "$LAB" exec ctl psql "$VANTAGE_DB" -qtAX -c "$1"; }

# --- the probes register and connect ---
n=0
for p in $LAB_PROBES; do
	s=$VANTAGE_RUN/probes/$p
	mkdir -p "$s"
	ssh-keygen -q -t ed25519 -N '' -C "$p" -f "$s/id_ed25519"
	id=$(V probe add --pubkey "$s/id_ed25519.pub" --description "lab probe $p" \
		--country NL --asn $((64496 + n)))
	eval "ID_$p=$id"
	if [ -n "$(var "$p" V4)" ]; then reg=$LAB_CTL4; else reg=$LAB_CTL6; fi
	"$LAB" exec "$p" "$BIN/vantage-probe" --spool "$s" --reg-host "$reg" \
		--reg-port "$VANTAGE_REG_PORT" --upload-poll-ms 1000 \
		--reg-hostkey "$VANTAGE_HOST_KEYS/ssh_host_ed25519_key.pub" \
		>"$s/probe.log" 2>&1 &
	echo $! >"$s/probe.pid"
	n=$((n + 1))
done
connected() { [ "$(V probe list | grep -c ' connected ')" -ge "$n" ]; }
t_check "all $n probes connected" t_wait 60 connected

# Three IPv4 probes in three catchments, p5 behind the NAT.
P1=$ID_p1 P2=$ID_p2 P3=$ID_p3 P5=$ID_p5
spool() { echo "$VANTAGE_RUN/probes/$1"; }
ids_of() { # MSM: the probes with a stored result, "a,b,c"
	V results "$1" | jq -r .prb_id | sort -nu | paste -sd, -
}
has_results() { # MSM PROBE...
	local m=$1 got; shift
	got=",$(ids_of "$m"),"
	for x in "$@"; do case $got in *",$x,"*) ;; *) return 1 ;; esac; done
}
# newest MSM PROBE: the newest result timestamp (0 when none)
newest() {
	V results "$1" --probe "$2" | jq -r .timestamp | sort -n | tail -1 | grep . || echo 0
}
in_crontab() { grep -q -- "-A $2 " "$(spool "$1")/crons/7" 2>/dev/null; }
not_in_crontab() { [ -f "$(spool "$1")/crons/7" ] && ! in_crontab "$@"; }

# --- 1. periodic ping to the anycast address ---
IV=10 SP=2
START=$(date +%s)
msm_json() { # DESCRIPTION PROBES REQUESTED
	cat <<JSON
{"definitions": [
  {"type": "ping", "af": 4, "target": "$LAB_ANYCAST4", "description": "$1",
   "interval": $IV, "spread": $SP}],
 "probes": [{"type": "probes", "value": "$2", "requested": $3}],
 "start_time": $START}
JSON
}
msm_json "loop ping" "$P1,$P2,$P3" 3 >"$T/ping.json"
msm_json "loop participation" "$P1,$P2" 2 >"$T/part.json"
PING=$(V msm create "$T/ping.json")
PART=$(V msm create "$T/part.json")
t_check "msm create: ids $PING $PART" test -n "$PING" -a -n "$PART"
echo "{\"type\": \"probes\", \"value\": \"$P3\", \"requested\": 1}" >"$T/add3.json"

LINE="$IV $START 2147483647 UNIFORM $SP evping -4 -c 3 -s 48 -i 1000 -A $PING -O /home/atlas/data/new/2 $LAB_ANYCAST4"
for p in p1 p2 p3; do
	t_check "$p: the ping line reaches its crontab" t_wait 60 in_crontab "$p" "$PING"
	t_check "$p: as the scheduler wrote it" grep -qxF "$LINE" "$(spool $p)/crons/7"
done
t_check "p5 is not in the ping" not_in_crontab p5 "$PING"
# Every line the gateway pushed, in every crontab of every probe, is a
# stock crontab line: interval start end NONE|UNIFORM spread command.
stock=1
for p in $LAB_PROBES; do
	for f in "$(spool "$p")"/crons/*; do
		[ -f "$f" ] || continue
		case $f in */oneoff) continue ;; esac
		if grep -qvE '^[0-9]+ [0-9]+ [0-9]+ (NONE|UNIFORM) [0-9]+ [a-z]+( [^ ]+)*$' "$f"; then
			stock=0
			t_log "$f: $(grep -vE '^[0-9]+ [0-9]+ [0-9]+ (NONE|UNIFORM) [0-9]+ [a-z]+( [^ ]+)*$' "$f" | head -2)"
		fi
	done
done
t_check "crontab lines on the probes are in stock format" test "$stock" = 1
t_check "the upload job (crons/main) reached p1" grep -q '^[0-9]* .* httppost ' "$(spool p1)/crons/main"
t_check "ping results from p1, p2 and p3" t_wait 120 has_results "$PING" "$P1" "$P2" "$P3"
t_check "none from p5" test -z "$(V results "$PING" --probe "$P5")"
t_check "ping results got replies" \
	sh -c "'$LAB' exec ctl '$BIN/vantage' --db '$VANTAGE_DB' results $PING | jq -e 'select(.rcvd > 0)' >/dev/null"

# --- 2. one-off CHAOS id.server ---
cat >"$T/chaos.json" <<JSON
{"definitions": [
  {"type": "dns", "af": 4, "target": "$LAB_ANYCAST4", "description": "loop id.server",
   "query_class": "CHAOS", "query_type": "TXT", "query_argument": "id.server"}],
 "probes": [{"type": "probes", "value": "$P1,$P2,$P5", "requested": 3}],
 "is_oneoff": true}
JSON
CHAOS=$(V msm create "$T/chaos.json")
t_check "one-off created ($CHAOS)" test -n "$CHAOS"
t_check "one-off results from p1, p2 and p5" t_wait 90 has_results "$CHAOS" "$P1" "$P2" "$P5"
for p in p1 p2 p5; do
	site=$(var "$p" SITE4)
	got=$(V results "$CHAOS" --probe "$(eval echo "\$ID_$p")" | head -1 |
		jq -r '.result.answers[0].RDATA | if type == "array" then .[0] else . end' 2>/dev/null)
	is "$p: id.server names its site $site" "$got" "$(var "$site" ID)"
done
is "one result per probe" "$(V results "$CHAOS" | wc -l)" 3
status() { Q "SELECT status FROM measurements WHERE id = $1"; }
stopped() { [ "$(status "$1")" = 4 ]; }
t_check "one-off ends Stopped" t_wait 60 stopped "$CHAOS"
t_check "no one-off line in a crontab" sh -c "! grep -qs -- '-A $CHAOS ' '$VANTAGE_RUN'/probes/*/crons/7"

# --- 3. stop, 4. participation: add p3, remove p1 ---
t_check "participation measurement has results from p1 and p2" \
	t_wait 60 has_results "$PART" "$P1" "$P2"
V msm stop "$PING" >/dev/null
t_check "msm stop: Stopped" stopped "$PING"
V msm participate "$PART" --add "$T/add3.json" >/dev/null
V msm participate "$PART" --remove "$P1" >/dev/null
for p in p1 p2 p3; do
	t_check "$p: the stopped ping leaves its crontab" t_wait 60 not_in_crontab "$p" "$PING"
done
t_check "p1: the removed probe loses the line" t_wait 60 not_in_crontab p1 "$PART"
t_check "p3: the added probe gets the line" t_wait 60 in_crontab p3 "$PART"
t_check "p2 keeps it" in_crontab p2 "$PART"
CUT=$(($(date +%s) + 1))     # the pushes are done: nothing measured after this
t_check "p3 produces results for the measurement it joined" \
	t_wait 90 has_results "$PART" "$P3"
# Two more intervals (and an upload) for anything still scheduled to show.
later() { [ "$(newest "$PART" "$P2")" -gt $((CUT + IV)) ]; }
t_check "p2 goes on measuring" t_wait 90 later
sleep 3
for p in p1 p2 p3; do
	pid=$(eval echo "\$ID_$p")
	t=$(newest "$PING" "$pid")
	t_check "$p: no ping result after the stop (newest $t, cut $CUT)" test "$t" -le "$CUT"
done
t=$(newest "$PART" "$P1")
t_check "p1: no result after its removal (newest $t, cut $CUT)" test "$t" -le "$CUT"
is "nothing rejected" "$(Q 'SELECT count(*) FROM rejected')" 0
t_done
