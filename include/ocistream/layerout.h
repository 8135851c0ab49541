/* SPDX-License-Identifier: MIT */
/*
 * The output side of a layer, shared by oci-layer and oci-diff: the
 * uncompressed layer tar goes in, chunk entries and the closing
 * ocipipe/layer.json go out into an image stream.
 *
 *   write/zeros -> compressor (1 MiB blocks; diff_id, compression, digest
 *   on its own threads) -> 1 MiB chunk assembler ->
 *   ocis_stream_write_chunk ... ocis_stream_write_layer
 *
 * Memory: one chunk and the compressor's bounded ring; a lazy-pull layer
 * also its table of contents (ocistream/toc.h), which grows with the
 * entries.
 *
 * A pooled layer out (oci-layer --split: several layers built at once
 * from one input) is a layer of a compressor pool (blockpool.h), writes
 * its compressed bytes to a temporary file without a name, and copies
 * them into the stream as chunks at finish: the blob touches disk once.
 * A pool is never estargz: its entries make no TOC.
 */
#ifndef OCISTREAM_LAYEROUT_H
#define OCISTREAM_LAYEROUT_H

#include <stddef.h>
#include <stdint.h>

#include <ocistream/compress.h>
#include <ocistream/error.h>
#include <ocistream/layerdesc.h>
#include <ocistream/pax.h>
#include <ocistream/stream.h>

struct ocis_layer_out;

int ocis_layer_out_new(struct ocis_layer_out **out, struct ocis_stream_writer *w,
		       enum ocis_compression compression, int level, int threads,
		       ocis_error_t **err);
struct ocis_blockpool;
/* Pooled (see above): compressed by pool, the pool's compression; gzip:
 * the same bytes as ocis_layer_out_new gives (blockpool.h). */
int ocis_layer_out_new_pooled(struct ocis_layer_out **out, struct ocis_stream_writer *w,
			      struct ocis_blockpool *pool, ocis_error_t **err);
/* Append uncompressed layer tar bytes. */
int ocis_layer_out_write(struct ocis_layer_out *lo, const void *data, size_t len,
			 ocis_error_t **err);
struct ocis_blockcache_stats;
/* gzip and estargz: use the block cache in dir (blockcache.h,
 * docs/cache.md), bounded to max bytes (0: no bound) and trimmed when the
 * layer is finished; the layer's bytes are the same.  Before the first
 * write.  zstd and none, and a pooled layer (its pool has the cache):
 * does nothing. */
int ocis_layer_out_use_cache(struct ocis_layer_out *lo, const char *dir, uint64_t max,
			     ocis_error_t **err);
/* 1 and *st filled when a cache is in use, else 0. */
int ocis_layer_out_cache_stats(struct ocis_layer_out *lo, struct ocis_blockcache_stats *st);
/* An entry starts at the next byte (its header): lets gzip end a block
 * there, so that blocks follow the files (compress.h, chunker.h). */
int ocis_layer_out_entry(struct ocis_layer_out *lo, ocis_error_t **err);
/* The entry whose header was just written (pe as given to the pax
 * encoder): a lazy-pull layer (estargz) records it in its TOC, and cuts
 * a member where each chunk of its data starts.  Call it for every
 * entry, right after its header, before its data. */
int ocis_layer_out_entry_data(struct ocis_layer_out *lo, const struct ocis_pax_entry *pe,
			      ocis_error_t **err);
/* Append n zero bytes (padding, sparse holes, the end-of-archive blocks). */
int ocis_layer_out_zeros(struct ocis_layer_out *lo, uint64_t n, ocis_error_t **err);
/* Compressed bytes handed to the stream so far (readable from any thread). */
uint64_t ocis_layer_out_written(const struct ocis_layer_out *lo);
/* No more entries: the end-of-archive blocks; a pooled layer hands its
 * last block on, so that the pool compresses the ends of all layers
 * together before their finish (not estargz). */
int ocis_layer_out_end(struct ocis_layer_out *lo, ocis_error_t **err);
/* End the layer tar (two zero blocks, unless ended), flush everything and write the
 * layer descriptor with the history given (strings copied; may be NULL).
 * *desc (optional) gets a copy of the descriptor (release it). */
int ocis_layer_out_finish(struct ocis_layer_out *lo, const char *created, const char *created_by,
			  const char *comment, struct ocis_layer_desc *desc, ocis_error_t **err);
/* Free; stops the compressor's threads after an error. */
void ocis_layer_out_free(struct ocis_layer_out *lo);

#endif
