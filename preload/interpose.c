/* The functions libustack-preload.so puts in front of libc's. Each looks at
 * the fd (a lock-free table read): a kernel fd goes straight on to libc, a
 * ustack one to the shim, pinned for the length of the call. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <resolv.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include "shim.h"

#define EXPORT __attribute__((visibility("default")))

static inline int ret(long r)
{
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return (int)r;
}

static inline ssize_t sret(ssize_t r)
{
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

#define REAL(f)                          \
	do {                             \
		if (__builtin_expect(!R.socket, 0)) \
			ps_real_init(); \
	} while (0)

/* The ustack socket behind fd, pinned; NULL for a kernel fd. */
static struct ps_sock *pin(int fd)
{
	if (!W || !ps_me)
		return NULL;
	struct ps_obj *o = ps_fd_peek(fd);
	if (!o || o->kind != PS_SOCK)
		return NULL;
	ps_proc_ready();
	ps_lock();
	o = ps_fd_peek(fd);
	if (o && o->kind == PS_SOCK)
		o->refs++;
	else
		o = NULL;
	ps_unlock();
	return (struct ps_sock *)o;
}

static void unpin(struct ps_sock *sk)
{
	ps_lock();
	ps_obj_unref(&sk->o);
	ps_unlock();
}

static struct ps_epoll *pin_ep(int fd)
{
	if (!W || !ps_me)
		return NULL;
	struct ps_obj *o = ps_fd_peek(fd);
	if (!o || o->kind != PS_EPOLL)
		return NULL;
	ps_proc_ready();
	ps_lock();
	o = ps_fd_peek(fd);
	if (o && o->kind == PS_EPOLL)
		o->refs++;
	else
		o = NULL;
	ps_unlock();
	return (struct ps_epoll *)o;
}

static void unpin_ep(struct ps_epoll *ep)
{
	ps_lock();
	ps_obj_unref(&ep->o);
	ps_unlock();
}

#define WITH_SOCK(fd, call, kernel)                  \
	do {                                         \
		REAL(0);                             \
		struct ps_sock *sk_ = pin(fd);       \
		if (!sk_)                            \
			return kernel;               \
		long r_ = (long)(call);              \
		unpin(sk_);                          \
		return sret(r_);                     \
	} while (0)

/* ---- sockets ------------------------------------------------------------- */

EXPORT int socket(int domain, int type, int proto)
{
	REAL(0);
	if (W && ps_me && (domain == AF_INET || domain == AF_INET6)) {
		ps_proc_ready();
		return ret(ps_socket(domain, type, proto));
	}
	return R.socket(domain, type, proto);
}

EXPORT int socketpair(int domain, int type, int proto, int sv[2])
{
	REAL(0);
	if (W && (domain == AF_INET || domain == AF_INET6)) {
		errno = EOPNOTSUPP;   /* as Linux: no socketpair for IP */
		return -1;
	}
	return R.socketpair(domain, type, proto, sv);
}

EXPORT int bind(int fd, const struct sockaddr *a, socklen_t l) { WITH_SOCK(fd, ps_bind(sk_, a, l), R.bind(fd, a, l)); }
EXPORT int listen(int fd, int b) { WITH_SOCK(fd, ps_listen(sk_, b), R.listen(fd, b)); }
EXPORT int connect(int fd, const struct sockaddr *a, socklen_t l) { WITH_SOCK(fd, ps_connect(sk_, a, l), R.connect(fd, a, l)); }
EXPORT int accept4(int fd, struct sockaddr *a, socklen_t *l, int fl) { WITH_SOCK(fd, ps_accept(sk_, a, l, fl), R.accept4(fd, a, l, fl)); }
EXPORT int accept(int fd, struct sockaddr *a, socklen_t *l) { WITH_SOCK(fd, ps_accept(sk_, a, l, 0), R.accept4(fd, a, l, 0)); }
EXPORT int shutdown(int fd, int how) { WITH_SOCK(fd, ps_shutdown(sk_, how), R.shutdown(fd, how)); }
EXPORT int getsockname(int fd, struct sockaddr *a, socklen_t *l) { WITH_SOCK(fd, ps_getsockname(sk_, a, l), R.getsockname(fd, a, l)); }
EXPORT int getpeername(int fd, struct sockaddr *a, socklen_t *l) { WITH_SOCK(fd, ps_getpeername(sk_, a, l), R.getpeername(fd, a, l)); }
EXPORT int getsockopt(int fd, int lv, int n, void *v, socklen_t *l)
{
	WITH_SOCK(fd, ps_getsockopt(sk_, lv, n, v, l), R.getsockopt(fd, lv, n, v, l));
}
EXPORT int setsockopt(int fd, int lv, int n, const void *v, socklen_t l)
{
	WITH_SOCK(fd, ps_setsockopt(sk_, lv, n, v, l), R.setsockopt(fd, lv, n, v, l));
}

