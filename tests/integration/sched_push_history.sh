#!/bin/bash
# sched_push_history: vantage-scheduler keeps the history of command pushes
# (probe_pushes) --push-history-days (default 30): older pushes that ended
# (ok, failed, expired) go, in its pass (--once) and every 10 minutes while
# it runs; a push still pending or sending, and each probe's newest push of
# each kind, stay however old.
. "$(dirname "$0")/../lib.sh"
t_setup
[ -x "$BIN/vantage-scheduler" ] || t_skip "bin/vantage-scheduler not built"
t_pg_start || { t_notok "PostgreSQL starts"; t_done; exit 1; }
S=$BIN/vantage-scheduler

t_psql "INSERT INTO probes (id, key_type, pubkey)
	VALUES (11, 'ssh-ed25519', 'k11'), (12, 'ssh-ed25519', 'k12')"
# push PROBE NAME KIND STATUS DAYS: a push NAME (its batch) made and, when
# it ended, finished DAYS days ago
push() {
	local fin=NULL
	case "$4" in ok|failed|expired) fin="now() - interval '$5 days'" ;; esac
	t_psql "INSERT INTO probe_pushes (probe_id, batch, kind, status, created,
		finished, claimed, gateway)
		VALUES ($1, '$2', '$3', '$4', now() - interval '$5 days', $fin,
		CASE WHEN '$4' = 'sending' THEN now() END,
		CASE WHEN '$4' = 'sending' THEN 'gw' END)"
}
left() { t_psql "SELECT coalesce(string_agg(batch, ' ' ORDER BY id), '-') FROM probe_pushes"; }
push 11 a-old-ok crontab ok 40
push 11 a-old-expired crontab expired 45
push 11 a-old-failed manual failed 50
push 11 a-recent-ok crontab ok 29
push 11 a-manual-newest manual ok 40
push 11 a-crontab-newest crontab ok 35
push 12 b-old-ok crontab ok 40
push 12 b-sending crontab sending 40
push 12 b-pending crontab pending 40
push 12 b-newest crontab failed 40

t_check "--push-history-days 0 is refused" t_refuses 2 "--push-history-days: '0'" \
	"$S" --once --push-history-days 0
t_check "--push-history-days 3651 is refused" t_refuses 2 "--push-history-days: '3651'" \
	"$S" --once --push-history-days 3651
t_check "--push-history-days x is refused" t_refuses 2 "--push-history-days: 'x'" \
	"$S" --once --push-history-days x
t_check "nothing deleted by a refused start" test "$(t_psql "SELECT count(*) FROM probe_pushes")" = 10

"$S" --once >"$T/once.log" 2>&1
t_check "a pass (--once) with the default: exit 0" test $? = 0
t_check "... it says what went" grep -q 'push history: 4 push(es) older than 30 days deleted' "$T/once.log"
t_check "... the ended pushes older than 30 days went; pending, sending, newest and recent stay" \
	test "$(left)" = "a-recent-ok a-manual-newest a-crontab-newest b-sending b-pending b-newest"
"$S" --once --push-history-days 7 >"$T/once7.log" 2>&1
t_check "--push-history-days 7: the 29-day-old push goes too" \
	test "$(left)" = "a-manual-newest a-crontab-newest b-sending b-pending b-newest"
"$S" --once --push-history-days 7 >/dev/null 2>&1
t_check "a second pass deletes nothing more" \
	test "$(left)" = "a-manual-newest a-crontab-newest b-sending b-pending b-newest"
t_check "--now moves the cutoff: nothing newest or unfinished goes 10 years on" sh -c \
	"'$S' --once --now $(($(date +%s) + 3650 * 86400)) --push-history-days 1 >/dev/null 2>&1 &&
	 test \"\$(psql '$VANTAGE_DB' -qtAXc 'SELECT count(*) FROM probe_pushes')\" = 5"

# A running scheduler prunes at its start and every 10 minutes (the same
# step; the start is what a test can wait for).
for i in 1 2 3; do push 12 "run-$i" crontab ok 3; done
push 12 run-newest crontab ok 3
"$S" --interval 1 --push-history-days 2 >"$T/run.log" 2>&1 &
t_bg $!
gone() { [ "$(t_psql "SELECT count(*) FROM probe_pushes WHERE batch LIKE 'run-%'")" = 1 ]; }
t_check "a running scheduler prunes (the older run pushes go, the newest stays)" t_wait 60 gone
t_check "... and logs it" t_wait 30 grep -q 'push history: 4 push(es) older than 2 days deleted' "$T/run.log"
t_check "... pending and sending pushes untouched" \
	test "$(t_psql "SELECT count(*) FROM probe_pushes WHERE status IN ('pending', 'sending')")" = 2
t_done
