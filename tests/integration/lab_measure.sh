#!/bin/bash
# tests/integration/lab_measure.sh - `vantage-probe --run` inside the anycast
# lab, compared with iputils ping, traceroute and dig run from the same
# probe host on the same path: evping reaches the anycast address as ping
# does, evtraceroute reports traceroute's hops in order (same protocol),
# evtdig -i/-h name the same site as dig, over UDP and TCP; an unreachable
# target and a silent server give the error shapes of the result format.
. "$(dirname "$0")/../lib.sh"
export PATH="$PATH:/usr/sbin:/sbin"

[ "$(id -u)" = 0 ] || t_skip "the lab needs root (network namespaces)"
ip netns list >/dev/null 2>&1 || t_skip "ip netns is unavailable"
for c in nsd nft dig ping traceroute jq; do
	command -v "$c" >/dev/null || t_skip "$c is not installed"
done
PROBE=$BIN/vantage-probe
[ -x "$PROBE" ] || t_skip "$PROBE is not built yet"
grep -qa -- '--run' "$PROBE" || t_skip "vantage-probe has no --run option yet"
probe_ns="vtm$$-try"
ip netns add "$probe_ns" 2>/dev/null || t_skip "cannot create network namespaces here"
ip netns del "$probe_ns"

t_setup
export VANTAGE_LAB_PREFIX="vtm$$-" VANTAGE_LAB_DIR="$T/lab"
LAB_SH="$TOP/scripts/lab"
lab_cleanup() { "$LAB_SH" down >/dev/null 2>&1; t_cleanup; }
trap lab_cleanup EXIT

lx() { local h=$1; shift; ip netns exec "${VANTAGE_LAB_PREFIX}$h" "$@"; }
var() { eval "echo \"\${LAB_$1_$2:-}\""; }

# vrun HOST 'COMMAND LINE': the JSON of the RESULT line (empty when none).
vrun() {
	timeout 60 ip netns exec "${VANTAGE_LAB_PREFIX}$1" "$PROBE" --run "$2" 2>>"$T/probe.err" |
		sed -n 's/^RESULT //p' | head -1
}
jqok() { [ -n "$1" ] && printf '%s' "$1" | jq -e "$2" >/dev/null 2>&1; }
same() { [ -n "$1" ] && [ "$1" = "$2" ]; }   # non-empty and equal
jqv() { printf '%s' "$1" | jq -r "$2" 2>/dev/null; }
tr_hops() { # HOST ARGS...: traceroute's hop addresses
	local h=$1; shift
	lx "$h" traceroute -n -q 1 -w 2 -m 8 "$@" 2>/dev/null |
		awk 'NR > 1 { printf "%s%s", sep, $2; sep = " " } END { print "" }'
}
# The first replying address of every hop of an evtraceroute result.
ev_hops() {
	jqv "$1" '[.result[] | ([.result[]? | select(.from) | .from] | first // "*")] | join(" ")'
}
RDATA='(.result.answers[0].RDATA | if type == "array" then .[0] else . end)'

t_check "lab up" "$LAB_SH" up
# shellcheck disable=SC1091
. "$VANTAGE_LAB_DIR/hosts.env"

# A measurement type the probe does not have yet (it says "not supported")
# is skipped with a note, so this test follows the probe as it grows.
has() { # type
	local h=${LAB_PROBES%% *} line
	case $1 in
	evping) line="evping -4 -c 1 -A 1 $LAB_ANYCAST4" ;;
	evtraceroute) line="evtraceroute -4 -I -c 1 -m 4 -A 1 $LAB_ANYCAST4" ;;
	evtdig) line="evtdig -4 -i -A 1 $LAB_ANYCAST4" ;;
	esac
	! timeout 60 ip netns exec "${VANTAGE_LAB_PREFIX}$h" "$PROBE" --run "$line" 2>&1 >/dev/null |
		grep -q 'not supported'
}
HAS=""
for m in evping evtraceroute evtdig; do
	if has $m; then HAS="$HAS $m"; else t_log "$m: not supported by vantage-probe yet, its checks are skipped"; fi
done
[ -n "$HAS" ] || t_skip "vantage-probe --run supports no measurement yet"
on() { case " $HAS " in *" $1 "*) return 0 ;; esac; return 1; }

