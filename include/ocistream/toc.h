/* SPDX-License-Identifier: MIT */
/*
 * The table of contents of a lazy-pull layer (eStargz; docs/lazy-pull.md),
 * collected while the layer tar is written: every entry's metadata, and
 * each regular file's data cut into chunks of at most `chunk_size` bytes,
 * each chunk starting a new compressed member (the writer's mark number
 * is recorded, its offset is known at the end), with the sha256 of every
 * chunk and of every whole file.
 *
 * Use: ocis_toc_add_entry after an entry's header is written; then, while
 * ocis_toc_data_left is non-zero, the data bytes: ocis_toc_chunk_due says
 * when the next byte starts a chunk (mark, then ocis_toc_begin_chunk);
 * ocis_toc_room is how many bytes fit in the current chunk; ocis_toc_data
 * takes them.  Bytes that are not file data (headers, padding) are the
 * writer's alone.
 *
 * Memory: it grows with the entries, never with the data: a struct of
 * 176 bytes (x86-64) and the names, link target, user and group names and
 * xattrs (copied), plus 56 bytes a chunk (docs/lazy-pull.md).  Sizes are bounded by the tar the
 * entries come from (names at most 64 KiB, xattrs as the intake allows).
 */
#ifndef OCISTREAM_TOC_H
#define OCISTREAM_TOC_H

#include <stddef.h>
#include <stdint.h>

#include <ocistream/error.h>
#include <ocistream/hash.h>
#include <ocistream/pax.h>

/* Bytes of file data a chunk holds at most: stargz-snapshotter's default
 * (its Writer's ChunkSize), 4 MiB. */
#define OCIS_TOC_CHUNK_SIZE (4 * 1024 * 1024)

struct ocis_toc_chunk {
	uint64_t mark;		/* the compressor's mark where it starts */
	uint64_t file_offset;	/* chunk's first byte within the file */
	uint64_t size;
	unsigned char digest[OCIS_DIGEST_LEN];
};

struct ocis_toc_entry {
	char *name;		/* as in the layer tar ("./", "etc/", "etc/motd") */
	char *linkname;		/* hardlink or symlink target, or NULL */
	char *uname, *gname;	/* or NULL */
	char type;		/* tar typeflag: '0' '1' '2' '3' '4' '5' '6' */
	uint32_t mode;
	uint64_t uid, gid;
	int64_t mtime;
	long mtime_nsec;
	uint64_t size, devmajor, devminor;
	size_t n_xattrs;
	char **xattr_names;	/* sorted, as in the tar */
	unsigned char **xattr_values;
	size_t *xattr_sizes;
	size_t chunk0, n_chunks;	/* its chunks: chunks[chunk0 .. + n_chunks) */
	unsigned char digest[OCIS_DIGEST_LEN];	/* whole file (regular, size > 0) */
};

struct ocis_toc {
	struct ocis_toc_entry *entries;
	size_t n_entries, entries_cap;
	struct ocis_toc_chunk *chunks;
	size_t n_chunks, chunks_cap;
	uint64_t chunk_size;
	/* the regular file being written */
	uint64_t data_left, chunk_left;
	struct ocis_hash file_hash, chunk_hash;
	int hashes_ready;
};

int ocis_toc_init(struct ocis_toc *t, uint64_t chunk_size, ocis_error_t **err);
void ocis_toc_release(struct ocis_toc *t);
/* The entry whose header was just written (everything copied). */
int ocis_toc_add_entry(struct ocis_toc *t, const struct ocis_pax_entry *pe, ocis_error_t **err);
/* File data bytes of the current entry still to come. */
static inline uint64_t ocis_toc_data_left(const struct ocis_toc *t) { return t->data_left; }
/* 1 when the next data byte starts a chunk. */
static inline int ocis_toc_chunk_due(const struct ocis_toc *t)
{
	return t->data_left > 0 && t->chunk_left == 0;
}
int ocis_toc_begin_chunk(struct ocis_toc *t, uint64_t mark, ocis_error_t **err);
/* Bytes left in the current chunk. */
static inline uint64_t ocis_toc_room(const struct ocis_toc *t) { return t->chunk_left; }
/* n bytes of data (n <= ocis_toc_room). */
int ocis_toc_data(struct ocis_toc *t, const void *p, size_t n, ocis_error_t **err);

#endif
