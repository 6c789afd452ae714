/* glibc's resolver through the shim.
 *
 * Since glibc 2.34 the stub resolver lives inside libc and makes its calls
 * (socket, connect, sendmmsg, poll, recvfrom, close...) through libc's
 * internal aliases, which LD_PRELOAD cannot interpose: its UDP would go to
 * the kernel's stack. So while a resolver function runs (getaddrinfo and
 * friends, wrapped in interpose.c), the thread turns on Syscall User
 * Dispatch (prctl PR_SET_SYSCALL_USER_DISPATCH, Linux 5.11): every system
 * call it makes from outside this file's trampoline traps with SIGSYS, and
 * the handler runs the socket calls through the shim (so they reach ustack
 * sockets) and every other call as it was. Dispatch is off again when the
 * resolver returns: nothing else pays for it, and no exec inherits it. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "shim.h"

#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH 59
#define PR_SYS_DISPATCH_OFF 0
#define PR_SYS_DISPATCH_ON 1
#endif
#define SUD_ALLOW 0
#define SUD_BLOCK 1
#ifndef SYS_USER_DISPATCH
#define SYS_USER_DISPATCH 2
#endif

/* The trampoline: calls made from these instructions always pass. */
extern char ps_sud_begin[], ps_sud_end[];
long ps_sud_syscall6(long nr, long a, long b, long c, long d, long e, long f);
void ps_sud_restorer(void);
__asm__(".text\n"
	".globl ps_sud_begin\n.hidden ps_sud_begin\nps_sud_begin:\n"
	".globl ps_sud_syscall6\n.hidden ps_sud_syscall6\n.type ps_sud_syscall6,@function\n"
	"ps_sud_syscall6:\n"
	"  mov %rdi, %rax\n  mov %rsi, %rdi\n  mov %rdx, %rsi\n  mov %rcx, %rdx\n"
	"  mov %r8, %r10\n  mov %r9, %r8\n  mov 8(%rsp), %r9\n  syscall\n  ret\n"
	".globl ps_sud_restorer\n.hidden ps_sud_restorer\n.type ps_sud_restorer,@function\n"
	"ps_sud_restorer:\n  mov $15, %rax\n  syscall\n  hlt\n"
	".globl ps_sud_end\n.hidden ps_sud_end\nps_sud_end:\n");

static __thread volatile char sud_sel = SUD_ALLOW;
static __thread int sud_depth, sud_on;
static __thread struct {
	void *h;
	unsigned long flags;
	void *restorer;
	unsigned long mask;
} sud_old;
static __thread unsigned long sud_oldmask;

static long ret_of(long r) { return r < 0 ? r : r; }

static long errno_ret(long r)
{
	/* shim calls return -1/errno like libc; the kernel ABI wants -errno */
	return r == -1 ? -(long)errno : r;
}

/* The socket calls, by number, through the shim's own entry points (which
 * send kernel fds on to the kernel). */
static long emulate(long nr, long a0, long a1, long a2, long a3, long a4, long a5, int *done)
{
	*done = 1;
	int fd = (int)a0;
	struct ps_obj *o = nr == SYS_socket || nr == SYS_poll || nr == SYS_ppoll ? NULL : ps_fd_peek(fd);
	switch (nr) {
	case SYS_socket:
		if ((int)a0 == AF_INET || (int)a0 == AF_INET6) {
			int r = ps_socket((int)a0, (int)a1, (int)a2);
			return r;
		}
		break;
	case SYS_poll: {
		struct pollfd *p = (struct pollfd *)a0;
		int has = 0;
		for (long i = 0; i < a1; i++)
			if (p[i].fd >= 0 && ps_fd_peek(p[i].fd))
				has = 1;
		if (!has)
			break;
		int64_t dl = (int)a2 < 0 ? -1 : ps_now() + (int64_t)(int)a2 * PS_NS_PER_MS;
		return ps_poll(p, (nfds_t)a1, dl, NULL);
	}
	default:
		break;
	}
	if (!o || o->kind != PS_SOCK) {
		*done = 0;
		return 0;
	}
	struct ps_sock *sk = (struct ps_sock *)o;
	switch (nr) {
	case SYS_connect: return ps_connect(sk, (const struct sockaddr *)a1, (socklen_t)a2);
	case SYS_bind: return ps_bind(sk, (const struct sockaddr *)a1, (socklen_t)a2);
	case SYS_sendto: return ps_send(sk, (const void *)a1, (size_t)a2, (int)a3, (const struct sockaddr *)a4, (socklen_t)a5);
	case SYS_recvfrom: return ps_recv(sk, (void *)a1, (size_t)a2, (int)a3, (struct sockaddr *)a4, (socklen_t *)a5);
	case SYS_sendmsg: return ps_sendmsg(sk, (const struct msghdr *)a1, (int)a2);
	case SYS_recvmsg: return ps_recvmsg(sk, (struct msghdr *)a1, (int)a2);
	case SYS_sendmmsg: return ps_sendmmsg(sk, (struct mmsghdr *)a1, (unsigned)a2, (int)a3);
	case SYS_recvmmsg: return ps_recvmmsg(sk, (struct mmsghdr *)a1, (unsigned)a2, (int)a3, (struct timespec *)a4);
	case SYS_read: return ps_recv(sk, (void *)a1, (size_t)a2, 0, NULL, NULL);
	case SYS_write: return ps_send(sk, (const void *)a1, (size_t)a2, 0, NULL, 0);
	case SYS_setsockopt: return ps_setsockopt(sk, (int)a1, (int)a2, (const void *)a3, (socklen_t)a4);
	case SYS_getsockopt: return ps_getsockopt(sk, (int)a1, (int)a2, (void *)a3, (socklen_t *)a4);
	case SYS_getsockname: return ps_getsockname(sk, (struct sockaddr *)a1, (socklen_t *)a2);
	case SYS_getpeername: return ps_getpeername(sk, (struct sockaddr *)a1, (socklen_t *)a2);
	case SYS_shutdown: return ps_shutdown(sk, (int)a1);
	case SYS_close: {
		ps_lock();
		ps_fd_clear(fd);
		ps_unlock();
		break;   /* and the shadow fd itself below */
	}
	case SYS_fcntl:
		if ((int)a1 == F_GETFL)
			return O_RDWR | (sk->nonblock ? O_NONBLOCK : 0);
		if ((int)a1 == F_SETFL) {
			sk->nonblock = (a2 & O_NONBLOCK) != 0;
			return 0;
		}
		break;
	case SYS_ioctl: {
		int r = ps_ioctl(sk, (unsigned long)a1, (void *)a2);
		if (r != 1)
			return r;
		break;
	}
	default:
		break;
	}
	(void)a5;
	*done = 0;
	return 0;
}

