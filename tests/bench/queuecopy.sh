#!/bin/bash
# queuecopy bench: what PostgreSQL's CPU for the sink's COPY into
# result_queue is made of.  The same rows (RIPE sample lines in the shape
# pipe_load posts, ~1 KB each, 400 probes) go by COPY, each way twice:
#   tables: result_queue itself (identity key, primary key index, the
#     statement-level wake trigger of 008/018); the same without the
#     trigger; without the primary key index; without the identity column
#     (no key at all); without session_id (the narrowest rows the worker
#     could read)
#   shapes: one COPY of every row; two concurrent COPYs of half each (two
#     backends extending one relation); COPYs of G rows one after another
#     on one connection (the sink's groups, one thread); the same split over
#     two connections at once (the gateway's two sink threads); grp1r and
#     grp2r: the same into a table as the workers leave the queue (the
#     rows loaded, claimed away with DELETE and vacuumed: its pages are
#     free space to reuse, as in the end-to-end runs), not a truncated one;
#     grp2d: grp2 while a third session claims rows away as a worker does
#     (DELETE of the oldest 500 by id, SKIP LOCKED, a commit each; tables
#     with an id only) until the COPYs are done and the table is empty
# Each figure is the CPU time of the whole cluster (bench_pg_cpu_ms) per
# 1000 rows, and the COPY sessions' own backends' CPU (theirs alone: no
# claiming, vacuum or checkpoint); the machine is noisy, so compare within
# a run and across its two rounds.  The wall time is beside it.
#   QCOPY_BENCH_ROWS=N (default 60000)  QCOPY_BENCH_GROUP=G (default 1500)
#   QCOPY_BENCH_SHAPES="one two grp1 grp2"  QCOPY_BENCH_GROUPS="G ..." (more
#   group sizes for result_queue alone, one connection)
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/helpers/bench_lib.sh"
N=${QCOPY_BENCH_ROWS:-60000}
G=${QCOPY_BENCH_GROUP:-1500}
read -r -a SHAPES <<<"${QCOPY_BENCH_SHAPES:-one two grp1 grp2}"
read -r -a GROUPS_ <<<"${QCOPY_BENCH_GROUPS:-}"
SAMPLES=${VANTAGE_SAMPLES:-$TOP/../shared/samples}
[ -x "$BIN/vantage" ] || { echo "build first"; exit 1; }
[ -f "$SAMPLES/ping.jsonl" ] || { echo "no samples in $SAMPLES"; exit 1; }
command -v jq >/dev/null || { echo "jq missing"; exit 1; }
t_setup
t_pg_start >/dev/null || exit 1

# The probe's lines as pipe_load posts them (pipeline.sh), as COPY text.
for t in ping traceroute dns; do
	jq -c 'select((.fw // 0) >= 4600) | del(.msm_id, .prb_id, .timestamp,
		.type, .from, .group_id, .step, .stored_timestamp, .msm_name,
		.avg, .min, .max, .dup, .rcvd, .sent)' "$SAMPLES/$t.jsonl"
done | sed 's/\\/\\\\/g' >"$T/lines"
awk -v n="$N" '{ l[NR] = $0 } END { for (i = 0; i < n; i++) { p = 1 + i % 400
	printf "%d\t%016x\t10.%d.%d.1\t\\N\t2026-12-03 13:00:00+00\t%s\n", p, p * 7919, int(p / 250), p % 250, l[1 + i % NR] } }' \
	"$T/lines" >"$T/rows"
cut -f1,3- "$T/rows" >"$T/rows.nosid"
echo "rows: $N of $(($(wc -c <"$T/rows") / N)) bytes on average (COPY text), groups of $G"
t_psql "CREATE TABLE q_notrg (LIKE result_queue INCLUDING ALL);
	CREATE TABLE q_nopk (id bigint GENERATED ALWAYS AS IDENTITY,
	    probe_id integer NOT NULL, session_id text NOT NULL, from_addr inet,
	    received timestamptz NOT NULL DEFAULT now(), src text, line text NOT NULL);
	CREATE TABLE q_noid (probe_id integer NOT NULL, session_id text NOT NULL,
	    from_addr inet, received timestamptz NOT NULL DEFAULT now(), src text,
	    line text NOT NULL);
	CREATE TABLE q_nosid (id bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
	    probe_id integer NOT NULL, from_addr inet,
	    received timestamptz NOT NULL DEFAULT now(), src text, line text NOT NULL);
	CREATE TRIGGER q_nosid_notify AFTER INSERT ON q_nosid
	    FOR EACH STATEMENT EXECUTE FUNCTION vt_queue_notify_trg()"
COLS="probe_id, session_id, from_addr, src, received, line"
NOSID="probe_id, from_addr, src, received, line"

