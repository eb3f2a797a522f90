#!/bin/bash
# run_honest.sh - tests/run.sh counts and shows skips and fails a run that
# did not run what it was asked to: a skip not in tests/skips.allowed, a
# missing sanitizer build, an empty fuzz corpus, a test that ran no check,
# a pattern that matched nothing.  Runs tests/run.sh in a scratch tree of
# stand-in tests.
. "$(dirname "$0")/../lib.sh"
t_setup

W=$T/tree
mkdir -p "$W/tests/unit" "$W/tests/fuzz/corpus/x" "$W/tests/integration" \
	"$W/build-asan/tests"
cp "$TOP/tests/run.sh" "$W/tests/"
: >"$W/tests/unit/test_a.c"
printf '#!/bin/sh\necho "3 passed, 0 failed"\n' >"$W/build-asan/tests/test_a"
: >"$W/tests/fuzz/fuzz_x.c"
printf '#!/bin/sh\necho "replayed $(ls "$1" | wc -l) inputs"\n' \
	>"$W/build-asan/tests/replay_x"
chmod +x "$W/build-asan/tests/"*
echo seed >"$W/tests/fuzz/corpus/x/seed1"
printf 'echo "ok - a"\necho "2 passed, 0 failed"\n' >"$W/tests/integration/good.sh"

# suite [PATTERN]: runs the scratch suite; $T/rc, $T/out.
suite() { bash "$W/tests/run.sh" "$@" >"$T/out" 2>&1; echo $? >"$T/rc"; }
rc() { [ "$(cat "$T/rc")" = "$1" ]; }
says() { grep -qF -- "$1" "$T/out" || { t_log "missing '$1' in:"; sed 's/^/#   /' "$T/out"; return 1; }; }

suite
t_check "all ran: passes" rc 0
t_check "closing line counts checks and skips" says "6 passed, 0 failed, 0 skipped"

printf 'echo "# skip: no frobnicator here"\nexit 77\n' >"$W/tests/integration/skipper.sh"
suite
t_check "a skip fails the run" rc 1
t_check "the skip is counted and shown" says "6 passed, 1 failed, 1 skipped"
t_check "the skip is named with its reason" \
	says "FAIL integration/skipper: skipped: no frobnicator here"
echo "integration/skipper some other reason" >"$W/tests/skips.allowed"
suite
t_check "a skip allowed for another reason still fails" rc 1
printf '# lab hosts\nintegration/skipper no frobnicator\n' >"$W/tests/skips.allowed"
suite
t_check "a skip listed with its reason passes" rc 0
t_check "and is still shown" says "SKIP integration/skipper: no frobnicator here"
t_check "and counted" says "6 passed, 0 failed, 1 skipped"

mv "$W/build-asan/tests/test_a" "$T/test_a"
suite
t_check "no sanitizer build: fails" rc 1
t_check "no sanitizer build: says what is missing" \
	says "FAIL unit/test_a: no build-asan/tests/test_a (make SANITIZE=1)"
mv "$T/test_a" "$W/build-asan/tests/test_a"

rm "$W/tests/fuzz/corpus/x/seed1"
suite
t_check "empty corpus: fails" rc 1
t_check "empty corpus: says so" says "FAIL fuzz/x: no corpus"
touch "$W/tests/fuzz/corpus/x/.hidden"
suite
t_check "a corpus of hidden files only: fails" rc 1
echo seed >"$W/tests/fuzz/corpus/x/seed1"

printf 'exit 0\n' >"$W/tests/integration/silent.sh"
suite
t_check "a test that ran no check fails" rc 1
t_check "and says so" says "FAIL integration/silent: ran no checks"
rm "$W/tests/integration/silent.sh"

suite nosuchtest
t_check "a pattern that matches nothing fails" rc 1
t_check "and says so" says "no test ran"
suite good
t_check "a pattern runs only its tests" rc 0
t_check "only those are counted" says "2 passed, 0 failed, 0 skipped"
t_done
