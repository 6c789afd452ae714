/* The kernel's functions: libc's definitions behind the shim's. */
#include <dlfcn.h>

#include "shim.h"

struct ps_real R;


void *ps_next(const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);
	if (!f)
		f = dlsym(RTLD_DEFAULT, name);
	return f;
}

void ps_real_init(void)
{
	if (R.socket)
		return;
#define GET(n) R.n = (__typeof__(R.n))ps_next(#n)
	GET(socketpair);
	GET(close);
	GET(dup);
	GET(dup2);
	GET(dup3);
	GET(fcntl);
	GET(ioctl);
	GET(read);
	GET(write);
	GET(readv);
	GET(writev);
	GET(poll);
	GET(ppoll);
	GET(epoll_create1);
	GET(epoll_ctl);
	GET(epoll_pwait);
	GET(epoll_pwait2);
	GET(bind);
	GET(connect);
	GET(listen);
	GET(accept4);
	GET(shutdown);
	GET(getsockopt);
	GET(setsockopt);
	GET(getsockname);
	GET(getpeername);
	GET(sendto);
	GET(recvfrom);
	GET(sendmsg);
	GET(recvmsg);
	GET(sendmmsg);
	GET(recvmmsg);
	GET(sendfile);
	GET(pread);
	GET(sigaction);
	GET(execve);
	R.exit_ = (void (*)(int))ps_next("_exit");
	__atomic_store_n(&R.socket, (__typeof__(R.socket))ps_next("socket"), __ATOMIC_RELEASE);
#undef GET
}