static void sud_handler(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	sud_sel = SUD_ALLOW;
	ucontext_t *uc = ucv;
	greg_t *g = uc->uc_mcontext.gregs;
	if (si->si_code != SYS_USER_DISPATCH) {
		sud_sel = SUD_BLOCK;
		return;
	}
	int saved = errno;
	long nr = g[REG_RAX];
	long a0 = g[REG_RDI], a1 = g[REG_RSI], a2 = g[REG_RDX], a3 = g[REG_R10], a4 = g[REG_R8], a5 = g[REG_R9];
	int done = 0;
	long r = 0;
	if (W && ps_me)
		r = emulate(nr, a0, a1, a2, a3, a4, a5, &done);
	if (!done)
		r = ps_sud_syscall6(nr, a0, a1, a2, a3, a4, a5);
	g[REG_RAX] = ret_of(r);
	errno = saved;
	sud_sel = SUD_BLOCK;
}

void ps_resolv_enter(void)
{
	if (!W || !ps_me)
		return;
	if (sud_depth++)
		return;
	/* our own restorer, inside the trampoline, so sigreturn passes */
	struct {
		void *h;
		unsigned long flags;
		void *restorer;
		unsigned long mask;
	} k = {(void *)sud_handler, SA_SIGINFO | 0x04000000 /* SA_RESTORER */ | SA_NODEFER, (void *)ps_sud_restorer, 0};
	if (ps_sud_syscall6(SYS_rt_sigaction, SIGSYS, (long)&k, (long)&sud_old, 8, 0, 0) < 0)
		return;
	unsigned long unblock = 1ul << (SIGSYS - 1);
	ps_sud_syscall6(SYS_rt_sigprocmask, SIG_UNBLOCK, (long)&unblock, (long)&sud_oldmask, 8, 0, 0);
	sud_sel = SUD_ALLOW;
	if (ps_sud_syscall6(SYS_prctl, PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON, (long)ps_sud_begin,
			    (long)(ps_sud_end - ps_sud_begin), (long)&sud_sel, 0) < 0) {
		ps_sud_syscall6(SYS_rt_sigaction, SIGSYS, (long)&sud_old, 0, 8, 0, 0);
		ps_sud_syscall6(SYS_rt_sigprocmask, SIG_SETMASK, (long)&sud_oldmask, 0, 8, 0, 0);
		return;   /* an old kernel: the resolver goes through the kernel's stack */
	}
	sud_on = 1;
	sud_sel = SUD_BLOCK;
}

void ps_resolv_leave(void)
{
	if (!sud_depth || --sud_depth)
		return;
	sud_sel = SUD_ALLOW;
	if (!sud_on)
		return;
	sud_on = 0;
	ps_sud_syscall6(SYS_prctl, PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_OFF, 0, 0, 0, 0);
	ps_sud_syscall6(SYS_rt_sigaction, SIGSYS, (long)&sud_old, 0, 8, 0, 0);
	ps_sud_syscall6(SYS_rt_sigprocmask, SIG_SETMASK, (long)&sud_oldmask, 0, 8, 0, 0);
	(void)errno_ret;
}
