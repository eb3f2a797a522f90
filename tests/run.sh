#!/bin/bash
# tests/run.sh - the whole test suite (called by `make check`).
#
# Unit tests and fuzz-corpus replays run in the sanitizer build; integration
# tests run the normal binaries against real peers.  Prints every test's
# lines and a closing "N passed, N failed, N skipped".
#   tests/run.sh [PATTERN]   only tests whose name contains PATTERN
#
# A run passes only when it ran something and everything it was asked to
# run did run:
# - a test that skips (exit 77, t_skip) fails the run, unless
#   tests/skips.allowed lists it with the reason it may give;
# - every tests/unit/test_*.c needs its binary in build-asan/tests/ and every
#   tests/fuzz/fuzz_*.c its replay there and a corpus folder with inputs
#   (make SANITIZE=1), and integration/NAME@tsan its gateway in build-tsan/
#   (make SANITIZE=thread) and integration/NAME@asan the daemons in
#   build-asan/bin: one missing is a failure, never zero tests run;
# - a test that ends well without having run a single check fails;
# - a PATTERN that matches no test fails.
set -u
cd "$(dirname "$0")/.."
pattern=${1:-}
pass=0 fail=0 skip=0 ran=0 failed_names="" failed_checks="" late=""
log=$(mktemp -d /tmp/vantage-run.XXXXXX)
allowed=tests/skips.allowed

wanted() { case "$1" in *"$pattern"*) return 0 ;; esac; return 1; }

failed() { # name message
	echo "FAIL $1: $2"
	fail=$((fail + 1))
	failed_names="$failed_names $1"
}

# The reason tests/skips.allowed gives for skipping name with reason, or
# nothing.  Its lines: NAME REASON (the test's skip reason must contain
# REASON); '#' starts a comment.
skip_allowed() { # name reason
	[ -f "$allowed" ] || return 1
	local n r
	while read -r n r; do
		case "$n" in ''|'#'*) continue ;; esac
		[ "$n" = "$1" ] && [ -n "$r" ] && case "$2" in *"$r"*) return 0 ;; esac
	done <"$allowed"
	return 1
}

record() { # name rc output-file
	local name=$1 rc=$2 out=$3 line p f reason
	ran=$((ran + 1))
	if [ "$rc" = 77 ]; then
		skip=$((skip + 1))
		reason=$(grep '^# skip' "$out" | tail -1)
		reason=${reason#\# skip: }
		if skip_allowed "$name" "$reason"; then
			echo "SKIP $name: $reason (allowed by $allowed)"
		else
			failed "$name" "skipped: $reason (not allowed by $allowed)"
		fi
		return
	fi
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -1)
	if [ -n "$line" ]; then
		p=${line%% passed*}; f=${line#*passed, }; f=${f%% failed*}
	else
		p=0; f=0
	fi
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi
	if [ "$rc" = 0 ] && [ "$p" = 0 ] && [ "$f" = 0 ]; then
		failed "$name" "ran no checks"; sed 's/^/    /' "$out" | tail -20
		return
	fi
	pass=$((pass + p)); fail=$((fail + f))
	if [ "$rc" = 0 ]; then
		echo "PASS $name ($p checks$late)"
	else
		echo "FAIL $name (exit $rc)"; sed 's/^/    /' "$out" | tail -40
		failed_names="$failed_names $name"
		# its failed checks again, for the closing summary: a long
		# output's tail may not hold them.  With each, the "#" lines
		# around it: up to 3 right after it, and the last 3 printed
		# since the check before it (a check whose command explains
		# itself before t_check prints "not ok"), leaving out lines
		# already shown and the "(took N s)" of a check that passed.
		failed_checks="$failed_checks$(awk -v n="  $name: " '
			/^not ok/ {
				for (i = 0; i < nb; i++) print n b[i]
				print n $0; nb = 0; c = 3; next
			}
			/^ok/ { nb = 0; c = 0; next }
			/^#/ && c > 0 { print n $0; c--; next }
			/^# \(took [0-9.]+ s\)$/ { next }
			/^#/ {
				if (nb == 3) { b[0] = b[1]; b[1] = b[2]; nb = 2 }
				b[nb++] = $0; next
			}
			{ c = 0 }' "$out")
"
	fi
}

# Processes a test leaves running.  Each test runs with
# VANTAGE_TEST_ID=RUNID/NAME in its environment, which every process it
# starts inherits (what starts one through `env -i`, as scripts/atlas-probe
# does, passes it on).  A runner started inside a test (run_honest) takes
# that test's id and ">" as the start of its RUNID: the processes of its
# tests are that test's too, and it ends only those of its own tests.
# After a test ends, those carrying its id (or its id and ">...") have
# VANTAGE_TEST_LEAK_WAIT seconds (20) to end on their own; those still there
# are sent TERM, then KILL, and each is a failed check of the test:
# "not ok - left running: pid N: CMDLINE".  A test whose processes took a
# second or more to end passes with "its processes ended N s after it".
runid=${VANTAGE_TEST_ID:+$VANTAGE_TEST_ID>}${log##*/}
leak_wait=${VANTAGE_TEST_LEAK_WAIT:-20}
case "$leak_wait" in
''|*[!0-9]*)
	echo "tests/run.sh: VANTAGE_TEST_LEAK_WAIT=$leak_wait: whole seconds" >&2
	rm -rf "$log"; exit 2 ;;
