/* SPDX-License-Identifier: MIT */
/*
 * The image stream: the format between the ocipipe stages.
 *
 * It is a plain tar stream (ustar headers, 512-byte blocks) whose entries all
 * live under the reserved directory "ocipipe/" (see docs/image-stream.md):
 *
 *   ocipipe/chunk.NNNNNN    bytes of the blob being built (a layer), at most
 *                           OCIS_CHUNK_MAX each; a run of chunks is one blob
 *   ocipipe/layer.json      descriptor closing the chunk run before it
 *                           (mediaType, digest, size, diffID, ...), or, when
 *                           no run is open, a layer whose blob came earlier
 *   ocipipe/blob.json       descriptor (digest, size) closing a chunk run of
 *                           a blob that is not (yet) a layer: a base image's
 *   ocipipe/config.json     an image config blob, exact bytes
 *   ocipipe/manifest.json   an image manifest blob, exact bytes; closes an image
 *   ocipipe/error           an upstream stage failed; the data is its message
 *
 * Concatenated streams mean "more": the reader skips end-of-archive blocks
 * between archives.  A stream is complete only when it ends with an
 * end-of-archive marker (two zero blocks) and every chunk run is closed by a
 * layer.json: a stage that dies midway leaves a stream that the next stage
 * refuses, even when the shell does not use pipefail.
 *
 * An OCI image-layout tarball (oci-layout, index.json, blobs/sha256/...) in
 * the stream is a base image: the reader turns it into stream entries (its
 * blobs as chunk runs closed by blob.json, then a layer.json reference per
 * layer of the chosen image and its config.json), so the image stays open
 * and what follows goes on top of it.
 *
 * Entry headers are fixed (mode 0644, uid/gid 0, mtime 0, no user names), so
 * the stream bytes depend only on the content.
 */
#ifndef OCISTREAM_STREAM_H
#define OCISTREAM_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ocistream/error.h>
#include <ocistream/hash.h>
#include <ocistream/io.h>
#include <ocistream/layerdesc.h>

#define OCIS_STREAM_DIR "ocipipe/"
#define OCIS_CHUNK_MAX (1024 * 1024)
/* Cap for the small JSON entries (layer, config, manifest, error). */
#define OCIS_META_MAX (16 * 1024 * 1024)

enum ocis_entry_kind {
	OCIS_ENTRY_CHUNK,
	OCIS_ENTRY_LAYER,
	OCIS_ENTRY_CONFIG,
	OCIS_ENTRY_MANIFEST,
	OCIS_ENTRY_ERROR,
	OCIS_ENTRY_BLOB,
};

/* One entry as seen by the reader. */
struct ocis_stream_entry {
	enum ocis_entry_kind kind;
	char name[101];		/* NUL-terminated entry name */
	uint64_t size;		/* data size */
	uint64_t offset;	/* byte offset of the header in the input */
	/* For LAYER, CONFIG, MANIFEST and ERROR the reader has already read the
	 * data: it points into the reader's buffer and stays valid until the
	 * next call to ocis_stream_next. */
	const unsigned char *data;
	/* For LAYER and BLOB: the parsed descriptor (owned by the reader, same
	 * lifetime). */
	const struct ocis_layer_desc *layer;
	/* LAYER only: 1 when it refers to a blob carried earlier in the
	 * stream (a base image layer) rather than closing a chunk run. */
	int layer_ref;
	/* CHUNK only: when this reader turns a base image's blob into the
	 * run, the digest its member name gives (checked at the run's end,
	 * as every digest) and its size; NULL and 0 otherwise. */
	const char *run_digest;
	uint64_t run_size;
};

struct ocis_stream_reader;
struct ocis_stream_writer;

/* Reader on fd (not closed by the reader).  `what` names the input in
 * messages ("standard input").  When verify is set, the reader computes the
 * sha256 of each chunk run and refuses a layer.json whose digest differs
 * (oci-pack sets it; pass-through stages check sizes only). */
int ocis_stream_reader_new(struct ocis_stream_reader **out, int fd, int verify, ocis_error_t **err);
void ocis_stream_reader_free(struct ocis_stream_reader *r);

/* How to choose the image of a base-image archive in the stream: its tag
 * (ref.name) and platform; NULL = any.  When several images remain, the
 * reader fails and lists them. */
int ocis_stream_reader_set_base(struct ocis_stream_reader *r, const char *ref, const char *arch,
				const char *os, const char *variant, ocis_error_t **err);

/* Next entry: 1 and *e filled, 0 at the complete end of the stream, -1 on
 * error (truncated, not an image stream, unclosed chunk run, missing end
 * marker, ...).  An error entry is returned as OCIS_ENTRY_ERROR; the caller
 * decides (tools pass it on and fail).  Unread data of the previous entry
 * is skipped. */
int ocis_stream_next(struct ocis_stream_reader *r, struct ocis_stream_entry *e, ocis_error_t **err);

/* Read data of the current (chunk) entry: returns bytes read, 0 when the
 * entry's data is exhausted, -1 on error (truncated input). */
ssize_t ocis_stream_read(struct ocis_stream_reader *r, void *buf, size_t len, ocis_error_t **err);

/* Pass the current entry to w unchanged (header, data, padding).  Must be
 * called before any ocis_stream_read on the entry. */
int ocis_stream_copy(struct ocis_stream_reader *r, struct ocis_stream_writer *w, ocis_error_t **err);

/* The byte offset in the input of what the reader has consumed so far
 * (for messages that say where a stream went wrong). */
uint64_t ocis_stream_input_offset(const struct ocis_stream_reader *r);

/* Writer on fd (not closed by the writer). */
int ocis_stream_writer_new(struct ocis_stream_writer **out, int fd, ocis_error_t **err);
void ocis_stream_writer_free(struct ocis_stream_writer *w);
/* Write one whole entry ("ocipipe/<leaf>"). */
int ocis_stream_write_entry(struct ocis_stream_writer *w, const char *leaf, const void *data,
			    size_t len, ocis_error_t **err);
/* Write one chunk (len <= OCIS_CHUNK_MAX) of the current blob; numbered from 0
 * within a run. */
int ocis_stream_write_chunk(struct ocis_stream_writer *w, const void *data, size_t len,
			    ocis_error_t **err);
/* Close the current chunk run with its descriptor. */
int ocis_stream_write_layer(struct ocis_stream_writer *w, const struct ocis_layer_desc *d,
			    ocis_error_t **err);
/* Write a raw header block + data as read from another stream (used by copy). */
int ocis_stream_write_raw(struct ocis_stream_writer *w, const void *data, size_t len,
			  ocis_error_t **err);
/* Best effort: write "ocipipe/error" carrying msg; errors are ignored. */
void ocis_stream_write_error(struct ocis_stream_writer *w, const char *msg);
/* Write the end-of-archive marker.  Only a stage that succeeded calls it. */
int ocis_stream_finish(struct ocis_stream_writer *w, ocis_error_t **err);

#endif
