/* LD_PRELOADed into packetdrill when it runs the plug-in (run.sh). Two
 * gaps in packetdrill's plug-in mode, filled from outside it:
 *
 * - A script's Python code blocks (%{ assert tcpi_snd_cwnd == 10 }%) get
 *   their data from getsockopt(TCP_INFO) on the socket's descriptor, which
 *   packetdrill calls directly, not through the plug-in's table. This
 *   getsockopt asks the plug-in first (it registers itself with
 *   pd_preload_register when it loads); descriptors that are not the
 *   plug-in's go to libc's.
 * - packetdrill opens the plug-in with RTLD_DEEPBIND, which AddressSanitizer
 *   refuses (google/sanitizers#611), so the sanitizer build of the plug-in
 *   could not load. dlopen here drops the flag: the plug-in exports only
 *   packetdrill_interface_init and packetdrill exports nothing, so symbols
 *   bind the same without it. (For the sanitizer build, libasan comes
 *   right after this library in LD_PRELOAD.) */
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <sys/socket.h>

#define EXPORT __attribute__((visibility("default")))

/* Returns -ENOTSOCK-like "not mine" as PD_NOT_MINE, else a getsockopt result. */
#define PD_NOT_MINE (-1000)
typedef int (*pd_getsockopt_hook)(void *ud, int fd, int level, int name, void *val, socklen_t *len);

static pd_getsockopt_hook hook;
static void *hook_ud;

EXPORT void pd_preload_register(pd_getsockopt_hook fn, void *ud)
{
	hook = fn;
	hook_ud = ud;
}

EXPORT int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	static int (*next)(int, int, int, void *, socklen_t *);
	if (hook) {
		int rc = hook(hook_ud, fd, level, name, val, len);
		if (rc != PD_NOT_MINE)
			return rc;
	}
	if (!next)
		next = (int (*)(int, int, int, void *, socklen_t *))dlsym(RTLD_NEXT, "getsockopt");
	if (!next) {
		errno = ENOSYS;
		return -1;
	}
	return next(fd, level, name, val, len);
}

EXPORT void *dlopen(const char *file, int mode)
{
	static void *(*next)(const char *, int);
	if (!next)
		next = (void *(*)(const char *, int))dlsym(RTLD_NEXT, "dlopen");
	return next ? next(file, mode & ~RTLD_DEEPBIND) : NULL;
}
