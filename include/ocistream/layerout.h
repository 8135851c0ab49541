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
 * Memory: one chunk and the compressor's bounded ring.
 *
 * A spooled layer out (oci-layer --split: several layers built at once
 * from one input) has a compressor without threads of its own, writes
 * its compressed bytes to a temporary file without a name, and copies
 * them into the stream as chunks at finish: the blob touches disk once.
 */
#ifndef OCISTREAM_LAYEROUT_H
#define OCISTREAM_LAYEROUT_H

#include <stddef.h>
#include <stdint.h>

#include <ocistream/compress.h>
#include <ocistream/error.h>
#include <ocistream/layerdesc.h>
#include <ocistream/stream.h>

struct ocis_layer_out;

int ocis_layer_out_new(struct ocis_layer_out **out, struct ocis_stream_writer *w,
		       enum ocis_compression compression, int level, int threads,
		       ocis_error_t **err);
/* Spooled (see above): the same bytes as ocis_layer_out_new gives, for any
 * thread count; the compressor's work runs in write and finish. */
int ocis_layer_out_new_spooled(struct ocis_layer_out **out, struct ocis_stream_writer *w,
			       enum ocis_compression compression, int level,
			       ocis_error_t **err);
/* Append uncompressed layer tar bytes. */
int ocis_layer_out_write(struct ocis_layer_out *lo, const void *data, size_t len,
			 ocis_error_t **err);
struct ocis_blockcache_stats;
/* gzip: use the block cache in dir (blockcache.h, docs/cache.md), bounded
 * to max bytes (0: no bound) and trimmed when the layer is finished; the
 * layer's bytes are the same.  Before the first write.  zstd and none:
 * does nothing. */
int ocis_layer_out_use_cache(struct ocis_layer_out *lo, const char *dir, uint64_t max,
			     ocis_error_t **err);
/* 1 and *st filled when a cache is in use, else 0. */
int ocis_layer_out_cache_stats(struct ocis_layer_out *lo, struct ocis_blockcache_stats *st);
/* An entry starts at the next byte (its header): lets gzip end a block
 * there, so that blocks follow the files (compress.h, chunker.h). */
int ocis_layer_out_entry(struct ocis_layer_out *lo, ocis_error_t **err);
/* Append n zero bytes (padding, sparse holes, the end-of-archive blocks). */
int ocis_layer_out_zeros(struct ocis_layer_out *lo, uint64_t n, ocis_error_t **err);
/* Compressed bytes handed to the stream so far (readable from any thread). */
uint64_t ocis_layer_out_written(const struct ocis_layer_out *lo);
/* End the layer tar (two zero blocks), flush everything and write the
 * layer descriptor with the history given (strings copied; may be NULL).
 * *desc (optional) gets a copy of the descriptor (release it). */
int ocis_layer_out_finish(struct ocis_layer_out *lo, const char *created, const char *created_by,
			  const char *comment, struct ocis_layer_desc *desc, ocis_error_t **err);
/* Free; stops the compressor's threads after an error. */
void ocis_layer_out_free(struct ocis_layer_out *lo);

#endif
