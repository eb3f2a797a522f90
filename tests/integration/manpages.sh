#!/bin/bash
# Manual pages (docs/man): every binary in bin/ has one; it renders without
# warnings; the options its --help names and the options the page names are
# the same set (the page's OPTIONS and COMMANDS sections hold every option of
# --help, and the page names no option --help does not), and the SYNOPSIS
# names every option of --help's usage lines, so the two cannot drift apart.
. "$(dirname "$0")/../lib.sh"
t_setup
MANDIR=$TOP/docs/man

command -v groff >/dev/null && command -v man >/dev/null ||
	t_skip "groff or man missing (scripts/deps installs them)"

# The page as plain text: no hyphenation, lines long enough that nothing
# wraps inside an option name.
render() { groff -man -Tascii -rHY=0 -rLL=2000n -P-cbou "$1" 2>/dev/null; }
options() { grep -o -- '--[a-z][a-z0-9-]*' | sort -u; }
# sections NAME...: the lines of these sections of rendered text on stdin.
sections() {
	awk -v want=" $* " '/^[A-Z][A-Z ]*[A-Z]$/ { on = index(want, " " $0 " ") > 0; next } on'
}
# compare HELP PAGE: prints "missing --x" for each option of the help text
# that the page's OPTIONS/COMMANDS lack, "unknown --y" for each option of the
# page that the help text lacks.  Silent when they agree.
compare() {
	local help=$1 page=$2
	{ options <"$help"; echo --help; } | sort -u >"$T/h"
	render "$page" | sections OPTIONS COMMANDS | options >"$T/o"
	render "$page" | options >"$T/a"
	comm -23 "$T/h" "$T/o" | sed 's/^/missing /'
	comm -13 "$T/h" "$T/a" | sed 's/^/unknown /'
}

n=0
for b in "$BIN"/*; do
	[ -x "$b" ] && [ -f "$b" ] || continue
	name=${b##*/}
	n=$((n + 1))
	page=$(ls "$MANDIR/$name".[18] 2>/dev/null | head -1)
	if [ -z "$page" ]; then
		t_notok "$name: no manual page docs/man/$name.1 or .8"
		continue
	fi
	sec=${page##*.}
	t_check "$name: page's .TH names $name($sec)" \
		grep -q "^\.TH $(echo "$name" | tr a-z A-Z) $sec " "$page"
	w=$(groff -ww -man -z "$page" 2>&1)
	t_check "$name: groff -ww renders without warnings${w:+ ($w)}" test -z "$w"
	w=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
	t_check "$name: man -l renders without warnings${w:+ ($w)}" test -z "$w"
	if ! "$b" --help >"$T/help.txt" 2>&1; then
		t_notok "$name: --help exits 0"
		continue
	fi
	diff=$(compare "$T/help.txt" "$page" | tr '\n' ' ')
	t_check "$name: options of --help and of the page agree${diff:+ ($diff)}" \
		test -z "$diff"
	t_check "$name: page has an OPTIONS section" \
		test -s "$T/o"
	# the usage lines of --help (up to the first blank line)
	awk '/^usage:/ { on = 1 } on && /^$/ { exit } on' "$T/help.txt" | options >"$T/u"
	render "$page" | sections SYNOPSIS | options >"$T/s"
	diff=$(comm -23 "$T/u" "$T/s" | tr '\n' ' ')
	t_check "$name: the SYNOPSIS has every option of --help's usage${diff:+ (missing $diff)}" \
		test -z "$diff"
done
t_check "binaries found in $BIN" test "$n" -ge 6
for page in "$MANDIR"/*.[18]; do
	name=$(basename "$page"); name=${name%.*}
	[ -x "$BIN/$name" ] || t_log "page $name without a binary in $BIN (not built on this tree)"
done

# The comparison itself catches drift both ways: a page that lost an option,
# and a page naming an option that --help does not have.
"$BIN/vantage-worker" --help >"$T/help.txt" 2>&1
sed '/^\.BI \\-\\-batch /,/^\.TP/d' "$MANDIR/vantage-worker.8" >"$T/lost.8"
t_check "drift caught: an option missing from the page" \
	grep -qx 'missing --batch' <(compare "$T/help.txt" "$T/lost.8")
sed 's/^\.B \\-\\-once$/.B \\-\\-once\n.TP\n.B \\-\\-twice\nrun twice./' \
	"$MANDIR/vantage-worker.8" >"$T/extra.8"
t_check "drift caught: an option the binary does not have" \
	grep -qx 'unknown --twice' <(compare "$T/help.txt" "$T/extra.8")
t_done
