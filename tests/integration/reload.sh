#!/bin/bash
# reload.sh - SIGHUP on the real daemons and a private PostgreSQL:
# vantage-api serves a new HTTPS certificate to the connections after it
# (openssl s_client sees the new one, curl trusts it with the new CA) and
# refuses a bad one, keeping the old; vantage-probe takes a new log level
# from its file; vantage-gateway reloads its probe key cache and its log
# level; vantage-worker takes --batch and --poll-ms, vantage-scheduler its
# log level; a file with a bad value at reload is refused with file:line
# and the daemon keeps running with what it had.
. "$(dirname "$0")/../lib.sh"
t_setup

for b in vantage-api vantage-gateway vantage-probe vantage-worker vantage-scheduler; do
	[ -x "$BIN/$b" ] || t_skip "bin/$b not built"
done
command -v openssl >/dev/null || t_skip "no openssl"
t_pg_start || { t_notok "PostgreSQL starts"; t_done; exit 1; }

# A line matching the pattern (grep -E) in the file.
logged() { grep -qE "$2" "$1"; }
# The number of lines matching it: a reload's line is waited for as one
# more than before the signal.
count() { grep -cE "$2" "$1"; }
more() { [ "$(count "$1" "$2")" -gt "$3" ]; }
alive() { kill -0 "$1" 2>/dev/null; }

# --- vantage-api: the HTTPS certificate -------------------------------
mkcert() { # NAME: a self-signed certificate for 127.0.0.1, NAME.{crt,key}
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$1" \
		-addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
		-keyout "$T/$1.key" -out "$T/$1.crt" 2>/dev/null
}
mkcert a
mkcert b
mkcert c
fp() { openssl x509 -noout -fingerprint -sha256 -in "$1" | cut -d= -f2; }
served() { # the fingerprint the HTTPS listener sends now
	openssl s_client -connect "127.0.0.1:$HP" -servername localhost \
		</dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256 |
		cut -d= -f2
}
cp "$T/a.crt" "$T/tls.crt"
cp "$T/a.key" "$T/tls.key"
HP=$(t_free_port)
"$BIN/vantage-api" --db "$VANTAGE_DB" --https 127.0.0.1:$HP \
	--tls-cert "$T/tls.crt" --tls-key "$T/tls.key" >"$T/api.log" 2>&1 &
API=$!
t_bg $API
t_check "api serves HTTPS" t_wait 30 logged "$T/api.log" "serving"
t_check "api: the first certificate is served" test "$(served)" = "$(fp "$T/a.crt")"

cp "$T/b.crt" "$T/tls.crt"
cp "$T/b.key" "$T/tls.key"
n=$(count "$T/api.log" "reloaded the TLS certificate")
kill -HUP $API
t_check "api: SIGHUP logs the reload" t_wait 30 more "$T/api.log" "reloaded the TLS certificate" "$n"
t_check "api: a new connection gets the new certificate" test "$(served)" = "$(fp "$T/b.crt")"
t_check "api: curl trusts it with the new CA (an HTTP answer)" \
	sh -c "curl -s -o /dev/null -w '%{http_code}' --cacert '$T/b.crt' \
		https://127.0.0.1:$HP/api/v2/probes/ | grep -q '^[1-5]'"
t_check "api: curl with the old CA is refused" \
	sh -c "! curl -s -o /dev/null --cacert '$T/a.crt' https://127.0.0.1:$HP/api/v2/probes/"

# A key that is not the certificate's: refused, b stays.
cp "$T/c.crt" "$T/tls.crt"
n=$(count "$T/api.log" "reload refused, the old certificate stays")
kill -HUP $API
t_check "api: a key not the certificate's is refused with a line" \
	t_wait 30 more "$T/api.log" "reload refused, the old certificate stays" "$n"
t_check "api: the old certificate is still served" test "$(served)" = "$(fp "$T/b.crt")"
# Not a certificate at all: refused too.
echo "not a certificate" >"$T/tls.crt"
n=$(count "$T/api.log" "reload refused, the old certificate stays")
kill -HUP $API
t_check "api: a file that is no certificate is refused" \
	t_wait 30 more "$T/api.log" "reload refused, the old certificate stays" "$n"
t_check "api: still serving the old certificate" test "$(served)" = "$(fp "$T/b.crt")"
t_check "api: running" alive $API

# --- vantage-gateway: key cache and log level -------------------------
REG=$(t_free_port)
CTRL=$(t_free_port)
while [ "$CTRL" = "$REG" ]; do CTRL=$(t_free_port); done
mkdir -p "$T/hk"
printf 'log_level = info\n' >"$T/gateway.conf"
"$BIN/vantage-gateway" --config "$T/gateway.conf" --db "$VANTAGE_DB" \
	--listen 127.0.0.1 --reg-port "$REG" --ctrl-port "$CTRL" \
	--ctrl-host 127.0.0.1 --host-keys "$T/hk" --name gw1 >"$T/gw.log" 2>&1 &
GW=$!
t_bg $GW
t_check "gateway writes its host keys" t_wait 30 test -s "$T/hk/ssh_host_ed25519_key.pub"
t_wait 30 logged "$T/gw.log" "RSA-only"
n=$(count "$T/gw.log" "reloaded on SIGHUP")
kill -HUP $GW
t_check "gateway: SIGHUP reloads the probe key cache" \
	t_wait 30 more "$T/gw.log" "key cache: .*reloaded on SIGHUP" "$n"
