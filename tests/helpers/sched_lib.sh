# sched_lib.sh - shared by tests/integration/sched_*.sh (sourced after
# lib.sh, with $T and a PostgreSQL from t_pg_start): probes and sessions
# made straight in the database, no SSH involved.

# sched_probe ARGS...: registers a probe with a fresh key (vantage probe
# add ARGS...) and prints its id.
sched_probe() {
	local n
	n=$(ls "$T" | grep -c '\.pub$')
	ssh-keygen -q -t ed25519 -N '' -C "t$n" -f "$T/k$n" </dev/null
	"$BIN/vantage" probe add --pubkey "$T/k$n.pub" "$@"
}

# sched_connect ID FROM: a live session of probe ID from address FROM.
sched_connect() {
	t_psql "INSERT INTO probe_sessions (probe_id, session_id, remote_port,
		from_addr, connected) VALUES ($1, 's$1', 2000, '$2', true)"
}
