/* SPDX-License-Identifier: MIT */
/*
 * What layerdesc.c tells other modules of a layer blob: whether its first
 * bytes can be of its media type.
 */
#ifndef OCISTREAM_LAYERDESC_PRIVATE_H
#define OCISTREAM_LAYERDESC_PRIVATE_H

#include <stddef.h>

/* Bytes of a blob's start that tell its compression. */
#define OCIS_MAGIC_LEN 6
/* Why a layer blob that starts with b[0..n) (n < OCIS_MAGIC_LEN only for
 * a shorter blob) cannot be of media_type (gzip data for a zstd type, a
 * compressed blob for the uncompressed type...), in buf; NULL when it
 * can. */
const char *ocis__layer_data_mismatch(const char *media_type, const unsigned char *b, size_t n,
				      char *buf, size_t size);

#endif
