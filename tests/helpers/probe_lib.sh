# probe_lib.sh - a real vantage-probe against the test's vantage-gateway
# (sourced after lib.sh; registration port $REG, host keys in $T/hk).

# probe_new DIR [ARGS...]: PARGS, the options of a probe with spool DIR
# (debug log, short reconnect backoff) and ARGS; its first start (--once)
# makes its key and `vantage probe add` registers it: ID, its id.
probe_new() {
	local dir=$1
	shift
	PARGS=(--spool "$dir" --reg-host 127.0.0.1 --reg-port "$REG"
		--reg-hostkey "$T/hk/ssh_host_ed25519_key.pub" --log-level debug
		--backoff-min-ms 200 --backoff-max-ms 1000 "$@")
	"$BIN/vantage-probe" "${PARGS[@]}" --once >"$dir.first.out" 2>&1
	ID=$("$BIN/vantage" probe add --pubkey "$dir/id_ed25519.pub" |
		grep -o '[0-9]\+' | head -1)
	test -n "$ID"
}

# probe_run LOG [ARGS...]: the probe of PARGS in the background (PRPID),
# measuring loopback too, as user nobody, with ARGS; its log to LOG.
probe_run() {
	local log=$1
	shift
	"$BIN/vantage-probe" "${PARGS[@]}" --allow-private --user nobody "$@" \
		>"$log" 2>&1 &
	PRPID=$!
	t_bg $PRPID
}
