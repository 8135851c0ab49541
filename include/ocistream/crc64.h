/* SPDX-License-Identifier: MIT */
/*
 * CRC-64/ISO as Go's hash/crc64 computes it with crc64.ISO (reflected
 * polynomial 0xD800000000000000, all ones in and out): the checksum
 * tar-split keeps for every file of a zstd:chunked layer.  ISA-L's
 * carry-less-multiply version when it is built in (about 20 GB/s), a
 * sliced table otherwise (about 1.5 GB/s).
 */
#ifndef OCISTREAM_CRC64_H
#define OCISTREAM_CRC64_H

#include <stddef.h>
#include <stdint.h>

/* The CRC of everything so far and then p[0..n); start from 0. */
uint64_t ocis_crc64_iso(uint64_t crc, const void *p, size_t n);

#endif
