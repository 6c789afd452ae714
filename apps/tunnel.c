/* ustack tunnel: a small VPN over UDP between a server and its clients,
 * each on a kernel TUN device, encrypted with a pre-shared key. It carries
 * IPv4 and IPv6 inside, over an IPv4 or IPv6 outer path.
 *
 *   ustack tunnel genkey FILE
 *   ustack tunnel server --listen ADDR:PORT --tun NAME --ip ADDR/PREFIX... --key FILE
 *   ustack tunnel client --server ADDR:PORT --tun NAME --ip ADDR/PREFIX... --key FILE
 *
 * This file is the I/O and the command line; the protocol (wire format,
 * sealing, sessions, replay windows) is apps/tunnel_proto.c and the
 * offloads (cutting and joining TCP super-frames) apps/tunnel_offload.c.
 *
 * The TUN device is created and configured (MTU, addresses, up) through the
 * project's own rtnetlink code; it disappears when the program exits.
 *
 * Data path (with offloads, the default):
 *  - the TUN device carries the virtio-net header (IFF_VNET_HDR) and
 *    TUNSETOFFLOAD offers checksum offload and TSO for IPv4 and IPv6, so
 *    the kernel hands over TCP super-frames of up to 64 KiB;
 *  - each is cut into MTU-sized inner packets (tunnel_offload.c) straight
 *    into the send arena, each sealed in place, and the datagrams of equal
 *    size to one destination go out as one UDP GSO message (UDP_SEGMENT):
 *    one sendmmsg sends a whole batch of super-frames;
 *  - received datagrams come in with UDP_GRO (the kernel hands over a run
 *    of datagrams of one size from one sender as one buffer) and recvmmsg;
 *    each is opened in place and consecutive TCP segments of a flow are
 *    joined again into one super-frame written to the TUN device with a
 *    GSO virtio-net header (GRO in user space).
 * --no-offload turns all of this off: one packet per TUN read and write,
 * one datagram per message.
 *
 * Workers: --workers N (default: the number of CPUs, at most 8) threads,
 * each with its own queue of a multi-queue TUN device and, on the server,
 * its own UDP socket on the listening port (SO_REUSEPORT). A classic BPF
 * program on the socket group steers every datagram to the worker that
 * owns its session (csid % N), so one session's receive state has a single
 * writer; any worker seals for any session (tunnel_proto.h explains how
 * without locks). A worker writes what it receives to its own TUN queue,
 * so the kernel's automatic steering (it remembers the queue that last
 * wrote a flow) hands the flow's replies to that same worker: a session's
 * traffic both ways stays on one core, with no cross-CPU wakeups, and
 * sessions spread over the cores. The client has one session and so one
 * socket, received by worker 0 and sent on by all; it defaults to one
 * worker.
 *
 * Counters are printed on SIGUSR1, every --stats seconds and at exit
 * (SIGINT/SIGTERM). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/filter.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sodium.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "control.h"
#include "tunnel_offload.h"
#include "tunnel_proto.h"
#include "ustack/host.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

#define TNL_MTU_MIN 576
#define TNL_MTU_MAX 65000
#define TNL_RX_BATCH 16
#define TNL_RX_BUF (2 * 65536)
#define TNL_RX_ROUNDS 4
#define TNL_TUN_READS 16
#define TNL_TX_MSGS 256
#define TNL_ARENA (2u << 20)
#define TNL_GSO_SEGS 64
#define TNL_GSO_BYTES 65000
#define TNL_FRAME_MAX (TNL_VNET_LEN + 65535 + 64)
#define TNL_WORKERS_MAX 8
#define TICK_MS 250

struct txmsg {
	struct tnl_ep to;
	int has_to;
	size_t off, len;
	size_t seg;        /* datagram size of all but the last */
	int nseg, closed;
};

struct tnl;
struct worker {
	int id;
	struct tnl *t;
	int tun_fd, udp_fd, poll_udp;
	int nogso;                          /* the kernel refused a GSO message */
	struct tnl_stats st;
	struct tnl_wk pw;
	struct tnl_gro gro;
	uint8_t *frame;                     /* one TUN read */
	/* sending */
	uint8_t *arena;
	size_t used;
	struct txmsg tx[TNL_TX_MSGS];
	int ntx;
	struct mmsghdr txmm[TNL_TX_MSGS];
	struct iovec txiov[TNL_TX_MSGS];
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} txcm[TNL_TX_MSGS];
	/* receiving */
	uint8_t *rxbuf[TNL_RX_BATCH];
	struct mmsghdr rxmm[TNL_RX_BATCH];
	struct iovec rxiov[TNL_RX_BATCH];
	struct tnl_ep rxfrom[TNL_RX_BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} rxcm[TNL_RX_BATCH];
	pthread_t th;
	int started;
	uint64_t now;
};

struct tnl {
	int server, offload, gso, nworkers;
	struct tnl_cfg cfg;
	struct tnl_srv srv;
	struct tnl_cli cli;
	struct tnl_ep ep;                   /* listen (server) or server (client) */
	char dev[IFNAMSIZ];
	uint32_t mtu, txqlen;
	unsigned stats_s;
	int sig_fd;
	atomic_int stop;
	const char *metrics;                /* --metrics ADDR:PORT */
	struct app_ctl *ctl;                /* the control socket, served by worker 0 */
	int tun_fds[TNL_WORKERS_MAX];
	struct worker w[TNL_WORKERS_MAX];
};

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void log_line(const char *line)
{
	printf("ustack: tunnel: %s\n", line);
	fflush(stdout);
}

/* ---- sending ---- */

/* A GSO message the kernel refused, sent one datagram at a time (the
 * kernel may fragment those; it never cuts a GSO segment over the MTU). */
