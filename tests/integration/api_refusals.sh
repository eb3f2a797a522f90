#!/bin/bash
# tests/integration/api_refusals.sh - what vantage-api refuses: malformed
# JSON, wrong types, unknown measurement types, negative and huge ids,
# page_size beyond the limit, filter values with quotes and SQL
# metacharacters, keys without the grant or unknown, bodies, URLs and
# headers over their limits, connections over --max-conns (a 503).  Each
# is a 4xx error object of API.md (with source.pointer or
# source.parameter where there is one), the same message the CLI gives
# for the same body, and nothing changes in the database.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/helpers/sched_lib.sh"
. "$TOP/tests/helpers/api_lib.sh"
command -v openssl >/dev/null || t_skip "openssl is not installed"
command -v jq >/dev/null || t_skip "jq is not installed"
t_setup
t_pg_start || { t_notok "PostgreSQL starts"; t_done; exit 1; }
P1=$(sched_probe --country NL --asn 64496 --location 52.37,4.89)
KEY=$("$BIN/vantage" key add --label full --grant results,create,stop,tags,participation)
NONE=$("$BIN/vantage" key add --label none)
printf '{"definitions": [{"type": "ping", "af": 4, "target": "192.0.2.1",
  "description": "d"}], "probes": [{"type": "probes", "value": "%s",
  "requested": 1}]}' "$P1" >"$T/ok.json"
MSM=$("$BIN/vantage" msm create "$T/ok.json")
api_start

snapshot() {
	t_psql "SELECT md5(coalesce((SELECT string_agg(t::text, '|' ORDER BY t.id) FROM measurements t), '')
	        || coalesce((SELECT string_agg(t::text, '|' ORDER BY t.id) FROM participation_requests t), '')
	        || coalesce((SELECT string_agg(t::text, '|' ORDER BY t.id) FROM api_keys t), '')
	        || coalesce((SELECT string_agg(t::text, '|' ORDER BY t.id) FROM probes t), ''))"
}
before=$(snapshot)

# refuse STATUS KIND SOURCE METHOD PATH [BODY-FILE]: KIND is pointer,
# parameter or - (no source); SOURCE the expected source ('*': any).
refuse() {
	local st=$1 kind=$2 src=$3 m=$4 path=$5 body=${6:-} got out
	out="$T/out"
	if [ -n "$body" ]; then
		got=$(curl -s -o "$out" -w '%{http_code}' -X "$m" -H "Authorization: Key $KEY" \
			--data-binary "@$body" "$API_HTTP$path")
	else
		got=$(curl -s -o "$out" -w '%{http_code}' -X "$m" -H "Authorization: Key $KEY" \
			"$API_HTTP$path")
	fi
	local desc="$m ${path:0:70} ${body:+($(head -c 60 "$body" | tr '\n' ' '))}: $st"
	if [ "$got" != "$st" ]; then t_notok "$desc (got $got: $(head -c 200 "$out"))"; return; fi
	if ! jq -e ".error.status == $st and (.error.detail | type == \"string\")" "$out" >/dev/null; then
		t_notok "$desc: not the error object: $(head -c 200 "$out")"; return
	fi
	if [ "$kind" != - ]; then
		local s
		s=$(jq -r ".error.errors[0].source.$kind // \"(none)\"" "$out")
		if [ "$s" = "(none)" ] || { [ "$src" != "*" ] && [ "$s" != "$src" ]; }; then
			t_notok "$desc: source.$kind is '$s', want '$src'"; return
		fi
	fi
	t_ok "$desc"
}
body() { printf '%s' "$1" >"$T/b$2.json"; echo "$T/b$2.json"; }

# --- creation bodies ---
refuse 400 pointer "" POST /api/v2/measurements/ "$(body '{"definitions": [' 1)"
refuse 400 pointer "" POST /api/v2/measurements/ "$(body '[1, 2]' 2)"
refuse 400 pointer /definitions/0/af POST /api/v2/measurements/ "$(body '{"definitions":
  [{"type": "ping", "af": "four", "target": "192.0.2.1", "description": "d"}],
  "probes": [{"type": "area", "value": "WW", "requested": 1}]}' 3)"
refuse 400 pointer /definitions/0/type POST /api/v2/measurements/ "$(body '{"definitions":
  [{"type": "sslcert", "af": 4, "target": "192.0.2.1", "description": "d"}],
  "probes": [{"type": "area", "value": "WW", "requested": 1}]}' 4)"
refuse 400 pointer /definitions POST /api/v2/measurements "$(body '{"definitions": "ping",
  "probes": [{"type": "area", "value": "WW", "requested": 1}]}' 5)"
refuse 400 pointer /is_oneoff POST /api/v2/measurements/ "$(body '{"definitions":
  [{"type": "ping", "af": 4, "target": "192.0.2.1", "description": "d"}],
  "probes": [{"type": "area", "value": "WW", "requested": 1}], "is_oneoff": "yes"}' 6)"
