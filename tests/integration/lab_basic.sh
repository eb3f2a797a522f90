#!/bin/bash
# tests/integration/lab_basic.sh - the anycast lab of scripts/lab against
# the real tools: iputils ping, traceroute, dig (BIND), NSD on every site and
# OpenSSH's sshd on the controller host.  Builds the lab, checks every probe
# host, removes the lab, checks nothing is left, and does it twice.
. "$(dirname "$0")/../lib.sh"
export PATH="$PATH:/usr/sbin:/sbin"

[ "$(id -u)" = 0 ] || t_skip "the lab needs root (network namespaces)"
ip netns list >/dev/null 2>&1 || t_skip "ip netns is unavailable"
for c in nsd nsd-checkconf nft dig ping traceroute sshd ssh-keyscan ssh-keygen; do
	command -v "$c" >/dev/null || t_skip "$c is not installed"
done
probe_ns="vtt$$-try"
ip netns add "$probe_ns" 2>/dev/null || t_skip "cannot create network namespaces here"
ip netns del "$probe_ns"

t_setup
# A prefix and folder of our own, so a lab someone else runs is untouched.
export VANTAGE_LAB_PREFIX="vtt$$-" VANTAGE_LAB_DIR="$T/lab"
LAB_SH="$TOP/scripts/lab"
lab_cleanup() { "$LAB_SH" down >/dev/null 2>&1; t_cleanup; }
trap lab_cleanup EXIT

lx() { local h=$1; shift; ip netns exec "${VANTAGE_LAB_PREFIX}$h" "$@"; }
quiet() { "$@" >/dev/null 2>&1; }
var() { eval "echo \"\${LAB_$1_$2:-}\""; }

# dig_txt HOST SERVER NAME [DIG-OPTION...]: the CHAOS TXT answer, unquoted.
dig_txt() {
	local h=$1 s=$2 n=$3; shift 3
	lx "$h" dig +short +time=2 +tries=2 "$@" @"$s" "$n" CH TXT | tr -d '"'
}

# hops HOST TRACEROUTE-ARGS...: the hop addresses traceroute prints, one
# line, "*" for a silent hop.
hops() {
	local h=$1; shift
	lx "$h" traceroute -n -q 1 -w 2 -m 8 "$@" 2>/dev/null |
		awk 'NR > 1 { printf "%s%s", sep, $2; sep = " " } END { print "" }'
}

check_family() { # probe fam
	local p=$1 fam=$2 any site id want got hopsw
	if [ "$fam" = 4 ]; then any=$LAB_ANYCAST4; else any=$LAB_ANYCAST6; fi
	site=$(var "$p" "SITE$fam")
	id=$(var "$site" ID)
	hopsw="$(var "$p" "HOPS$fam") $any"
	t_check "$p IPv$fam: ping $any answers" \
		quiet lx "$p" ping -"$fam" -n -q -c 2 -i 0.2 -W 2 "$any"
	got=$(dig_txt "$p" "$any" id.server)
	t_check "$p IPv$fam: id.server is $id (site $site), got '$got'" [ "$got" = "$id" ]
	[ -n "$got" ] && SEEN="$SEEN $got"
	got=$(dig_txt "$p" "$any" hostname.bind)
	t_check "$p IPv$fam: hostname.bind is $id, got '$got'" [ "$got" = "$id" ]
	got=$(dig_txt "$p" "$any" id.server +tcp)
	t_check "$p IPv$fam: id.server over TCP is $id, got '$got'" [ "$got" = "$id" ]
	got=$(lx "$p" dig +short +tcp +time=2 +tries=2 @"$any" example. SOA | awk '{ print $1 }')
	t_check "$p IPv$fam: SOA example. over TCP, got '$got'" [ "$got" = ns.example. ]
	got=$(lx "$p" dig +short +time=2 +tries=2 @"$any" site.example. TXT | tr -d '"')
	t_check "$p IPv$fam: IN TXT site.example. is $id, got '$got'" [ "$got" = "$id" ]
	got=$(lx "$p" dig +short +time=2 +tries=2 @"$any" www.example. AAAA)
	t_check "$p IPv$fam: IN AAAA www.example., got '$got'" [ "$got" = 2001:db8:80::80 ]
	got=$(hops "$p" -"$fam" "$any")
	t_check "$p IPv$fam: UDP traceroute hops '$got' = '$hopsw'" [ "$got" = "$hopsw" ]
	got=$(hops "$p" -"$fam" -I "$any")
	t_check "$p IPv$fam: ICMP traceroute hops '$got' = '$hopsw'" [ "$got" = "$hopsw" ]
	got=$(hops "$p" -"$fam" -T -p 53 "$any")
	t_check "$p IPv$fam: TCP traceroute hops '$got' = '$hopsw'" [ "$got" = "$hopsw" ]
}