esac

# test_pids ID: the pids of the processes whose environment holds
# VANTAGE_TEST_ID=ID or VANTAGE_TEST_ID=ID>...  (an ended process still
# waiting for its parent has no environment left: not counted).
test_pids() {
	local re
	re=$(printf '%s' "$1" | sed 's/[]\\.*^$+?(){}|[]/\\&/g')
	grep -zlE "^VANTAGE_TEST_ID=$re(>.*)?\$" /proc/[0-9]*/environ 2>/dev/null |
		sed 's|^/proc/\([0-9]*\)/environ$|\1|'
}

# gone_within ID SECONDS [SIGNAL]: polls /proc (every 0.1 s) until no
# process carries ID, sending SIGNAL to each one it sees first; fails when
# some are still there after SECONDS.  The pids it signalled are in
# $signalled.
gone_within() {
	local id=$1 end=$((${EPOCHREALTIME/[.,]/} + $2 * 1000000)) sig=${3:-} pids p
	while pids=$(test_pids "$id"); [ -n "$pids" ]; do
		if [ -n "$sig" ]; then
			for p in $pids; do
				case " $signalled " in *" $p "*) continue ;; esac
				leaked_cmd "$p"
				kill -"$sig" "$p" 2>/dev/null
				signalled="$signalled $p"
			done
		fi
		[ "${EPOCHREALTIME/[.,]/}" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# leaked_cmd PID: adds PID's command line to $leaked, once.
leaked_cmd() {
	local c
	case " $named " in *" $1 "*) return ;; esac
	named="$named $1"
	c=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null)
	c=${c% }
	[ -n "$c" ] || c="[$(cat "/proc/$1/comm" 2>/dev/null)]"
	leaked="${leaked}not ok - left running: pid $1: $c
"
}

# reap NAME OUT RC: ends what the test NAME left running (above), adds a
# failed check to its output OUT for each, and sets rc: RC, or 1 when it
# left something.
reap() {
	local id=$runid/$1 out=$2 line p f n t0 ms
	rc=$3 leaked="" named="" signalled="" late=""
	[ -n "$(test_pids "$id")" ] || return 0
	t0=${EPOCHREALTIME/[.,]/}
	if gone_within "$id" "$leak_wait"; then
		# shown with PASS: a wait that makes the run slower
		ms=$(( (${EPOCHREALTIME/[.,]/} - t0) / 1000 ))
		[ $ms -lt 1000 ] ||
			late="; its processes ended $((ms / 1000)).$((ms % 1000 / 100)) s after it"
		return 0
	fi
	gone_within "$id" 10 TERM || { signalled=""; gone_within "$id" 10 KILL; } ||
		leaked="$leaked# and KILL did not end all of them in 10 s: $(test_pids "$id" | paste -sd' ')
"
	[ -n "$leaked" ] || return 0
	n=$(printf '%s' "$leaked" | grep -c '^not ok')
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -1)
	if [ -n "$line" ]; then
		p=${line%% passed*}; f=${line#*passed, }; f=${f%% failed*}
	else
		p=0; f=0
	fi
	# a test that failed without a failed check counts as one
	case "$rc" in 0|77) ;; *) [ "$f" != 0 ] || f=1 ;; esac
	{
		echo "# still running ${leak_wait} s after the test ended (ended now):"
		printf '%s' "$leaked"
		echo "$p passed, $((f + n)) failed"
	} >>"$out"
	rc=1
}

run() { # name command...
	local name=$1; shift
	local out="$log/$(echo "$name" | tr '/ ' '__').out" rc
	(export VANTAGE_TEST_ID=$runid/$name; "$@") >"$out" 2>&1; rc=$?
	reap "$name" "$out" "$rc"
	record "$name" "$rc" "$out"
}

