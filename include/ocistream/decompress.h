/* SPDX-License-Identifier: MIT */
/*
 * The decompressor of rootfs tars: a source of raw bytes in, the tar's own
 * bytes out, whatever the compression (told from the first bytes: gzip,
 * zstd, xz, bzip2; another one libarchive knows, such as lz4, lzip or
 * compress; or none).
 *
 * It never lets damage through as data: gzip's CRC-32 and length of every
 * member are checked, zstd's frame checksums, xz's checks and bzip2's
 * block CRCs; a member, frame or stream cut short is "truncated"; several
 * members, frames or streams in a row are read as one (pigz, pbzip2,
 * concatenated files); zero bytes after the last one (tape padding) are
 * skipped, anything else after it is "garbage after the compressed data".
 * The messages say "<codec> input ...", for the caller to prefix.
 */
#ifndef OCISTREAM_DECOMPRESS_H
#define OCISTREAM_DECOMPRESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ocistream/error.h>

struct ocis_decompress;

/* A source of raw bytes: like read(2), -1 with errno set on error. */
typedef ssize_t (*ocis_decompress_read_fn)(void *ctx, void *buf, size_t len);

int ocis_decompress_new(struct ocis_decompress **out, ocis_decompress_read_fn read_fn,
			void *read_ctx, ocis_error_t **err);
/* Up to size bytes of the tar into out: the count (size unless the input
 * ends; uncompressed input fills out whole but at its end), 0 at the end,
 * -1 on error (and on every call after one). */
ssize_t ocis_decompress_read(struct ocis_decompress *d, unsigned char *out, size_t size,
			     ocis_error_t **err);
/* Raw (compressed) bytes read from the source so far. */
uint64_t ocis_decompress_input_bytes(const struct ocis_decompress *d);
void ocis_decompress_free(struct ocis_decompress *d);

#endif
