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
 * ocis_toc_wants says so, the data bytes: ocis_toc_chunk_due says when the
 * next byte starts a chunk (mark, then ocis_toc_begin_chunk);
 * ocis_toc_span says which bytes go into the current chunk now and how
 * many of those at hand it used; ocis_toc_data takes exactly the former.
 * Bytes that are not file data (headers, padding) are the writer's alone.
 *
 * Chunks: eStargz cuts them every `chunk_size` bytes of a file; a
 * content-defined TOC (zstd:chunked) cuts them where containers/storage's
 * rolling checksum does (bup's rollsum over a 64-byte window, a cut after
 * the byte where its low 16 bits are all ones; restarted for every file),
 * and, like it, makes every run of 1024 or more zero bytes a chunk of its
 * own ("zeros", which a puller makes as a hole without fetching it), so a
 * file's chunks are those upstream's writer makes for the same bytes.
 * Zeros at the end of the bytes at hand may start such a run: the TOC
 * takes them without passing them on until the next bytes (or the file's
 * end) decide, then hands them over from a buffer of zeros of its own.
 *
 * Memory: it grows with the entries, never with the data: a struct of
 * 184 bytes (x86-64) and the names, link target, user and group names and
 * xattrs (copied), plus 64 bytes a chunk (docs/lazy-pull.md).  Sizes are
 * bounded by the tar the entries come from (names at most 64 KiB, xattrs
 * as the intake allows).
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
	uint64_t size;		/* content-defined: grows until the chunk ends */
	unsigned char digest[OCIS_DIGEST_LEN];
	unsigned char zeros;	/* a run of zeros (zstd:chunked "zeros") */
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
	uint64_t end_mark;	/* zstd:chunked: the mark after its data */
	unsigned char digest[OCIS_DIGEST_LEN];	/* whole file (regular, size > 0) */
};

struct ocis_toc {
	struct ocis_toc_entry *entries;
	size_t n_entries, entries_cap;
	struct ocis_toc_chunk *chunks;
	size_t n_chunks, chunks_cap;
	uint64_t chunk_size;	/* fixed chunks; 0: content-defined */
	/* the regular file being written */
	uint64_t data_left, chunk_left;
	struct ocis_hash file_hash, chunk_hash;
	int hashes_ready;
	/* content-defined chunks: the rolling checksum, and a cut found by
	 * ocis_toc_span after the last byte it counted */
	uint32_t rs1, rs2;
	unsigned char rwindow[64];
	unsigned rwofs;
	int cut;
	/* content-defined chunks: zero bytes taken from the input and not yet
	 * handed over, and what they are (TOC_ZEROS_*, toc.c) */
	uint64_t zpend;
	int zmode;
};

/* What ocis_toc_span says: hand `len` bytes at `data` (within the bytes
 * at hand, or zeros of the TOC's own) to ocis_toc_data and the
 * compressor; `used` bytes at hand are taken (more or fewer than len
 * where zeros are held or handed over). */
struct ocis_toc_span {
	const void *data;
	size_t len;
	size_t used;
};

/* chunk_size: eStargz's fixed chunks; 0 for content-defined ones. */
int ocis_toc_init(struct ocis_toc *t, uint64_t chunk_size, ocis_error_t **err);
void ocis_toc_release(struct ocis_toc *t);
/* The entry whose header was just written (everything copied). */
int ocis_toc_add_entry(struct ocis_toc *t, const struct ocis_pax_entry *pe, ocis_error_t **err);
/* File data bytes of the current entry not yet given to ocis_toc_data
 * (zeros the TOC holds among them). */
static inline uint64_t ocis_toc_data_left(const struct ocis_toc *t) { return t->data_left; }
/* 1 when the next data byte starts a chunk. */
static inline int ocis_toc_chunk_due(const struct ocis_toc *t)
{
	return t->data_left > 0 && t->chunk_left == 0;
}
int ocis_toc_begin_chunk(struct ocis_toc *t, uint64_t mark, ocis_error_t **err);
/* 1 while the TOC needs ocis_toc_span, with n bytes of file data at hand
 * (it may have zeros to hand over when n is 0). */
int ocis_toc_wants(const struct ocis_toc *t, size_t n);
/* With the n bytes at p (a chunk open): the bytes for the current chunk,
 * up to the room left in a fixed chunk, a content-defined cut or a run of
 * zeros; and how many of p it used. */
void ocis_toc_span(struct ocis_toc *t, const void *p, size_t n, struct ocis_toc_span *s);
/* The bytes ocis_toc_span gave (s->data, s->len; len may be 0 where a
 * chunk ends before a run of zeros). */
int ocis_toc_data(struct ocis_toc *t, const void *p, size_t n, ocis_error_t **err);
/* The mark that ends the current entry's data (zstd:chunked). */
static inline void ocis_toc_end_data(struct ocis_toc *t, uint64_t mark)
{
	t->entries[t->n_entries - 1].end_mark = mark;
}

#endif
