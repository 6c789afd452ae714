# ustack build. `make` builds the library (build/libustack.a and
# build/libustack.so), build/ustack and the tests;
# `make SAN=1` builds the same into build-san/ with ASan and UBSan;
# `make SAN=msan` builds them into build-msan/ with clang's MemorySanitizer
# (tests/msan.sh runs them; the fuzz targets too);
# `make install [PREFIX=/usr/local] [DESTDIR=]` installs the libraries, the
# headers, ustack.pc and the program;
# `make test` installs what the tests need and runs the whole suite;
# `make demo` installs them, builds and runs `ustack demo` (root);
# `make fuzz` builds the libFuzzer targets and runs each (fuzz/fuzz.mk).
CC ?= cc
ifeq ($(SAN),1)
BUILD ?= build-san
OPT ?= -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
CHECKS := -DUS_CHECKS
else ifeq ($(SAN),msan)
BUILD ?= build-msan
CC = clang
OPT ?= $(MSAN_FLAGS)
CHECKS := -DUS_CHECKS
else
BUILD ?= build
OPT ?= -O2
endif
CFLAGS ?= -g
# US_CHECKS turns the invariant checks (US_ASSERT, src/core/check.h) on:
# in the sanitizer, MSan and fuzz builds, not in the release build.
CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wno-missing-field-initializers $(OPT) $(CHECKS) -Iinclude -Isrc -MMD -MP
LDFLAGS += $(filter -fsanitize=%,$(OPT))
LDLIBS += -lpthread -lm
# MemorySanitizer: uninitialized reads, with where the bytes came from; a
# value passed to or returned from a function must be initialized (so an
# unwritten output parameter is caught where it is used, and a value handed
# to uninstrumented cmocka is checked at the call).
MSAN_FLAGS := -O1 -fsanitize=memory -fsanitize-memory-track-origins=2 -fsanitize-memory-param-retval \
	-fno-omit-frame-pointer

# The library's version (include/ustack/ustack.h says the same) and the
# shared library's ABI version (its soname).
VERSION := 0.1.0
SOVERSION := 0
PREFIX ?= /usr/local
DESTDIR ?=

