#!/usr/bin/python3
"""sched_grid.py - checks one crontab line's runs against what the probe's
scheduler promises (docs/probe-scheduler.md, "When a line runs"), from its
debug log and the "time" of the results it wrote.

    sched_grid.py LOG MSM START INTERVAL SPREAD TIMES [OPTION...]

LOG: the scheduler's log at debug level, which has a line
"msm MSM: slot K planned at P, started at S" for every run; SPREAD: the
line's UNIFORM spread in seconds, 0 for NONE; TIMES: the "time" of each
result of MSM, one a line.  Options:

    --took PATTERN   the first log line with PATTERN took the line: its
                     first run is of the first slot whose window was
                     still open then, or an earlier one
    --until WHEN     the line ran until WHEN (seconds since the epoch, or
                     a log PATTERN: the time of the first line with it):
                     the slot after its last run was not yet overdue
                     (window end + the 10 s late rule) then; with a
                     PATTERN, no run is logged after that line either

Checks, none of them on how long anything took:
  - every run was planned inside its slot's window: [T(k) - s/2,
    T(k) + s/2] for UNIFORM s, [T(k), T(k) + 1 s) for NONE, and not
    before START;
  - it started at its planned time or later (a timer fires up to 1 ms
    early), and at most 10 s later (later runs are skipped, and logged);
  - one run per slot, none missing between the first and the last but
    those the log says it skipped (late, busy);
  - with a spread, not every run at the same offset;
  - the results are these runs: as many (or one fewer: a run cut short
    when the probe stopped), and each result's time between the second
    its run started and the second the next run started.
A failed check prints why on "#" lines; exit 1.
"""
import datetime
import math
import re
import sys

US = 1000000
LATE_US = 10 * US       # VT_SCHED_LATE_US


def log_time(line):
    """The time of a log line, in microseconds."""
    stamp = line.split()[0]
    t = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ")
    t = t.replace(tzinfo=datetime.timezone.utc)
    return int(round(t.timestamp() * US))


def us(text):
    """'1796315950.123456' in microseconds, without floating point."""
    s, f = text.split(".")
    return int(s) * US + int(f.ljust(6, "0")[:6])


def main(argv):
    log, msm, start, iv, spread, times = argv[1:7]
    start, iv, spread = int(start), int(iv), int(spread)
    opts = dict(zip(argv[7::2], argv[8::2]))
    lines = open(log).read().splitlines()
    run_re = re.compile(r"msm %s: slot (\d+) planned at ([0-9.]+), "
                        r"started at ([0-9.]+)$" % re.escape(msm))
    # the skips the scheduler logs (probe/sched.c), and how many slots each
    skip_re = re.compile(r"msm %s: (?:run planned at [0-9.]+ skipped, "
                         r"[0-9.]+ s late|last run still going, run skipped|"
                         r"run skipped, the last one started in the same "
                         r"second|(\d+) run\(s\) skipped, too late)$"
                         % re.escape(msm))
    runs = []           # (slot, planned, started, index of the log line)
    skipped = [0]       # slots skipped since the last run
    for i, l in enumerate(lines):
        m = run_re.search(l)
        if m:
            runs.append((int(m.group(1)), us(m.group(2)), us(m.group(3)), i))
            skipped.append(0)
            continue
        m = skip_re.search(l)
        if m:
            skipped[-1] += int(m.group(1) or 1)
    ts = sorted(int(l) for l in open(times) if l.strip())
    before = spread * US // 2 if spread else 0
    after = spread * US // 2 if spread else US - 1
    why = []

    def due(k):
        return (start + k * iv) * US

    if not runs:
        why.append("no run of msm %s in the log" % msm)
    for k, p, s, _ in runs:
        if not (max(due(k) - before, start * US) <= p <= due(k) + after):
            why.append("slot %d planned at %.6f, outside [%d - %g, %d + %g]"
                       % (k, p / US, due(k) // US, before / US,
                          due(k) // US, after / US))
        if not p - 1000 <= s <= p + LATE_US:
            why.append("slot %d planned at %.6f started at %.6f"
                       % (k, p / US, s / US))
    slots = [r[0] for r in runs]
    for i in range(1, len(slots)):
        if slots[i] - slots[i - 1] - 1 != skipped[i]:
            why.append("slot %d after slot %d, %d skip(s) logged between"
                       % (slots[i], slots[i - 1], skipped[i]))
    if spread and len(set(p - due(k) for k, p, _, _ in runs)) < 2:
        why.append("no spread at all: %s" % [p for _, p, _, _ in runs])
    if "--took" in opts and runs:
        took = next((log_time(l) for l in lines if opts["--took"] in l), None)
        if took is None:
            why.append("no log line %r" % opts["--took"])
        else:
            # the probe plans before it logs, so with the log's time the
            # first open window is this one or a later one
            first = max(0, math.ceil((took + 1000 - after - start * US)
                                     / (iv * US)))
            if slots[0] > first:
                why.append("first run of slot %d, slot %d was still open "
                           "when the line was taken (%.3f)"
                           % (slots[0], first, took / US))
    if "--until" in opts and runs:
        until = opts["--until"]
        if re.fullmatch(r"[0-9]+(\.[0-9]+)?", until):
            when = us(until if "." in until else until + ".0")
        else:
            at = next((i for i, l in enumerate(lines) if until in l), None)
            if at is None:
                why.append("no log line %r" % until)
                when = None
            else:
                when = log_time(lines[at])
                later = [r[0] for r in runs if r[3] > at]
                if later:
                    why.append("runs of slots %s after %r" % (later, until))
        # the slots skipped after the last run count as done
        nxt = slots[-1] + skipped[-1] + 1
        if when is not None and due(nxt) + after + LATE_US <= when:
            why.append("last run of slot %d (%d skipped after it), but "
                       "slot %d was overdue at %.3f"
                       % (slots[-1], skipped[-1], nxt, when / US))
    if runs and len(ts) not in (len(runs), len(runs) - 1):
        why.append("%d results of %d runs" % (len(ts), len(runs)))
    else:
        for i, t in enumerate(ts):
            lo = runs[i][2] // US
            hi = runs[i + 1][2] // US if i + 1 < len(runs) else None
            if t < lo or (hi is not None and t > hi):
                why.append("result time %d of the run of slot %d started "
                           "at %.6f (next run at %s)"
                           % (t, runs[i][0], runs[i][2] / US, hi))
    if why:
        # the reasons last: tests/run.sh's summary keeps the last 3 "#"
        # lines before a "not ok"
        print("# msm %s: runs (slot, planned, started): %s; result times %s"
              % (msm, [(k, p / US, s / US) for k, p, s, _ in runs], ts))
    for w in why[:3]:
        print("#", w)
    return 1 if why else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
