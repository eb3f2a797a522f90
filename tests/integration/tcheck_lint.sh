#!/bin/bash
# tcheck_lint: no test joins a t_check to more with && or || (the shell
# runs the rest outside the check: `t_check D [ a ] && [ b ]` checks only
# [ a ], and `t_check D cmd || exit` never exits).  The linter
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
SH
$LINT "$T/bad.sh" >"$T/bad.out"
t_check "the linter fails on the bad forms" [ $? = 1 ]
t_check "and names each of their lines (1, 2, 4, 5)" \
	[ "$(sed 's/^[^:]*:\([0-9]*\):.*/\1/' "$T/bad.out" | tr '\n' ' ')" = "1 2 4 5 " ]
t_check "the same operators quoted, substituted or in a here-document pass" \
	$LINT "$T/good.sh"
printf 't_check "x" sh -c "true\n' >"$T/open.sh"
$LINT "$T/open.sh" >/dev/null
t_check "a file it cannot follow fails (exit 2)" [ $? = 2 ]

t_check "no test in the tree joins a t_check to more" \
	$LINT "$TOP"/tests/lib.sh "$TOP"/tests/integration/*.sh \
	"$TOP"/tests/integration/*.inc "$TOP"/tests/helpers/*.sh "$TOP"/tests/bench/*.sh
t_done