EXPORT ssize_t send(int fd, const void *b, size_t n, int fl) { WITH_SOCK(fd, ps_send(sk_, b, n, fl, NULL, 0), R.sendto(fd, b, n, fl, NULL, 0)); }
EXPORT ssize_t sendto(int fd, const void *b, size_t n, int fl, const struct sockaddr *a, socklen_t l)
{
	WITH_SOCK(fd, ps_send(sk_, b, n, fl, a, l), R.sendto(fd, b, n, fl, a, l));
}
EXPORT ssize_t recv(int fd, void *b, size_t n, int fl) { WITH_SOCK(fd, ps_recv(sk_, b, n, fl, NULL, NULL), R.recvfrom(fd, b, n, fl, NULL, NULL)); }
EXPORT ssize_t recvfrom(int fd, void *b, size_t n, int fl, struct sockaddr *a, socklen_t *l)
{
	WITH_SOCK(fd, ps_recv(sk_, b, n, fl, a, l), R.recvfrom(fd, b, n, fl, a, l));
}
EXPORT ssize_t sendmsg(int fd, const struct msghdr *m, int fl) { WITH_SOCK(fd, ps_sendmsg(sk_, m, fl), R.sendmsg(fd, m, fl)); }
EXPORT ssize_t recvmsg(int fd, struct msghdr *m, int fl) { WITH_SOCK(fd, ps_recvmsg(sk_, m, fl), R.recvmsg(fd, m, fl)); }
EXPORT int sendmmsg(int fd, struct mmsghdr *v, unsigned n, int fl) { WITH_SOCK(fd, ps_sendmmsg(sk_, v, n, fl), R.sendmmsg(fd, v, n, fl)); }
EXPORT int recvmmsg(int fd, struct mmsghdr *v, unsigned n, int fl, struct timespec *t)
{
	WITH_SOCK(fd, ps_recvmmsg(sk_, v, n, fl, t), R.recvmmsg(fd, v, n, fl, t));
}
EXPORT ssize_t read(int fd, void *b, size_t n) { WITH_SOCK(fd, ps_recv(sk_, b, n, 0, NULL, NULL), R.read(fd, b, n)); }
EXPORT ssize_t write(int fd, const void *b, size_t n) { WITH_SOCK(fd, ps_send(sk_, b, n, 0, NULL, 0), R.write(fd, b, n)); }
EXPORT ssize_t readv(int fd, const struct iovec *v, int n) { WITH_SOCK(fd, ps_readv(sk_, v, n), R.readv(fd, v, n)); }
EXPORT ssize_t writev(int fd, const struct iovec *v, int n) { WITH_SOCK(fd, ps_writev(sk_, v, n), R.writev(fd, v, n)); }

/* _FORTIFY_SOURCE builds call these */
extern void __chk_fail(void) __attribute__((noreturn));
EXPORT ssize_t __read_chk(int fd, void *b, size_t n, size_t bl)
{
	if (n > bl)
		__chk_fail();
	return read(fd, b, n);
}
EXPORT ssize_t __recv_chk(int fd, void *b, size_t n, size_t bl, int fl)
{
	if (n > bl)
		__chk_fail();
	return recv(fd, b, n, fl);
}
EXPORT ssize_t __recvfrom_chk(int fd, void *b, size_t n, size_t bl, int fl, struct sockaddr *a, socklen_t *l)
{
	if (n > bl)
		__chk_fail();
	return recvfrom(fd, b, n, fl, a, l);
}

