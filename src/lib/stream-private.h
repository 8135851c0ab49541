/* SPDX-License-Identifier: MIT */
/*
 * The image-stream reader's state and framing steps, shared by the two
 * halves of the reader: stream.c (the stream's own entries: tar framing,
 * chunk runs, descriptors checked against the runs they close) and
 * baseimage.c (an OCI image-layout tarball inside the stream turned into
 * stream entries).  Never included outside those two.
 *
 * The framing steps keep one invariant: r->offset is the input offset of
 * r->buf[r->pos], and every byte of a chunk run passes ocis__stream_take
 * (hashed when the run is verified, its first bytes kept for the media
 * type check) or is spliced and counted by ocis_stream_copy.
 */
#ifndef OCISTREAM_STREAM_PRIVATE_H
#define OCISTREAM_STREAM_PRIVATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ocistream/hash.h>
#include <ocistream/io.h>
#include <ocistream/layerdesc.h>
#include <ocistream/stream.h>

#include "internal.h"
#include "layerdesc-private.h"
#include "tarhdr-private.h"

#define IOBUF_SIZE (256 * 1024)

/* One metadata blob of a base image held until the layout is resolved. */
struct held_blob {
	char digest[OCIS_DIGEST_STR_SIZE];
	unsigned char *data;
	size_t len;
};

/* A synthesized entry waiting to be returned (base image translation). */
struct pending {
	enum ocis_entry_kind kind;
	unsigned char *data;	/* owned */
	size_t len;
};

/* A blob that passed as a chunk run: what a layer reference to it must
 * agree with (its size, and its first bytes with its media type). */
struct run_rec {
	char digest[OCIS_DIGEST_STR_SIZE];
	uint64_t size;
	unsigned char magic[OCIS_MAGIC_LEN];
	size_t magic_len;
};

struct ocis_stream_reader {
	int fd;
	int verify;
	unsigned char *buf;	/* input buffer */
	size_t pos, end;	/* unread bytes are buf[pos..end) */
	int eof;
	uint64_t offset;	/* input offset of buf[pos] */

	unsigned char header[OCIS_BLOCK];	/* current entry's header */
	uint64_t remaining;	/* unread data bytes of the current entry */
	uint64_t padding;	/* padding after the current entry's data */
	int started;		/* current entry's data partly consumed */
	int have_entry;
	int is_meta;		/* current entry's data is held in meta */
	int no_splice;		/* splice(2) does not work on these descriptors */

	uint64_t entries;
	unsigned zero_run;	/* consecutive zero blocks just read */
	int archive_start;	/* the next header starts an archive */

	int in_run;		/* inside a chunk run */
	unsigned run_chunks;	/* chunks so far in the run (synthesized names) */
	uint64_t run_bytes;
	int run_hashing;	/* hashing the run (verify, or base blob) */
	struct ocis_hash run_hash;
	unsigned char run_magic[OCIS_MAGIC_LEN];	/* the run's first bytes */
	size_t run_magic_len;
	struct run_rec *runs;	/* closed runs */
	size_t n_runs, cap_runs;
	struct ocis__digest_index run_index;	/* runs by digest */

	struct ocis_buf meta;	/* data of the current metadata entry */
	struct ocis_layer_desc desc;

	/* Base image: an OCI image-layout tarball inside the stream. */
	char *base_ref, *base_arch, *base_os, *base_variant;
	int in_layout;		/* reading the members of a layout archive */
	uint64_t layout_offset;
	struct ocis_buf layout_index;	/* its index.json */
	int have_layout_index;
	struct held_blob *held;	/* its JSON blobs */
	size_t n_held, cap_held;
	struct ocis__digest_index held_index;
	size_t held_total;
	/* a blob of the layout too large to hold, being split into chunks
	 * (ocis__base_image_next_chunk): its digest and size, the bytes of
	 * it still to come and the padding after them */
	int split_open;
	char split_digest[OCIS_DIGEST_STR_SIZE];
	uint64_t split_remaining, split_padding, split_size;
	struct pending *queue;	/* synthesized entries to return */
	size_t q_head, q_len;
};

/* Make at least `want` bytes available (fewer only at EOF). */
int ocis__stream_fill(struct ocis_stream_reader *r, size_t want, ocis_error_t **err);
/* Consume up to len data bytes of the current entry into dst (or discard
 * when dst is NULL), hashing chunk data when needed; the count taken. */
ssize_t ocis__stream_take(struct ocis_stream_reader *r, void *dst, size_t len,
			  ocis_error_t **err);
/* Skip n input bytes; a stream that ends first is truncated. */
int ocis__stream_skip(struct ocis_stream_reader *r, uint64_t n, ocis_error_t **err);
/* Skip the current entry's padding. */
int ocis__stream_skip_padding(struct ocis_stream_reader *r, ocis_error_t **err);
/* The leaf name under ocipipe/ of an entry kind ("chunk" for chunks). */
const char *ocis__stream_kind_leaf(enum ocis_entry_kind kind);
/* Printable copy of a possibly hostile name for messages. */
void ocis__stream_printable(char *dst, size_t size, const unsigned char *src, size_t len);
/* The fixed ustar header of a stream entry (shared with the writer). */
void ocis__stream_header(unsigned char h[OCIS_BLOCK], const char *name, uint64_t size);
/* The closed chunk run of this digest, or NULL. */
const struct run_rec *ocis__stream_find_run(const struct ocis_stream_reader *r,
					    const char *digest);
/* Why the blob of run rec cannot be the layer d says (its size, or its
 * first bytes against its media type), in buf; NULL when it can. */
const char *ocis__stream_layer_blob_mismatch(const struct run_rec *rec,
					     const struct ocis_layer_desc *d, char *buf,
					     size_t size);
/* Start a chunk run (hashed when hashing is set). */
int ocis__stream_open_run(struct ocis_stream_reader *r, int hashing, ocis_error_t **err);
/* Validate a metadata entry whose data is in r->meta and fill *e: 1, or
 * -1.  Shared by entries read from the input and entries synthesized from
 * a base image. */
int ocis__stream_accept_meta(struct ocis_stream_reader *r, struct ocis_stream_entry *e,
			     enum ocis_entry_kind kind, uint64_t hdr_offset, ocis_error_t **err);

#endif
