#!/bin/bash
# sched_lifecycle: measurement status life cycle, stop, one-offs,
# participation requests, probes connecting or abandoned, system tags, and
# the crontab batch the gateway pushes (vantage-scheduler --batch).
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/helpers/sched_lib.sh"
t_setup
[ -x "$BIN/vantage-scheduler" ] || t_skip "bin/vantage-scheduler not built"
t_pg_start || t_skip "no PostgreSQL"

V="$BIN/vantage"
S="$BIN/vantage-scheduler"
probe() { sched_probe "$@"; }
status() { t_psql "SELECT status FROM measurements WHERE id = $1"; }
assigned() {
	t_psql "SELECT coalesce(string_agg(probe_id::text, ',' ORDER BY probe_id), '-')
		FROM assignments WHERE msm_id = $1 AND removed IS NULL"
}
is() { # DESC GOT WANT
	if [ "$2" = "$3" ]; then t_ok "$1"; else t_notok "$1: got '$2', want '$3'"; fi
}
pass() { "$S" --once ${1:+--now "$1"} 2>>"$T/sched.log"; }
batch() { "$S" --batch "$1" ${2:+--now "$2"} $3; }
NOW=$(date +%s)

A=$(probe --country NL --asn 3333)
B=$(probe --country NL --asn 1136)
t_psql "INSERT INTO probe_sessions (probe_id, session_id, remote_port, from_addr,
	connected) VALUES ($A, 'aa', 2000, '192.0.2.10', true)"

# --- system tags, kept by triggers on probes and probe_sessions ---
tags() { t_psql "SELECT array_to_string(system_tags, ',') FROM probes WHERE id = $1"; }
is "connected over IPv4: capable and works" "$(tags "$A")" \
	"system-ipv4-capable,system-ipv4-works"
t_psql "UPDATE probes SET address_v4 = '10.1.1.1', address_v6 = '2001:db8::a'
	WHERE id = $A"
is "own address differs from the session's: rfc1918, v6 capable" "$(tags "$A")" \
	"system-ipv4-capable,system-ipv4-rfc1918,system-ipv4-works,system-ipv6-capable"
t_psql "UPDATE probe_sessions SET from_addr = '2001:db8::a' WHERE probe_id = $A"
is "session moves to IPv6: v6 works, v4 no longer" "$(tags "$A")" \
	"system-ipv4-capable,system-ipv4-rfc1918,system-ipv6-capable,system-ipv6-works"
t_psql "UPDATE probes SET address_v4 = '192.0.2.10', address_v6 = NULL,
	system_tags = '{system-resolves-a-correctly,system-anchor}' WHERE id = $A;
	UPDATE probe_sessions SET from_addr = '192.0.2.10' WHERE probe_id = $A"
is "other system tags kept, wrong ones corrected" "$(tags "$A")" \
	"system-ipv4-capable,system-ipv4-works,system-resolves-a-correctly"
is "vantage probe tags" "$("$V" probe tags "$A" --add lab,rack-1 --remove x)" \
	"lab,rack-1,system-ipv4-capable,system-ipv4-works,system-resolves-a-correctly"
is "vantage probe tags --remove" "$("$V" probe tags "$A" --remove rack-1 | cut -d, -f1-2)" \
	"lab,system-ipv4-capable"

# --- periodic: Specified -> Scheduled -> Ongoing -> Stopped ---
cat >"$T/m1.json" <<EOF
{"definitions": [{"type": "ping", "af": 4, "target": "192.0.2.53",
  "description": "life", "interval": 300, "spread": 30}],
 "probes": [{"type": "probes", "value": "$A", "requested": 1}],
 "start_time": $((NOW + 1000)), "stop_time": $((NOW + 2000))}
