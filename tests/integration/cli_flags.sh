#!/bin/bash
# cli_flags.sh - what the binaries make of bad flags and keys: a number
# flag that is not a whole number ("--batch x", "--now 12abc") is refused
# naming the flag, never read as 0 (vantage-api and vantage-worker name
# the value and the range too, common/opt.h); a --db without a value is an
# error, never $VANTAGE_DB; `vantage-scheduler --once` fails when the
# database is unreachable; `vantage probe add` takes ed25519, RSA and ECDSA
# keys and refuses bad base64 and a key blob of another type.
. "$(dirname "$0")/../lib.sh"
t_setup

S=$BIN/vantage-scheduler
# a database that cannot be reached: a port nothing listens on
DEAD="host=127.0.0.1 port=$(t_free_port) dbname=none connect_timeout=10"
export VANTAGE_DB=$DEAD

# numbers
t_check "scheduler --batch x" t_refuses 2 "--batch: 'x' is not a whole number" "$S" --batch x
t_check "scheduler --batch 12abc" t_refuses 2 "--batch: '12abc'" "$S" --batch 12abc
t_check "scheduler --now x" t_refuses 2 "--now: 'x'" "$S" --batch 1 --now x
t_check "scheduler --interval 0" t_refuses 2 "--interval: '0'" "$S" --interval 0
t_check "scheduler --works-every ''" t_refuses 2 "--works-every: ''" "$S" --works-every ''
t_check "vantage probe push --timeout 5x" \
	t_refuses 2 "--timeout: '5x'" "$BIN/vantage" probe push 1 /dev/null --timeout 5x
t_check "vantage results --probe x" \
	t_refuses 2 "--probe: 'x'" "$BIN/vantage" results 1 --probe x
t_check "vantage results --start 1e9" \
	t_refuses 2 "--start: '1e9'" "$BIN/vantage" results 1 --start 1e9
t_check "vantage archive get --stop 10x" t_refuses 2 "--stop: '10x'" \
	"$BIN/vantage" archive get 1 --day 2024-01-01 --stop 10x --store file:///nonexistent
t_check "archiver --threads x" t_refuses 2 "--threads: 'x'" \
	"$BIN/vantage-archiver" --threads x --store "file://$T/arc"
t_check "archiver --now past 64 bits" t_refuses 2 "bad --now '99999999999999999999'" \
	"$BIN/vantage-archiver" --now 99999999999999999999 --store "file://$T/arc"
t_check "archiver --now before 1970" t_refuses 2 "bad --now '-5'" \
	"$BIN/vantage-archiver" --now -5 --store "file://$T/arc"
t_check "archiver --late-days -1" t_refuses 2 "--late-days: '-1'" \
	"$BIN/vantage-archiver" --late-days -1 --store "file://$T/arc"
# vantage-api and vantage-worker: every number flag names itself, its
# value and its range, never a bare "bad value" (common/opt.h)
A=$BIN/vantage-api
t_check "api --threads x" t_refuses 2 "--threads: 'x' is not a whole number in 1..64" "$A" --threads x
t_check "api --threads 65" t_refuses 2 "--threads: '65'" "$A" --threads 65
t_check "api --db-conns 12abc" t_refuses 2 "--db-conns: '12abc'" "$A" --db-conns 12abc
t_check "api --max-conns ''" t_refuses 2 "--max-conns: ''" "$A" --max-conns ''
t_check "api --conn-timeout 0" t_refuses 2 "--conn-timeout: '0'" "$A" --conn-timeout 0
t_check "api --stmt-timeout 99" t_refuses 2 "--stmt-timeout: '99'" "$A" --stmt-timeout 99
t_check "api --cache-ms 1e3" t_refuses 2 "--cache-ms: '1e3'" "$A" --cache-ms 1e3
t_check "api --cache-ms -1" t_refuses 2 "--cache-ms: '-1' is not a whole number in 0..3600000" \
	"$A" --cache-ms -1
t_check "api --cache-ms ' 5'" t_refuses 2 "--cache-ms: ' 5'" "$A" --cache-ms ' 5'
t_check "api --cache-ms 0 and --threads 64 are taken (--check-config)" \
	"$A" --cache-ms 0 --threads 64 --check-config
