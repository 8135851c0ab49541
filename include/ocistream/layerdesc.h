/* SPDX-License-Identifier: MIT */
/*
 * Layer descriptors: what ocipipe/layer.json and ocipipe/blob.json carry
 * (src/lib/layerdesc.c reads and writes them), the layer media types, and
 * the list of an image's layers as a stage collects them.  The image
 * config and the manifest are built from these; the stream only carries
 * them.
 */
#ifndef OCISTREAM_LAYERDESC_H
#define OCISTREAM_LAYERDESC_H

#include <stddef.h>
#include <stdint.h>

#include <ocistream/error.h>
#include <ocistream/hash.h>
#include <ocistream/io.h>
#include <ocistream/strv.h>

/* History of one layer, as oci-layer knows it (all optional). */
struct ocis_history {
	char *created;		/* RFC 3339, or NULL */
	char *created_by;
	char *comment;
};

/*
 * Descriptor of a layer blob, as carried by ocipipe/layer.json.
 * JSON keys, in this order: mediaType, digest, size, diffID,
 * uncompressedSize, annotations {key: value, sorted by key},
 * history {created, created_by, comment}.
 *
 * Annotations are the descriptor's own (the lazy-pull TOC digest and
 * positions of an estargz or zstd:chunked layer): they go unchanged into
 * the manifest's layer descriptor.  In memory they are "key=value"
 * strings; a key is non-empty, holds no '=', and appears once.  At most
 * OCIS_LAYER_ANNOTATIONS_MAX of them, each key at most 256 bytes and each
 * value at most 4096.
 */
#define OCIS_LAYER_ANNOTATIONS_MAX 32
#define OCIS_LAYER_ANNOTATION_KEY_MAX 256
#define OCIS_LAYER_ANNOTATION_VALUE_MAX 4096
struct ocis_layer_desc {
	char media_type[96];
	char digest[OCIS_DIGEST_STR_SIZE];
	uint64_t size;
	char diff_id[OCIS_DIGEST_STR_SIZE];
	uint64_t uncompressed_size;
	struct ocis_strv annotations;	/* "key=value", owned */
	struct ocis_history history;	/* strings owned */
};

void ocis_layer_desc_release(struct ocis_layer_desc *d);
/* Add the annotation key=value (both copied); refuses a key already set,
 * an empty key, a key with '=', and the limits above. */
int ocis_layer_desc_annotate(struct ocis_layer_desc *d, const char *key, const char *value,
			     ocis_error_t **err);
/* The same from "key=value" (the first '=' ends the key). */
int ocis_layer_desc_annotate_kv(struct ocis_layer_desc *d, const char *kv, ocis_error_t **err);
/* The value of annotation key, or NULL. */
const char *ocis_layer_desc_annotation(const struct ocis_layer_desc *d, const char *key);
/* blob.json: only digest and size ({"digest":...,"size":N}). */
int ocis_blob_desc_to_json(const struct ocis_layer_desc *d, struct ocis_buf *out, ocis_error_t **err);
int ocis_blob_desc_from_json(struct ocis_layer_desc *d, const char *json, size_t len,
			     ocis_error_t **err);
/* Serialise to JSON (fixed key order) into out. */
int ocis_layer_desc_to_json(const struct ocis_layer_desc *d, struct ocis_buf *out, ocis_error_t **err);
/* Parse and validate (digests well formed, media type a known layer type). */
int ocis_layer_desc_from_json(struct ocis_layer_desc *d, const char *json, size_t len,
			      ocis_error_t **err);
/* Known layer media types; the suffix is "" (tar), "+gzip" or "+zstd". */
#define OCIS_MT_LAYER "application/vnd.oci.image.layer.v1.tar"
#define OCIS_MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define OCIS_MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define OCIS_MT_INDEX "application/vnd.oci.image.index.v1+json"
int ocis_media_type_is_layer(const char *mt);

/*
 * The layers of an image being assembled, as a stage sees them in the
 * stream (descriptors copied, strings owned).
 */
struct ocis_layer_list {
	struct ocis_layer_desc *v;
	size_t n;
	size_t alloc;
};
#define OCIS_LAYER_LIST_INIT { NULL, 0, 0 }
int ocis_layer_list_push(struct ocis_layer_list *l, const struct ocis_layer_desc *d,
			 ocis_error_t **err);
void ocis_layer_list_clear(struct ocis_layer_list *l);	/* frees, back to INIT */

#endif