static void tx_split(struct worker *w, const struct txmsg *m)
{
	for (size_t off = 0; off < m->len; off += m->seg) {
		size_t len = m->len - off < m->seg ? m->len - off : m->seg;
		ssize_t r;
		do
			r = sendto(w->udp_fd, w->arena + m->off + off, len, 0, m->has_to ? &m->to.sa : NULL,
				   m->has_to ? tnl_ep_len(&m->to) : 0);
		while (r < 0 && errno == EINTR);
		if (r < 0) {
			TNL_INC(&w->st, TxErrors);
			continue;
		}
		TNL_INC(&w->st, TxCalls);
		TNL_INC(&w->st, TxDatagrams);
		tnl_add(&w->st, C_TxBytes, len);
	}
}

static void tx_flush(struct worker *w)
{
	struct tnl *t = w->t;
	int n = w->ntx, done = 0;
	for (int i = 0; i < n; i++) {
		struct txmsg *m = &w->tx[i];
		struct msghdr *h = &w->txmm[i].msg_hdr;
		memset(h, 0, sizeof(*h));
		w->txiov[i].iov_base = w->arena + m->off;
		w->txiov[i].iov_len = m->len;
		h->msg_iov = &w->txiov[i];
		h->msg_iovlen = 1;
		if (m->has_to) {
			h->msg_name = &m->to.sa;
			h->msg_namelen = tnl_ep_len(&m->to);
		}
		if (m->nseg > 1) {
			h->msg_control = w->txcm[i].buf;
			h->msg_controllen = sizeof(w->txcm[i].buf);
			struct cmsghdr *c = CMSG_FIRSTHDR(h);
			c->cmsg_level = SOL_UDP;
			c->cmsg_type = UDP_SEGMENT;
			c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
			uint16_t seg = (uint16_t)m->seg;
			memcpy(CMSG_DATA(c), &seg, sizeof(seg));
		}
	}
	/* Each round sends at least one message or skips one that failed. */
	while (done < n) {
		int r = sendmmsg(w->udp_fd, w->txmm + done, (unsigned)(n - done), 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (w->tx[done].nseg > 1 && (errno == EINVAL || errno == EMSGSIZE || errno == EIO)) {
				tx_split(w, &w->tx[done]);   /* e.g. datagrams over the path MTU */
				w->nogso = 1;                /* and no more GSO from this worker */
			}
			else
				TNL_INC(&w->st, TxErrors);
			done++;
			continue;
		}
		TNL_INC(&w->st, TxCalls);
		for (int i = done; i < done + r; i++) {
			tnl_add(&w->st, C_TxDatagrams, (uint64_t)w->tx[i].nseg);
			tnl_add(&w->st, C_TxBytes, w->tx[i].len);
		}
		done += r;
	}
	(void)t;
	w->ntx = 0;
	w->used = 0;
}

/* Room for a datagram of up to max bytes to `to` (NULL: the connected
 * peer); tx_commit says how long it came out. */
static uint8_t *tx_reserve(struct worker *w, const struct tnl_ep *to, size_t max)
{
	if (w->used + max > TNL_ARENA)
		tx_flush(w);
	struct txmsg *m = w->ntx ? &w->tx[w->ntx - 1] : NULL;
	if (m && w->t->gso && !w->nogso && !m->closed && m->nseg < TNL_GSO_SEGS && max <= m->seg && m->len + max <= TNL_GSO_BYTES &&
	    m->off + m->len == w->used && (to ? m->has_to && tnl_ep_eq(&m->to, to) : !m->has_to))
		return w->arena + w->used;
	if (w->ntx == TNL_TX_MSGS)
		tx_flush(w);
	m = &w->tx[w->ntx++];
	memset(m, 0, sizeof(*m));
	if (to) {
		m->to = *to;
		m->has_to = 1;
	}
	m->off = w->used;
	return w->arena + w->used;
}

static void tx_commit(struct worker *w, size_t len)
{
	struct txmsg *m = &w->tx[w->ntx - 1];
	if (!m->nseg)
		m->seg = len;
	else if (len < m->seg)
		m->closed = 1;   /* a short one ends the message */
	if (!w->t->gso || w->nogso)
		m->closed = 1;
	m->nseg++;
	m->len += len;
	w->used += len;
}

/* The control datagrams the protocol queued. */
static void ctl_flush(struct worker *w)
{
	for (int i = 0; i < w->pw.ctl.n; i++) {
		const struct tnl_ep *to = w->t->server ? &w->pw.ctl.m[i].to : NULL;
		size_t len = w->pw.ctl.m[i].len;
		uint8_t *b = tx_reserve(w, to, len);
		memcpy(b, w->pw.ctl.m[i].buf, len);
		tx_commit(w, len);
		w->tx[w->ntx - 1].closed = 1;
	}
	w->pw.ctl.n = 0;
}

/* ---- the TUN device ---- */

static int tun_emit(void *arg, uint8_t *frame, size_t len, unsigned pkts, uint32_t hash)
{
	struct worker *w = arg;
	struct tnl *t = w->t;
	/* Our own queue: tun's automatic steering then sends the flow's
	 * packets back to this worker, which owns the session they go to. */
	int fd = w->tun_fd;
	(void)hash;
	if (!t->offload) {
		frame += TNL_VNET_LEN;
		len -= TNL_VNET_LEN;
	}
	ssize_t r;
	do
		r = write(fd, frame, len);
	while (r < 0 && errno == EINTR);
	if (r != (ssize_t)len) {
		TNL_INC(&w->st, TunWriteErrors);
		return -1;
	}
	TNL_INC(&w->st, TunWriteFrames);
	tnl_add(&w->st, C_TunWritePackets, pkts);
	tnl_add(&w->st, C_TunWriteBytes, len - (t->offload ? TNL_VNET_LEN : 0));
	return 0;
}

/* An inner packet for the TUN device, at pt (with TNL_VNET_LEN writable
 * bytes before it). */
static void to_tun(struct worker *w, uint8_t *pt, size_t len)
{
	if (w->t->offload)
		tnl_gro_add(&w->gro, pt, len, tun_emit, w);
	else
		tun_emit(w, pt - TNL_VNET_LEN, len + TNL_VNET_LEN, 1, 0);
}

