# libustack-preload.so, the LD_PRELOAD socket layer behind `ustack run`
# (preload/shim.h describes it). The library's objects are compiled once more,
# position-independent, and their calls to malloc and friends and to the
# kernel's I/O functions renamed (preload/redefine.syms) to the shim's: the
# stack then allocates from the shared arena and its device I/O never goes
# through the wrappers.
PRELOAD_SRCS := $(sort $(wildcard preload/*.c))
PRELOAD_OBJS := $(PRELOAD_SRCS:%.c=$(BUILD)/obj-pic/%.o)
# what the unit test links: everything but the exported wrappers and start-up
PRELOAD_CORE_OBJS := $(filter-out %/interpose.o %/init.o,$(PRELOAD_OBJS))
PRELOAD_LIBOBJS := $(LIB_SRCS:%.c=$(BUILD)/obj-pic/%.o) $(BUILD)/obj-pic/apps/common.o $(BUILD)/obj-pic/apps/control_fmt.o
PRELOAD_SO := $(BUILD)/libustack-preload.so

all: $(PRELOAD_SO)

# A sanitizer build of the shim needs the ASan runtime loaded before it:
# `ustack run` puts it first in LD_PRELOAD.
ifeq ($(SAN),1)
$(BUILD)/obj/apps/run.o: CFLAGS += -DUS_PRELOAD_ASAN='"$(shell $(CC) -print-file-name=libasan.so)"'
endif

$(BUILD)/obj-pic/preload/%.o: preload/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

$(BUILD)/obj-pic/src/%.o: src/%.c preload/redefine.syms
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -fvisibility=hidden -MF $(@:.o=.d) -MT $@ -c $< -o $@.raw
	objcopy --redefine-syms=preload/redefine.syms $@.raw $@
	@rm -f $@.raw

$(BUILD)/obj-pic/apps/%.o: apps/%.c preload/redefine.syms
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -fvisibility=hidden -MF $(@:.o=.d) -MT $@ -c $< -o $@.raw
	objcopy --redefine-syms=preload/redefine.syms $@.raw $@
	@rm -f $@.raw

$(PRELOAD_SO): $(PRELOAD_OBJS) $(PRELOAD_LIBOBJS)
	$(CC) -shared -Wl,-z,defs -Wl,-z,now -o $@ $^ $(LDFLAGS) -ldl -lpthread -lm

$(BUILD)/tests/unit/test_preload: $(BUILD)/obj/tests/unit/test_preload.o $(PRELOAD_CORE_OBJS) $(TEST_HELPER_OBJS) $(BUILD)/libustack-internal.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lcmocka -ldl $(LDLIBS)

-include $(PRELOAD_OBJS:.o=.d) $(PRELOAD_LIBOBJS:.o=.d)

# tests/interop/test_run.sh runs this on the kernel and under `ustack run`
$(BUILD)/tests/preload/probe: tests/preload/probe.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS) -lpthread
all: $(BUILD)/tests/preload/probe
$(BUILD)/tests/preload/resethand: tests/preload/resethand.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS)
all: $(BUILD)/tests/preload/resethand
