#!/bin/bash
# API bench: vantage-api beside nginx, measured in the same run.
#  - `measurements/{id}/latest/` and the measurement object at 64
#    concurrent keep-alive clients (wrk, 2 threads, API_BENCH_SECONDS each,
#    10 by default): requests per second and p99 latency, beside nginx
#    serving a static file of the same size (goal: >= 0.5x nginx's rate),
#    nginx measured again before each figure, API_BENCH_ROUNDS rounds (3);
#  - the planner's streaming figures through the API (tests/bench/
#    planner.sh with the API as its reader: a long range of archived and
#    hot days, and one probe's archived day), unless API_BENCH_STREAM=0.
# Both servers get 2 threads / workers on the same 2 cores as wrk: read the
# ratios, not the absolute figures.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/helpers/sched_lib.sh"
. "$TOP/tests/helpers/api_lib.sh"
SECS=${API_BENCH_SECONDS:-10}
PROBES=${API_BENCH_PROBES:-20}
command -v wrk >/dev/null || { echo "wrk is not installed (scripts/deps)"; exit 1; }
command -v nginx >/dev/null || { echo "nginx is not installed"; exit 1; }
t_setup
t_pg_start || { echo "cannot start PostgreSQL"; exit 1; }

# A measurement with PROBES probes, each with a RIPE-like latest result.
ids=""
for i in $(seq "$PROBES"); do
	ids="$ids,$(sched_probe --country NL --asn $((64496 + i % 4)))"
done
ids=${ids#,}
printf '{"definitions": [{"type": "ping", "af": 4, "target": "192.0.2.53",
  "description": "bench", "packets": 3}], "probes": [{"type": "probes",
  "value": "%s", "requested": %d}]}' "$ids" "$PROBES" >"$T/msm.json"
MSM=$("$BIN/vantage" msm create "$T/msm.json")
t_psql "INSERT INTO assignments (msm_id, probe_id) SELECT $MSM, unnest('{$ids}'::integer[]);
        UPDATE measurements SET status = 2 WHERE id = $MSM;
        INSERT INTO latest (msm_id, prb_id, ts, result)
        SELECT $MSM, p, 1767225600, format('{\"fw\":5120,\"mver\":\"2.6.4\",\"lts\":12,\"dst_name\":\"192.0.2.53\",\"af\":4,\"dst_addr\":\"192.0.2.53\",\"src_addr\":\"10.0.%s.2\",\"proto\":\"ICMP\",\"ttl\":54,\"size\":48,\"result\":[{\"rtt\":19.725885},{\"rtt\":19.387082},{\"rtt\":20.1}],\"dup\":0,\"rcvd\":3,\"sent\":3,\"min\":19.387082,\"max\":20.1,\"avg\":19.737656,\"msm_id\":%s,\"prb_id\":%s,\"timestamp\":1767225600,\"msm_name\":\"Ping\",\"from\":\"198.51.100.%s\",\"type\":\"ping\",\"group_id\":%s,\"step\":240,\"stored_timestamp\":1767225601}', p % 250, $MSM, p, p % 250, $MSM)
        FROM unnest('{$ids}'::integer[]) p" >/dev/null

api_start --threads 8 --db-conns 8 2>/dev/null || { echo "vantage-api did not start"; cat "$T/api.log"; exit 1; }
# A second vantage-api without the anonymous cache: every request reaches
# the database.
UPORT=$(t_free_port)
while [ "$UPORT" = "$API_HPORT" ] || [ "$UPORT" = "$API_SPORT" ]; do UPORT=$(t_free_port); done
"$BIN/vantage-api" --http "127.0.0.1:$UPORT" --threads 8 --db-conns 8 --cache-ms 0 \
	>>"$T/api-uncached.log" 2>&1 &
t_bg $!
API_UNCACHED="http://127.0.0.1:$UPORT"
t_wait 30 curl -sf "$API_UNCACHED/api/v2/probes/?page_size=1" || { echo "vantage-api (uncached) did not start"; exit 1; }

# nginx with 2 workers serving files of the same sizes.
mkdir -p "$T/www" "$T/nginx/tmp" "$T/nginx/logs"
curl -s "$API_HTTP/api/v2/measurements/$MSM/latest/" >"$T/www/latest"
curl -s "$API_HTTP/api/v2/measurements/$MSM/" >"$T/www/msm"
NPORT=$(t_free_port)
cat >"$T/nginx/nginx.conf" <<CONF
daemon off;
worker_processes 2;
pid $T/nginx/nginx.pid;
error_log $T/nginx/logs/error.log;
events { worker_connections 1024; }
http {
	access_log off;
	keepalive_requests 1000000;
	client_body_temp_path $T/nginx/tmp/body;
	proxy_temp_path $T/nginx/tmp/proxy;
	fastcgi_temp_path $T/nginx/tmp/fastcgi;
	uwsgi_temp_path $T/nginx/tmp/uwsgi;
	scgi_temp_path $T/nginx/tmp/scgi;
	default_type application/json;
	server { listen 127.0.0.1:$NPORT; root $T/www; }
}
CONF
nginx -p "$T/nginx" -c "$T/nginx/nginx.conf" -e "$T/nginx/logs/error.log" &
t_bg $!
t_wait 30 curl -sf "http://127.0.0.1:$NPORT/msm" || { echo "nginx did not start"; exit 1; }