/* Seals the packets of one frame read from the TUN device. */
static void on_frame(struct worker *w, uint8_t *f, size_t n)
{
	struct tnl *t = w->t;
	struct virtio_net_hdr vh;
	memset(&vh, 0, sizeof(vh));
	if (t->offload) {
		if (n < TNL_VNET_LEN) {
			TNL_INC(&w->st, TunBadFrame);
			return;
		}
		memcpy(&vh, f, TNL_VNET_LEN);
		f += TNL_VNET_LEN;
		n -= TNL_VNET_LEN;
	}
	TNL_INC(&w->st, TunReadFrames);
	tnl_add(&w->st, C_TunReadBytes, n);
	if (!tnl_ip_ok(f, n)) {
		TNL_INC(&w->st, TunNotIp);
		return;
	}
	struct tnl_tso tso;
	int cnt = tnl_tso_begin(&tso, &vh, f, n);
	if (cnt < 0) {
		TNL_INC(&w->st, TunBadFrame);
		return;
	}
	tnl_add(&w->st, C_TunReadPackets, (uint64_t)cnt);
	struct tnl_dest d;
	uint64_t ctr;
	const uint8_t *key;
	uint8_t type;
	if (t->server) {
		if (tnl_srv_route(&t->srv, &w->pw, -1, f, &d) <= 0)
			return;
		ctr = tnl_srv_reserve(&t->srv, d.slot, (unsigned)cnt, n);
		key = t->cfg.k_s2c;
		type = T_SDATA;
	} else {
		if (!tnl_cli_src_ok(&t->cli, &w->pw, f))
			return;
		d.ssid = atomic_load_explicit(&t->cli.ssid, memory_order_acquire);
		if (!d.ssid) {
			tnl_add(&w->st, C_TunNoSession, (uint64_t)cnt);
			return;
		}
		d.csid = t->cli.csid;
		ctr = atomic_fetch_add_explicit(&t->cli.tx_ctr, (uint64_t)cnt, memory_order_relaxed) + 1;
		key = t->cfg.k_c2s;
		type = T_DATA;
	}
	size_t max = TNL_OVERHEAD + tnl_tso_max(&tso);
	for (int i = 0; i < cnt; i++) {
		uint8_t *b = tx_reserve(w, t->server ? &d.ep : NULL, max);
		size_t pl = tnl_tso_next(&tso, b + TNL_HDR);
		size_t dl = tnl_seal(&w->pw.cr, key, b, type, d.csid, d.ssid, ctr + (uint64_t)i, b + TNL_HDR, pl);
		if (!dl) {
			TNL_INC(&w->st, TxErrors);
			if (!w->tx[w->ntx - 1].nseg)
				w->ntx--;
			continue;
		}
		tx_commit(w, dl);
	}
}

static void on_tun(struct worker *w)
{
	size_t room = TNL_FRAME_MAX;
	for (int i = 0; i < TNL_TUN_READS; i++) {
		ssize_t n = read(w->tun_fd, w->frame, room);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		on_frame(w, w->frame, (size_t)n);
	}
	tx_flush(w);
}

/* ---- the UDP socket ---- */

static void on_datagram(struct worker *w, uint8_t *d, size_t n, const struct tnl_ep *from)
{
	struct tnl *t = w->t;
	TNL_INC(&w->st, RxDatagrams);
	tnl_add(&w->st, C_RxBytes, n);
	if (!tnl_hdr_ok(d, n)) {
		TNL_INC(&w->st, RxMalformed);
		return;
	}
	uint8_t *pt = d + TNL_HDR;
	size_t ptlen = 0;
	enum tnl_verdict v;
	struct tnl_dest fwd;
	const int server = t->server;
	if (server)
		v = tnl_srv_input(&t->srv, &w->pw, w->now, from, d, n, pt, &ptlen, &fwd);
	else
		v = tnl_cli_input(&t->cli, &w->pw, w->now, d, n, pt, &ptlen);
	if (v == TNL_TUN) {
		to_tun(w, pt, ptlen);
	} else if (v == TNL_FWD && server) {   /* only the server's call writes fwd */
		uint8_t *b = tx_reserve(w, &fwd.ep, ptlen + TNL_OVERHEAD);
		uint64_t ctr = tnl_srv_reserve(&t->srv, fwd.slot, 1, ptlen);
		size_t dl = tnl_seal(&w->pw.cr, t->cfg.k_s2c, b, T_SDATA, fwd.csid, fwd.ssid, ctr, pt, ptlen);
		if (dl)
			tx_commit(w, dl);
		else if (!w->tx[w->ntx - 1].nseg)
			w->ntx--;
	}
	if (w->pw.ctl.n > TNL_CTL_MAX / 2)
		ctl_flush(w);
}

static void on_udp(struct worker *w)
{
	for (int round = 0; round < TNL_RX_ROUNDS; round++) {
		for (int i = 0; i < TNL_RX_BATCH; i++) {
			struct msghdr *h = &w->rxmm[i].msg_hdr;
			memset(h, 0, sizeof(*h));
			w->rxiov[i].iov_base = w->rxbuf[i];
			w->rxiov[i].iov_len = TNL_RX_BUF;
			h->msg_iov = &w->rxiov[i];
			h->msg_iovlen = 1;
			h->msg_name = &w->rxfrom[i];
			h->msg_namelen = sizeof(w->rxfrom[i]);
			h->msg_control = w->rxcm[i].buf;
			h->msg_controllen = sizeof(w->rxcm[i].buf);
		}
		int n = recvmmsg(w->udp_fd, w->rxmm, TNL_RX_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				TNL_INC(&w->st, RxErrors);   /* e.g. ECONNREFUSED: the server is not there */
			break;
		}
		TNL_INC(&w->st, RxCalls);
		w->now = mono_ms();
		for (int i = 0; i < n; i++) {
			struct msghdr *h = &w->rxmm[i].msg_hdr;
			size_t len = w->rxmm[i].msg_len, seg = len;
			for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
				if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO &&
				    c->cmsg_len >= CMSG_LEN(sizeof(int))) {
					int g;
					memcpy(&g, CMSG_DATA(c), sizeof(g));
					if (g > 0)
						seg = (size_t)g;
				}
			}
			int fam_ok = (h->msg_namelen == sizeof(struct sockaddr_in) && w->rxfrom[i].sa.sa_family == AF_INET) ||
				     (h->msg_namelen == sizeof(struct sockaddr_in6) && w->rxfrom[i].sa.sa_family == AF_INET6);
			if ((h->msg_flags & MSG_TRUNC) || !fam_ok || !seg) {
				TNL_INC(&w->st, RxDatagrams);
				TNL_INC(&w->st, RxMalformed);
				continue;
			}
			for (size_t off = 0; off < len; off += seg)
				on_datagram(w, w->rxbuf[i] + off, len - off < seg ? len - off : seg, &w->rxfrom[i]);
		}
		if (w->t->offload)
			tnl_gro_flush(&w->gro, tun_emit, w);
		ctl_flush(w);
		tx_flush(w);
		if (n < TNL_RX_BATCH)
			break;
	}
}

