/* SPDX-License-Identifier: MIT */
/* Private helpers shared by library modules; never included by the programs. */
#ifndef OCISTREAM_INTERNAL_H
#define OCISTREAM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#define OCIS_BLOCK 512

/* ustar header field offsets and sizes (POSIX.1-1988 / pax). */
#define TH_NAME 0		/* 100 */
#define TH_MODE 100		/* 8 */
#define TH_UID 108		/* 8 */
#define TH_GID 116		/* 8 */
#define TH_SIZE 124		/* 12 */
#define TH_MTIME 136		/* 12 */
#define TH_CHKSUM 148		/* 8 */
#define TH_TYPE 156		/* 1 */
#define TH_LINKNAME 157		/* 100 */
#define TH_MAGIC 257		/* 6 */
#define TH_VERSION 263		/* 2 */
#define TH_UNAME 265		/* 32 */
#define TH_GNAME 297		/* 32 */
#define TH_DEVMAJOR 329		/* 8 */
#define TH_DEVMINOR 337		/* 8 */
#define TH_PREFIX 345		/* 155 */

/* Write v as zero-padded octal filling width-1 digits plus a NUL.  Returns
 * 0, or -1 when v does not fit (the field is then left untouched). */
int ocis__tar_octal(unsigned char *field, size_t width, uint64_t v);
/* Write v in the GNU base-256 form (for sizes and ids that do not fit). */
void ocis__tar_base256(unsigned char *field, size_t width, uint64_t v);
/* Parse an octal (or base-256) numeric field; -1 when malformed. */
int ocis__tar_parse_num(const unsigned char *field, size_t width, uint64_t *out);
/* The largest member size a tar may give: what GNU tar, bsdtar and an
 * off_t hold.  A base-256 size field holds up to 2^88; above this bound
 * a size is refused before anything is added to it. */
#define OCIS_TAR_SIZE_MAX ((uint64_t)INT64_MAX)
/* The size field of header h: 0, -1 when malformed, -2 when it is over
 * OCIS_TAR_SIZE_MAX (*size is set then, for the message). */
int ocis__tar_size(const unsigned char *h, uint64_t *size);
/* Fill in "ustar\0" "00" and the checksum of a header block. */
void ocis__tar_finish_header(unsigned char h[OCIS_BLOCK]);
/* 1 when the stored checksum matches. */
int ocis__tar_checksum_ok(const unsigned char h[OCIS_BLOCK]);
/* 1 when the block is all zeros. */
int ocis__block_is_zero(const unsigned char *b);

/* --- layerdesc.c --- */
/* Bytes of a blob's start that tell its compression. */
#define OCIS_MAGIC_LEN 6
/* Why a layer blob that starts with b[0..n) (n < OCIS_MAGIC_LEN only for
 * a shorter blob) cannot be of media_type (gzip data for a zstd type, a
 * compressed blob for the uncompressed type...), in buf; NULL when it
 * can. */
const char *ocis__layer_data_mismatch(const char *media_type, const unsigned char *b, size_t n,
				      char *buf, size_t size);

/* --- layout.c --- */
struct ocis_error;
/* 0 when data (an oci-layout file, of what) is a layout version this
 * writer and reader know (1.x.y); -1 with a one-line message otherwise. */
int ocis__layout_version_check(const void *data, size_t len, const char *what,
			       struct ocis_error **err);

/* --- pathtab.c --- */
/* SipHash-2-4 of data under key (k0, k1 read as little-endian words). */
uint64_t ocis__siphash24(const uint64_t key[2], const void *data, size_t n);
/* Test hook: when set (before a table is made), every component hashes
 * alike, so every lookup runs into collisions that only the exact compare
 * tells apart.  Unit tests only. */
extern int ocis__pathtab_const_hash;

/* --- util.c --- */
struct ocis_error;
/* A name as it may be shown in a one-line message: control characters
 * become '?', other bytes are kept; truncated to fit buf.  Returns buf. */
const char *ocis__shown(const char *name, char *buf, size_t size);
/* *dst = copy of src, or NULL when src is NULL.  0, or -1 (out of memory). */
int ocis__strdup_opt(char **dst, const char *src, struct ocis_error **err);
/* Make room for need elements of size bytes in *v (capacity *cap). */
int ocis__grow(void **v, size_t *cap, size_t need, size_t size, struct ocis_error **err);
/* Sorting "key=value" (or "key") strings by key, stable: fill s, klen
 * (key length) and idx (original position), qsort with ocis__kv_cmp; equal
 * keys stay in input order, so "the last one wins" is the last of a run. */
struct ocis__kv_item {
	const char *s;
	size_t klen;
	size_t idx;
};
int ocis__kv_cmp(const void *a, const void *b);
/* An array whose elements start with a digest string ("sha256:<hex>"),
 * indexed by it: a hash table of positions (slots hold index + 1, 0 is
 * free; n_slots a power of two), zero-initialised, free(slots) to drop.
 * Linear lookups made hostile inputs with many blobs quadratic. */
struct ocis__digest_index {
	size_t *slots;
	size_t n_slots;
};
/* The element of base (stride bytes each) with this digest, or NULL. */
const void *ocis__dix_find(const struct ocis__digest_index *x, const void *base, size_t stride,
			   const char *digest);
/* Index element k of base (0..k-1 are indexed already; base may have
 * moved); of elements with the same digest the last one is found. */
int ocis__dix_add(struct ocis__digest_index *x, const void *base, size_t stride, size_t k,
		  struct ocis_error **err);
/* Overwrite a secret string (password, token, Authorization header)
 * before freeing it; NULL is fine. */
void ocis__free_secret(char *s);
/* Format a warning and pass it to warn(ctx, msg) when warn is set. */
void ocis__warnf(void (*warn)(void *ctx, const char *msg), void *ctx, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static inline uint64_t
ocis__pad512(uint64_t n)
{
	return (OCIS_BLOCK - (n % OCIS_BLOCK)) % OCIS_BLOCK;
}

/* What a member of this size takes after its header: its data rounded up
 * to whole blocks.  Every reader adds sizes through this, never
 * size + padding by hand: a size over OCIS_TAR_SIZE_MAX (which the
 * readers refuse first) gives UINT64_MAX, never a small number that
 * wrapped around (2^64-1 + 1 is 0). */
static inline uint64_t
ocis__tar_span(uint64_t size)
{
	return size > OCIS_TAR_SIZE_MAX ? UINT64_MAX : size + ocis__pad512(size);
}

#endif
