/* TUN/TAP character device: open /dev/net/tun and attach to (or create) a
 * named device with TUNSETIFF. */
#ifndef US_SYS_TUNDEV_H
#define US_SYS_TUNDEV_H
#include <net/if.h>
#include <stddef.h>

#define US_TUN_PATH "/dev/net/tun"

/* Steps of us_tun_open, for error messages. */
enum us_tun_step {
	US_TUN_STEP_NONE = 0,
	US_TUN_STEP_OPEN,      /* open("/dev/net/tun") */
	US_TUN_STEP_SETIFF,    /* ioctl(TUNSETIFF): attach/create the device */
	US_TUN_STEP_OTHER,     /* name check, fcntl, ... */
};

struct us_tun_open_info {
	int created;             /* 1: this open created the device (gone on close) */
	char name[IFNAMSIZ];     /* the device's name (the kernel's if a pattern or "" was given) */
	enum us_tun_step step;   /* where it failed, on error */
};

/* tflags (TUNSETIFF flags): IFF_TAP or IFF_TUN, usually with IFF_NO_PI; IFF_MULTI_QUEUE
 * and IFF_VNET_HDR pass straight through to the kernel. name may be NULL
 * or "" (the kernel picks "tapN"/"tunN") or a pattern like "ust%d".
 * Whether the device existed is checked (if_nametoindex) before opening,
 * and creation asks the kernel for exclusivity (IFF_TUN_EXCL) so a race
 * with another creator is reported as created = 0. Returns a non-blocking,
 * close-on-exec fd, or a negative errno (-EINVAL for a name of IFNAMSIZ
 * bytes or more); info may be NULL. */
int us_tun_open(const char *name, int tflags, struct us_tun_open_info *info);
/* TUNSETPERSIST: a persistent device outlives its fd. 0 or -errno. */
int us_tun_set_persist(int fd, int on);

/* "<what>: <strerror(-err)>" plus a hint for the usual causes, e.g.
 * "cannot open /dev/net/tun: Permission denied (run as root or grant
 * CAP_NET_ADMIN)". err is a negative (or positive) errno. Returns buf. */
const char *us_sys_strerror(const char *what, int err, char *buf, size_t len);
/* us_sys_strerror("cannot open /dev/net/tun", err, ...): the message for
 * a failed us_tun_open / us_link_tap_open / us_link_tun_open. */
const char *us_tun_strerror(int err, char *buf, size_t len);
#endif
