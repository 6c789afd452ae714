/* The socket calls on ustack sockets, with Linux's blocking rules and
 * errno values. Every function takes the world lock around the stack and
 * returns a result or -errno. */
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "shim.h"

int ps_tcp_info_linux(const struct us_tcp_info *u, void *val, socklen_t *len);

/* After EINTR: restart (SA_RESTART) only if every signal the program
 * catches has SA_RESTART, since we cannot tell which one came. Read from
 * the kernel each time (rare), so it holds whoever installed the handlers
 * (a sanitizer runtime intercepts sigaction before us). */
static int restart_ok(void)
{
	for (int sig = 1; sig < 65; sig++) {
		struct sigaction cur;
		/* fault signals come from an instruction, never into a wait */
		if (sig == SIGKILL || sig == SIGSTOP || sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL ||
		    sig == SIGTRAP || sig == SIGSYS || R.sigaction(sig, NULL, &cur) < 0)
			continue;
		if (cur.sa_handler != SIG_DFL && cur.sa_handler != SIG_IGN && !(cur.sa_flags & SA_RESTART))
			return 0;
	}
	return 1;
}

static int is_tcp(const struct ps_sock *sk) { return sk->type == SOCK_STREAM; }

static int64_t deadline_of(int64_t timeo)
{
	if (!timeo)
		return -1;
	if (timeo < 0)
		return ps_now();   /* a negative timeout: do not wait */
	return ps_now() + timeo;
}

/* Wait (lock held) for ev on sk. Returns 1 to try again, or -EAGAIN
 * (timed out) or -EINTR. timeo_set: the socket has a timeout, so a signal
 * never restarts the call (signal(7)). */
static int wait_sock(struct ps_sock *sk, unsigned ev, int64_t deadline, int timeo_set)
{
	for (;;) {
		if (ps_sock_events(sk) & (ev | US_POLLERR | US_POLLHUP))
			return 1;
		if (deadline >= 0 && ps_now() >= deadline)
			return -EAGAIN;
		sk->o.refs++;   /* a close by another thread must not free it under us */
		int r = ps_block(&sk, &ev, 1, NULL, 0, deadline, NULL);
		ps_obj_unref(&sk->o);
		if (r == -EINTR) {
			if (timeo_set || !restart_ok())
				return -EINTR;
			continue;
		}
		if (r < 0)
			return r;
		if (r == 0)
			return -EAGAIN;
	}
}

int ps_socket(int domain, int type, int proto)
{
	int flags = type & (SOCK_NONBLOCK | SOCK_CLOEXEC);
	int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (base <= 0 || base > SOCK_PACKET)
		return -EINVAL;
	/* AF_INET6 sockets are ustack's too: dual-stack unless IPV6_V6ONLY,
	 * IPv4 peers seen as ::ffff:a.b.c.d, as on Linux. */
	if (domain != AF_INET && domain != AF_INET6)
		return -EAFNOSUPPORT;
	if (base == SOCK_RAW)
		return -EPERM;   /* no raw sockets: as Linux tells a process without CAP_NET_RAW */
	if (base != SOCK_STREAM && base != SOCK_DGRAM)
		return -ESOCKTNOSUPPORT;
	int shadow = R.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (shadow < 0)
		return -errno;
	ps_lock();
	int sid = us_socket(W->st, domain, base, proto);
	if (sid < 0) {
		ps_unlock();
		R.close(shadow);
		return sid == -EMFILE ? -ENFILE : sid;
	}
	struct ps_sock *sk = ps_sock_new(sid, domain, base, proto ? proto : (base == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP));
	if (!sk) {
		us_close(W->st, sid);
		ps_unlock();
		R.close(shadow);
		return -ENOMEM;
	}
	sk->nonblock = (flags & SOCK_NONBLOCK) != 0;
	int r = ps_fd_set(shadow, &sk->o, flags & SOCK_CLOEXEC);
	ps_unlock();
	if (r < 0) {
		ps_lock();
		ps_obj_unref(&sk->o);
		ps_unlock();
		R.close(shadow);
		return r;
	}
	return shadow;
}

