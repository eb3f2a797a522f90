#!/bin/bash
# stack.sh - scripts/stack up on loopback (its own VANTAGE_RUN): the
# daemons that have --metrics serve it on ports of the stack's own (none of
# its other ports, each its own), run/stack.env names each as
# VANTAGE_<DAEMON>_METRICS_URL, a scrape of each is valid Prometheus text
# with the daemon's vantage_build_info; `scripts/stack down` stops them.
. "$(dirname "$0")/../lib.sh"
t_setup
for b in vantage vantage-gateway vantage-scheduler vantage-worker vantage-api; do
	[ -x "$BIN/$b" ] || t_skip "bin/$b not built"
done
CHECK="/usr/bin/python3 $TOP/tests/helpers/prom_check.py"
export VANTAGE_RUN=$T/run
unset VANTAGE_DB VANTAGE_LISTEN VANTAGE_REG_PORT VANTAGE_CTRL_PORT \
	VANTAGE_API_PORT VANTAGE_GATEWAY_METRICS_PORT VANTAGE_SCHEDULER_METRICS_PORT \
	VANTAGE_WORKER_METRICS_PORT VANTAGE_API_METRICS_PORT
# whatever happens, the exit trap stops what the stack started
stack_cleanup() {
	"$TOP/scripts/stack" down >/dev/null 2>&1
	t_cleanup
}
trap stack_cleanup EXIT
T_PGDIRS="$T_PGDIRS $VANTAGE_RUN/pg"

"$TOP/scripts/stack" up >"$T/up.log" 2>&1
t_check "scripts/stack up" test $? = 0
[ -f "$VANTAGE_RUN/stack.env" ] || { sed 's/^/# /' "$T/up.log"; t_done; exit 1; }
for d in gateway scheduler worker api; do
	[ -f "$VANTAGE_RUN/$d.pid" ] && t_bg "$(cat "$VANTAGE_RUN/$d.pid")"
done
# shellcheck disable=SC1091
. "$VANTAGE_RUN/stack.env"
port_of() { local u=${1%/metrics}; echo "${u##*:}"; }
ports="$VANTAGE_REG_PORT $VANTAGE_CTRL_PORT $VANTAGE_RSA_REG_PORT $VANTAGE_RSA_CTRL_PORT
	$(port_of "$VANTAGE_API_URL") $(port_of "$VANTAGE_API_HTTPS_URL")
	$(port_of "${VANTAGE_STREAM_URL%/stream/}") $(port_of "${VANTAGE_STREAM_TLS_URL%/stream/}")"
mports=""
for d in GATEWAY SCHEDULER WORKER API; do
	var=VANTAGE_${d}_METRICS_URL
	url=${!var:-}
	t_check "stack.env has $var ($url)" sh -c "echo '$url' | grep -qx 'http://127.0.0.1:[0-9]*/metrics'"
	p=$(port_of "$url")
	t_check "$d's metrics port is none of the stack's other ports" \
		sh -c "! echo ' $ports $mports ' | tr -s ' \t\n' ' ' | grep -q ' $p '"
	mports="$mports $p"
	name=$(echo "$d" | tr A-Z a-z)
	scrape() { curl -sf --max-time 10 "$url" -o "$T/$name.prom"; }
	t_check "$d: a scrape of $url works" t_wait 30 scrape
	t_check "$d: valid exposition text" $CHECK "$T/$name.prom"
	t_check "$d: vantage_build_info{daemon=\"$name\"}" \
		grep -q "^vantage_build_info{.*daemon=\"$name\"" "$T/$name.prom"
done
t_check "the API's public port has no /metrics" sh -c \
	"! curl -s '$VANTAGE_API_URL/metrics' | grep -q '^vantage_build_info'"

"$TOP/scripts/stack" down >"$T/down.log" 2>&1
t_check "scripts/stack down" test $? = 0
down() { ! curl -s --max-time 2 -o /dev/null "$VANTAGE_WORKER_METRICS_URL"; }
t_check "... and the metrics ports are closed" t_wait 30 down
t_done
