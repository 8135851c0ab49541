/* SPDX-License-Identifier: MIT */
/*
 * OCI image index documents: index.json of a layout, and the image index
 * blob that lists the manifests of a multi-platform image.
 *
 * Bytes: keys in the order schemaVersion, mediaType, manifests[{mediaType,
 * digest, size, platform{architecture, os, variant}, annotations{
 * annotations sorted by key, ref.name among them}, other members}], other
 * members; entries in the order given.  Parsing keeps every member of an
 * existing index, also those this model does not know (urls, artifactType,
 * data, platform os.version and os.features, the index's own annotations
 * and subject), as they were and in their order after the known ones: oci-pack
 * -o DIR rewrites index.json, and must not lose what another tool put
 * there.  An annotation whose key holds '=' is the one thing dropped.
 */
#ifndef OCISTREAM_INDEX_H
#define OCISTREAM_INDEX_H

#include <stddef.h>

#include <ocistream/error.h>
#include <ocistream/io.h>
#include <ocistream/manifest.h>

#define OCIS_ANNOTATION_REF_NAME "org.opencontainers.image.ref.name"

struct ocis_index_entry {
	struct ocis_blob_ref ref;
	char *ref_name;		/* tag, or NULL */
	char *arch, *os, *variant;	/* platform, or NULL */
	char **annotations;	/* other annotations, "key=value"; written sorted */
	size_t n_annotations;
	char *extra;		/* other members, a JSON object, or NULL */
	char *platform_extra;	/* other members of platform, a JSON object, or NULL */
};

struct ocis_index {
	struct ocis_index_entry *v;
	size_t n;
	char *extra;		/* other top-level members, a JSON object, or NULL */
};

void ocis_index_release(struct ocis_index *x);
/* Append a copy of e. */
int ocis_index_add(struct ocis_index *x, const struct ocis_index_entry *e, ocis_error_t **err);
/* Free what e owns (every string), zero it. */
void ocis_index_entry_release(struct ocis_index_entry *e);
/* Replace e's annotations by copies of kv[0..n) ("key=value"). */
int ocis_index_entry_set_annotations(struct ocis_index_entry *e, const char *const *kv, size_t n,
				     ocis_error_t **err);
/* 1 when a and b (both with arch and os) are for the same platform. */
int ocis_index_same_platform(const struct ocis_index_entry *a, const struct ocis_index_entry *b);
/* Free e's platform strings (arch, os, variant), set them to NULL. */
void ocis_index_entry_free_platform(struct ocis_index_entry *e);
/* Drop entries whose ref_name equals name. */
void ocis_index_remove_ref(struct ocis_index *x, const char *name);
int ocis_index_to_json(const struct ocis_index *x, struct ocis_buf *out, ocis_error_t **err);
/* The same with another top-level mediaType (a Docker manifest list). */
int ocis_index_to_json_typed(const struct ocis_index *x, const char *media_type,
			     struct ocis_buf *out, ocis_error_t **err);
int ocis_index_from_json(struct ocis_index *x, const char *json, size_t len, ocis_error_t **err);

/* 1 when s is a valid tag for the ref.name annotation. */
int ocis_ref_name_valid(const char *s);

#endif