t_check "gateway: and rereads its file" logged "$T/gw.log" "reloaded $T/gateway.conf, log level info"

printf '# a comment\nlog_level = loud\n' >"$T/gateway.conf"
kill -HUP $GW
t_check "gateway: a bad value is refused with file:line" \
	t_wait 30 logged "$T/gw.log" "reload refused, nothing changed: $T/gateway.conf:2: --log-level: 'loud'"
t_check "gateway: running" alive $GW

n=$(count "$T/gw.log" "reloaded $T/gateway.conf, log level debug")
printf 'log_level = debug\n' >"$T/gateway.conf"
kill -HUP $GW
t_check "gateway: log level debug after a reload" \
	t_wait 30 more "$T/gw.log" "reloaded $T/gateway.conf, log level debug" "$n"

# --- vantage-probe: log level -----------------------------------------
S=$T/probe
"$BIN/vantage-probe" --spool "$S" --reg-host 127.0.0.1 --reg-port "$REG" \
	--reg-hostkey "$T/hk/ssh_host_ed25519_key.pub" --once >/dev/null 2>&1
ID=$("$BIN/vantage" probe add --pubkey "$S/id_ed25519.pub" | grep -o '[0-9]\+' | head -1)
t_check "probe added" test -n "$ID"
cat >"$T/probe.conf" <<EOF
spool = $S
reg_host = 127.0.0.1
reg_port = $REG
reg_hostkey = $T/hk/ssh_host_ed25519_key.pub
backoff_min_ms = 200
log_level = warn
EOF
"$BIN/vantage-probe" --config "$T/probe.conf" >"$T/probe.log" 2>&1 &
PR=$!
t_bg $PR
connected() { [ "$(t_psql "SELECT connected FROM probe_sessions WHERE probe_id = $ID")" = t ]; }
t_check "probe connects" t_wait 30 connected
t_check "probe: no info lines at warn" sh -c "! grep -q ' info: ' '$T/probe.log'"
sed -i 's/^log_level = warn/log_level = debug/' "$T/probe.conf"
kill -HUP $PR
t_check "probe: SIGHUP takes log level debug from the file" \
	t_wait 30 logged "$T/probe.log" "info: reloaded $T/probe.conf, log level debug"
sed -i 's/^log_level = debug/log_level = verbose/' "$T/probe.conf"
kill -HUP $PR
t_check "probe: a bad value is refused with file:line" \
	t_wait 30 logged "$T/probe.log" "reload refused, nothing changed: $T/probe.conf:6: --log-level: 'verbose'"
echo "no_such_key = 1" >>"$T/probe.conf"
kill -HUP $PR
t_check "probe: an unknown key is refused with file:line" \
	t_wait 30 logged "$T/probe.log" "reload refused, nothing changed: $T/probe.conf:7: unknown key"
t_check "probe: running and connected" sh -c "kill -0 $PR && \
	[ \"\$(psql '$VANTAGE_DB' -qtAX -c 'SELECT connected FROM probe_sessions WHERE probe_id = $ID')\" = t ]"

# --- vantage-worker: batch, poll-ms, log level ------------------------
printf 'log_level = info\nbatch = 7\n' >"$T/worker.conf"
"$BIN/vantage-worker" --config "$T/worker.conf" --db "$VANTAGE_DB" >"$T/worker.log" 2>&1 &
WK=$!
t_bg $WK
t_check "worker starts with the file's batch" t_wait 30 logged "$T/worker.log" "started \(batch 7, "
printf 'log_level = info\nbatch = 9\npoll_ms = 250\n' >"$T/worker.conf"
kill -HUP $WK
t_check "worker: SIGHUP takes batch and poll-ms" \
	t_wait 30 logged "$T/worker.log" "reloaded $T/worker.conf, log level info, batch 9, poll-ms 250"
printf 'log_level = info\nbatch = 0\n' >"$T/worker.conf"
kill -HUP $WK
t_check "worker: a bad batch is refused with file:line" \
	t_wait 30 logged "$T/worker.log" "reload refused, nothing changed: $T/worker.conf:2: --batch"
t_check "worker: running" alive $WK

# --- vantage-scheduler: log level -------------------------------------
printf 'log_level = info\n' >"$T/scheduler.conf"
"$BIN/vantage-scheduler" --config "$T/scheduler.conf" --db "$VANTAGE_DB" >"$T/sched.log" 2>&1 &
SC=$!
t_bg $SC
t_check "scheduler starts" t_wait 30 logged "$T/sched.log" "scheduling every"
printf 'log_level = debug\n' >"$T/scheduler.conf"
kill -HUP $SC
t_check "scheduler: SIGHUP takes the log level" \
	t_wait 30 logged "$T/sched.log" "reloaded $T/scheduler.conf, log level debug"
# interval needs a restart: a reload leaves it alone (--check-config
# checks it).
printf 'log_level = info\ninterval = 5\n' >"$T/scheduler.conf"
n=$(count "$T/sched.log" "reloaded $T/scheduler.conf, log level info")
kill -HUP $SC
t_check "scheduler: a key that needs a restart is left for it" \
	t_wait 30 more "$T/sched.log" "reloaded $T/scheduler.conf, log level info" "$n"
printf 'log_level = 3\n' >"$T/scheduler.conf"
kill -HUP $SC
t_check "scheduler: a bad level is refused with file:line" \
	t_wait 30 logged "$T/sched.log" "reload refused, nothing changed: $T/scheduler.conf:1: --log-level"
t_check "scheduler: running" alive $SC

t_done
