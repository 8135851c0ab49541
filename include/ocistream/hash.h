/* SPDX-License-Identifier: MIT */
/*
 * SHA-256, and "sha256:<64 hex>" digest strings.  On a CPU with the SHA
 * extensions by our own code (which can hash two streams at once,
 * ocis_hash_update2), otherwise over OpenSSL EVP (its AVX2 or plain
 * code, picked at run time).
 */
#ifndef OCISTREAM_HASH_H
#define OCISTREAM_HASH_H

#include <stddef.h>
#include <stdint.h>

#include <ocistream/error.h>

#define OCIS_DIGEST_LEN 32	/* bytes of a sha256 */
#define OCIS_DIGEST_HEX_LEN 64
/* "sha256:" + 64 hex + NUL */
#define OCIS_DIGEST_STR_SIZE (7 + OCIS_DIGEST_HEX_LEN + 1)

struct ocis_hash {
	void *ctx;	/* EVP_MD_CTX, or the SHA-NI state (hash.c) */
	int ni;		/* ctx is the SHA-NI state */
};

int ocis_hash_init(struct ocis_hash *h, ocis_error_t **err);
void ocis_hash_update(struct ocis_hash *h, const void *data, size_t len);
/* ocis_hash_update(a, pa, na) and ocis_hash_update(b, pb, nb), cheaper
 * than in turn with the SHA extensions: one core hashes the bytes the two
 * have in common side by side, about 1.5 x as fast (docs/performance.md). */
void ocis_hash_update2(struct ocis_hash *a, const void *pa, size_t na, struct ocis_hash *b,
		       const void *pb, size_t nb);
/* Finish and write "sha256:<hex>" into out (OCIS_DIGEST_STR_SIZE bytes).
 * The context can be reused after ocis_hash_reset. */
int ocis_hash_final(struct ocis_hash *h, char out[OCIS_DIGEST_STR_SIZE], ocis_error_t **err);
/* The same, as the 32 bytes of the digest. */
int ocis_hash_final_raw(struct ocis_hash *h, unsigned char out[OCIS_DIGEST_LEN],
			ocis_error_t **err);
int ocis_hash_reset(struct ocis_hash *h, ocis_error_t **err);
/* dst (initialised) takes src's state: the digest of what src has seen so
 * far can go on in dst while src is finished. */
int ocis_hash_copy(struct ocis_hash *dst, const struct ocis_hash *src, ocis_error_t **err);
void ocis_hash_release(struct ocis_hash *h);

/* "sha256:<hex>" of the 32 bytes md into out. */
void ocis_digest_format(const unsigned char md[OCIS_DIGEST_LEN], char out[OCIS_DIGEST_STR_SIZE]);
/* One-shot digest of a buffer. */
int ocis_hash_buffer(const void *data, size_t len, char out[OCIS_DIGEST_STR_SIZE], ocis_error_t **err);
/* The same, as the 32 bytes of the digest. */
int ocis_hash_buffer_raw(const void *data, size_t len, unsigned char out[OCIS_DIGEST_LEN],
			 ocis_error_t **err);

/* 1 when s is "sha256:" followed by exactly 64 lowercase hex digits. */
int ocis_digest_valid(const char *s);

#endif
