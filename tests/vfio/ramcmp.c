// SPDX-License-Identifier: GPL-2.0-only
/*
 * ramcmp: compares two guest RAM files page by page (run in L1 by the
 * nested VFIO test, on the paused source's and destination's RAM of L2).
 *
 *   ramcmp A B
 *
 * Prints "RAMCMP pages N differ D first PFN..." (up to 16 page frame
 * numbers, in hex).  Exit status 0, or 2 when a file cannot be read or
 * the sizes differ.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGE 4096

static const unsigned char *map(const char *path, size_t *len)
{
	struct stat st;
	void *p;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st)) {
		fprintf(stderr, "ramcmp: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	*len = (size_t)st.st_size;
	p = mmap(NULL, *len, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		fprintf(stderr, "ramcmp: mmap %s: %s\n", path, strerror(errno));
		return NULL;
	}
	return p;
}

int main(int argc, char **argv)
{
	const unsigned char *a, *b;
	size_t la, lb, off, differ = 0;
	char first[16 * 20] = "";

	if (argc != 3) {
		fprintf(stderr, "usage: ramcmp A B\n");
		return 2;
	}
	a = map(argv[1], &la);
	b = map(argv[2], &lb);
	if (!a || !b)
		return 2;
	if (la != lb) {
		fprintf(stderr, "ramcmp: sizes differ (%zu, %zu)\n", la, lb);
		return 2;
	}
	for (off = 0; off + PAGE <= la; off += PAGE) {
		if (!memcmp(a + off, b + off, PAGE))
			continue;
		if (differ++ < 16)
			snprintf(first + strlen(first), sizeof(first) - strlen(first),
				 " %zx", off / PAGE);
	}
	printf("RAMCMP pages %zu differ %zu first%s\n", la / PAGE, differ, first);
	return 0;
}
