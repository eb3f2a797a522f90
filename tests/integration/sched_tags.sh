#!/bin/bash
# sched_tags: system-ipv4-works / system-ipv6-works come from the family of
# the probe's session and also from the successful results it achieves over
# a family in the last day (migration 006, vantage-scheduler's works step
# reading `latest`): a dual-stack probe connected over IPv4 with a
# successful IPv6 ping works over IPv6; failed, stale or unreadable results
# do not count; the tag goes once the last success is over a day old.
# Probes' own addresses come from the src_addr of their newest results
# (migration 007), which makes a NAT visible (system-ipv4-rfc1918).
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/helpers/sched_lib.sh"
t_setup
[ -x "$BIN/vantage-scheduler" ] || t_skip "bin/vantage-scheduler not built"
t_pg_start || t_skip "no PostgreSQL"

V="$BIN/vantage"
S="$BIN/vantage-scheduler"
probe() { sched_probe "$@"; }
connect() { sched_connect "$@"; }
tags() { t_psql "SELECT array_to_string(system_tags, ',') FROM probes WHERE id = $1"; }
has() { case ",$(tags "$1")," in *",$2,"*) return 0 ;; esac; return 1; }
hasnt() { ! has "$@"; }
is() { # DESC GOT WANT
	if [ "$2" = "$3" ]; then t_ok "$1"; else t_notok "$1: got '$2', want '$3'"; fi
}
pass() { "$S" --once ${1:+--now "$1"} 2>>"$T/sched.log"; }
msm() { # AF TYPE-OPTIONS -> id
	echo "{\"definitions\": [{\"af\": $1, \"description\": \"t\", $2}],
	 \"probes\": [{\"type\": \"area\", \"value\": \"WW\", \"requested\": 1}]}" |
		"$V" msm create -
}
latest() { # MSM PROBE TS JSON
	t_psql "INSERT INTO latest (msm_id, prb_id, ts, result)
		VALUES ($1, $2, $3, '$4') ON CONFLICT (msm_id, prb_id)
		DO UPDATE SET ts = EXCLUDED.ts, result = EXCLUDED.result"
}
NOW=$(date +%s)

A=$(probe --country NL --asn 3333)   # dual stack, session over IPv4
B=$(probe --country NL --asn 3334)   # IPv4 session, IPv6 pings fail
C=$(probe --country DE --asn 3335)   # session over IPv6, IPv4 DNS answers
D=$(probe --country DE --asn 3336)   # IPv6 traceroute reaching its target
E=$(probe --country FR --asn 3337)   # traceroute short of it, stale, junk
connect "$A" 192.0.2.1; connect "$B" 192.0.2.2; connect "$C" 2001:db8::3
connect "$D" 192.0.2.4; connect "$E" 192.0.2.5
t_psql "UPDATE probes SET address_v6 = '2001:db8::1' WHERE id = $A"
is "session over IPv4, v6 address: v6 capable, not works" "$(tags "$A")" \
	"system-ipv4-capable,system-ipv4-works,system-ipv6-capable"