EXPORT ssize_t sendfile(int out, int in, off_t *off, size_t n) { WITH_SOCK(out, ps_sendfile(sk_, in, off, n), R.sendfile(out, in, off, n)); }
EXPORT ssize_t sendfile64(int out, int in, off_t *off, size_t n) { return sendfile(out, in, off, n); }

EXPORT int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	REAL(0);
	struct ps_sock *sk = pin(fd);
	if (!sk)
		return R.ioctl(fd, req, arg);
	int r = ps_ioctl(sk, req, arg);
	unpin(sk);
	if (r == 1)
		return R.ioctl(fd, req, arg);   /* on the shadow: SIOCGIF* and the like */
	return ret(r);
}

/* ---- fds: close, dup, fcntl ---------------------------------------------- */

EXPORT int close(int fd)
{
	REAL(0);
	if (ps_is_internal_fd(fd))
		return 0;   /* the shim's own (the device, a wake object) */
	if (W && ps_me && ps_fd_peek(fd)) {
		ps_lock();
		ps_fd_clear(fd);
		ps_unlock();
	}
	return R.close(fd);
}

static int dup_to(int oldfd, int newfd, int flags, int mode)
{
	/* mode 0: dup (newfd ignored), 1: dup2, 3: dup3, 4: F_DUPFD[_CLOEXEC] from newfd */
	struct ps_obj *oo = W && ps_me ? ps_fd_peek(oldfd) : NULL;
	struct ps_obj *on = (W && ps_me && mode != 0 && mode != 4) ? ps_fd_peek(newfd) : NULL;
	if (mode != 0 && mode != 4 && ps_is_internal_fd(newfd)) {
		errno = EBUSY;
		return -1;
	}
	if (!oo && !on) {
		switch (mode) {
		case 0: return R.dup(oldfd);
		case 1: return R.dup2(oldfd, newfd);
		case 3: return R.dup3(oldfd, newfd, flags);
		default: return R.fcntl(oldfd, flags ? F_DUPFD_CLOEXEC : F_DUPFD, newfd);
		}
	}
	int r;
	if (mode == 1 && oldfd == newfd)
		return newfd;
	if (oo && oo->kind == PS_SOCK) {
		/* the shadow keeps FD_CLOEXEC; the program's view is in the table */
		if (mode == 0)
			r = R.fcntl(oldfd, F_DUPFD_CLOEXEC, 0);
		else if (mode == 4)
			r = R.fcntl(oldfd, F_DUPFD_CLOEXEC, newfd);
		else
			r = R.dup3(oldfd, newfd, O_CLOEXEC);
	} else {
		switch (mode) {
		case 0: r = R.dup(oldfd); break;
		case 1: r = R.dup2(oldfd, newfd); break;
		case 3: r = R.dup3(oldfd, newfd, flags); break;
		default: r = R.fcntl(oldfd, flags ? F_DUPFD_CLOEXEC : F_DUPFD, newfd); break;
		}
	}
	if (r < 0)
		return r;
	ps_lock();
	if (on && (mode == 1 || mode == 3))
		ps_fd_clear(r);
	if (oo) {
		int cloexec = (mode == 3 && (flags & O_CLOEXEC)) || (mode == 4 && flags);
		ps_fd_set(r, oo, cloexec);
	}
	ps_unlock();
	return r;
}

EXPORT int dup(int fd) { REAL(0); return dup_to(fd, -1, 0, 0); }
EXPORT int dup2(int o, int n) { REAL(0); return dup_to(o, n, 0, 1); }
EXPORT int dup3(int o, int n, int fl) { REAL(0); if (o == n) { errno = EINVAL; return -1; } return dup_to(o, n, fl, 3); }

