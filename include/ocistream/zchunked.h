/* SPDX-License-Identifier: MIT */
/*
 * zstd:chunked (docs/lazy-pull.md), as containers/storage writes it: the
 * tar-split of the layer, collected as the tar is written, and the end of
 * the layer: the TOC ("manifest") JSON from a collected ocis_toc, the
 * manifest and the tar-split each zstd-compressed in a skippable frame,
 * then the 64-byte footer in a skippable frame, and the annotations that
 * say where the frames are.
 *
 * The tar-split is vbatts/tar-split's JSON lines (tar/storage): for every
 * entry a segment (the padding after the previous entry's data, then all
 * of this entry's header blocks) and a file entry (name, size, CRC-64/ISO
 * of the data); at the end a segment with the last padding and the end of
 * the archive.  Its asm package rebuilds the layer tar from it and the
 * files' contents, byte for byte: what a partial pull hashes into the
 * diff_id.
 *
 * The layer's zstd frames are the compressor's (OCIS_COMPRESS_ZCHUNKED):
 * headers and padding in frames of their own, every chunk of a regular
 * file's data (content-defined, toc.h) starting a frame, and a frame
 * ending where the data ends.
 *
 * Memory: the compressed tar-split grows with the entries (about 100
 * bytes an entry, docs/lazy-pull.md), the pending header bytes are one
 * entry's.  Not thread-safe: the thread that writes the tar calls it.
 */
#ifndef OCISTREAM_ZCHUNKED_H
#define OCISTREAM_ZCHUNKED_H

#include <stddef.h>
#include <stdint.h>

#include <ocistream/compress.h>
#include <ocistream/error.h>
#include <ocistream/io.h>
#include <ocistream/layerdesc.h>
#include <ocistream/pax.h>
#include <ocistream/toc.h>

#define OCIS_ZCHUNKED_FOOTER_SIZE 64
/* containers/storage's current keys (pkg/chunked/internal/minimal) */
#define OCIS_ZCHUNKED_MANIFEST_CHECKSUM "io.github.containers.zstd-chunked.manifest-checksum"
#define OCIS_ZCHUNKED_MANIFEST_POSITION "io.github.containers.zstd-chunked.manifest-position"
#define OCIS_ZCHUNKED_TARSPLIT_POSITION "io.github.containers.zstd-chunked.tarsplit-position"
/* the keys of containers/storage up to 1.45 (Debian 12's podman 4.3.1),
 * pointing at the same manifest frame (docs/lazy-pull.md) */
#define OCIS_ZCHUNKED_OLD_MANIFEST_CHECKSUM "io.containers.zstd-chunked.manifest-checksum"
#define OCIS_ZCHUNKED_OLD_MANIFEST_POSITION "io.containers.zstd-chunked.manifest-position"

struct ocis_zchunked;

/* level: the layer's zstd level, for the tar-split and the manifest. */
int ocis_zchunked_new(struct ocis_zchunked **out, int level, ocis_error_t **err);
void ocis_zchunked_free(struct ocis_zchunked *z);
/* Layer tar bytes that are no file data (headers, padding, the end of
 * the archive): they open the next segment. */
int ocis_zchunked_meta(struct ocis_zchunked *z, const void *p, size_t n, ocis_error_t **err);
/* The header of entry pe has been given to ocis_zchunked_meta: its
 * segment; without data its file entry too, else that follows the data.
 * Refused: a path named before (containers/storage refuses the layer),
 * an mtime outside the years 0 to 9999 (Go cannot write it). */
int ocis_zchunked_entry(struct ocis_zchunked *z, const struct ocis_pax_entry *pe,
			ocis_error_t **err);
/* File data of the current entry (any slicing, exactly `size` bytes in
 * all); its last byte writes the file entry. */
int ocis_zchunked_data(struct ocis_zchunked *z, const void *p, size_t n, ocis_error_t **err);
/* The end (after the end-of-archive blocks went to ocis_zchunked_meta):
 * the skippable frames and the footer into *raw (replacing it), for a
 * layer whose zstd frames take `offset` bytes; the chunks' offsets are
 * the compressor's marks (drained).  The annotations go into d. */
int ocis_zchunked_tail(struct ocis_zchunked *z, const struct ocis_toc *toc,
		       const struct ocis_compressor *c, uint64_t offset, struct ocis_buf *raw,
		       struct ocis_layer_desc *d, ocis_error_t **err);

#endif
