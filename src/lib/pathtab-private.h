/* SPDX-License-Identifier: MIT */
/*
 * pathtab.c's keyed hash and its test hook, for the unit tests.
 */
#ifndef OCISTREAM_PATHTAB_PRIVATE_H
#define OCISTREAM_PATHTAB_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

/* SipHash-2-4 of data under key (k0, k1 read as little-endian words). */
uint64_t ocis__siphash24(const uint64_t key[2], const void *data, size_t n);
/* Test hook: when set (before a table is made), every component hashes
 * alike, so every lookup runs into collisions that only the exact compare
 * tells apart.  Unit tests only. */
extern int ocis__pathtab_const_hash;

#endif
