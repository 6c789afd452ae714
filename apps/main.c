#include <stdio.h>
#include <string.h>

#include "app.h"

static void usage(FILE *out)
{
	fputs("usage: ustack <command> [options]\n"
	      "\n"
	      "A TCP/IP stack in user space, on a TAP or TUN device.\n"
	      "\n"
	      "commands:\n"
	      "  serve    bring up a stack on a TAP/TUN device and serve on it until SIGINT/SIGTERM\n"
	      "  get      fetch an http:// URL over ustack from a server on the kernel's side\n"
	      "  send     stream standard input to HOST PORT over ustack (echo comes back on stdout)\n"
	      "  tunnel   an encrypted IPv4 VPN over UDP between TUN devices (genkey, server, client)\n"
	      "  relay    carry every TCP/UDP flow routed into a TUN device through a SOCKS5\n"
	      "           proxy or straight out (tun2socks)\n"
	      "  run      run a program with its IP sockets on ustack (LD_PRELOAD), the rest on the kernel\n"
	      "  stats    the counters of the ustack running on a device (like nstat; --watch for rates)\n"
	      "  ss       the connections, flows or peers of the ustack running on a device (like ss -tn)\n"
	      "  demo     run the stack in a private network namespace and let the kernel ping it\n"
	      "           and talk UDP to it (needs root)\n"
	      "\n"
	      "`ustack <command> --help` describes a command's options.\n",
	      out);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "serve"))
		return cmd_serve(argc - 1, argv + 1);
	if (!strcmp(cmd, "get"))
		return cmd_get(argc - 1, argv + 1);
	if (!strcmp(cmd, "send"))
		return cmd_send(argc - 1, argv + 1);
	if (!strcmp(cmd, "tunnel"))
		return cmd_tunnel(argc - 1, argv + 1);
	if (!strcmp(cmd, "relay"))
		return cmd_relay(argc - 1, argv + 1);
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "stats"))
		return cmd_stats(argc - 1, argv + 1);
	if (!strcmp(cmd, "ss"))
		return cmd_ss(argc - 1, argv + 1);
	if (!strcmp(cmd, "demo"))
		return cmd_demo(argc - 1, argv + 1);
	fprintf(stderr, "ustack: unknown command '%s' (see --help)\n", cmd);
	return 2;
}
