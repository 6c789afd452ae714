/* lwip_bench: Debian's liblwip (2.1.3) serving TCP echo, discard and source
 * on a TAP device, for the benchmark suite's comparison.
 *
 *   lwip_bench TAPNAME IP/PREFIX [ECHO DISCARD SOURCE]   (ports default 7 9 19)
 *
 * Creates (or attaches to) the TAP device; the caller gives the kernel's side
 * an address and brings it up. Prints "lwip_bench: ready" and serves until
 * SIGTERM or SIGINT.
 *
 * lwIP runs single-threaded: lwip_init() (no tcpip thread), one loop that
 * reads frames from the TAP into PBUF_RAM pbufs, hands them to
 * ethernet_input(), and runs sys_check_timeouts(). lwIP's own unix tapif is
 * not used: in Debian's build its pbuf pool buffers are 592 bytes while it
 * puts a whole frame into one pool buffer, which corrupts the heap on any
 * frame over 592 bytes. Everything below uses lwIP's raw API; lwIP's TCP is
 * as Debian built it (see the limits printed at start). */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "lwip/etharp.h"
#include "lwip/init.h"
#include "lwip/memp.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"
#include "netif/ethernet.h"

#define FRAME_MAX 2048
#define RX_BATCH 64

static int tap_fd = -1;
static unsigned long long rx_frames, tx_frames, rx_drops, tx_errors;

/* ---- the TAP driver ------------------------------------------------------- */
static err_t tap_linkoutput(struct netif *nif, struct pbuf *p)
{
	static unsigned char buf[FRAME_MAX];
	(void)nif;
	const void *data = p->payload;
	size_t len = p->len;
	if (p->next) {   /* a chain: gather it */
		if (p->tot_len > sizeof(buf)) {
			tx_errors++;
			return ERR_BUF;
		}
		len = pbuf_copy_partial(p, buf, p->tot_len, 0);
		data = buf;
	}
	if (write(tap_fd, data, len) != (ssize_t)len) {
		tx_errors++;
		return ERR_IF;
	}
	tx_frames++;
	return ERR_OK;
}

static err_t tap_netif_init(struct netif *nif)
{
	static const unsigned char mac[6] = {0x02, 0x00, 0x5e, 0x10, 0x00, 0x02};
	nif->name[0] = 't';
	nif->name[1] = 'p';
	nif->output = etharp_output;
	nif->linkoutput = tap_linkoutput;
	nif->mtu = 1500;
	nif->hwaddr_len = 6;
	memcpy(nif->hwaddr, mac, 6);
	nif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET | NETIF_FLAG_LINK_UP;
	return ERR_OK;
}

/* Reads up to RX_BATCH frames; returns how many. */
static int tap_poll(struct netif *nif)
{
	int n;
	for (n = 0; n < RX_BATCH; n++) {
		struct pbuf *p = pbuf_alloc(PBUF_RAW, FRAME_MAX, PBUF_RAM);
		if (!p) {
			rx_drops++;
			break;
		}
		ssize_t r = read(tap_fd, p->payload, FRAME_MAX);
		if (r <= 0) {
			pbuf_free(p);
			break;
		}
		if (r < 14) {   /* not even an Ethernet header */
			pbuf_free(p);
			rx_drops++;
			continue;
		}
		pbuf_realloc(p, (u16_t)r);
		rx_frames++;
		if (nif->input(p, nif) != ERR_OK) {
			pbuf_free(p);
			rx_drops++;
		}
	}
	return n;
}

static int tap_open(const char *name)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

/* ---- the services (raw API) ---------------------------------------------- */
enum kind { K_ECHO, K_DISCARD, K_SOURCE };
struct conn {
	enum kind kind;
	struct tcp_pcb *pcb;
	struct pbuf *pending;   /* echo: received, not yet queued back */
	u16_t pending_off;
};
static unsigned long long conns_open, conns_total;
static unsigned char source_data[65536];

static void conn_free(struct conn *c)
{
	if (c->pending)
		pbuf_free(c->pending);
	free(c);
	conns_open--;
}

