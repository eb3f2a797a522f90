#!/bin/bash
# tests/integration/tdig_nsd.sh - evtdig against a real NSD on loopback.
#
# An NSD with its own identity, NSID and a tiny zone listens on 127.0.0.1
# and ::1 on a free port.  `vantage-probe --run 'evtdig ...'` (with the lab
# switch --allow-private and the lab-only -p PORT) must return the same
# id.server / hostname.bind names as dig, over UDP and TCP; A, AAAA, SOA
# and TXT IN queries must decode; a silent UDP server gives
# {"error": {"timeout": N}} after the retries, a closed TCP port gives
# {"error": {"socket": "connect failed: ..."}}; every result line parses as
# JSON with the field names and types of RIPE Atlas dns results.
. "$(dirname "$0")/../lib.sh"

command -v nsd >/dev/null || t_skip "nsd is not installed"
command -v dig >/dev/null || t_skip "dig is not installed"
command -v python3 >/dev/null || t_skip "python3 is not installed"

# vantage-probe when it links evtdig in, else the stand-alone runner.
PROBE=$BIN/vantage-probe
if ! nm "$PROBE" 2>/dev/null | grep -q ' T vt_tdig_start$'; then
	case $BIN in
	*build-asan/bin) PROBE=$TOP/build-asan/tests/tdig_run ;;
	*) PROBE=$TOP/build/tests/tdig_run ;;
	esac
fi
[ -x "$PROBE" ] || t_skip "no runner for evtdig ($PROBE)"
t_log "runner: $PROBE"

t_setup
PORT=$(t_free_port)
SILENT=$(t_free_port)
CLOSED=$(t_free_port)
cat >"$T/nsd.conf" <<CONF
server:
	ip-address: 127.0.0.1
	ip-address: ::1
	port: $PORT
	identity: "site-a.lab.example"
	hide-identity: no
	hide-version: no
	version: "vantage-lab"
	nsid: "ascii_site-a"
	username: ""
	chroot: ""
	zonesdir: "$T"
	pidfile: "$T/nsd.pid"
	database: ""
	zonelistfile: "$T/zone.list"
	xfrdfile: "$T/xfrd.state"
	xfrdir: "$T"
	logfile: "$T/nsd.log"
	server-count: 1
	reuseport: no
remote-control:
	control-enable: no
zone:
	name: lab.example.
	zonefile: lab.example.zone
CONF
cat >"$T/lab.example.zone" <<'ZONE'
$ORIGIN lab.example.
$TTL 300
@    IN SOA ns1.lab.example. hostmaster.lab.example. 2024010101 3600 600 86400 300
@    IN NS   ns1
ns1  IN A    192.0.2.53
www  IN A    192.0.2.80
www  IN AAAA 2001:db8::80
txt  IN TXT  "hello world" "second"
ZONE
nsd -d -c "$T/nsd.conf" >"$T/nsd.out" 2>&1 &
t_bg $!
t_wait 10 dig @127.0.0.1 -p "$PORT" +time=1 +tries=1 id.server CH TXT ||
	{ cat "$T/nsd.out" "$T/nsd.log"; t_notok "nsd starts"; t_done; exit 1; }

# a UDP server that never answers
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
time.sleep(120)' "$SILENT" &
t_bg $!

run() { # OUTFILE CMDLINE [extra runner args]
	out=$1; line=$2; shift 2
	timeout 30 "$PROBE" --run "$line" --allow-private --no-drop "$@" >"$T/$out" 2>"$T/$out.err"
}

