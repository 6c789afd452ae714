/* ustack host set-up: the calls a program uses to make and configure the
 * kernel's side of a ustack device (TUN/TAP devices, their addresses and
 * routes), with no ip(8) and no shell. They act in the caller's network
 * namespace and need CAP_NET_ADMIN.
 *
 * rtnetlink (NETLINK_ROUTE): look up and configure links, IPv4 addresses
 * and routes.
 * Every call opens its own netlink socket, sends one request with a fresh
 * sequence number and NLM_F_ACK, and waits (bounded by US_NL_TIMEOUT_MS)
 * for the kernel's answer. Returns 0 (or a value >= 0) on success, or a
 * negative errno: the kernel's own error from its ACK (-EEXIST, -ENODEV,
 * -EPERM, ...), -EINVAL for a bad argument (name empty or longer than
 * IFNAMSIZ-1, prefix out of range), -ETIMEDOUT if the kernel never
 * answered, -EBADMSG for a malformed reply.
 *
 * The TUN/TAP character device: open /dev/net/tun and attach to (or
 * create) a named device with TUNSETIFF. */
#ifndef USTACK_HOST_H
#define USTACK_HOST_H
#include <net/if.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

#define US_NL_TIMEOUT_MS 2000

/* ifindex (>= 1) of the named link. */
int us_nl_link_index(const char *name);
int us_nl_link_set_up(const char *name, int up);
int us_nl_link_set_mtu(const char *name, uint32_t mtu);
/* The transmit queue length (packets the kernel holds for the device). */
int us_nl_link_set_txqlen(const char *name, uint32_t qlen);
int us_nl_link_set_mac(const char *name, const uint8_t mac[6]);
/* -ENODATA if the link has no 6-byte hardware address (TUN, lo...). */
int us_nl_link_get_mac(const char *name, uint8_t mac_out[6]);
/* The MTU (> 0). */
int us_nl_link_get_mtu(const char *name);
/* The link's IFF_* flags (IFF_UP, IFF_RUNNING, ...) as a non-negative int. */
int us_nl_link_get_flags(const char *name);
/* Adds addr/prefix_len (0..32) to the link (fails with -EEXIST if present). */
int us_nl_addr_add(const char *name, struct in_addr addr, int prefix_len);
/* The same for an IPv6 address (0..128), without duplicate address detection. */
int us_nl_addr6_add(const char *name, const struct in6_addr *addr, int prefix_len);
/* dst/prefix_len in the main table; gw.s_addr == 0: on-link (scope link). */
int us_nl_route_add(struct in_addr dst, int prefix_len, struct in_addr gw, const char *name);
/* The same for IPv6 (0..128): dst NULL or :: with 0 is the default route,
 * gw NULL or ::: on-link (a device then needed). */
int us_nl_route6_add(const struct in6_addr *dst, int prefix_len, const struct in6_addr *gw, const char *name);
int us_nl_link_delete(const char *name);

/* Dumps (NLM_F_DUMP), for checking what the kernel holds. Each fills at
 * most max entries and returns how many matched (may exceed max). */
struct us_nl_addr4 {
	struct in_addr addr;
	int prefix_len;
	int ifindex;
};
/* IPv4 addresses of the named link. */
int us_nl_addr_list(const char *name, struct us_nl_addr4 *out, int max);

struct us_nl_route4 {
	struct in_addr dst;   /* 0.0.0.0 with prefix_len 0: the default route */
	int prefix_len;
	struct in_addr gw;    /* 0: on-link */
	int oif;              /* output ifindex, 0 if none */
	int scope;            /* RT_SCOPE_* */
};
/* Unicast IPv4 routes of the main table. */
int us_nl_route_list(struct us_nl_route4 *out, int max);

struct us_nl_addr6 {
	struct in6_addr addr;
	int prefix_len;
	int ifindex;
	unsigned flags;       /* IFA_F_* (tentative, nodad, permanent, ...) */
};
/* IPv6 addresses of the named link, link-local ones included. */
int us_nl_addr6_list(const char *name, struct us_nl_addr6 *out, int max);

struct us_nl_route6 {
	struct in6_addr dst;  /* :: with prefix_len 0: the default route */
	int prefix_len;
	struct in6_addr gw;   /* ::: on-link */
	int oif;              /* output ifindex, 0 if none */
};
/* Unicast IPv6 routes of the main table. */
int us_nl_route6_list(struct us_nl_route6 *out, int max);

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

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
