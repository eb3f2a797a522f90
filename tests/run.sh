#!/bin/bash
# tests/run.sh - the whole test suite (called by `make check`).
#
# Unit tests and fuzz-corpus replays run in the sanitizer build; integration
# tests run the normal binaries against real peers.  Prints every test's
# lines and a closing "N passed, N failed".
#   tests/run.sh [PATTERN]   only tests whose name contains PATTERN
set -u
cd "$(dirname "$0")/.."
pattern=${1:-}
pass=0 fail=0 failed_names=""
log=$(mktemp -d /tmp/vantage-run.XXXXXX)

record() { # name rc output-file
	local name=$1 rc=$2 out=$3 line p f
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -1)
	if [ "$rc" = 77 ]; then
		echo "SKIP $name: $(grep '^# skip' "$out" | tail -1)"
		return
	fi
	if [ -n "$line" ]; then
		p=${line%% passed*}; f=${line#*passed, }; f=${f%% failed*}
	else
		p=0; f=0
	fi
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi
	pass=$((pass + p)); fail=$((fail + f))
	if [ "$rc" = 0 ]; then
		echo "PASS $name ($p checks)"
	else
		echo "FAIL $name (exit $rc)"; sed 's/^/    /' "$out" | tail -40
		failed_names="$failed_names $name"
	fi
}

run() { # name command...
	local name=$1; shift
	case "$name" in *"$pattern"*) ;; *) return ;; esac
	local out="$log/$(echo "$name" | tr '/ ' '__').out" rc
	"$@" >"$out" 2>&1; rc=$?
	record "$name" "$rc" "$out"
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

for t in build-asan/tests/test_*; do
	[ -x "$t" ] && run "unit/$(basename "$t")" "$t"
done
for t in build-asan/tests/replay_*; do
	[ -x "$t" ] || continue
	n=${t##*/replay_}
	if [ -d "tests/fuzz/corpus/$n" ]; then
		run "fuzz/$n" sh -c "'$t' 'tests/fuzz/corpus/$n' && echo '1 passed, 0 failed'"
	else
		echo "FAIL fuzz/$n: no corpus at tests/fuzz/corpus/$n"; fail=$((fail + 1))
	fi
done
for t in tests/integration/*.sh; do
	[ -f "$t" ] && run "integration/$(basename "$t" .sh)" bash "$t"
done

rm -rf "$log"
[ -n "$failed_names" ] && echo "failed:$failed_names"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