static int check_addr(const struct sockaddr *a, socklen_t len)
{
	if (!a && len)
		return -EFAULT;
	if ((int)len < 0)
		return -EINVAL;
	return 0;   /* the family against the socket's: the library, as Linux */
}

int ps_bind(struct ps_sock *sk, const struct sockaddr *a, socklen_t len)
{
	int r = check_addr(a, len);
	if (r < 0)
		return r;
	ps_lock();
	r = us_bind(W->st, sk->sid, a, len);
	ps_unlock();
	return r;
}

int ps_listen(struct ps_sock *sk, int backlog)
{
	ps_lock();
	int r = us_listen(W->st, sk->sid, backlog < 0 ? 4096 : backlog);
	if (r == 0)
		sk->listening = 1;
	ps_unlock();
	return r;
}

int ps_accept(struct ps_sock *sk, struct sockaddr *a, socklen_t *len, int flags)
{
	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return -EINVAL;
	if (a && !len)
		return -EFAULT;
	if (len && (int)*len < 0)
		return -EINVAL;
	int64_t dl = deadline_of(sk->rcvtimeo_ns);
	ps_lock();
	for (;;) {
		if (!sk->listening) {
			int r = is_tcp(sk) ? -EINVAL : -EOPNOTSUPP;
			ps_unlock();
			return r;
		}
		if (ps_sock_events(sk) & US_POLLIN) {
			int shadow = R.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
			if (shadow < 0) {
				int e = errno;
				ps_unlock();
				return -e;
			}
			struct sockaddr_storage sin;
			socklen_t sl = sizeof(sin);
			int sid = us_accept(W->st, sk->sid, (struct sockaddr *)&sin, &sl);
			if (sid >= 0) {
				struct ps_sock *nsk = ps_sock_new(sid, sk->domain, SOCK_STREAM, IPPROTO_TCP);
				if (!nsk || ps_fd_set(shadow, &nsk->o, flags & SOCK_CLOEXEC) < 0) {
					if (nsk)
						ps_obj_unref(&nsk->o);
					else
						us_close(W->st, sid);
					ps_unlock();
					R.close(shadow);
					return -ENOMEM;
				}
				nsk->nonblock = (flags & SOCK_NONBLOCK) != 0;
				ps_after_call();
				ps_unlock();
				if (a && len) {
					memcpy(a, &sin, *len < sl ? *len : sl);
					*len = sl;
				}
				return shadow;
			}
			R.close(shadow);
			if (sid != -EAGAIN) {
				ps_unlock();
				return sid;
			}
		}
		if (sk->nonblock) {
			ps_unlock();
			return -EAGAIN;
		}
		int w = wait_sock(sk, US_POLLIN, dl, sk->rcvtimeo_ns != 0);
		if (w < 0) {
			ps_unlock();
			return w;
		}
	}
}

int ps_connect(struct ps_sock *sk, const struct sockaddr *a, socklen_t len)
{
	int r = check_addr(a, len);
	if (r < 0)
		return r;
	if (!a)
		return -EINVAL;
	ps_lock();
	r = us_connect(W->st, sk->sid, a, len);
	ps_after_call();
	if (is_tcp(sk) && sk->connecting && r != -EALREADY) {
		/* Linux: the first connect after a non-blocking one completed
		 * says 0 (and EISCONN from then on), or the error it met */
		sk->connecting = 0;
		if (r == -EISCONN)
			r = 0;
		else if (r == -ECONNABORTED) {
			int e = 0;
			socklen_t el = sizeof(e);
			us_getsockopt(W->st, sk->sid, SOL_SOCKET, SO_ERROR, &e, &el);
			if (e)
				r = -e;
		}
	}
	if (is_tcp(sk) && r == -EINPROGRESS && sk->nonblock)
		sk->connecting = 1;
	if (!is_tcp(sk) || r != -EINPROGRESS || sk->nonblock) {
		ps_unlock();
		return r;
	}
	/* blocking TCP connect: until established or failed */
	int64_t dl = deadline_of(sk->sndtimeo_ns);
	for (;;) {
		unsigned ev = ps_sock_events(sk);
		if (ev & (US_POLLOUT | US_POLLERR | US_POLLHUP)) {
			int e = 0;
			socklen_t el = sizeof(e);
			us_getsockopt(W->st, sk->sid, SOL_SOCKET, SO_ERROR, &e, &el);
			ps_unlock();
			if (e)
				return -e;
			return (ev & US_POLLOUT) && !(ev & US_POLLHUP) ? 0 : -ECONNREFUSED;
		}
		int w = wait_sock(sk, US_POLLOUT, dl, sk->sndtimeo_ns != 0);
		if (w == -EAGAIN) {
			ps_unlock();
			return -EINPROGRESS;   /* SO_SNDTIMEO ran out: Linux says so */
		}
		if (w < 0) {
			ps_unlock();
			return w;
		}
	}
}

