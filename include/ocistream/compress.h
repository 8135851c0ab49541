/* SPDX-License-Identifier: MIT */
/*
 * The layer compressor: uncompressed layer tar in, compressed blob out, with
 * the diff_id (sha256 of the input), the digest (sha256 of the output) and
 * both sizes computed in the same single pass.
 *
 * Threads: the caller writes uncompressed bytes from one thread; hashing of
 * input, compression (gzip: fixed-size blocks compressed in parallel by
 * libdeflate, each a gzip member; zstd: libzstd workers) and hashing of
 * output run on other threads; compressed bytes reach `out` in order, from
 * one thread at a time (not necessarily the caller's).  With threads == 1
 * no thread is started (zstd keeps libzstd's one worker): all of it runs in
 * the caller's write and finish calls, and `out` is called from there.
 *
 * Bytes: the output depends only on the input (and the entry starts
 * reported), the algorithm, the level and the library version, never on the
 * thread count.  gzip blocks (one member each) end where chunker.h says, at
 * most 1 MiB; zstd and none take fixed 1 MiB blocks.  gzip members carry no
 * name, mtime 0, XFL 0, OS 3 (Unix); zstd frames carry a checksum and are
 * made with nbWorkers >= 1 (libzstd's output is the same for any count >= 1).
 */
#ifndef OCISTREAM_COMPRESS_H
#define OCISTREAM_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include <ocistream/error.h>
#include <ocistream/hash.h>

enum ocis_compression {
	OCIS_COMPRESS_NONE,
	OCIS_COMPRESS_GZIP,
	OCIS_COMPRESS_ZSTD,
	/* eStargz (docs/lazy-pull.md): gzip members cut where the layer
	 * says (ocis_compressor_mark), a TOC and a footer at the end. */
	OCIS_COMPRESS_ESTARGZ,
	/* zstd:chunked (docs/lazy-pull.md): every block one zstd frame of
	 * its own, cut where the layer says (ocis_compressor_mark); the TOC,
	 * tar-split and footer as skippable frames at the end. */
	OCIS_COMPRESS_ZCHUNKED,
};

/* Receives compressed bytes in order.  Returns 0, or -1 with *err set, which
 * makes the compressor fail. */
typedef int (*ocis_compress_out_fn)(void *ctx, const void *data, size_t len, ocis_error_t **err);

/* Uncompressed bytes per block (per gzip member; the split's pool,
 * blockpool.h, cuts the same blocks).  Changing it changes the gzip output
 * bytes.  1 MiB: see docs/compression.md for the measurements. */
#ifndef OCIS_COMPRESS_BLOCK_SIZE
#define OCIS_COMPRESS_BLOCK_SIZE (1024 * 1024)
#endif

struct ocis_compress_result {
	char diff_id[OCIS_DIGEST_STR_SIZE];	/* sha256 of the uncompressed input */
	char digest[OCIS_DIGEST_STR_SIZE];	/* sha256 of the compressed output */
	uint64_t uncompressed_size;
	uint64_t size;				/* compressed bytes */
};

struct ocis_compressor;

/* *res from a layer's two hashes (none: diff_id = digest, hin unused) and
 * its totals: every compressor's end (compress.c, blockpool.c). */
int ocis_compress_result_final(struct ocis_compress_result *res, enum ocis_compression alg,
			       struct ocis_hash *hin, struct ocis_hash *hout, uint64_t in_total,
			       uint64_t out_total, ocis_error_t **err);

/* Parse "gzip", "zstd", "none", "estargz", "zstd:chunked"; -1 when unknown. */
int ocis_compression_from_name(const char *name, enum ocis_compression *out);
const char *ocis_compression_name(enum ocis_compression c);
/* Media type suffix: "", "+gzip" (estargz too), "+zstd" (zstd:chunked too). */
const char *ocis_compression_suffix(enum ocis_compression c);
/* Default level (gzip 6, zstd 3) and valid range. */
int ocis_compression_default_level(enum ocis_compression c);
int ocis_compression_level_valid(enum ocis_compression c, int level);

/* threads <= 0 means all online CPUs; 1 means no threads (see above). */
int ocis_compressor_new(struct ocis_compressor **out, enum ocis_compression alg, int level,
			int threads, ocis_compress_out_fn fn, void *ctx, ocis_error_t **err);
/* Feed uncompressed bytes (any length). */
int ocis_compressor_write(struct ocis_compressor *c, const void *data, size_t len,
			  ocis_error_t **err);
struct ocis_blockcache;
/* gzip: take members from `cache` (blockcache.h) when it holds a block's,
 * store the others; the bytes are the same as without it.  Before the
 * first write; the cache must outlive the compressor.  1 when used, 0 for
 * zstd and none (their stream does not split into independent blocks:
 * docs/cache.md). */
int ocis_compressor_use_cache(struct ocis_compressor *c, struct ocis_blockcache *cache);
/* An entry of the layer tar starts at the next byte written: gzip may end
 * its block here (chunker.h); other algorithms ignore it.  Optional; the
 * bytes depend on the calls made, so a caller makes them the same way
 * every time. */
int ocis_compressor_entry(struct ocis_compressor *c, ocis_error_t **err);
/* Flush everything, wait until all output reached `out`, fill *res. */
int ocis_compressor_finish(struct ocis_compressor *c, struct ocis_compress_result *res,
			   ocis_error_t **err);

/*
 * Cut points, for lazy-pull layers (OCIS_COMPRESS_ESTARGZ and
 * OCIS_COMPRESS_ZCHUNKED only; -1 with EINVAL otherwise).  A mark ends the
 * current member (frame): the next byte written starts a new one.  Marks are numbered 0, 1, ... in order;
 * *id gets the number.  Where a mark lands in the output is known once
 * ocis_compressor_drain has returned: ocis_compressor_mark_offset.
 * Memory: 8 bytes a mark.
 */
int ocis_compressor_mark(struct ocis_compressor *c, uint64_t *id, ocis_error_t **err);
/* Mark, then wait until everything written so far reached `out`; *out_bytes
 * gets the compressed size so far (where the next member will start). */
int ocis_compressor_drain(struct ocis_compressor *c, uint64_t *out_bytes, ocis_error_t **err);
/* The output offset of mark id (after a drain that followed it). */
uint64_t ocis_compressor_mark_offset(const struct ocis_compressor *c, uint64_t id);
/* Like ocis_compressor_finish, for lazy-pull layers: `tail` (uncompressed
 * bytes of the layer, hashed into the diff_id; estargz only) becomes one
 * member of its own however long it is, then `raw` (already compressed bytes, such as a
 * footer) is appended as it is (in the digest and the size only). */
int ocis_compressor_finish_tail(struct ocis_compressor *c, const void *tail, size_t tail_len,
				const void *raw, size_t raw_len,
				struct ocis_compress_result *res, ocis_error_t **err);

/* Free; stops threads if finish was not called (after an error). */
void ocis_compressor_free(struct ocis_compressor *c);

#endif
