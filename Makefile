# Vantage build.  `make` builds every binary into bin/; see README.md.
#
#   make              binaries in bin/
#   make SANITIZE=1   ASan+UBSan build in build-asan/ (binaries in build-asan/bin/)
#   make SANITIZE=thread  ThreadSanitizer build in build-tsan/ (`make check`
#                     builds its gateway: tests/run.sh runs the tests named
#                     in GW_TSAN against it as integration/NAME@tsan)
#   make check        dependencies, both builds, the whole test suite
#   make demo         the whole system in the lab
#   make bench        performance figures beside their references
#   make fuzz         libFuzzer targets (clang) in build-fuzz/
#
# CFLAGS and LDFLAGS are the user's (default -O2 -g): what the build needs
# (-I., -std, warnings, sanitizers, libraries) is added beside them, so
# `make CFLAGS=-O0` keeps it.  WERROR=1 turns warnings into errors (CI).

CC      ?= cc
PKG_CONFIG ?= pkg-config
.DEFAULT_GOAL := all
PKGS    := libssh libcurl jansson libcares libmicrohttpd libpq zlib libcrypto \
	   libwebsockets gnutls

# The flags of PKGS are asked of pkg-config when a compile or link first
# needs them, not when the Makefile is read: `make demo` reads it before
# `make deps` has installed the -dev packages.  A module pkg-config cannot
# find stops the build and is named, never left out of the flags.
pkg_missing = $(strip $(if $(shell command -v $(PKG_CONFIG) 2>/dev/null),$(foreach \
	p,$(PKGS),$(if $(shell $(PKG_CONFIG) --exists $(p) 2>/dev/null && \
	echo y),,$(p))),$(PKG_CONFIG) itself))
pkg_query = $(if $(pkg_missing),$(error pkg-config cannot find $(pkg_missing) \
	(install the -dev packages: make deps, as root)),$(shell $(PKG_CONFIG) \
	$(1) $(PKGS)))
PKG_CFLAGS = $(eval PKG_CFLAGS := $$(call pkg_query,--cflags))$(PKG_CFLAGS)
PKG_LIBS   = $(eval PKG_LIBS := $$(call pkg_query,--libs) -lbz2 -lpthread \
	     -lm)$(PKG_LIBS)

CFLAGS  ?= -O2 -g
LDFLAGS ?=
WARN    := -Wall -Wextra -Wshadow -Wformat=2 -Wmissing-prototypes \
           -Wstrict-prototypes -Wpointer-arith -Wcast-qual -Wwrite-strings \
           -Wvla -Wno-unused-parameter $(if $(filter 1,$(WERROR)),-Werror)

ifeq ($(SANITIZE),1)
BUILD   := build-asan
BINDIR  := build-asan/bin
SAN_CFLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer \
	       -fno-sanitize-recover=undefined
# GCC's UBSan runtime, as a shared library beside ASan's, hands its
# log_path to ASan's copy of __sanitizer_set_report_path (the symbol binds
# to libasan, loaded first) and writes its own reports to stderr: linked
# statically it keeps its own, and UBSAN_OPTIONS=log_path is honoured
# (tests/run.sh, integration/NAME@asan).  Clang has one runtime for both.
SAN_LDFLAGS := -fsanitize=address,undefined \
	       $(if $(shell $(CC) -dM -E -x c /dev/null 2>/dev/null | grep __clang__),,-static-libubsan)
else ifeq ($(SANITIZE),thread)
BUILD   := build-tsan
BINDIR  := build-tsan/bin
SAN_CFLAGS  := -fsanitize=thread -fno-omit-frame-pointer
SAN_LDFLAGS := -fsanitize=thread
else ifeq ($(FUZZ),1)
# `make fuzz`: everything instrumented for libFuzzer (clang unless CC is given)
BUILD   := build-fuzz
BINDIR  := build-fuzz/bin
ifeq ($(origin CC),default)
CC      := clang
endif
SAN_CFLAGS  := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
SAN_LDFLAGS := -fsanitize=fuzzer,address,undefined
else
BUILD   := build
BINDIR  := bin
endif
# what every compile and link gets, the user's flags last
ALL_CFLAGS  = -std=gnu11 -D_GNU_SOURCE $(WARN) -I. $(SAN_CFLAGS) $(PKG_CFLAGS) \
	      $(CFLAGS)
ALL_LDFLAGS = $(SAN_LDFLAGS) $(LDFLAGS)

SRCDIRS := common proto storage controller probe
# Each area is a static library of its .c files (main.c excluded); each
# main.c is a binary named after its folder (DESIGN.md, "Processes") and
# links only the areas it needs.
srcs     = $(shell find $(1) -name '*.c' ! -name main.c 2>/dev/null | sort)
LIBSRC  := $(call srcs,$(SRCDIRS))
MAINS   := $(shell find $(SRCDIRS) -name main.c 2>/dev/null | sort)
LIB_COMMON     := $(BUILD)/libvt_common.a
LIB_STORAGE    := $(BUILD)/libvt_storage.a
LIB_CONTROLLER := $(BUILD)/libvt_controller.a
LIB_PROBE      := $(BUILD)/libvt_probe.a
ALL_LIBS := $(LIB_CONTROLLER) $(LIB_STORAGE) $(LIB_PROBE) $(LIB_COMMON)
LIBOBJ  := $(LIBSRC:%.c=$(BUILD)/%.o)

