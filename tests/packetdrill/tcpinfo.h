/* Linux's struct tcp_info (linux/tcp.h) from ustack's us_tcp_info. */
#ifndef PD_TCPINFO_H
#define PD_TCPINFO_H
#include <sys/socket.h>

#include "ustack/ustack.h"

/* Fills at most *len bytes of val with Linux's layout; *len is set to what
 * was written. 0, or -EINVAL. */
int pd_linux_tcp_info(const struct us_tcp_info *in, void *val, socklen_t *len);
#endif
