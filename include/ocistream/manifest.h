/* SPDX-License-Identifier: MIT */
/*
 * The OCI image manifest: build one from a config blob and layer
 * descriptors, and read one back.
 *
 * Bytes: keys in the order schemaVersion, mediaType, config{mediaType,
 * digest, size}, layers[{mediaType, digest, size}], annotations (sorted).
 */
#ifndef OCISTREAM_MANIFEST_H
#define OCISTREAM_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include <ocistream/error.h>
#include <ocistream/hash.h>
#include <ocistream/io.h>
#include <ocistream/stream.h>

struct ocis_blob_ref {
	char media_type[96];
	char digest[OCIS_DIGEST_STR_SIZE];
	uint64_t size;
};

/* A parsed manifest, as oci-pack needs it. */
struct ocis_manifest_info {
	struct ocis_blob_ref config;
	struct ocis_blob_ref *layers;	/* owned */
	size_t n_layers;
};

/* Build a manifest for config bytes and layers; `annotations` is a list of
 * "k=v" (may be NULL / n 0). */
int ocis_manifest_build(const void *config, size_t config_len,
			const struct ocis_layer_desc *layers, size_t n_layers,
			char *const *annotations, size_t n_annotations,
			struct ocis_buf *out, ocis_error_t **err);

/* Parse and validate (schemaVersion 2, sha256 digests, sizes).  On success
 * *m is overwritten without being released; on failure it is untouched. */
int ocis_manifest_parse(struct ocis_manifest_info *m, const char *json, size_t len,
			ocis_error_t **err);
void ocis_manifest_info_release(struct ocis_manifest_info *m);

#endif