# copy_script TABLE COLS FILE...: psql commands that COPY the files in turn
# (and the CPU ticks of its backend, at the end, into $T/bcpu)
copy_script() {
	local tb=$1 c=$2 f
	shift 2
	echo "SELECT pg_backend_pid() AS pid \\gset"
	echo "\\setenv QCOPY_PID :pid"
	for f in "$@"; do echo "\\copy $tb ($c) FROM '$f'"; done
	echo "\\! awk '{ print \$14 + \$15 }' /proc/\$QCOPY_PID/stat >>$T/bcpu"
}
# claim TABLE: deletes the table's oldest rows as a worker claims them
# until $T/copying goes away and the table is empty
claim() {
	while [ -e "$T/copying" ] || [ "$(t_psql "SELECT count(*) > 0 FROM $1")" = t ]; do
		echo "DELETE FROM $1 WHERE id IN (SELECT id FROM $1 ORDER BY id LIMIT 500 FOR UPDATE SKIP LOCKED);"
	done | psql "$VANTAGE_DB" -qX -v ON_ERROR_STOP=1 >/dev/null
}
# The gateway's sessions compress with lz4 (pipeline.sh's reference too).
run_psql() { PGOPTIONS="-c default_toast_compression=lz4" psql "$VANTAGE_DB" -qX -v ON_ERROR_STOP=1 -f "$1" >/dev/null; }
# measure LABEL TABLE COLS FILE SHAPE GROUP
measure() {
	local tb=$2 c=$3 f=$4 shape=$5 g=$6 c0 t0 ms cpu parts reuse= drain= cl bcpu
	rm -f "$T"/part.* "$T/bcpu"
	case $shape in *r) reuse=1 shape=${shape%r} ;; *d) drain=1 shape=${shape%d} ;; esac
	[ -n "$drain" ] && [ "$tb" = q_noid ] && return
	case $shape in
	one) copy_script "$tb" "$c" "$f" >"$T/s1" ;;
	two) split -n l/2 "$f" "$T/part."
	     copy_script "$tb" "$c" "$T/part.aa" >"$T/s1"
	     copy_script "$tb" "$c" "$T/part.ab" >"$T/s2" ;;
	grp1) split -l "$g" "$f" "$T/part."
	      copy_script "$tb" "$c" "$T"/part.* >"$T/s1" ;;
	grp2) split -l "$g" "$f" "$T/part."
	      parts=("$T"/part.*)
	      copy_script "$tb" "$c" $(printf '%s\n' "${parts[@]}" | awk 'NR % 2') >"$T/s1"
	      copy_script "$tb" "$c" $(printf '%s\n' "${parts[@]}" | awk '!(NR % 2)') >"$T/s2" ;;
	esac
	t_psql "TRUNCATE $tb"
	if [ -n "$reuse" ]; then
		psql "$VANTAGE_DB" -qX -v ON_ERROR_STOP=1 -c "\\copy $tb ($c) FROM '$f'" >/dev/null
		t_psql "DELETE FROM $tb"
		t_psql "VACUUM $tb"
	fi
	t_psql "CHECKPOINT"
	c0=$(bench_pg_cpu_ms)
	t0=$(bench_ms)
	if [ -n "$drain" ]; then
		: >"$T/copying"
		claim "$tb" &
		cl=$!
	fi
	if [ "$shape" = two ] || [ "$shape" = grp2 ]; then
		run_psql "$T/s1" & p1=$!
		run_psql "$T/s2" & p2=$!
		wait $p1 $p2
	else
		run_psql "$T/s1"
	fi
	if [ -n "$drain" ]; then
		rm -f "$T/copying"
		wait $cl
	fi
	ms=$(($(bench_ms) - t0))
	cpu=$(($(bench_pg_cpu_ms) - c0))
	bcpu=$(awk -v hz="$(getconf CLK_TCK)" '{ s += $1 } END { printf "%d", s * 1000 / hz }' "$T/bcpu")
	[ -n "$drain" ] || [ "$(bench_count "$tb")" = "$N" ] || { echo "$1: $tb holds $(bench_count "$tb") of $N"; exit 1; }
	printf '%-36s %-5s PostgreSQL CPU %5.1f ms per 1000 rows, the COPY backends %5.1f  (wall %d ms)\n' "$1" "$shape${reuse:+r}${drain:+d}" \
		"$(awk -v c="$cpu" -v n="$N" 'BEGIN { print c * 1000 / n }')" \
		"$(awk -v c="$bcpu" -v n="$N" 'BEGIN { print c * 1000 / n }')" "$ms"
}
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in 1 2; do
	echo "round $round"
	for s in "${SHAPES[@]}"; do
		measure "result_queue" result_queue "$COLS" "$T/rows" "$s" "$G"
		measure "  without the wake trigger" q_notrg "$COLS" "$T/rows" "$s" "$G"
		measure "  without the primary key index" q_nopk "$COLS" "$T/rows" "$s" "$G"
		measure "  without the identity column" q_noid "$COLS" "$T/rows" "$s" "$G"
		measure "  without session_id" q_nosid "$NOSID" "$T/rows.nosid" "$s" "$G"
	done
	for g in "${GROUPS_[@]}"; do
		measure "result_queue, groups of $g" result_queue "$COLS" "$T/rows" grp1 "$g"
	done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
