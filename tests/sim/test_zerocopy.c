/* In-place TCP receive (US_TCP_RECV_INPLACE, us_recv_zc, us_recv_done) between two stacks
 * on the virtual clock: the bytes a zero-copy reader sees are the bytes
 * sent, in order, clean and under loss, reordering, duplication and
 * corruption (so held packets and the ring's out-of-order bytes meet);
 * partial releases, views mixed with us_recv and MSG_PEEK; unread held
 * packets at close; pools back to zero. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <cmocka.h>

#include "../lib/sim.h"
#include "core/addr.h"
#include "stack.h"
#include "transport/tcp.h"

struct zx {
	struct sim *s;
	struct sim_pair *p;
	uint8_t *src, *dst;
	size_t n, sent, got;
	uint64_t rng;
	uint64_t zc_views, copy_reads, held_seen;
	int zcv_most;   /* the most pieces one us_recv_zcv gave */
};

static uint32_t rnd(struct zx *x)
{
	x->rng ^= x->rng << 13, x->rng ^= x->rng >> 7, x->rng ^= x->rng << 17;
	return (uint32_t)x->rng;
}

static struct tcp_conn *server_conn(struct sim *s, const struct sim_pair *p)
{
	struct sockaddr_in ca;
	socklen_t cl = sizeof(ca);
	if (us_getsockname(s->a, p->cfd, (struct sockaddr *)&ca, &cl) < 0)
		return NULL;
	struct us_addr a = addr_from_v4(sim_ip(SIM_A)), b = addr_from_v4(sim_ip(SIM_B));
	return tcp_lookup(s->b, &b, 5002, &a, ntohs(ca.sin_port));
}

/* One read: mostly views (release all, part, or nothing), sometimes a
 * copying us_recv, sometimes a peek that must agree with what follows. */
static void zread(struct zx *x)
{
	struct us_stack *b = x->s->b;
	int fd = x->p->afd;
	for (int round = 0; round < 64 && x->got < x->n; round++) {
		uint32_t how = rnd(x) % 8;
		if (how == 0) {
			uint8_t tmp[3000];
			size_t want = 1 + rnd(x) % sizeof(tmp);
			ssize_t r = us_recv(b, fd, tmp, want, 0);
			if (r <= 0)
				return;
			assert_true(x->got + (size_t)r <= x->n);
			memcpy(x->dst + x->got, tmp, (size_t)r);
			x->got += (size_t)r;
			x->copy_reads++;
			continue;
		}
		struct iovec v[US_ZC_IOV_MAX];
		int cnt = -1, most = 2;
		ssize_t n;
		if (how >= 6) {
			/* the many-piece form, with room for 1 to US_ZC_IOV_MAX */
			most = 1 + (int)(rnd(x) % US_ZC_IOV_MAX);
			n = us_recv_zcv(b, fd, v, most, &cnt);
			if (n > 0 && cnt > x->zcv_most)
				x->zcv_most = cnt;
		} else {
			n = us_recv_zc(b, fd, v, &cnt);
		}
		if (n == -EAGAIN) {
			assert_int_equal(cnt, 0);
			return;
		}
		assert_true(n > 0);
		assert_true(cnt >= 1 && cnt <= most);
		size_t total = 0;
		for (int i = 0; i < cnt; i++) {
			assert_non_null(v[i].iov_base);
			assert_true(v[i].iov_len > 0);
			assert_true(x->got + total + v[i].iov_len <= x->n);
			memcpy(x->dst + x->got + total, v[i].iov_base, v[i].iov_len);
			total += v[i].iov_len;
		}
		assert_int_equal((size_t)n, total);
		x->zc_views += (uint64_t)cnt;
		if (how == 1) {
			/* a peek sees the same bytes the views did */
			uint8_t tmp[256];
			size_t k = total < sizeof(tmp) ? total : sizeof(tmp);
			assert_int_equal(us_recv(b, fd, tmp, k, MSG_PEEK), (ssize_t)k);
			assert_memory_equal(tmp, x->dst + x->got, k);
		}
		size_t take = how == 2 ? rnd(x) % (total + 1) : total; /* release part, or all */
		assert_int_equal(us_recv_done(b, fd, take), 0);
		x->got += take;
	}
}