LIB_SRCS := $(sort $(wildcard src/*.c src/*/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
# Library objects: position independent (for libustack.so) and with hidden
# visibility, so that only what include/ustack/ declares (between its
# "visibility push(default)" pragmas: the us_ API) leaves the library.
LIB_CFLAGS := -fPIC -fvisibility=hidden
APP_SRCS := $(sort $(wildcard apps/*.c))
APP_OBJS := $(APP_SRCS:%.c=$(BUILD)/obj/%.o)
TEST_SRCS := $(sort $(wildcard tests/unit/test_*.c tests/sim/test_*.c))
TEST_BINS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
TEST_HELPERS := $(sort $(wildcard tests/lib/*.c))
TEST_HELPER_OBJS := $(TEST_HELPERS:%.c=$(BUILD)/obj/%.o)

SHLIB := $(BUILD)/libustack.so.$(VERSION)

# Keep intermediate objects (tests, fuzz) instead of rebuilding them.
.SECONDARY:

.PHONY: all lib test check deps demo clean bench install
all: lib $(BUILD)/ustack $(TEST_BINS)
lib: $(BUILD)/libustack.a $(SHLIB)

$(BUILD)/obj/src/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LIB_CFLAGS) -c $< -o $@

# Programs (apps/) see only the public headers: include/, never src/.
$(BUILD)/obj/apps/%.o: apps/%.c
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -Isrc,$(CFLAGS)) -c $< -o $@

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# The static library: every object linked into one (ld -r) whose hidden
# symbols are then made local, so internal names (tcp_input, route_lookup,
# ...) cannot clash with another library's in a program that links both.
$(BUILD)/libustack.a: $(LIB_OBJS)
	@rm -f $@ $@.o
	$(LD) -r -o $@.o $^
	objcopy --localize-hidden $@.o
	ar rcs $@ $@.o
	@rm -f $@.o

$(SHLIB): $(LIB_OBJS)
	$(CC) $(LDFLAGS) -shared -Wl,-soname,libustack.so.$(SOVERSION) -o $@ $^ -lm
	ln -sf libustack.so.$(VERSION) $(BUILD)/libustack.so.$(SOVERSION)
	ln -sf libustack.so.$(VERSION) $(BUILD)/libustack.so

# Tests and fuzz targets reach into the layers: they link the objects as
# they are, internal symbols and all.
$(BUILD)/libustack-internal.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/ustack: $(APP_OBJS) $(BUILD)/libustack.a
	$(CC) $(LDFLAGS) -o $@ $(APP_OBJS) $(BUILD)/libustack.a $(LDLIBS) $(TUNNEL_LIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(TEST_HELPER_OBJS) $(BUILD)/libustack-internal.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(filter $(BUILD)/obj/apps/%.o,$^) $(TEST_HELPER_OBJS) $(BUILD)/libustack-internal.a -lcmocka $(LDLIBS)

# The relay's SOCKS5 client is tested as the program links it: its object.
$(BUILD)/tests/unit/test_socks5: $(BUILD)/obj/apps/socks5.o
$(BUILD)/tests/unit/test_relay_dns: $(BUILD)/obj/apps/relay_dns.o

install: lib $(BUILD)/ustack
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include/ustack $(DESTDIR)$(PREFIX)/bin
	install -m 644 $(BUILD)/libustack.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(SHLIB) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libustack.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libustack.so.$(SOVERSION)
	ln -sf libustack.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libustack.so
	install -m 644 include/ustack/*.h $(DESTDIR)$(PREFIX)/include/ustack/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' ustack.pc.in >$(DESTDIR)$(PREFIX)/lib/pkgconfig/ustack.pc
	install -m 755 $(BUILD)/ustack $(DESTDIR)$(PREFIX)/bin/

# Installs Debian packages the tests need (root; no-op when present).
deps:
	@tools/install-deps.sh

# The README's test command: everything, normal and sanitizer builds.
test check: deps
	@tests/run.sh

# The README's first command: the stack in a private network namespace,
# pinged and talked to by the kernel. Builds only after deps (the compiler).
demo: deps
	@$(MAKE) --no-print-directory $(BUILD)/ustack
	$(BUILD)/ustack demo

# The benchmark suite (bench/README.md): ustack on TAP and TUN, lwIP and the
# kernel over veth, side by side (root; BENCH_QUICK=1 for a 1-run smoke test).
BENCH_BINS := $(BUILD)/bench/rr $(BUILD)/bench/lwip_bench $(BUILD)/bench/taprate $(BUILD)/bench/udpecho
$(BUILD)/bench/udpecho: bench/udpecho.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS)
$(BUILD)/bench/rr: bench/rr.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS)
$(BUILD)/bench/taprate: bench/taprate.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS) -lpthread
$(BUILD)/bench/lwip_bench: bench/lwip/lwip_bench.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -I/usr/include/lwip -o $@ $< $(LDFLAGS) -llwip
bench: deps
	@$(MAKE) --no-print-directory $(BUILD)/ustack $(BENCH_BINS)
	USTACK=$(BUILD)/ustack RR=$(BUILD)/bench/rr LWIP_BENCH=$(BUILD)/bench/lwip_bench TAPRATE=$(BUILD)/bench/taprate \
		UDPECHO=$(BUILD)/bench/udpecho \
		/usr/bin/python3 bench/bench.py

# The C style (.clang-format): `make format` rewrites the files git has as
# changed against FORMAT_BASE (default: every C file), `make format-check`
# lists the ones that would change.
FORMAT_BASE ?=
FORMAT_FILES = $(if $(FORMAT_BASE),$(shell git diff --name-only --diff-filter=AM $(FORMAT_BASE) -- '*.c' '*.h'),\
	$(shell git ls-files '*.c' '*.h'))
.PHONY: format format-check
format:
	clang-format -i $(FORMAT_FILES)
format-check:
	@for f in $(FORMAT_FILES); do clang-format "$$f" | cmp -s - "$$f" || echo "$$f"; done

clean:
	rm -rf build build-san build-msan build-fuzz build-msan-fuzz

include fuzz/fuzz.mk
include preload/preload.mk
include apps/tunnel.mk
include tests/packetdrill/packetdrill.mk
include apps/control.mk

-include $(LIB_OBJS:.o=.d) $(APP_OBJS:.o=.d) $(TEST_HELPER_OBJS:.o=.d) $(TEST_BINS:$(BUILD)/tests/%=$(BUILD)/obj/tests/%.d)
