# The control socket's build rules (included from the Makefile): the unit
# test of its pure parts (names, escaping, parsing, ss lines) links their
# object and the library.
CONTROL_FMT_OBJS := $(BUILD)/obj/apps/control_fmt.o

$(BUILD)/tests/unit/test_control: $(BUILD)/obj/tests/unit/test_control.o $(CONTROL_FMT_OBJS) $(TEST_HELPER_OBJS) $(BUILD)/libustack-internal.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lcmocka $(LDLIBS)
