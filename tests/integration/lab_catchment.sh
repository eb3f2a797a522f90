#!/bin/bash
# tests/integration/lab_catchment.sh - a catchment shift in the anycast lab,
# seen through the catchment view (storage/catchment.h): the controller
# (PostgreSQL, gateway, scheduler, worker, vantage-api) on the lab's
# controller host, one vantage-probe per probe host, a CHAOS id.server
# measurement over IPv6 every IV seconds, then `scripts/lab site-down s3`
# and `site-up s3`:
#   - before: every probe's site in the view is the one the lab's routes
#     give it (LAB_<p>_SITE6);
#   - every probe of s3 moves to the next-nearest site (as the rerouted lab
#     says, and as dig from the probe sees it) and comes back; each change
#     has its last result before the route change and its first after it,
#     the two within one measurement interval (IV + spread); no other probe
#     changes site;
#   - `vantage catchment` (database and --api) prints the same changes;
#   - a python3-websocket client of the API's /stream/ (with backlog)
#     receives every stored result of the measurement once, in order;
#   - the /catchment/{id} page loads in headless chromium without console
#     errors and names every site of the lab (screenshot kept in
#     $VANTAGE_ARTIFACTS when set, or with T_KEEP=1).
# Root only.  Namespace prefix VANTAGE_LAB_PREFIX (default cat-).
. "$(dirname "$0")/../lib.sh"
export PATH="$PATH:/usr/sbin:/sbin"

[ "$(id -u)" = 0 ] || t_skip "the lab needs root (network namespaces)"
ip netns list >/dev/null 2>&1 || t_skip "ip netns is unavailable"
for c in nsd nft jq psql ssh-keygen dig curl; do
	command -v "$c" >/dev/null || t_skip "$c is not installed"
done
for b in vantage vantage-gateway vantage-probe vantage-scheduler vantage-worker vantage-api; do
	[ -x "$BIN/$b" ] || t_skip "$BIN/$b is not built"
done
export VANTAGE_LAB_PREFIX=${VANTAGE_LAB_PREFIX:-cat-}
if ip netns list 2>/dev/null | grep -q "^$VANTAGE_LAB_PREFIX"; then
	t_skip "a lab with prefix $VANTAGE_LAB_PREFIX already exists"
fi

t_setup
# jqf FILE FILTER: the filter holds on the JSON file
jqf() { jq -e "$2" "$1" >/dev/null; }
export VANTAGE_RUN="$T/run" VANTAGE_LAB_DIR="$T/lab"
LAB="$TOP/scripts/lab"
mkdir -p "$VANTAGE_RUN/probes"
chmod 755 "$VANTAGE_RUN" "$VANTAGE_RUN/probes"