$(LIB_COMMON): $(patsubst %.c,$(BUILD)/%.o,$(call srcs,common proto))
$(LIB_STORAGE): $(patsubst %.c,$(BUILD)/%.o,$(call srcs,storage))
$(LIB_CONTROLLER): $(patsubst %.c,$(BUILD)/%.o,$(call srcs,controller))
$(LIB_PROBE): $(patsubst %.c,$(BUILD)/%.o,$(call srcs,probe))

binname = $(if $(filter controller/cli/,$(dir $(1))),vantage,$(if $(filter probe/,$(dir $(1))),vantage-probe,vantage-$(notdir $(patsubst %/,%,$(dir $(1))))))
binlibs = $(if $(filter probe/%,$(1)),$(LIB_PROBE) $(LIB_COMMON),$(if $(filter storage/%,$(1)),$(LIB_STORAGE) $(LIB_COMMON),$(LIB_CONTROLLER) $(LIB_STORAGE) $(LIB_COMMON)))
BINS    := $(foreach m,$(MAINS),$(BINDIR)/$(call binname,$(m)))

UNITSRC := $(wildcard tests/unit/test_*.c)
UNITBIN := $(UNITSRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZSRC := $(wildcard tests/fuzz/fuzz_*.c)
REPLAYBIN := $(FUZZSRC:tests/fuzz/fuzz_%.c=$(BUILD)/tests/replay_%)
TESTHELPSRC := $(wildcard tests/helpers/*.c)
TESTHELPBIN := $(TESTHELPSRC:tests/helpers/%.c=$(BUILD)/tests/%)

.PHONY: all tests check demo bench fuzz fuzz-targets clean deps
.SECONDARY:
all: $(BINS) tests

tests: $(UNITBIN) $(REPLAYBIN) $(TESTHELPBIN)

ifeq ($(V),1)
Q :=
else
Q := @
endif

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC    $<")
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libvt_%.a:
	@mkdir -p $(dir $@)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

define bin_rule
$(BINDIR)/$(call binname,$(1)): $(BUILD)/$(1:.c=.o) $(call binlibs,$(1))
	@mkdir -p $$(dir $$@)
	@echo "  LD    $$@"
	$(Q)$$(CC) $$(ALL_LDFLAGS) -o $$@ $$< $(call binlibs,$(1)) $$(PKG_LIBS)
endef
$(foreach m,$(MAINS),$(eval $(call bin_rule,$(m))))

$(BUILD)/tests/test_%: $(BUILD)/tests/unit/test_%.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(ALL_LIBS) $(PKG_LIBS)

$(BUILD)/tests/replay_%: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/tests/fuzz/replay.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(BUILD)/tests/fuzz/replay.o $(ALL_LIBS) $(PKG_LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/helpers/%.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(ALL_LIBS) $(PKG_LIBS)

# libFuzzer builds (clang), for running the fuzzers for real: the same
# area libraries, instrumented (FUZZ=1).  A proto/ target needs only
# proto/ and common/.
FUZZBIN := $(FUZZSRC:tests/fuzz/%.c=$(BUILD)/%)
$(BUILD)/fuzz_%: $(BUILD)/tests/fuzz/fuzz_%.o $(ALL_LIBS)
	@echo "  FUZZ  $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(ALL_LIBS) $(PKG_LIBS)
$(BUILD)/fuzz_proto_%: $(BUILD)/tests/fuzz/fuzz_proto_%.o $(LIB_COMMON)
	@echo "  FUZZ  $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIB_COMMON) $(PKG_LIBS)

fuzz:
	$(MAKE) FUZZ=1 fuzz-targets
fuzz-targets: $(FUZZBIN)

deps:
	@scripts/deps

# deps first, then make again: this make read the Makefile before deps
# installed anything.
check: deps
	@# the stock probe for tests/integration/lab_stock.sh, built (once per
	@# tarball, cached outside the checkout) while the rest compiles
	@scripts/atlas-probe build >/dev/null 2>&1 </dev/null &
	$(MAKE) all
	$(MAKE) SANITIZE=1 all
	$(MAKE) SANITIZE=thread build-tsan/bin/vantage-gateway
	tests/run.sh

demo: deps
	$(MAKE) all
	scripts/demo

bench: deps
	$(MAKE) all
	tests/bench/run.sh

clean:
	rm -rf build build-asan build-tsan build-fuzz bin

-include $(LIBOBJ:.o=.d) $(MAINS:%.c=$(BUILD)/%.d) \
	$(UNITSRC:%.c=$(BUILD)/%.d) $(FUZZSRC:%.c=$(BUILD)/%.d) \
	$(TESTHELPSRC:%.c=$(BUILD)/%.d) $(BUILD)/tests/fuzz/replay.d

# --- install, uninstall -----------------------------------------------------
# `make install [PREFIX=/usr/local] [DESTDIR=]`: the CLI in bin/, the daemons
# in sbin/, the migrations in share/vantage/migrations (where an installed
# `vantage db migrate` finds them), the manual pages, the systemd units and
# the sysusers.d entry of the vantage user, the example configuration
# files as /etc/vantage/NAME.conf.example (confdir; the daemons read
# /etc/vantage/NAME.conf).  Units and pages go only with their binary.
# Nothing else is touched: the .conf files are the operator's
# (docs/operations.md).  `make uninstall` removes exactly these files.
PREFIX      ?= /usr/local
bindir      ?= $(PREFIX)/bin
sbindir     ?= $(PREFIX)/sbin
datadir     ?= $(PREFIX)/share
mandir      ?= $(datadir)/man
docdir      ?= $(datadir)/doc/vantage
unitdir     ?= $(PREFIX)/lib/systemd/system
sysusersdir ?= $(PREFIX)/lib/sysusers.d
confdir     ?= /etc/vantage
INSTALL     ?= install
INST_NAMES  := $(notdir $(BINS))
inst_bindir = $(if $(filter vantage,$(1)),$(bindir),$(sbindir))
inst_units  = $(patsubst scripts/systemd/%.in,%,$(wildcard scripts/systemd/$(1).service.in \
              scripts/systemd/$(1)@.service.in)) $(notdir $(wildcard scripts/systemd/$(1).timer))
inst_man    = $(wildcard docs/man/$(1).1 docs/man/$(1).8)
.PHONY: install uninstall
install: $(BINS)
	@set -e; for n in $(INST_NAMES); do \
	  case $$n in vantage) d='$(DESTDIR)$(bindir)';; *) d='$(DESTDIR)$(sbindir)';; esac; \
	  $(INSTALL) -d "$$d"; $(INSTALL) -m 0755 $(BINDIR)/$$n "$$d/$$n"; done
	$(INSTALL) -d '$(DESTDIR)$(datadir)/vantage/migrations'
	$(INSTALL) -m 0644 storage/migrations/*.sql '$(DESTDIR)$(datadir)/vantage/migrations/'
	@set -e; for p in $(foreach n,$(INST_NAMES),$(call inst_man,$(n))); do \
	  s=$${p##*.}; $(INSTALL) -d '$(DESTDIR)$(mandir)'/man$$s; \
	  $(INSTALL) -m 0644 $$p '$(DESTDIR)$(mandir)'/man$$s/; done
	$(INSTALL) -d '$(DESTDIR)$(unitdir)' '$(DESTDIR)$(sysusersdir)' '$(DESTDIR)$(docdir)' \
	  '$(DESTDIR)$(confdir)'
	@set -e; for u in $(foreach n,$(INST_NAMES),$(call inst_units,$(n))); do \
	  src=scripts/systemd/$$u; [ -f $$src ] || src=$$src.in; \
	  sed -e 's|@sbindir@|$(sbindir)|g' -e 's|@bindir@|$(bindir)|g' \
	    -e '/^@hardening@$$/{r scripts/systemd/hardening.conf' -e 'd;}' $$src \
	    >'$(DESTDIR)$(unitdir)'/$$u.tmp; \
	  chmod 0644 '$(DESTDIR)$(unitdir)'/$$u.tmp; \
	  mv -f '$(DESTDIR)$(unitdir)'/$$u.tmp '$(DESTDIR)$(unitdir)'/$$u; done
	$(INSTALL) -m 0644 scripts/systemd/vantage.sysusers '$(DESTDIR)$(sysusersdir)/vantage.conf'
	@set -e; for f in scripts/systemd/conf/*.conf; do \
	  $(INSTALL) -m 0644 $$f '$(DESTDIR)$(confdir)'/$${f##*/}.example; done
	$(INSTALL) -m 0644 docs/operations.md '$(DESTDIR)$(docdir)/'

uninstall:
	rm -f $(foreach n,$(INST_NAMES),'$(DESTDIR)$(call inst_bindir,$(n))/$(n)') \
	  $(foreach n,$(INST_NAMES),$(foreach p,$(call inst_man,$(n)),'$(DESTDIR)$(mandir)/man$(subst .,,$(suffix $(p)))/$(notdir $(p))')) \
	  $(foreach n,$(INST_NAMES),$(foreach u,$(call inst_units,$(n)),'$(DESTDIR)$(unitdir)/$(u)')) \
	  '$(DESTDIR)$(sysusersdir)/vantage.conf' \
	  $(foreach f,$(wildcard scripts/systemd/conf/*.conf),'$(DESTDIR)$(confdir)/$(notdir $(f)).example')
	-rmdir '$(DESTDIR)$(confdir)' 2>/dev/null
	rm -rf '$(DESTDIR)$(datadir)/vantage' '$(DESTDIR)$(docdir)'
