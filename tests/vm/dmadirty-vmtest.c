/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * dmadirty-vmtest: runs inside the test guest (linked statically) and
 * plays the agent's side of /dev/dmadirty.
 *
 *   dmadirty-vmtest ioctls          protocol errors; prints VMTAP lines
 *   dmadirty-vmtest ack GEN STATE   HELLO + ACK, prints "ack flags=N"
 *   dmadirty-vmtest status          prints the status fields
 *   dmadirty-vmtest wait-host MS    HELLO, HOST, then wait for a host
 *                                   change on poll() and on the uevent
 *                                   netlink socket; prints what came
 *   dmadirty-vmtest write-time PATH VALUE
 *                                   writes VALUE to PATH (a sysctl) and
 *                                   prints how long the write took, in ns
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/netlink.h>

#include "dmadirty_uapi.h"

#define DEV "/dev/dmadirty"

static int failures;

static void tap(int ok, const char *what, int err)
{
	if (!ok)
		failures++;
	printf("VMTAP %s - ioctls: %s%s%s\n", ok ? "ok" : "not ok", what,
	       ok ? "" : ": errno ", ok ? "" : strerror(err));
}

static void expect_errno(int ret, int want, const char *what)
{
	int err = errno;

	tap(ret < 0 && err == want, what, ret < 0 ? err : 0);
}

static int hello(int fd, unsigned int version, struct dmadirty_hello *h)
{
	memset(h, 0, sizeof(*h));
	h->version = version;
	return ioctl(fd, DMADIRTY_IOC_HELLO, h);
}

static int open_hello(void)
{
	struct dmadirty_hello h;
	int fd = open(DEV, O_RDWR);

	if (fd < 0 || hello(fd, DMADIRTY_API_VERSION, &h) < 0) {
		perror(DEV);
		exit(1);
	}
	return fd;
}

static int cmd_ioctls(void)
{
	struct dmadirty_status st;
	struct dmadirty_hello h;
	struct dmadirty_host host;
	struct dmadirty_ack ack = { 0 };
	char buf[64] = { 0 };
	int fd, fd2;

	fd = open(DEV, O_RDWR | O_NONBLOCK);
	tap(fd >= 0, "open", errno);
	if (fd < 0)
		return 1;
	fd2 = open(DEV, O_RDWR);
	expect_errno(fd2, EBUSY, "second opener gets EBUSY");
	expect_errno(ioctl(fd, DMADIRTY_IOC_STATUS, &st), EPROTO, "STATUS before HELLO gets EPROTO");
	expect_errno(read(fd, &host, sizeof(host)), EPROTO, "read before HELLO gets EPROTO");
	expect_errno(write(fd, &ack, sizeof(ack)), EPROTO, "write before HELLO gets EPROTO");
	expect_errno(ioctl(fd, _IO(DMADIRTY_IOC_MAGIC, 0x7f)), ENOTTY, "unknown ioctl gets ENOTTY");
	expect_errno(ioctl(fd, _IO('T', 1)), ENOTTY, "foreign ioctl gets ENOTTY");
	expect_errno(hello(fd, 0, &h), EINVAL, "HELLO version 0 gets EINVAL");
	tap(hello(fd, 99, &h) == 0 && h.version == DMADIRTY_API_VERSION &&
	    (h.features & DMADIRTY_FEAT_BRIDGE) && h.reserved[0] == 0,
	    "HELLO from a newer agent agrees on version 1", errno);
	expect_errno(write(fd, buf, sizeof(ack) - 1), EINVAL, "short write gets EINVAL");
	expect_errno(write(fd, buf, sizeof(ack) + 1), EINVAL, "oversized write gets EINVAL");
	expect_errno(read(fd, buf, sizeof(host) - 1), EINVAL, "short read gets EINVAL");
	expect_errno(read(fd, buf, sizeof(host) + 1), EINVAL, "oversized read gets EINVAL");
	tap(ioctl(fd, DMADIRTY_IOC_HOST, &host) == 0 && host.present == 0, "HOST without a block: not present", errno);
	expect_errno(read(fd, &host, sizeof(host)), EAGAIN, "unchanged host: non-blocking read gets EAGAIN");
	ack.generation = 3;
	ack.state = 0;
	ack.reserved = 0xffffffff;
	tap(ioctl(fd, DMADIRTY_IOC_ACK, &ack) == 0 && ack.reserved == 0 && ack.flags == 0,
	    "ACK without a block succeeds, ack \"none\"", errno);
	tap(write(fd, &ack, sizeof(ack)) == sizeof(ack), "write of one ack succeeds", errno);
	tap(ioctl(fd, DMADIRTY_IOC_STATUS, &st) == 0 && st.acked_sequence == 3 &&
	    st.source == DMADIRTY_SOURCE_MODULE, "STATUS after HELLO", errno);
	close(fd);
	fd2 = open(DEV, O_RDWR);
	tap(fd2 >= 0, "open again after close", errno);
	if (fd2 >= 0)
		close(fd2);
	return failures ? 1 : 0;
}

