#!/bin/bash
# tcheck_lint: no test joins a t_check to more with && or || (the shell
# runs the rest outside the check: `t_check D [ a ] && [ b ]` checks only
# [ a ], and `t_check D cmd || exit` never exits), and no t_wait retries a
# test of a value read once (`t_wait 60 test "$(f)" = 1`: the shell runs f
# before t_wait, which then retries the same words).  The linter
# (tests/helpers/tcheck_lint.py) is tried on samples first: the bad forms
# are found, the same operators inside quotes, substitutions and
# here-documents are not.
. "$(dirname "$0")/../lib.sh"
t_setup
LINT="/usr/bin/python3 $TOP/tests/helpers/tcheck_lint.py"

cat >"$T/bad.sh" <<'SH'
t_check "one" [ -n "$x" ] && [ "$x" -ge 1 ]
t_check "two" \
	[ -n "$x" ] || [ "$y" = 1 ]
t_check "three" start || { t_done; exit 1; }
if t_check "four" true && true; then :; fi
t_check "five" t_wait 60 test "$(cat f)" = 1
t_wait 5 [ `cat f` = 1 ]
SH
cat >"$T/good.sh" <<'SH'
t_check "a" sh -c "[ -n \"$x\" ] && [ \"$x\" -ge 1 ]"
t_check "b" [ "$(t_psql "SELECT a || b FROM t WHERE c")" = 1 ]
t_check "c" test "$(echo 'x && y' | wc -l)" = 1 # t_check x && y
[ -n "$x" ] && t_check "d" true
t_check "e" sh -c 'true || false'
cat <<X
t_check "f" true && true
X
v=$(t_check "g" true; echo "it's && fine")
t_check "h" ok
t_check "i" t_wait 20 since "$(cat f)"
t_wait 5 sh -c 'test "$(cat f)" = 1'
t_wait 5 test "$x" = 1; y=$(cat f)
t_wait 5 test "${x}" = 1
SH
$LINT "$T/bad.sh" >"$T/bad.out"
t_check "the linter fails on the bad forms" [ $? = 1 ]
t_check "and names each of their lines (1, 2, 4, 5; t_wait 6, 7)" \
	[ "$(sed 's/^[^:]*:\([0-9]*\):.*/\1/' "$T/bad.out" | tr '\n' ' ')" = "1 2 4 5 6 7 " ]
t_check "and says which of the two each is" \
	[ "$(grep -c 'read once' "$T/bad.out")" = 2 ]
t_check "the same operators quoted, substituted or in a here-document pass" \
	$LINT "$T/good.sh"
printf 't_check "x" sh -c "true\n' >"$T/open.sh"
$LINT "$T/open.sh" >/dev/null
t_check "a file it cannot follow fails (exit 2)" [ $? = 2 ]

t_check "no test in the tree joins a t_check to more, nor waits on a value read once" \
	$LINT "$TOP"/tests/lib.sh "$TOP"/tests/integration/*.sh \
	"$TOP"/tests/integration/*.inc "$TOP"/tests/helpers/*.sh "$TOP"/tests/bench/*.sh
t_done
