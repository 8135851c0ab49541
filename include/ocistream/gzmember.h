/* SPDX-License-Identifier: MIT */
/*
 * One block of the layer as one complete gzip member (RFC 1952), the unit
 * the compressor (compress.c) cuts a gzip layer into.
 *
 * Bytes: a member depends only on the block's bytes, the level and the
 * deflate library that serves the level (ocis_gzmember_codec), never on the
 * thread or on earlier blocks.  Header fixed: no name, mtime 0, XFL 0, OS 3.
 *
 * Levels: 1 is deflated by ISA-L (its level 2) when ocipipe was built with
 * it (configure --with-isal, the default when libisal is found), 2..12 by
 * libdeflate (docs/compression.md, "ISA-L for level 1", has the crossover).
 *
 * A state is per thread: ocis_gzmember_compress on one state is not
 * re-entrant; different states run in parallel.
 */
#ifndef OCISTREAM_GZMEMBER_H
#define OCISTREAM_GZMEMBER_H

#include <stddef.h>

#include <ocistream/error.h>

struct ocis_gzmember;

int ocis_gzmember_new(struct ocis_gzmember **out, int level, ocis_error_t **err);
/* Largest member a block of in_len bytes can become (header and trailer
 * included). */
size_t ocis_gzmember_bound(size_t in_len);
/* Compress in_len bytes into out (out_cap >= ocis_gzmember_bound(in_len));
 * *out_len gets the member's size. */
int ocis_gzmember_compress(struct ocis_gzmember *g, const void *in, size_t in_len,
			   void *out, size_t out_cap, size_t *out_len, ocis_error_t **err);
/* 1 when member[0 .. len) is exactly one gzip member with ocipipe's
 * header that inflates to block[0 .. block_len) (a block cache entry is
 * used only then); 0 otherwise. */
int ocis_gzmember_matches(struct ocis_gzmember *g, const void *member, size_t len,
			  const void *block, size_t block_len);
struct ocis_blockcache;
/* ocis_gzmember_compress, or the member the block cache (blockcache.h;
 * NULL: none) holds for this block when it inflates to the block; a member
 * compressed here is stored.  The bytes are the same either way.  One copy
 * of the rule for every compressor of gzip members (compress.c,
 * blockpool.c). */
int ocis_gzmember_block(struct ocis_gzmember *g, struct ocis_blockcache *cache, const void *in,
			size_t in_len, void *out, size_t out_cap, size_t *out_len,
			ocis_error_t **err);
/* What decides a member's bytes besides the block: the deflate library, its
 * version and its own level for gzip `level` ("libdeflate 1.14 6",
 * "isa-l 2.30.0 2"), into buf (64 bytes are plenty), for cache keys. */
void ocis_gzmember_codec(int level, char *buf, size_t size);
void ocis_gzmember_free(struct ocis_gzmember *g);

#endif
