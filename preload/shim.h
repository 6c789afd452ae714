/* libustack-preload: the internals of the LD_PRELOAD socket layer.
 *
 * One ustack stack serves a whole family of processes (the program and
 * every child it forks). Its state, and everything below that more than
 * one process must see, lives in one shared anonymous mapping (the arena,
 * preload/shm.c) made before the first fork, so it sits at the same address
 * in every process of the family; the stack's own allocations are sent
 * there too (the library's objects are linked into the shim with malloc and
 * friends renamed to the arena's, preload/preload.mk). One process-shared
 * robust mutex (the world lock) guards the stack and all of it.
 *
 *   world       the stack, the lock, the process records, the driver
 *   proc        one per live process: its fd table (fd -> object)
 *   obj         what an fd stands for: a ustack socket or an epoll instance
 *   reg         an epoll registration (epoll, socket, events, data)
 *   waiter      a thread blocked on a socket (poll, select, recv, accept...)
 *
 * Every IP socket is a ustack socket with a real kernel fd as its number
 * (an unconnected AF_UNIX datagram socket, the "shadow"): the number is the
 * kernel's, so it never collides with files the program opens, select's
 * fd_sets and dup2 work, and a call that escapes the shim fails loudly on
 * the shadow instead of touching the kernel's IP stack.
 *
 * Readiness: a stack callback per socket (us_sock_set_callback) runs in the
 * driver under the lock; it queues epoll registrations on their instance's
 * ready list and wakes whoever waits. Wake objects are AF_UNIX datagram
 * sockets bound to abstract names (one per waiting thread, one per epoll
 * instance: the "bell", itself registered in the kernel epoll), so a driver
 * in one process can wake a thread in another.
 *
 * The driver: each process of the family has a thread that blocks on the
 * driver mutex (process-shared, robust); the one holding it runs the stack
 * (device fds, timers). When that process exits or dies, another takes it.
 */
#ifndef US_PRELOAD_SHIM_H
#define US_PRELOAD_SHIM_H
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "ustack/ustack.h"

/* ---- the arena (shm.c) ---------------------------------------------------- */

/* Maps the arena (once per family). 0 or -errno. */
int ps_arena_init(size_t reserve);
void *ps_arena_base(void);
void *us_shm_malloc(size_t n);
void *us_shm_calloc(size_t n, size_t m);
void *us_shm_realloc(void *p, size_t n);
void us_shm_free(void *p);
/* Bytes handed out and the high-water mark of the arena (for the stats). */
void ps_arena_usage(uint64_t *in_use, uint64_t *mapped);

/* ---- objects -------------------------------------------------------------- */

enum { PS_SOCK = 1, PS_EPOLL = 2 };

struct ps_reg;
struct ps_waiter;

struct ps_obj {
	int kind;
	int refs;                 /* fd-table entries in every process, plus pins */
};

struct ps_sock {
	struct ps_obj o;
	int sid;                  /* the ustack socket */
	int domain, type, proto;  /* type without SOCK_NONBLOCK / SOCK_CLOEXEC */
	int nonblock;             /* O_NONBLOCK: a file status flag, shared by dups */
	int listening;
	int connecting;            /* a non-blocking connect said EINPROGRESS */
	int64_t rcvtimeo_ns, sndtimeo_ns;    /* 0: none */
	/* options Linux accepts that ustack does not act on: kept for getsockopt */
	int broadcast, oobinline, priority, rcvlowat, tos, recverr, mtu_disc, cork, quickack, defer_accept;
	int tclass, recverr6, mtu_disc6, recvpktinfo6;   /* IPPROTO_IPV6 ones */
	int keepidle_set;
	unsigned events_seen;     /* readiness at the last callback (ET edges) */
	struct ps_reg *regs;      /* epoll registrations (sk_next) */
	struct ps_waiter *waiters;
};

