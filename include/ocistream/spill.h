/* SPDX-License-Identifier: MIT */
/*
 * Bytes held until their reader knows what to do with them: oci-diff reads
 * an upper file whose metadata match the lower's, and only after its last
 * byte knows whether the file goes into the layer, whose entry header must
 * come before the data.
 *
 * An item's first `limit` bytes are held in memory; an item that grows
 * past it goes to one temporary file (ocis_tmpfile: $TMPDIR, no name),
 * made at the first need and reused, truncated, by every later item, so
 * there is never more than one.  Runs of zeros (a sparse file's holes)
 * stay holes in the file.  Memory: at most `limit` bytes (a power-of-two
 * buffer, so up to twice that allocated) plus a 256 KiB read buffer, what
 * the item's size.
 */
#ifndef OCISTREAM_SPILL_H
#define OCISTREAM_SPILL_H

#include <stddef.h>
#include <stdint.h>

#include <ocistream/error.h>
#include <ocistream/io.h>

struct ocis_spill {
	size_t limit;		/* bytes held in memory at most */
	struct ocis_buf mem;	/* the bytes after the first `flen` */
	int fd;			/* the temporary file, -1 until needed */
	int in_file;		/* the item passed `limit`: it starts in the file */
	uint64_t flen;		/* bytes of the item in the file, holes included */
	unsigned char *rbuf;	/* for reading the file back */
};

/* An empty spill; nothing allocated, no file yet. */
void ocis_spill_init(struct ocis_spill *s, size_t limit);
/* Drop the item held (the file, if any, is truncated and kept). */
int ocis_spill_reset(struct ocis_spill *s, ocis_error_t **err);
/* Append len bytes, or n zeros (a hole), to the item. */
int ocis_spill_add(struct ocis_spill *s, const void *data, size_t len, ocis_error_t **err);
int ocis_spill_zeros(struct ocis_spill *s, uint64_t n, ocis_error_t **err);
/* Bytes held; 1 when the item went to the file. */
uint64_t ocis_spill_size(const struct ocis_spill *s);
int ocis_spill_in_file(const struct ocis_spill *s);
/* Hand the item to out, in order, in pieces of at most 256 KiB (or the
 * memory part whole); the item stays held.  Stops at out's first error. */
int ocis_spill_replay(struct ocis_spill *s,
		      int (*out)(void *ctx, const void *data, size_t len, ocis_error_t **err),
		      void *ctx, ocis_error_t **err);
/* Free the memory, close the file. */
void ocis_spill_release(struct ocis_spill *s);

#endif