cleanup() {
	local pf
	for pf in "$VANTAGE_RUN"/probes/*/probe.pid; do
		[ -f "$pf" ] && kill "$(cat "$pf")" 2>/dev/null
	done
	"$LAB" exec ctl "$TOP/scripts/stack" down >/dev/null 2>&1
	"$LAB" down >/dev/null 2>&1
	[ -n "${T_KEEP:-}" ] && cp -r "$VANTAGE_RUN/log" "$T/stack-log" 2>/dev/null
	t_cleanup
}
trap cleanup EXIT

var() { eval "echo \"\${LAB_$1_$2:-}\""; }

if ! "$LAB" up >"$T/lab.log" 2>&1; then
	cat "$T/lab.log"
	t_notok "lab up"
	t_done
	exit 1
fi
t_ok "lab up"
# shellcheck disable=SC1091
. "$VANTAGE_LAB_DIR/hosts.env"

"$LAB" exec ctl env VANTAGE_RUN="$VANTAGE_RUN" VANTAGE_LISTEN=:: \
	VANTAGE_CTRL_HOST="$LAB_CTL4,$LAB_CTL6" \
	"$TOP/scripts/stack" up >"$T/stack.log" 2>&1
t_check "stack up on host ctl" test -f "$VANTAGE_RUN/stack.env"
[ -f "$VANTAGE_RUN/stack.env" ] || { cat "$T/stack.log"; t_done; exit 1; }
# shellcheck disable=SC1091
. "$VANTAGE_RUN/stack.env"
t_check "vantage-api runs ($VANTAGE_API_URL)" test -n "${VANTAGE_API_URL:-}"
[ -n "${VANTAGE_API_URL:-}" ] || { cat "$T/stack.log"; t_done; exit 1; }
V() { "$LAB" exec ctl "$BIN/vantage" --db "$VANTAGE_DB" "$@"; }
CURL() { "$LAB" exec ctl curl -sS --max-time 60 "$@"; }

# --- the probes register and connect ---
NP=0
for p in $LAB_PROBES; do
	s=$VANTAGE_RUN/probes/$p
	mkdir -p "$s"
	ssh-keygen -q -t ed25519 -N '' -C "$p" -f "$s/id_ed25519"
	id=$(V probe add --pubkey "$s/id_ed25519.pub" --description "lab probe $p" \
		--country NL --asn $((64496 + NP)))
	eval "ID_$p=$id"
	eval "PROBE_$id=$p"
	if [ -n "$(var "$p" V4)" ]; then reg=$LAB_CTL4; else reg=$LAB_CTL6; fi
	"$LAB" exec "$p" "$BIN/vantage-probe" --spool "$s" --reg-host "$reg" \
		--reg-port "$VANTAGE_REG_PORT" --upload-poll-ms 1000 \
		--reg-hostkey "$VANTAGE_HOST_KEYS/ssh_host_ed25519_key.pub" \
		>"$s/probe.log" 2>&1 &
	echo $! >"$s/probe.pid"
	NP=$((NP + 1))
done
connected() { [ "$(V probe list | grep -c " connected ")" -ge "$NP" ]; }
t_check "all $NP probes connected" t_wait 90 connected

# --- a CHAOS id.server measurement over IPv6 (every probe has IPv6) ---
IV=10 SP=2
ids=""
for p in $LAB_PROBES; do ids="$ids${ids:+,}$(eval echo "\$ID_$p")"; done
cat >"$T/chaos.json" <<JSON
{"definitions": [
  {"type": "dns", "af": 6, "target": "$LAB_ANYCAST6", "description": "catchment id.server",
   "query_class": "CHAOS", "query_type": "TXT", "query_argument": "id.server",
   "interval": $IV, "spread": $SP}],
 "probes": [{"type": "probes", "value": "$ids", "requested": $NP}],
 "start_time": $(date +%s)}
JSON
MSM=$(V msm create "$T/chaos.json")
t_check "measurement created ($MSM)" test -n "$MSM"
# a researcher watches it live: python3-websocket on the API's /stream/,
# with the backlog, from the start to the end of the run
t_check "the stream's URL is in stack.env" test -n "${VANTAGE_STREAM_URL:-}"
"$LAB" exec ctl /usr/bin/python3 "$TOP/tests/integration/stream_client.py" sub \
	"$VANTAGE_STREAM_URL" "$MSM" "$T/stream.out" --backlog --count 1000000 \
	--ready "$T/stream.ready" 2>"$T/stream.err" &
t_bg $!
t_check "a stream client subscribed" t_wait 60 test -f "$T/stream.ready"
view() { CURL "$VANTAGE_API_URL/api/v2/measurements/$MSM/catchment/" >"$T/view.json.tmp" &&
	jq -e .sites "$T/view.json.tmp" >/dev/null && mv "$T/view.json.tmp" "$T/view.json"; }
site_of() { jq -r ".probes[] | select(.prb_id == $1) | .site" "$T/view.json"; }
results_of() { jq -r ".probes[] | select(.prb_id == $1) | .results" "$T/view.json"; }
changes_of() { jq -r ".probes[] | select(.prb_id == $1) | .changes" "$T/view.json"; }
# all_at WANT_VAR MIN_RESULTS MIN_CHANGES: every probe answered by the site
# LAB_<p>_<WANT_VAR> names (a snapshot), with enough results and changes.
all_at() {
	local p id
	view || return 1
	for p in $LAB_PROBES; do
		id=$(eval echo "\$ID_$p")
		[ "$(site_of "$id")" = "$(eval echo "\$$1_$p").lab" ] || return 1
		[ "$(results_of "$id")" -ge "$2" ] || return 1
		[ "$(changes_of "$id")" -ge "${3:-0}" ] || return 1
	done
}
snap() { for p in $LAB_PROBES; do eval "$1_$p=$(var "$p" SITE6)"; done; }

snap BEFORE
t_check "every probe answered by its own site, twice" t_wait 180 all_at BEFORE 2
DOWN=s3
MOVED=""
for p in $LAB_PROBES; do [ "$(eval echo "\$BEFORE_$p")" = "$DOWN" ] && MOVED="$MOVED $p"; done
t_check "$DOWN has probes:$MOVED" test -n "$MOVED"

# flip site-down|site-up SNAP: runs it on $DOWN, keeping the time before
# (FROM) and after (TO), then snapshots where the lab now routes each probe.
flip() {
	FROM=$(date +%s)
	"$LAB" "$1" "$DOWN" >"$T/$1.log" 2>&1
	TO=$(date +%s)
	sed 's/^/# /' "$T/$1.log"
	. "$VANTAGE_LAB_DIR/hosts.env"
	snap "$2"
}

# --- withdraw s3 ---
flip site-down DURING
T0=$FROM T1=$TO
for p in $MOVED; do
	to=$(eval echo "\$DURING_$p")
	t_check "$p: the rerouted lab sends it to another site ($to)" \
		test -n "$to" -a "$to" != "$DOWN"
	ns=$(var "$p" NS)
	t_check "$p: dig from the probe sees $to" \
		test "$(ip netns exec "$ns" dig +short +time=2 +tries=2 @"$LAB_ANYCAST6" id.server CH TXT)" = "\"$to.lab\""
done
t_check "the view: every probe of $DOWN moved (results after the change)" \
	t_wait 120 all_at DURING 4 0
# settled SNAP MIN: all_at SNAP MIN, and every probe has a result newer
# than the first one after the newest change (so a view up to just before
# the oldest of the probes' newest results holds every change)
settled() {
	all_at "$1" "$2" || return 1
	jq -e '([.probes[].timestamp] | min) > ([.changes[].first_after] | max // 0)' \
		"$T/view.json" >/dev/null
}
t_check "they stay there" t_wait 60 settled DURING 4

# --- announce it again ---
flip site-up AFTER
T2=$FROM T3=$TO
for p in $LAB_PROBES; do
	t_check "$p: the lab's routes are back ($(eval echo "\$AFTER_$p"))" \
		test "$(eval echo "\$AFTER_$p")" = "$(eval echo "\$BEFORE_$p")"
done
t_check "the view: every probe back at its own site" t_wait 120 all_at AFTER 6 0
t_check "and stay there" t_wait 60 settled AFTER 6
view
cp "$T/view.json" "$T/final.json"
jq -c '.changes[]' "$T/final.json" | sed 's/^/# /'

# --- the changes, exactly ---
# timed WHAT LAST_BEFORE FIRST_AFTER FROM TO: a change's two results bracket
# the route change (its command ran from FROM to TO, unix seconds) and lie
# within one measurement interval of each other.
timed() {
	t_check "$1 is bracketed by the route change ($2, $3 around $4..$5)" \
		test "${2:-0}" -le "$5" -a "${3:-0}" -ge "$4"
	t_check "$1: within one interval ($3 - $2 <= $((IV + SP)) s)" \
		test $(( ${3:-0} - ${2:-0} )) -le $((IV + SP))
}
for p in $LAB_PROBES; do
	id=$(eval echo "\$ID_$p")
	own=$(eval echo "\$BEFORE_$p").lab next=$(eval echo "\$DURING_$p").lab
	got=$(jq -c "[.changes[] | select(.prb_id == $id) | [.from, .to]]" "$T/final.json")
	case " $MOVED " in
	*" $p "*)
		t_check "$p: moved $own -> $next and back, nothing else" \
			test "$got" = "[[\"$own\",\"$next\"],[\"$next\",\"$own\"]]"
		read -r lb1 fa1 lb2 fa2 < <(jq -r "[.changes[] | select(.prb_id == $id) |
			.last_before, .first_after] | @tsv" "$T/final.json")
		timed "$p: the move" "$lb1" "$fa1" "$T0" "$T1"
		timed "$p: the return" "$lb2" "$fa2" "$T2" "$T3"
		;;
	*)
		t_check "$p: never changed site" test "$got" = "[]"
		;;
	esac
done
t_check "no result went unanswered" jqf "$T/final.json" '.unanswered == 0'

# --- the CLI, on the database and through the API ---
# up to just before every probe's newest result: all of it is stored
stop=$(( $(jq -r '[.probes[].timestamp] | min' "$T/final.json") - 1 ))
V catchment "$MSM" --stop "$stop" --json >"$T/cli.json"
t_check "vantage catchment --json (database) is the API's view" \
	cmp -s <(jq -S 'del(.stop)' "$T/cli.json") \
	<(CURL "$VANTAGE_API_URL/api/v2/measurements/$MSM/catchment/?stop=$stop" | jq -S 'del(.stop)')
V catchment "$MSM" --stop "$stop" --api "$VANTAGE_API_URL" >"$T/cli.txt"
sed 's/^/# /' "$T/cli.txt"
for p in $MOVED; do
	id=$(eval echo "\$ID_$p")
	t_check "vantage catchment --api prints $p's two changes" \
		test "$(grep -Ec "^$id +(s[0-9]\.lab +){2}[0-9-]+ " "$T/cli.txt")" = 2
done
for s in $LAB_SITES; do
	t_check "its site table has $s" grep -q "^$s.lab " "$T/cli.txt"
done

# --- the live stream saw every stored result, once, in storage order ---
V msm stop "$MSM" >/dev/null
# streamed: the client's lines are the stored results, ordered as stored
streamed() {
	"$LAB" exec ctl psql "$VANTAGE_DB" -XAtq -c \
		"SELECT result FROM results WHERE msm_id = $MSM ORDER BY seq" >"$T/stored.out" || return 1
	[ -s "$T/stored.out" ] && cmp -s "$T/stored.out" "$T/stream.out"
}
t_check "the stream client got every stored result once, in storage order" \
	t_wait 120 streamed
t_log "streamed $(wc -l <"$T/stream.out") results; $(head -c 300 "$T/stream.err")"

# --- the page in a real browser ---
if command -v chromium >/dev/null; then
	"$LAB" exec ctl /usr/bin/python3 "$TOP/tests/helpers/page_check.py" \
		"$VANTAGE_API_URL/catchment/$MSM" "$T/catchment.png" "$T/dom.html" >"$T/page.json"
	t_log "chromium: $(cat "$T/page.json")"
	t_check "the page loads in chromium with no console error" jqf "$T/page.json" '.errors == []'
	t_check "and fetches nothing else" jqf "$T/page.json" '.requests == [] and .failed == []'
	for s in $LAB_SITES; do
		t_check "the page shows site $s.lab (bars, tables, strip)" \
			test "$(grep -o ">$s.lab<" "$T/dom.html" | wc -l)" -ge 3
	done
	for p in $MOVED; do
		id=$(eval echo "\$ID_$p")
		t_check "the page's change table lists $p twice" \
			test "$(grep -o "<tr><td>$id</td><td>s[0-9].lab</td>" "$T/dom.html" | wc -l)" = 2
	done
	[ -n "${VANTAGE_ARTIFACTS:-}" ] && cp "$T/catchment.png" "$VANTAGE_ARTIFACTS/lab_catchment.png"
else
	t_log "chromium is not installed: the page is not loaded in a browser"
fi
t_done
