#!/bin/bash
# gateway_groupcommit: uploads waiting for the sink threads are stored
# together (one INSERT, one transaction), each acknowledged only after that
# COMMIT; a line that cannot be stored as text (not UTF-8, a NUL byte) is
# refused on its own into rejected with its reason, in the same
# transaction, and its upload is still acknowledged.  Also the binary
# arrays and COPY streams of common/pgbin.h against a real server.  Last,
# acknowledged means durable: PostgreSQL is killed (immediate shutdown, as
# at a crash) the moment an upload is acknowledged, and after recovery every
# acknowledged upload is whole in the queue.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/helpers/gw_lib.sh"
t_setup
gw_setup
command -v curl >/dev/null || t_skip "no curl"
PGBIN_TEST=${VANTAGE_UNIT:-$TOP/build/tests}/test_pgbin
t_check "binary arrays read by PostgreSQL and sent back byte for byte" \
	"$PGBIN_TEST" "$VANTAGE_DB"

M=$(t_free_port)
gw_start --db-timeout 300 --metrics "127.0.0.1:$M" || { t_notok "gateway starts"; cat "$T/gw.log"; t_done; exit 1; }
gw_init_ctrl
t_check "controller INIT" [ -n "$SID" ]
t_check "KEEP up" gw_keep
t_check "crontab push settled" gw_crontab_settled 1

# lock_hold: another client holds result_queue until $T/release appears.
lock_hold() { gw_hold "LOCK TABLE result_queue IN ACCESS EXCLUSIVE MODE"; }
# round NAME BAD: six uploads of two lines each while the queue is locked
# (upload number BAD carries a line that is not valid UTF-8); the sink
# threads hold what they took (one job, or a group of those already
# queued, each), the rest waits in the lane.  The lock is let go once the
# gateway's sink lane holds all six (its metrics), an event: neither a
# count of lock waiters (two uploads that reach the lane before a sink
# thread wakes are one group, one waiter) nor a pause.  The clients wait
# as long as the lock may be held (gw_hold: five minutes): a client that
# gave up first would leave its stored upload unacknowledged.
round() {
	local i pids=()
	t_check "$1: result_queue locked" lock_hold
	for i in 1 2 3 4 5 6; do
		{
			printf 'P_TO_C_REPORT\n'
			printf 'RESULT {"id":"1001","round":"%s","up":%d,"n":1}\n' "$1" "$i"
			if [ "$i" = "$2" ]; then
				printf 'RESULT {"id":"1001","bad":"\377\376"}\n'
			else
				printf 'RESULT {"id":"1001","round":"%s","up":%d,"n":2}\n' "$1" "$i"
			fi
			printf 'SESSION_ID %s\n' "$SID"
		} >"$T/up.$1.$i"
		GW_POST_TIME=600 gw_post "$T/up.$1.$i" "$PRB" "$SID" \
			>"$T/out.$1.$i" 2>&1 &
		pids+=($!)
		t_bg $!
	done
	t_check "$1: all six uploads reach the gateway's sink lane" \
		t_wait 300 gw_depth_at_least "$M" sink 6
	t_check "$1: nothing acknowledged before COMMIT" sh -c "! cat $T/out.$1.* | grep -q '^OK'"
	touch "$T/release"
	wait "${pids[@]}"
}

round group 0
ok=0
for i in 1 2 3 4 5 6; do
	if gw_body_ok <"$T/out.group.$i"; then
		ok=$((ok + 1))
	else    # what the client got instead, for the log
		t_log "group: upload $i got: $(tr -d '\r' <"$T/out.group.$i" | tr '\n' '|' | cut -c1-300)"
	fi
done
t_check "group: all six uploads acknowledged" [ "$ok" = 6 ]
t_check "group: every line queued once" [ "$(t_psql "SELECT count(DISTINCT line) || '/' || count(*) FROM result_queue WHERE line LIKE '%\"group\"%'")" = 12/12 ]
# rows of one transaction share xmin: the four that waited went in one
txns=$(t_psql "SELECT count(DISTINCT xmin::text) FROM result_queue WHERE line LIKE '%\"group\"%'")
t_log "group: 6 uploads stored in $txns transactions"
t_check "group: the waiting uploads were stored together" [ "$txns" -le 3 ]
t_check "group: columns as before" [ "$(t_psql "SELECT count(*) FROM result_queue WHERE line LIKE '%\"group\"%' AND probe_id = $PRB AND session_id = '$SID' AND from_addr = '127.0.0.1' AND src IS NULL AND received > now() - interval '10 minutes' AND received <= now()")" = 12 ]

