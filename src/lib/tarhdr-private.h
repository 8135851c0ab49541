/* SPDX-License-Identifier: MIT */
/*
 * Tar blocks (tarhdr.c): the ustar header layout, numeric fields read
 * strictly (our own headers) or the way libarchive reads them, checksums,
 * and the one way to add a member's size to an offset (ocis__tar_span).
 */
#ifndef OCISTREAM_TARHDR_PRIVATE_H
#define OCISTREAM_TARHDR_PRIVATE_H

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
/* A numeric field and a checksum the way libarchive reads them (octal
 * up to the first other byte after blanks, or base-256; a checksum summed
 * over unsigned or signed chars): to tell a tar header, and to walk the
 * headers libarchive walked.  -1 / 0 when negative, too large or wrong. */
int ocis__tar_num_lax(const unsigned char *p, size_t width, uint64_t *out);
int ocis__tar_checksum_lax(const unsigned char *h);
/* A numeric field of a rootfs tar's entry header, read only when every
 * reader reads it alike: base-256 (two's complement, as GNU tar writes a
 * negative time) within int64, or blanks, octal digits, blanks up to the
 * first NUL or the field's end (no digit is 0).  -1 otherwise: libarchive
 * reads the digits before a stray byte and clamps what overflows, GNU tar
 * refuses both, Python's tarfile takes the header for the archive's end. */
int ocis__tar_num_strict(const unsigned char *p, size_t width, int64_t *out);
/* The first numeric field of entry header h (the entry's own, not an
 * extension header) that ocis__tar_num_strict() refuses, or a mode
 * outside the octal field's range: its name, or NULL. */
const char *ocis__tar_fields_bad(const unsigned char h[OCIS_BLOCK]);
/* 1 when the block is all zeros. */
int ocis__block_is_zero(const unsigned char *b);

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
