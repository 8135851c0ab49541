/* SPDX-License-Identifier: MIT */
/* The output side of a layer: see ocistream/layerout.h. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ocistream/blockcache.h>
#include <ocistream/blockpool.h>
#include <ocistream/estargz.h>
#include <ocistream/gzmember.h>
#include <ocistream/io.h>
#include <ocistream/layerdesc.h>
#include <ocistream/layerout.h>
#include <ocistream/toc.h>
#include <ocistream/zchunked.h>

#include "internal.h"
#include "tarhdr-private.h"

#define ZEROS_SIZE (256 * 1024)

struct ocis_layer_out {
	struct ocis_stream_writer *w;
	enum ocis_compression compression;
	struct ocis_compressor *comp;	/* its own compressor, or */
	struct ocis_blockpool_layer *pl;	/* a layer of a pool (--split), spooled */
	int ended;		/* the end-of-archive blocks are in */
	int level;
	struct ocis_blockcache *cache;	/* --cache, or NULL */
	unsigned char *chunk;	/* compressed bytes gathered into a chunk (pooled:
				 * allocated at finish) */
	size_t chunk_len;
	uint64_t written;	/* compressed bytes, updated by the writer thread */
	unsigned char *zeros;	/* ZEROS_SIZE zero bytes, on the first use */
	struct ocis_toc *toc;	/* lazy-pull layers (estargz, zstd:chunked) only */
	struct ocis_zchunked *zc;	/* zstd:chunked: the tar-split */
	int spool_fd;		/* spooled: the compressed bytes until finish, else -1 */
};

/* Compressor output (on the compressor's writer thread): cut into chunks. */
static int
on_compressed(void *ctx, const void *data, size_t len, ocis_error_t **err)
{
	struct ocis_layer_out *lo = ctx;
	const unsigned char *p = data;

	__atomic_fetch_add(&lo->written, len, __ATOMIC_RELAXED);
	if (lo->spool_fd >= 0)
		return ocis_write_full(lo->spool_fd, data, len, err);
	while (len > 0) {
		size_t n = OCIS_CHUNK_MAX - lo->chunk_len;
		if (n > len)
			n = len;
		memcpy(lo->chunk + lo->chunk_len, p, n);
		lo->chunk_len += n;
		p += n;
		len -= n;
		if (lo->chunk_len == OCIS_CHUNK_MAX) {
			if (ocis_stream_write_chunk(lo->w, lo->chunk, lo->chunk_len, err) < 0)
				return -1;
			lo->chunk_len = 0;
		}
	}
	return 0;
}

int
ocis_layer_out_new(struct ocis_layer_out **out, struct ocis_stream_writer *w,
		   enum ocis_compression compression, int level, int threads, ocis_error_t **err)
{
	struct ocis_layer_out *lo = calloc(1, sizeof(*lo));

	if (lo == NULL)
		return ocis_error_oom(err);
	lo->w = w;
	lo->spool_fd = -1;
	lo->compression = compression;
	lo->level = level;
	lo->chunk = malloc(OCIS_CHUNK_MAX);
	if (lo->chunk == NULL) {
		ocis_layer_out_free(lo);
		return ocis_error_oom(err);
	}
	if (ocis_compressor_new(&lo->comp, compression, level, threads, on_compressed, lo,
				err) < 0) {
		ocis_layer_out_free(lo);
		return -1;
	}
	if (compression == OCIS_COMPRESS_ESTARGZ || compression == OCIS_COMPRESS_ZCHUNKED) {
		int zc = compression == OCIS_COMPRESS_ZCHUNKED;

		/* zstd:chunked's chunks are content-defined (toc.h) */
		lo->toc = malloc(sizeof(*lo->toc));
		if (lo->toc == NULL ||
		    ocis_toc_init(lo->toc, zc ? 0 : OCIS_TOC_CHUNK_SIZE, err) < 0) {
			if (lo->toc == NULL)
				ocis_error_oom(err);
			free(lo->toc);
			lo->toc = NULL;
			ocis_layer_out_free(lo);
			return -1;
		}
		if (zc && ocis_zchunked_new(&lo->zc, level, err) < 0) {
			ocis_layer_out_free(lo);
			return -1;
		}
	}
	*out = lo;
	return 0;
}

