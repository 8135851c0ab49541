/* SPDX-License-Identifier: MIT */
/*
 * The block cache (docs/cache.md): compressed blocks kept in a directory
 * under a key that covers everything that decides their bytes, so that a
 * rebuild copies the blocks it has seen before instead of compressing them
 * again, and the layer is byte for byte the one a build without the cache
 * writes.
 *
 * Key: XXH3-128 of the uncompressed block, seeded with a hash of the
 * format version and the codec (library, version, level:
 * ocis_gzmember_codec).  File: DIR/ocipipe-blocks-1/<2 hex>/<32 hex of
 * the key>, holding
 *
 *	"OCISBC2\n"  key (16)  payload length (8, LE)  XXH3-128(payload) (16)
 *	payload
 *
 * Trust: an entry is used only when the file is whole (its size is the
 * header's), the stored key is the key asked for (a foreign entry copied or
 * renamed under another name fails) and the payload's checksum is the
 * stored one (a torn or flipped entry fails).  Neither is a defence
 * against someone who writes DIR: both are public functions, a sha256
 * would be no better, and what makes a forged entry harmless is the
 * caller's check that the payload inflates to the very block (below).
 * Anything else is a miss: the block is compressed again and the
 * entry replaced.  Writers write a temporary file in DIR and rename it into
 * place, so a reader sees an old whole entry or a new whole one, and a
 * kill -9 leaves at most a temporary file, never under an entry's name.
 * No fsync: a torn entry after a power cut fails the checks like any other.
 * What the payload means (a gzip member of that block) is the caller's to
 * check (compress.c inflates it).
 *
 * Threads: get and put may run on many threads at once, and many processes
 * may share DIR.  Errors of get and put never fail a build (a read-only or
 * full cache costs only speed); they are counted in the stats.
 */
#ifndef OCISTREAM_BLOCKCACHE_H
#define OCISTREAM_BLOCKCACHE_H

#include <stddef.h>
#include <stdint.h>

#include <ocistream/error.h>

/* The default bound of a cache directory (--cache-max). */
#define OCIS_BLOCKCACHE_DEFAULT_MAX ((uint64_t)2 << 30)
#define OCIS_BLOCKCACHE_KEY_LEN 16

struct ocis_blockcache;

struct ocis_blockcache_stats {
	uint64_t hits;		/* blocks copied from the cache */
	uint64_t misses;	/* no entry */
	uint64_t rejected;	/* an entry failed a check (or the caller's) */
	uint64_t stored;	/* entries written */
	uint64_t store_failed;	/* entries that could not be written */
	uint64_t trimmed;	/* entries removed by trim */
};

/* DIR is created when missing.  codec names what decides the payload
 * besides the block (the key covers it).  max: bytes kept by trim (0: no
 * bound). */
int ocis_blockcache_open(struct ocis_blockcache **out, const char *dir, const char *codec,
			 uint64_t max, ocis_error_t **err);
/* The key of an uncompressed block. */
void ocis_blockcache_key(const struct ocis_blockcache *bc, const void *block, size_t len,
			 unsigned char key[OCIS_BLOCKCACHE_KEY_LEN]);
/* 1: the entry's payload (checked as above) is in out[0 .. *len); 0: none
 * to trust (absent, larger than cap, or failing a check). */
int ocis_blockcache_get(struct ocis_blockcache *bc, const unsigned char key[OCIS_BLOCKCACHE_KEY_LEN],
			void *out, size_t cap, size_t *len);
/* The caller found the payload get gave wrong: counted, and the entry is
 * replaced by the next put. */
void ocis_blockcache_reject(struct ocis_blockcache *bc);
/* Store a payload under key (best effort). */
void ocis_blockcache_put(struct ocis_blockcache *bc, const unsigned char key[OCIS_BLOCKCACHE_KEY_LEN],
			 const void *data, size_t len);
/* Remove the least recently used entries (mtime, set on every use) until
 * the directory holds at most max bytes, temporary files of writers
 * killed more than an hour ago, and entries of format 1. */
int ocis_blockcache_trim(struct ocis_blockcache *bc, ocis_error_t **err);
void ocis_blockcache_stats(struct ocis_blockcache *bc, struct ocis_blockcache_stats *st);
void ocis_blockcache_close(struct ocis_blockcache *bc);

#endif
