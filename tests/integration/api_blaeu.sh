#!/bin/bash
# tests/integration/api_blaeu.sh - Debian's Blaeu (blaeu-reach,
# blaeu-traceroute, blaeu-resolve), unchanged, against vantage-api in the
# lab with live Vantage probes: each tool creates its one-off through the
# API (with its API key from ~/.atlas/auth, adding system-ipv4-works), polls
# the measurement until it is Ongoing with its probes, waits for the results
# and prints the probes' results.  Blaeu names https://atlas.ripe.net in its
# module; tests/helpers/blaeu_run.py points that one variable at the lab's
# API on loopback.  Root only; the lab's namespaces are named with
# VANTAGE_LAB_PREFIX (default "api-").
. "$(dirname "$0")/../lib.sh"
export PATH="$PATH:/usr/sbin:/sbin"

[ "$(id -u)" = 0 ] || t_skip "the lab needs root (network namespaces)"
ip netns list >/dev/null 2>&1 || t_skip "ip netns is unavailable"
for c in nsd nft jq psql ssh-keygen openssl /usr/bin/blaeu-reach; do
	command -v "$c" >/dev/null || t_skip "$c is not installed"
done
/usr/bin/python3 -c 'import Blaeu' 2>/dev/null || t_skip "blaeu is not installed"
for b in vantage vantage-api vantage-gateway vantage-probe vantage-scheduler vantage-worker; do
	[ -x "$BIN/$b" ] || t_skip "$BIN/$b is not built"
done
PFX=${VANTAGE_LAB_PREFIX:-api-}
if ip netns list 2>/dev/null | grep -q "^$PFX"; then
	t_skip "a lab with prefix $PFX already exists on this machine"
fi

t_setup
export VANTAGE_LAB_PREFIX=$PFX VANTAGE_RUN="$T/run" VANTAGE_LAB_DIR="$T/lab"
LAB="$TOP/scripts/lab"
mkdir -p "$VANTAGE_RUN/probes" "$T/home/.atlas"
chmod 755 "$VANTAGE_RUN" "$VANTAGE_RUN/probes"