refuse 400 pointer /probes/0/requested POST /api/v2/measurements/ "$(body '{"definitions":
  [{"type": "ping", "af": 4, "target": "192.0.2.1", "description": "d"}],
  "probes": [{"type": "area", "value": "WW", "requested": -1}]}' 7)"
refuse 400 pointer /probes/0/type POST /api/v2/measurements/ "$(body '{"definitions":
  [{"type": "ping", "af": 4, "target": "192.0.2.1", "description": "d"}],
  "probes": [{"type": "planet", "value": "Mars", "requested": 1}]}' 8)"
refuse 400 pointer /definitions/0/target POST /api/v2/measurements/ "$(body '{"definitions":
  [{"type": "ping", "af": 4, "target": "192.0.2.1; rm -rf /", "description": "d"}],
  "probes": [{"type": "area", "value": "WW", "requested": 1}]}' 9)"
refuse 400 pointer /definitions/0/query_class POST /api/v2/measurements/ "$(body '{"definitions":
  [{"type": "dns", "af": 4, "target": "192.0.2.1", "description": "d",
    "query_class": "HS", "query_type": "TXT", "query_argument": "id.server"}],
  "probes": [{"type": "area", "value": "WW", "requested": 1}]}' 10)"
refuse 400 pointer /probes/0/value POST /api/v2/measurements/ "$(body '{"definitions":
  [{"type": "ping", "af": 4, "target": "192.0.2.1", "description": "d"}],
  "probes": [{"type": "country", "value": "NL'"'"'--", "requested": 1}]}' 11)"
head -c 1100000 /dev/zero | tr '\0' ' ' >"$T/big.json"
refuse 413 - "" POST /api/v2/measurements/ "$T/big.json"

# The CLI gives the same message for the same body.
api_msg=$(curl -s -H "Authorization: Key $KEY" --data-binary "@$T/b3.json" \
	"$API_HTTP/api/v2/measurements/" | jq -r .error.detail)
cli_msg=$("$BIN/vantage" msm create "$T/b3.json" 2>&1 >/dev/null)
t_check "the CLI and the API refuse with the same message ($api_msg)" \
	test "vantage: msm create: $api_msg" = "$cli_msg"

# --- participation, tags ---
refuse 400 pointer /0/action POST "/api/v2/measurements/$MSM/participation-requests/" \
	"$(body '[{"action": "destroy", "type": "probes", "value": "1", "requested": 1}]' 12)"
refuse 400 pointer /0/value POST "/api/v2/measurements/$MSM/participation-requests" \
	"$(body '[{"action": "remove", "type": "probes", "value": "1 OR 1=1"}]' 13)"
refuse 400 pointer /1/requested POST "/api/v2/measurements/$MSM/participation-requests/" \
	"$(body '[{"action": "add", "type": "area", "value": "WW", "requested": 1},
	         {"action": "add", "type": "area", "value": "WW", "requested": "many"}]' 14)"
refuse 400 pointer /tag POST "/api/v2/measurements/$MSM/tags/" "$(body '{"tag": "Robert'"'"'); DROP TABLE"}' 15)"

# --- ids ---
refuse 404 parameter id GET /api/v2/measurements/-5/
refuse 404 parameter id GET /api/v2/measurements/99999999999999999999999/
refuse 404 parameter id DELETE /api/v2/measurements/-1
refuse 404 parameter id GET /api/v2/measurements/123456789012/
refuse 404 parameter id GET /api/v2/probes/2147483648/
refuse 404 parameter id GET /api/v2/probes/0
refuse 404 parameter id GET "/api/v2/measurements/1'%20OR%201=1/results/"
refuse 404 - "" GET /api/v2/nothing/
refuse 405 - "" PUT /api/v2/measurements/