EOF
M1=$("$V" msm create "$T/m1.json")
t_check "msm create prints one id" test -n "$M1"
is "new measurement is Specified" "$(status "$M1")" 0
pass "$NOW"
is "probes chosen, start ahead: Scheduled" "$(status "$M1")" 1
is "assignment recorded" "$(assigned "$M1")" "$A"
LINE="CRONLINE 300 $((NOW + 1000)) $((NOW + 2000)) UNIFORM 30 evping -4 -c 3 -s 48 -i 1000 -A $M1 -O /home/atlas/data/new/2 192.0.2.53"
batch "$A" "$NOW" >"$T/b1"
is "batch starts with the crontab" "$(head -1 "$T/b1")" "CRONTAB /home/atlas/crons/7"
t_check "batch holds the measurement's crontab line" grep -qxF "$LINE" "$T/b1"
is "batch ends with an empty line" "$(tail -c 2 "$T/b1" | od -An -c | tr -d ' ')" '\n\n'
is "other probe's crontab is empty" "$(batch "$B" "$NOW")" "CRONTAB /home/atlas/crons/7"
pass "$((NOW + 1000))"
is "start time passed: Ongoing" "$(status "$M1")" 2
pass "$((NOW + 2000))"
is "stop time passed: Stopped" "$(status "$M1")" 4
# absent LINE BATCHFILE: the batch was made and lacks the measurement
absent() { grep -q '^CRONTAB' "$2" && ! grep -q -- "-A $1 " "$2"; }
batch "$A" "$((NOW + 2000))" >"$T/b2"
t_check "stopped measurement leaves the crontab" absent "$M1" "$T/b2"
t_check "msm show names the status" sh -c \
	"'$V' msm show $M1 | grep -q '\"status\": {\"name\": \"Stopped\", \"id\": 4'"

# --- vantage msm stop, and the NOTIFY the gateway listens to ---
M2=$(echo "{\"definitions\": [{\"type\": \"traceroute\", \"af\": 4,
  \"target\": \"192.0.2.53\", \"description\": \"stop me\", \"protocol\": \"ICMP\"}],
  \"probes\": [{\"type\": \"country\", \"value\": \"NL\", \"requested\": 2}]}" | "$V" msm create -)
pass
is "no start time: Ongoing at once" "$(status "$M2")" 2
t_check "line present before the stop" sh -c "'$S' --batch $B | grep -q -- '-A $M2 '"
psql "$VANTAGE_DB" -qtAX -c "LISTEN vantage_crontab" -c "SELECT pg_sleep(2)" \
	>"$T/notify" 2>&1 &
t_bg $!
sleep 0.5
"$V" msm stop "$M2"
wait
is "msm stop: Stopped" "$(status "$M2")" 4
t_check "msm stop NOTIFYs vantage_crontab with the probes" \
	grep -q "vantage_crontab\" with payload \"$B\"" "$T/notify"
batch "$B" >"$T/b3"
t_check "msm stop removes the line" absent "$M2" "$T/b3"
t_check "msm stop of an unknown id fails" sh -c "'$V' msm stop 999 2>/dev/null; test \$? = 1"

# --- No suitable probes ---
M3=$(echo '{"definitions": [{"type": "ping", "af": 4, "target": "192.0.2.53",
  "description": "none"}], "probes": [{"type": "country", "value": "FR",
  "requested": 1}]}' | "$V" msm create -)
pass
is "nothing matches: No suitable probes" "$(status "$M3")" 6
# The status is final (RIPE Atlas): a matching probe that comes later, a
# connected one, further passes, a participation request or a stop change
# nothing.
F=$(probe --country FR --asn 2200)
t_psql "INSERT INTO probe_sessions (probe_id, session_id, remote_port, from_addr,
	connected) VALUES ($F, 'ff', 2001, '192.0.2.20', true)"
pass
pass "$((NOW + 100000))"
is "a matching probe later: still No suitable probes" "$(status "$M3")" 6
is "and nothing assigned" "$(assigned "$M3")" "-"
batch "$F" >"$T/bf"
t_check "its crontab lacks the measurement" absent "$M3" "$T/bf"
echo "{\"type\": \"probes\", \"value\": \"$F\", \"requested\": 1}" >"$T/addf.json"
t_check "participate --add on it fails" \
	sh -c "'$V' msm participate $M3 --add '$T/addf.json' 2>'$T/perr'; test \$? = 1"
t_check "saying why" grep -q "No suitable probes" "$T/perr"
is "no request stored" "$(t_psql "SELECT count(*) FROM participation_requests WHERE msm_id = $M3")" 1
"$V" msm stop "$M3"
pass
is "msm stop leaves it No suitable probes" "$(status "$M3")" 6
t_psql "UPDATE probe_sessions SET connected = false WHERE probe_id = $F;
	UPDATE probes SET status = 3 WHERE id = $F"

