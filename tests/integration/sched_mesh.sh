#!/bin/bash
# sched_mesh: anchor mesh measurements grow when anchors join and shrink
# when one leaves.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/helpers/sched_lib.sh"
t_setup
[ -x "$BIN/vantage-scheduler" ] || t_skip "bin/vantage-scheduler not built"
t_pg_start || t_skip "no PostgreSQL"

V="$BIN/vantage"
S="$BIN/vantage-scheduler"
anchor() { # ADDRESS_V4
	local id
	id=$(sched_probe --anchor --virtual --country NL) || return 1
	t_psql "UPDATE probes SET address_v4 = '$1' WHERE id = $id"
	echo "$id"
}
is() { if [ "$2" = "$3" ]; then t_ok "$1"; else t_notok "$1: got '$2', want '$3'"; fi; }
pass() { "$S" --once 2>>"$T/sched.log"; }
# mesh TARGET_PROBE: "type:runners type:runners" of its live meshes
mesh() {
	t_psql "SELECT string_agg(m.type || ':' || coalesce((SELECT string_agg(
		a.probe_id::text, ',' ORDER BY a.probe_id) FROM assignments a
		WHERE a.msm_id = m.id AND a.removed IS NULL), '-'), ' ' ORDER BY m.type)
		FROM measurements m WHERE m.mesh_anchor = $1 AND m.status IN (0, 1, 2)"
}

X=$(anchor 192.0.2.100)
pass
is "a lone anchor: its meshes wait for runners" "$(mesh "$X")" "ping:- traceroute:-"
Y=$(anchor 192.0.2.101)
pass
is "X measured by Y" "$(mesh "$X")" "ping:$Y traceroute:$Y"
is "Y measured by X" "$(mesh "$Y")" "ping:$X traceroute:$X"
is "mesh measurements are Ongoing" \
	"$(t_psql "SELECT string_agg(DISTINCT status::text, ',') FROM measurements
		WHERE mesh_anchor IN ($X, $Y)")" 2
MY=$(t_psql "SELECT id FROM measurements WHERE mesh_anchor = $Y AND type = 'ping'")
t_check "X's crontab pings Y's address" sh -c \
	"'$S' --batch $X | grep -q 'UNIFORM 120 evping -4 .* -A $MY .* 192.0.2.101\$'"
t_check "X's crontab traceroutes Y" sh -c \
	"'$S' --batch $X | grep -q 'CRONLINE 900 .* evtraceroute -4 -I .* 192.0.2.101\$'"
t_check "mesh carries the system tags of anchors" \
	test "$(t_psql "SELECT system_tags @> '{system-anchor,system-virtual}' FROM probes WHERE id = $X")" = t
Z=$(anchor 192.0.2.102)
pass
is "Z joins: X measured by Y and Z" "$(mesh "$X")" "ping:$Y,$Z traceroute:$Y,$Z"
is "Z measured by X and Y" "$(mesh "$Z")" "ping:$X,$Y traceroute:$X,$Y"
is "six mesh measurements" \
	"$(t_psql "SELECT count(*) FROM measurements WHERE mesh_anchor IS NOT NULL")" 6
pass
is "another pass creates nothing" \
	"$(t_psql "SELECT count(*) FROM measurements WHERE mesh_anchor IS NOT NULL")" 6
t_psql "UPDATE probes SET is_anchor = false WHERE id = $Z"
pass
is "Z leaves: its meshes stop" \
	"$(t_psql "SELECT string_agg(DISTINCT status::text, ',') FROM measurements
		WHERE mesh_anchor = $Z")" 4
is "Z leaves the other meshes" "$(mesh "$X")" "ping:$Y traceroute:$Y"
"$S" --batch "$Z" >"$T/bz" && "$S" --batch "$Y" >"$T/by" || t_notok "batch"
t_check "Z's crontab has no mesh lines" sh -c "grep -q CRONTAB '$T/bz' && ! grep -q CRONLINE '$T/bz'"
t_check "Y no longer measures Z" sh -c "grep -q CRONLINE '$T/by' && ! grep -q 192.0.2.102 '$T/by'"
t_done
