#!/bin/bash
# gateway_crontabbatch: the control lane builds the crontabs of a group of
# probes with one scheduler query for all of them, not one per probe, and
# each probe still gets exactly its own lines.  40 probes hold KEEP; three
# periodic measurements are assigned, probe by probe a different set (none,
# the first, the first two, the last two); the lane's backend is stopped
# while the 40 are NOTIFYed on vantage_crontab (40 crontab jobs queue up);
# once it goes on (SIGCONT), at most a few queries read the assignments,
# and each probe's pushed crontab holds its own measurements' lines, in
# measurement order, exactly as written before (the lines as
# gateway_push_claims and probe_gw_sched expect them).
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/helpers/gw_lib.sh"
t_setup
gw_setup
K=40
gw_hold_batch

# Three periodic pings; probe p gets none, {1}, {1,2} or {2,3} by p mod 4.
msm() {
	printf '{"definitions": [{"type": "ping", "af": 4, "target": "192.0.2.%s",
	  "interval": 240, "spread": 10, "description": "crontab %s"}],
	  "probes": [{"type": "probes", "value": "%s", "requested": 1}]}' \
	  "$1" "$1" "$PRB" | "$BIN/vantage" msm create -
}
M1=$(msm 1)
M2=$(msm 2)
M3=$(msm 3)
t_check "three periodic measurements made ($M1 $M2 $M3)" test -n "$M1" -a -n "$M2" -a -n "$M3"
t_psql "UPDATE measurements SET status = 2, start_time = 1700000000
	WHERE id IN ($M1, $M2, $M3)" >/dev/null
PIDS="SELECT probe_id FROM probe_sessions WHERE connected AND gateway = 'gw-test'"
t_psql "DELETE FROM assignments WHERE msm_id IN ($M1, $M2, $M3);
	INSERT INTO assignments (msm_id, probe_id)
	SELECT m, p FROM ($PIDS) s(p), unnest('{$M1,$M2,$M3}'::bigint[]) m
	WHERE (p % 4 = 1 AND m = $M1) OR (p % 4 = 2 AND m IN ($M1, $M2))
	   OR (p % 4 = 3 AND m IN ($M2, $M3))" >/dev/null

t_psql "ALTER SYSTEM SET log_statement = 'all'" >/dev/null
t_psql "SELECT pg_reload_conf()" >/dev/null
gw_notify_stopped
# the new pushes, one per probe (the generator answers none of them: its
# hold is over; their text is what counts here)
made() { [ "$(t_psql "SELECT count(DISTINCT probe_id) FROM probe_pushes WHERE kind = 'crontab' AND id > $LAST")" = "$1" ]; }
t_check "$K crontab pushes made again" t_wait 300 made "$K"
queries=$(tail -c +$((LOG0 + 1)) "$T/pg/server.log" | grep -c 'FROM assignments a JOIN measurements m')
t_log "scheduler queries after the stop: $queries for $K probes"
t_check "the $K crontabs in at most 3 scheduler queries (one per probe before)" \
	[ "$queries" -ge 1 -a "$queries" -le 3 ]

# Each probe's latest crontab push: its lines, exactly.
line() { echo "CRONLINE 240 1700000000 2147483647 UNIFORM 10 evping -4 -c 3 -s 48 -i 1000 -A $1 -O /home/atlas/data/new/2 192.0.2.$2"; }
expect() { # PROBE_ID
	case $(($1 % 4)) in
	1) line "$M1" 1 ;;
	2) line "$M1" 1; line "$M2" 2 ;;
	3) line "$M2" 2; line "$M3" 3 ;;
	esac
}
bad=0 n=0
for p in $(t_psql "$PIDS ORDER BY 1"); do
	n=$((n + 1))
	t_psql "SELECT batch FROM probe_pushes WHERE probe_id = $p AND kind = 'crontab'
		AND id > $LAST ORDER BY id DESC LIMIT 1" >"$T/batch.$p"
	# the measurement crontab's lines (the upload job's crontab follows)
	awk '/^CRONTAB / { sec = $2 } /^CRONLINE / && sec == "/home/atlas/crons/7"' \
		"$T/batch.$p" >"$T/got.$p"
	if [ "$(expect "$p")" != "$(cat "$T/got.$p")" ]; then
		bad=$((bad + 1))
		t_log "probe $p: got $(cat "$T/got.$p"), expected $(expect "$p")"
	fi
done
t_check "every probe's crontab holds its own lines, in measurement order ($n probes)" \
	[ "$bad" = 0 -a "$n" = "$K" ]
t_check "the crontab first, then the upload job, in each" \
	sh -c "for f in '$T'/batch.*; do head -1 \"\$f\" | grep -q '^CRONTAB /home/atlas/crons/7' || exit 1;
		grep -q 'PROBE_ID' \"\$f\" || exit 1; done"
t_check "gateway still running" kill -0 "$GWPID"
gw_tell quit
t_done