# Checks every RESULT line of a file.  Field names and types are those of
# the dns samples of RIPE Atlas (samples/dns.json, dns_chaos.json).
check_json() { # FILE
	python3 - "$1" <<'PY'
import base64, json, struct, sys
TOP = {"id": str, "fw": int, "mver": str, "lts": int, "time": int, "name": str,
       "dst_addr": str, "dst_port": str, "af": int, "src_addr": str,
       "proto": str, "qbuf": str, "result": dict, "error": dict}
RES = {"rt": (int, float), "size": int, "abuf": str, "ID": int, "ANCOUNT": int,
       "QDCOUNT": int, "NSCOUNT": int, "ARCOUNT": int, "answers": list}
n = 0
for raw in open(sys.argv[1]):
    assert raw.startswith("RESULT "), raw
    o = json.loads(raw[7:])
    n += 1
    for k in ("fw", "lts", "time", "af", "proto", "dst_addr", "name"):
        assert k in o, (k, o)
    for k, v in o.items():
        assert k in TOP, ("unexpected field", k)
        assert isinstance(v, TOP[k]) and not isinstance(v, bool), (k, v)
    assert o["proto"] in ("UDP", "TCP")
    assert ("result" in o) != ("error" in o), o
    if "qbuf" in o:
        base64.b64decode(o["qbuf"], validate=True)
    r = o.get("result")
    if r is None:
        continue
    for k, v in r.items():
        assert k in RES, ("unexpected result field", k)
        assert isinstance(v, RES[k]), (k, v)
    ab = base64.b64decode(r["abuf"], validate=True)
    assert len(ab) == r["size"]
    hid, _, qd, an, ns, ar = struct.unpack(">6H", ab[:12])
    assert (hid, qd, an, ns, ar) == (r["ID"], r["QDCOUNT"], r["ANCOUNT"],
                                     r["NSCOUNT"], r["ARCOUNT"]), r
    for a in r.get("answers", []):
        assert isinstance(a["TYPE"], str) and isinstance(a["NAME"], str)
        if a["TYPE"] == "TXT":
            assert set(a) == {"TYPE", "NAME", "RDATA"}, a
            assert all(isinstance(x, str) for x in a["RDATA"]), a
        else:
            assert a["TYPE"] == "SOA", a
            assert set(a) == {"TYPE", "NAME", "MNAME", "RNAME", "SERIAL", "TTL"}, a
            assert isinstance(a["SERIAL"], int) and isinstance(a["TTL"], int)
assert n > 0, "no RESULT line"
PY
}

# jq-free field access: py_get FILE EXPR (o is the first result object)
py_get() {
	python3 -c 'import json,sys
o = json.loads(open(sys.argv[1]).readline()[7:])
print(eval(sys.argv[2]))' "$1" "$2"
}

same() { [ -n "$1" ] && [ "$1" = "$2" ]; }

dig_txt() { # SERVER NAME [+tcp]
	dig @"$1" -p "$PORT" "$2" CH TXT +short $3 | tr -d '"'
}

# CHAOS names, UDP and TCP, IPv4 and IPv6, against dig
for af in 4 6; do
	[ $af = 4 ] && srv=127.0.0.1 || srv=::1
	for q in i h; do
		[ $q = i ] && qn=id.server || qn=hostname.bind
		for tr in "" "-t"; do
			f=chaos_${af}_${q}${tr}
			want=$(dig_txt "$srv" "$qn" "${tr:+ +tcp}")
			if run "$f" "evtdig -$af $tr -$q -p $PORT -A 1001 $srv"; then
				got=$(py_get "$T/$f" 'o["result"]["answers"][0]["RDATA"][0]')
				name=$(py_get "$T/$f" 'o["result"]["answers"][0]["NAME"]')
				proto=$(py_get "$T/$f" 'o["proto"]')
				t_check "evtdig -$af $tr -$q: '$got' == dig '$want'" same "$want" "$got"
				t_check "evtdig -$af $tr -$q: NAME $name" [ "$name" = "$qn" ]
				t_check "evtdig -$af $tr -$q: proto $proto" [ "$proto" = "$([ -n "$tr" ] && echo TCP || echo UDP)" ]
				t_check "evtdig -$af $tr -$q: JSON shape" check_json "$T/$f"
			else
				t_notok "evtdig -$af $tr -$q runs"; cat "$T/$f.err"
			fi
		done
	done
done

# IN queries
if run in_a "evtdig -4 --a www.lab.example. -p $PORT -A 2 127.0.0.1"; then
	t_check "A www: one answer, NOERROR" [ "$(py_get "$T/in_a" 'o["result"]["ANCOUNT"]')" = 1 ]
	t_check "A www: abuf holds 192.0.2.80" python3 -c 'import base64,json,sys