static int do_fcntl(int fd, int cmd, uintptr_t arg)
{
	REAL(0);
	struct ps_obj *o = W && ps_me ? ps_fd_peek(fd) : NULL;
	if (!o)
		return R.fcntl(fd, cmd, arg);
	switch (cmd) {
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		return dup_to(fd, (int)arg, cmd == F_DUPFD_CLOEXEC, 4);
	case F_GETFD: {
		if (o->kind == PS_EPOLL)
			return R.fcntl(fd, cmd, arg);
		struct ps_fd *s = ps_fd_slot(ps_me, fd, 0);
		return s && s->cloexec ? FD_CLOEXEC : 0;
	}
	case F_SETFD: {
		if (o->kind == PS_EPOLL)
			return R.fcntl(fd, cmd, arg);
		struct ps_fd *s = ps_fd_slot(ps_me, fd, 0);
		if (s)
			s->cloexec = (arg & FD_CLOEXEC) != 0;
		return 0;
	}
	case F_GETFL:
		if (o->kind == PS_SOCK)
			return O_RDWR | (((struct ps_sock *)o)->nonblock ? O_NONBLOCK : 0);
		return R.fcntl(fd, cmd, arg);
	case F_SETFL:
		if (o->kind == PS_SOCK) {
			((struct ps_sock *)o)->nonblock = (arg & O_NONBLOCK) != 0;
			return 0;
		}
		return R.fcntl(fd, cmd, arg);
	default:
		return R.fcntl(fd, cmd, arg);
	}
}

EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	uintptr_t arg = va_arg(ap, uintptr_t);
	va_end(ap);
	return do_fcntl(fd, cmd, arg);
}

EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	uintptr_t arg = va_arg(ap, uintptr_t);
	va_end(ap);
	return do_fcntl(fd, cmd, arg);
}

static int close_one_range(unsigned first, unsigned last)
{
	struct rlimit rl;
	unsigned max = 1024;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (1u << 20))
		max = (unsigned)rl.rlim_cur;
	for (unsigned fd = first; fd <= last && fd < max; fd++)
		if (!ps_is_internal_fd((int)fd)) {
			int e = errno;
			close((int)fd);
			errno = e;
		}
	return 0;
}

EXPORT void closefrom(int low) { REAL(0); close_one_range(low < 0 ? 0 : (unsigned)low, ~0u); }
EXPORT int close_range(unsigned first, unsigned last, int flags)
{
	REAL(0);
	if (flags) {
		/* CLOSE_RANGE_CLOEXEC / UNSHARE: the kernel's, on the fds as they are */
		long r = syscall(436 /* SYS_close_range */, first, last, flags);
		return r < 0 ? -1 : 0;
	}
	return close_one_range(first, last);
}

/* ---- readiness ---------------------------------------------------------------- */

static int64_t ms_deadline(int ms) { return ms < 0 ? -1 : ps_now() + (int64_t)ms * PS_NS_PER_MS; }
static int64_t ts_deadline(const struct timespec *t)
{
	return t ? ps_now() + t->tv_sec * 1000000000ll + t->tv_nsec : -1;
}

static int any_ours(const struct pollfd *f, nfds_t n)
{
	if (!W || !ps_me)
		return 0;
	for (nfds_t i = 0; i < n; i++)
		if (f[i].fd >= 0) {
			struct ps_obj *o = ps_fd_peek(f[i].fd);
			if (o && o->kind == PS_SOCK)
				return 1;
		}
	return 0;
}

EXPORT int poll(struct pollfd *f, nfds_t n, int ms)
{
	REAL(0);
	if (!any_ours(f, n))
		return R.poll(f, n, ms);
	ps_proc_ready();
	return ret(ps_poll(f, n, ms_deadline(ms), NULL));
}

EXPORT int ppoll(struct pollfd *f, nfds_t n, const struct timespec *t, const sigset_t *m)
{
	REAL(0);
	if (!any_ours(f, n))
		return R.ppoll(f, n, t, m);
	ps_proc_ready();
	return ret(ps_poll(f, n, ts_deadline(t), m));
}