# wrk URL -> "requests/s p99_ms"
bench() {
	wrk -t2 -c64 -d"${SECS}s" --latency "$1" >"$T/wrk.out" 2>&1
	awk '/Requests\/sec:/ { rps = $2 }
	     $1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
	                   ms = (u == "us") ? v / 1000 : (u == "s") ? v * 1000 : v }
	     / [45][0-9][0-9] / { bad = 1 }
	     /Non-2xx/ { bad = 1 }
	     END { printf "%.0f %.2f%s\n", rps, ms, bad ? " errors" : "" }' "$T/wrk.out"
}
# Each round measures nginx, then vantage-api uncached and cached, so a
# ratio compares runs seconds apart (other load on the machine drifts);
# the last lines give each ratio's median over API_BENCH_ROUNDS rounds.
ROUNDS=${API_BENCH_ROUNDS:-3}
: >"$T/ratios"
for round in $(seq "$ROUNDS"); do
	for what in latest msm; do
		if [ "$what" = latest ]; then path="/api/v2/measurements/$MSM/latest/"; else path="/api/v2/measurements/$MSM/"; fi
		size=$(stat -c %s "$T/www/$what")
		for mode in uncached cached; do
			read -r n_rps n_p99 _ < <(bench "http://127.0.0.1:$NPORT/$what")
			if [ $mode = cached ]; then url=$API_HTTP$path; else url=$API_UNCACHED$path; fi
			read -r a_rps a_p99 a_err < <(bench "$url")
			ratio=$(awk "BEGIN { printf \"%.2f\", $a_rps / $n_rps }")
			echo "$what $mode $ratio $a_p99 $n_p99" >>"$T/ratios"
			printf '%s (%d bytes) at 64 keep-alive clients, %s, round %d: vantage-api %s req/s, p99 %s ms; nginx static %s req/s, p99 %s ms: ratio %s (goal >= 0.5)%s\n' \
				"$what" "$size" "$mode" "$round" "$a_rps" "$a_p99" "$n_rps" "$n_p99" \
				"$ratio" "${a_err:+ (the API answered errors)}"
		done
	done
done
for what in latest msm; do
	for mode in uncached cached; do
		awk -v w=$what -v m=$mode '$1 == w && $2 == m { r[n] = $3; a[n] = $4; g[n++] = $5 }
		function med(v, k,  i, j, t) { for (i = 0; i < k; i++) for (j = i + 1; j < k; j++)
			if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t } return v[int((k - 1) / 2)] }
		END { printf "%s %s: median over %d rounds: ratio %.2f of nginx (goal >= 0.5), p99 %.2f ms (nginx %.2f ms)\n",
		      w, m, n, med(r, n), med(a, n), med(g, n) }' "$T/ratios"
	done
done
grep -c ' 200 ' "$T/api.log" | sed 's/^/# requests logged by vantage-api: /'

# The planner's streaming figures through the API.
if [ "${API_BENCH_STREAM:-1}" != 0 ]; then
	SP=$(t_free_port)
	U="http://127.0.0.1:$SP/api/v2/measurements/{msm}/results/?format=txt"
	echo "# streaming through vantage-api (the planner bench, the API as its reader)"
	PLANNER_BENCH_HOOK="'$BIN/vantage-api' --http 127.0.0.1:$SP --store \"\$VANTAGE_ARCHIVE\" \
		--log-level warn >'$T/stream-api.log' 2>&1 & echo \$! >'$T/stream-api.pid';
		for i in \$(seq 100); do curl -s -o /dev/null 'http://127.0.0.1:$SP/api/v2/probes/' && break; sleep 0.1; done;
		cat '$T/stream-api.pid'" \
	PLANNER_BENCH_STREAM="curl -sS --fail '$U&start={start}&stop={stop}'" \
	PLANNER_BENCH_PROBE="curl -sS --fail '$U&probe_ids={probe}&start={start}&stop={stop}'" \
		bash "$TOP/tests/bench/planner.sh" | sed 's/planner first byte/API first byte/'
	[ -f "$T/stream-api.pid" ] && kill "$(cat "$T/stream-api.pid")" 2>/dev/null
fi
exit 0