/* ---- counters ---- */

static uint64_t counter_sum(struct tnl *t, int i)
{
	uint64_t v = 0;
	for (int k = 0; k < t->nworkers; k++)
		v += atomic_load_explicit(&t->w[k].st.c[i], memory_order_relaxed);
	return v;
}

/* The server's peers or the client's session. */
static void print_peers(struct tnl *t, FILE *out)
{
	uint64_t now = mono_ms();
	if (t->server) {
		tnl_srv_print_peers(&t->srv, now, out);
	} else {
		uint64_t ssid = atomic_load(&t->cli.ssid);
		char e[80];
		if (ssid)
			fprintf(out, "Session: %016" PRIx64 "/%016" PRIx64 " with %s, idle %" PRIu64 " s\n", t->cli.csid,
				ssid, tnl_ep_str(&t->ep, e, sizeof(e)), (now - t->cli.last_rx_ms) / 1000);
		else
			fprintf(out, "Session: none\n");
	}
}

static void print_stats(struct tnl *t)
{
	printf("Tunnel:\n");
	for (int i = 0; i < C_COUNT; i++)
		printf("    %-20s %" PRIu64 "\n", tnl_counter_names[i], counter_sum(t, i));
	print_peers(t, stdout);
	printf("Workers: %d, offloads %s\n", t->nworkers,
	       t->offload ? (t->gso ? "on (TUN TSO/GRO, UDP GSO/GRO)" : "on (TUN TSO/GRO; no UDP GSO)") : "off");
	fflush(stdout);
}

/* The control socket (control.h): `ustack stats` and `ustack ss` on the device. */
static void control_counters(void *arg, app_ctl_visit_fn visit, void *vctx)
{
	struct tnl *t = arg;
	for (int i = 0; i < C_COUNT; i++)
		visit(vctx, "Tunnel", tnl_counter_names[i], counter_sum(t, i), APP_CTL_COUNTER, tnl_counter_descs[i]);
	if (t->server)
		visit(vctx, "Tunnel", "Peers", (uint64_t)tnl_srv_active(&t->srv), APP_CTL_GAUGE, "clients with a live session");
	else
		visit(vctx, "Tunnel", "Connected", atomic_load(&t->cli.ssid) ? 1 : 0, APP_CTL_GAUGE,
		      "1 while the client has a session with the server");
}

static void control_sockets(void *arg, FILE *out, unsigned flags)
{
	(void)flags;   /* no TCP of its own: the peers are all there is */
	print_peers(arg, out);
}

/* ---- the loop ---- */

static void on_signal(struct tnl *t)
{
	struct signalfd_siginfo si;
	while (read(t->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGUSR1)
			print_stats(t);
		else
			atomic_store(&t->stop, 1);
	}
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct tnl *t = w->t;
	struct pollfd pfd[4];
	int np = 0, isig = -1, iudp = -1, itun, ictl = -1;
	if (w->id == 0) {
		isig = np;
		pfd[np++] = (struct pollfd){.fd = t->sig_fd, .events = POLLIN};
		if (t->ctl) {
			ictl = np;
			pfd[np++] = (struct pollfd){.fd = app_ctl_fd(t->ctl), .events = POLLIN};
		}
	}
	if (w->poll_udp) {
		iudp = np;
		pfd[np++] = (struct pollfd){.fd = w->udp_fd, .events = POLLIN};
	}
	itun = np;
	pfd[np++] = (struct pollfd){.fd = w->tun_fd, .events = POLLIN};
	uint64_t next_tick = 0, next_stats = t->stats_s ? mono_ms() + (uint64_t)t->stats_s * 1000 : 0;
	while (!atomic_load_explicit(&t->stop, memory_order_relaxed)) {
		int r = poll(pfd, (nfds_t)np, TICK_MS);
		if (r < 0 && errno != EINTR) {
			fprintf(stderr, "ustack: poll: %s\n", strerror(errno));
			atomic_store(&t->stop, 2);
			break;
		}
		w->now = mono_ms();
		if (r > 0) {
			if (isig >= 0 && pfd[isig].revents)
				on_signal(t);
			if (ictl >= 0 && pfd[ictl].revents)
				app_ctl_handle(t->ctl);
			if (iudp >= 0 && pfd[iudp].revents)
				on_udp(w);
			if (pfd[itun].revents & POLLIN)
				on_tun(w);
			if (pfd[itun].revents & (POLLERR | POLLHUP | POLLNVAL)) {
				fprintf(stderr, "ustack: the TUN device went away\n");
				atomic_store(&t->stop, 2);
				break;
			}
		}
		w->now = mono_ms();
		if (w->now >= next_tick) {
			next_tick = w->now + TICK_MS;
			if (t->server)
				tnl_srv_tick(&t->srv, &w->pw, w->now);
			else if (w->id == 0)
				tnl_cli_tick(&t->cli, &w->pw, w->now);
			ctl_flush(w);
			tx_flush(w);
		}
		if (w->id == 0 && next_stats && w->now >= next_stats) {
			next_stats = w->now + (uint64_t)t->stats_s * 1000;
			print_stats(t);
		}
	}
	return NULL;
}