struct ps_epoll {
	struct ps_obj o;
	int kfd;                  /* the kernel epoll instance (same number in every process) */
	int bell_wid, bell_fd;    /* wake object registered in kfd */
	int bell_armed;           /* a wake was sent and not yet drained */
	struct ps_reg *regs;      /* every registration (ep_next) */
	struct ps_reg *rdy_head, *rdy_tail;
};

struct ps_reg {
	struct ps_epoll *ep;
	struct ps_sock *sk;
	int fd;
	uint32_t events;          /* EPOLLIN... | EPOLLET | EPOLLONESHOT ... */
	uint64_t data;
	uint8_t on_ready, disabled;
	struct ps_reg *sk_next, *ep_next, *rdy_next;
};

struct ps_wctx {
	int wid;
	int fired;
};

struct ps_waiter {
	struct ps_sock *sk;
	unsigned events;          /* US_POLL* of interest (ERR|HUP always) */
	struct ps_wctx *ctx;
	struct ps_waiter *next;
};

/* ---- processes and fd tables ------------------------------------------------ */

#define PS_FD_CHUNK 1024
#define PS_FD_CHUNKS 1024     /* fds below 1,048,576 */

struct ps_fd {
	struct ps_obj *obj;       /* NULL: a kernel fd */
	uint8_t cloexec;
};

enum { PROC_FREE = 0, PROC_LIVE, PROC_PENDING };

struct ps_proc {
	int state;
	pid_t pid;
	uint64_t born_ns;
	struct ps_fd *chunks[PS_FD_CHUNKS];
	struct ps_proc *next;
};

/* ---- the world ------------------------------------------------------------- */

struct ps_conf {
	unsigned linger_ms;       /* how long the last process waits for its FINs */
	unsigned busy_poll_us;
	int verbose;
	char stats_path[256];
	int pcap;
};

struct ps_world {
	uint64_t magic;
	pthread_mutex_t lock;
	pthread_mutex_t driver_mx;
	struct us_stack *st;
	int ifindex;
	char devname[16];
	char runid[32];           /* prefix of the abstract names of wake objects */
	int next_wid;
	int64_t driver_wake_at;   /* ns the driver sleeps until; INT64_MAX forever */
	int driver_wid;           /* -1: no driver */
	int driver_kicked;        /* a kick was sent since the driver last woke */
	pid_t driver_pid;
	struct ps_proc *procs;
	int shutting_down;
	struct ps_conf conf;
	/* counters of the shim */
	uint64_t n_wakes, n_wakes_driver, n_lock, n_calls;
};

extern struct ps_world *W;    /* NULL until the stack is up (or in a unit test) */
extern struct ps_proc *ps_me; /* this process's record */

void ps_lock(void);
void ps_unlock(void);
int ps_lock_init(pthread_mutex_t *m);

/* ---- the kernel's functions (interpose.c resolves them) -------------------- */