EXPORT int __poll_chk(struct pollfd *f, nfds_t n, int ms, size_t fl)
{
	if (fl / sizeof(*f) < n)
		__chk_fail();
	return poll(f, n, ms);
}
EXPORT int __ppoll_chk(struct pollfd *f, nfds_t n, const struct timespec *t, const sigset_t *m, size_t fl)
{
	if (fl / sizeof(*f) < n)
		__chk_fail();
	return ppoll(f, n, t, m);
}

static int sets_ours(int n, fd_set *r, fd_set *w, fd_set *e)
{
	if (!W || !ps_me)
		return 0;
	if (n > FD_SETSIZE)
		n = FD_SETSIZE;
	for (int fd = 0; fd < n; fd++)
		if ((r && FD_ISSET(fd, r)) || (w && FD_ISSET(fd, w)) || (e && FD_ISSET(fd, e))) {
			struct ps_obj *o = ps_fd_peek(fd);
			if (o && o->kind == PS_SOCK)
				return 1;
		}
	return 0;
}

EXPORT int select(int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv)
{
	REAL(0);
	if (!sets_ours(n, r, w, e)) {
		static int (*real_select)(int, fd_set *, fd_set *, fd_set *, struct timeval *);
		if (!real_select)
			real_select = (__typeof__(real_select))ps_next("select");
		return real_select(n, r, w, e, tv);
	}
	ps_proc_ready();
	if (tv && (tv->tv_sec < 0 || tv->tv_usec < 0)) {
		errno = EINVAL;
		return -1;
	}
	int64_t start = ps_now();
	int64_t dl = tv ? start + tv->tv_sec * 1000000000ll + tv->tv_usec * 1000ll : -1;
	int rc = ps_select(n, r, w, e, dl, NULL);
	if (tv) {
		/* Linux writes back the time left */
		int64_t left = dl - ps_now();
		if (left < 0)
			left = 0;
		tv->tv_sec = left / 1000000000ll;
		tv->tv_usec = (left % 1000000000ll) / 1000;
	}
	return ret(rc);
}

EXPORT int pselect(int n, fd_set *r, fd_set *w, fd_set *e, const struct timespec *t, const sigset_t *m)
{
	REAL(0);
	if (!sets_ours(n, r, w, e)) {
		static int (*real_pselect)(int, fd_set *, fd_set *, fd_set *, const struct timespec *, const sigset_t *);
		if (!real_pselect)
			real_pselect = (__typeof__(real_pselect))ps_next("pselect");
		return real_pselect(n, r, w, e, t, m);
	}
	ps_proc_ready();
	return ret(ps_select(n, r, w, e, ts_deadline(t), m));
}

EXPORT int epoll_create1(int flags)
{
	REAL(0);
	if (!W || !ps_me)
		return R.epoll_create1(flags);
	ps_proc_ready();
	return ret(ps_epoll_create(flags));
}

EXPORT int epoll_create(int size)
{
	if (size <= 0) {
		errno = EINVAL;
		return -1;
	}
	return epoll_create1(0);
}

EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	REAL(0);
	struct ps_epoll *ep = pin_ep(epfd);
	if (!ep) {
		struct ps_obj *o = W && ps_me ? ps_fd_peek(fd) : NULL;
		if (o && o->kind == PS_SOCK) {
			errno = EPERM;   /* a ustack socket in an epoll fd made before the shim: cannot */
			return -1;
		}
		return R.epoll_ctl(epfd, op, fd, ev);
	}
	int r = ps_epoll_ctl(ep, op, fd, ev);
	unpin_ep(ep);
	return ret(r);
}

static int ep_wait(int epfd, struct epoll_event *evs, int max, int64_t dl, const struct timespec *t, int ms,
		   const sigset_t *m)
{
	REAL(0);
	struct ps_epoll *ep = pin_ep(epfd);
	if (!ep) {
		if (t || !R.epoll_pwait2)
			return t ? R.epoll_pwait2(epfd, evs, max, t, m) : R.epoll_pwait(epfd, evs, max, ms, m);
		return R.epoll_pwait(epfd, evs, max, ms, m);
	}
	int r = ps_epoll_wait(ep, evs, max, dl, m);
	unpin_ep(ep);
	return ret(r);
}