/* ---- keys ---- */

static int cmd_genkey(int argc, char **argv)
{
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		puts("usage: ustack tunnel genkey FILE\n\n"
		     "Writes a new random 32-byte key, as 64 hex digits, to FILE (mode 0600).\n"
		     "An existing FILE is never overwritten.");
		return 0;
	}
	if (argc != 2)
		app_usage_error("tunnel genkey wants exactly one argument, the key file");
	if (argv[1][0] == '-')
		app_usage_error("tunnel genkey: unknown option '%s'", argv[1]);
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "ustack: cannot create %s: %s%s\n", argv[1], strerror(errno),
			errno == EEXIST ? " (refusing to overwrite a key)" : "");
		return 1;
	}
	uint8_t key[32];
	char hex[65];
	randombytes_buf(key, sizeof(key));
	sodium_bin2hex(hex, sizeof(hex), key, sizeof(key));
	hex[64] = '\n';
	int ok = fchmod(fd, 0600) == 0 && write(fd, hex, 65) == 65 && fsync(fd) == 0;
	int e = errno;
	sodium_memzero(key, sizeof(key));
	sodium_memzero(hex, sizeof(hex));
	if (close(fd) < 0 && ok) {
		ok = 0;
		e = errno;
	}
	if (!ok) {
		fprintf(stderr, "ustack: cannot write %s: %s\n", argv[1], strerror(e));
		unlink(argv[1]);
		return 1;
	}
	return 0;
}

/* Reads and checks the key file; prints why and returns -1 on failure. */
static int load_key(const char *path, uint8_t key[32])
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		fprintf(stderr, "ustack: cannot open the key file %s: %s\n", path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "ustack: the key file %s is not a regular file\n", path);
		close(fd);
		return -1;
	}
	if (st.st_mode & 077) {
		fprintf(stderr,
			"ustack: the key file %s is accessible by group or others (mode %04o); "
			"refusing to use it (chmod 600 %s)\n",
			path, (unsigned)(st.st_mode & 07777), path);
		close(fd);
		return -1;
	}
	char buf[160];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		n--;
	size_t got = 0;
	int bad = n != 64 || sodium_hex2bin(key, 32, buf, 64, NULL, &got, NULL) != 0 || got != 32;
	sodium_memzero(buf, sizeof(buf));
	if (bad) {
		fprintf(stderr, "ustack: the key file %s does not hold a key (64 hex digits, as written by "
				"`ustack tunnel genkey`)\n", path);
		return -1;
	}
	return 0;
}

/* ---- set-up ---- */

#define MTU4 (1500 - 28 - TNL_OVERHEAD)
#define MTU6 (1500 - 48 - TNL_OVERHEAD)

static void tunnel_usage(FILE *out)
{
	fprintf(out,
		"usage: ustack tunnel genkey FILE\n"
		"       ustack tunnel server --listen ADDR:PORT --tun NAME --ip ADDR/PREFIX... --key FILE [options]\n"
		"       ustack tunnel client --server ADDR:PORT --tun NAME --ip ADDR/PREFIX... --key FILE [options]\n"
		"\n"
		"A VPN over UDP: clients' packets travel, encrypted with the pre-shared key\n"
		"(XChaCha20-Poly1305), to the server, which hands each to the client that owns its\n"
		"destination address or to its own TUN device. Creates the TUN device NAME with the\n"
		"--ip addresses and removes it on SIGINT/SIGTERM. SIGUSR1 prints the counters.\n"
		"--ip takes an IPv4 or IPv6 ADDR/PREFIX and may be given once per family; the\n"
		"outer path is IPv4 or IPv6 (ADDR:PORT, [V6ADDR]:PORT; a server on [::]:PORT\n"
		"also takes IPv4 clients).\n"
		"\n"
		"options:\n"
		"  --mtu N          the TUN device's MTU (default %d over IPv4, %d over IPv6:\n"
		"                   1500 minus the outer IP and UDP header and the tunnel's %d bytes)\n"
		"  --keepalive S    client: HELLO every S seconds (default 20) to keep the session\n"
		"                   and NAT mappings alive\n"
		"  --timeout S      a silent peer (server) or server (client) is dropped after S\n"
		"                   seconds (default 60, at least 3 and twice --keepalive)\n"
		"  --stats S        print the counters every S seconds too\n"
		"  --max-peers N    server: at most N clients (default 256)\n"
		"  --txqueuelen N   the TUN device's transmit queue (kernel default 500); longer\n"
		"                   means fewer drops under bursts, more queueing delay\n"
		"  --workers N      threads, each with a queue of the TUN device (default: the\n"
		"                   server one per CPU, at most %d; the client 1)\n"
		"  --no-offload     no virtio-net header on the TUN device, no UDP GSO/GRO: one\n"
		"                   packet per system call\n"
		"  --metrics ADDR:PORT  serve the counters for Prometheus (GET /metrics) on a kernel\n"
		"                   TCP socket at ADDR:PORT (e.g. 127.0.0.1:9464 or [::1]:9464)\n"
		"\n"
		"While it runs, `ustack stats NAME` shows the counters and `ustack ss NAME` the\n"
		"peers (server) or the session (client).\n",
		MTU4, MTU6, (int)TNL_OVERHEAD, TNL_WORKERS_MAX);
}

static long parse_num(const char *opt, const char *s, long lo, long hi)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < lo || v > hi)
		app_usage_error("--%s wants a number %ld..%ld, got '%s'", opt, lo, hi, s);
	return v;
}

static void sock_buf(int fd, int opt_force, int opt, int bytes)
{
	if (setsockopt(fd, SOL_SOCKET, opt_force, &bytes, sizeof(bytes)) < 0)
		setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof(bytes));
}

/* A UDP socket for worker w: bound to the listening port (server, with
 * SO_REUSEPORT when there are several) or connected to the server. */