P6=$(msm 6 '"type": "ping", "target": "2001:db8:53::53"')
T6=$(msm 6 '"type": "traceroute", "target": "2001:db8:53::53", "protocol": "ICMP"')
D4=$(msm 4 '"type": "dns", "target": "192.0.2.53", "query_class": "CHAOS",
	"query_type": "TXT", "query_argument": "id.server"')
t_check "measurements created" test -n "$P6" -a -n "$T6" -a -n "$D4"

latest "$P6" "$A" $((NOW - 60)) "{\"af\": 6, \"type\": \"ping\", \"sent\": 3, \"rcvd\": 3, \"avg\": 1.5}"
latest "$P6" "$B" $((NOW - 60)) "{\"af\": 6, \"type\": \"ping\", \"sent\": 3, \"rcvd\": 0, \"avg\": -1}"
latest "$D4" "$C" $((NOW - 30)) "{\"af\": 4, \"type\": \"dns\", \"result\": {\"ANCOUNT\": 1, \"rt\": 2.1}}"
latest "$T6" "$D" $((NOW - 10)) "{\"af\": 6, \"type\": \"traceroute\", \"dst_addr\": \"2001:db8:53::53\",
	\"result\": [{\"hop\": 1, \"result\": [{\"from\": \"2001:db8:100::1\", \"rtt\": 1}]},
	{\"hop\": 2, \"result\": [{\"x\": \"*\"}, {\"from\": \"2001:db8:53::53\", \"rtt\": 2}]}]}"
latest "$T6" "$E" $((NOW - 10)) "{\"af\": 6, \"type\": \"traceroute\", \"dst_addr\": \"2001:db8:53::53\",
	\"result\": [{\"hop\": 1, \"result\": [{\"from\": \"2001:db8:100::1\", \"rtt\": 1}]},
	{\"hop\": 255, \"result\": [{\"x\": \"*\"}]}]}"
latest "$P6" "$E" $((NOW - 2 * 86400)) "{\"af\": 6, \"type\": \"ping\", \"rcvd\": 2}"
latest "$D4" "$E" $((NOW - 5)) "not json at all"
latest "$P6" "$D" $((NOW - 5)) "{\"af\": 6, \"type\": \"ping\", \"error\": \"sendto failed\"}"

pass "$NOW"
t_check "the pass says how many probes moved" \
	grep -q "3 probes with newer successful results" "$T/sched.log"
t_check "IPv6 ping replies: A works over IPv6" has "$A" system-ipv6-works
t_check "and still over IPv4" has "$A" system-ipv4-works
t_check "IPv6 pings lost: B does not" hasnt "$B" system-ipv6-works
t_check "IPv4 DNS answer: C (session over IPv6) works over IPv4" has "$C" system-ipv4-works
t_check "which makes it IPv4 capable" has "$C" system-ipv4-capable
t_check "C still works over IPv6" has "$C" system-ipv6-works
t_check "IPv6 traceroute reaching its target: D works over IPv6" has "$D" system-ipv6-works
t_check "D is IPv6 capable" has "$D" system-ipv6-capable
t_check "short traceroute, stale ping, junk: E does not" hasnt "$E" system-ipv6-works
is "E keeps only its session's tags" "$(tags "$E")" "system-ipv4-capable,system-ipv4-works"
is "A's last IPv6 success recorded" \
	"$(t_psql "SELECT v6_ok_at FROM probes WHERE id = $A")" $((NOW - 60))
is "the error result did not move D's" \
	"$(t_psql "SELECT v6_ok_at FROM probes WHERE id = $D")" $((NOW - 10))

pass "$NOW"
t_check "a second pass changes nothing" \
	sh -c "tail -1 '$T/sched.log' | grep -q ' 0 tags changed.* 0 probes with newer'"

# probe selection follows the tag
M=$(echo "{\"definitions\": [{\"type\": \"ping\", \"af\": 6, \"target\": \"2001:db8:53::53\",
  \"description\": \"v6\"}], \"probes\": [{\"type\": \"country\", \"value\": \"NL\",
  \"requested\": 2, \"tags\": {\"include\": [\"system-ipv6-works\"]}}]}" | "$V" msm create -)
pass "$NOW"
is "an IPv6-works selection takes A, not B" \
	"$(t_psql "SELECT string_agg(probe_id::text, ',') FROM assignments WHERE msm_id = $M")" "$A"

# a newer success moves the time; a day without one removes the tag
latest "$P6" "$A" $((NOW - 5)) "{\"af\": 6, \"type\": \"ping\", \"sent\": 3, \"rcvd\": 1}"
pass "$NOW"
is "newer success recorded" "$(t_psql "SELECT v6_ok_at FROM probes WHERE id = $A")" $((NOW - 5))
latest "$P6" "$A" $((NOW - 2 * 86400)) "{\"af\": 6, \"type\": \"ping\", \"sent\": 3, \"rcvd\": 3}"
t_psql "UPDATE probes SET v6_ok_at = $((NOW - 86400 - 60)) WHERE id = $A"
pass "$NOW"
t_check "last IPv6 success over a day old: A no longer works over IPv6" \
	hasnt "$A" system-ipv6-works
t_check "but stays IPv6 capable (its address)" has "$A" system-ipv6-capable
t_check "the session's family still works" has "$A" system-ipv4-works

# the probe reports its own addresses: src_addr of its newest results
F=$(probe --country FR --asn 3338)   # behind NAT, no address typed in
connect "$F" 192.0.2.6
P4=$(msm 4 '"type": "ping", "target": "192.0.2.53"')
latest "$P4" "$F" $((NOW - 20)) "{\"af\": 4, \"type\": \"ping\", \"src_addr\": \"10.1.2.3\", \"rcvd\": 3}"
latest "$P6" "$F" $((NOW - 20)) "{\"af\": 6, \"type\": \"ping\", \"src_addr\": \"10.9.9.9\", \"rcvd\": 3}"
latest "$T6" "$F" $((NOW - 20)) "{\"af\": 6, \"type\": \"traceroute\", \"src_addr\": \"junk\"}"
hasnt "$F" system-ipv4-rfc1918 && t_ok "before: no NAT known" || t_notok "before: no NAT known"
pass "$NOW"
is "IPv4 address taken from src_addr" \
	"$(t_psql "SELECT host(address_v4) FROM probes WHERE id = $F")" 10.1.2.3
is "an IPv4 src_addr in an IPv6 result and junk are ignored" \
	"$(t_psql "SELECT coalesce(host(address_v6), 'none') FROM probes WHERE id = $F")" none
t_check "private source behind a public session: system-ipv4-rfc1918" \
	has "$F" system-ipv4-rfc1918
t_check "the pass says one probe reported a new address" \
	grep -q " 1 probes with a new reported address" "$T/sched.log"
latest "$D4" "$A" $((NOW - 10)) "{\"af\": 4, \"type\": \"dns\", \"src_addr\": \"192.0.2.1\", \"result\": {\"ANCOUNT\": 1}}"
pass "$NOW"
is "a probe's session address reported: no NAT" \
	"$(has "$A" system-ipv4-rfc1918 && echo yes || echo no)" no

# the running scheduler does the works step on its own cadence
latest "$P6" "$B" "$NOW" "{\"af\": 6, \"type\": \"ping\", \"sent\": 3, \"rcvd\": 3}"
"$S" --interval 1 --works-every 1 2>>"$T/sched-run.log" &
t_bg $!
t_check "the running scheduler finds B's IPv6 success" \
	t_wait 20 has "$B" system-ipv6-works
t_done