static void sigpipe(int flags)
{
	if (!(flags & MSG_NOSIGNAL))
		pthread_kill(pthread_self(), SIGPIPE);
}

/* One send, blocking as the socket says; lock held. */
static ssize_t send_locked(struct ps_sock *sk, const void *buf, size_t len, int flags, const struct sockaddr *to,
			   socklen_t tolen, int64_t dl)
{
	int nb = sk->nonblock || (flags & MSG_DONTWAIT);
	size_t sent = 0;
	if (!is_tcp(sk)) {
		ssize_t r = us_sendto(W->st, sk->sid, buf, len, 0, to, tolen);
		ps_after_call();
		return r;
	}
	for (;;) {
		ssize_t r = us_sendto(W->st, sk->sid, (const char *)buf + sent, len - sent, 0, NULL, 0);
		if (r > 0) {
			sent += (size_t)r;
			if (sent == len || nb)
				break;
			continue;
		}
		if (r == 0 && len == 0)
			break;
		if (r == -EAGAIN && !nb) {
			ps_after_call();
			int w = wait_sock(sk, US_POLLOUT, dl, sk->sndtimeo_ns != 0);
			if (w == 1)
				continue;
			r = w;
		}
		ps_after_call();
		if (sent)
			return (ssize_t)sent;
		return r;
	}
	ps_after_call();
	return (ssize_t)sent;
}

ssize_t ps_send(struct ps_sock *sk, const void *buf, size_t len, int flags, const struct sockaddr *to, socklen_t tolen)
{
	if (flags & MSG_OOB)
		return -EOPNOTSUPP;
	if (!buf && len)
		return -EFAULT;
	if (to && check_addr(to, tolen) < 0)
		return check_addr(to, tolen);
	ps_lock();
	ssize_t r = send_locked(sk, buf, len, flags, to, tolen, deadline_of(sk->sndtimeo_ns));
	ps_unlock();
	if (r == -EPIPE)
		sigpipe(flags);
	return r;
}

/* One receive; lock held. */
static ssize_t recv_locked(struct ps_sock *sk, void *buf, size_t len, int flags, struct sockaddr *from, socklen_t *fromlen,
			   int64_t dl)
{
	int nb = sk->nonblock || (flags & MSG_DONTWAIT);
	size_t got = 0;
	int uflags = flags & (MSG_PEEK | MSG_TRUNC);
	for (;;) {
		ssize_t r;
		if (is_tcp(sk)) {
			r = us_recvfrom(W->st, sk->sid, (char *)buf + got, len - got, uflags & MSG_PEEK, NULL, NULL);
		} else {
			struct sockaddr_storage sin;
			socklen_t sl = sizeof(sin);
			r = us_recvfrom(W->st, sk->sid, buf, len, uflags, (struct sockaddr *)&sin, &sl);
			if (r >= 0 && from && fromlen) {
				memcpy(from, &sin, *fromlen < sl ? *fromlen : sl);
				*fromlen = sl;
			}
			if (r != -EAGAIN || nb) {
				ps_after_call();
				return r;
			}
		}
		if (is_tcp(sk) && r >= 0) {
			got += (size_t)r;
			if (r > 0 && (flags & MSG_WAITALL) && !(flags & MSG_PEEK) && got < len && !nb)
				continue;
			ps_after_call();
			if (from && fromlen)
				*fromlen = 0;
			return (ssize_t)got;
		}
		if (r == -EAGAIN && !nb) {
			ps_after_call();
			int w = wait_sock(sk, US_POLLIN, dl, sk->rcvtimeo_ns != 0);
			if (w == 1)
				continue;
			r = w;
		}
		ps_after_call();
		return got ? (ssize_t)got : r;
	}
}

