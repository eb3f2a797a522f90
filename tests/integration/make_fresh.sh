#!/bin/bash
# make_fresh.sh - the Makefile as a new user meets it, in a copy of the
# checkout and its build:
# - on a fresh machine `make demo` and `make bench` read the Makefile before
#   `make deps` installed the -dev packages: they must still link (deps
#   first, then make again), and a pkg-config module that is missing when
#   something is built stops the build naming it (clean and deps need none);
# - `make CFLAGS=-O0` keeps -I., -std and the sanitizers; -Werror only with
#   WERROR=1 (CI);
# - a fuzz target links (clang's libFuzzer build, one proto/ target).
# pkg-config is a wrapper that hides jansson until the stand-in deps ran.
. "$(dirname "$0")/../lib.sh"
t_setup
# The checks run make themselves: what an outer make passes down (make
# check WERROR=1 in CI) must not reach them.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES WERROR

W=$T/tree
MARK=$T/deps-ran
mkdir -p "$W/tests" "$T/wrap"
for d in Makefile common proto storage controller probe scripts \
	tests/unit tests/fuzz tests/helpers tests/bench build bin; do
	[ -e "$TOP/$d" ] || continue
	mkdir -p "$W/$(dirname "$d")"
	cp -a "$TOP/$d" "$W/$d"
done
[ -x "$W/bin/vantage-scheduler" ] || { t_notok "a build to copy (make first)"; t_done; exit 1; }
printf '#!/bin/sh\ntouch %s\n' "$MARK" >"$W/scripts/deps"
printf '#!/bin/sh\necho demo ran\n' >"$W/scripts/demo"
printf '#!/bin/sh\necho bench ran\n' >"$W/tests/bench/run.sh"
REAL=$(command -v pkg-config)
cat >"$T/wrap/pkg-config" <<EOS
#!/bin/sh
# jansson is not installed until scripts/deps ran
if [ ! -e "$MARK" ]; then
	case " \$* " in *" jansson "*)
		echo "Package jansson was not found in the pkg-config search path." >&2
		exit 1 ;;
	esac
fi
exec "$REAL" "\$@"
EOS
chmod +x "$W/scripts/deps" "$W/scripts/demo" "$W/tests/bench/run.sh" \
	"$T/wrap/pkg-config"
export PATH=$T/wrap:$PATH
mk() { make -C "$W" --no-print-directory "$@" >"$T/out" 2>&1; }
says() { grep -qE -- "$1" "$T/out" || { t_log "no /$1/ in:"; tail -5 "$T/out" | sed 's/^/#   /'; return 1; }; }
fresh() { rm -f "$MARK"; touch "$W/controller/scheduler/main.c"; }

# a fresh machine
fresh
t_check "missing module: make fails" sh -c "! make -C '$W' all >'$T/out' 2>&1"
t_check "missing module: the error names it" says "pkg-config cannot find jansson"
t_check "missing module: make clean needs no flags" mk -n clean
t_check "missing module: make deps needs no flags" mk -n deps
fresh
t_check "make demo on a fresh machine" mk V=1 demo
t_check "make demo: deps ran first" test -e "$MARK"
t_check "make demo: linked with the libraries" \
	says "-o bin/vantage-scheduler .*-ljansson"
t_check "make demo: demo ran" says "^demo ran"
fresh
t_check "make bench on a fresh machine" mk V=1 bench
t_check "make bench: linked with the libraries" \
	says "-o bin/vantage-scheduler .*-ljansson"
t_check "make bench: bench ran" says "^bench ran"

# the user's flags beside the build's
cc_line() { grep -m1 -- " -c common/buf.c" "$T/out"; }
has() { cc_line | grep -qe "$1"; }
t_check "make -n CFLAGS=-O0" mk -n -B V=1 CFLAGS=-O0 all
t_check "CFLAGS=-O0: -O0 used" has " -O0"
t_check "CFLAGS=-O0: -I. kept" has " -I\. "
t_check "CFLAGS=-O0: -std=gnu11 kept" has " -std=gnu11 "
t_check "CFLAGS=-O0: no -O2 left" sh -c "! grep -m1 -- ' -c common/buf.c' '$T/out' | grep -q -- ' -O2'"
t_check "make -n" mk -n -B V=1 all
t_check "default build: -O2 -g, the build's flags, no -Werror" \
	sh -c "grep -m1 -- ' -c common/buf.c' '$T/out' | grep -- ' -std=gnu11 ' |
		grep -- ' -O2 -g' | grep -qv -- -Werror"
t_check "make -n SANITIZE=1 CFLAGS=-O0 LDFLAGS=-Wl,-O1" \
	mk -n -B V=1 SANITIZE=1 CFLAGS=-O0 LDFLAGS=-Wl,-O1 all
t_check "SANITIZE=1 CFLAGS=-O0: compiled with the sanitizers" \
	has "-fsanitize=address,undefined"
t_check "SANITIZE=1 LDFLAGS=...: linked with the sanitizers and the user's flag" \
	says "-fsanitize=address,undefined (-static-libubsan )?-Wl,-O1 -o build-asan/bin/vantage-scheduler"
t_check "make -n WERROR=1" mk -n -B V=1 WERROR=1 all
t_check "WERROR=1: -Werror" has " -Werror"

# make fuzz: the targets link against the area libraries
if command -v clang >/dev/null; then
	t_check "a fuzz target links" mk -j2 FUZZ=1 build-fuzz/fuzz_proto_sshkey
	t_check "and runs" sh -c "'$W/build-fuzz/fuzz_proto_sshkey' -runs=200 \
		'$W/tests/fuzz/corpus/proto_sshkey' >'$T/fz' 2>&1"
	t_check "make fuzz builds through the libraries, not every source" \
		sh -c "make -C '$W' -n -B V=1 FUZZ=1 fuzz-targets 2>&1 |
			grep -- '-o build-fuzz/fuzz_gw_sink ' | grep -q libvt_controller.a"
else
	t_notok "clang is installed (scripts/deps installs it) for make fuzz"
fi
t_done