static void conn_close(struct conn *c)
{
	struct tcp_pcb *pcb = c->pcb;
	tcp_arg(pcb, NULL);
	tcp_recv(pcb, NULL);
	tcp_sent(pcb, NULL);
	tcp_err(pcb, NULL);
	conn_free(c);
	if (tcp_close(pcb) != ERR_OK)
		tcp_abort(pcb);
}

/* Echo: queue what fits back; open the receive window only for bytes queued,
 * so a slow reader throttles the sender. */
static void echo_push(struct conn *c)
{
	u32_t acked = 0;
	while (c->pending) {
		struct pbuf *q = c->pending;
		u16_t room = tcp_sndbuf(c->pcb);
		u16_t left = (u16_t)(q->len - c->pending_off);
		u16_t n = left < room ? left : room;
		if (!n || tcp_write(c->pcb, (char *)q->payload + c->pending_off, n, TCP_WRITE_FLAG_COPY) != ERR_OK)
			break;
		acked += n;
		c->pending_off = (u16_t)(c->pending_off + n);
		if (c->pending_off == q->len) {
			c->pending = q->next;
			if (q->next)
				pbuf_ref(q->next);
			pbuf_free(q);   /* frees q alone: its next got its own reference */
			c->pending_off = 0;
		}
	}
	if (acked) {
		tcp_recved(c->pcb, (u16_t)acked);
		tcp_output(c->pcb);
	}
}

static void source_push(struct conn *c)
{
	for (int i = 0; i < 64; i++) {
		u16_t room = tcp_sndbuf(c->pcb);
		if (room < 1460 && room < tcp_mss(c->pcb))
			break;
		if (tcp_write(c->pcb, source_data, room, TCP_WRITE_FLAG_COPY) != ERR_OK)
			break;
	}
	tcp_output(c->pcb);
}

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct conn *c = arg;
	(void)err;
	if (!p) {   /* end of stream: close */
		conn_close(c);
		return ERR_OK;
	}
	switch (c->kind) {
	case K_ECHO:
		if (c->pending)
			pbuf_cat(c->pending, p);
		else
			c->pending = p;
		echo_push(c);
		break;
	case K_DISCARD:
	case K_SOURCE:
		tcp_recved(pcb, p->tot_len);
		pbuf_free(p);
		break;
	}
	return ERR_OK;
}

static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	struct conn *c = arg;
	(void)pcb;
	(void)len;
	if (c->kind == K_ECHO)
		echo_push(c);
	else if (c->kind == K_SOURCE)
		source_push(c);
	return ERR_OK;
}

static void on_err(void *arg, err_t err)
{
	(void)err;
	if (arg)
		conn_free(arg);   /* the pcb is already gone */
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	if (err != ERR_OK || !pcb)
		return ERR_VAL;
	struct conn *c = calloc(1, sizeof(*c));
	if (!c)
		return ERR_MEM;
	c->kind = (enum kind)(intptr_t)arg;
	c->pcb = pcb;
	conns_open++;
	conns_total++;
	tcp_arg(pcb, c);
	tcp_recv(pcb, on_recv);
	tcp_sent(pcb, on_sent);
	tcp_err(pcb, on_err);
	tcp_nagle_disable(pcb);
	if (c->kind == K_SOURCE)
		source_push(c);
	return ERR_OK;
}

