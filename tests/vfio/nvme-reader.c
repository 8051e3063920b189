// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvme-reader: the workload of the nested VFIO test (tests/vfio), run in
 * the innermost guest (L2) on the NVMe that L1 assigned to it.
 *
 *   nvme-reader DEV NBUF BUFKB
 *
 * Allocates NBUF buffers of BUFKB KiB, locked in RAM, fills them once with
 * a poison pattern, then reads the disk into them with O_DIRECT, round
 * after round, until a read fails (the device was unplugged).  Round r
 * reads slot (i + r * NBUF) mod nslots of the disk into buffer i, so every
 * round brings every buffer other data, and nothing but the device writes
 * a buffer after the poison: a device write that the migration misses
 * leaves the buffer as it was when it was last sent (an older round's
 * data), and it cannot be hidden by a later CPU write.  The CPU records
 * each completed read (slot, round) in a table of its own, which the
 * migration carries like any CPU write.
 *
 * The disk (made by vfio.py) holds in each 512-byte sector the magic
 * "DMADVFIO", the sector number and words derived from it, so the data of
 * any slot is known without reading the disk again.
 *
 * Commands on stdin (the serial console), one a line:
 *   mark     prints "READER mark READS": reads completed so far
 *   verify   (after the stop) checks every buffer against the slot its
 *            last completed read named, prints one line per buffer that is
 *            not intact and a summary, and exits
 *
 * Console lines: "READER running", "READER round R reads N" every few
 * rounds, "READER stopped READS ERRNO", "READER bad ..." per bad buffer,
 * "READER verify buffers N written W intact I stale S torn T reads R".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/fs.h>

#define SECTOR 512
#define PAGE 4096
#define MAGIC "DMADVFIO"

struct buf {
	unsigned char *data;
	int64_t slot;		/* of the last completed read; -1: none */
	uint64_t round;
};

static uint64_t sector_word(uint64_t sector, unsigned int i)
{
	/* the same function as vfio.py's disk_sector() */
	return (sector + 1) * 0x9E3779B97F4A7C15ull ^ ((uint64_t)i << 32 | i);
}

static void sector_data(uint64_t sector, unsigned char *out)
{
	uint64_t w;
	unsigned int i;

	memcpy(out, MAGIC, 8);
	memcpy(out + 8, &sector, 8);
	for (i = 2; i < SECTOR / 8; i++) {
		w = sector_word(sector, i);
		memcpy(out + 8 * i, &w, 8);
	}
}

/* The slot whose data a page holds, -1 if it is none (poison, garbage). */
static int64_t page_slot(const unsigned char *page, size_t bufsz)
{
	unsigned char want[SECTOR];
	uint64_t sector;
	unsigned int s;

	if (memcmp(page, MAGIC, 8))
		return -1;
	memcpy(&sector, page + 8, 8);
	for (s = 0; s < PAGE / SECTOR; s++) {
		sector_data(sector + s, want);
		if (memcmp(page + s * SECTOR, want, SECTOR))
			return -1;
	}
	return (int64_t)(sector * SECTOR / bufsz);
}

