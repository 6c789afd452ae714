/* rtnetlink (NETLINK_ROUTE) without shelling out to ip(8): look up and
 * configure links, IPv4 addresses and routes in the caller's network
 * namespace.
 *
 * Every call opens its own netlink socket, sends one request with a fresh
 * sequence number and NLM_F_ACK, and waits (bounded by US_NL_TIMEOUT_MS)
 * for the kernel's answer. Returns 0 (or a value >= 0) on success, or a
 * negative errno: the kernel's own error from its ACK (-EEXIST, -ENODEV,
 * -EPERM, ...), -EINVAL for a bad argument (name empty or longer than
 * IFNAMSIZ-1, prefix out of range), -ETIMEDOUT if the kernel never
 * answered, -EBADMSG for a malformed reply. */
#ifndef US_SYS_NETLINK_H
#define US_SYS_NETLINK_H
#include <netinet/in.h>
#include <stdint.h>

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
#endif
