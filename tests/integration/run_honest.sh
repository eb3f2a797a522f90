#!/bin/bash
# run_honest.sh - tests/run.sh counts and shows skips and fails a run that
# did not run what it was asked to: a skip not in tests/skips.allowed, a
# missing sanitizer build, an empty fuzz corpus, a test that ran no check,
# a pattern that matched nothing; and fails a test that leaves a process
# running.  Runs tests/run.sh in a scratch tree of stand-in tests.
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

# Processes a test leaves running: the runner ends those that carry the
# test's VANTAGE_TEST_ID (or a runner's inside it: ID>...) and still run
# VANTAGE_TEST_LEAK_WAIT s after it ended, each a failed check; those of
# other ids it leaves alone.  (A fixture's folder is $W, the runner's.)
# cmd_is PID CMDLINE: PID runs CMDLINE (not a process that ended).
cmd_is() { [ "$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null)" = "$2 " ]; }
pid_of() { cat "$W/$1.pid"; }
cat >"$W/tests/integration/leaker.sh" <<'END'
sleep 1000 & echo $! >leaked.pid
env "VANTAGE_TEST_ID=$VANTAGE_TEST_ID>vantage-run.x/integration/y" sleep 1001 &
echo $! >nested.pid
echo "ok - a"
echo "1 passed, 0 failed"
END
VANTAGE_TEST_LEAK_WAIT=1 suite leaker
t_bg "$(pid_of leaked)"; t_bg "$(pid_of nested)"
t_check "a test that leaves a process running fails the run" rc 1
t_check "and names it" says "not ok - left running: pid $(pid_of leaked): sleep 1000"
t_check "one its nested runner's id carries too" \
	says "not ok - left running: pid $(pid_of nested): sleep 1001"
t_check "each is a failed check" says "1 passed, 2 failed, 0 skipped"
t_check "and is shown in the failed checks" \
	says "  integration/leaker: not ok - left running: pid $(pid_of leaked): sleep 1000"
t_check "the leaked process is gone" eval "! cmd_is $(pid_of leaked) 'sleep 1000'"
t_check "and the nested one" eval "! cmd_is $(pid_of nested) 'sleep 1001'"

cat >"$W/tests/integration/keeper.sh" <<'END'
env "VANTAGE_TEST_ID=${VANTAGE_TEST_ID}x" sleep 1002 & echo $! >other1.pid
env "VANTAGE_TEST_ID=vantage-run.other/integration/keeper" sleep 1003 &
echo $! >other2.pid
# ends by itself once this test has ended
( while kill -0 $$ 2>/dev/null; do sleep 0.1; done ) &
echo "ok - a"
echo "1 passed, 0 failed"
END
suite keeper
t_bg "$(pid_of other1)"; t_bg "$(pid_of other2)"
t_check "processes of other ids, and one that ends by itself: passes" rc 0
t_check "and are not named" eval "! grep -q 'left running' '$T/out'"
t_check "a process whose id only starts with the test's runs on" \
	cmd_is "$(pid_of other1)" "sleep 1002"
t_check "a process of another run runs on" cmd_is "$(pid_of other2)" "sleep 1003"
t_done
