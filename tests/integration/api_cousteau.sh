#!/bin/bash
# tests/integration/api_cousteau.sh - Debian's Cousteau (RIPE Atlas's own
# client library) against vantage-api over HTTPS on loopback: results (as
# stored, in time order), latest, measurement objects, the measurement list
# with filters across pages, probe lists with tags, country, asn, radius
# and prefix filters, probes, anchors, create (ping, traceroute, DNS CHAOS
# id.server), stop, participation add and remove, tags, with and without
# keys (tests/integration/api_cousteau.py does the client side).
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/helpers/sched_lib.sh"
. "$TOP/tests/helpers/api_lib.sh"

/usr/bin/python3 -c 'import ripe.atlas.cousteau' 2>/dev/null ||
	t_skip "python3-ripe-atlas-cousteau is not installed"
command -v openssl >/dev/null || t_skip "openssl is not installed"
t_setup
t_pg_start || { t_notok "PostgreSQL starts"; t_done; exit 1; }

# --- probes: two in the Netherlands, an anchor in Germany, one in the US ---
P1=$(sched_probe --country NL --asn 64496 --location 52.37,4.89 --tags home,fiber)
P2=$(sched_probe --country NL --asn 64497 --location 52.09,5.12 --tags home)
P3=$(sched_probe --country DE --asn 64496 --location 50.11,8.68 --anchor --tags fiber)
P4=$(sched_probe --country US --asn 64500 --location 40.71,-74.0)
t_psql "UPDATE probes SET address_v4 = '192.0.2.10', prefix_v4 = '192.0.2.0/24'
        WHERE id = $P4; UPDATE probes SET status = 1, status_since = now() WHERE id = $P1" >/dev/null
sched_connect "$P1" 198.51.100.7 >/dev/null
for p in $P1 $P2 $P3 $P4; do sched_probe --country FR >/dev/null; done

KEY_ALL=$("$BIN/vantage" key add --label researcher --grant results,create,stop,tags,participation)
KEY_NONE=$("$BIN/vantage" key add --label nobody)
KEY_CREATE=$("$BIN/vantage" key add --label creator --grant create)
t_check "vantage key add prints a key" test ${#KEY_ALL} = 36
t_check "the database keeps only its hash" \
	test "$(t_psql "SELECT count(*) FROM api_keys WHERE key_hash::text LIKE '%$KEY_ALL%'
	                OR label LIKE '%$KEY_ALL%'")" = 0
t_check "vantage key list shows labels and grants" \
	sh -c "'$BIN/vantage' key list | grep -q 'creator.*create'"

# --- measurements: one with results, a private one, several to list ---
body() { # DESCRIPTION IS_PUBLIC
	printf '{"definitions": [{"type": "ping", "af": 4, "target": "192.0.2.53",
	  "description": "%s", "is_public": %s, "tags": ["api-test"]}],
	  "probes": [{"type": "probes", "value": "%s,%s", "requested": 2}]}' \
	  "$1" "$2" "$P1" "$P2"
}
body "listed ping" true >"$T/ping.json"
PING=$("$BIN/vantage" msm create "$T/ping.json")
body "private ping" false >"$T/priv.json"
PRIV=$("$BIN/vantage" msm create "$T/priv.json")
for i in 1 2 3 4 5 6; do
	body "listed ping $i" true >"$T/m$i.json"
	"$BIN/vantage" msm create "$T/m$i.json" >/dev/null
done
printf '{"definitions": [{"type": "dns", "af": 6, "target": "2001:db8::53",
  "description": "listed dns", "query_class": "IN", "query_type": "A",
  "query_argument": "example.net"}], "probes": [{"type": "area", "value": "WW",
  "requested": 1}]}' >"$T/dns.json"
"$BIN/vantage" msm create "$T/dns.json" >/dev/null
t_psql "UPDATE measurements SET status = 2 WHERE id IN ($PING, $PRIV)
        OR id % 2 = 0" >/dev/null
t_check "measurements made ($PING, $PRIV, ...)" test -n "$PING" -a -n "$PRIV"

# --- results through the real worker: 3 probes, 20 rounds, some ties ---
# (the probes are assigned, as the scheduler would have done)
t_psql "INSERT INTO assignments (msm_id, probe_id) SELECT m, p FROM
        unnest(ARRAY[$PING, $PRIV]) m, unnest(ARRAY[$P1, $P2, $P3]) p" >/dev/null
