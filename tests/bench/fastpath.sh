#!/bin/bash
# The worker's fast enrichment path alone (controller/worker/fastjson.c):
# CPU time per line to read and enrich the RIPE samples in the probe's form
# (as tests/bench/pipeline.sh sends them), FASTPATH_ROUNDS (2000) rounds,
# FASTPATH_RUNS (5) runs, their median.  No reference in the same run: to
# compare two builds, run it on each, one after the other, alternating.
#   FASTPATH_BIN=DIR  the wk_fastbench to run (default build/tests)
#   FASTPATH_IR=1     also the instructions per line under callgrind
#                     (valgrind): the same on a loaded machine as on a
#                     quiet one, where the CPU time swings by 20%
set -u
cd "$(dirname "$0")/../.."
SAMPLES=${VANTAGE_SAMPLES:-../shared/samples}
BENCH=${FASTPATH_BIN:-build/tests}/wk_fastbench
ROUNDS=${FASTPATH_ROUNDS:-2000}
RUNS=${FASTPATH_RUNS:-5}
[ -x "$BENCH" ] || { echo "no $BENCH (make)"; exit 1; }
[ -d "$SAMPLES" ] || { echo "no samples in $SAMPLES"; exit 1; }
T=$(mktemp -d /tmp/vantage-fastpath.XXXXXX)
trap 'rm -rf "$T"' EXIT
for t in ping:1001 traceroute:2001 dns:3001; do
	jq -c 'select((.fw // 0) >= 4600) | del(.msm_id, .prb_id, .timestamp,
		.type, .from, .group_id, .step, .stored_timestamp, .msm_name,
		.avg, .min, .max, .dup, .rcvd, .sent, .id, .time)' \
		"$SAMPLES/${t%%:*}.jsonl" |
		sed "s/^{/${t%%:*}\t{\"id\":\"${t##*:}\",\"time\":1700000000,/"
done >"$T/lines"
for i in $(seq "$RUNS"); do
	"$BENCH" "$T/lines" "$ROUNDS" || exit 1
done >"$T/runs"
sed 's/^/  /' "$T/runs"
med() { awk -v c="$1" '{print $c}' "$T/runs" | sort -n |
	awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
fast=$(med 6) general=$(med 8)
echo "fast path ns per line (median of $RUNS): $fast, general path (reference): $general, fast/general $(awk -v a="$fast" -v b="$general" 'BEGIN {printf "%.2f", b ? a / b : 0}'), load $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "${FASTPATH_IR:-0}" = 1 ]; then
	command -v valgrind >/dev/null || { echo "no valgrind"; exit 1; }
	ir() { valgrind --tool=callgrind --callgrind-out-file=/dev/null \
		"$BENCH" "$T/lines" "$1" 2>&1 | sed -n 's/.*Collected : //p'; }
	a=$(ir 100) b=$(ir 200) n=$(wc -l <"$T/lines")
	# the difference of two round counts leaves out reading the file
	echo "fast path instructions per line: $(( (b - a) / (100 * n) ))"
fi
