# Upstream packetdrill against ustack (tests/packetdrill/README.md).
#
#   make packetdrill        builds packetdrill (the tool, from its tarball,
#                           into build/packetdrill/) and the plug-in
#                           $(BUILD)/packetdrill/ustack.so
#   make packetdrill SAN=1  the plug-in with ASan+UBSan (build-san/)
#
# The tarball comes from $(PACKETDRILL_DIR) (../shared/tools/packetdrill,
# beside the checkout, unless the environment says otherwise). packetdrill
# is only unpacked and built here, never copied into the project; the
# plug-in includes its published interface header from the unpacked tree.
PACKETDRILL_DIR ?= ../shared/tools/packetdrill
PACKETDRILL_TARBALL ?= $(firstword $(wildcard $(PACKETDRILL_DIR)/packetdrill-*.tar.gz))
PD_TOOL := build/packetdrill
PD_SRC := $(PD_TOOL)/src
PD_BIN := $(PD_TOOL)/packetdrill
PD_STAMP := $(PD_TOOL)/unpacked.stamp
PD_PLUGIN := $(BUILD)/packetdrill/ustack.so
PD_PRELOAD := $(BUILD)/packetdrill/preload.so

PD_PLUGIN_SRCS := tests/packetdrill/plugin.c tests/packetdrill/tcpinfo.c
PD_PIC_OBJS := $(LIB_SRCS:%.c=$(BUILD)/pic/%.o) $(PD_PLUGIN_SRCS:%.c=$(BUILD)/pic/%.o)
PD_PIC_FLAGS := -fPIC -fvisibility=hidden

.PHONY: packetdrill
packetdrill: $(PD_BIN) $(PD_PLUGIN) $(PD_PRELOAD)

$(PD_STAMP):
	@if [ ! -f "$(PACKETDRILL_TARBALL)" ]; then \
		echo "packetdrill: FAILED: no packetdrill-*.tar.gz in PACKETDRILL_DIR=$(PACKETDRILL_DIR)" >&2; \
		echo "packetdrill: set PACKETDRILL_DIR to the directory holding it (../shared/tools/packetdrill)" >&2; \
		exit 1; fi
	rm -rf $(PD_SRC)
	mkdir -p $(PD_SRC)
	tar -xzf "$(PACKETDRILL_TARBALL)" -C $(PD_SRC) --strip-components=1
	touch $@

# packetdrill's own build, with its own flags (it is a tool, not our code).
$(PD_BIN): $(PD_STAMP)
	$(MAKE) -C $(PD_SRC)/gtests/net/packetdrill -f Makefile packetdrill >$(PD_TOOL)/build.log 2>&1 || \
		{ tail -n 30 $(PD_TOOL)/build.log; exit 1; }
	cp $(PD_SRC)/gtests/net/packetdrill/packetdrill $@

$(BUILD)/pic/%.o: %.c | $(PD_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PD_PIC_FLAGS) -I$(PD_SRC)/gtests/net/packetdrill -c $< -o $@

$(PD_PLUGIN): $(PD_PIC_OBJS)
	@mkdir -p $(dir $@)
	$(CC) -shared $(LDFLAGS) -o $@ $(PD_PIC_OBJS) $(LDLIBS)

# Preloaded into packetdrill with the plug-in (see the file and run.sh).
$(PD_PRELOAD): tests/packetdrill/preload.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -fPIC -shared -o $@ $< -ldl

-include $(PD_PIC_OBJS:.o=.d)
