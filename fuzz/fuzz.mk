# libFuzzer targets (fuzz/fuzz_*.c), included by the Makefile.
#
#   make fuzz                  build into build-fuzz/ and run every target
#                              FUZZ_TIME seconds (default 60), one at a time
#   make fuzz FUZZ_TIME=600 FUZZ_TARGETS="stack tcp_conn"
#   make fuzz-build            only build
#
# clang with -fsanitize=fuzzer,address,undefined; UBSan findings abort.
# Seeds: fuzz/corpus/<target>/ (read only); what a run adds goes to
# build-fuzz/corpus/<target>/, crashes to build-fuzz/artifacts/. fuzz/run.sh
# prints executions, coverage and findings per target and exits non-zero on
# any crash, leak, timeout or out-of-memory.
FUZZ_CC ?= clang
FUZZ_BUILD ?= build-fuzz
FUZZ_TIME ?= 60
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -g -O1 -std=c11 -D_GNU_SOURCE -DSIM_NO_CMOCKA -DUS_CHECKS -Wall -Wextra -Werror -Wshadow \
	-Wno-missing-field-initializers -Iinclude -Isrc -MMD -MP $(FUZZ_SAN)
FUZZ_SRCS := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_NAMES := $(patsubst fuzz/fuzz_%.c,%,$(FUZZ_SRCS))
FUZZ_TARGETS ?= $(FUZZ_NAMES)
FUZZ_BINS := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz_%)
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=$(FUZZ_BUILD)/obj/%.o) $(FUZZ_BUILD)/obj/tests/lib/sim.o \
	$(FUZZ_BUILD)/obj/fuzz/fz_alloc.o
# Every object but the allocator itself takes its malloc/free from
# fuzz/fz_alloc.h (the snapshot arena of the whole-stack targets).
FUZZ_ALLOC := -include fuzz/fz_alloc.h

.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_TIME) $(FUZZ_TARGETS)

# The library and the simulation harness: instrumented for coverage, not
# linked with libFuzzer's main.
$(FUZZ_BUILD)/obj/%.o: %.c fuzz/fz_alloc.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_ALLOC) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_BUILD)/obj/fuzz/fz_alloc.o: fuzz/fz_alloc.c fuzz/fz_alloc.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.c $(FUZZ_LIB_OBJS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_ALLOC) -fsanitize=fuzzer $< $(FUZZ_LIB_OBJS) -o $@ $(LDLIBS)

-include $(FUZZ_LIB_OBJS:.o=.d) $(FUZZ_BINS:%=%.d)

# The seed capture (fuzz/gen_seeds.c, fuzz/split_pcap.py): not a fuzz target.
$(FUZZ_BUILD)/gen_seeds: fuzz/gen_seeds.c $(FUZZ_LIB_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_ALLOC) $< $(FUZZ_LIB_OBJS) -o $@ $(LDLIBS)
