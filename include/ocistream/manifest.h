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
#include <ocistream/layerdesc.h>

struct ocis_blob_ref {
	char media_type[96];
	char digest[OCIS_DIGEST_STR_SIZE];
	uint64_t size;
	/* a parsed manifest's layers only: the descriptor's annotations with
	 * string values, as "key=value" (owned; others are left out) */
	struct ocis_strv annotations;
};

/* A parsed manifest, as oci-pack needs it. */
struct ocis_manifest_info {
	char media_type[96];		/* OCI, or Docker v2 schema 2 */
	struct ocis_blob_ref config;
	struct ocis_blob_ref *layers;	/* owned */
	size_t n_layers;
};

/* Which media types a manifest uses: OCI (default) or Docker v2 schema 2
 * (application/vnd.docker.distribution.manifest.v2+json; gzip layers only,
 * no annotations). */
enum ocis_media_types {
	OCIS_TYPES_OCI,
	OCIS_TYPES_DOCKER,
};
#define OCIS_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define OCIS_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define OCIS_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define OCIS_MT_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar.gzip"

/* The Docker media type of an OCI layer type, NULL when there is none. */
const char *ocis_docker_layer_type(const char *oci_type);

int ocis_manifest_build_typed(enum ocis_media_types types, const void *config,
			      size_t config_len, const struct ocis_layer_desc *layers,
			      size_t n_layers, char *const *annotations, size_t n_annotations,
			      struct ocis_buf *out, ocis_error_t **err);

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
