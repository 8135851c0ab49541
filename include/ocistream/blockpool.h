/* SPDX-License-Identifier: MIT */
/*
 * The compressor pool of package-split layers (oci-layer --split,
 * docs/split.md): many layers built at once from one input share one set
 * of workers, so that an open layer costs its pending block, not a whole
 * compressor.
 *
 * A pool layer holds only its pending block (at most
 * OCIS_COMPRESS_BLOCK_SIZE, cut by the chunker as the single-layer
 * compressor cuts it: call ocis_blockpool_entry where an entry starts),
 * its chunker, its two hashes (diff_id, digest) and its totals.  A full
 * block goes to the pool's ring of blocks in flight (a bounded number:
 * the caller waits while it is full); any worker compresses it with its
 * own codec state, and one writer hashes the blocks and hands each layer
 * its output, through the layer's out function, in the layer's order.
 *
 * Bytes, never dependent on the thread count:
 * - gzip: each block one gzip member (gzmember.h), the block cache used
 *   when given: a layer's blob is what ocis_compressor gives for the same
 *   bytes and entry starts (the single layer of the same entries);
 * - zstd: each block one checksummed zstd frame of its own (a single
 *   layer is one frame: other bytes, a little larger; docs/compression.md);
 * - none: the bytes (in fixed 256 KiB blocks: no chunker to run).
 *
 * Threads: threads == 1 starts none (each block is compressed and written
 * on the caller's thread when it is cut); otherwise `threads` workers and
 * a writer.  Every call but the out functions comes from one caller
 * thread.  A failure anywhere fails every later call of every layer.
 */
#ifndef OCISTREAM_BLOCKPOOL_H
#define OCISTREAM_BLOCKPOOL_H

#include <stddef.h>
#include <stdint.h>

#include <ocistream/compress.h>
#include <ocistream/error.h>

struct ocis_blockpool;
struct ocis_blockpool_layer;
struct ocis_blockcache_stats;

/* alg: gzip, zstd or none (estargz: EINVAL).  threads <= 0: all online
 * CPUs. */
int ocis_blockpool_new(struct ocis_blockpool **out, enum ocis_compression alg, int level,
		       int threads, ocis_error_t **err);
enum ocis_compression ocis_blockpool_compression(const struct ocis_blockpool *p);
/* gzip: the block cache in dir (docs/cache.md), bounded to max bytes
 * (0: no bound), shared by every layer; before the first layer.  zstd
 * and none: does nothing. */
int ocis_blockpool_use_cache(struct ocis_blockpool *p, const char *dir, uint64_t max,
			     ocis_error_t **err);
/* 1 and *st filled when a cache is in use, else 0. */
int ocis_blockpool_cache_stats(struct ocis_blockpool *p, struct ocis_blockcache_stats *st);
/* Trim the cache to its bound (best effort; nothing without a cache). */
void ocis_blockpool_trim_cache(struct ocis_blockpool *p);
/* Free; every layer must be freed first. */
void ocis_blockpool_free(struct ocis_blockpool *p);

/* A new layer; fn gets its compressed bytes in order. */
int ocis_blockpool_layer_new(struct ocis_blockpool *p, struct ocis_blockpool_layer **out,
			     ocis_compress_out_fn fn, void *ctx, ocis_error_t **err);
/* Append uncompressed bytes. */
int ocis_blockpool_write(struct ocis_blockpool_layer *l, const void *data, size_t len,
			 ocis_error_t **err);
/* An entry starts at the next byte (chunker.h). */
int ocis_blockpool_entry(struct ocis_blockpool_layer *l, ocis_error_t **err);
/* No more bytes: the last block is handed on, without waiting for it (so
 * that the last blocks of every layer are compressed together). */
int ocis_blockpool_end(struct ocis_blockpool_layer *l, ocis_error_t **err);
/* End (if not yet), wait until every block of the layer went to fn, and
 * fill *res. */
int ocis_blockpool_finish(struct ocis_blockpool_layer *l, struct ocis_compress_result *res,
			  ocis_error_t **err);
/* Free a layer; with blocks of it still in flight (after an error), the
 * pool's threads are stopped first and the pool fails. */
void ocis_blockpool_layer_free(struct ocis_blockpool_layer *l);

#endif
