#include "ustack/host.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static void set_step(struct us_tun_open_info *info, enum us_tun_step s)
{
	if (info)
		info->step = s;
}

static int setiff(int fd, const char *name, int flags, char out[IFNAMSIZ])
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	if (name)
		memcpy(ifr.ifr_name, name, strlen(name));  /* checked < IFNAMSIZ */
	ifr.ifr_flags = (short)flags;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		return -errno;
	memcpy(out, ifr.ifr_name, IFNAMSIZ);
	out[IFNAMSIZ - 1] = 0;
	return 0;
}

int us_tun_open(const char *name, int tflags, struct us_tun_open_info *info)
{
	if (info)
		memset(info, 0, sizeof(*info));
	set_step(info, US_TUN_STEP_OTHER);
	if (name && strnlen(name, IFNAMSIZ) >= IFNAMSIZ)
		return -EINVAL;
	int type = tflags & (IFF_TUN | IFF_TAP);
	if (type != IFF_TUN && type != IFF_TAP)
		return -EINVAL;
	if (name && (strchr(name, '/') || strchr(name, ' ')))
		return -EINVAL;  /* the kernel's dev_valid_name rejects these too */

	/* A name with a %d pattern, or none, always makes a new device. */
	int existed = name && name[0] && !strchr(name, '%') && if_nametoindex(name) != 0;

	set_step(info, US_TUN_STEP_OPEN);
	int fd = open(US_TUN_PATH, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;

	set_step(info, US_TUN_STEP_SETIFF);
	char got[IFNAMSIZ];
	int r, created;
	if (!existed) {
		/* Ask for a new device; if someone made it since the check,
		 * attach to theirs and say so. */
		r = setiff(fd, name, tflags | IFF_TUN_EXCL, got);
		created = 1;
		if (r == -EBUSY && name && name[0] && if_nametoindex(name) != 0) {
			r = setiff(fd, name, tflags & ~IFF_TUN_EXCL, got);
			created = 0;
		}
	} else {
		r = setiff(fd, name, tflags & ~IFF_TUN_EXCL, got);
		created = 0;
	}
	if (r < 0) {
		close(fd);
		return r;
	}
	/* O_NONBLOCK from open() already applies; make sure. */
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)) {
		r = -errno;
		set_step(info, US_TUN_STEP_OTHER);
		close(fd);
		return r;
	}
	if (info) {
		info->created = created;
		memcpy(info->name, got, IFNAMSIZ);
		info->step = US_TUN_STEP_NONE;
	}
	return fd;
}

int us_tun_set_persist(int fd, int on)
{
	if (ioctl(fd, TUNSETPERSIST, (unsigned long)(on ? 1 : 0)) < 0)
		return -errno;
	return 0;
}

const char *us_sys_strerror(const char *what, int err, char *buf, size_t len)
{
	if (!buf || !len)
		return "";
	int e = err < 0 ? -err : err;
	const char *hint = NULL;
	switch (e) {
	case EPERM:
	case EACCES:
		hint = "run as root or grant CAP_NET_ADMIN";
		break;
	case ENOENT:
	case ENODEV:
	case ENXIO:
		hint = "is the tun module loaded? try: modprobe tun";
		break;
	case EBUSY:
		hint = "the device exists and is in use, or exists when it must not";
		break;
	case EINVAL:
		hint = "bad device name (at most 15 characters), or the device exists with another type";
		break;
	}
	char ebuf[128];
	/* GNU strerror_r returns the message (maybe not in ebuf). */
	const char *msg = strerror_r(e, ebuf, sizeof(ebuf));
	if (hint)
		snprintf(buf, len, "%s: %s (%s)", what ? what : "error", msg, hint);
	else
		snprintf(buf, len, "%s: %s", what ? what : "error", msg);
	return buf;
}

const char *us_tun_strerror(int err, char *buf, size_t len)
{
	return us_sys_strerror("cannot open " US_TUN_PATH, err, buf, len);
}
