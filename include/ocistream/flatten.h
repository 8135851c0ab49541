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
 * bounded by the number of entries (about 24 bytes per path, plus the name
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
};

/* Flatten the image of in_fd (seekable, read from its current offset) into
 * a tar archive written to out_fd (end-of-archive marker included). */
int ocis_flatten(int in_fd, int out_fd, const struct ocis_flatten_opts *o,
		 struct ocis_flatten_stats *stats, ocis_error_t **err);

/* Shared with oci-diff (src/lib/diff.c). */

/* Normalise a tar entry name the way layers name entries, without the
 * trailing "/" of directories: leading "/" and "./", "." and empty
 * components dropped; the root is "".  -1 on a ".." component. */
int ocis__flat_normalise(const char *in, struct ocis_buf *out, ocis_error_t **err);

#endif
