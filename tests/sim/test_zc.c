/* Zero-copy TCP (us_recv_zc / us_recv_done, us_send_zc / us_send_done):
 * bytes written in place into the send buffer and read in place from the
 * receive buffer arrive intact and in order, across the buffers' wrap,
 * mixed with plain us_send / us_recv; the calls' errors and end of stream
 * match us_recv's and us_send's. Two stacks on the virtual clock. */
#include <errno.h>
#include <netinet/tcp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../lib/sim.h"
#include "core/ring.h"

static uint8_t pattern(uint64_t i) { return (uint8_t)(i * 7 + (i >> 11)); }

/* Fills the pieces with the pattern from *pos; returns bytes written. */
static size_t fill(struct iovec *iov, int cnt, size_t max, uint64_t *pos)
{
	size_t done = 0;
	for (int i = 0; i < cnt && done < max; i++) {
		size_t k = iov[i].iov_len < max - done ? iov[i].iov_len : max - done;
		for (size_t j = 0; j < k; j++)
			((uint8_t *)iov[i].iov_base)[j] = pattern(*pos + done + j);
		done += k;
	}
	*pos += done;
	return done;
}

static void test_transfer(void **state)
{
	(void)state;
	struct sim s;
	struct sim_opts o = {.seed = 3};
	o.cfg.tcp_rmem = o.cfg.tcp_wmem = 20000;   /* small: wraps often, not a power of two */
	assert_int_equal(sim_init(&s, &o), 0);
	struct sim_pair p;
	assert_int_equal(sim_tcp_connect(&s, &p, 80), 0);
	const uint64_t total = 3u << 20;
	uint64_t sent = 0, got = 0;
	int wrapped_send = 0, wrapped_recv = 0, step = 0;
	struct iovec iov[2];
	int cnt;
	for (int guard = 0; got < total && guard < 200000; guard++, step++) {
		if (sent < total) {
			if (step % 5 == 4) {
				/* A plain us_send between zero-copy ones. */
				uint8_t b[999];
				size_t k = total - sent < sizeof(b) ? (size_t)(total - sent) : sizeof(b);
				for (size_t j = 0; j < k; j++)
					b[j] = pattern(sent + j);
				ssize_t w = us_send(s.a, p.cfd, b, k, 0);
				if (w > 0)
					sent += (uint64_t)w;
				else
					assert_int_equal(w, -EAGAIN);
			} else {
				ssize_t room = us_send_zc(s.a, p.cfd, iov, &cnt);
				if (room > 0) {
					assert_true(cnt == 1 || cnt == 2);
					assert_int_equal(iov[0].iov_len + (cnt == 2 ? iov[1].iov_len : 0), (size_t)room);
					wrapped_send |= cnt == 2;
					/* Write part of it: a prefix, as readv would. */
					size_t max = (size_t)(total - sent) < (size_t)room ? (size_t)(total - sent) : (size_t)room;
					if (step % 3 == 1 && max > 1)
						max = max / 2 + 1;
					uint64_t at = sent;
					size_t k = fill(iov, cnt, max, &at);
					assert_int_equal(us_send_done(s.a, p.cfd, k), 0);
					sent += k;
				} else {
					assert_int_equal(room, -EAGAIN);
					assert_int_equal(cnt, 0);
				}
			}
		}
		sim_run(&s, MS(1));
		if (step % 7 == 3) {
			uint8_t b[1234];
			ssize_t n = us_recv(s.b, p.afd, b, sizeof(b), 0);
			for (ssize_t j = 0; j < n; j++)
				assert_int_equal(b[j], pattern(got + (uint64_t)j));
			if (n > 0)
				got += (uint64_t)n;
			continue;
		}
		ssize_t n = us_recv_zc(s.b, p.afd, iov, &cnt);
		if (n < 0) {
			assert_int_equal(n, -EAGAIN);
			continue;
		}
		assert_true(n > 0);
		wrapped_recv |= cnt == 2;
		/* Consume only part sometimes: the rest is offered again. */
		size_t take = step % 2 ? (size_t)n : (size_t)n / 3 + 1, seen = 0;
		for (int i = 0; i < cnt && seen < take; i++)
			for (size_t j = 0; j < iov[i].iov_len && seen < take; j++, seen++)
				assert_int_equal(((uint8_t *)iov[i].iov_base)[j], pattern(got + seen));
		assert_int_equal(us_recv_done(s.b, p.afd, take), 0);
		got += take;
	}
	assert_int_equal(got, total);
	assert_true(wrapped_send);
	assert_true(wrapped_recv);
	/* End of stream: the client shuts its side; once everything is read,
	 * us_recv_zc says 0 (like us_recv), and sending after SHUT_WR is EPIPE. */
	assert_int_equal(us_shutdown(s.a, p.cfd, SHUT_WR), 0);
	assert_int_equal(us_send_zc(s.a, p.cfd, iov, &cnt), -EPIPE);
	assert_int_equal(us_send_done(s.a, p.cfd, 1), -EPIPE);
	sim_run(&s, MS(50));
	assert_int_equal(us_recv_zc(s.b, p.afd, iov, &cnt), 0);
	assert_int_equal(cnt, 0);
	sim_tcp_close(&p);
	sim_run(&s, SEC(300));
	sim_free(&s);
}