static int cmd_ack(unsigned int gen, unsigned int state)
{
	struct dmadirty_ack ack = { .generation = gen, .state = state };
	int fd = open_hello();

	if (ioctl(fd, DMADIRTY_IOC_ACK, &ack) < 0) {
		perror("ACK");
		return 1;
	}
	printf("ack flags=%u\n", ack.flags);
	close(fd);
	return 0;
}

static int cmd_status(void)
{
	static const char *const names[] = DMADIRTY_COUNTER_NAMES;
	struct dmadirty_status st;
	int fd = open_hello();
	int i;

	if (ioctl(fd, DMADIRTY_IOC_STATUS, &st) < 0) {
		perror("STATUS");
		return 1;
	}
	printf("status enabled=%u source=%u present=%u host_state=%u host_seq=%u acked=%u guest_state=0x%x guest_features=0x%x\n",
	       st.enabled, st.source, st.host.present, st.host.state, st.host.sequence,
	       st.acked_sequence, st.guest_state, st.guest_features);
	for (i = 0; i < DMADIRTY_NR_COUNTERS_USED; i++)
		printf("status %s=%llu\n", names[i], (unsigned long long)st.counters[i]);
	close(fd);
	return 0;
}

static int cmd_wait_host(int ms)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = 1 };
	struct dmadirty_host host;
	int got_poll = 0, got_uevent = 0;
	struct pollfd pfd[2];
	int fd, nl;

	nl = socket(AF_NETLINK, SOCK_DGRAM, NETLINK_KOBJECT_UEVENT);
	if (nl < 0 || bind(nl, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("netlink");
		return 1;
	}
	fd = open_hello();
	if (ioctl(fd, DMADIRTY_IOC_HOST, &host) < 0) {
		perror("HOST");
		return 1;
	}
	printf("initial present=%u state=%u seq=%u\n", host.present, host.state, host.sequence);
	printf("waiting\n");
	fflush(stdout);
	pfd[0].fd = fd;
	pfd[0].events = POLLIN;
	pfd[1].fd = nl;
	pfd[1].events = POLLIN;
	while (!got_poll || !got_uevent) {
		int n = poll(pfd, 2, ms);

		if (n <= 0)
			break;
		if (pfd[0].revents & POLLIN) {
			if (read(fd, &host, sizeof(host)) == sizeof(host))
				printf("poll present=%u state=%u seq=%u\n",
				       host.present, host.state, host.sequence);
			got_poll = 1;
		}
		if (pfd[1].revents & POLLIN) {
			char buf[4096];
			ssize_t len = recv(nl, buf, sizeof(buf) - 1, 0);
			char *p;

			if (len <= 0)
				continue;
			buf[len] = '\0';
			if (!strstr(buf, "dmadirty"))
				continue;
			printf("uevent");
			for (p = buf; p < buf + len; p += strlen(p) + 1)
				if (!strncmp(p, "DMADIRTY_", 9) || !strncmp(p, "ACTION=", 7))
					printf(" %s", p);
			printf("\n");
			got_uevent = 1;
		}
	}
	close(fd);
	return got_poll && got_uevent ? 0 : 1;
}

static int cmd_write_time(const char *path, const char *value)
{
	struct timespec t0, t1;
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0) {
		perror(path);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	n = write(fd, value, strlen(value));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	close(fd);
	if (n != (ssize_t)strlen(value)) {
		perror(path);
		return 1;
	}
	printf("%lld\n", (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL +
	       (t1.tv_nsec - t0.tv_nsec));
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 && !strcmp(argv[1], "ioctls"))
		return cmd_ioctls();
	if (argc == 4 && !strcmp(argv[1], "ack"))
		return cmd_ack(strtoul(argv[2], NULL, 0), strtoul(argv[3], NULL, 0));
	if (argc == 2 && !strcmp(argv[1], "status"))
		return cmd_status();
	if (argc == 3 && !strcmp(argv[1], "wait-host"))
		return cmd_wait_host(atoi(argv[2]));
	if (argc == 4 && !strcmp(argv[1], "write-time"))
		return cmd_write_time(argv[2], argv[3]);
	fprintf(stderr, "usage: %s ioctls | ack GEN STATE | status | wait-host MS | write-time PATH VALUE\n",
		argv[0]);
	return 2;
}
