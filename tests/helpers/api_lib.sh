# api_lib.sh - shared by the API tests and benches (sourced after lib.sh,
# with $T and a PostgreSQL from t_pg_start): a self-signed certificate and
# a vantage-api on loopback.

# api_cert DIR: DIR/cert.pem and DIR/key.pem for 127.0.0.1 and localhost.
api_cert() {
	openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=localhost \
		-addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
		-keyout "$1/key.pem" -out "$1/cert.pem" 2>/dev/null
}

# api_start [ARGS...]: starts vantage-api on free loopback ports (HTTP and
# HTTPS), sets API_HTTP, API_HTTPS (URLs), API_HPORT, API_SPORT and API_PID,
# and waits until both answer.
api_start() {
	[ -f "$T/cert.pem" ] || api_cert "$T"
	API_HPORT=$(t_free_port)
	API_SPORT=$(t_free_port)
	while [ "$API_SPORT" = "$API_HPORT" ]; do API_SPORT=$(t_free_port); done
	"$BIN/vantage-api" --http "127.0.0.1:$API_HPORT" \
		--https "127.0.0.1:$API_SPORT" --tls-cert "$T/cert.pem" \
		--tls-key "$T/key.pem" "$@" >>"$T/api.log" 2>&1 &
	API_PID=$!
	t_bg "$API_PID"
	API_HTTP="http://127.0.0.1:$API_HPORT"
	API_HTTPS="https://127.0.0.1:$API_SPORT"
	t_wait 30 curl -sf "$API_HTTP/api/v2/probes/?page_size=1" &&
		t_wait 30 curl -sfk "$API_HTTPS/api/v2/probes/?page_size=1"
}

# api_tap FILE: counts the "ok - " / "not ok - " lines of a client's
# output into this test's totals (and shows them).
api_tap() {
	local line
	while IFS= read -r line; do
		case $line in
		"ok - "*) t_ok "${line#ok - }" ;;
		"not ok - "*) t_notok "${line#not ok - }" ;;
		*) printf '# %s\n' "$line" ;;
		esac
	done <"$1"
}