ssize_t ps_recv(struct ps_sock *sk, void *buf, size_t len, int flags, struct sockaddr *from, socklen_t *fromlen)
{
	if (flags & MSG_OOB)
		return -EINVAL;
	if (flags & MSG_ERRQUEUE)
		return -EAGAIN;   /* no error queue */
	if (!buf && len)
		return -EFAULT;
	ps_lock();
	ssize_t r = recv_locked(sk, buf, len, flags, from, fromlen, deadline_of(sk->rcvtimeo_ns));
	ps_unlock();
	return r;
}

static size_t iov_total(const struct iovec *iov, int n)
{
	size_t t = 0;
	for (int i = 0; i < n; i++)
		t += iov[i].iov_len;
	return t;
}

ssize_t ps_sendmsg(struct ps_sock *sk, const struct msghdr *m, int flags)
{
	if (!m)
		return -EFAULT;
	if ((int)m->msg_iovlen < 0 || m->msg_iovlen > 1024)
		return -EMSGSIZE;
	if (flags & MSG_OOB)
		return -EOPNOTSUPP;
	const struct sockaddr *to = m->msg_name;
	socklen_t tolen = m->msg_namelen;
	if (to && check_addr(to, tolen) < 0)
		return check_addr(to, tolen);
	int n = (int)m->msg_iovlen;
	ssize_t r;
	if (!is_tcp(sk)) {
		/* one datagram: gather */
		size_t tot = iov_total(m->msg_iov, n);
		if (tot > 65535)
			return -EMSGSIZE;
		char *b = malloc(tot ? tot : 1);
		if (!b)
			return -ENOMEM;
		size_t at = 0;
		for (int i = 0; i < n; i++) {
			memcpy(b + at, m->msg_iov[i].iov_base, m->msg_iov[i].iov_len);
			at += m->msg_iov[i].iov_len;
		}
		r = ps_send(sk, b, tot, flags, to, tolen);
		free(b);
		return r;
	}
	ps_lock();
	int64_t dl = deadline_of(sk->sndtimeo_ns);
	size_t sent = 0;
	r = 0;
	for (int i = 0; i < n; i++) {
		size_t l = m->msg_iov[i].iov_len;
		if (!l)
			continue;
		r = send_locked(sk, m->msg_iov[i].iov_base, l, flags, NULL, 0, dl);
		if (r < 0)
			break;
		sent += (size_t)r;
		if ((size_t)r < l)
			break;
	}
	ps_unlock();
	if (sent)
		return (ssize_t)sent;
	if (r == -EPIPE)
		sigpipe(flags);
	return r;
}

ssize_t ps_recvmsg(struct ps_sock *sk, struct msghdr *m, int flags)
{
	if (!m)
		return -EFAULT;
	if ((int)m->msg_iovlen < 0 || m->msg_iovlen > 1024)
		return -EMSGSIZE;
	if (flags & MSG_OOB)
		return -EINVAL;
	if (flags & MSG_ERRQUEUE)
		return -EAGAIN;
	int n = (int)m->msg_iovlen;
	m->msg_flags = 0;
	m->msg_controllen = 0;   /* no ancillary data */
	if (!is_tcp(sk)) {
		size_t tot = iov_total(m->msg_iov, n);
		char *b = malloc(tot ? tot : 1);
		if (!b)
			return -ENOMEM;
		socklen_t nl = m->msg_name ? m->msg_namelen : 0;
		ssize_t r = ps_recv(sk, b, tot, flags | MSG_TRUNC, m->msg_name, m->msg_name ? &nl : NULL);
		if (r >= 0) {
			size_t got = (size_t)r < tot ? (size_t)r : tot, at = 0;
			for (int i = 0; i < n && at < got; i++) {
				size_t c = m->msg_iov[i].iov_len < got - at ? m->msg_iov[i].iov_len : got - at;
				memcpy(m->msg_iov[i].iov_base, b + at, c);
				at += c;
			}
			if ((size_t)r > tot)
				m->msg_flags |= MSG_TRUNC;
			if (!(flags & MSG_TRUNC))
				r = (ssize_t)got;
			if (m->msg_name)
				m->msg_namelen = nl;
		}
		free(b);
		return r;
	}
	if (m->msg_name)
		m->msg_namelen = 0;
	ps_lock();
	int64_t dl = deadline_of(sk->rcvtimeo_ns);
	size_t got = 0;
	ssize_t r = 0;
	for (int i = 0; i < n; i++) {
		size_t l = m->msg_iov[i].iov_len;
		if (!l)
			continue;
		/* only the first piece may block */
		r = recv_locked(sk, m->msg_iov[i].iov_base, l, got ? (flags | MSG_DONTWAIT) : flags, NULL, NULL, dl);
		if (r <= 0)
			break;
		got += (size_t)r;
		if ((size_t)r < l)
			break;
	}
	ps_unlock();
	return got ? (ssize_t)got : r;
}

