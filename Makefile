# Atelier: build, test, demo, benchmark, fuzz and install.
#
#   make            build the programs into build/release/bin
#   make demo       install missing Debian packages, build, run the bench demo
#   make check      install missing packages, build with ASan+UBSan, run all tests
#   make check-vm   the drivers on real kernel devices (gpio-sim, a 16550) in a
#                   qemu guest, with the simulator on the host (tests/vm/)
#   make bench      build optimised and run the benchmark programs
#   make fuzz       build the libFuzzer targets with clang and run each for
#                   FUZZ_SECONDS (default 60)
#   make install    install programs, configuration, units and the web bench's
#                   pages (DESTDIR, PREFIX)
#   make deb        build the Debian package into build/deb/ (debian/)
#   make deb-check  install, check, upgrade and purge it on this machine (root)
#
# One non-recursive Makefile: every .c file under a module folder is built
# into the static library its folder belongs to, so adding a file needs no
# edit here. Build trees are separate per flavour (release, asan, fuzz).

PREFIX     ?= /usr/local
SYSCONFDIR ?= /etc
DESTDIR    ?=
CC         ?= cc
FLAVOUR    ?= release
BUILD      := build/$(FLAVOUR)
FUZZ_SECONDS ?= 60

PKGS := yaml-0.1 libmodbus libserialport libgpiod jansson sqlite3 freetype2 harfbuzz fribidi geos libpq \
	libsystemd libacl libsodium
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm
# civetweb ships no pkg-config file. --as-needed: the tests link these
# too, and only the gateway's tests need them.
GW_LIBS    := -Wl,--as-needed -lcivetweb $(shell pkg-config --libs libqrencode openssl 2>/dev/null) \
	-Wl,--no-as-needed
WEB_ROOT   := $(PREFIX)/share/atelier/web
SYNC_LIBS  := $(shell pkg-config --libs libmosquitto 2>/dev/null)
UNITDIR      ?= $(PREFIX)/lib/systemd/system
UDEVRULESDIR ?= $(PREFIX)/lib/udev/rules.d

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
	-Wmissing-prototypes -Wpointer-arith -Wundef -Wvla -Wnull-dereference \
	-Wimplicit-fallthrough
INCLUDES := -Ifirmware-host/lib -Ifirmware-host -Idrivers -Isim -Itests

ifeq ($(FLAVOUR),asan)
OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LINKOPT := -fsanitize=address,undefined
else ifeq ($(FLAVOUR),fuzz)
CC := clang
OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -DATELIER_FUZZ
LINKOPT := -fsanitize=address,undefined
else
OPT := -O2 -g
LINKOPT :=
endif

CFLAGS  ?=
LDFLAGS ?=
ALL_CFLAGS  = -std=c11 -D_GNU_SOURCE -pthread $(WARN) $(INCLUDES) $(PKG_CFLAGS) $(OPT) $(CFLAGS) -MMD -MP
ALL_LDFLAGS = -pthread $(LINKOPT) $(LDFLAGS)

