#!/bin/bash
# tests/bench/probe.sh - figures of the probe's measurement engine, each
# beside its reference measured in the same run:
#   - resident memory and CPU with 200 crontab lines running for
#     PROBE_BENCH_SECONDS (default 60) on loopback (tests/helpers/sched_run),
#     beside the 8 MiB goal, the same process with no lines, and the
#     same evping runs done as iputils ping processes;
#   - RTT agreement of evping with iputils ping on one path at the same
#     time: in the lab (scripts/lab, root) when it comes up, else loopback.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
RUN=$TOP/build/tests/sched_run
MRUN=$TOP/build/tests/measure_run
SECS=${PROBE_BENCH_SECONDS:-60}
[ -x "$RUN" ] && [ -x "$MRUN" ] || { echo "probe: build first (make)"; exit 1; }
if [ "$(id -u)" != 0 ]; then echo "probe: skipped (raw sockets need root)"; exit 0; fi
T=$(mktemp -d /tmp/vantage-bench-probe.XXXXXX)
LAB_UP=""
cleanup() {
	[ -n "$LAB_UP" ] && "$TOP/scripts/lab" down >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT

# stat FIELD FILE: a field of sched_run's "stats" line
stat() { sed -n "s/.* $1=\([-0-9]*\).*/\1/p" "$2"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }

# ---- 200 crontab lines ----------------------------------------------------
now=$(date +%s)
end=$((now + 86400))
mkdir -p "$T/busy/crons" "$T/idle/crons"
for f in 1 2 3 4; do
	for i in $(seq 1 50); do
		n=$(((f - 1) * 50 + i))
		iv=$((5 + n % 11))
		if [ $n -le 140 ]; then
			echo "$iv $now $end UNIFORM $iv evping -4 -c 3 -i 100 -A $((10000 + n)) 127.0.0.1"
		elif [ $n -le 180 ]; then
			echo "$((iv * 2)) $now $end UNIFORM 5 evtraceroute -4 -I -c 1 -m 4 -w 500 -A $((10000 + n)) 127.0.0.1"
		else
			echo "$iv $now $end UNIFORM 2 evtdig -4 -h --timeout 1000 -A $((10000 + n)) 127.0.0.1"
		fi
	done >"$T/busy/crons/$f"
done
"$RUN" --spool "$T/idle" --seconds 3 --allow-private --quiet >"$T/idle.stats" 2>"$T/idle.log"
"$RUN" --spool "$T/busy" --seconds "$SECS" --allow-private --quiet \
	>"$T/busy.stats" 2>"$T/busy.log"
jobs=$(stat jobs "$T/busy.stats")
hwm=$(stat hwm_kb "$T/busy.stats")
rss=$(stat rss_kb "$T/busy.stats")
cpu=$(stat cpu_ms "$T/busy.stats")
idle=$(stat hwm_kb "$T/idle.stats")
runs=$(stat runs "$T/busy.stats")
late=$(stat late "$T/busy.stats")
busy=$(stat busy "$T/busy.stats")
# evping runs (each 3 echo requests), for the reference: the same runs as
# iputils ping processes (ping -c 3 -i 0.1), 32 at a time
pings=$(cat "$T"/busy/data/out/* | sed -n 's/^RESULT //p' |
	python3 -c 'import json, sys
print(sum(1 for l in sys.stdin if json.loads(l).get("sent", 0) > 0))')
echo "lines running:      $jobs for ${SECS} s ($runs runs, $late late, $busy busy skips)"
echo "probe memory:       VmHWM $(mib "$hwm"), VmRSS $(mib "$rss")" \
     "   (goal < 8.0 MiB; same process with no lines: VmHWM $(mib "$idle"))"
refcpu=$(python3 - "$pings" <<'PY'
import resource, subprocess, sys
n = max(int(sys.argv[1]), 1)
cmd = "seq %d | xargs -P 32 -I{} ping -q -n -c 3 -i 0.1 127.0.0.1 >/dev/null" % n
subprocess.run(["sh", "-c", cmd], stderr=subprocess.DEVNULL)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(int((r.ru_utime + r.ru_stime) * 1000))
PY
)
awk -v c="$cpu" -v s="$SECS" -v r="$refcpu" -v n="$pings" 'BEGIN {
	printf "probe CPU:          %.2f s user+sys, %.2f%% of one core" \
	       "   (the %d evping runs as iputils ping -c 3 processes: %.2f s)\n",
	       c / 1000, c / 10 / s, n, r / 1000 }'

# ---- RTT agreement with iputils ping ----------------------------------------
WHERE=loopback
TARGET=127.0.0.1
NS=""
if command -v ip >/dev/null && [ -x "$TOP/scripts/lab" ]; then
	export VANTAGE_LAB_PREFIX="vtb$$-" VANTAGE_LAB_DIR="$T/lab"
	if "$TOP/scripts/lab" up >"$T/lab.log" 2>&1; then
		LAB_UP=1
		# shellcheck disable=SC1091
		. "$VANTAGE_LAB_DIR/hosts.env"
		p=$(echo "$LAB_PROBES" | awk '{ print $NF }')
		eval "v4=\${LAB_${p}_V4:-}"
		if [ -n "${v4:-}" ] && [ -n "${LAB_ANYCAST4:-}" ]; then
			NS="ip netns exec ${VANTAGE_LAB_PREFIX}$p"
			TARGET=$LAB_ANYCAST4
			WHERE="lab, probe $p to the anycast address"
		fi
	fi
fi
N=50
$NS "$MRUN" --run "evping -4 -c $N -i 200 -A 1 $TARGET" --allow-private \
	--no-drop >"$T/ev.out" 2>/dev/null &
evpid=$!
$NS ping -n -c $N -i 0.2 "$TARGET" >"$T/ping.out" 2>/dev/null
wait $evpid
python3 - "$T/ev.out" "$T/ping.out" "$WHERE" <<'PY'
import json, re, statistics, sys
ev = []
for l in open(sys.argv[1]):
    if l.startswith("RESULT "):
        ev = [x["rtt"] for x in json.loads(l[7:])["result"] if "rtt" in x]
pg = [float(m.group(1)) for m in re.finditer(r"time=([0-9.]+) ms", open(sys.argv[2]).read())]
n = min(len(ev), len(pg))
if n == 0:
    print("RTT agreement:      no replies (%d evping, %d ping)" % (len(ev), len(pg)))
    sys.exit(0)
d = [ev[i] - pg[i] for i in range(n)]
print("RTT agreement (%s): median(evping - ping) %+.3f ms over %d pairs"
      "   (ping median RTT %.3f ms, evping median %.3f ms)"
      % (sys.argv[3], statistics.median(d), n, statistics.median(pg[:n]),
         statistics.median(ev[:n])))
PY