msm=1000
for p in $LAB_PROBES; do
	for fam in 4 6; do
		[ -n "$(var "$p" "V$fam")" ] || continue
		if [ "$fam" = 4 ]; then any=$LAB_ANYCAST4; else any=$LAB_ANYCAST6; fi
		id=$(var "$(var "$p" "SITE$fam")" ID)
		msm=$((msm + 1))

		if on evping; then
		j=$(vrun "$p" "evping -$fam -c 3 -A $msm $any")
		t_check "$p evping -$fam: RESULT parses as JSON" jqok "$j" .
		t_check "$p evping -$fam: dst_addr $any, af $fam, 3 replies" \
			jqok "$j" ".dst_addr == \"$any\" and .af == $fam and ([.result[] | select(.rtt)] | length) == 3"
		t_check "$p ping -$fam agrees: 3 replies" \
			sh -c "ip netns exec '$(var "$p" NS)' ping -$fam -n -c 3 -i 0.2 -W 2 $any | grep -q '3 received'"
		fi

		on evtraceroute &&
		for proto in I U T; do
			case $proto in
			I) topt=-I; popt="" ;;
			U) topt=""; popt="" ;;
			T) topt="-T -p 53"; popt="-p 53" ;;
			esac
			want=$(tr_hops "$p" -"$fam" $topt "$any")
			j=$(vrun "$p" "evtraceroute -$fam -$proto -c 1 -w 2000 -m 8 $popt -A $msm $any")
			got=$(ev_hops "$j")
			t_check "$p evtraceroute -$fam -$proto: hops '$got' = traceroute '$want'" \
				same "$want" "$got"
		done

		on evtdig &&
		for q in i:id.server h:hostname.bind; do
			want=$(lx "$p" dig +short +time=2 +tries=2 @"$any" "${q#*:}" CH TXT | tr -d '"')
			j=$(vrun "$p" "evtdig -$fam -${q%%:*} -A $msm $any")
			got=$(jqv "$j" "$RDATA")
			t_check "$p evtdig -$fam -${q%%:*}: '$got' = dig '$want' = '$id'" \
				same "$id" "$want$(same "$want" "$got" || echo ' differs')"
			j=$(vrun "$p" "evtdig -$fam -t -${q%%:*} -A $msm $any")
			got=$(jqv "$j" "$RDATA")
			t_check "$p evtdig -$fam -t -${q%%:*} (TCP): '$got' = '$id'" \
				same "$id" "$got$(jqok "$j" '.proto == "TCP"' || echo ' not TCP')"
		done
	done
done

p=${LAB_PROBES%% *}
if on evping; then
	j=$(vrun "$p" "evping -4 -c 2 -A 2001 $LAB_UNREACH4")
	t_check "$p evping to unreachable $LAB_UNREACH4: no reply, a result" \
		jqok "$j" '([.result[]? | select(.rtt)] | length) == 0'
fi
if on evtraceroute; then
	j=$(vrun "$p" "evtraceroute -4 -I -c 1 -w 1000 -m 4 -A 2002 $LAB_UNREACH4")
	t_check "$p evtraceroute to unreachable: hop 1 says err from its router" \
		jqok "$j" ".result[0].result[0].err and .result[0].result[0].from == \"$(var "$p" HOPS4 | awk '{ print $1 }')\""
	# The site drops DNS to the silent address: hops beyond the path stay
	# silent, the gap limit is reached and the last try goes with TTL 255.
	j=$(vrun "$p" "evtraceroute -4 -U -c 1 -w 500 -m 12 -g 2 -p 53 -A 2005 $LAB_SILENT4")
	t_check "$p evtraceroute into silence with -g 2: ends with hop 255, all stars" \
		jqok "$j" '(.result[-1].hop == 255) and ([.result[-1].result[] | select(.x == "*")] | length) == 1'
	t_check "and the hops before it count from 1 and end in two silent ones" \
		jqok "$j" '([.result[:-1][].hop] == [range(1; (.result | length))]) and ([.result[-3:-1][].result[] | select(.x == "*")] | length) == 2'
fi
if on evtdig; then
	j=$(vrun "$p" "evtdig -4 -i --timeout 1000 -A 2003 $LAB_SILENT4")
	t_check "$p evtdig to the silent server: error.timeout" jqok "$j" '.error.timeout'
	j=$(vrun "$p" "evtdig -6 -t -i --timeout 1000 -A 2004 $LAB_SILENT6")
	t_check "$p evtdig -t to the silent server: error" jqok "$j" '.error'
fi

[ -s "$T/probe.err" ] && sed 's/^/# probe: /' "$T/probe.err" | tail -20
t_check "lab down" "$LAB_SH" down
t_done
