/* A link that writes every frame, both directions, to a pcap file:
 * classic format with nanosecond time stamps (magic 0xa1b23c4d, written in
 * host byte order as the format intends), LINKTYPE_ETHERNET (1) for L2
 * links and LINKTYPE_RAW (101) for L3 links. The time stamp is the `now`
 * given to recv/send. The file is flushed after each batch, so it stays
 * readable if the process is killed. A zero-copy device (include/ustack/
 * link.h) over the link it wraps: frames are written from the stack's
 * buffers as they pass, and the counts are the inner link's answers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "ustack/link.h"
#include "wire/csum.h"

#define PCAP_MAGIC_NS 0xa1b23c4du
#define PCAP_SNAPLEN 262144u   /* tcpdump's default: room for 64 KiB super-frames */
#define PCAP_LINKTYPE_ETHERNET 1u
#define PCAP_LINKTYPE_RAW 101u

struct pcap_link {
	struct us_link *inner;
	FILE *f;
	uint64_t write_errors;
};

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);   /* host order: readers detect it from the magic */
}

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static void pcap_record(struct pcap_link *c, const struct us_buf *b, uint64_t now)
{
	if (!c->f)
		return;
	const uint8_t *d = us_buf_data(b);
	uint32_t len = us_buf_len(b);
	uint8_t h[16];
	uint32_t incl = len < PCAP_SNAPLEN ? len : PCAP_SNAPLEN;
	put32(h, (uint32_t)(now / 1000000000u));
	put32(h + 4, (uint32_t)(now % 1000000000u));
	put32(h + 8, incl);
	put32(h + 12, len);
	if (fwrite(h, sizeof(h), 1, c->f) != 1) {
		c->write_errors++;
		return;
	}
	/* A checksum the device is to finish (offload) is finished in the
	 * capture, as it will be on the wire: the bytes before the field, the
	 * field, the bytes after. */
	struct us_buf_offload o;
	us_buf_offload_get(b, &o);
	uint32_t cs = o.csum_start;
	uint32_t at = cs ? cs + o.csum_offset : 0;
	if (cs && at + 2 <= incl) {
		uint32_t sum = csum_partial(d + cs, (size_t)(len - cs), 0);
		uint16_t v = csum_fold(sum);
		/* A computed 0 is sent as is (TCP, ICMP), but UDP's 0 means "no
		 * checksum": it goes out as 0xFFFF (RFC 768; its field sits at
		 * offset 6, TCP's at 16). */
		if (v == 0 && o.csum_offset == 6)
			v = 0xFFFF;
		uint8_t f[2];
		wr_be16(f, v);
		if ((at && fwrite(d, at, 1, c->f) != 1) || fwrite(f, 2, 1, c->f) != 1 ||
		    (incl > at + 2 && fwrite(d + at + 2, incl - at - 2, 1, c->f) != 1))
			c->write_errors++;
		return;
	}
	if (incl && fwrite(d, incl, 1, c->f) != 1)
		c->write_errors++;
}

static void pcap_flush(struct pcap_link *c)
{
	if (c->f && fflush(c->f) != 0)
		c->write_errors++;
}

static int pcap_recv(void *dev, struct us_link *l, struct us_buf **bufs, int max, uint64_t now)
{
	(void)l;
	struct pcap_link *c = dev;
	int n = us_link_recv(c->inner, bufs, max, now);
	if (n <= 0)
		return n;
	for (int i = 0; i < n; i++)
		pcap_record(c, bufs[i], now);
	pcap_flush(c);
	return n;
}

static int pcap_send(void *dev, struct us_link *l, struct us_buf **bufs, int n, uint64_t now)
{
	(void)l;
	struct pcap_link *c = dev;
	/* Recorded before the inner link sends (and frees) them. */
	for (int i = 0; i < n; i++)
		pcap_record(c, bufs[i], now);
	if (n > 0)
		pcap_flush(c);
	return us_link_send(c->inner, bufs, n, now);   /* what it sent, the rest dropped */
}

static int64_t pcap_poll(void *dev, struct us_link *l, uint64_t now)
{
	(void)l;
	return us_link_poll(((struct pcap_link *)dev)->inner, now);
}

static int pcap_pending(void *dev)
{
	return us_link_pending(((struct pcap_link *)dev)->inner);
}

static void pcap_close(void *dev, struct us_link *l)
{
	(void)l;
	struct pcap_link *c = dev;
	if (c->f)
		fclose(c->f);
	free(c);   /* the inner link is closed after us */
}

static const struct us_device_zc_ops pcap_ops = {
	.recv = pcap_recv,
	.send = pcap_send,
	.poll = pcap_poll,
	.pending = pcap_pending,
	.close = pcap_close,
};

/* On failure inner is left to the caller. */
struct us_link *us_link_pcap_wrap(struct us_link *inner, const char *path, int *err)
{
	int dummy;
	if (!err)
		err = &dummy;
	*err = 0;
	if (!inner || !path) {
		*err = -EINVAL;
		return NULL;
	}
	struct pcap_link *c = calloc(1, sizeof(*c));
	if (!c) {
		*err = -ENOMEM;
		return NULL;
	}
	c->f = fopen(path, "wbe");
	if (!c->f) {
		*err = -errno;
		free(c);
		return NULL;
	}
	setvbuf(c->f, NULL, _IOFBF, 1 << 16);
	uint8_t h[24];
	put32(h, PCAP_MAGIC_NS);
	put16(h + 4, 2);
	put16(h + 6, 4);
	put32(h + 8, 0);    /* thiszone */
	put32(h + 12, 0);   /* sigfigs */
	put32(h + 16, PCAP_SNAPLEN);
	struct us_device_info info;
	us_link_info(inner, &info);
	put32(h + 20, info.l3 ? PCAP_LINKTYPE_RAW : PCAP_LINKTYPE_ETHERNET);
	if (fwrite(h, sizeof(h), 1, c->f) != 1 || fflush(c->f) != 0) {
		*err = errno ? -errno : -EIO;
		fclose(c->f);
		free(c);
		return NULL;
	}
	c->inner = inner;
	info.inner = inner;
	struct us_link *l = us_link_device_zc_new(&pcap_ops, c, &info);
	if (!l) {
		*err = -errno;
		fclose(c->f);
		free(c);
	}
	return l;
}