EXPORT int epoll_wait(int epfd, struct epoll_event *evs, int max, int ms)
{
	return ep_wait(epfd, evs, max, ms_deadline(ms), NULL, ms, NULL);
}
EXPORT int epoll_pwait(int epfd, struct epoll_event *evs, int max, int ms, const sigset_t *m)
{
	return ep_wait(epfd, evs, max, ms_deadline(ms), NULL, ms, m);
}
EXPORT int epoll_pwait2(int epfd, struct epoll_event *evs, int max, const struct timespec *t, const sigset_t *m)
{
	return ep_wait(epfd, evs, max, ts_deadline(t), t, -1, m);
}

/* ---- processes ------------------------------------------------------------------ */

EXPORT void _exit(int status)
{
	REAL(0);
	ps_proc_exit(1);
	R.exit_(status);
	__builtin_unreachable();
}
EXPORT void _Exit(int status) { _exit(status); }

/* r, after freeing p without losing the failed call's errno */
static int free_ret(void *p, int r)
{
	int err = errno;
	free(p);
	errno = err;
	return r;
}

EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	REAL(0);
	/* This process leaves the stack (its ustack fds close here, whatever
	 * FD_CLOEXEC says); the new program gets it if ps_exec_env hands it
	 * over. A shell looks a command up by trying execve in each directory
	 * of PATH: a try that must fail leaves the stack where it is. */
	if (access(path, X_OK) != 0)
		return R.execve(path, argv, envp);
	char **e = ps_exec_env(path, envp);
	ps_proc_exit(1);
	return free_ret(e, R.execve(path, argv, e ? e : envp));
}

/* The variants with a PATH search or an fd go to libc's own (it searches
 * with its internal execve), with the environment ps_exec_env gives. */
typedef int (*execvpe_fn)(const char *, char *const[], char *const[]);
typedef int (*fexecve_fn)(int, char *const[], char *const[]);

/* Whether execvp would find P: as execve, a search that must fail leaves
 * the stack where it is. */
static int exec_found(const char *p)
{
	if (strchr(p, '/'))
		return access(p, X_OK) == 0;
	const char *path = getenv("PATH");
	if (!path)
		path = "/bin:/usr/bin";
	char buf[4096];
	for (const char *d = path;; d++) {
		const char *end = strchrnul(d, ':');
		int l = snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(end - d), d, end == d ? "" : "/", p);
		if (l > 0 && (size_t)l < sizeof(buf) && access(buf, X_OK) == 0)
			return 1;
		if (!*end)
			return 0;
		d = end;
	}
}

static int exec_with(execvpe_fn pe, fexecve_fn fe, const char *p, int fd, char *const a[], char *const env[])
{
	if (!pe && !fe) {   /* libc without it (ps_next found nothing) */
		errno = ENOSYS;
		return -1;
	}
	if (pe && !exec_found(p))
		return pe(p, a, env);
	char **e = ps_exec_env(p, env);
	ps_proc_exit(1);
	return free_ret(e, pe ? pe(p, a, e ? e : env) : fe ? fe(fd, a, e ? e : env) : -1);
}

extern char **environ;
EXPORT int execv(const char *p, char *const a[]) { return execve(p, a, environ); }
EXPORT int execvpe(const char *p, char *const a[], char *const e[])
{
	static execvpe_fn real;
	REAL(0);
	if (!real)
		real = (execvpe_fn)ps_next("execvpe");
	return exec_with(real, NULL, p, -1, a, e);
}
EXPORT int execvp(const char *p, char *const a[]) { return execvpe(p, a, environ); }
EXPORT int fexecve(int fd, char *const a[], char *const e[])
{
	static fexecve_fn real;
	REAL(0);
	if (!real)
		real = (fexecve_fn)ps_next("fexecve");
	return exec_with(NULL, real, NULL, fd, a, e);
}