static int zdone(void *arg)
{
	struct zx *x = arg;
	while (x->sent < x->n) {
		ssize_t w = us_send(x->s->a, x->p->cfd, x->src + x->sent, x->n - x->sent, 0);
		if (w <= 0)
			break;
		x->sent += (size_t)w;
	}
	struct tcp_conn *c = server_conn(x->s, x->p);
	if (c && c->zcq.n)
		x->held_seen++;
	zread(x);
	return x->got == x->n;
}

static void run(size_t n, const struct us_fault_cfg *fa, uint64_t seed)
{
	struct sim_opts o = {.a_tx = fa, .seed = seed};
	struct sim s;
	assert_int_equal(sim_init(&s, &o), 0);
	struct sim_pair p;
	assert_int_equal(sim_tcp_connect(&s, &p, 5002), 0);
	struct zx x = {.s = &s, .p = &p, .n = n, .rng = seed * 0x9E3779B97F4A7C15ull + 7};
	x.src = malloc(n);
	x.dst = malloc(n);
	for (size_t i = 0; i < n; i++)
		x.src[i] = (uint8_t)rnd(&x);
	struct iovec v[2];
	int cnt, one = 1;
	assert_int_equal(us_setsockopt(s.b, p.afd, IPPROTO_TCP, US_TCP_RECV_INPLACE, &one, sizeof(one)), 0);
	assert_int_equal(us_recv_zc(s.b, p.afd, v, &cnt), -EAGAIN);
	assert_true(sim_run_until(&s, SEC(600), zdone, &x));
	assert_memory_equal(x.dst, x.src, n);
	printf("    seed %llu: %zu bytes, %llu views, %llu copying reads, held packets seen %llu times, "
	       "at most %d pieces a us_recv_zcv\n",
	       (unsigned long long)seed, n, (unsigned long long)x.zc_views, (unsigned long long)x.copy_reads,
	       (unsigned long long)x.held_seen, x.zcv_most);
	assert_true(x.held_seen > 0); /* data was kept in its packets, not only in the ring */
	assert_true(x.zcv_most > 2);  /* ...and handed out more than two at a time */
	/* end of stream: over the lossy link the FIN may need retransmitting,
	 * so wait for it (a minute at most) rather than a fixed 200 ms. */
	us_shutdown(s.a, p.cfd, SHUT_WR);
	int zc = -EAGAIN;
	for (int i = 0; i < 600 && zc == -EAGAIN; i++) {
		sim_run(&s, MS(100));
		zc = us_recv_zc(s.b, p.afd, v, &cnt);
	}
	assert_int_equal(zc, 0);
	us_close(s.a, p.cfd);
	us_close(s.b, p.afd);
	us_close(s.b, p.lfd);
	free(x.src);
	free(x.dst);
	sim_run(&s, SEC(300));
	assert_int_equal(us_stack_bufs_in_use(s.a), 0);
	assert_int_equal(us_stack_bufs_in_use(s.b), 0);
	sim_free(&s);
}

static void test_zc_clean(void **state)
{
	(void)state;
	run(3 << 20, NULL, 1);
}

static void test_zc_lossy(void **state)
{
	(void)state;
	for (uint64_t seed = 11; seed < 14; seed++) {
		struct us_fault_cfg f = {.seed = seed, .drop = 0.03, .reorder = 0.03, .dup = 0.01, .corrupt = 0.005};
		run(1 << 20, &f, seed);
	}
}

/* Held packets that nobody reads: close resets (unread data) and frees
 * them; a socket that is not TCP refuses the call. */