o = json.loads(open(sys.argv[1]).readline()[7:])
sys.exit(0 if bytes([192,0,2,80]) in base64.b64decode(o["result"]["abuf"]) else 1)' "$T/in_a"
	t_check "A: no decoded answers" [ "$(py_get "$T/in_a" '"answers" in o["result"]')" = False ]
	t_check "A: JSON shape" check_json "$T/in_a"
else t_notok "evtdig --a runs"; fi
if run in_aaaa "evtdig -6 -t --aaaa www.lab.example. -p $PORT -A 2 ::1"; then
	t_check "AAAA www over TCP/IPv6: one answer" [ "$(py_get "$T/in_aaaa" 'o["result"]["ANCOUNT"]')" = 1 ]
	t_check "AAAA: JSON shape" check_json "$T/in_aaaa"
else t_notok "evtdig --aaaa runs"; fi
if run in_soa "evtdig -4 --soa lab.example. -p $PORT -A 3 127.0.0.1"; then
	t_check "SOA decoded" [ "$(py_get "$T/in_soa" '[o["result"]["answers"][0][k] for k in ("NAME","MNAME","RNAME","SERIAL","TTL")]')" = "['lab.example.', 'ns1.lab.example.', 'hostmaster.lab.example.', 2024010101, 300]" ]
	t_check "SOA: JSON shape" check_json "$T/in_soa"
else t_notok "evtdig --soa runs"; fi
if run in_txt "evtdig -4 -t -e 4096 -d -n -q --txt txt.lab.example. -p $PORT -A 4 127.0.0.1"; then
	t_check "TXT strings decoded" [ "$(py_get "$T/in_txt" 'o["result"]["answers"][0]["RDATA"]')" = "['hello world', 'second']" ]
	t_check "TXT: qbuf present" [ "$(py_get "$T/in_txt" '"qbuf" in o')" = True ]
	t_check "TXT: NSID in the reply" python3 -c 'import base64,json,sys
o = json.loads(open(sys.argv[1]).readline()[7:])
sys.exit(0 if b"site-a" in base64.b64decode(o["result"]["abuf"]) else 1)' "$T/in_txt"
	t_check "TXT: JSON shape" check_json "$T/in_txt"
else t_notok "evtdig --txt runs"; fi
# the default query is CHAOS TXT hostname.bind
if run deflt "evtdig -4 -p $PORT -A 5 127.0.0.1"; then
	t_check "default query is hostname.bind" [ "$(py_get "$T/deflt" 'o["result"]["answers"][0]["NAME"]')" = hostname.bind ]
else t_notok "evtdig default runs"; fi

# error shapes
if run silent "evtdig -4 -i --timeout 300 --retry 2 -p $SILENT -A 6 127.0.0.1"; then
	t_check "silent server: error timeout 300" [ "$(py_get "$T/silent" 'o["error"]')" = "{'timeout': 300}" ]
	t_check "silent server: JSON shape" check_json "$T/silent"
else t_notok "evtdig to a silent server runs"; fi
if run closed "evtdig -4 -t -i -p $CLOSED -A 7 127.0.0.1"; then
	t_check "closed TCP port: connect failed" python3 -c 'import json,sys
o = json.loads(open(sys.argv[1]).readline()[7:])
sys.exit(0 if o["error"]["socket"].startswith("connect failed") else 1)' "$T/closed"
	t_check "closed TCP port: JSON shape" check_json "$T/closed"
else t_notok "evtdig to a closed port runs"; fi

# many at once on one loop: 20 queries to the silent server and 20 to NSD
if run many "evtdig -4 -i --timeout 500 -p $SILENT -A 8 127.0.0.1" --count 20 &&
   run many2 "evtdig -4 -t -i -p $PORT -A 8 127.0.0.1" --count 20; then
	t_check "20 concurrent timeouts" [ "$(grep -c '"timeout":500' "$T/many")" = 20 ]
	t_check "20 concurrent TCP answers" [ "$(grep -c 'site-a.lab.example' "$T/many2")" = 20 ]
else t_notok "evtdig --count 20 runs"; fi

# the address policy: loopback refused without the lab switch
timeout 30 "$PROBE" --run "evtdig -4 -i -p $PORT -A 9 127.0.0.1" --no-drop >"$T/policy" 2>&1
t_check "loopback refused without --allow-private" grep -q 'address not allowed' "$T/policy"

t_done
