#!/bin/bash
# `make install DESTDIR=... [PREFIX=...]` and `make uninstall`: the exact file
# list and modes, the units naming the installed daemons, an installed
# `vantage db migrate` finding the installed migrations against a real
# PostgreSQL, `man vantage-gateway` from the installed pages, the sysusers.d
# entry creating the vantage user (in the DESTDIR, never on this machine),
# and uninstall leaving no file behind.
. "$(dirname "$0")/../lib.sh"
t_setup
R=$T/root
P=/usr/local
cd "$TOP"

# What install must put there: derived from the tree, so a new migration,
# binary or unit is expected without editing this test.
{
	for b in "$BIN"/*; do
		n=${b##*/}
		if [ "$n" = vantage ]; then echo "755 $P/bin/$n"; else echo "755 $P/sbin/$n"; fi
		for m in docs/man/"$n".[18]; do
			[ -f "$m" ] && echo "644 $P/share/man/man${m##*.}/${m##*/}"
		done
		for u in scripts/systemd/"$n".service.in scripts/systemd/"$n"@.service.in \
			 scripts/systemd/"$n".timer; do
			[ -f "$u" ] && { u=${u##*/}; echo "644 $P/lib/systemd/system/${u%.in}"; }
		done
	done
	for f in storage/migrations/*.sql; do echo "644 $P/share/vantage/migrations/${f##*/}"; done
	for f in scripts/systemd/conf/*.conf; do echo "644 /etc/vantage/${f##*/}.example"; done
	echo "644 $P/share/doc/vantage/operations.md"
	echo "644 $P/lib/sysusers.d/vantage.conf"
} | sort -k2 >"$T/want"

listing() { (cd "$1" && find . \( -type f -o -type l \) -printf '%m /%P\n' | sort -k2); }

make -s install DESTDIR="$R" >"$T/install.log" 2>&1
t_check "make install DESTDIR= succeeds" test $? = 0
listing "$R" >"$T/got"
t_check "installed files and modes are exactly the expected ones ($(wc -l <"$T/want") files)" \
	diff -u "$T/want" "$T/got"
for n in vantage-gateway vantage-worker vantage-scheduler vantage-probe vantage-archiver; do
	t_check "$n installed" \
		grep -q " $P/sbin/$n\$" "$T/got"
done
t_check "vantage-archiver.timer installed" grep -q "/vantage-archiver.timer\$" "$T/got"
t_check "units name the installed daemons" \
	grep -q "^ExecStart=$P/sbin/vantage-gateway " "$R$P/lib/systemd/system/vantage-gateway.service"
t_check "no @placeholder@ left in the installed units" \
	sh -c "! grep -n '@[a-z]*@' '$R$P/lib/systemd/system/'*"

# The installed `vantage` finds the installed migrations (not the checkout's).
if db=$("$TOP/scripts/pg" start "$T/pg" 2>"$T/pg.err"); then
	T_PGDIRS="$T_PGDIRS $T/pg"
	nmig=$(ls storage/migrations/*.sql | wc -l)
	out=$(cd / && env -u VANTAGE_MIGRATIONS "$R$P/bin/vantage" --db "$db" db migrate 2>&1)
	t_check "installed vantage db migrate applies the installed migrations ($out)" \
		test "$out" = "$nmig migrations applied"
	t_check "the schema is there" \
		test "$(psql "$db" -qtAX -c 'SELECT count(*) FROM schema_migrations')" = "$nmig"
	out=$(cd / && "$R$P/bin/vantage" --db "$db" db migrate 2>&1)
	t_check "a second migrate applies none" test "$out" = "0 migrations applied"
	out=$(cd / && VANTAGE_MIGRATIONS=$T/nowhere "$R$P/bin/vantage" --db "$db" db migrate 2>&1)
	t_check "VANTAGE_MIGRATIONS chooses the folder" grep -q "$T/nowhere" <<<"$out"
	out=$(cd / && VANTAGE_MIGRATIONS=$T/nowhere "$R$P/bin/vantage" --db "$db" db migrate \
		--dir "$R$P/share/vantage/migrations" 2>&1)
	t_check "--dir wins over VANTAGE_MIGRATIONS" test "$out" = "0 migrations applied"
	# A migration only the installed folder has is applied from there.
	echo 'CREATE TABLE install_marker (x int);' >"$R$P/share/vantage/migrations/999_marker.sql"
	out=$(cd / && "$R$P/bin/vantage" --db "$db" db migrate 2>&1)
	t_check "a new installed migration is applied ($out)" test "$out" = "1 migration applied"
	t_check "from the installed folder" \
		test "$(psql "$db" -qtAX -c "SELECT to_regclass('install_marker') IS NOT NULL")" = t
	rm "$R$P/share/vantage/migrations/999_marker.sql"
else
	t_notok "PostgreSQL starts ($(cat "$T/pg.err"))"
fi

# man finds the installed pages.
page=$(MANPATH=$R$P/share/man man -w vantage-gateway 2>&1)
t_check "man -w vantage-gateway finds the installed page" \
	test "$page" = "$R$P/share/man/man8/vantage-gateway.8"
t_check "man vantage-gateway renders it" \
	sh -c "MANPATH='$R$P/share/man' MANWIDTH=80 man vantage-gateway 2>/dev/null | grep -q 'SSH gateway for Vantage probes'"
t_check "man 1 vantage renders the CLI's page" \
	sh -c "MANPATH='$R$P/share/man' MANWIDTH=80 man 1 vantage 2>/dev/null | grep -q 'db migrate'"

# The sysusers.d entry makes the user, in a root of its own.
if command -v systemd-sysusers >/dev/null; then
	mkdir -p "$T/sys/etc" "$T/sys/usr/lib/sysusers.d"
	cp "$R$P/lib/sysusers.d/vantage.conf" "$T/sys/usr/lib/sysusers.d/"
	systemd-sysusers --root="$T/sys" >"$T/sysusers.log" 2>&1
	t_check "systemd-sysusers creates the vantage user and group" \
		sh -c "grep -q '^vantage:x:[0-9]*:[0-9]*:.*:/usr/sbin/nologin\$' '$T/sys/etc/passwd' &&
		       grep -q '^vantage:x:' '$T/sys/etc/group'"
else
	t_notok "systemd-sysusers is installed (scripts/deps: systemd)"
fi

make -s uninstall DESTDIR="$R" >"$T/uninstall.log" 2>&1
t_check "make uninstall succeeds" test $? = 0
left=$(listing "$R")
t_check "uninstall leaves no file${left:+ (left: $left)}" test -z "$left"
t_check "uninstall leaves no vantage folder" \
	test -z "$(find "$R" -name '*vantage*')"
make -s uninstall DESTDIR="$R" >/dev/null 2>&1
t_check "uninstall twice is harmless" test $? = 0

# Another PREFIX: everything moves with it, units included.
make -s install DESTDIR="$T/root2" PREFIX=/usr >/dev/null 2>&1
t_check "PREFIX=/usr: units name /usr/sbin" \
	grep -q '^ExecStart=/usr/sbin/vantage-worker ' "$T/root2/usr/lib/systemd/system/vantage-worker@.service"
t_check "PREFIX=/usr: migrations in /usr/share/vantage" \
	test -f "$T/root2/usr/share/vantage/migrations/001_core.sql"
t_check "PREFIX=/usr: nothing under /usr/local" test ! -e "$T/root2/usr/local"
t_done
