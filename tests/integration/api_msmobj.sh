#!/bin/bash
# tests/integration/api_msmobj.sh - GET measurements/{id}/ builds the
# measurement object in C (controller/api/msmobj.c) from one row: for
# measurements of every shape (types, targets by name, IPv4 and IPv6 or
# none (the probe's resolver), one-offs, stopped, private, removed probes, tags, descriptions
# and definitions with quotes, backslashes, control characters and
# non-ASCII, nested values, resolve_on_probe given, null or absent) and
# with and without fields=, its body is byte for byte what PostgreSQL
# gives for storage/migrations/012's vt_api_fields(vt_api_msm_json(...)),
# over HTTP and HTTPS; a private one still needs the key; a missing one
# is still the 404 object.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/helpers/sched_lib.sh"
. "$TOP/tests/helpers/api_lib.sh"
command -v openssl >/dev/null || t_skip "openssl is not installed"
command -v jq >/dev/null || t_skip "jq is not installed"
t_setup
t_pg_start || { t_notok "PostgreSQL starts"; t_done; exit 1; }
P1=$(sched_probe --country NL --asn 64496)
P2=$(sched_probe --country DE --asn 64497)
P3=$(sched_probe --country FR --asn 64498)
KEY=$("$BIN/vantage" key add --label reader --grant results)

mk() { # definition JSON (one), probes value -> id
	printf '{"definitions": [%s], "probes": [{"type": "probes", "value": "%s",
	  "requested": 3}]%s}' "$1" "$2" "${3:-}" >"$T/m.json"
	"$BIN/vantage" msm create "$T/m.json"
}
ids=""
ids="$ids $(mk '{"type": "ping", "af": 4, "target": "192.0.2.53", "description": "plain", "packets": 3}' "$P1,$P2,$P3")"
ids="$ids $(mk '{"type": "traceroute", "af": 6, "target": "2001:db8::1", "description": "six", "protocol": "TCP", "paris": 16, "is_public": false}' "$P1,$P2")"
ids="$ids $(mk '{"type": "traceroute", "af": 4, "target": "example.net", "description": "by name", "protocol": "ICMP", "resolve_on_probe": true}' "$P2")"
ids="$ids $(mk '{"type": "dns", "af": 4, "description": "chaos", "query_class": "CHAOS", "query_type": "TXT", "query_argument": "id.server", "target": "192.0.2.1"}' "$P3" ', "is_oneoff": true')"
ids="$ids $(mk '{"type": "ping", "af": 4, "target": "192.0.2.9", "description": "odd", "tags": ["b-tag", "a_tag"]}' "$P1,$P3")"
set -- $ids
t_check "five measurements made" [ $# = 5 ]
M1=$1 M2=$2 M3=$3 M4=$4 M5=$5
# Rows the API never writes itself but the database may hold: odd strings,
# nested and odd definition values, removed and stopped probes.
t_psql "INSERT INTO assignments (msm_id, probe_id) VALUES ($M1, $P1), ($M1, $P2), ($M1, $P3), ($M5, $P1);
        UPDATE assignments SET removed = now() WHERE msm_id = $M1 AND probe_id = $P2;
        UPDATE measurements SET status = 4, stop_time = 1767225999 WHERE id = $M2;
        UPDATE measurements SET description = E'q\"b\\\\s/t\\tn\\nr\\rf\\fb\\bc\\x01\\x1f é ☃ 😀 <>&',
               target = '10.0.0.1', definition = definition ||
               jsonb_build_object('weird \"key\"\\\\', jsonb_build_object('z', 1, 'a', array[1.50, 2e3, -0.0]::numeric[]),
                                  'resolve_on_probe', NULL::text, 'x', E'\\u00e9\\n', 'status', 'overridden',
                                  'é', true, '', 'empty key')
        WHERE id = $M5;
        UPDATE measurements SET interval = NULL, spread = NULL, group_id = NULL, start_time = NULL,
               status = 8, definition = '{}' WHERE id = $M3;
        UPDATE measurements SET target = NULL, definition = definition || jsonb_build_object('use_probe_resolver', true)
        WHERE id = $M4" >/dev/null
api_start

# same ID QUERY BASE [KEY]: the API's body for ID is the SQL function's.
same() {
	local id=$1 q=$2 base=$3 key=${4:-} fl want got
	fl=$(printf '%s' "$q" | sed -n 's/.*fields=\([^&]*\).*/\1/p')
	want=$(t_psql "SELECT vt_api_fields(vt_api_msm_json(m, '$base', true),
	               $( [ -n "$fl" ] && echo "'{$fl}'" || echo NULL)::text[])::text
	               FROM measurements m WHERE id = $id")
	got=$(curl -sk ${key:+-H "Authorization: Key $key"} "$base/api/v2/measurements/$id/$q")
	if [ "$got" = "$want" ]; then
		t_ok "measurement $id$q over ${base%%:*}: the SQL object, byte for byte"
	else
		t_notok "measurement $id$q over ${base%%:*}: differs"
		printf '# api: %s\n# sql: %s\n' "$got" "$want"
	fi
}
for id in $ids; do
	k=""
	[ "$id" = "$M2" ] && k=$KEY
	same "$id" "" "$API_HTTP" "$k"
	same "$id" "?fields=probes,status,target_ip,resolve_on_probe" "$API_HTTP" "$k"
	same "$id" "" "$API_HTTPS" "$k"
done
same "$M5" "?fields=x,weird,tags,null,description" "$API_HTTP"
same "$M5" "?fields=none-of-them" "$API_HTTPS"
same "$M1" "?optional_fields=probes&fields=probes" "$API_HTTP"

t_check "the odd one holds its escapes, nesting and null" sh -c "curl -s '$API_HTTP/api/v2/measurements/$M5/' |
	grep -F '\\u0001' | grep -F '\\\"key\\\"' | grep -F '[1.50, 2000, 0.0]' | grep -qF '\"resolve_on_probe\": null'"

# What stays: the key check, the 404 and the error objects.
st=$(curl -s -o "$T/out" -w '%{http_code}' "$API_HTTP/api/v2/measurements/$M2/")
t_check "a private measurement without a key: 403 object" \
	sh -c "[ $st = 403 ] && jq -e '.error.status == 403' '$T/out' >/dev/null"
st=$(curl -s -o "$T/out" -w '%{http_code}' "$API_HTTP/api/v2/measurements/999999999/")
t_check "a missing measurement: 404 object" \
	sh -c "[ $st = 404 ] && jq -e '.error.status == 404 and .error.errors[0].source.parameter == \"id\"' '$T/out' >/dev/null"
st=$(curl -s -o "$T/out" -w '%{http_code}' "$API_HTTP/api/v2/measurements/$M1/?fields=Bad!")
t_check "bad fields: 400 object on fields" \
	sh -c "[ $st = 400 ] && jq -e '.error.errors[0].source.parameter == \"fields\"' '$T/out' >/dev/null"
t_done
