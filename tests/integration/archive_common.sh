# archive_common.sh - shared by the archive_*.sh tests (sourced after lib.sh).
GEN=${VANTAGE_TESTBIN:-$TOP/build/tests}/archive_gen
DAY=2026-01-05
DAY2=2026-01-06
KEYDIR=results/2026/01/05

arc_need() {
	[ -x "$BIN/vantage-archiver" ] || t_skip "no $BIN/vantage-archiver (run make)"
	[ -x "$GEN" ] || t_skip "no $GEN (run make)"
}

# arc_partition DAY: creates the day's partition of results.
arc_partition() {
	next=$(date -u -d "$1 + 1 day" +%F)
	t_psql "CREATE TABLE results_$(echo "$1" | tr -d -) PARTITION OF results
	        FOR VALUES FROM ('$1') TO ('$next')"
}

# arc_load DAY PROBES FIRST SPEC...: generated results into the hot table.
arc_load() {
	"$GEN" "$@" | psql "$VANTAGE_DB" -qX -v ON_ERROR_STOP=1 \
		-c "\\copy results (msm_id, prb_id, ts, day, stored, digest, result) FROM STDIN"
}

# arc_hot SQL-WHERE: the hot results in archive order, one per line.
arc_hot() {
	t_psql "SELECT result FROM results WHERE $1 ORDER BY prb_id, ts, digest"
}

arc_measurements() {
	t_psql "INSERT INTO measurements (id, type, is_oneoff) VALUES
	        (1000001, 'ping', false), (1000002, 'traceroute', false),
	        (1000003, 'dns', false), (1000010, 'ping', true),
	        (1000011, 'dns', true)"
}

# The day's standard data: 3 periodic measurements, 2 one-offs.
arc_day() {
	arc_partition "$1"
	arc_load "$1" 12 1000 1000001:ping:240 1000002:traceroute:900 1000003:dns:300
	arc_load "$1" 5 1003 1000010:ping:86400 1000011:dns:43200
}

arc_run() { "$BIN/vantage-archiver" --store "file://$T/store" "$@"; }
arc_get() { "$BIN/vantage" archive get --store "file://$T/store" "$@"; }

# arc_nginx ROOT: serves ROOT on a free loopback port with nginx (its own
# config, prefix and logs under $T/nginx); sets NGINX_URL and NGINX_LOG.
arc_nginx() {
	command -v nginx >/dev/null 2>&1 || t_skip "nginx is not installed"
	port=$(t_free_port)
	mkdir -p "$T/nginx/tmp" "$T/nginx/logs"
	cat >"$T/nginx/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $T/nginx/nginx.pid;
error_log $T/nginx/logs/error.log;
events { worker_connections 64; }
http {
	log_format ranges '\$request_method \$uri "\$http_range" \$status \$body_bytes_sent';
	access_log $T/nginx/logs/access.log ranges;
	client_body_temp_path $T/nginx/tmp/body;
	proxy_temp_path $T/nginx/tmp/proxy;
	fastcgi_temp_path $T/nginx/tmp/fastcgi;
	uwsgi_temp_path $T/nginx/tmp/uwsgi;
	scgi_temp_path $T/nginx/tmp/scgi;
	default_type application/octet-stream;
	server {
		listen 127.0.0.1:$port;
		root $1;
	}
}
CONF
	nginx -p "$T/nginx" -c "$T/nginx/nginx.conf" -e "$T/nginx/logs/error.log" &
	t_bg $!
	NGINX_URL="http://127.0.0.1:$port"
	NGINX_LOG="$T/nginx/logs/access.log"
	t_wait 10 curl -sf -o /dev/null "$NGINX_URL/" -r 0-0 || [ -e "$NGINX_LOG" ] ||
		t_skip "nginx did not start: $(tail -3 "$T/nginx/logs/error.log")"
}

# arc_s3rver: starts the s3rver package from npm on a free loopback port
# with a bucket "vantage" (installed into tests/node_modules from
# tests/package.json when missing); exports the S3 settings.
arc_s3rver() {
	s3=$TOP/tests/node_modules/.bin/s3rver
	if [ ! -x "$s3" ]; then
		command -v npm >/dev/null 2>&1 || t_skip "npm is not installed"
		(cd "$TOP/tests" && timeout 300 npm install --no-audit --no-fund \
			>"$T/npm.log" 2>&1) ||
			t_skip "npm install of s3rver failed (registry unreachable?): $(tail -2 "$T/npm.log")"
	fi
	port=$(t_free_port)
	"$s3" -d "$T/s3" -a 127.0.0.1 -p "$port" --configure-bucket vantage \
		--no-vhost-buckets >"$T/s3rver.log" 2>&1 &
	t_bg $!
	t_wait 20 grep -q "listening" "$T/s3rver.log" ||
		t_skip "s3rver did not start: $(tail -3 "$T/s3rver.log")"
	export VANTAGE_S3_ENDPOINT="http://127.0.0.1:$port"
	export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
	unset VANTAGE_S3_REGION
}