static int listen_on(u16_t port, enum kind kind)
{
	struct tcp_pcb *pcb = tcp_new();
	if (!pcb || tcp_bind(pcb, IP_ADDR_ANY, port) != ERR_OK)
		return -1;
	pcb = tcp_listen_with_backlog(pcb, 255);
	if (!pcb)
		return -1;
	tcp_arg(pcb, (void *)(intptr_t)kind);
	tcp_accept(pcb, on_accept);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 3 && argc != 6) {
		fprintf(stderr, "usage: lwip_bench TAPNAME IP/PREFIX [ECHO DISCARD SOURCE]\n");
		return 2;
	}
	u16_t ports[3] = {7, 9, 19};
	for (int i = 0; argc == 6 && i < 3; i++) {
		long v = strtol(argv[3 + i], NULL, 10);
		if (v < 1 || v > 65535) {
			fprintf(stderr, "lwip_bench: bad port %s\n", argv[3 + i]);
			return 2;
		}
		ports[i] = (u16_t)v;
	}
	char ipbuf[32];
	snprintf(ipbuf, sizeof(ipbuf), "%s", argv[2]);
	char *slash = strchr(ipbuf, '/');
	int plen = 24;
	if (slash) {
		*slash = 0;
		plen = atoi(slash + 1);
	}
	ip4_addr_t ip, mask, gw;
	if (!ip4addr_aton(ipbuf, &ip) || plen < 1 || plen > 30) {
		fprintf(stderr, "lwip_bench: bad address %s\n", argv[2]);
		return 2;
	}
	ip4_addr_set_u32(&mask, lwip_htonl(0xffffffffu << (32 - plen)));
	ip4_addr_set_zero(&gw);

	sigset_t mask_set;
	sigemptyset(&mask_set);
	sigaddset(&mask_set, SIGINT);
	sigaddset(&mask_set, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask_set, NULL);
	int sfd = signalfd(-1, &mask_set, SFD_NONBLOCK | SFD_CLOEXEC);

	tap_fd = tap_open(argv[1]);
	if (tap_fd < 0 || sfd < 0) {
		perror("lwip_bench: tap");
		return 1;
	}
	memset(source_data, 's', sizeof(source_data));

	lwip_init();
	static struct netif nif;
	if (!netif_add(&nif, &ip, &mask, &gw, NULL, tap_netif_init, ethernet_input)) {
		fprintf(stderr, "lwip_bench: netif_add failed\n");
		return 1;
	}
	netif_set_default(&nif);
	netif_set_up(&nif);
	netif_set_link_up(&nif);
	if (listen_on(ports[0], K_ECHO) < 0 || listen_on(ports[1], K_DISCARD) < 0 || listen_on(ports[2], K_SOURCE) < 0) {
		fprintf(stderr, "lwip_bench: cannot listen\n");
		return 1;
	}
	/* The limits compiled into this liblwip: TCP_WND and friends are
	 * build-time constants, so they cap what lwIP can do. */
	struct tcp_pcb *probe = tcp_new();
	printf("lwip_bench: lwIP %s TCP_MSS=%d TCP_WND=%u (scale %d) TCP_SND_BUF=%u TCP_SND_QUEUELEN=%d; new pcb: "
	       "rcv_wnd=%u snd_buf=%u; pbuf pool buffer=%u bytes\n",
	       LWIP_VERSION_STRING, TCP_MSS, (unsigned)TCP_WND, TCP_RCV_SCALE, (unsigned)TCP_SND_BUF, TCP_SND_QUEUELEN,
	       probe ? (unsigned)probe->rcv_wnd : 0, probe ? (unsigned)probe->snd_buf : 0,
	       (unsigned)memp_pools[MEMP_PBUF_POOL]->size);
	if (probe)
		tcp_close(probe);
	printf("lwip_bench: ready on %s %s\n", argv[1], argv[2]);
	fflush(stdout);

	struct pollfd pfd[2] = {{.fd = tap_fd, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
	for (;;) {
		u32_t sleep_ms = sys_timeouts_sleeptime();
		int timeout = sleep_ms > 100 ? 100 : (int)sleep_ms;
		int rc = poll(pfd, 2, timeout);
		if (rc < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break;
		if (pfd[0].revents & POLLIN)
			while (tap_poll(&nif) == RX_BATCH)
				sys_check_timeouts();
		sys_check_timeouts();
	}
	printf("lwip_bench: stopping: rx_frames=%llu tx_frames=%llu rx_drops=%llu tx_errors=%llu conns_total=%llu open=%llu\n",
	       rx_frames, tx_frames, rx_drops, tx_errors, conns_total, conns_open);
	close(tap_fd);
	return 0;
}
