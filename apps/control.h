/* The control socket and the metrics endpoint of a running ustack program
 * (serve, relay, tunnel), and what `ustack stats` and `ustack ss` need to
 * talk to them.
 *
 * Each program answers on a Unix stream socket named after its device:
 * /run/ustack/DEV.sock in the machine's own network namespace, and
 * /run/ustack/netns-INODE/DEV.sock in any other (device names are per
 * namespace: two namespaces may each have a ustap0). The directory is 0700
 * and the socket 0600 (root's, as the programs run as root); USTACK_RUN_DIR
 * puts them elsewhere. A lock file beside the socket (DEV.lock, flock'ed
 * for the program's life) tells a live owner from a stale socket: a
 * socket left by a dead process is replaced, one whose owner lives is
 * refused. Both are removed at exit.
 *
 * The protocol: the client sends one request line, the server answers with
 * text and closes. Lines starting with '#' are comments.
 *
 *   counters          one line per counter: KIND GROUP.NAME VALUE DESCRIPTION
 *                     (KIND "counter" or "gauge")
 *   ss [-i] [-a|-l]   the connections, flows and peers, as `ss -tn` shows them
 *
 * --metrics ADDR:PORT serves the same counters over HTTP (GET /metrics) in
 * the Prometheus text format on a kernel TCP socket: one connection at a
 * time, a 5 s deadline for the whole exchange, requests of at most 4 KiB,
 * responses built in a buffer of at most 1 MiB.
 *
 * Everything runs in the thread that calls app_ctl_handle: the program's
 * own loop, so the callbacks read the stack without locks. */
#ifndef US_APP_CONTROL_H
#define US_APP_CONTROL_H
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "ustack/ustack.h"

enum { APP_CTL_COUNTER = 0, APP_CTL_GAUGE = 1 };
/* ss flags */
#define APP_CTL_SS_INFO 1u      /* -i: cwnd, rtt, retransmissions... */
#define APP_CTL_SS_ALL 2u       /* -a: listening sockets too */
#define APP_CTL_SS_LISTEN 4u    /* -l: listening sockets only */

/* A counter or gauge for the visitor: group ("Tcp", "Mem", "Relay"...),
 * name ("InSegs"), value, APP_CTL_COUNTER or APP_CTL_GAUGE, and a one-line
 * description (NULL: none). */
typedef void (*app_ctl_visit_fn)(void *vctx, const char *group, const char *name, uint64_t value, int kind,
				 const char *desc);

struct app_ctl_ops {
	const char *program;        /* "serve", "relay", "tunnel server"... */
	/* Visit every counter. */
	void (*counters)(void *arg, app_ctl_visit_fn visit, void *vctx);
	/* Write the connections, flows or peers (APP_CTL_SS_* flags) to out. */
	void (*sockets)(void *arg, FILE *out, unsigned flags);
	void *arg;
};

struct app_ctl;

/* getopt code and long option of --metrics, shared by the programs that
 * have a control socket; app_net_option takes it into app_net.metrics. */
#define APP_CTL_OPT_METRICS 0x4d01
#define APP_CTL_LONGOPTS {"metrics", required_argument, 0, APP_CTL_OPT_METRICS}
#define APP_CTL_USAGE                                                                            \
	"  --metrics ADDR:PORT  serve the counters for Prometheus (GET /metrics) on a kernel TCP\n" \
	"                       socket at ADDR:PORT (e.g. 127.0.0.1:9464 or [::1]:9464)\n"

/* Opens the control socket for device dev (and the metrics listener if
 * metrics is not NULL: "ADDR:PORT"). Prints a one-line reason and returns
 * NULL on failure: a live process has the device's socket, the directory is
 * unsafe, the metrics address is taken... */
struct app_ctl *app_ctl_open(const char *dev, const char *metrics, const struct app_ctl_ops *ops);
/* The fd to wait on (readable when something is to be done) and the call
 * that does it, never blocking. */
int app_ctl_fd(const struct app_ctl *c);
void app_ctl_handle(struct app_ctl *c);
/* app_ctl_open, then watched by a us_loop (serve, relay). */
struct app_ctl *app_ctl_open_loop(const char *dev, const char *metrics, const struct app_ctl_ops *ops,
				  struct us_loop *loop);
/* Closes everything and removes the socket and its lock file. NULL: no-op. */
void app_ctl_close(struct app_ctl *c);

/* The path of dev's control socket (and its lock file: ".lock" for
 * ".sock"), for this process's network namespace. 0, or -1 if dev is not
 * a device name or the path does not fit. */
int app_ctl_path(const char *dev, char *path, size_t cap);

/* For programs on a stack: the stack's counters (with their descriptions)
 * and its memory account (gauges in group "Mem"); its TCP connections as
 * ss shows them. */
void app_ctl_stack_counters(struct us_stack *st, app_ctl_visit_fn visit, void *vctx);
void app_ctl_stack_sockets(struct us_stack *st, FILE *out, unsigned flags);
/* The same from copies (serve --queues adds up its stacks' counters). */
void app_ctl_stats_counters(const struct us_stats *s, const struct us_mem_info *mi, uint64_t bufs_in_use,
			    app_ctl_visit_fn visit, void *vctx);
#define APP_CTL_SS_NO_HEADER 0x100u   /* app_ctl_stack_sockets: the lines alone */

/* ---- pure helpers (apps/control_fmt.c; tests/unit/test_control.c) ---- */

/* "127.0.0.1:9464", "[::1]:9464", "*:9464" or ":9464" (every IPv4
 * address) into a sockaddr; 0 or -1. */
int app_ctl_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len);
/* The Prometheus name of a counter: ustack_GROUP_NAME in snake case, with
 * "_total" for a counter ("Tcp", "InSegs" -> ustack_tcp_in_segs_total).
 * Returns the length, or -1 if it does not fit. */
int app_ctl_metric_name(const char *group, const char *name, int kind, char *buf, size_t cap);
/* A label value escaped for the text format (\\, \", \n); -1 if it does
 * not fit. */
int app_ctl_label_escape(const char *v, char *buf, size_t cap);
/* A HELP text escaped (\\ and \n); -1 if it does not fit. */
int app_ctl_help_escape(const char *v, char *buf, size_t cap);
/* ss's name for a TCP state ("ESTAB", "SYN-SENT", ...). */
const char *app_ctl_ss_state(int state);
/* Whether ss with these flags shows a connection in this state (as ss:
 * by default neither LISTEN nor TIME-WAIT, SYN-RECV or CLOSED). */
int app_ctl_ss_wants(int state, unsigned flags);
/* One connection, as `ss -tn` (and -i: a second line) prints it, to out. */
void app_ctl_ss_line(const struct us_tcp_info *i, unsigned flags, FILE *out);
#define APP_CTL_SS_HEADER "State      Recv-Q  Send-Q  Local Address:Port             Peer Address:Port\n"

/* One line of a "counters" answer parsed in place: KIND NAME VALUE DESC.
 * 0, or -1 if the line is not one. */
struct app_ctl_counter {
	char *name;         /* "Tcp.InSegs" */
	uint64_t value;
	int kind;
	char *desc;         /* "" if none */
};
int app_ctl_parse_counter(char *line, struct app_ctl_counter *out);
/* The per-second rate of a counter between two samples dt_s apart (a
 * counter that went down was reset: counted from 0). */
double app_ctl_rate(uint64_t before, uint64_t after, double dt_s);
#endif