# replay NAME BINARY CORPUS: one check when it replays at least one input.
replay() {
	local out n
	out=$("$2" "$3") || { echo "$out"; return 1; }
	echo "$out"
	n=$(echo "$out" | sed -n 's/^replayed \([0-9]*\) inputs$/\1/p')
	[ "${n:-0}" -gt 0 ] || { echo "no input replayed from $3"; return 1; }
	echo "1 passed, 0 failed"
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

for src in tests/unit/test_*.c; do
	[ -f "$src" ] || continue
	n=$(basename "$src" .c) t=build-asan/tests/$(basename "$src" .c)
	wanted "unit/$n" || continue
	if [ -x "$t" ]; then
		run "unit/$n" "$t"
	else
		failed "unit/$n" "no $t (make SANITIZE=1)"
	fi
done
for src in tests/fuzz/fuzz_*.c; do
	[ -f "$src" ] || continue
	n=$(basename "$src" .c); n=${n#fuzz_}
	t=build-asan/tests/replay_$n c=tests/fuzz/corpus/$n
	wanted "fuzz/$n" || continue
	if [ ! -x "$t" ]; then
		failed "fuzz/$n" "no $t (make SANITIZE=1)"
	elif [ -z "$(ls -A "$c" 2>/dev/null)" ]; then
		failed "fuzz/$n" "no corpus: $c is missing or empty"
	else
		run "fuzz/$n" replay "$n" "$t" "$c"
	fi
done
# The gateway runs VANTAGE_GW_THREADS loop threads (4 unless set) in every
# integration test; the tests named in GW_ONE_THREAD run once more with a
# single loop thread (as integration/NAME@1thread), so both shapes pass.
export VANTAGE_GW_THREADS=${VANTAGE_GW_THREADS:-4}
GW_ONE_THREAD="gateway_restart gateway_push_claims gateway_limits probe_gateway oneoff_race
	gateway_balance gateway_threads gateway_stop gateway_crontab_claim"
for t in tests/integration/*.sh; do
	[ -f "$t" ] || continue
	wanted "integration/$(basename "$t" .sh)" || continue
	run "integration/$(basename "$t" .sh)" bash "$t"
done
for n in $GW_ONE_THREAD; do
	[ -f "tests/integration/$n.sh" ] || continue
	wanted "integration/$n@1thread" || continue
	run "integration/$n@1thread" env VANTAGE_GW_THREADS=1 bash "tests/integration/$n.sh"
done
# san_verdict REP RC CHECK: the test's output in REP/out and its exit RC,
# with one check more, CHECK, that fails when a sanitizer wrote a report
# (REP/report.*).
san_verdict() {
	local rep=$1 rc=$2 line p f
	cat "$rep/out"
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$rep/out" | tail -1)
	p=${line%% passed*}; f=${line#*passed, }; f=${f%% failed*}
	if ls "$rep"/report.* >/dev/null 2>&1; then
		cat "$rep"/report.*
		echo "not ok - $3"
		echo "${p:-0} passed, $((${f:-0} + 1)) failed"
		return 1
	fi
	echo "ok - $3"
	echo "$((${p:-0} + 1)) passed, ${f:-0} failed"
	return $rc
}
# The threaded gateway's race check: the tests in GW_TSAN run once more with
# the ThreadSanitizer gateway (make SANITIZE=thread) beside the normal
# binaries, as integration/NAME@tsan; a race it reports fails the test.
GW_TSAN="gateway_threads gateway_stop"
tsan_run() { # name
	local bin=$log/tsan-bin rep=$log/tsan-$1 b
	mkdir -p "$bin" "$rep"
	for b in bin/*; do ln -sf "$PWD/$b" "$bin/"; done
	ln -sf "$PWD/build-tsan/bin/vantage-gateway" "$bin/vantage-gateway"
	VANTAGE_BIN=$bin TSAN_OPTIONS="log_path=$rep/report ${TSAN_OPTIONS:-}" \
		bash "tests/integration/$1.sh" >"$rep/out" 2>&1
	san_verdict "$rep" $? "ThreadSanitizer found no race in vantage-gateway"
}
for n in $GW_TSAN; do
	[ -f "tests/integration/$n.sh" ] || continue
	wanted "integration/$n@tsan" || continue
	if [ -x build-tsan/bin/vantage-gateway ]; then
		run "integration/$n@tsan" tsan_run "$n"
	else
		failed "integration/$n@tsan" "no build-tsan/bin/vantage-gateway (make SANITIZE=thread)"
	fi
done
# The daemons' own sanitizer check: the tests in DAEMON_ASAN run once more
# with every daemon from the ASan/UBSan build (make SANITIZE=1), as
# integration/NAME@asan.  A daemon stops at its first report (an undefined
# behaviour too), which the test's own checks see; a report written to the
# log path fails one check more.  Leaks are not counted: a daemon stopped by
# a signal leaves what it held.
DAEMON_ASAN="api_blaeu api_results_archive worker_hostile worker_store worker_inflight worker_spare_turn worker_seats gateway_groupcommit"
asan_run() { # name
	local rep=$log/asan-$1
	mkdir -p "$rep"
	VANTAGE_BIN=$PWD/build-asan/bin \
		ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:log_path=$rep/report" \
		UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$rep/report" \
		bash "tests/integration/$1.sh" >"$rep/out" 2>&1
	san_verdict "$rep" $? "no sanitizer report from the daemons"
}
for n in $DAEMON_ASAN; do
	[ -f "tests/integration/$n.sh" ] || continue
	wanted "integration/$n@asan" || continue
	if [ -x build-asan/bin/vantage-api ] && [ -x build-asan/bin/vantage-gateway ]; then
		run "integration/$n@asan" asan_run "$n"
	else
		failed "integration/$n@asan" "no build-asan/bin daemons (make SANITIZE=1)"
	fi
done

rm -rf "$log"
if [ $((ran + fail)) = 0 ]; then
	failed "${pattern:-tests}" "no test ran"
fi
[ -n "$failed_checks" ] && printf 'failed checks:\n%s' "$failed_checks"
[ -n "$failed_names" ] && echo "failed:$failed_names"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