now=$(date +%s)
lines=""
for k in $(seq 0 19); do
	t=$((now - 7200 + k * 240))
	for p in $P1 $P2 $P3; do
		tt=$t; [ "$p" = "$P3" ] && tt=$((t + k % 2))
		lines="$lines($p, '{\"id\":\"$PING\",\"fw\":5120,\"time\":$tt,\"af\":4,\"dst_addr\":\"192.0.2.53\",\"src_addr\":\"10.0.0.$k\",\"proto\":\"ICMP\",\"size\":48,\"result\":[{\"rtt\":$k.5}]}'),"
		lines="$lines($p, '{\"id\":\"$PRIV\",\"fw\":5120,\"time\":$tt,\"result\":[{\"rtt\":1.5}]}'),"
	done
done
t_psql "INSERT INTO result_queue (probe_id, session_id, from_addr, line)
        SELECT v.p, 's', '198.51.100.7', v.l FROM (VALUES ${lines%,}) v(p, l)" >/dev/null
"$BIN/vantage-worker" --once >"$T/worker.log" 2>&1
t_check "120 results stored by the worker" \
	test "$(t_psql 'SELECT count(*) FROM results')" = 120
mkdir -p "$T/expect"
"$BIN/vantage" results "$PING" >"$T/expect/all"
"$BIN/vantage" results "$PRIV" >"$T/expect/priv"
t_psql "SELECT result FROM latest WHERE msm_id = $PING ORDER BY prb_id" >"$T/expect/latest"

api_start
t_check "vantage-api answers over HTTP and HTTPS" test -n "$API_HTTPS"

# The same stream through the API with the CLI (libcurl): byte for byte.
VANTAGE_API_CA="$T/cert.pem" "$BIN/vantage" results "$PING" --api "$API_HTTPS" >"$T/via-api"
t_check "vantage results --api (HTTPS) is byte for byte the database's" \
	cmp -s "$T/via-api" "$T/expect/all"
VANTAGE_API_URL=$API_HTTP "$BIN/vantage" latest "$PING" | sort >"$T/latest-api"
sort "$T/expect/latest" >"$T/latest-db"
t_check "vantage latest (VANTAGE_API_URL) prints the newest per probe" \
	cmp -s "$T/latest-api" "$T/latest-db"
t_check "vantage results --api refuses a private measurement without a key" \
	sh -c "! VANTAGE_API_CA='$T/cert.pem' '$BIN/vantage' results $PRIV --api '$API_HTTPS' 2>'$T/err' && grep -q 403 '$T/err'"
t_check "... and shows it with VANTAGE_API_KEY" \
	sh -c "VANTAGE_API_KEY=$KEY_ALL '$BIN/vantage' results $PRIV --api '$API_HTTP' | cmp -s - '$T/expect/priv'"

API_SERVER="127.0.0.1:$API_SPORT" KEY_ALL=$KEY_ALL KEY_NONE=$KEY_NONE \
KEY_CREATE=$KEY_CREATE P1=$P1 P2=$P2 P3=$P3 P4=$P4 PING=$PING PRIV=$PRIV \
EXPECT="$T/expect" /usr/bin/python3 "$TOP/tests/integration/api_cousteau.py" \
	>"$T/cousteau.out" 2>"$T/cousteau.err"
rc=$?
api_tap "$T/cousteau.out"
[ $rc = 0 ] || sed 's/^/# /' "$T/cousteau.err" | tail -20
t_check "the client script ran to its end" test $rc = 0 -o $rc = 1

# One log line per request, with the key's label and never the key.
t_check "log: one line per request with status, bytes, ms and label" \
	grep -qE 'POST /api/v2/measurements/ 201 [0-9]+B [0-9]+ms key=creator' "$T/api.log"
t_check "log: never a key" sh -c "! grep -qE '$KEY_ALL|$KEY_CREATE|$KEY_NONE' '$T/api.log'"

"$BIN/vantage" key revoke researcher >/dev/null
t_check "a revoked key is a 401" test "$(curl -s -o /dev/null -w '%{http_code}' \
	-H "Authorization: Key $KEY_ALL" "$API_HTTP/api/v2/measurements/$PRIV/")" = 401
t_done
