#!/bin/bash
# sched_select: probe selection for each spec type and tag rule, against a
# real PostgreSQL, with probes registered by `vantage probe add`.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/helpers/sched_lib.sh"
t_setup
[ -x "$BIN/vantage-scheduler" ] || t_skip "bin/vantage-scheduler not built"
t_pg_start || t_skip "no PostgreSQL"

# probe ARGS...: registers a probe and prints its id
probe() { sched_probe "$@"; }
# connect ID FROM: a live session from address FROM
connect() { sched_connect "$@"; }

P1=$(probe --country NL --asn 3333 --location 52.3,4.9 --tags home)
P2=$(probe --country NL --asn 3333 --location 52.0,5.1)
P3=$(probe --country NL --asn 1136 --location 51.9,4.4)
P4=$(probe --country US --asn 7018 --location 40.7,-74.0)
P5=$(probe --country JP --asn 2497 --location 35.6,139.7 --anchor)
P6=$(probe --country AU --asn 1221 --location -33.8,151.2)
P7=$(probe --country ZA --asn 3741 --location -26.2,28.0)
P8=$(probe --country NL --asn 3333 --location 52.1,5.0)
P9=$(probe --country NL --asn 1136 --location 52.2,5.2)
P10=$(probe --country BR --asn 28573)
t_psql "UPDATE probes SET address_v4 = '192.0.2.10', prefix_v4 = '192.0.2.0/24'
	WHERE id = $P1;
	UPDATE probes SET address_v6 = '2001:db8:1::10', prefix_v6 = '2001:db8:1::/48',
	asn_v6 = 7018, asn_v4 = NULL WHERE id = $P4;
	UPDATE probes SET address_v4 = '10.0.0.5' WHERE id = $P7;
	UPDATE probes SET status = 3 WHERE id = $P10"
connect "$P1" 192.0.2.10
connect "$P3" 198.51.100.3
connect "$P4" 2001:db8:1::10

DEF='{"type": "ping", "af": 4, "target": "192.0.2.53", "description": "sel"}'
# sel SPEC: creates a measurement with one probe spec, runs a pass, prints
# the chosen probe ids in order
sel() {
	local id
	id=$(echo "{\"definitions\": [$DEF], \"probes\": [$1]}" |
		"$BIN/vantage" msm create -) || { echo "create failed"; return; }
	"$BIN/vantage-scheduler" --once 2>/dev/null
	echo "$id" >"$T/last"
	t_psql "SELECT coalesce(string_agg(probe_id::text, ',' ORDER BY probe_id), '-')
		FROM assignments WHERE msm_id = $id AND removed IS NULL"
}
# expect DESC SPEC IDS: the selection of SPEC is exactly IDS
expect() {
	local got
	got=$(sel "$2")
	if [ "$got" = "$3" ]; then t_ok "$1"; else t_notok "$1: got $got, want $3"; fi
}
spec() { # TYPE VALUE REQUESTED [TAGS]
	echo "{\"type\": \"$1\", \"value\": \"$2\", \"requested\": $3${4:+, \"tags\": $4}}"
}

expect "area WW: every probe but the abandoned one" "$(spec area WW 100)" \
	"$P1,$P2,$P3,$P4,$P5,$P6,$P7,$P8,$P9"
expect "area West" "$(spec area West 10)" "$P4"
expect "area North-Central" "$(spec area North-Central 10)" "$P1,$P2,$P3,$P8,$P9"
expect "area South-Central" "$(spec area South-Central 10)" "$P7"
expect "area North-East" "$(spec area North-East 10)" "$P5"
expect "area South-East" "$(spec area South-East 10)" "$P6"
expect "country NL" "$(spec country NL 10)" "$P1,$P2,$P3,$P8,$P9"
expect "country list nl,jp" "$(spec country nl,jp 10)" "$P1,$P2,$P3,$P5,$P8,$P9"
expect "country without probes" "$(spec country FR 10)" "-"
t_check "no probes: status No suitable probes" \
	test "$(t_psql "SELECT status FROM measurements WHERE id = $(cat "$T/last")")" = 6
expect "asn 3333 (asn_v4)" "$(spec asn 3333 10)" "$P1,$P2,$P8"
expect "asn AS7018 (asn_v6)" "$(spec asn AS7018 10)" "$P4"
expect "prefix holding prefix_v4" "$(spec prefix 192.0.0.0/16 10)" "$P1"
expect "prefix holding prefix_v6" "$(spec prefix 2001:db8::/32 10)" "$P4"
expect "prefix holding address_v4" "$(spec prefix 10.0.0.0/8 10)" "$P7"
expect "probes list" "$(spec probes "$P6,$P2" 10)" "$P2,$P6"
expect "probes list: abandoned probe left out" "$(spec probes "$P10,$P2" 10)" "$P2"
NLMSM=$(t_psql "SELECT msm_id FROM participation_requests WHERE type = 'country'
	AND value = 'NL' ORDER BY id LIMIT 1")
expect "msm: the probes of another measurement" "$(spec msm "$NLMSM" 500)" \
	"$P1,$P2,$P3,$P8,$P9"
expect "tags include user tag" "$(spec area WW 10 '{"include": ["home"]}')" "$P1"
expect "tags exclude user tag" \
	"$(spec country NL 10 '{"exclude": ["home"]}')" "$P2,$P3,$P8,$P9"
expect "tags include system-ipv4-works" \
	"$(spec area WW 10 '{"include": ["system-ipv4-works"]}')" "$P1,$P3"
expect "tags include system-ipv6-works" \
	"$(spec area WW 10 '{"include": ["system-ipv6-works"]}')" "$P4"
expect "tags include system-anchor" \
	"$(spec area WW 10 '{"include": ["system-anchor"]}')" "$P5"
expect "tags include system-ipv4-rfc1918" \
	"$(spec area WW 10 '{"include": ["system-ipv4-rfc1918"]}')" "$P7"
expect "tags include two tags (both needed)" \
	"$(spec area WW 10 '{"include": ["home", "system-ipv4-works"]}')" "$P1"
expect "tags exclude system tag" \
	"$(spec country NL 10 '{"exclude": ["system-ipv4-works"]}')" "$P2,$P8,$P9"
expect "connected probes first" "$(spec country NL 2)" "$P1,$P3"
# Among P2, P8 (AS3333) and P9 (AS1136), none connected: two probes spread
# over both ASNs.
expect "spread across ASNs" \
	"$(spec country NL 2 '{"exclude": ["system-ipv4-works"]}')" "$P2,$P9"
expect "spread across countries" \
	"$(spec area WW 3 '{"exclude": ["system-ipv4-works", "system-ipv6-works"]}')" \
	"$P2,$P5,$P6"
t_check "requested is recorded" \
	test "$(t_psql "SELECT probes_requested FROM measurements WHERE id = $(cat "$T/last")")" = 3
t_check "selection is stable: another pass changes nothing" \
	test "$("$BIN/vantage-scheduler" --once 2>&1 | grep -c ' 0 assigned')" = 1
t_done
