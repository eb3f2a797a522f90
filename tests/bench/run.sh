#!/bin/bash
# tests/bench/run.sh - `make bench`: runs every tests/bench/*.sh and prints
# each figure beside the reference it is compared with, measured in the same
# run.  These machines are noisy: read the ratios, not the absolute times.
#   tests/bench/run.sh [PATTERN]
set -u
cd "$(dirname "$0")/../.."
pattern=${1:-}
rc=0
for b in tests/bench/*.sh; do
	[ "$b" = tests/bench/run.sh ] && continue
	case "$b" in *"$pattern"*) ;; *) continue ;; esac
	echo "== $(basename "$b" .sh)"
	bash "$b" || { echo "bench $(basename "$b" .sh) failed"; rc=1; }
done
exit $rc