static char **va_argv(const char *first, va_list ap, char ***envp)
{
	size_t n = 1, cap = 16;
	char **v = malloc(cap * sizeof(*v));
	if (!v)
		return NULL;
	v[0] = (char *)first;
	for (;;) {
		char *a = va_arg(ap, char *);
		if (n + 1 >= cap) {
			char **nv = realloc(v, (cap *= 2) * sizeof(*v));
			if (!nv) {
				free(v);
				return NULL;
			}
			v = nv;
		}
		v[n++] = a;
		if (!a)
			break;
	}
	if (envp)
		*envp = va_arg(ap, char **);
	return v;
}

EXPORT int execl(const char *p, const char *a0, ...)
{
	va_list ap;
	va_start(ap, a0);
	char **v = va_argv(a0, ap, NULL);
	va_end(ap);
	if (!v)
		return -1;
	return free_ret(v, execve(p, v, environ));   /* returns only when it failed */
}
EXPORT int execle(const char *p, const char *a0, ...)
{
	va_list ap;
	char **e;
	va_start(ap, a0);
	char **v = va_argv(a0, ap, &e);
	va_end(ap);
	if (!v)
		return -1;
	return free_ret(v, execve(p, v, e));   /* returns only when it failed */
}
EXPORT int execlp(const char *p, const char *a0, ...)
{
	va_list ap;
	va_start(ap, a0);
	char **v = va_argv(a0, ap, NULL);
	va_end(ap);
	if (!v)
		return -1;
	return free_ret(v, execvp(p, v));   /* returns only when it failed */
}

extern void ps_term_handler(int sig);
static int is_term_sig(int s) { return s == SIGTERM || s == SIGINT || s == SIGHUP; }

/* A handler installed with SA_RESETHAND (node's for SIGTERM and SIGINT,
 * which then re-raises the signal) would leave the kernel's default in
 * place on delivery, and the re-raised signal would end the process
 * without the shim's close. So such a handler is installed without the
 * flag, behind a trampoline that first puts the shim's handler back (the
 * "default" under ustack run) and then calls the program's. Queries see
 * the program's handler and flags. */
static struct sigaction prog_sa[NSIG];

static void resethand_tramp(int sig, siginfo_t *si, void *uc)
{
	struct sigaction p = prog_sa[sig];
	ps_term_install(sig);
	if (p.sa_flags & SA_SIGINFO)
		p.sa_sigaction(sig, si, uc);
	else if (p.sa_handler != SIG_DFL && p.sa_handler != SIG_IGN)
		p.sa_handler(sig);
}

EXPORT int sigaction(int sig, const struct sigaction *sa, struct sigaction *old)
{
	REAL(0);
	struct sigaction cur;
	memset(&cur, 0, sizeof(cur));
	int ours = 0, tramp = 0;
	if (W && is_term_sig(sig) && R.sigaction(sig, NULL, &cur) == 0) {
		ours = cur.sa_handler == ps_term_handler;
		tramp = (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == resethand_tramp;
	}
	struct sigaction prev = cur;
	if (ours)
		prev.sa_handler = SIG_DFL, prev.sa_flags = 0;
	else if (tramp)
		prev = prog_sa[sig];
	if (sa && W && is_term_sig(sig) && sa->sa_handler == SIG_DFL) {
		/* The program wants the default: keep ours, which closes the
		 * connections first and then dies by the same signal. */
		if (tramp)
			ps_term_install(sig);
		if (old)
			*old = prev;
		return 0;
	}
	if (sa && W && is_term_sig(sig) && (sa->sa_flags & SA_RESETHAND) && sa->sa_handler != SIG_IGN) {
		struct sigaction t = *sa;
		t.sa_flags = (sa->sa_flags & ~SA_RESETHAND) | SA_SIGINFO;
		t.sa_sigaction = resethand_tramp;
		/* the program's handler first: the signal may come at once */
		prog_sa[sig] = *sa;
		int r = R.sigaction(sig, &t, NULL);
		if (r == 0 && old)
			*old = prev;
		return r;
	}
	int r = R.sigaction(sig, sa, old);
	if (r == 0 && old && (ours || tramp))
		*old = prev;
	return r;
}

EXPORT __sighandler_t signal(int sig, __sighandler_t h)
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	memset(&old, 0, sizeof(old));
	sa.sa_handler = h;
	sa.sa_flags = SA_RESTART;   /* glibc's signal() is BSD's */
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, &old) < 0)
		return SIG_ERR;
	return old.sa_handler;
}

