/* SPDX-License-Identifier: MIT */
/*
 * Package-split layers (oci-layer --split=MAP): the entries of one rootfs
 * tar, in one pass, routed to several layers by a split map
 * (ocistream/splitmap.h), each layer a whole layer that applies on its own.
 *
 * Routing, per entry in input order:
 * - a path goes to the layer its map gives (longest prefix), a hardlink to
 *   the layer of its target: a hardlink group stays in the layer of its
 *   first member, whatever the map says of a later link's path;
 * - every layer carries the directories above each of its entries, with
 *   the metadata of the input's directory entry, written before the
 *   first entry below them (the root "./" included);
 * - a directory entry goes to its own layer and to every layer that
 *   already holds it or something below it (a directory that comes after
 *   its children, or comes twice, reaches every layer that needs it; a
 *   layer with an entry below a directory the input has not given yet
 *   holds no entry for it, as the single layer would at that point);
 * - a layer no entry reached is left out; an input with no entry at all
 *   gives the rest layer, empty.
 *
 * Output: each layer is a pooled layer out (ocistream/layerout.h) of one
 * compressor pool (ocistream/blockpool.h): its compressed bytes go to a
 * temporary file without a name once, and are copied into the stream as
 * a chunk run and its layer.json, layer after layer in map order, at
 * finish.  Disk written: the compressed layers, once.  Memory: the path
 * table of the names seen and 48 bytes a name, every directory's pax
 * header once, per open layer its pending block (the pages it filled, at
 * most 1 MiB) and a few KiB, and the pool (per worker its codec state and
 * two blocks in flight); docs/split.md has the numbers.  The bytes of
 * each layer do not depend on the thread count; a gzip layer's are those
 * of a single layer (oci-layer) of the same entries.
 */
#ifndef OCISTREAM_LAYERSPLIT_H
#define OCISTREAM_LAYERSPLIT_H

#include <stddef.h>
#include <stdint.h>

#include <ocistream/compress.h>
#include <ocistream/error.h>
#include <ocistream/layerdesc.h>
#include <ocistream/layerout.h>
#include <ocistream/splitmap.h>
#include <ocistream/stream.h>

struct ocis_layersplit;

/* map stays the caller's and must outlive the split.  threads: <= 0 all
 * online CPUs, 1 none of its own (see layersplit.c); never changes the
 * bytes. */
int ocis_layersplit_new(struct ocis_layersplit **out, struct ocis_splitmap *map,
			struct ocis_stream_writer *w, enum ocis_compression compression,
			int level, int threads, ocis_error_t **err);

struct ocis_blockcache_stats;
/* gzip: the block cache in dir for every layer (docs/cache.md); before the
 * first entry.  zstd, none: does nothing. */
int ocis_layersplit_use_cache(struct ocis_layersplit *s, const char *dir, uint64_t max,
			      ocis_error_t **err);
/* 1 and *st filled when a cache is in use, else 0. */
int ocis_layersplit_cache_stats(struct ocis_layersplit *s, struct ocis_blockcache_stats *st);

/*
 * Route one entry: path (normalised, "" the root), its type ('5' a
 * directory, '1' a hardlink with the normalised target link), and its
 * encoded pax header hdr.  Writes the missing parent directories and the
 * header into the layers it goes to; its data (if any) follows with
 * ocis_layersplit_write.
 */
int ocis_layersplit_entry(struct ocis_layersplit *s, const char *path, size_t len, char type,
			  const char *link, size_t link_len, const void *hdr, size_t hdr_len,
			  ocis_error_t **err);
/* The current entry's data (and padding) into its layer. */
int ocis_layersplit_write(struct ocis_layersplit *s, const void *data, size_t len,
			  ocis_error_t **err);

/* Compressed bytes made so far, all layers. */
uint64_t ocis_layersplit_written(const struct ocis_layersplit *s);

/* Per layer written at finish: its name and descriptor. */
typedef void (*ocis_layersplit_layer_fn)(void *ctx, const char *name,
					 const struct ocis_layer_desc *d);

/*
 * End every layer and write them into the stream in map order.  Each
 * layer's history: created (may be NULL), created_by "TEXT (layer NAME)"
 * or, without TEXT, "oci-layer --split (layer NAME)", comment as given.
 * *last (optional) gets the last layer's descriptor (release it).
 */
int ocis_layersplit_finish(struct ocis_layersplit *s, const char *created,
			   const char *created_by, const char *comment,
			   ocis_layersplit_layer_fn on_layer, void *ctx,
			   struct ocis_layer_desc *last, ocis_error_t **err);

void ocis_layersplit_free(struct ocis_layersplit *s);

#endif
