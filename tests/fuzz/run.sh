#!/bin/bash
# tests/fuzz/run.sh TARGET [SECONDS] - runs one libFuzzer target of
# `make fuzz` (build-fuzz/fuzz_TARGET) on a copy of its seed corpus, with
# the options of tests/fuzz/fuzz_TARGET.options when there is one (its
# max_len: the real input limit of what the target parses, instead of
# libFuzzer's default 4096 bytes).  Crashes are written to build-fuzz/.
set -eu
cd "$(dirname "$0")/../.."
t=${1:?usage: tests/fuzz/run.sh TARGET [SECONDS]}
t=${t#fuzz_}
secs=${2:-60}
bin=build-fuzz/fuzz_$t
[ -x "$bin" ] || { echo "no $bin: run make fuzz first" >&2; exit 1; }
opts=()
if [ -f "tests/fuzz/fuzz_$t.options" ]; then
	while IFS='=' read -r k v; do
		k=$(echo "$k" | tr -d ' '); v=$(echo "$v" | tr -d ' ')
		case "$k" in ''|'#'*|'['*) continue ;; esac
		opts+=("-$k=$v")
	done <"tests/fuzz/fuzz_$t.options"
fi
work=$(mktemp -d "/tmp/vantage-fuzz-$t.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -r "tests/fuzz/corpus/$t/." "$work/"
"$bin" "${opts[@]}" -max_total_time="$secs" -artifact_prefix=build-fuzz/ "$work"
