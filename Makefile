# Vantage build.  `make` builds every binary into bin/; see README.md.
#
#   make              binaries in bin/
#   make SANITIZE=1   ASan+UBSan build in build-asan/ (binaries in build-asan/bin/)
#   make check        dependencies, both builds, the whole test suite
#   make demo         the whole system in the lab
#   make bench        performance figures beside their references
#   make fuzz         libFuzzer targets (clang) in build-fuzz/

CC      ?= cc
.DEFAULT_GOAL := all
PKGS    := libssh libcurl jansson libcares libmicrohttpd libpq
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null) -I$(shell pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lbz2 -lz -lcrypto -lpthread -lm

WARN    := -Wall -Wextra -Wshadow -Wformat=2 -Wmissing-prototypes \
           -Wstrict-prototypes -Wpointer-arith -Wcast-qual -Wwrite-strings \
           -Wvla -Wno-unused-parameter -Werror
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -D_GNU_SOURCE $(WARN) -I. $(PKG_CFLAGS)
LDFLAGS ?=

ifeq ($(SANITIZE),1)
BUILD   := build-asan
BINDIR  := build-asan/bin
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
else
BUILD   := build
BINDIR  := bin
endif

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

.PHONY: all tests check demo bench fuzz clean deps
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
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libvt_%.a:
	@mkdir -p $(dir $@)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

define bin_rule
$(BINDIR)/$(call binname,$(1)): $(BUILD)/$(1:.c=.o) $(call binlibs,$(1))
	@mkdir -p $$(dir $$@)
	@echo "  LD    $$@"
	$(Q)$$(CC) $$(LDFLAGS) -o $$@ $$< $(call binlibs,$(1)) $$(PKG_LIBS)
endef
$(foreach m,$(MAINS),$(eval $(call bin_rule,$(m))))

$(BUILD)/tests/test_%: $(BUILD)/tests/unit/test_%.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(ALL_LIBS) $(PKG_LIBS)

$(BUILD)/tests/replay_%: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/tests/fuzz/replay.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(BUILD)/tests/fuzz/replay.o $(ALL_LIBS) $(PKG_LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/helpers/%.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(ALL_LIBS) $(PKG_LIBS)

# libFuzzer builds (clang), for running the fuzzers for real.
FUZZCFLAGS := -O1 -g -std=gnu11 -D_GNU_SOURCE -I. $(PKG_CFLAGS) -fsanitize=fuzzer,address,undefined
fuzz:
	@mkdir -p build-fuzz
	@for f in $(FUZZSRC); do n=$$(basename $$f .c); \
	  echo "  FUZZ $$n"; \
	  clang $(FUZZCFLAGS) -o build-fuzz/$$n $$f $(LIBSRC) $(PKG_LIBS) || exit 1; done

deps:
	@scripts/deps

check: deps
	$(MAKE) all
	$(MAKE) SANITIZE=1 all
	tests/run.sh

demo: deps all
	scripts/demo

bench: deps all
	tests/bench/run.sh

clean:
	rm -rf build build-asan build-fuzz bin

-include $(LIBOBJ:.o=.d) $(MAINS:%.c=$(BUILD)/%.d) \
	$(UNITSRC:%.c=$(BUILD)/%.d) $(FUZZSRC:%.c=$(BUILD)/%.d) \
	$(TESTHELPSRC:%.c=$(BUILD)/%.d) $(BUILD)/tests/fuzz/replay.d

# --- install, uninstall -----------------------------------------------------
# `make install [PREFIX=/usr/local] [DESTDIR=]`: the CLI in bin/, the daemons
# in sbin/, the migrations in share/vantage/migrations (where an installed
# `vantage db migrate` finds them), the manual pages, the systemd units and
# the sysusers.d entry of the vantage user, example /etc/vantage files in
# share/doc/vantage/examples.  Units and pages go only with their binary.
# Nothing outside these is touched: /etc is the operator's
# (docs/operations.md).  `make uninstall` removes exactly these files.
PREFIX      ?= /usr/local
bindir      ?= $(PREFIX)/bin
sbindir     ?= $(PREFIX)/sbin
datadir     ?= $(PREFIX)/share
mandir      ?= $(datadir)/man
docdir      ?= $(datadir)/doc/vantage
unitdir     ?= $(PREFIX)/lib/systemd/system
sysusersdir ?= $(PREFIX)/lib/sysusers.d
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
	$(INSTALL) -d '$(DESTDIR)$(unitdir)' '$(DESTDIR)$(sysusersdir)' '$(DESTDIR)$(docdir)/examples'
	@set -e; for u in $(foreach n,$(INST_NAMES),$(call inst_units,$(n))); do \
	  src=scripts/systemd/$$u; [ -f $$src ] || src=$$src.in; \
	  sed -e 's|@sbindir@|$(sbindir)|g' -e 's|@bindir@|$(bindir)|g' \
	    -e '/^@hardening@$$/{r scripts/systemd/hardening.conf' -e 'd;}' $$src \
	    >'$(DESTDIR)$(unitdir)'/$$u.tmp; \
	  chmod 0644 '$(DESTDIR)$(unitdir)'/$$u.tmp; \
	  mv -f '$(DESTDIR)$(unitdir)'/$$u.tmp '$(DESTDIR)$(unitdir)'/$$u; done
	$(INSTALL) -m 0644 scripts/systemd/vantage.sysusers '$(DESTDIR)$(sysusersdir)/vantage.conf'
	$(INSTALL) -m 0644 scripts/systemd/conf/*.conf '$(DESTDIR)$(docdir)/examples/'
	$(INSTALL) -m 0644 docs/operations.md '$(DESTDIR)$(docdir)/'

uninstall:
	rm -f $(foreach n,$(INST_NAMES),'$(DESTDIR)$(call inst_bindir,$(n))/$(n)') \
	  $(foreach n,$(INST_NAMES),$(foreach p,$(call inst_man,$(n)),'$(DESTDIR)$(mandir)/man$(subst .,,$(suffix $(p)))/$(notdir $(p))')) \
	  $(foreach n,$(INST_NAMES),$(foreach u,$(call inst_units,$(n)),'$(DESTDIR)$(unitdir)/$(u)')) \
	  '$(DESTDIR)$(sysusersdir)/vantage.conf'
	rm -rf '$(DESTDIR)$(datadir)/vantage' '$(DESTDIR)$(docdir)'
