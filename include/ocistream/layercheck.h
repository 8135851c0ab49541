/* SPDX-License-Identifier: MIT */
/*
 * Checking layer blobs against their diff_ids, as a client that pulls the
 * image does (umoci: "diffid mismatch"; containerd when it unpacks), so
 * that a stage that ends the stream (oci-pack; oci-push later) never
 * writes an image whose layers are not what its config says.  A stream
 * may be hand-made or tampered with: oci-layer's diffID is a claim until
 * the bytes are decompressed and hashed again.
 *
 * The caller passes each blob's bytes as they go by (feed), closes each
 * blob with its digest (end_blob), and says which blobs are layers and
 * what they must decompress to (expect); finish waits and gives the first
 * layer that is not what its descriptor says.
 *
 * Work: two threads of its own, one decompressing each blob (gzip, zstd,
 * or none, told by its first bytes, which the stream reader already
 * checked against the media type), one hashing what it gives, in order,
 * while the caller writes the blob; each runs at its own speed, so the
 * check keeps pace with a stream up to the slower of the two (on one
 * thread, it took the sum).  gzip members up to 1 MiB uncompressed (what
 * oci-layer writes) go through libdeflate, anything else through the
 * gunzip module; zstd through libzstd.  Every blob is decompressed,
 * whether or not a layer names it: a base image's layers pass before the
 * index that says which ones the image uses.  A blob that is not gzip or
 * zstd data is its own uncompressed content (diff_id = digest), which
 * costs nothing.
 *
 * Memory: a ring of bounded buffers between the caller and the decoder
 * (2 MiB), another between the decoder and the hasher (4 MiB), the
 * decoders' state (4.3 MiB of gzip input, the gunzip window, a zstd
 * window of at most 128 MiB as the tar reader allows), and about 130
 * bytes per blob seen.
 */
#ifndef OCISTREAM_LAYERCHECK_H
#define OCISTREAM_LAYERCHECK_H

#include <stddef.h>

#include <ocistream/error.h>
#include <ocistream/stream.h>

struct ocis_layercheck;

int ocis_layercheck_new(struct ocis_layercheck **out, ocis_error_t **err);
/* Stops the thread (when finish was not called) and frees everything. */
void ocis_layercheck_free(struct ocis_layercheck *c);

/* Bytes of the blob being passed; the first call after new or end_blob
 * starts a blob.  Blocks while the thread is a ring behind. */
int ocis_layercheck_feed(struct ocis_layercheck *c, const void *data, size_t len,
			 ocis_error_t **err);
/* The blob is complete; its digest (checked by the caller). */
int ocis_layercheck_end_blob(struct ocis_layercheck *c, const char *digest, ocis_error_t **err);

/* The blob d->digest, fed earlier, is layer n (for messages) of an image:
 * it must decompress to d->diff_id, and to d->uncompressed_size bytes
 * when that is not 0.  Checked by finish. */
int ocis_layercheck_expect(struct ocis_layercheck *c, const struct ocis_layer_desc *d, size_t n,
			   ocis_error_t **err);

/* Wait for the thread: 0 when every expected layer is what it says, -1
 * with one line naming the first that is not (or that was damaged). */
int ocis_layercheck_finish(struct ocis_layercheck *c, ocis_error_t **err);

#endif