static int udp_open(struct tnl *t, int id, char *err, size_t errlen)
{
	char e[80];
	int fam = t->ep.sa.sa_family;
	int fd = socket(fam, SOCK_DGRAM | SOCK_CLOEXEC, 0);   /* blocking sends: back-pressure */
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	int one = 1, zero = 0;
	sock_buf(fd, SO_RCVBUFFORCE, SO_RCVBUF, 8 << 20);
	sock_buf(fd, SO_SNDBUFFORCE, SO_SNDBUF, 8 << 20);
	if (fam == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));   /* [::] takes IPv4 too */
	if (t->server && t->nworkers > 1)
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (t->offload && setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) < 0 && id == 0)
		fprintf(stderr, "ustack: UDP_GRO not available: %s\n", strerror(errno));
	if (t->server ? bind(fd, &t->ep.sa, tnl_ep_len(&t->ep)) < 0 : connect(fd, &t->ep.sa, tnl_ep_len(&t->ep)) < 0) {
		snprintf(err, errlen, "cannot %s %s: %s", t->server ? "listen on" : "use the server address",
			 tnl_ep_str(&t->ep, e, sizeof(e)), strerror(errno));
		close(fd);
		return -1;
	}
	if (t->server && t->nworkers > 1 && id == 0) {
		/* Steer each datagram to the worker owning its session: the
		 * low 32 bits of csid (UDP payload bytes 8..11) mod N, the
		 * index of the socket in the group (bound in order). */
		struct sock_filter code[] = {
			{BPF_LD | BPF_W | BPF_ABS, 0, 0, 8},
			{BPF_ALU | BPF_MOD | BPF_K, 0, 0, (uint32_t)t->nworkers},
			{BPF_RET | BPF_A, 0, 0, 0},
		};
		struct sock_fprog prog = {.len = 3, .filter = code};
		if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof(prog)) < 0) {
			snprintf(err, errlen, "cannot steer datagrams to workers (SO_ATTACH_REUSEPORT_CBPF): %s",
				 strerror(errno));
			close(fd);
			return -1;
		}
	}
	return fd;
}

/* TUN queue q: created (q 0) or attached, with the virtio-net header and
 * offloads unless --no-offload. */