/* ---- the resolver ---------------------------------------------------------------- */

#define RESOLV_WRAP(type, name, proto, args)                             \
	EXPORT type name proto                                           \
	{                                                                \
		static type(*real) proto;                                \
		REAL(0);                                                 \
		if (!real)                                               \
			real = (__typeof__(real))ps_next(#name);            \
		ps_resolv_enter();                                       \
		type r_ = real args;                                     \
		int e_ = errno;                                          \
		ps_resolv_leave();                                       \
		errno = e_;                                              \
		return r_;                                               \
	}

RESOLV_WRAP(int, getaddrinfo, (const char *n, const char *s, const struct addrinfo *h, struct addrinfo **res), (n, s, h, res))
RESOLV_WRAP(int, getnameinfo, (const struct sockaddr *a, socklen_t l, char *h, socklen_t hl, char *s, socklen_t sl, int f),
	    (a, l, h, hl, s, sl, f))
RESOLV_WRAP(struct hostent *, gethostbyname, (const char *n), (n))
RESOLV_WRAP(struct hostent *, gethostbyname2, (const char *n, int af), (n, af))
RESOLV_WRAP(struct hostent *, gethostbyaddr, (const void *a, socklen_t l, int t), (a, l, t))
RESOLV_WRAP(int, gethostbyname_r, (const char *n, struct hostent *r, char *b, size_t bl, struct hostent **res, int *e),
	    (n, r, b, bl, res, e))
RESOLV_WRAP(int, gethostbyname2_r,
	    (const char *n, int af, struct hostent *r, char *b, size_t bl, struct hostent **res, int *e),
	    (n, af, r, b, bl, res, e))
RESOLV_WRAP(int, gethostbyaddr_r,
	    (const void *a, socklen_t l, int t, struct hostent *r, char *b, size_t bl, struct hostent **res, int *e),
	    (a, l, t, r, b, bl, res, e))
RESOLV_WRAP(int, res_query, (const char *d, int c, int t, unsigned char *a, int al), (d, c, t, a, al))
RESOLV_WRAP(int, res_search, (const char *d, int c, int t, unsigned char *a, int al), (d, c, t, a, al))
RESOLV_WRAP(int, res_querydomain, (const char *n, const char *d, int c, int t, unsigned char *a, int al),
	    (n, d, c, t, a, al))
RESOLV_WRAP(int, res_send, (const unsigned char *m, int ml, unsigned char *a, int al), (m, ml, a, al))
RESOLV_WRAP(int, res_nquery, (res_state s, const char *d, int c, int t, unsigned char *a, int al), (s, d, c, t, a, al))
RESOLV_WRAP(int, res_nsearch, (res_state s, const char *d, int c, int t, unsigned char *a, int al), (s, d, c, t, a, al))
RESOLV_WRAP(int, res_nsend, (res_state s, const unsigned char *m, int ml, unsigned char *a, int al), (s, m, ml, a, al))
RESOLV_WRAP(int, __res_query, (const char *d, int c, int t, unsigned char *a, int al), (d, c, t, a, al))
RESOLV_WRAP(int, __res_search, (const char *d, int c, int t, unsigned char *a, int al), (d, c, t, a, al))
RESOLV_WRAP(int, __res_send, (const unsigned char *m, int ml, unsigned char *a, int al), (m, ml, a, al))
RESOLV_WRAP(int, __res_nquery, (res_state s, const char *d, int c, int t, unsigned char *a, int al), (s, d, c, t, a, al))
RESOLV_WRAP(int, __res_nsearch, (res_state s, const char *d, int c, int t, unsigned char *a, int al), (s, d, c, t, a, al))
RESOLV_WRAP(int, __res_nsend, (res_state s, const unsigned char *m, int ml, unsigned char *a, int al), (s, m, ml, a, al))