static void test_errors(void **state)
{
	(void)state;
	struct sim s;
	struct sim_opts o = {.seed = 4};
	assert_int_equal(sim_init(&s, &o), 0);
	struct sim_pair p;
	assert_int_equal(sim_tcp_connect(&s, &p, 81), 0);
	struct iovec iov[2];
	int cnt = 5;
	/* Nothing to read yet; more than offered; bad descriptors; a listener;
	 * not TCP. */
	assert_int_equal(us_recv_zc(s.b, p.afd, iov, &cnt), -EAGAIN);
	assert_int_equal(cnt, 0);
	assert_int_equal(us_recv_done(s.b, p.afd, 1), -EINVAL);
	assert_int_equal(us_recv_done(s.b, p.afd, 0), 0);
	assert_int_equal(us_recv_zc(s.b, 999, iov, &cnt), -EBADF);
	assert_int_equal(us_send_zc(s.b, 999, iov, &cnt), -EBADF);
	assert_int_equal(us_recv_done(s.b, 999, 0), -EBADF);
	assert_int_equal(us_send_done(s.b, 999, 0), -EBADF);
	assert_int_equal(us_recv_zc(s.b, p.lfd, iov, &cnt), -ENOTCONN);
	int u = us_socket(s.a, AF_INET, SOCK_DGRAM, 0);
	assert_true(u >= 0);
	assert_int_equal(us_recv_zc(s.a, u, iov, &cnt), -EOPNOTSUPP);
	assert_int_equal(us_send_zc(s.a, u, iov, &cnt), -EOPNOTSUPP);
	assert_int_equal(us_recv_done(s.a, u, 0), -EOPNOTSUPP);
	assert_int_equal(us_send_done(s.a, u, 0), -EOPNOTSUPP);
	us_close(s.a, u);
	ssize_t room = us_send_zc(s.a, p.cfd, iov, &cnt);
	assert_true(room > 0);
	assert_int_equal(us_send_done(s.a, p.cfd, (size_t)room + 1), -EINVAL);
	/* Five bytes in place; the peer sees exactly them. */
	memcpy(iov[0].iov_base, "hello", 5);
	assert_int_equal(us_send_done(s.a, p.cfd, 5), 0);
	sim_run(&s, MS(50));
	ssize_t n = us_recv_zc(s.b, p.afd, iov, &cnt);
	assert_int_equal(n, 5);
	assert_int_equal(cnt, 1);
	assert_memory_equal(iov[0].iov_base, "hello", 5);
	assert_int_equal(us_recv_done(s.b, p.afd, 6), -EINVAL);
	assert_int_equal(us_recv_done(s.b, p.afd, 5), 0);
	assert_int_equal(us_recv_zc(s.b, p.afd, iov, &cnt), -EAGAIN);
	/* A reset connection reports its error, as us_recv does (a closes with
	 * unread data: RST). */
	assert_int_equal(us_send(s.b, p.afd, "x", 1, 0), 1);
	sim_run(&s, MS(50));
	us_close(s.a, p.cfd);
	p.cfd = -1;
	sim_run(&s, MS(50));
	assert_int_equal(us_recv_zc(s.b, p.afd, iov, &cnt), -ECONNRESET);
	assert_int_equal(us_send_zc(s.b, p.afd, iov, &cnt), -EPIPE);
	sim_tcp_close(&p);
	sim_run(&s, SEC(300));
	sim_free(&s);
}

/* ring_grow keeps every byte at its offset from head, wrapped or not,
 * including bytes stored past the readable end (out-of-order data). */