W=$BIN/vantage-worker
t_check "worker --batch x" t_refuses 2 "--batch: 'x' is not a whole number in 1..100000" "$W" --batch x
t_check "worker --batch 100001" t_refuses 2 "--batch: '100001'" "$W" --batch 100001
t_check "worker --batch-bytes 64M" t_refuses 2 "--batch-bytes: '64M'" "$W" --batch-bytes 64M
t_check "worker --batch-bytes 0" t_refuses 2 "--batch-bytes: '0'" "$W" --batch-bytes 0
t_check "worker --poll-ms ''" t_refuses 2 "--poll-ms: ''" "$W" --poll-ms ''
t_check "worker --poll-ms +5" t_refuses 2 "--poll-ms: '+5'" "$W" --poll-ms +5
t_check "worker --batch 100000 --poll-ms 1 are taken (--check-config)" \
	"$W" --batch 100000 --batch-bytes 1 --poll-ms 1 --check-config
t_check "api and worker parse no flag with strtol/atoi (common/opt.h only)" \
	sh -c "! grep -nE 'strto[a-z]*\\(|ato[il]\\(|int_arg' '$TOP/controller/api/main.c' '$TOP/controller/worker/main.c'"
t_check "probe --reg-port 22x" t_refuses 2 "reg_port" \
	"$BIN/vantage-probe" --spool "$T/sp" --reg-host 127.0.0.1 --reg-port 22x \
	--reg-hostkey /dev/null

# --db without a value
t_check "vantage probe list --db" t_refuses 2 "--db needs a value" \
	"$BIN/vantage" probe list --db
t_check "vantage --db= probe list" t_refuses 2 "--db needs a value" \
	"$BIN/vantage" --db= probe list
t_check "scheduler --db=" t_refuses 2 "--db needs a value" "$S" --once --db=
t_check "scheduler --db --once" t_refuses 2 "--db needs a value" "$S" --db --once
t_check "archiver --db=" t_refuses 2 "--db needs a value" \
	"$BIN/vantage-archiver" --db= --store "file://$T/arc"

# --once against a database that is not there
t_check "scheduler --once fails when the database is unreachable" \
	t_refuses 1 "database" "$S" --once

# the probe: a key path it cannot form
LONG=$T/$(head -c 5000 /dev/zero | tr '\0' k)
ssh-keygen -q -t ed25519 -N '' -f "$T/hk"
t_check "probe: a key path too long is an error" t_refuses 1 "key path" \
	"$BIN/vantage-probe" --spool "$T/sp" --reg-host 127.0.0.1 --reg-port 1 \
	--reg-hostkey "$T/hk.pub" --key "$LONG" --once

# probe add: the keys a probe may have, and broken ones
t_pg_start || { t_notok "PostgreSQL starts"; t_done; exit 1; }
t_check "scheduler --once passes with the database" "$S" --once
for k in "ed25519" "rsa -b 2048" "ecdsa -b 256" "ecdsa -b 384" "ecdsa -b 521"; do
	f=$T/key_$(echo "$k" | tr -d ' -')
	ssh-keygen -q -N '' -t $k -f "$f"
	t_check "probe add takes a ${k% -b*} key (${k#* -b })" \
		sh -c "'$BIN/vantage' probe add --pubkey '$f.pub' | grep -qx '[0-9][0-9]*'"
done
ED=$(awk '{print $2}' "$T/key_ed25519.pub")
echo "ssh-ed25519 ${ED%????}!!== bad" >"$T/bad64.pub"
t_check "probe add refuses invalid base64" t_refuses 1 "not valid base64" \
	"$BIN/vantage" probe add --pubkey "$T/bad64.pub"
echo "ssh-rsa $ED liar" >"$T/liar.pub"
t_check "probe add refuses a blob of another type" t_refuses 1 "another type" \
	"$BIN/vantage" probe add --pubkey "$T/liar.pub"
ssh-keygen -q -N '' -t ed25519 -f "$T/asn"
t_check "probe add --asn 12x" t_refuses 2 "--asn: '12x'" \
	"$BIN/vantage" probe add --pubkey "$T/asn.pub" --asn 12x
t_check "nothing stored for the refused keys" \
	test "$(t_psql "SELECT count(*) FROM probes")" = 5
t_done
