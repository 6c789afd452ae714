/* The kernel's functions: libc's definitions behind the shim's. */
#include <dlfcn.h>
#include <string.h>

#include "shim.h"

struct ps_real R;


#if defined(__has_feature)
#if __has_feature(memory_sanitizer)
#define PS_MSAN 1
#endif
#endif

void *ps_next(const char *name)
{
#ifdef PS_MSAN
	/* A MemorySanitizer build (test_preload, which interposes nothing):
	 * libc's definitions behind the executable would bypass MSan's
	 * interceptors, which live in the executable and are what mark the
	 * bytes the kernel wrote (epoll events, recvmsg data) as written.
	 * Take the interceptor where there is one. epoll_pwait2 has none in
	 * clang 14: left unset, the callers use epoll_pwait. */
	char in[64] = "__interceptor_";
	size_t nl = strlen(name);
	if (nl < sizeof(in) - 15) {
		memcpy(in + 14, name, nl + 1);
		void *m = dlsym(RTLD_DEFAULT, in);
		if (m)
			return m;
	}
	if (!strcmp(name, "epoll_pwait2"))
		return NULL;
#endif
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