round bad 5
for i in 1 2 3 4 5 6; do
	t_check "bad: upload $i acknowledged" gw_body_ok <"$T/out.bad.$i"
done
t_check "bad: the eleven good lines queued once" [ "$(t_psql "SELECT count(DISTINCT line) || '/' || count(*) FROM result_queue WHERE line LIKE '%\"bad\"%'")" = 11/11 ]
t_check "bad: the good line of upload 5 queued" [ "$(t_psql "SELECT count(*) FROM result_queue WHERE line LIKE '%\"round\":\"bad\",\"up\":5,%'")" = 1 ]
t_check "bad: the bad line not queued" [ "$(t_psql "SELECT count(*) FROM result_queue WHERE line LIKE '%\"bad\":%'")" = 0 ]
t_check "bad: the bad line kept in rejected, escaped, with its reason" \
	[ "$(t_psql "SELECT probe_id || ' ' || reason || ' ' || line FROM rejected")" = "$PRB gateway: not UTF-8 at byte 20 {\"id\":\"1001\",\"bad\":\"\\xff\\xfe\"}" ]

# A line with a raw NUL byte: refused on its own, never silently.
{
	printf 'P_TO_C_REPORT\n'
	printf 'RESULT {"id":"1001","nul":1}\n'
	printf 'RESULT {"id":"1001","nul":"a\0b"}\n'
	printf 'SESSION_ID %s\n' "$SID"
} >"$T/up.nul"
gw_post "$T/up.nul" "$PRB" "$SID" >"$T/out.nul"
t_check "NUL: upload acknowledged" gw_body_ok <"$T/out.nul"
t_check "NUL: the good line queued" [ "$(t_psql "SELECT count(*) FROM result_queue WHERE line = '{\"id\":\"1001\",\"nul\":1}'")" = 1 ]
t_check "NUL: the bad line kept in rejected with its reason" \
	[ "$(t_psql "SELECT reason || ' ' || line FROM rejected WHERE reason LIKE '%NUL%'")" = "gateway: NUL byte at byte 21 {\"id\":\"1001\",\"nul\":\"a\\x00b\"}" ]
# Only bad lines: nothing queued, all kept, still acknowledged.
printf 'P_TO_C_REPORT\nRESULT {"only":"\377"}\nSESSION_ID %s\n' "$SID" >"$T/up.only"
gw_post "$T/up.only" "$PRB" "$SID" >"$T/out.only"
t_check "only bad lines: acknowledged" gw_body_ok <"$T/out.only"
t_check "only bad lines: kept in rejected" [ "$(t_psql "SELECT count(*) FROM rejected WHERE line LIKE '{\"only\"%'")" = 1 ]
t_check "gateway still running" kill -0 "$GWPID"

# Six uploads of 40 lines at once (the sink's COPY); the first
# acknowledgement kills the cluster at once (no checkpoint, no shutdown
# flush).  Whatever was acknowledged must come back from the WAL.
pport=$(printf '%s\n' "$VANTAGE_DB" | sed -n 's/.*port=\([0-9]*\).*/\1/p')
pids=()
for i in 1 2 3 4 5 6; do
	{
		printf 'P_TO_C_REPORT\n'
		for n in $(seq 1 40); do
			printf 'RESULT {"id":"1001","crash":%d,"n":%d}\n' "$i" "$n"
		done
		printf 'SESSION_ID %s\n' "$SID"
	} >"$T/up.crash.$i"
	(
		gw_post "$T/up.crash.$i" "$PRB" "$SID" >"$T/out.crash.$i" 2>&1
		gw_body_ok <"$T/out.crash.$i" && mkdir "$T/killed" 2>/dev/null &&
			"$TOP/scripts/pg" kill "$T/pg"
	) &
	pids+=($!)
done
wait "${pids[@]}"
t_check "crash: an upload was acknowledged, then the cluster killed" test -d "$T/killed"
"$TOP/scripts/pg" start "$T/pg" "$pport" >/dev/null
acked=0 whole=0 torn=0
for i in 1 2 3 4 5 6; do
	n=$(t_psql "SELECT count(*) FROM result_queue WHERE line LIKE '{\"id\":\"1001\",\"crash\":$i,%'")
	if gw_body_ok <"$T/out.crash.$i"; then
		acked=$((acked + 1))
		[ "$n" = 40 ] && whole=$((whole + 1))
	fi
	[ "$n" = 0 ] || [ "$n" = 40 ] || torn=$((torn + 1))
done
t_log "crash: $acked of 6 uploads acknowledged before the kill"
t_check "crash: every acknowledged upload survives whole" [ "$whole" = "$acked" ]
t_check "crash: no upload half stored" [ "$torn" = 0 ]
t_done