/* Only what the layer must hold while the others are built: the pool
 * layer and the spool (docs/split.md, "Costs"). */
int
ocis_layer_out_new_pooled(struct ocis_layer_out **out, struct ocis_stream_writer *w,
			  struct ocis_blockpool *pool, ocis_error_t **err)
{
	struct ocis_layer_out *lo = calloc(1, sizeof(*lo));

	if (lo == NULL)
		return ocis_error_oom(err);
	lo->w = w;
	lo->compression = ocis_blockpool_compression(pool);
	if ((lo->spool_fd = ocis_tmpfile(err)) < 0) {
		free(lo);
		return ocis_error_wrap(err, "spooling a layer");
	}
	if (ocis_blockpool_layer_new(pool, &lo->pl, on_compressed, lo, err) < 0) {
		ocis_layer_out_free(lo);
		return -1;
	}
	*out = lo;
	return 0;
}

/* A spooled layer's compressed bytes, from the start, into chunks. */
static int
copy_spool(struct ocis_layer_out *lo, ocis_error_t **err)
{
	ssize_t n;

	if (lo->chunk == NULL && (lo->chunk = malloc(OCIS_CHUNK_MAX)) == NULL)
		return ocis_error_oom(err);
	if (lseek(lo->spool_fd, 0, SEEK_SET) < 0)
		return ocis_error_set(err, errno, "rewinding a layer spool");
	while ((n = ocis_read_full(lo->spool_fd, lo->chunk, OCIS_CHUNK_MAX, err)) > 0)
		if (ocis_stream_write_chunk(lo->w, lo->chunk, (size_t)n, err) < 0)
			return -1;
	return n < 0 ? ocis_error_wrap(err, "reading a layer spool") : 0;
}

/* A lazy-pull layer's file data: each chunk starts a member (frame); in
 * zstd:chunked the data ends one too, and goes into the tar-split's CRC.
 * The bytes written are those the TOC gives, which are not always those
 * at p (toc.h: runs of zeros); returns how many of p it used. */
static int
write_file_data(struct ocis_layer_out *lo, const unsigned char *p, size_t n,
		ocis_error_t **err)
{
	struct ocis_toc_span s;
	uint64_t mark;

	if (ocis_toc_chunk_due(lo->toc) &&
	    (ocis_compressor_mark(lo->comp, &mark, err) < 0 ||
	     ocis_toc_begin_chunk(lo->toc, mark, err) < 0))
		return -1;
	ocis_toc_span(lo->toc, p, n, &s);
	if (ocis_toc_data(lo->toc, s.data, s.len, err) < 0 ||
	    (lo->zc && ocis_zchunked_data(lo->zc, s.data, s.len, err) < 0) ||
	    ocis_compressor_write(lo->comp, s.data, s.len, err) < 0)
		return -1;
	if (lo->zc && ocis_toc_data_left(lo->toc) == 0) {
		if (ocis_compressor_mark(lo->comp, &mark, err) < 0)
			return -1;
		ocis_toc_end_data(lo->toc, mark);
	}
	return (int)s.used;
}

static int
comp_write(struct ocis_layer_out *lo, const void *data, size_t len, ocis_error_t **err)
{
	if (lo->pl != NULL)
		return ocis_blockpool_write(lo->pl, data, len, err);
	return ocis_compressor_write(lo->comp, data, len, err);
}

/* Straight into the compressor, which copies into its 1 MiB blocks anyway:
 * gathering small writes here first would copy every header and small file
 * twice on the thread that also parses the input tar. */
