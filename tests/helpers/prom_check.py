#!/usr/bin/python3
"""prom_check.py - a strict checker of the Prometheus text exposition
format (version 0.0.4), and a reader of the numbers in it.

    prom_check.py FILE                 exit 0 when FILE is valid, else
                                       print why (one line each), exit 1
    prom_check.py FILE NAME [L=V ...]  also print the sum of the samples
                                       called NAME whose labels include
                                       every L=V (nothing: none matched)
"""
import math
import re
import sys

NAME = re.compile(r'[a-zA-Z_:][a-zA-Z0-9_:]*$')
LABEL = re.compile(r'[a-zA-Z_][a-zA-Z0-9_]*$')
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def number(s):
    if s in ("+Inf", "Inf"):
        return math.inf
    if s == "-Inf":
        return -math.inf
    if s == "NaN":
        return math.nan
    if not re.match(r'^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$', s):
        raise ValueError("bad number %r" % s)
    return float(s)


def sample(line):
    """name, {labels}, value of one sample line."""
    m = re.match(r'([a-zA-Z_:][a-zA-Z0-9_:]*)', line)
    if not m:
        raise ValueError("no metric name")
    name, i, labels = m.group(1), m.end(), {}
    if i < len(line) and line[i] == "{":
        i += 1
        while True:
            if line[i] == "}":
                i += 1
                break
            m = re.match(r'([a-zA-Z_][a-zA-Z0-9_]*)="', line[i:])
            if not m:
                raise ValueError("bad label at %r" % line[i:i + 20])
            key, i, val = m.group(1), i + m.end(), ""
            while line[i] != '"':
                if line[i] == "\\":
                    nxt = line[i + 1]
                    if nxt not in '\\"n':
                        raise ValueError("bad escape \\%s" % nxt)
                    val += "\n" if nxt == "n" else nxt
                    i += 2
                else:
                    if line[i] == "\n":
                        raise ValueError("newline in a label value")
                    val += line[i]
                    i += 1
            i += 1
            if key in labels:
                raise ValueError("label %s twice" % key)
            labels[key] = val
            if line[i] == ",":
                i += 1
            elif line[i] != "}":
                raise ValueError("expected , or } after a label")
    if i >= len(line) or line[i] != " ":
        raise ValueError("no space before the value")
    parts = line[i + 1:].split(" ")
    if len(parts) not in (1, 2):
        raise ValueError("trailing text")
    value = number(parts[0])
    if len(parts) == 2 and not re.match(r'^-?\d+$', parts[1]):
        raise ValueError("bad timestamp")
    return name, labels, value


def check(text):
    errors, samples = [], []
    types, helps, done, current = {}, {}, set(), None
    seen = set()
    hist = {}
    if text and not text.endswith("\n"):
        errors.append("the text does not end with a newline")
    for n, line in enumerate(text.split("\n")[:-1], 1):
        try:
            if line.startswith("#"):
                f = line.split(" ", 3)
                if len(f) >= 3 and f[1] in ("HELP", "TYPE"):
                    if not NAME.match(f[2]):
                        raise ValueError("bad name %r" % f[2])
                    table = helps if f[1] == "HELP" else types
                    if f[2] in table:
                        raise ValueError("second %s for %s" % (f[1], f[2]))
                    if f[1] == "TYPE":
                        if len(f) != 4 or f[3] not in TYPES:
                            raise ValueError("bad type")
                        if f[2] in done or current == f[2]:
                            raise ValueError("TYPE after samples of " + f[2])
                        table[f[2]] = f[3]
                    else:
                        h = f[3] if len(f) == 4 else ""
                        if re.search(r'\\[^\\n]', h.replace("\\\\", "")):
                            raise ValueError("bad escape in HELP")
                        table[f[2]] = h
                continue
            if not line.strip():
                continue
            name, labels, value = sample(line)
            fam = name
            for suf in ("_bucket", "_sum", "_count"):
                base = name[:-len(suf)]
                if name.endswith(suf) and types.get(base) == "histogram":
                    fam = base
            if fam != current:
                if fam in done:
                    raise ValueError("samples of %s not together" % fam)
                if current:
                    done.add(current)
                current = fam
            t = types.get(fam, "untyped")
            key = (name, tuple(sorted(labels.items())))
            if key in seen:
                raise ValueError("series twice: %s" % line)
            seen.add(key)
            if t == "counter":
                if not name.endswith("_total"):
                    raise ValueError("counter %s without _total" % name)
                if value < 0 or math.isnan(value):
                    raise ValueError("counter below 0")
            if t == "histogram":
                if name == fam:
                    raise ValueError("histogram sample without suffix")
                rest = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
                h = hist.setdefault((fam, rest), {"b": [], "count": None})
                if name.endswith("_bucket"):
                    if "le" not in labels:
                        raise ValueError("bucket without le")
                    h["b"].append((number(labels["le"]), value))
                elif name.endswith("_count"):
                    h["count"] = value
                elif "le" in labels:
                    raise ValueError("le on " + name)
            samples.append((name, labels, value))
        except (ValueError, IndexError) as e:
            errors.append("line %d: %s: %s" % (n, e, line[:80]))
    for (fam, rest), h in hist.items():
        b = h["b"]
        if not b or b[-1][0] != math.inf:
            errors.append("%s%s: no +Inf bucket last" % (fam, dict(rest)))
            continue
        if any(b[i][0] >= b[i + 1][0] for i in range(len(b) - 1)):
            errors.append("%s: le not increasing" % fam)
        if any(b[i][1] > b[i + 1][1] for i in range(len(b) - 1)):
            errors.append("%s: buckets not cumulative" % fam)
        if h["count"] != b[-1][1]:
            errors.append("%s: _count is not the +Inf bucket" % fam)
    for fam in types:
        if fam not in helps:
            errors.append("%s: TYPE without HELP" % fam)
    return errors, samples


def main():
    text = open(sys.argv[1], encoding="utf-8").read()
    errors, samples = check(text)
    for e in errors:
        print("# " + e)
    if errors:
        sys.exit(1)
    if len(sys.argv) > 2:
        want = dict(a.split("=", 1) for a in sys.argv[3:])
        vals = [v for n, l, v in samples if n == sys.argv[2] and
                all(l.get(k) == x for k, x in want.items())]
        if vals:
            total = sum(vals)
            print(int(total) if total == int(total) else total)


main()