static void test_zc_unread_close(void **state)
{
	(void)state;
	struct sim s;
	assert_int_equal(sim_init(&s, NULL), 0);
	struct sim_pair p;
	assert_int_equal(sim_tcp_connect(&s, &p, 5002), 0);
	struct iovec v[2];
	int cnt, one = 1, got = 0;
	socklen_t gl = sizeof(got);
	assert_int_equal(us_setsockopt(s.b, p.afd, IPPROTO_TCP, US_TCP_RECV_INPLACE, &one, sizeof(one)), 0);
	assert_int_equal(us_getsockopt(s.b, p.afd, IPPROTO_TCP, US_TCP_RECV_INPLACE, &got, &gl), 0);
	assert_int_equal(got, 1);
	assert_int_equal(us_recv_zc(s.b, p.afd, v, &cnt), -EAGAIN);
	static uint8_t buf[100000];
	memset(buf, 0x5a, sizeof(buf));
	assert_true(us_send(s.a, p.cfd, buf, sizeof(buf), 0) > 0);
	sim_run(&s, MS(200));
	struct tcp_conn *c = server_conn(&s, &p);
	assert_non_null(c);
	assert_true(c->zcq.n > 0);
	ssize_t n = us_recv_zc(s.b, p.afd, v, &cnt);
	assert_int_equal(cnt, 2); /* two held packets */
	assert_int_equal(n, (ssize_t)(v[0].iov_len + v[1].iov_len));
	/* All of them at once, up to the room given; the same bytes first. */
	struct iovec w[US_ZC_IOV_MAX];
	int wn = 0;
	ssize_t all = us_recv_zcv(s.b, p.afd, w, US_ZC_IOV_MAX, &wn);
	assert_int_equal(wn, (int)(c->zcq.n < US_ZC_IOV_MAX ? c->zcq.n : US_ZC_IOV_MAX));
	assert_true(wn > 2);
	assert_ptr_equal(w[0].iov_base, v[0].iov_base);
	assert_ptr_equal(w[1].iov_base, v[1].iov_base);
	size_t sum = 0;
	for (int i = 0; i < wn; i++)
		sum += w[i].iov_len;
	assert_int_equal(all, (ssize_t)sum);
	assert_int_equal(us_recv_zcv(s.b, p.afd, w, 3, &wn), (ssize_t)(w[0].iov_len + w[1].iov_len + w[2].iov_len));
	assert_int_equal(wn, 3);
	assert_int_equal(us_recv_zcv(s.b, p.afd, w, 0, &wn), -EINVAL);
	assert_int_equal(wn, 0);
	assert_int_equal(us_recv_zcv(s.b, 999, w, 4, &wn), -EBADF);
	assert_int_equal(us_recv_done(s.b, p.afd, 1u << 30), -EINVAL); /* more than readable */
	int u = us_socket(s.b, AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(us_recv_zc(s.b, u, v, &cnt), -EOPNOTSUPP);
	assert_int_equal(us_recv_zcv(s.b, u, w, 4, &wn), -EOPNOTSUPP);
	assert_int_equal(us_recv_zc(s.b, 999, v, &cnt), -EBADF);
	us_close(s.b, u);
	const struct us_stats *bs = us_stack_stats(s.b);
	uint64_t aborts = bs->tcpext.TCPAbortOnClose;
	us_close(s.b, p.afd); /* unread data: RST, held packets freed */
	assert_int_equal(bs->tcpext.TCPAbortOnClose, aborts + 1);
	us_close(s.a, p.cfd);
	us_close(s.b, p.lfd);
	sim_run(&s, SEC(300));
	assert_int_equal(us_stack_bufs_in_use(s.a), 0);
	assert_int_equal(us_stack_bufs_in_use(s.b), 0);
	sim_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zc_clean),
		cmocka_unit_test(test_zc_lossy),
		cmocka_unit_test(test_zc_unread_close),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