# --- one-offs: offered until acknowledged ---
M4=$(echo "{\"definitions\": [{\"type\": \"dns\", \"af\": 4, \"target\": \"192.0.2.53\",
  \"description\": \"once\", \"query_class\": \"CHAOS\", \"query_type\": \"TXT\",
  \"query_argument\": \"id.server\"}], \"is_oneoff\": true,
  \"probes\": [{\"type\": \"probes\", \"value\": \"$A,$B\", \"requested\": 2}]}" |
  "$V" msm create -)
pass
is "one-off: Ongoing" "$(status "$M4")" 2
ONE="ONEOFF /home/atlas/crons/oneoff evtdig -4 --retry 0 --timeout 5000 -i -A $M4 -O /home/atlas/data/new/2 192.0.2.53"
t_check "one-off in the batch" sh -c "'$S' --batch $A --now 100 | grep -qxF '$ONE'"
t_check "not acknowledged: offered again" \
	sh -c "'$S' --batch $A --now 101 --ack | grep -qxF '$ONE'"
batch "$A" 102 >"$T/b4"
t_check "acknowledged: not sent again" sh -c "grep -q CRONTAB '$T/b4' && ! grep -q ONEOFF '$T/b4'"
is "one-off never in the crontab" "$(batch "$A" | grep -c -- "CRONLINE.*-A $M4 ")" 0
pass
is "one-off waits for every probe" "$(status "$M4")" 2
batch "$B" 200 --ack >/dev/null
pass
is "one-off delivered everywhere, no result yet: still Ongoing" "$(status "$M4")" 2
t_psql "INSERT INTO latest (msm_id, prb_id, ts, result) VALUES
	($M4, $A, $NOW, '{}'), ($M4, $B, $NOW, '{}')"
pass
is "one-off delivered everywhere and its results stored: Stopped" "$(status "$M4")" 4

# --- participation requests ---
M5=$(echo "{\"definitions\": [{\"type\": \"ping\", \"af\": 4, \"target\": \"192.0.2.53\",
  \"description\": \"part\"}],
  \"probes\": [{\"type\": \"probes\", \"value\": \"$A\", \"requested\": 1}]}" | "$V" msm create -)
pass
is "participation: starts with A" "$(assigned "$M5")" "$A"
echo "{\"type\": \"probes\", \"value\": \"$B\", \"requested\": 1}" >"$T/add.json"
t_check "participate --add prints a request id" sh -c "'$V' msm participate $M5 --add '$T/add.json' | grep -qE '^[0-9]+$'"
pass
is "participation add: A and B" "$(assigned "$M5")" "$A,$B"
t_check "added probe gets the line" sh -c "'$S' --batch $B | grep -q -- '-A $M5 '"
"$V" msm participate "$M5" --remove "$A" >/dev/null
pass
is "participation remove: B only" "$(assigned "$M5")" "$B"
batch "$A" >"$T/b5"
t_check "removed probe loses the line" absent "$M5" "$T/b5"
pass
is "removed probe is not chosen again" "$(assigned "$M5")" "$B"
t_check "participate on an unknown measurement fails" \
	sh -c "'$V' msm participate 999 --remove 1 2>/dev/null; test \$? = 1"

# --- probes connecting, probes abandoned ---
M6=$(echo '{"definitions": [{"type": "ping", "af": 4, "target": "192.0.2.53",
  "description": "grow"}], "probes": [{"type": "country", "value": "NL",
  "requested": 3}]}' | "$V" msm create -)
pass
is "short of requested: the two NL probes" "$(assigned "$M6")" "$A,$B"
C=$(probe --country NL --asn 1103)
pass
is "a new probe fills the measurement" "$(assigned "$M6")" "$A,$B,$C"
t_psql "UPDATE probes SET status = 3 WHERE id = $B"
pass
is "abandoned probe leaves" "$(assigned "$M6")" "$A,$C"
D=$(probe --country NL --asn 1200)
pass
is "and is replaced by the next one" "$(assigned "$M6")" "$A,$C,$D"

# --- list ---
t_check "msm list shows every measurement" \
	test "$("$V" msm list | tail -n +2 | wc -l)" = 6
t_check "bad request names the field" sh -c \
	"echo '{\"definitions\": [{\"type\": \"ping\", \"af\": 4, \"description\": \"x\"}],
	 \"probes\": [{\"type\": \"area\", \"value\": \"WW\", \"requested\": 1}]}' |
	 '$V' msm create - 2>&1 | grep -q 'definitions\[0\].target: required for ping'"
t_done
