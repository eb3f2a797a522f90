#!/bin/bash
# measure_loopback.sh - evping and evtraceroute against 127.0.0.1 and ::1
# through `vantage-probe --run` (the measure_run helper), checked against
# the field names and types of the modern samples.  Needs root or
# CAP_NET_RAW (skipped otherwise).
. "$(dirname "$0")/../lib.sh"
t_setup
RUN=${MEASURE_RUN:-$TOP/build/tests/measure_run}
SAMPLES=${VANTAGE_SAMPLES:-$TOP/../shared/samples}
[ -x "$RUN" ] || t_skip "no $RUN (make tests)"
[ "$(id -u)" = 0 ] || t_skip "raw sockets need root"
command -v python3 >/dev/null || t_skip "no python3"
[ -f "$SAMPLES/ping.json" ] || SAMPLES=/work/shared/samples

# run NAME ARGS...: one measurement, its RESULT line's JSON in $T/NAME.json
run() {
	local name=$1; shift
	timeout 60 "$RUN" "$@" >"$T/$name.out" 2>"$T/$name.err"
	echo $? >"$T/$name.rc"
	sed -n 's/^RESULT //p' "$T/$name.out" >"$T/$name.json"
}

# pyq NAME EXPR: python expression over r (the result) is true
pyq() {
	python3 - "$T/$1.json" "$2" <<'PY'
import json, sys
lines = [l for l in open(sys.argv[1]) if l.strip()]
rs = [json.loads(l) for l in lines]
r = rs[0] if rs else {}
sys.exit(0 if eval(sys.argv[2]) else 1)
PY
}

# Same names and JSON types as the modern (fw >= 5000) samples of a type,
# leaving out what the controller adds.
types_match() { # NAME SAMPLE
	python3 - "$T/$1.json" "$SAMPLES/$2.json" <<'PY'
import json, sys
r = json.loads(open(sys.argv[1]).readline())
added = {"msm_id", "prb_id", "timestamp", "type", "msm_name", "from",
         "group_id", "step", "stored_timestamp", "min", "avg", "max"}
def kind(v):
    if isinstance(v, bool): return "bool"
    if isinstance(v, (int, float)): return "number"
    return type(v).__name__
bad = []
for s in json.load(open(sys.argv[2])):
    if s.get("fw", 0) < 4900: continue
    for k, v in s.items():
        if k in added or v is None: continue
        if k not in r: bad.append("missing " + k); continue
        if kind(r[k]) != kind(v): bad.append("type of " + k)
if not isinstance(r.get("id"), str): bad.append("id")
if not isinstance(r.get("time"), int): bad.append("time")
if bad: print("# " + ", ".join(sorted(set(bad))))
sys.exit(1 if bad else 0)
PY
}

# ---- evping ----
run p4 --run 'evping -4 -c 3 -s 48 -i 200 -A 1001 127.0.0.1' --allow-private
t_check "evping 127.0.0.1 exits 0" test "$(cat $T/p4.rc)" = 0
t_check "evping 127.0.0.1: 3 replies with rtt" pyq p4 \
	'len(r["result"]) == 3 and all("rtt" in x and x["rtt"] >= 0 for x in r["result"]) and r["rcvd"] == 3 and r["sent"] == 3'
t_check "evping 127.0.0.1: header fields" pyq p4 \
	'r["id"] == "1001" and r["af"] == 4 and r["proto"] == "ICMP" and r["dst_addr"] == "127.0.0.1" and r["size"] == 48 and r["ttl"] == 64 and r["lts"] == -1 and "ttr" not in r'
t_check "evping fields and types match the modern ping sample" types_match p4 ping

run p6 --run 'evping -6 -c 4 -s 100 -i 100 -A 1002 ::1' --allow-private
t_check "evping ::1: 4 replies" pyq p6 \
	'r["af"] == 6 and r["dst_addr"] == "::1" and len(r["result"]) == 4 and all("rtt" in x for x in r["result"])'
t_check "evping ::1 fields and types match the sample" types_match p6 ping

run pn --run 'evping -4 -c 2 -i 100 -A 1003 localhost' --allow-private
t_check "evping by name: ttr and dst_name" pyq pn \
	'r["dst_name"] == "localhost" and isinstance(r["ttr"], float) and r["dst_addr"] == "127.0.0.1" and r["rcvd"] == 2'

run pr --run 'evping -4 -c 3 -A 1004 127.0.0.1'
t_check "refused target: exit 0 (a result was produced)" test "$(cat $T/pr.rc)" = 0
t_check "refused target: address not allowed" pyq pr \
	'r["result"] == [{"error": "address not allowed"}] and r["sent"] == 0 and "ttl" not in r'
run pr6 --run 'evping -6 -c 3 -A 1004 fd00::1'
t_check "refused ULA target" pyq pr6 'r["result"] == [{"error": "address not allowed"}]'

run pu --run 'evping -4 -c 2 -A 1005 no-such-host.invalid' --dns 127.0.0.1:1
t_check "unresolvable name: error, no result" pyq pu \
	'r["error"].startswith("name resolution failed") and "result" not in r and r["dst_name"] == "no-such-host.invalid"'

run pm --run 'evping -4 -c 3 -i 100 -A 1006 127.0.0.1' --allow-private --count 40
t_check "40 pings at once: 40 results" pyq pm 'len(rs) == 40'
t_check "40 pings at once: every one got 3 replies, no dups" pyq pm \
	'all(x["rcvd"] == 3 and x["dup"] == 0 for x in rs)'

# ---- evtraceroute ----
for af in 4 6; do
	if [ $af = 4 ]; then dst=127.0.0.1; else dst=::1; fi
	for p in I U T; do
		n=t$af$p
		run $n --run "evtraceroute -$af -$p -c 3 -w 500 -A 5001 $dst" --allow-private
		t_check "evtraceroute -$af -$p $dst reaches it in hop 1" pyq $n \
			"len(r['result']) == 1 and r['result'][0]['hop'] == 1 and all(x.get('from') == '$dst' and 'rtt' in x for x in r['result'][0]['result']) and len(r['result'][0]['result']) == 3"
		t_check "evtraceroute -$af -$p fields and types match the sample" \
			types_match $n traceroute
	done
done
t_check "evtraceroute proto names" pyq t4U 'r["proto"] == "UDP"'
t_check "evtraceroute TCP reply flags" pyq t4T \
	'all(x["flags"] in ("RA", "SA") for x in r["result"][0]["result"])'
t_check "paris_id in 1..16" pyq t4I '1 <= r["paris_id"] <= 16'

run tf --run 'evtraceroute -4 -I -f 3 -m 5 -A 5002 127.0.0.1' --allow-private
t_check "first hop is -f" pyq tf 'r["result"][0]["hop"] == 3'

run tr --run 'evtraceroute -4 -U -A 5003 10.9.9.9'
t_check "refused traceroute target: hop-level error" pyq tr \
	'r["result"] == [{"error": "address not allowed", "hop": 1}]'

run tm --run 'evtraceroute -6 -U -c 2 -w 300 -A 5004 ::1' --allow-private --count 20
t_check "20 traceroutes at once all reach ::1" pyq tm \
	'len(rs) == 20 and all(len(x["result"][0]["result"]) == 2 and all("rtt" in y for y in x["result"][0]["result"]) for x in rs)'

run bad --run 'evping -4 -c nope -A 1 127.0.0.1' --allow-private
t_check "a bad command line exits 2 without a result" \
	test "$(cat $T/bad.rc)" = 2 -a ! -s "$T/bad.json"

t_done