int
ocis_layer_out_write(struct ocis_layer_out *lo, const void *data, size_t len, ocis_error_t **err)
{
	const unsigned char *p = data;

	while (lo->toc != NULL && ocis_toc_wants(lo->toc, len)) {
		int n = write_file_data(lo, p, len > INT_MAX ? INT_MAX : len, err);

		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	if (len == 0)
		return 0;
	/* headers, padding, the end of the archive: tar-split's segments */
	if (lo->zc && ocis_zchunked_meta(lo->zc, p, len, err) < 0)
		return -1;
	return comp_write(lo, p, len, err);
}

int
ocis_layer_out_entry_data(struct ocis_layer_out *lo, const struct ocis_pax_entry *pe,
			  ocis_error_t **err)
{
	if (lo->toc == NULL)
		return 0;
	if (ocis_toc_add_entry(lo->toc, pe, err) < 0)
		return -1;
	return lo->zc ? ocis_zchunked_entry(lo->zc, pe, err) : 0;
}

/* A lazy-pull layer's end: the TOC entry and the end-of-archive blocks as
 * one member, then the footer (docs/lazy-pull.md).  Annotations into d. */
static int
finish_estargz(struct ocis_layer_out *lo, struct ocis_compress_result *res,
	       struct ocis_layer_desc *d, ocis_error_t **err)
{
	unsigned char footer[OCIS_ESTARGZ_FOOTER_SIZE];
	char toc_digest[OCIS_DIGEST_STR_SIZE], usize[32];
	struct ocis_buf tail = OCIS_BUF_INIT;
	uint64_t toc_offset;
	int r = -1;

	if (ocis_toc_data_left(lo->toc) > 0)
		return ocis_error_set(err, EINVAL, "internal: layer ends inside a file's data");
	if (ocis_compressor_drain(lo->comp, &toc_offset, err) < 0 ||
	    ocis_estargz_tail(lo->toc, lo->comp, &tail, toc_digest, err) < 0)
		goto out;
	ocis_estargz_footer(toc_offset, footer);
	if (ocis_compressor_finish_tail(lo->comp, tail.data, tail.len, footer, sizeof(footer),
					res, err) < 0)
		goto out;
	snprintf(usize, sizeof(usize), "%" PRIu64, res->uncompressed_size);
	if (ocis_layer_desc_annotate(d, OCIS_ESTARGZ_TOC_DIGEST_ANNOTATION, toc_digest, err) < 0 ||
	    ocis_layer_desc_annotate(d, OCIS_ESTARGZ_USIZE_ANNOTATION, usize, err) < 0)
		goto out;
	r = 0;
out:
	ocis_buf_release(&tail);
	return r;
}

/* zstd:chunked's end: the end of the archive in a frame of its own, then
 * the manifest, the tar-split and the footer as skippable frames
 * (docs/lazy-pull.md).  Annotations into d. */
static int
finish_zchunked(struct ocis_layer_out *lo, struct ocis_compress_result *res,
		struct ocis_layer_desc *d, ocis_error_t **err)
{
	struct ocis_buf raw = OCIS_BUF_INIT;
	uint64_t offset;
	int r = -1;

	if (ocis_layer_out_zeros(lo, 2 * OCIS_BLOCK, err) < 0 ||
	    ocis_compressor_drain(lo->comp, &offset, err) < 0 ||
	    ocis_zchunked_tail(lo->zc, lo->toc, lo->comp, offset, &raw, d, err) < 0 ||
	    ocis_compressor_finish_tail(lo->comp, NULL, 0, raw.data, raw.len, res, err) < 0)
		goto out;
	r = 0;
out:
	ocis_buf_release(&raw);
	return r;
}

int
ocis_layer_out_use_cache(struct ocis_layer_out *lo, const char *dir, uint64_t max,
			 ocis_error_t **err)
{
	char codec[64];

	/* estargz is gzip members too: blocks keyed as usual (docs/cache.md) */
	if ((lo->compression != OCIS_COMPRESS_GZIP && lo->compression != OCIS_COMPRESS_ESTARGZ) ||
	    lo->cache != NULL || lo->pl != NULL)
		return 0;
	ocis_gzmember_codec(lo->level, codec, sizeof(codec));
	if (ocis_blockcache_open(&lo->cache, dir, codec, max, err) < 0)
		return ocis_error_wrap(err, "block cache");
	if (!ocis_compressor_use_cache(lo->comp, lo->cache))
		return ocis_error_set(err, EINVAL, "block cache: set after the first write");
	return 0;
}

int
ocis_layer_out_cache_stats(struct ocis_layer_out *lo, struct ocis_blockcache_stats *st)
{
	if (lo->cache == NULL)
		return 0;
	ocis_blockcache_stats(lo->cache, st);
	return 1;
}

int
ocis_layer_out_entry(struct ocis_layer_out *lo, ocis_error_t **err)
{
	if (lo->pl != NULL)
		return ocis_blockpool_entry(lo->pl, err);
	return ocis_compressor_entry(lo->comp, err);
}

int
ocis_layer_out_zeros(struct ocis_layer_out *lo, uint64_t n, ocis_error_t **err)
{
	if (n > 0 && lo->zeros == NULL && (lo->zeros = calloc(1, ZEROS_SIZE)) == NULL)
		return ocis_error_oom(err);
	while (n > 0) {
		size_t k = n > ZEROS_SIZE ? ZEROS_SIZE : (size_t)n;
		if (ocis_layer_out_write(lo, lo->zeros, k, err) < 0)
			return -1;
		n -= k;
	}
	return 0;
}

uint64_t
ocis_layer_out_written(const struct ocis_layer_out *lo)
{
	return __atomic_load_n(&lo->written, __ATOMIC_RELAXED);
}

int
ocis_layer_out_end(struct ocis_layer_out *lo, ocis_error_t **err)
{
	if (lo->toc != NULL)
		return ocis_error_set(err, EINVAL, "internal: an estargz layer ended early");
	if (lo->ended)
		return 0;
	if (ocis_layer_out_zeros(lo, 2 * OCIS_BLOCK, err) < 0)
		return -1;
	lo->ended = 1;
	return lo->pl != NULL ? ocis_blockpool_end(lo->pl, err) : 0;
}

int
ocis_layer_out_finish(struct ocis_layer_out *lo, const char *created, const char *created_by,
		      const char *comment, struct ocis_layer_desc *desc, ocis_error_t **err)
{
	struct ocis_compress_result res;
	struct ocis_layer_desc d;
	int r = -1;

	memset(&d, 0, sizeof(d));
	if (lo->zc != NULL) {
		if (finish_zchunked(lo, &res, &d, err) < 0)
			goto out;
	} else if (lo->toc != NULL) {
		if (finish_estargz(lo, &res, &d, err) < 0)
			goto out;
	} else if (ocis_layer_out_end(lo, err) < 0 ||
		   (lo->pl != NULL ? ocis_blockpool_finish(lo->pl, &res, err) < 0 ||
				     copy_spool(lo, err) < 0 :
				     ocis_compressor_finish(lo->comp, &res, err) < 0)) {
		return -1;
	}
	if (lo->chunk_len > 0 && ocis_stream_write_chunk(lo->w, lo->chunk, lo->chunk_len, err) < 0)
		goto out;
	lo->chunk_len = 0;
	/* The cache's bound is kept once the layer is out; failing to trim
	 * (another builder trimming, a read-only DIR) costs disk, not the
	 * layer. */
	if (lo->cache != NULL)
		(void)ocis_blockcache_trim(lo->cache, NULL);

	snprintf(d.media_type, sizeof(d.media_type), "%s%s", OCIS_MT_LAYER,
		 ocis_compression_suffix(lo->compression));
	memcpy(d.digest, res.digest, sizeof(d.digest));
	memcpy(d.diff_id, res.diff_id, sizeof(d.diff_id));
	d.size = res.size;
	d.uncompressed_size = res.uncompressed_size;
	if (ocis__strdup_opt(&d.history.created, created, err) < 0 ||
	    ocis__strdup_opt(&d.history.created_by, created_by, err) < 0 ||
	    ocis__strdup_opt(&d.history.comment, comment, err) < 0 ||
	    ocis_stream_write_layer(lo->w, &d, err) < 0)
		goto out;
	if (desc) {
		*desc = d;
		memset(&d, 0, sizeof(d));
	}
	r = 0;
out:
	ocis_layer_desc_release(&d);
	return r;
}

void
ocis_layer_out_free(struct ocis_layer_out *lo)
{
	if (lo == NULL)
		return;
	ocis_compressor_free(lo->comp);
	ocis_blockpool_layer_free(lo->pl);
	if (lo->toc != NULL)
		ocis_toc_release(lo->toc);
	free(lo->toc);
	ocis_zchunked_free(lo->zc);
	ocis_blockcache_close(lo->cache);
	free(lo->chunk);
	free(lo->zeros);
	if (lo->spool_fd >= 0)
		close(lo->spool_fd);
	free(lo);
}