struct ps_real {
	int (*socket)(int, int, int);
	int (*socketpair)(int, int, int, int *);
	int (*close)(int);
	int (*dup)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*fcntl)(int, int, ...);
	int (*ioctl)(int, unsigned long, ...);
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*write)(int, const void *, size_t);
	ssize_t (*readv)(int, const struct iovec *, int);
	ssize_t (*writev)(int, const struct iovec *, int);
	int (*poll)(struct pollfd *, nfds_t, int);
	int (*ppoll)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *);
	int (*epoll_create1)(int);
	int (*epoll_ctl)(int, int, int, struct epoll_event *);
	int (*epoll_pwait)(int, struct epoll_event *, int, int, const sigset_t *);
	int (*epoll_pwait2)(int, struct epoll_event *, int, const struct timespec *, const sigset_t *);
	int (*bind)(int, const struct sockaddr *, socklen_t);
	int (*connect)(int, const struct sockaddr *, socklen_t);
	int (*listen)(int, int);
	int (*accept4)(int, struct sockaddr *, socklen_t *, int);
	int (*shutdown)(int, int);
	int (*getsockopt)(int, int, int, void *, socklen_t *);
	int (*setsockopt)(int, int, int, const void *, socklen_t);
	int (*getsockname)(int, struct sockaddr *, socklen_t *);
	int (*getpeername)(int, struct sockaddr *, socklen_t *);
	ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
	ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
	ssize_t (*sendmsg)(int, const struct msghdr *, int);
	ssize_t (*recvmsg)(int, struct msghdr *, int);
	int (*sendmmsg)(int, struct mmsghdr *, unsigned, int);
	int (*recvmmsg)(int, struct mmsghdr *, unsigned, int, struct timespec *);
	ssize_t (*sendfile)(int, int, off_t *, size_t);
	ssize_t (*pread)(int, void *, size_t, off_t);
	int (*sigaction)(int, const struct sigaction *, struct sigaction *);
	int (*execve)(const char *, char *const[], char *const[]);
	void (*exit_)(int);
};
extern struct ps_real R;
void ps_real_init(void);
void *ps_next(const char *name);   /* the next definition of name after the shim */

/* ---- core.c: world, tables, objects, wake objects, driver ------------------ */

/* Brings up the world on an existing stack (the shim's constructor, unit
 * tests). driver: start the driver thread. */
int ps_world_init(struct us_stack *st, int ifindex, const struct ps_conf *conf, int driver);
/* The last process's exit: close everything, linger, stats, free the stack. */
void ps_world_shutdown(void);
/* This process leaves the family (exit, _exit, exec): its fds are dropped. */
void ps_proc_exit(int quick);
int ps_sole_process(void);
/* Put the shim's SIGTERM/SIGINT/SIGHUP handler (close, then die by it) on SIG. */
void ps_term_install(int sig);
/* The environment for a program this process execs: envp with the stack
 * handed over (ustack run's own LD_PRELOAD and configuration) when this is
 * the family's only process, else envp itself. Call before ps_proc_exit. */
char **ps_exec_env(const char *path, char *const envp[]);
/* The first call into the shim in a process (after fork): starts its driver
 * candidate thread. Cheap after the first time. */
void ps_proc_ready(void);
/* Drop the references of processes that died without telling (the driver
 * calls it every second). */
void ps_reap_dead(void);
/* fork handlers */
void ps_fork_prepare(void);
void ps_fork_parent(void);
void ps_fork_child(void);

/* fd table (this process) */
struct ps_obj *ps_fd_peek(int fd);               /* lock-free: NULL = kernel fd */
struct ps_fd *ps_fd_slot(struct ps_proc *p, int fd, int create);
/* Under the lock: set fd's entry (takes a reference), or clear it (drops it). */
int ps_fd_set(int fd, struct ps_obj *o, int cloexec);
void ps_fd_clear(int fd);
void ps_obj_unref(struct ps_obj *o);             /* under the lock; may destroy */
/* fd numbers the shim uses for itself (device, wake objects): the program
 * cannot close them. */
void ps_internal_fd(int fd, int on);
int ps_is_internal_fd(int fd);

/* wake objects */
int ps_wake_new(int *fd);                       /* returns a wid; fd to wait on */
void ps_wake_send(int wid);
void ps_wake_drain(int fd);
/* This thread's wake object, made on first use. */
int ps_thread_wake(int *fd);
/* Tell the driver to look again (deadline moved, loopback traffic). */
void ps_kick_driver(void);
/* After a call changed the stack: kick the driver if it must run sooner. */
void ps_after_call(void);

/* sockets: the callback and waiters */
void ps_sock_cb(struct us_stack *st, int s, unsigned events, void *arg);
struct ps_sock *ps_sock_new(int sid, int domain, int type, int proto);
void ps_sock_notify(struct ps_sock *sk);        /* run the callback's work now */
unsigned ps_sock_events(struct ps_sock *sk);    /* US_POLL* now */