blaeu_cleanup() {
	local pf
	for pf in "$VANTAGE_RUN"/probes/*/probe.pid; do
		[ -f "$pf" ] && kill "$(cat "$pf")" 2>/dev/null
	done
	"$LAB" exec ctl "$TOP/scripts/stack" down >/dev/null 2>&1
	"$LAB" down >/dev/null 2>&1
	[ -n "${T_KEEP:-}" ] && cp -r "$VANTAGE_RUN/log" "$T/stack-log" 2>/dev/null
	t_cleanup
}
trap blaeu_cleanup EXIT

if ! "$LAB" up >"$T/lab.log" 2>&1; then
	sed 's/^/# /' "$T/lab.log" | tail -20
	t_notok "lab up"
	t_done
	exit 1
fi
t_ok "lab up ($PFX)"
# shellcheck disable=SC1091
. "$VANTAGE_LAB_DIR/hosts.env"
"$LAB" exec ctl env VANTAGE_RUN="$VANTAGE_RUN" VANTAGE_LISTEN=:: \
	VANTAGE_CTRL_HOST="$LAB_CTL4,$LAB_CTL6" \
	"$TOP/scripts/stack" up >"$T/stack.log" 2>&1
# shellcheck disable=SC1091
. "$VANTAGE_RUN/stack.env"
t_check "stack up on host ctl, with the API ($VANTAGE_API_URL)" test -n "${VANTAGE_API_URL:-}"
[ -n "${VANTAGE_API_URL:-}" ] || { sed 's/^/# /' "$T/stack.log"; t_done; exit 1; }
V() { "$LAB" exec ctl "$BIN/vantage" --db "$VANTAGE_DB" "$@"; }

# --- live probes ---
nprobes=0
for p in $LAB_PROBES; do
	s=$VANTAGE_RUN/probes/$p
	mkdir -p "$s"
	ssh-keygen -q -t ed25519 -N '' -C "$p" -f "$s/id_ed25519"
	id=$(V probe add --pubkey "$s/id_ed25519.pub" --description "lab probe $p" \
		--country NL --asn $((64496 + nprobes)))
	eval "ID_$p=$id"
	if [ -n "$(eval echo "\${LAB_${p}_V4:-}")" ]; then reg=$LAB_CTL4; else reg=$LAB_CTL6; fi
	"$LAB" exec "$p" "$BIN/vantage-probe" --spool "$s" --reg-host "$reg" \
		--reg-port "$VANTAGE_REG_PORT" --upload-poll-ms 1000 \
		--reg-hostkey "$VANTAGE_HOST_KEYS/ssh_host_ed25519_key.pub" \
		>"$s/probe.log" 2>&1 &
	echo $! >"$s/probe.pid"
	nprobes=$((nprobes + 1))
done
# (t_wait counts with a variable of its own named n)
connected() { [ "$(V probe list | grep -c ' connected ')" -ge "$nprobes" ]; }
t_check "all $nprobes probes connected" t_wait 90 connected
ns_curl() { "$LAB" exec ctl curl "$@"; }
v4works() {
	[ "$(ns_curl -s "$VANTAGE_API_URL/api/v2/probes/?tags=system-ipv4-works" | jq .count)" -ge 3 ] 2>/dev/null
}
t_check "probes carry system-ipv4-works (through the API)" t_wait 60 v4works

KEY=$(V key add --label blaeu --grant results,create,stop)
echo "$KEY" >"$T/home/.atlas/auth"
# blaeu TOOL ARGS...: one of Blaeu's tools on host ctl against the API.
blaeu() {
	local tool=$1; shift
	"$LAB" exec ctl env HOME="$T/home" /usr/bin/python3 \
		"$TOP/tests/helpers/blaeu_run.py" "$tool" "$VANTAGE_API_URL" "$@"
}

# Blaeu polls a new one-off after about 6 s and wants it Ongoing (API.md):
# the scheduler keeps a one-off Ongoing until its probes' results are in.

# --- blaeu-reach: ping the anycast address from 3 probes ---
blaeu blaeu-reach -4 -r 3 "$LAB_ANYCAST4" >"$T/reach.out" 2>"$T/reach.err"
rc=$?
sed 's/^/# reach: /' "$T/reach.out" "$T/reach.err" | tail -12
t_check "blaeu-reach exits 0" test $rc = 0
t_check "blaeu-reach: 3 probes reported" grep -q '^3 probes reported' "$T/reach.out"
t_check "blaeu-reach: successful tests with an RTT" grep -q 'successful .*average RTT' "$T/reach.out"
REACH=$(sed -n 's/^\(Measurement\|Test\) #\([0-9]*\) .*/\2/p' "$T/reach.out" | head -1)
t_check "blaeu-reach's one-off ($REACH) came through the API with its key" \
	grep -q "POST /api/v2/measurements/ 201 .* key=blaeu" "$VANTAGE_RUN/log/api.log"
t_check "... with system-ipv4-works in its probe spec" test "$(V msm show "${REACH:-0}" >/dev/null 2>&1;
	"$LAB" exec ctl psql "$VANTAGE_DB" -qtAX -c "SELECT array_to_string(tags_include, ',')
	FROM participation_requests WHERE msm_id = ${REACH:-0}")" = system-ipv4-works

# --- blaeu-traceroute ---
blaeu blaeu-traceroute -4 -r 2 --protocol ICMP "$LAB_ANYCAST4" >"$T/trace.out" 2>"$T/trace.err"
rc=$?
sed 's/^/# traceroute: /' "$T/trace.out" "$T/trace.err" | tail -12
t_check "blaeu-traceroute exits 0" test $rc = 0
t_check "blaeu-traceroute: 2 probes reported, paths printed" \
	grep -q '2 probes reported' "$T/trace.out"

# --- blaeu-resolve: CHAOS id.server from the anycast name servers ---
blaeu blaeu-resolve -r 3 --type TXT --class CHAOS --nameserver "$LAB_ANYCAST4" \
	id.server >"$T/resolve.out" 2>"$T/resolve.err"
rc=$?
sed 's/^/# resolve: /' "$T/resolve.out" "$T/resolve.err" | tail -12
t_check "blaeu-resolve exits 0" test $rc = 0
sites=0
for s in $LAB_SITES; do
	id=$(eval echo "\${LAB_${s}_ID:-}")
	[ -n "$id" ] && grep -q "$id" "$T/resolve.out" && sites=$((sites + 1))
done
t_check "blaeu-resolve prints the anycast sites' id.server answers ($sites sites)" test "$sites" -ge 1
t_done
