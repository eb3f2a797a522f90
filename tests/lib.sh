# tests/lib.sh - shared by the integration tests (sourced, POSIX sh + bash).
#
# A test sources this, calls t_setup, uses t_ok/t_check, and ends with t_done.
# Each test gets its own scratch folder ($T) and, when it asks, its own
# PostgreSQL cluster (t_pg_start sets VANTAGE_DB); everything it started is
# stopped by the exit trap.
#
# tests/run.sh runs each test with VANTAGE_TEST_ID=RUNID/NAME, which every
# process the test starts inherits.  Whatever still carries it
# VANTAGE_TEST_LEAK_WAIT seconds (20) after the test ended is a leak: the
# runner stops it (TERM, then KILL) and fails the test with one check
# "not ok - left running: pid N: CMDLINE" each.  So a test stops all it
# started (t_bg it, or stop it in its own trap), a background loop too, and
# a process started through `env -i` gets VANTAGE_TEST_ID passed on.

TOP=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${VANTAGE_BIN:-$TOP/bin}
T_PASS=0
T_FAIL=0
T_PIDS=""
T_PGDIRS=""

t_log() { printf '# %s\n' "$*"; }
t_ok() { T_PASS=$((T_PASS + 1)); printf 'ok - %s\n' "$*"; }
t_notok() { T_FAIL=$((T_FAIL + 1)); printf 'not ok - %s\n' "$*"; }
# t_check DESCRIPTION COMMAND...: passes when the command succeeds.
# (Variables set here at top level are the test's too: lib.sh keeps its
# own behind a _t_ prefix or local, so a test's d, n, f... stay its own.)
# A check that fails, or takes more than 5 s, says how long it took, so
# that a failure on a loaded machine shows whether it was waiting.
t_check() {
	_t_check_d=$1; shift
	_t_check_t0=${EPOCHREALTIME/[.,]/}
	if "$@"; then
		t_ok "$_t_check_d"
		_t_check_ms=$(( (${EPOCHREALTIME/[.,]/} - _t_check_t0) / 1000 ))
		[ $_t_check_ms -le 5000 ] || printf '# (took %d.%d s)\n' \
			$((_t_check_ms / 1000)) $((_t_check_ms % 1000 / 100))
	else
		_t_check_ms=$(( (${EPOCHREALTIME/[.,]/} - _t_check_t0) / 1000 ))
		t_notok "$_t_check_d (after $((_t_check_ms / 1000)).$((_t_check_ms % 1000 / 100)) s)"
	fi
}
# t_refuses RC WANT CMD...: CMD (stdin /dev/null) exits RC and its stderr
# contains WANT; its output is left in $T/out and $T/err.  A binary that
# takes the bad value and runs on is stopped after 120 s (exit 124).
t_refuses() {
	local rc=$1 want=$2 got
	shift 2
	timeout 120 "$@" >"$T/out" 2>"$T/err" </dev/null
	got=$?
	if [ "$got" != "$rc" ] || ! grep -qF -- "$want" "$T/err"; then
		t_log "$*: exit $got, stderr: $(head -3 "$T/err")"
		return 1
	fi
}
t_done() {
	printf '%d passed, %d failed\n' "$T_PASS" "$T_FAIL"
	[ "$T_FAIL" -eq 0 ]
}
# t_skip REASON: the whole test is skipped (exit 77).
t_skip() { printf '# skip: %s\n' "$*"; exit 77; }

t_cleanup() {
	for p in $T_PIDS; do kill "$p" 2>/dev/null; done
	sleep 0.2
	for p in $T_PIDS; do kill -9 "$p" 2>/dev/null; done
	for d in $T_PGDIRS; do "$TOP/scripts/pg" kill "$d"; done
	[ -n "${T_KEEP:-}" ] || rm -rf "$T"
}

t_setup() {
	T=$(mktemp -d "/tmp/vantage-test.XXXXXX")
	chmod 755 "$T"
	[ -z "${T_KEEP:-}" ] || t_log "scratch folder $T (kept: T_KEEP)"
	trap t_cleanup EXIT
	trap 'exit 130' INT TERM
	# ports picked for this test (t_free_port, scripts/pg, scripts/stack)
	# stay reserved until it ends (scripts/pg free-port)
	export VANTAGE_PORT_HOLDER=$$
}

# Starts a private cluster under $T/pg (or $1), applies the migrations and
# exports VANTAGE_DB.
t_pg_start() {
	dir=${1:-$T/pg}
	T_PGDIRS="$T_PGDIRS $dir"
	VANTAGE_DB=$("$TOP/scripts/pg" start "$dir") || return 1
	export VANTAGE_DB
	"$BIN/vantage" db migrate >/dev/null
}

# t_pg_replica DIR: a streaming replica of the t_pg_start cluster in DIR
# (pg_basebackup -R), started; exports VANTAGE_DB_READ.  "scripts/pg stop
# DIR" and "scripts/pg start DIR" take it away and bring it back.
t_pg_replica() {
	_pport=$(printf '%s\n' "$VANTAGE_DB" | sed -n 's/.*port=\([0-9]*\).*/\1/p')
	T_PGDIRS="$T_PGDIRS $1"
	VANTAGE_DB_READ=$("$TOP/scripts/pg" replica "$1" "$_pport") || return 1
	export VANTAGE_DB_READ
}

# t_pg_db_upto NAME NNN: a database NAME in the t_pg_start cluster with
# the migrations up to number NNN only (the code before a change, for a
# bench to compare in the same run); prints its conninfo.
t_pg_db_upto() {
	_upto_conn=$(printf '%s\n' "$VANTAGE_DB" | sed "s/dbname=[^ ]*/dbname=$1/")
	mkdir "$T/mig-$1" || return 1
	for f in "$TOP"/storage/migrations/*.sql; do
		[ "$(basename "$f" | cut -c1-3)" -le "$2" ] && cp "$f" "$T/mig-$1/"
	done
	psql "$VANTAGE_DB" -qtAX -c "CREATE DATABASE $1" || return 1
	"$BIN/vantage" --db "$_upto_conn" db migrate --dir "$T/mig-$1" >/dev/null || return 1
	printf '%s\n' "$_upto_conn"
}

# Remembers a background pid for the cleanup trap.
t_bg() { T_PIDS="$T_PIDS $1"; }

t_psql() { psql "$VANTAGE_DB" -qtAX -v ON_ERROR_STOP=1 -c "$1"; }

# t_free_port: a port no one uses, outside the ephemeral range, reserved
# for this test until it ends (no other test picks it, even while a daemon
# of this one restarts on it).
t_free_port() { "$TOP/scripts/pg" free-port; }

# t_wait SECONDS COMMAND...: polls every 0.1 s until the command succeeds.
t_wait() {
	_t_wait_n=$(($1 * 10)); shift
	while [ $_t_wait_n -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		_t_wait_n=$((_t_wait_n - 1))
	done
	return 1
}

# t_lab_up: scripts/lab up (VANTAGE_LAB_PREFIX, VANTAGE_LAB_DIR set by the
# test), then its hosts.env sourced; the test ends when the lab fails.
t_lab_up() {
	if ! "$TOP/scripts/lab" up >"$T/lab.log" 2>&1; then
		cat "$T/lab.log"
		t_notok "lab up"
		t_done
		exit 1
	fi
	t_ok "lab up"
	# shellcheck disable=SC1091
	. "$VANTAGE_LAB_DIR/hosts.env"
}
