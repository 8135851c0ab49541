/* SPDX-License-Identifier: MIT */
/*
 * Flattening: the layers of one image merged into one rootfs tar (the
 * `crane export` of ocipipe), whiteouts applied, the last layer winning.
 *
 * Input: an image stream or an OCI image-layout tarball (a base image of
 * the stream, see docs/image-stream.md), on a seekable descriptor.  It is
 * read in three passes, and nothing is written anywhere but the output:
 *
 *   1. the stream: where each blob's bytes lie in the input (a list of
 *      extents per blob, one per chunk run piece, adjacent ones merged) and
 *      the layers of each image in order (checked: chunk runs are digested);
 *   2. the layers, in order, headers only: an index of every path of the
 *      merged tree (a 64-bit hash of the name -> the sequence number of its
 *      last entry, the last layer that whited it out, the last layer that
 *      removed what is below it: a whiteout, an opaque whiteout, a
 *      non-directory entry), plus one record per hardlink entry;
 *   3. the layers again, in order: each entry is written when it is the
 *      final version of its path (no later entry of the same path, no later
 *      whiteout of it or of a directory above it, no later non-directory
 *      above it), with its data.
 *
 * Output order is layer order, then entry order within a layer.  Memory is
 * bounded by the number of entries (about 26 bytes per path, plus the name
 * of each hardlink), never by the size of files or layers.  A pipe cannot
 * be read three times: the input must be a file (or a block device).
 *
 * Entries are written with ocis_pax_encode_header, the encoding of
 * oci-layer's layers: names have no leading "./", directories end with
 * "/", the root directory is "./".  Whiteout entries (".wh.NAME",
 * ".wh..wh..opq") are applied and never written; other ".wh..wh.*" names
 * (aufs bookkeeping) are dropped.  A hardlink whose target was replaced or
 * removed by a later layer is kept as it was when its layer was applied:
 * the first surviving link of the group gets the data of the old target
 * (written where the old target was), the other links point to it.
 */
#ifndef OCISTREAM_FLATTEN_H
#define OCISTREAM_FLATTEN_H

#include <stddef.h>
#include <stdint.h>

#include <ocistream/error.h>
#include <ocistream/io.h>
#include <ocistream/pax.h>

struct ocis_flatten_opts {
	/* Choosing the image: ref (tag) for an image tarball; platform
	 * (OCI names: amd64, arm64, linux...) for a tarball or for a stream
	 * holding several images.  NULL = any. */
	const char *ref, *arch, *os, *variant;
	/* Called with each written entry name (for -v), may be NULL. */
	void (*on_entry)(void *ctx, const char *name);
	void (*warn)(void *ctx, const char *msg);
	void *cb_ctx;
};

struct ocis_flatten_stats {
	uint64_t layers;
	uint64_t entries_in;	/* entries read in the layers (whiteouts included) */
	uint64_t entries_out;	/* entries written */
	uint64_t paths;		/* paths in the index */
	uint64_t bytes_out;	/* tar bytes written */
	uint64_t lookups;	/* name components looked up in the index */
};

/* Flatten the image of in_fd (seekable, read from its current offset) into
 * a tar archive written to out_fd (end-of-archive marker included). */
int ocis_flatten(int in_fd, int out_fd, const struct ocis_flatten_opts *o,
		 struct ocis_flatten_stats *stats, ocis_error_t **err);

/*
 * An image as a rootfs tar that can be read more than once: oci-diff's
 * lower when it is an image.  Nothing is written to disk: each run
 * flattens on a thread of its own into a pipe.
 *
 *   ocis_flatten_src_new        pass 1 and the choice of the image (the
 *                               errors of a damaged input or of an
 *                               ambiguous choice come here, before any
 *                               output);
 *   ocis_flatten_src_copy_image the chosen image into an image stream:
 *                               each layer's blob as it is in the input
 *                               (not recompressed, so its digest stays),
 *                               a chunk run closed by its layer.json (a
 *                               blob used twice is carried once), then
 *                               its config.json, exact bytes, when it has
 *                               one; no manifest: the image stays open
 *                               and what follows goes on top of it;
 *   ocis_flatten_src_start      a run: *fd reads the merged rootfs tar
 *                               (the bytes ocis_flatten writes) from its
 *                               start.  The fd belongs to src: the next
 *                               start or free closes it, which ends a run
 *                               still writing (its EPIPE is no failure);
 *   ocis_flatten_src_each       a run on the caller's thread that hands
 *                               the entries of the merged tree to fn, in
 *                               the order of that tar, instead of
 *                               encoding them (for a reader that would
 *                               only parse them again: a deep tree's
 *                               names are most of its cost): pe->path is
 *                               the normalised name (no "./", no
 *                               trailing "/", "" the root), a hardlink's
 *                               pe->linkname its normalised target, and
 *                               data the layer's reader at the entry's
 *                               data (fn may take pe->size bytes of a
 *                               regular file with ocis_tarin_copy_data,
 *                               or leave them).  fn returns 0, or -1
 *                               with *err, which ends the run;
 *   ocis_flatten_src_free       ends the last run; -1 with the error of a
 *                               run that failed on its own (a damaged
 *                               layer: the reader then saw the tar cut, and
 *                               this says why).
 */
struct ocis_stream_writer;
struct ocis_flatten_src;

int ocis_flatten_src_new(struct ocis_flatten_src **out, int in_fd,
			 const struct ocis_flatten_opts *o, ocis_error_t **err);
int ocis_flatten_src_copy_image(struct ocis_flatten_src *s, struct ocis_stream_writer *w,
				ocis_error_t **err);
int ocis_flatten_src_start(struct ocis_flatten_src *s, int *fd, ocis_error_t **err);
struct ocis_tarin;
typedef int (*ocis_flatten_entry_fn)(void *ctx, const struct ocis_pax_entry *pe,
				     struct ocis_tarin *data, ocis_error_t **err);
int ocis_flatten_src_each(struct ocis_flatten_src *s, ocis_flatten_entry_fn fn, void *ctx,
			  ocis_error_t **err);
int ocis_flatten_src_free(struct ocis_flatten_src *s, ocis_error_t **err);
/* Layers of the chosen image. */
size_t ocis_flatten_src_layers(const struct ocis_flatten_src *s);

/* What a tar input is, by its first entries, read without consuming them
 * (pread on a file; on a pipe, tee(2) shows the first block only): an
 * image stream (its first entry is "ocipipe/..."), an OCI image-layout
 * tarball (only layout members: oci-layout, index.json, blobs/...), or
 * anything else (a rootfs tar, compressed or not, or no tar at all: the
 * tar reader says). */
enum ocis_input_kind {
	OCIS_INPUT_ROOTFS,
	OCIS_INPUT_IMAGE_STREAM,
	OCIS_INPUT_IMAGE_TARBALL,
};
int ocis_flatten_sniff(int fd, enum ocis_input_kind *kind, ocis_error_t **err);

#endif