# Sources. Mains are named explicitly; everything else goes into a library.
DAEMON_MAIN := firmware-host/atelierd.c
CTL_SRC     := $(wildcard firmware-host/ctl/*.c)
SIM_MAIN    := sim/atelier-sim.c
WEB_MAIN    := firmware-host/atelier-web.c
# atelier-web's own parts, kept out of the core library so that only it
# links civetweb, libqrencode and OpenSSL.
GW_SRC      := $(wildcard firmware-host/gateway/*.c)
SYNC_MAIN   := firmware-host/atelier-sync.c
# atelier-sync's parts: only it links libmosquitto.
SYNC_SRC    := $(wildcard firmware-host/sync/*.c)
CORE_SRC    := $(filter-out $(DAEMON_MAIN) $(WEB_MAIN),$(wildcard firmware-host/lib/*.c \
	firmware-host/api/*.c firmware-host/journal/*.c firmware-host/policy/*.c \
	firmware-host/daemon/*.c firmware-host/calib/*.c firmware-host/jobs/*.c \
	firmware-host/methods/*.c firmware-host/cfg/*.c firmware-host/web/*.c \
	firmware-host/engrave/*.c firmware-host/fleet/*.c drivers/*.c))
SIMLIB_SRC  := $(filter-out $(SIM_MAIN),$(wildcard sim/*.c))
UNIT_SRC    := $(wildcard tests/unit/test_*.c tests/integration/test_*.c)
BENCH_SRC   := $(wildcard tests/bench/bench_*.c)
FUZZ_SRC    := $(wildcard tests/fuzz/fuzz_*.c)
TEST_SCRIPTS := $(sort $(wildcard tests/unit/*.sh tests/integration/*.sh))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

CORE_LIB   := $(BUILD)/libatelier.a
SIM_LIB    := $(BUILD)/libatelier-sim.a
BIN        := $(BUILD)/bin
GW_LIB     := $(BUILD)/libatelier-web.a
SYNC_LIB   := $(BUILD)/libatelier-sync.a
PROGRAMS   := $(BIN)/atelierd $(BIN)/atelierctl $(BIN)/atelier-sim $(BIN)/atelier-web \
	$(BIN)/atelier-sync
UNIT_BINS  := $(patsubst %.c,$(BUILD)/tests/%,$(notdir $(UNIT_SRC)))
BENCH_BINS := $(patsubst %.c,$(BUILD)/bench/%,$(notdir $(BENCH_SRC)))
FUZZ_BINS  := $(patsubst %.c,$(BUILD)/fuzz/%,$(notdir $(FUZZ_SRC)))

.SECONDARY:
.PHONY: all programs deps demo check check-build check-vm vm-image bench fuzz install clean tests \
	deb deb-check
all: programs
programs: $(PROGRAMS)

# V=1 shows the full commands.
ifeq ($(V),1)
Q :=
else
Q := @
endif

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

# Shipped files compiled in as C strings: the gem table as the policy's
# defaults, and the example bench (its laser section) for atelierctl
# engrave when no configuration is installed. $(1) is the string's name.
define embed
	@mkdir -p $(dir $@)
	$(Q){ echo '/* Generated from $< by the Makefile: do not edit. */'; \
	  echo 'extern const char $(1)[];'; \
	  echo 'const char $(1)[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $<; \
	  echo ';'; } > $@
endef

$(BUILD)/gen/gems_default.c: config/gems.yaml
	$(call embed,policy_gems_yaml)

$(BUILD)/gen/atelier_example.c: config/atelier.yaml
	$(call embed,cfg_example_yaml)

GEN_OBJ := $(BUILD)/obj/gen/gems_default.o $(BUILD)/obj/gen/atelier_example.o

$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(CORE_LIB): $(call obj,$(CORE_SRC)) $(GEN_OBJ)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(GW_LIB): $(call obj,$(GW_SRC))
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/obj/firmware-host/atelier-web.o: ALL_CFLAGS += -DATELIER_WEB_ROOT='"$(WEB_ROOT)"'

$(BIN)/atelier-web: $(call obj,$(WEB_MAIN)) $(GW_LIB) $(CORE_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(GW_LIBS)

$(SYNC_LIB): $(call obj,$(SYNC_SRC))
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN)/atelier-sync: $(call obj,$(SYNC_MAIN)) $(SYNC_LIB) $(CORE_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(SYNC_LIBS)

$(SIM_LIB): $(call obj,$(SIMLIB_SRC))
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN)/atelierd: $(call obj,$(DAEMON_MAIN)) $(CORE_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BIN)/atelierctl: $(call obj,$(CTL_SRC)) $(CORE_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BIN)/atelier-sim: $(call obj,$(SIM_MAIN)) $(SIM_LIB) $(CORE_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

TEST_OBJ := $(call obj,tests/test.c tests/simproc.c)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(TEST_OBJ) $(SIM_LIB) $(GW_LIB) $(CORE_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(GW_LIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/integration/%.o $(TEST_OBJ) $(SIM_LIB) $(CORE_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/bench/%: $(BUILD)/obj/tests/bench/%.o $(TEST_OBJ) $(SIM_LIB) $(CORE_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/fuzz/%: $(BUILD)/obj/tests/fuzz/%.o $(SIM_LIB) $(GW_LIB) $(CORE_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS) $(GW_LIBS)

tests: $(PROGRAMS) $(UNIT_BINS)

# make check-vm (tests/vm/, docs/check-vm.md): the guest's test programs are
# built in the release flavour and linked --as-needed, so the initramfs
# carries only the libraries they use. The gpio-sim module is cached per
# kernel version and the initramfs is remade only when what it holds
# changed, so a second run only boots the guest.
VM_DIR  := build/vm
# tests/vm/run-vm passes VM_KVER, the kernel it boots; this default is for
# make vm-image by hand.
VM_KVER ?= $(shell ls /boot/vmlinuz-6.1.*-amd64 2>/dev/null | sed 's|^/boot/vmlinuz-||' | sort -V | tail -1)
VM_SRC  := $(wildcard tests/vm/guest_*.c)
VM_BINS := $(patsubst tests/vm/%.c,$(BUILD)/vm/%,$(VM_SRC))
VM_MODULE := $(VM_DIR)/$(VM_KVER)/gpio-sim.ko

$(BUILD)/vm/%: $(BUILD)/obj/tests/vm/%.o $(TEST_OBJ) $(SIM_LIB) $(CORE_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -Wl,--as-needed -o $@ $^ $(PKG_LIBS)

$(VM_MODULE): tests/vm/build-module
	@mkdir -p $(dir $@)
	$(Q)sh tests/vm/build-module $(VM_KVER) $(dir $@)

$(VM_DIR)/initramfs-$(VM_KVER).cpio.gz: tests/vm/build-initramfs tests/vm/guest-init \
		tests/vm/guest-e2e tests/vm/guest.yaml config/gems.yaml config/services.yaml \
		$(wildcard config/profiles/*.yaml) $(VM_MODULE) $(PROGRAMS) $(VM_BINS)
	$(Q)sh tests/vm/build-initramfs $@ $(VM_KVER) $(VM_MODULE) $(BIN) $(BUILD)/vm

vm-image: $(VM_DIR)/initramfs-$(VM_KVER).cpio.gz

deps:
	@sh scripts/install-deps

# The README's two commands. Each installs what is missing first, then
# re-enters make so that pkg-config sees the freshly installed libraries.
demo: deps
	@$(MAKE) --no-print-directory FLAVOUR=release programs
	@sh scripts/demo build/release/bin

# The benchmarks and fuzz targets are built too (the fuzz targets compiled
# only: linking them needs clang's libFuzzer, make fuzz does it), so that a
# change that breaks them fails here rather than at the next make bench.
check: deps
	@$(MAKE) --no-print-directory FLAVOUR=asan tests \
	 $(patsubst %.c,build/asan/bench/%,$(notdir $(BENCH_SRC))) \
	 $(patsubst %.c,build/asan/obj/tests/fuzz/%.o,$(notdir $(FUZZ_SRC)))
	@ATELIER_BIN=$(CURDIR)/build/asan/bin ATELIER_TESTS=$(CURDIR)/build/asan/tests \
	 ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	 TEST_LOG_DIR=build/asan/test-logs \
	 sh tests/run-tests $(sort $(patsubst %.c,build/asan/tests/%,$(notdir $(UNIT_SRC)))) $(TEST_SCRIPTS)

# Installs what the guest needs (scripts/debian-packages-vm), then
# tests/vm/run-vm builds the image through vm-image and boots it.
check-vm: deps
	@sh scripts/install-deps scripts/debian-packages-vm
	@sh tests/vm/run-vm

bench: deps
	@$(MAKE) --no-print-directory FLAVOUR=release programs $(patsubst %.c,build/release/bench/%,$(notdir $(BENCH_SRC)))
	@for b in $(patsubst %.c,build/release/bench/%,$(notdir $(BENCH_SRC))); do \
		echo "== $$b"; ATELIER_BIN=$(CURDIR)/build/release/bin $$b || exit 1; done
	@# The web bench's figures come from chromium, driven from Debian's Python.
	@for b in $(wildcard tests/bench/bench_*.py); do \
		echo "== $$b"; ATELIER_BIN=$(CURDIR)/build/release/bin /usr/bin/python3 $$b || exit 1; done

fuzz: deps
	@$(MAKE) --no-print-directory FLAVOUR=fuzz $(patsubst %.c,build/fuzz/fuzz/%,$(notdir $(FUZZ_SRC)))
	@for f in $(patsubst %.c,build/fuzz/fuzz/%,$(notdir $(FUZZ_SRC))); do \
		n=$$(basename $$f); mkdir -p build/fuzz/corpus/$$n; \
		echo "== $$n for $(FUZZ_SECONDS) s"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 build/fuzz/corpus/$$n \
			$$( [ -d tests/fuzz/corpus/$$n ] && echo tests/fuzz/corpus/$$n ) \
			> build/fuzz/$$n.log 2>&1 || { tail -40 build/fuzz/$$n.log; exit 1; }; \
		grep -E '^stat::number_of_executed_units' build/fuzz/$$n.log; done

# The Debian package (debian/), built from a copy of the tree so that the
# build leaves this one as it was; the .deb lands in build/deb/.
deb: deps
	@sh scripts/install-deps scripts/debian-packages-deb
	@rm -rf build/deb
	@sh scripts/build-deb build/deb

# The package installed, checked, upgraded and purged on this machine
# (root, Debian 12; it changes the system: CI runs it, tests/deb/).
deb-check: deb
	@sh tests/deb/deb-test.sh build/deb

install: programs
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(SYSCONFDIR)/atelier/profiles \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(UDEVRULESDIR) $(DESTDIR)$(PREFIX)/lib/sysusers.d \
		$(DESTDIR)$(PREFIX)/lib/tmpfiles.d $(DESTDIR)$(PREFIX)/share/doc/atelier
	install -m 755 $(BIN)/atelierctl $(BIN)/atelier-sim $(BIN)/atelier-web $(BIN)/atelier-sync \
		$(DESTDIR)$(PREFIX)/bin/
	install -m 755 $(BIN)/atelierd $(DESTDIR)$(PREFIX)/sbin/
	install -m 644 config/atelier.yaml config/gems.yaml config/services.yaml $(DESTDIR)$(SYSCONFDIR)/atelier/
	install -m 644 config/profiles/*.yaml $(DESTDIR)$(SYSCONFDIR)/atelier/profiles/
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5 \
		$(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(PREFIX)/lib/systemd/system
	install -m 644 docs/man/atelierctl.1 docs/man/atelier-sim.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 docs/man/atelier.yaml.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 644 docs/man/atelierd.8 docs/man/atelier-web.8 docs/man/atelier-sync.8 \
		$(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 644 config/atelierd.service config/atelier-web.service config/atelier-sync.service \
		$(DESTDIR)$(UNITDIR)/
	install -m 644 config/61-atelier.rules $(DESTDIR)$(UDEVRULESDIR)/
	install -m 644 config/atelier.sysusers $(DESTDIR)$(PREFIX)/lib/sysusers.d/atelier.conf
	install -m 644 config/atelier.tmpfiles $(DESTDIR)$(PREFIX)/lib/tmpfiles.d/atelier.conf
	install -m 644 README.md docs/*.md $(DESTDIR)$(PREFIX)/share/doc/atelier/
	cd firmware-host/web/www && find . -type d -exec install -d -m 755 \
		$(if $(DESTDIR),$(abspath $(DESTDIR)))$(WEB_ROOT)/{} \; && find . -type f -exec install -m 644 {} \
		$(if $(DESTDIR),$(abspath $(DESTDIR)))$(WEB_ROOT)/{} \;

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