static void test_ring_grow(void **state)
{
	(void)state;
	for (uint32_t head = 0; head < 10; head++) {
		struct ring r;
		assert_int_equal(ring_init(&r, 10), 0);
		r.head = head;
		uint8_t in[10], out[10];
		for (int i = 0; i < 10; i++)
			in[i] = (uint8_t)(100 + i);
		ring_write_at(&r, 0, in, 6);   /* readable */
		r.len = 6;
		ring_write_at(&r, 1, in + 7, 3);   /* stored past the readable end, one byte gap */
		assert_int_equal(ring_grow(&r, 25), 0);
		assert_int_equal(r.cap, 25);
		ring_peek(&r, 0, out, 6);
		assert_memory_equal(out, in, 6);
		ring_peek(&r, 7, out, 3);
		assert_memory_equal(out, in + 7, 3);
		ring_write(&r, in, 10);   /* room grew */
		assert_int_equal(r.len, 16);
		ring_free(&r);
	}
}

/* SO_RCVBUF / SO_SNDBUF on connected sockets grow the rings in place,
 * bytes in them kept; past the budget's pressure mark they are refused. */
static void test_grow_connected(void **state)
{
	(void)state;
	struct sim s;
	struct sim_opts o = {.seed = 5};
	o.cfg.tcp_rmem = o.cfg.tcp_wmem = 8192;
	o.cfg.mem_max = 4u << 20;
	assert_int_equal(sim_init(&s, &o), 0);
	struct sim_pair p;
	assert_int_equal(sim_tcp_connect(&s, &p, 82), 0);
	uint64_t sent = 0, got = 0;
	const uint64_t total = 1u << 20;
	uint8_t b[4096];
	int grown = 0;
	for (int guard = 0; got < total && guard < 100000; guard++) {
		while (sent < total) {
			size_t k = total - sent < sizeof(b) ? (size_t)(total - sent) : sizeof(b);
			for (size_t j = 0; j < k; j++)
				b[j] = pattern(sent + j);
			ssize_t w = us_send(s.a, p.cfd, b, k, 0);
			if (w <= 0)
				break;
			sent += (uint64_t)w;
		}
		sim_run(&s, MS(1));
		if (!grown && got > 100000) {
			/* Both rings hold data now (the sender's is full). */
			int v = 128 << 10, out = 0;
			socklen_t ol = sizeof(out);
			assert_int_equal(us_setsockopt(s.a, p.cfd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)), 0);
			assert_int_equal(us_setsockopt(s.b, p.afd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)), 0);
			assert_int_equal(us_getsockopt(s.b, p.afd, SOL_SOCKET, SO_RCVBUF, &out, &ol), 0);
			assert_int_equal(out, 256 << 10);   /* doubled, as Linux does */
			/* Smaller: ignored, the ring stays. */
			v = 1024;
			assert_int_equal(us_setsockopt(s.b, p.afd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)), 0);
			assert_int_equal(us_getsockopt(s.b, p.afd, SOL_SOCKET, SO_RCVBUF, &out, &ol), 0);
			assert_int_equal(out, 256 << 10);
			/* Past the pressure mark (half of 7/8 of 4 MiB): refused. */
			v = 8 << 20;
			assert_int_equal(us_setsockopt(s.b, p.afd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)), -ENOBUFS);
			assert_int_equal(us_getsockopt(s.b, p.afd, SOL_SOCKET, SO_RCVBUF, &out, &ol), 0);
			assert_int_equal(out, 256 << 10);
			grown = 1;
		}
		ssize_t n;
		while ((n = us_recv(s.b, p.afd, b, grown ? sizeof(b) : 1000, 0)) > 0) {
			for (ssize_t j = 0; j < n; j++)
				assert_int_equal(b[j], pattern(got + (uint64_t)j));
			got += (uint64_t)n;
		}
	}
	assert_int_equal(got, total);
	struct us_tcp_info ti;
	socklen_t tl = sizeof(ti);
	assert_int_equal(us_getsockopt(s.b, p.afd, IPPROTO_TCP, TCP_INFO, &ti, &tl), 0);
	assert_true(ti.rcv_wnd > 8192);   /* the larger window is advertised */
	struct us_mem_info mi;
	us_stack_mem_info(s.b, &mi);
	assert_int_equal(mi.tcp, 8192 + (256 << 10));
	sim_tcp_close(&p);
	sim_run(&s, SEC(300));
	sim_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_transfer),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_ring_grow),
		cmocka_unit_test(test_grow_connected),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