static int tun_queue(struct tnl *t, const char *name, int q, struct us_tun_open_info *info)
{
	int fl = IFF_TUN | IFF_NO_PI | (t->nworkers > 1 ? IFF_MULTI_QUEUE : 0) | (t->offload ? IFF_VNET_HDR : 0);
	int fd = us_tun_open(q ? t->dev : name, fl, info);
	if (fd < 0 || !t->offload)
		return fd;
	int hsz = (int)TNL_VNET_LEN;
	if (ioctl(fd, TUNSETVNETHDRSZ, &hsz) < 0 ||
	    (ioctl(fd, TUNSETOFFLOAD, (unsigned long)(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6)) < 0 &&
	     ioctl(fd, TUNSETOFFLOAD, (unsigned long)TUN_F_CSUM) < 0 && ioctl(fd, TUNSETOFFLOAD, 0UL) < 0)) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

static int worker_init(struct tnl *t, struct worker *w, int id)
{
	memset(w, 0, offsetof(struct worker, th));
	w->id = id;
	w->t = t;
	w->tun_fd = w->udp_fd = -1;
	w->pw.id = id;
	w->pw.st = &w->st;
	if (tnl_crypto_init(&w->pw.cr) < 0)
		return -1;
	if (t->offload && tnl_gro_init(&w->gro) < 0)
		return -1;
	w->frame = malloc(TNL_FRAME_MAX);
	w->arena = malloc(TNL_ARENA);
	if (!w->frame || !w->arena)
		return -1;
	int rx = t->server || id == 0;
	for (int i = 0; rx && i < TNL_RX_BATCH; i++)
		if (!(w->rxbuf[i] = malloc(TNL_RX_BUF)))
			return -1;
	return 0;
}

static void worker_free(struct worker *w)
{
	for (int i = 0; i < TNL_RX_BATCH; i++)
		free(w->rxbuf[i]);
	free(w->frame);
	free(w->arena);
	tnl_gro_free(&w->gro);
	tnl_crypto_free(&w->pw.cr);
}

static int default_workers(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > TNL_WORKERS_MAX ? TNL_WORKERS_MAX : (int)n;
}

static int run_side(int server, int argc, char **argv)
{
	static const struct option opts[] = {
		{"listen", required_argument, 0, 'l'}, {"server", required_argument, 0, 's'},
		{"tun", required_argument, 0, 'U'},    {"ip", required_argument, 0, 'i'},
		{"key", required_argument, 0, 'k'},    {"mtu", required_argument, 0, 'm'},
		{"keepalive", required_argument, 0, 'K'}, {"timeout", required_argument, 0, 't'},
		{"stats", required_argument, 0, 'S'},  {"max-peers", required_argument, 0, 'P'},
		{"txqueuelen", required_argument, 0, 'Q'}, {"workers", required_argument, 0, 'W'},
		{"no-offload", no_argument, 0, 'O'},   APP_CTL_LONGOPTS,
		{"help", no_argument, 0, 'h'},         {0, 0, 0, 0},
	};
	const char *side = server ? "server" : "client";
	const char *tun = NULL, *keyfile = NULL;
	int has_ep = 0, has_mtu = 0, has_keepalive = 0, has_workers = 0;
	static struct tnl T;   /* large: keep it off the stack */
	struct tnl *t = &T;
	memset(t, 0, sizeof(*t));
	t->server = server;
	t->sig_fd = -1;
	for (int i = 0; i < TNL_WORKERS_MAX; i++)
		t->tun_fds[i] = t->w[i].tun_fd = t->w[i].udp_fd = -1;
	t->offload = 1;
	t->nworkers = default_workers();
	t->cfg.keepalive_s = 20;
	t->cfg.timeout_s = 60;
	t->cfg.max_peers = 256;
	t->cfg.log = log_line;
	opterr = 0;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
		case 's':
			if ((c == 'l') != server)
				app_usage_error("tunnel %s does not take --%s", side, c == 'l' ? "listen" : "server");
			if (tnl_parse_ep(optarg, &t->ep) < 0)
				app_usage_error("--%s wants ADDR:PORT or [V6ADDR]:PORT, got '%s'",
						c == 'l' ? "listen" : "server", optarg);
			has_ep = 1;
			break;
		case 'U':
			if (!*optarg || strlen(optarg) >= IFNAMSIZ || strchr(optarg, '/') || strchr(optarg, ' ') ||
			    strchr(optarg, '%'))
				app_usage_error("--tun wants a device name of 1..15 characters, got '%s'", optarg);
			tun = optarg;
			break;
		case 'i': {
			struct tnl_addr a;
			if (tnl_parse_cidr(optarg, &a) < 0)
				app_usage_error("--ip wants ADDR/PREFIX (IPv4 prefix 1..32, IPv6 1..128), got '%s'", optarg);
			struct tnl_addr *slot = a.fam == 4 ? &t->cfg.ip4 : &t->cfg.ip6;
			if (slot->fam)
				app_usage_error("--ip: one address per family (IPv%d given twice)", a.fam);
			*slot = a;
			break;
		}
		case 'k':
			keyfile = optarg;
			break;
		case 'm':
			t->mtu = (uint32_t)parse_num("mtu", optarg, TNL_MTU_MIN, TNL_MTU_MAX);
			has_mtu = 1;
			break;
		case 'K':
			if (server)
				app_usage_error("--keepalive is a client option (the server answers the client's)");
			t->cfg.keepalive_s = (unsigned)parse_num("keepalive", optarg, 1, 600);
			has_keepalive = 1;
			break;
		case 't':
			t->cfg.timeout_s = (unsigned)parse_num("timeout", optarg, 3, 86400);
			break;
		case 'S':
			t->stats_s = (unsigned)parse_num("stats", optarg, 0, 86400);
			break;
		case 'Q':
			t->txqlen = (uint32_t)parse_num("txqueuelen", optarg, 16, 100000);
			break;
		case 'W':
			t->nworkers = (int)parse_num("workers", optarg, 1, TNL_WORKERS_MAX);
			has_workers = 1;
			break;
		case 'O':
			t->offload = 0;
			break;
		case 'P':
			if (!server)
				app_usage_error("--max-peers is a server option");
			t->cfg.max_peers = (int)parse_num("max-peers", optarg, 1, 65536);
			break;
		case APP_CTL_OPT_METRICS: {
			struct sockaddr_storage ss;
			socklen_t len;
			if (app_ctl_parse_addr(optarg, &ss, &len) < 0)
				app_usage_error("--metrics wants ADDR:PORT (e.g. 127.0.0.1:9464 or [::1]:9464), got '%s'",
						optarg);
			t->metrics = optarg;
			break;
		}
		case 'h':
			tunnel_usage(stdout);
			return 0;
		case ':':
			app_usage_error("option '%s' wants a value", argv[optind - 1]);
		default:
			app_usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		app_usage_error("unexpected argument '%s'", argv[optind]);
	if (!has_ep)
		app_usage_error("tunnel %s needs --%s ADDR:PORT", side, server ? "listen" : "server");
	if (!tun)
		app_usage_error("tunnel %s needs --tun NAME", side);
	if (!t->cfg.ip4.fam && !t->cfg.ip6.fam)
		app_usage_error("tunnel %s needs --ip ADDR/PREFIX", side);
	if (!keyfile)
		app_usage_error("tunnel %s needs --key FILE (make one with `ustack tunnel genkey FILE`)", side);
	if (!server && !has_keepalive && t->cfg.timeout_s < 2 * t->cfg.keepalive_s)
		t->cfg.keepalive_s = t->cfg.timeout_s / 2;
	if (!server && t->cfg.timeout_s < 2 * t->cfg.keepalive_s)
		app_usage_error("--timeout (%u s) must be at least twice --keepalive (%u s)", t->cfg.timeout_s,
				t->cfg.keepalive_s);
	int v6 = t->ep.sa.sa_family == AF_INET6;
	static const uint8_t zero16[16];
	if (server && (v6 ? t->ep.in6.sin6_port : t->ep.in4.sin_port) == 0)
		app_usage_error("--listen needs a port");
	if (!server && (v6 ? !memcmp(&t->ep.in6.sin6_addr, zero16, 16) : t->ep.in4.sin_addr.s_addr == 0))
		app_usage_error("--server needs an address other than %s", v6 ? "::" : "0.0.0.0");
	if (!has_mtu)
		t->mtu = v6 ? MTU6 : MTU4;
	if (t->cfg.ip6.fam && t->mtu < 1280)
		app_usage_error("--mtu %u is below IPv6's minimum of 1280", t->mtu);
	if (!server && !has_workers)
		t->nworkers = 1;   /* one session: one receiving worker, which its flows follow */
	t->cfg.nworkers = server ? t->nworkers : 1;

	uint8_t master[32];
	if (load_key(keyfile, master) < 0)
		return 1;
	tnl_derive_keys(master, t->cfg.k_c2s, t->cfg.k_s2c);
	sodium_memzero(master, sizeof(master));

	int rc = 1;
	char err[256], e[80], a4[64], a6[64];
	t->sig_fd = app_signal_fd();
	if (t->sig_fd < 0) {
		perror("ustack: signalfd");
		goto out;
	}
	if (server ? tnl_srv_init(&t->srv, &t->cfg) < 0 : (tnl_cli_init(&t->cli, &t->cfg, 0), 0))
		goto nomem;
	/* Before the device and the port: a device in use by a live tunnel
	 * is refused without being touched. */
	struct app_ctl_ops cops = {server ? "tunnel server" : "tunnel client", control_counters, control_sockets, t};
	if (!(t->ctl = app_ctl_open(tun, t->metrics, &cops)))
		goto out;
	for (int i = 0; i < t->nworkers; i++)
		if (worker_init(t, &t->w[i], i) < 0)
			goto nomem;

	/* The sockets first: a busy port fails before any device exists. */
	for (int i = 0; i < (server ? t->nworkers : 1); i++) {
		int fd = udp_open(t, i, err, sizeof(err));
		if (fd < 0) {
			fprintf(stderr, "ustack: %s\n", err);
			goto out;
		}
		t->w[i].udp_fd = fd;
		t->w[i].poll_udp = 1;
	}
	for (int i = 1; !server && i < t->nworkers; i++)
		t->w[i].udp_fd = t->w[0].udp_fd;   /* sent on by all, received by worker 0 */
	{
		/* Is UDP GSO there? A zero segment size is always accepted when it is. */
		int zero = 0;
		t->gso = t->offload && setsockopt(t->w[0].udp_fd, SOL_UDP, UDP_SEGMENT, &zero, sizeof(zero)) == 0;
	}

	struct us_tun_open_info info;
	for (int q = 0; q < t->nworkers; q++) {
		int fd = tun_queue(t, tun, q, q ? NULL : &info);
		if (fd < 0) {
			char buf[256];
			fprintf(stderr, "ustack: %s\n", us_tun_strerror(fd, buf, sizeof(buf)));
			goto out;
		}
		t->w[q].tun_fd = t->tun_fds[q] = fd;
		if (!q)
			snprintf(t->dev, sizeof(t->dev), "%s", info.name);
	}
	int r;
	const char *what = NULL;
	if ((r = us_nl_link_set_mtu(t->dev, t->mtu)) < 0)
		what = "cannot set the device's MTU";
	else if (t->txqlen && (r = us_nl_link_set_txqlen(t->dev, t->txqlen)) < 0)
		what = "cannot set the device's transmit queue length";
	else if (t->cfg.ip4.fam) {
		struct in_addr in;
		memcpy(&in, t->cfg.ip4.a, 4);
		if ((r = us_nl_addr_add(t->dev, in, t->cfg.ip4.plen)) < 0 && r != -EEXIST)
			what = "cannot add the device's IPv4 address";
	}
	if (!what && t->cfg.ip6.fam) {
		struct in6_addr in6;
		memcpy(&in6, t->cfg.ip6.a, 16);
		if ((r = us_nl_addr6_add(t->dev, &in6, t->cfg.ip6.plen)) < 0 && r != -EEXIST)
			what = "cannot add the device's IPv6 address";
	}
	if (!what && (r = us_nl_link_set_up(t->dev, 1)) < 0)
		what = "cannot bring the device up";
	if (what) {
		fprintf(stderr, "ustack: %s: %s\n", what, strerror(-r));
		goto out;
	}
	snprintf(a4, sizeof(a4), "%s/%d", t->cfg.ip4.fam ? tnl_addr_str(&t->cfg.ip4, err, sizeof(err)) : "",
		 t->cfg.ip4.plen);
	snprintf(a6, sizeof(a6), "%s/%d", t->cfg.ip6.fam ? tnl_addr_str(&t->cfg.ip6, err, sizeof(err)) : "",
		 t->cfg.ip6.plen);
	printf("ustack: tunnel %s on %s %s%s%s mtu %u%s, %d worker%s, offloads %s, %s %s\n", side, t->dev,
	       t->cfg.ip4.fam ? a4 : "", t->cfg.ip4.fam && t->cfg.ip6.fam ? " " : "", t->cfg.ip6.fam ? a6 : "", t->mtu,
	       info.created ? " (device created)" : "", t->nworkers, t->nworkers > 1 ? "s" : "",
	       t->offload ? (t->gso ? "on" : "on (no UDP GSO)") : "off", server ? "listening on" : "server",
	       tnl_ep_str(&t->ep, e, sizeof(e)));
	fflush(stdout);
	if (!server) {
		struct worker *w0 = &t->w[0];
		tnl_cli_hello(&t->cli, &w0->pw, mono_ms());
		ctl_flush(w0);
		tx_flush(w0);
	}

	for (int i = 1; i < t->nworkers; i++) {
		if (pthread_create(&t->w[i].th, NULL, worker_run, &t->w[i]) != 0) {
			fprintf(stderr, "ustack: cannot start worker %d\n", i);
			atomic_store(&t->stop, 2);
			break;
		}
		t->w[i].started = 1;
	}
	worker_run(&t->w[0]);
	for (int i = 1; i < t->nworkers; i++)
		if (t->w[i].started)
			pthread_join(t->w[i].th, NULL);
	rc = atomic_load(&t->stop) == 2 ? 1 : 0;
	if (!server) {
		struct worker *w0 = &t->w[0];
		tnl_cli_bye(&t->cli, &w0->pw);
		ctl_flush(w0);
		tx_flush(w0);
	}
	printf("ustack: stopping\n");
	print_stats(t);
	goto out;
nomem:
	fprintf(stderr, "ustack: out of memory\n");
out:
	app_ctl_close(t->ctl);
	/* Closing the fds removes a device this program created. */
	for (int i = 0; i < TNL_WORKERS_MAX; i++)
		if (t->tun_fds[i] >= 0)
			close(t->tun_fds[i]);
	for (int i = 0; i < (server ? t->nworkers : 1); i++)
		if (t->w[i].udp_fd >= 0)
			close(t->w[i].udp_fd);
	if (t->sig_fd >= 0)
		close(t->sig_fd);
	for (int i = 0; i < t->nworkers; i++)
		worker_free(&t->w[i]);
	if (server)
		tnl_srv_free(&t->srv);
	sodium_memzero(&t->cfg, sizeof(t->cfg));
	return rc;
}

int cmd_tunnel(int argc, char **argv)
{
	if (argc < 2)
		app_usage_error("tunnel wants a command: genkey, server or client");
	const char *sub = argv[1];
	if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
		tunnel_usage(stdout);
		return 0;
	}
	if (strcmp(sub, "genkey") && strcmp(sub, "server") && strcmp(sub, "client"))
		app_usage_error("unknown tunnel command '%s' (genkey, server or client)", sub);
	if (sodium_init() < 0) {
		fprintf(stderr, "ustack: cannot initialise libsodium\n");
		return 1;
	}
	if (!strcmp(sub, "genkey"))
		return cmd_genkey(argc - 1, argv + 1);
	return run_side(!strcmp(sub, "server"), argc - 1, argv + 1);
}