ssize_t ps_readv(struct ps_sock *sk, const struct iovec *iov, int n)
{
	struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n};
	if (n < 0 || n > 1024)
		return -EINVAL;
	return ps_recvmsg(sk, &m, 0);
}

ssize_t ps_writev(struct ps_sock *sk, const struct iovec *iov, int n)
{
	struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n};
	if (n < 0 || n > 1024)
		return -EINVAL;
	return ps_sendmsg(sk, &m, 0);
}

int ps_sendmmsg(struct ps_sock *sk, struct mmsghdr *v, unsigned n, int flags)
{
	if (n > 1024)
		n = 1024;
	unsigned i;
	for (i = 0; i < n; i++) {
		ssize_t r = ps_sendmsg(sk, &v[i].msg_hdr, flags);
		if (r < 0)
			return i ? (int)i : (int)r;
		v[i].msg_len = (unsigned)r;
	}
	return (int)i;
}

int ps_recvmmsg(struct ps_sock *sk, struct mmsghdr *v, unsigned n, int flags, struct timespec *tmo)
{
	if (n > 1024)
		n = 1024;
	int64_t end = tmo ? ps_now() + tmo->tv_sec * 1000000000ll + tmo->tv_nsec : -1;
	unsigned i;
	for (i = 0; i < n; i++) {
		int f = flags & ~MSG_WAITFORONE;
		if (i && ((flags & MSG_WAITFORONE) || (end >= 0 && ps_now() >= end)))
			f |= MSG_DONTWAIT;
		ssize_t r = ps_recvmsg(sk, &v[i].msg_hdr, f);
		if (r < 0)
			return i ? (int)i : (int)r;
		v[i].msg_len = (unsigned)r;
	}
	return (int)i;
}

