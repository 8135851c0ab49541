/* SPDX-License-Identifier: MIT */
/*
 * SHA-256 by the CPU's SHA extensions (SHA-NI), for hash.c only.
 *
 * Why our own when OpenSSL has the same instructions: one stream through
 * them is bound by the latency of SHA256RNDS2 (each pair of rounds waits
 * for the one before), so a core can take a second, independent stream at
 * little more cost.  oci-layer has two: the tar (diff_id) and the
 * compressed layer (digest).  Hashed together, the pair runs at about
 * 2.4 GB/s on the test machine against 1.6 GB/s for one stream (OpenSSL's
 * and this one alike); docs/performance.md.
 *
 * Used only when ocis__sha256ni_usable() says the CPU has the extensions
 * (and the build is x86-64 with GCC or clang); hash.c keeps OpenSSL's EVP
 * otherwise.  Valgrind's CPU has none, so memcheck runs the EVP path.
 */
#ifndef OCIS_SHA256NI_PRIVATE_H
#define OCIS_SHA256NI_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define OCIS_SHA256NI 1
#else
#define OCIS_SHA256NI 0
#endif

#if OCIS_SHA256NI

struct ocis__sha256 {
	uint32_t h[8];
	uint64_t len;		/* bytes hashed, the buffered ones included */
	unsigned char buf[64];	/* a block not yet complete: len % 64 bytes */
};

int ocis__sha256ni_usable(void);
void ocis__sha256_init(struct ocis__sha256 *s);
void ocis__sha256_update(struct ocis__sha256 *s, const void *data, size_t len);
/* Both updates, the blocks they have in common hashed side by side. */
void ocis__sha256_update2(struct ocis__sha256 *a, const void *pa, size_t na,
			  struct ocis__sha256 *b, const void *pb, size_t nb);
void ocis__sha256_final(struct ocis__sha256 *s, unsigned char out[32]);
#endif

#endif