# --- query parameters ---
refuse 400 parameter page_size GET "/api/v2/measurements/?page_size=501"
refuse 400 parameter page_size GET "/api/v2/probes/?page_size=0"
refuse 400 parameter page GET "/api/v2/probes/?page=-1"
refuse 400 parameter country_code GET "/api/v2/probes/?country_code=NL'--"
refuse 400 parameter tags GET "/api/v2/probes/?tags=a';DROP%20TABLE%20probes;--"
refuse 400 parameter asn GET "/api/v2/probes/?asn=1%20OR%201=1"
refuse 400 parameter prefix_v4 GET "/api/v2/probes/?prefix_v4=192.0.2.0/24'"
refuse 400 parameter prefix_v6 GET "/api/v2/probes/?prefix_v6=2001:db8::/129"
refuse 400 parameter radius GET "/api/v2/probes/?radius=52,4:10);--"
refuse 400 parameter status GET "/api/v2/measurements/?status=1;DELETE%20FROM%20measurements"
refuse 400 parameter id__in GET "/api/v2/measurements/?id__in=1,2)%20OR%20(1=1"
refuse 400 parameter sort GET "/api/v2/measurements/?sort=id;DROP"
refuse 400 parameter fields GET "/api/v2/measurements/$MSM/?fields=id,\"x\""
refuse 400 parameter search GET "/api/v2/measurements/?search=%01"
refuse 400 parameter is_public GET "/api/v2/measurements/?is_public=maybe"
refuse 400 parameter start GET "/api/v2/measurements/$MSM/results/?start=-1"
refuse 400 parameter probe_ids GET "/api/v2/measurements/$MSM/results/?probe_ids=1;2"
refuse 400 parameter format GET "/api/v2/measurements/$MSM/latest/?format=xml"
refuse 400 parameter versions GET "/api/v2/measurements/$MSM/latest/?versions=11"
refuse 400 parameter target GET "/api/v2/measurements/?target=%zz"
t_check "a text filter with quotes is only text (200, nothing found)" test "$(curl -s \
	"$API_HTTP/api/v2/measurements/?search=x'%20OR%20'1'='1" | jq .count)" = 0

# --- keys ---
st=$(curl -s -o "$T/out" -w '%{http_code}' -X POST --data-binary "@$T/ok.json" \
	"$API_HTTP/api/v2/measurements/?key=$NONE")
t_check "a key without the create grant: 403 with source.parameter key" \
	sh -c "[ $st = 403 ] && jq -e '.error.errors[0].source.parameter == \"key\"' '$T/out' >/dev/null"
st=$(curl -s -o "$T/out" -w '%{http_code}' -X DELETE -H "Authorization: Key $NONE" \
	"$API_HTTP/api/v2/measurements/$MSM")
t_check "a key without the stop grant: 403" test "$st" = 403
st=$(curl -s -o "$T/out" -w '%{http_code}' "$API_HTTP/api/v2/probes/?key=12345678-1234-4234-8234-123456789abc")
t_check "an unknown key: 401, even on a list" sh -c "[ $st = 401 ] &&
	jq -e '.error.detail == \"The provided API key does not exist\"' '$T/out' >/dev/null"
st=$(curl -s -o "$T/out" -w '%{http_code}' -H "Authorization: Key x' OR '1'='1" "$API_HTTP/api/v2/probes/")
t_check "a malformed key: 401" test "$st" = 401

# --- limits ---
long=$(head -c 9000 /dev/zero | tr '\0' a)
st=$(curl -s -o "$T/out" -w '%{http_code}' "$API_HTTP/api/v2/probes/?x=$long")
t_check "a URL over 8 KiB: 414 error object" sh -c "[ $st = 414 ] && jq -e '.error.status == 414' '$T/out' >/dev/null"
hdr=$(head -c 9000 /dev/zero | tr '\0' b)
st=$(curl -s -o "$T/out" -w '%{http_code}' -H "X-A: $hdr" -H "X-B: $hdr" "$API_HTTP/api/v2/probes/")
t_check "headers over 16 KiB: 431 error object" sh -c "[ $st = 431 ] && jq -e '.error.status == 431' '$T/out' >/dev/null"
t_check "paths with and without the slash, never a redirect" test \
	"$(curl -s -o /dev/null -w '%{http_code}' "$API_HTTP/api/v2/probes")$(curl -s -o /dev/null -w '%{http_code}' "$API_HTTP/api/v2/probes/$P1")" = 200200
t_check "unknown parameters are ignored" test "$(curl -s -o /dev/null -w '%{http_code}' \
	"$API_HTTP/api/v2/measurements/$MSM/?defeatcaching=dc42&fields=status")" = 200

# Connections over --max-conns: the error object (503, Retry-After), not a
# silent close; the daemon answers again once one is closed.
MPORT=$(t_free_port)
"$BIN/vantage-api" --http "127.0.0.1:$MPORT" --max-conns 3 >>"$T/api-max.log" 2>&1 &
t_bg $!
if t_wait 30 curl -sf "http://127.0.0.1:$MPORT/api/v2/probes/?page_size=1"; then
	/usr/bin/python3 "$TOP/tests/helpers/api_conns.py" "$MPORT" \
		"/api/v2/measurements/$MSM/" 3 >"$T/conns.out" 2>&1
	rc=$?
	api_tap "$T/conns.out"
	t_check "the connection check ran to its end" test "$rc" = 0
	t_check "the refused connection is logged as a 503" grep -q ' 503 ' "$T/api-max.log"
else
	t_notok "vantage-api --max-conns 3 starts"
fi

t_check "nothing changed in the database" test "$(snapshot)" = "$before"
t_check "the daemon still answers" curl -sf "$API_HTTPS/api/v2/measurements/$MSM/" -k -o /dev/null
t_done