ssize_t ps_sendfile(struct ps_sock *sk, int in_fd, off_t *off, size_t count)
{
	/* No zero copy: read the file and send the bytes (sendfile's contract,
	 * at the cost of a copy). */
	off_t pos = off ? *off : lseek(in_fd, 0, SEEK_CUR);
	if (pos < 0)
		return -errno;
	size_t done = 0;
	char *buf = malloc(65536);
	if (!buf)
		return -ENOMEM;
	ssize_t err = 0;
	while (done < count) {
		size_t want = count - done < 65536 ? count - done : 65536;
		ssize_t n = R.pread(in_fd, buf, want, pos);
		if (n < 0) {
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		ssize_t s = ps_send(sk, buf, (size_t)n, MSG_NOSIGNAL, NULL, 0);
		if (s < 0) {
			err = s;
			break;
		}
		pos += s;
		done += (size_t)s;
		if (s < n)
			break;
	}
	free(buf);
	if (off)
		*off = pos;
	else
		lseek(in_fd, pos, SEEK_SET);
	if (!done && err) {
		if (err == -EPIPE)
			sigpipe(0);
		return err;
	}
	return (ssize_t)done;
}

int ps_shutdown(struct ps_sock *sk, int how)
{
	ps_lock();
	int r = us_shutdown(W->st, sk->sid, how);
	if (r == 0)
		ps_sock_notify(sk);
	ps_after_call();
	ps_unlock();
	return r;
}

int ps_getsockname(struct ps_sock *sk, struct sockaddr *a, socklen_t *len)
{
	if (!a || !len)
		return -EFAULT;
	if ((int)*len < 0)
		return -EINVAL;
	ps_lock();
	int r = us_getsockname(W->st, sk->sid, a, len);
	ps_unlock();
	return r;
}

int ps_getpeername(struct ps_sock *sk, struct sockaddr *a, socklen_t *len)
{
	if (!a || !len)
		return -EFAULT;
	if ((int)*len < 0)
		return -EINVAL;
	ps_lock();
	int r = us_getpeername(W->st, sk->sid, a, len);
	ps_unlock();
	return r;
}

static int put_int(void *val, socklen_t *len, int v)
{
	if (!val || !len)
		return -EFAULT;
	if ((int)*len < 0)
		return -EINVAL;
	/* Linux copies min(len, sizeof(int)) */
	socklen_t n = *len < (socklen_t)sizeof(int) ? *len : (socklen_t)sizeof(int);
	memcpy(val, &v, (size_t)n);
	*len = n;
	return 0;
}

static int get_int(const void *val, socklen_t len, int *v)
{
	if (len < (socklen_t)sizeof(int))
		return -EINVAL;
	if (!val)
		return -EFAULT;
	memcpy(v, val, sizeof(int));
	return 0;
}

static int put_timeo(void *val, socklen_t *len, int64_t ns)
{
	struct timeval tv = {0, 0};
	if (ns > 0) {
		tv.tv_sec = ns / 1000000000ll;
		tv.tv_usec = (ns % 1000000000ll) / 1000;
	}
	if (!val || !len)
		return -EFAULT;
	socklen_t n = *len < (socklen_t)sizeof(tv) ? *len : (socklen_t)sizeof(tv);
	memcpy(val, &tv, (size_t)n);
	*len = n;
	return 0;
}

static int set_timeo(const void *val, socklen_t len, int64_t *out)
{
	struct timeval tv;
	if (len < (socklen_t)sizeof(tv))
		return -EINVAL;
	if (!val)
		return -EFAULT;
	memcpy(&tv, val, sizeof(tv));
	if (tv.tv_usec < 0 || tv.tv_usec >= 1000000)
		return -EDOM;
	if (tv.tv_sec < 0)
		*out = -1;
	else
		*out = (int64_t)tv.tv_sec * 1000000000ll + (int64_t)tv.tv_usec * 1000;
	return 0;
}

int ps_getsockopt(struct ps_sock *sk, int level, int name, void *val, socklen_t *len)
{
	if (!len)
		return -EFAULT;
	if ((int)*len < 0)
		return -EINVAL;
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_TYPE: return put_int(val, len, sk->type);
		case SO_DOMAIN: return put_int(val, len, sk->domain);
		case SO_PROTOCOL: return put_int(val, len, sk->proto);
		case SO_ACCEPTCONN: return put_int(val, len, sk->listening);
		case SO_BROADCAST: return put_int(val, len, sk->broadcast);
		case SO_OOBINLINE: return put_int(val, len, sk->oobinline);
		case SO_PRIORITY: return put_int(val, len, sk->priority);
		case SO_RCVLOWAT: return put_int(val, len, sk->rcvlowat);
		case SO_SNDLOWAT: return put_int(val, len, 1);
		case 20: /* SO_RCVTIMEO_OLD */
		case 66: /* SO_RCVTIMEO_NEW */
			return put_timeo(val, len, sk->rcvtimeo_ns);
		case 21: /* SO_SNDTIMEO_OLD */
		case 67: /* SO_SNDTIMEO_NEW */
			return put_timeo(val, len, sk->sndtimeo_ns);
		case SO_KEEPALIVE:
		case SO_LINGER:
			if (!is_tcp(sk))
				return name == SO_KEEPALIVE ? put_int(val, len, 0) : -ENOPROTOOPT;
			break;
		default:
			break;
		}
	}
	if (level == IPPROTO_IP) {
		switch (name) {
		case IP_TOS: return put_int(val, len, sk->tos);
		case IP_RECVERR: return put_int(val, len, sk->recverr);
		case IP_MTU_DISCOVER: return put_int(val, len, sk->mtu_disc);
		case IP_TTL: return put_int(val, len, 64);
		default: break;
		}
	}
	if (level == IPPROTO_IPV6) {
		if (sk->domain != AF_INET6)
			return -EOPNOTSUPP;   /* as Linux on an AF_INET socket (ip_getsockopt) */
		switch (name) {
		case IPV6_TCLASS: return put_int(val, len, sk->tclass);
		case IPV6_RECVERR: return put_int(val, len, sk->recverr6);
		case IPV6_MTU_DISCOVER: return put_int(val, len, sk->mtu_disc6);
		case IPV6_MULTICAST_HOPS: return put_int(val, len, 1);
		case IPV6_RECVPKTINFO: return put_int(val, len, sk->recvpktinfo6);
		default: break;   /* IPV6_V6ONLY, IPV6_UNICAST_HOPS: the library's */
		}
	}
	if (level == IPPROTO_TCP && is_tcp(sk)) {
		switch (name) {
		case TCP_CORK: return put_int(val, len, sk->cork);
		case TCP_QUICKACK: return put_int(val, len, !sk->quickack);
		case TCP_DEFER_ACCEPT: return put_int(val, len, sk->defer_accept);
		case TCP_INFO: {
			struct us_tcp_info ui;
			socklen_t ul = sizeof(ui);
			ps_lock();
			int r = us_getsockopt(W->st, sk->sid, IPPROTO_TCP, TCP_INFO, &ui, &ul);
			ps_unlock();
			if (r < 0)
				return r;
			return ps_tcp_info_linux(&ui, val, len);
		}
		default: break;
		}
	}
	if (level == IPPROTO_TCP && !is_tcp(sk))
		return -EOPNOTSUPP;
	ps_lock();
	int r = us_getsockopt(W->st, sk->sid, level, name, val, len);
	ps_unlock();
	if (r == -EINVAL && val && *len >= (socklen_t)sizeof(int))
		r = -ENOPROTOOPT;
	return r;
}

