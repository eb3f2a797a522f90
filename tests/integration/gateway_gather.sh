#!/bin/bash
# gateway_gather: while one group of uploads commits, the uploads that
# arrive meanwhile wait and go together in the next COPY and COMMIT
# (--sink-gather), instead of the first of them going alone beside it; none
# is acknowledged before its own COMMIT and none is lost.  The commit is
# held by a lock on result_queue, so the grouping is decided by events, not
# by timing: one upload holds the first sink thread, five more arrive.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/helpers/gw_lib.sh"
t_setup
gw_setup
command -v curl >/dev/null || t_skip "no curl"
M=$(t_free_port)
gw_start --db-timeout 300 --sink-gather 60000 --metrics "127.0.0.1:$M" ||
	{ t_notok "gateway starts"; cat "$T/gw.log"; t_done; exit 1; }
gw_init_ctrl
t_check "controller INIT" [ -n "$SID" ]
t_check "KEEP up" gw_keep
t_check "crontab push settled" gw_crontab_settled 1

lock_waiters() {
	[ "$(t_psql "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'result_queue'::regclass")" -ge "$1" ]
}
# upload I: two lines, posted in the background.
upload() {
	{
		printf 'P_TO_C_REPORT\n'
		printf 'RESULT {"id":"1001","gather":%d,"n":1}\n' "$1"
		printf 'RESULT {"id":"1001","gather":%d,"n":2}\n' "$1"
		printf 'SESSION_ID %s\n' "$SID"
	} >"$T/up.$1"
	GW_POST_TIME=200 gw_post "$T/up.$1" "$PRB" "$SID" >"$T/out.$1" 2>&1 &
	pids+=($!)
	t_bg $!
}

pids=()
t_check "result_queue locked" gw_hold "LOCK TABLE result_queue IN ACCESS EXCLUSIVE MODE"
upload 1
t_check "upload 1 holds a sink thread at the lock" t_wait 60 lock_waiters 1
for i in 2 3 4 5 6; do upload "$i"; done
# one running, five queued: the other sink thread gathers them instead of
# taking upload 2 alone into the lock
t_check "five uploads queued behind the first" t_wait 120 gw_depth_at_least "$M" sink 6
t_check "only the first waits at the lock" [ "$(t_psql "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'result_queue'::regclass")" = 1 ]
t_check "nothing acknowledged before COMMIT" sh -c "! cat $T/out.* | grep -q '^OK'"
touch "$T/release"
wait "${pids[@]}"
ok=0
for i in 1 2 3 4 5 6; do
	if gw_body_ok <"$T/out.$i"; then
		ok=$((ok + 1))
	else
		t_log "upload $i got: $(tr -d '\r' <"$T/out.$i" | tr '\n' '|' | cut -c1-300)"
	fi
done
t_check "all six uploads acknowledged" [ "$ok" = 6 ]
t_check "every line queued once" [ "$(t_psql "SELECT count(DISTINCT line) || '/' || count(*) FROM result_queue WHERE line LIKE '%\"gather\"%'")" = 12/12 ]
# rows of one transaction (one COPY) share xmin
txns=$(t_psql "SELECT count(DISTINCT xmin::text) FROM result_queue WHERE line LIKE '%\"gather\"%'")
t_log "6 uploads stored in $txns transactions"
t_check "the five that arrived during the first COMMIT went in one" [ "$txns" = 2 ]
t_check "gateway still running" kill -0 "$GWPID"
t_done
