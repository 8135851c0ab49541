/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the libFuzzer targets: the input as a descriptor (the
 * readers under test read file descriptors, as the programs do), and a
 * check that aborts, so a broken invariant is a crash the fuzzer keeps.
 */
#ifndef OCIPIPE_FUZZ_UTIL_H
#define OCIPIPE_FUZZ_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <ocistream/error.h>

#define fuzz_check(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
		abort(); \
	} \
} while (0)

/* A memfd holding data[0..size), positioned at 0. */
static inline int
fuzz_memfd(const void *data, size_t size)
{
	const unsigned char *p = data;
	int fd = memfd_create("fuzz-input", MFD_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		abort();
	while (size > 0) {
		n = write(fd, p, size);
		if (n <= 0)
			abort();
		p += n;
		size -= (size_t)n;
	}
	if (lseek(fd, 0, SEEK_SET) != 0)
		abort();
	return fd;
}

/* A reader's error: one non-empty line; freed. */
static inline void
fuzz_check_error(ocis_error_t **err)
{
	fuzz_check(*err != NULL && (*err)->msg != NULL && (*err)->msg[0] != '\0');
	fuzz_check(strchr((*err)->msg, '\n') == NULL);
	ocis_error_free(err);
}

#endif