int ps_setsockopt(struct ps_sock *sk, int level, int name, const void *val, socklen_t len)
{
	int v = 0;
	if ((int)len < 0)
		return -EINVAL;
	if (level == SOL_SOCKET) {
		switch (name) {
		case 20:
		case 66:
			return set_timeo(val, len, &sk->rcvtimeo_ns);
		case 21:
		case 67:
			return set_timeo(val, len, &sk->sndtimeo_ns);
		case SO_BROADCAST:
		case SO_OOBINLINE:
		case SO_PRIORITY:
		case SO_RCVLOWAT:
		case SO_SNDLOWAT: {
			int r = get_int(val, len, &v);
			if (r < 0)
				return r;
			if (name == SO_BROADCAST)
				sk->broadcast = v != 0;
			else if (name == SO_OOBINLINE)
				sk->oobinline = v != 0;
			else if (name == SO_PRIORITY)
				sk->priority = v;
			else if (name == SO_RCVLOWAT)
				sk->rcvlowat = v < 1 ? 1 : v;
			return 0;
		}
		case SO_KEEPALIVE:
			if (!is_tcp(sk))
				return get_int(val, len, &v);   /* accepted, meaningless for UDP */
			break;
		case SO_LINGER:
			if (!is_tcp(sk))
				return len < (socklen_t)sizeof(struct linger) ? -EINVAL : 0;
			break;
		case SO_TYPE:
		case SO_DOMAIN:
		case SO_PROTOCOL:
		case SO_ACCEPTCONN:
		case SO_ERROR:
			return -ENOPROTOOPT;
		default:
			break;
		}
	}
	if (level == IPPROTO_IP) {
		switch (name) {
		case IP_TOS:
		case IP_RECVERR:
		case IP_MTU_DISCOVER:
		case IP_PKTINFO:
		case IP_RECVTOS:
		case IP_RECVTTL:
		case IP_FREEBIND:
		case IP_BIND_ADDRESS_NO_PORT: {
			int r = get_int(val, len, &v);
			if (r < 0)
				return r;
			if (name == IP_TOS)
				sk->tos = v & 0xff;
			else if (name == IP_RECVERR)
				sk->recverr = v != 0;
			else if (name == IP_MTU_DISCOVER) {
				if (v < 0 || v > 5)
					return -EINVAL;
				sk->mtu_disc = v;
			}
			return 0;
		}
		default:
			break;
		}
	}
	if (level == IPPROTO_IPV6) {
		if (sk->domain != AF_INET6)
			return -ENOPROTOOPT;
		switch (name) {
		case IPV6_TCLASS:
		case IPV6_RECVERR:
		case IPV6_MTU_DISCOVER:
		case IPV6_MULTICAST_HOPS:
		case IPV6_RECVPKTINFO:
		case IPV6_RECVTCLASS:
		case IPV6_FREEBIND: {
			int r = get_int(val, len, &v);
			if (r < 0)
				return r;
			if (name == IPV6_TCLASS) {
				if (v < -1 || v > 255)
					return -EINVAL;
				sk->tclass = v < 0 ? 0 : v;
			} else if (name == IPV6_RECVERR)
				sk->recverr6 = v != 0;
			else if (name == IPV6_MTU_DISCOVER) {
				if (v < 0 || v > 5)
					return -EINVAL;
				sk->mtu_disc6 = v;
			} else if (name == IPV6_MULTICAST_HOPS) {
				if (v < -1 || v > 255)
					return -EINVAL;
			} else if (name == IPV6_RECVPKTINFO)
				sk->recvpktinfo6 = v != 0;
			return 0;
		}
		default:
			break;   /* IPV6_V6ONLY, IPV6_UNICAST_HOPS: the library's */
		}
	}
	if (level == IPPROTO_TCP) {
		if (!is_tcp(sk))
			return -ENOPROTOOPT;
		switch (name) {
		case TCP_CORK:
		case TCP_QUICKACK:
		case TCP_DEFER_ACCEPT:
		case TCP_FASTOPEN:
		case TCP_NOTSENT_LOWAT: {
			int r = get_int(val, len, &v);
			if (r < 0)
				return r;
			if (name == TCP_CORK)
				sk->cork = v != 0;
			else if (name == TCP_QUICKACK)
				sk->quickack = !v;
			else if (name == TCP_DEFER_ACCEPT)
				sk->defer_accept = v < 0 ? 0 : v;
			return 0;
		}
		default:
			break;
		}
	}
	ps_lock();
	int r = us_setsockopt(W->st, sk->sid, level, name, val, len);
	ps_after_call();
	ps_unlock();
	return r;
}