# The controller host runs an sshd of the test's own: every probe must reach
# it over SSH, and its log shows where connections come from.
start_sshd() {
	mkdir -p "$T/sshd"
	ssh-keygen -q -t ed25519 -N '' -f "$T/sshd/key"
	cat >"$T/sshd/config" <<-EOF
	Port 2222
	ListenAddress 0.0.0.0
	ListenAddress ::
	HostKey $T/sshd/key
	PidFile $T/sshd/pid
	LogLevel VERBOSE
	UsePAM no
	EOF
	# sshd wants /run/sshd; a tmpfs in sshd's own mount namespace gives it
	# one without touching the machine's /run.
	lx "$LAB_CTL" sh -c 'mount -t tmpfs vantage-lab /run && mkdir -m 755 /run/sshd &&
		exec "$1" -D -e -f "$2"' sh "$(command -v sshd)" "$T/sshd/config" >"$T/sshd/log" 2>&1 &
	t_bg $!
	t_wait 10 grep -q 'listening on 0.0.0.0' "$T/sshd/log"
}

keyscan() { # probe addr
	lx "$1" ssh-keyscan -T 5 -t ed25519 -p 2222 "$2" 2>/dev/null | grep -q ssh-ed25519
}

# Everything running inside the lab's namespaces (to check it is gone later).
lab_pids() {
	local n
	for n in $(ip netns list | awk '{ print $1 }'); do
		case "$n" in "$VANTAGE_LAB_PREFIX"*) ip netns pids "$n" ;; esac
	done
}
alive() { # pid: running and not a zombie
	local st
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}
nothing_left() {
	local p
	[ -z "$(ip netns list | awk -v p="$VANTAGE_LAB_PREFIX" 'index($1, p) == 1')" ] || return 1
	for p in $PIDS; do alive "$p" && return 1; done
	[ ! -e "$VANTAGE_LAB_DIR" ] || return 1
	[ "$(ip -o link show | awk -F': ' '{ print $2 }' | sort)" = "$ROOT_LINKS" ]
}

ROOT_LINKS=$(ip -o link show | awk -F': ' '{ print $2 }' | sort)