static int line_ready(void)
{
	struct pollfd p = { .fd = 0, .events = POLLIN };

	return poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

static int read_command(char *cmd, size_t len)
{
	size_t n;

	if (!fgets(cmd, (int)len, stdin))
		return -1;
	n = strcspn(cmd, "\r\n");
	cmd[n] = 0;
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long long dev_bytes;
	uint64_t reads = 0, round, nslots;
	size_t nbuf, bufsz, i, p;
	struct buf *bufs;
	char cmd[64];
	int fd, err = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: nvme-reader DEV NBUF BUFKB\n");
		return 2;
	}
	nbuf = strtoul(argv[2], NULL, 0);
	bufsz = strtoul(argv[3], NULL, 0) * 1024;
	if (!nbuf || !bufsz || bufsz % PAGE) {
		fprintf(stderr, "nvme-reader: bad NBUF or BUFKB\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY | O_DIRECT);
	if (fd < 0 || ioctl(fd, BLKGETSIZE64, &dev_bytes)) {
		fprintf(stderr, "nvme-reader: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	nslots = dev_bytes / bufsz;
	if (nslots < 2 * nbuf) {
		fprintf(stderr, "nvme-reader: %s holds %" PRIu64 " slots, needs %zu\n",
			argv[1], nslots, 2 * nbuf);
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	bufs = calloc(nbuf, sizeof(*bufs));
	if (!bufs || mlockall(MCL_CURRENT | MCL_FUTURE)) {
		fprintf(stderr, "nvme-reader: %s\n", strerror(errno));
		return 1;
	}
	for (i = 0; i < nbuf; i++) {
		if (posix_memalign((void **)&bufs[i].data, PAGE, bufsz)) {
			fprintf(stderr, "nvme-reader: out of memory\n");
			return 1;
		}
		/* poison: "POISON" and the buffer's index, never the magic */
		for (p = 0; p < bufsz; p += 8) {
			uint64_t w = 0x4e4f5349 ^ (uint64_t)i << 32;

			memcpy(bufs[i].data + p, &w, 8);
		}
		bufs[i].slot = -1;
	}
	printf("READER running %zu buffers of %zu KiB, %" PRIu64 " slots\n",
	       nbuf, bufsz / 1024, nslots);
	for (round = 0; !err; round++) {
		for (i = 0; i < nbuf; i++) {
			uint64_t slot = (i + round * nbuf) % nslots;
			ssize_t n = pread(fd, bufs[i].data, bufsz, (off_t)(slot * bufsz));

			if (n != (ssize_t)bufsz) {
				err = n < 0 ? errno : EIO;
				break;
			}
			bufs[i].slot = (int64_t)slot;
			bufs[i].round = round;
			reads++;
			if (line_ready()) {
				if (read_command(cmd, sizeof(cmd)))
					break;
				if (!strcmp(cmd, "mark"))
					printf("READER mark %" PRIu64 "\n", reads);
			}
		}
		if (round % 8 == 0)
			printf("READER round %" PRIu64 " reads %" PRIu64 "\n", round, reads);
	}
	printf("READER stopped %" PRIu64 " %d\n", reads, err);
	close(fd);

	while (!read_command(cmd, sizeof(cmd))) {
		size_t written = 0, intact = 0, stale = 0, torn = 0;

		if (!strcmp(cmd, "mark")) {
			printf("READER mark %" PRIu64 "\n", reads);
			continue;
		}
		if (strcmp(cmd, "verify"))
			continue;
		for (i = 0; i < nbuf; i++) {
			size_t good = 0, pages = bufsz / PAGE;
			int64_t first = -2;

			if (bufs[i].slot < 0)
				continue;
			written++;
			for (p = 0; p < pages; p++) {
				unsigned char *page = bufs[i].data + p * PAGE;
				int64_t s = page_slot(page, bufsz);
				uint64_t sector;

				/* the right slot, and its right page */
				memcpy(&sector, page + 8, 8);
				if (s == bufs[i].slot && sector * SECTOR % bufsz == p * PAGE)
					good++;
				if (first == -2)
					first = s;
			}
			if (good == pages) {
				intact++;
				continue;
			}
			if (good)
				torn++;
			else
				stale++;
			printf("READER bad %zu slot %" PRId64 " round %" PRIu64
			       " pages %zu/%zu current, first page holds slot %" PRId64 "\n",
			       i, bufs[i].slot, bufs[i].round, good, pages, first);
		}
		printf("READER verify buffers %zu written %zu intact %zu stale %zu torn %zu reads %" PRIu64 "\n",
		       nbuf, written, intact, stale, torn, reads);
		return 0;
	}
	return 1;
}