int ps_ioctl(struct ps_sock *sk, unsigned long req, void *arg)
{
	switch (req) {
	case FIONBIO: {
		if (!arg)
			return -EFAULT;
		int v;
		memcpy(&v, arg, sizeof(v));
		ps_lock();
		sk->nonblock = v != 0;
		ps_unlock();
		return 0;
	}
	case FIONREAD:   /* == SIOCINQ */
	case SIOCOUTQ: {
		if (!arg)
			return -EFAULT;
		int v = 0;
		ps_lock();
		if (is_tcp(sk)) {
			struct us_tcp_info ui;
			socklen_t ul = sizeof(ui);
			if (sk->listening) {
				ps_unlock();
				return -EINVAL;
			}
			if (us_getsockopt(W->st, sk->sid, IPPROTO_TCP, TCP_INFO, &ui, &ul) == 0)
				v = (int)(req == FIONREAD ? ui.rcv_queued : ui.snd_queued);
		} else if (req == FIONREAD) {
			/* the size of the next datagram, as Linux's UDP answers */
			char c;
			ssize_t n = us_recvfrom(W->st, sk->sid, &c, 1, MSG_PEEK | MSG_TRUNC, NULL, NULL);
			v = n > 0 ? (int)n : 0;
		}
		ps_unlock();
		memcpy(arg, &v, sizeof(v));
		return 0;
	}
	case SIOCATMARK: {
		if (!arg)
			return -EFAULT;
		int v = 0;
		memcpy(arg, &v, sizeof(v));
		return 0;
	}
	default:
		return 1;   /* not ours: the caller hands it to the shadow fd */
	}
}