for round in 1 2; do
	t_log "round $round"
	t_check "lab up" "$LAB_SH" up
	t_check "lab up again (already up)" sh -c "'$LAB_SH' up | grep -q 'already up'"
	t_check "hosts file written" [ -s "$VANTAGE_LAB_DIR/hosts.env" ]
	# shellcheck disable=SC1091
	. "$VANTAGE_LAB_DIR/hosts.env"
	t_check "lab hosts lists the probes (and the stock probe hosts)" \
		[ "$("$LAB_SH" hosts | awk '$3 == "probe"' | wc -l)" = "$(echo $LAB_PROBES ${LAB_STOCK_PROBES:-} | wc -w)" ]
	t_check "at least five probes, three sites" \
		[ "$(echo $LAB_PROBES | wc -w)" -ge 5 -a "$(echo $LAB_SITES | wc -w)" -ge 3 ]

	if [ "$round" = 1 ]; then
		SEEN=""
		for s in $LAB_SITES; do
			got=$(dig_txt "$s" "$(var "$s" V4)" id.server)
			t_check "site $s unicast $(var "$s" V4) is $(var "$s" ID)" [ "$got" = "$(var "$s" ID)" ]
			got=$(dig_txt "$s" "$(var "$s" V6)" hostname.bind)
			t_check "site $s unicast $(var "$s" V6) is $(var "$s" ID)" [ "$got" = "$(var "$s" ID)" ]
		done
		start_sshd
		t_check "sshd runs on the controller host" [ -s "$T/sshd/pid" ]
		n6only=0 nnat=0
		for p in $LAB_PROBES; do
			if [ -n "$(var "$p" V4)" ]; then
				check_family "$p" 4
				t_check "$p reaches the controller over SSH/IPv4" keyscan "$p" "$LAB_CTL4"
			else
				n6only=$((n6only + 1))
				t_check "$p (IPv6 only) has no IPv4 route" \
					[ -z "$(lx "$p" ip -4 route show)" ]
				t_check "$p (IPv6 only) has no IPv4 address" \
					[ -z "$(lx "$p" ip -4 addr show scope global)" ]
				t_check "$p (IPv6 only) cannot ping $LAB_ANYCAST4" \
					sh -c "! ip netns exec '$(var "$p" NS)' ping -4 -c 1 -W 1 $LAB_ANYCAST4 >/dev/null 2>&1"
			fi
			check_family "$p" 6
			t_check "$p reaches the controller over SSH/IPv6" keyscan "$p" "$LAB_CTL6"
			nat=$(var "$p" NAT4)
			if [ -n "$nat" ]; then
				nnat=$((nnat + 1))
				t_check "$p (NAT) arrives at the controller from $nat" \
					grep -q "Connection from $nat port" "$T/sshd/log"
				t_check "$p (NAT) own address $(var "$p" V4) never seen" \
					sh -c "! grep -q 'Connection from $(var "$p" V4) ' '$T/sshd/log'"
				t_check "$p (NAT) first hop is its NAT router" \
					[ "$(hops "$p" -4 -I "$LAB_CTL4" | awk '{ print $1 }')" = "$(var "$p" HOPS4 | awk '{ print $1 }')" ]
			fi
		done
		t_check "one IPv6-only probe" [ "$n6only" -ge 1 ]
		t_check "one probe behind NAT" [ "$nnat" -ge 1 ]
		nsites=$(echo $SEEN | tr ' ' '\n' | sort -u | wc -l)
		t_check "probes see $nsites different sites (want 3)" [ "$nsites" -ge 3 ]
		nhops=$(for p in $LAB_PROBES; do echo "$(var "$p" HOPS6)" | wc -w; done | sort -u | wc -l)
		t_check "probes are $nhops different hop counts away (want 3)" [ "$nhops" -ge 3 ]

		p=${LAB_PROBES%% *}
		t_check "$p: unreachable $LAB_UNREACH4 gets an ICMP error" \
			sh -c "ip netns exec '$(var "$p" NS)' ping -n -c 1 -W 2 $LAB_UNREACH4 | grep -q Unreachable"
		t_check "$p: unreachable $LAB_UNREACH6 gets an ICMP error" \
			sh -c "ip netns exec '$(var "$p" NS)' ping -6 -n -c 1 -W 2 $LAB_UNREACH6 | grep -qi unreachable"
		t_check "$p: silent server $LAB_SILENT4 answers ping" \
			quiet lx "$p" ping -n -q -c 1 -W 2 "$LAB_SILENT4"
		t_check "$p: silent server $LAB_SILENT4 does not answer DNS" \
			sh -c "ip netns exec '$(var "$p" NS)' dig +time=1 +tries=1 @$LAB_SILENT4 example. SOA | grep -q 'timed out'"
		t_check "$p: silent server $LAB_SILENT6 does not answer DNS over TCP" \
			sh -c "ip netns exec '$(var "$p" NS)' dig +tcp +time=1 +tries=1 @$LAB_SILENT6 example. SOA | grep -q 'timed out'"
	else
		p=${LAB_PROBES%% *}
		got=$(dig_txt "$p" "$LAB_ANYCAST4" id.server)
		t_check "$p still reaches $(var "$p" SITE4) after rebuilding" \
			[ "$got" = "$(var "$(var "$p" SITE4)" ID)" ]
	fi

	PIDS=$(lab_pids)
	t_check "NSD runs in the lab ($(echo $PIDS | wc -w) processes)" [ -n "$PIDS" ]
	t_check "lab down" "$LAB_SH" down
	t_check "lab down again" "$LAB_SH" down
	t_check "nothing left: namespaces, processes, state, links" t_wait 30 nothing_left
	t_check "status says not up" sh -c "'$LAB_SH' status | grep -q 'not (fully) up'"
done
t_done
