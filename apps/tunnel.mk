# The tunnel's build rules (included from the Makefile). Only the tunnel's
# objects include sodium.h and OpenSSL's headers, and only what links them
# (the ustack program and the tunnel's protocol test) links the libraries.
TUNNEL_LIBS := -lsodium -lcrypto
TUNNEL_PROTO_OBJS := $(BUILD)/obj/apps/tunnel_proto.o
TUNNEL_OFFLOAD_OBJS := $(BUILD)/obj/apps/tunnel_offload.o

$(BUILD)/tests/unit/test_tunnel_proto: $(BUILD)/obj/tests/unit/test_tunnel_proto.o $(TUNNEL_PROTO_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lcmocka $(TUNNEL_LIBS) $(LDLIBS)

$(BUILD)/tests/unit/test_tunnel_offload: $(BUILD)/obj/tests/unit/test_tunnel_offload.o $(TUNNEL_OFFLOAD_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lcmocka $(LDLIBS)

# The fuzz target of the offloads (fuzz/fuzz_tunnel.c) links their object.
$(FUZZ_BUILD)/fuzz_tunnel: fuzz/fuzz_tunnel.c $(FUZZ_LIB_OBJS) $(FUZZ_BUILD)/obj/apps/tunnel_offload.o
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_LIB_OBJS) $(FUZZ_BUILD)/obj/apps/tunnel_offload.o -o $@ $(LDLIBS)