/* Blocks (lock held on entry and return) until one of the sockets has one
 * of its events, a kernel pollfd is ready, the deadline (CLOCK_MONOTONIC
 * ns, -1 none) passes or a signal arrives. Returns 1 (something may be
 * ready), 0 (deadline) or -EINTR. */
int ps_block(struct ps_sock **sks, const unsigned *evs, int n, struct pollfd *kfds, int nk, int64_t deadline,
	     const sigset_t *mask);
int64_t ps_now(void);

/* ---- sock.c: the socket calls (return -errno) ------------------------------- */

int ps_socket(int domain, int type, int proto);
int ps_bind(struct ps_sock *sk, const struct sockaddr *a, socklen_t len);
int ps_listen(struct ps_sock *sk, int backlog);
int ps_accept(struct ps_sock *sk, struct sockaddr *a, socklen_t *len, int flags);
int ps_connect(struct ps_sock *sk, const struct sockaddr *a, socklen_t len);
ssize_t ps_send(struct ps_sock *sk, const void *buf, size_t len, int flags, const struct sockaddr *to, socklen_t tolen);
ssize_t ps_recv(struct ps_sock *sk, void *buf, size_t len, int flags, struct sockaddr *from, socklen_t *fromlen);
ssize_t ps_sendmsg(struct ps_sock *sk, const struct msghdr *m, int flags);
ssize_t ps_recvmsg(struct ps_sock *sk, struct msghdr *m, int flags);
ssize_t ps_readv(struct ps_sock *sk, const struct iovec *iov, int n);
ssize_t ps_writev(struct ps_sock *sk, const struct iovec *iov, int n);
int ps_sendmmsg(struct ps_sock *sk, struct mmsghdr *v, unsigned n, int flags);
int ps_recvmmsg(struct ps_sock *sk, struct mmsghdr *v, unsigned n, int flags, struct timespec *tmo);
ssize_t ps_sendfile(struct ps_sock *sk, int in_fd, off_t *off, size_t count);
int ps_shutdown(struct ps_sock *sk, int how);
int ps_getsockopt(struct ps_sock *sk, int level, int name, void *val, socklen_t *len);
int ps_setsockopt(struct ps_sock *sk, int level, int name, const void *val, socklen_t len);
int ps_getsockname(struct ps_sock *sk, struct sockaddr *a, socklen_t *len);
int ps_getpeername(struct ps_sock *sk, struct sockaddr *a, socklen_t *len);
int ps_ioctl(struct ps_sock *sk, unsigned long req, void *arg);

/* ---- poll.c: readiness across both worlds ----------------------------------- */

int ps_poll(struct pollfd *fds, nfds_t n, int64_t deadline, const sigset_t *mask);
int ps_select(int nfds, fd_set *r, fd_set *w, fd_set *e, int64_t deadline, const sigset_t *mask);
int ps_epoll_create(int flags);
int ps_epoll_ctl(struct ps_epoll *ep, int op, int fd, struct epoll_event *ev);
int ps_epoll_wait(struct ps_epoll *ep, struct epoll_event *evs, int max, int64_t deadline, const sigset_t *mask);
/* A socket's readiness changed: queue its registrations (lock held). */
void ps_epoll_sock_changed(struct ps_sock *sk, unsigned ev);
void ps_epoll_sock_gone(struct ps_sock *sk);
void ps_epoll_destroy(struct ps_epoll *ep);
/* US_POLL* to and from POLL* and EPOLL* (the same bits on Linux; kept explicit) */
unsigned ps_events_to_us(unsigned ev);
unsigned ps_events_from_us(unsigned ev);

/* ---- resolv.c: glibc's resolver through the shim ---------------------------- */

void ps_resolv_enter(void);
void ps_resolv_leave(void);

#define PS_MAGIC 0x75737461636b7077ull   /* "ustackpw" */
#define PS_NS_PER_MS 1000000ll
#endif
