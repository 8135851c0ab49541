/* SPDX-License-Identifier: MIT */
/*
 * The OCI image manifest: see ocistream/manifest.h.
 *
 * Design notes.
 * - Building: the config descriptor is computed from the exact config bytes
 *   (sha256, length), so the manifest can only point at the blob the stream
 *   carries.  Layers keep stream order and their own media types (gzip,
 *   zstd or plain tar, as oci-layer wrote them).  Annotations are sorted by
 *   key, the last of equal keys wins; none means no "annotations" key.
 * - Parsing checks what oci-pack relies on (schemaVersion 2, well-formed
 *   sha256 digests, integer sizes) and ignores the rest.  The Docker v2
 *   schema 2 media type is accepted too: its shape is the same.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ocistream/json.h>
#include <ocistream/layerdesc.h>
#include <ocistream/manifest.h>

#include "internal.h"

#define WHAT "image manifest"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"

static int
gen_descriptor(yajl_gen g, const char *mt, const char *digest, uint64_t size)
{
	return ocis_json_open_map(g) | ocis_json_kv_str(g, "mediaType", mt) |
	       ocis_json_kv_str(g, "digest", digest) | ocis_json_kv_u64(g, "size", size) |
	       ocis_json_close_map(g);
}

/* A layer's descriptor: as above, plus the annotations its layer.json
 * carries (lazy-pull TOC digests and positions), sorted by key. */
static int
gen_layer_descriptor(yajl_gen g, const char *mt, const struct ocis_layer_desc *d, int *status,
		     ocis_error_t **err)
{
	*status |= ocis_json_open_map(g) | ocis_json_kv_str(g, "mediaType", mt) |
		   ocis_json_kv_str(g, "digest", d->digest) |
		   ocis_json_kv_u64(g, "size", d->size);
	if (d->annotations.n > 0) {
		*status |= ocis_json_key(g, "annotations");
		if (ocis_json_sorted_map(g, d->annotations.v, d->annotations.n, 1, status,
					 err) < 0)
			return -1;
	}
	*status |= ocis_json_close_map(g);
	return 0;
}

const char *
ocis_docker_layer_type(const char *oci_type)
{
	if (strcmp(oci_type, OCIS_MT_LAYER "+gzip") == 0 ||
	    strcmp(oci_type, OCIS_MT_DOCKER_LAYER) == 0)
		return OCIS_MT_DOCKER_LAYER;
	return NULL;
}

int
ocis_manifest_build(const void *config, size_t config_len,
		    const struct ocis_layer_desc *layers, size_t n_layers,
		    char *const *annotations, size_t n_annotations,
		    struct ocis_buf *out, ocis_error_t **err)
{
	return ocis_manifest_build_typed(OCIS_TYPES_OCI, config, config_len, layers, n_layers,
					 annotations, n_annotations, out, err);
}

int
ocis_manifest_build_typed(enum ocis_media_types types, const void *config, size_t config_len,
			  const struct ocis_layer_desc *layers, size_t n_layers,
			  char *const *annotations, size_t n_annotations,
			  struct ocis_buf *out, ocis_error_t **err)
{
	char digest[OCIS_DIGEST_STR_SIZE];
	yajl_gen g;
	size_t i;
	int s = 0;

	for (i = 0; i < n_layers; i++) {
		if (!ocis_digest_valid(layers[i].digest) || layers[i].media_type[0] == 0)
			return ocis_error_set(err, 0, "building " WHAT ": layer %zu has a "
					      "malformed descriptor", i + 1);
		if (types == OCIS_TYPES_DOCKER && !ocis_docker_layer_type(layers[i].media_type))
			return ocis_error_set(err, 0, "building " WHAT ": Docker media types need "
					      "gzip layers, layer %zu is %s", i + 1,
					      layers[i].media_type);
	}
	if (types == OCIS_TYPES_DOCKER && n_annotations > 0)
		return ocis_error_set(err, 0, "building " WHAT ": Docker manifests have no "
				      "annotations");
	for (i = 0; i < n_annotations; i++) {
		const char *eq = strchr(annotations[i], '=');
		if (eq == NULL || eq == annotations[i])
			return ocis_error_set(err, 0, "invalid annotation '%s': "
					      "expected key=value", annotations[i]);
	}
	if (ocis_hash_buffer(config, config_len, digest, err) < 0)
		return -1;
	g = ocis_json_gen_new();
	if (g == NULL)
		return ocis_error_oom(err);
	s |= ocis_json_open_map(g);
	s |= ocis_json_key(g, "schemaVersion");
	s |= ocis_json_u64(g, 2);
	s |= ocis_json_kv_str(g, "mediaType", types == OCIS_TYPES_DOCKER ? MT_DOCKER_MANIFEST
								       : OCIS_MT_MANIFEST);
	s |= ocis_json_key(g, "config");
	s |= gen_descriptor(g, types == OCIS_TYPES_DOCKER ? OCIS_MT_DOCKER_CONFIG : OCIS_MT_CONFIG,
			    digest, config_len);
	s |= ocis_json_key(g, "layers");
	s |= ocis_json_open_array(g);
	for (i = 0; i < n_layers; i++)
		if (gen_layer_descriptor(g, types == OCIS_TYPES_DOCKER ?
					 ocis_docker_layer_type(layers[i].media_type) :
					 layers[i].media_type, &layers[i], &s, err) < 0)
			goto fail;
	s |= ocis_json_close_array(g);
	if (n_annotations > 0) {
		s |= ocis_json_key(g, "annotations");
		if (ocis_json_sorted_map(g, annotations, n_annotations, 1, &s, err) < 0)
			goto fail;
	}
	s |= ocis_json_close_map(g);
	return ocis_json_gen_finish(g, s, WHAT, out, err);
fail:
	yajl_gen_free(g);
	return -1;
}

static int
parse_ref(yajl_val v, const char *path, struct ocis_blob_ref *ref, ocis_error_t **err)
{
	const char *mt, *digest;

	if (v == NULL || !YAJL_IS_OBJECT(v))
		return ocis_error_set(err, 0, "parsing " WHAT ": '%s': expected an object",
				      path);
	mt = ocis_json_get_str(v, "mediaType");
	digest = ocis_json_get_str(v, "digest");
	if (mt == NULL || *mt == 0 || strlen(mt) >= sizeof(ref->media_type))
		return ocis_error_set(err, 0, "parsing " WHAT ": '%s': missing or invalid "
				      "mediaType", path);
	if (digest == NULL || !ocis_digest_valid(digest))
		return ocis_error_set(err, 0, "parsing " WHAT ": '%s': missing or "
				      "malformed digest%s%s%s", path, digest ? " '" : "",
				      digest ? digest : "", digest ? "'" : "");
	if (ocis_json_get_u64(v, "size", &ref->size) < 0)
		return ocis_error_set(err, 0, "parsing " WHAT ": '%s': missing or invalid "
				      "size", path);
	strcpy(ref->media_type, mt);
	strcpy(ref->digest, digest);
	return 0;
}

/* A layer descriptor's annotations (lazy-pull TOC digests and positions),
 * kept as "key=value"; the layer descriptor's rules check them later. */
static int
parse_annotations(yajl_val v, const char *path, struct ocis_blob_ref *ref, ocis_error_t **err)
{
	yajl_val a = ocis_json_get(v, "annotations");
	size_t i;

	if (a == NULL)
		return 0;
	if (!YAJL_IS_OBJECT(a))
		return ocis_error_set(err, 0, "parsing " WHAT ": '%s': annotations is not an "
				      "object", path);
	for (i = 0; i < a->u.object.len; i++) {
		const char *val = YAJL_GET_STRING(a->u.object.values[i]);
		char *kv;
		int r;

		if (val == NULL)
			continue;
		if (asprintf(&kv, "%s=%s", a->u.object.keys[i], val) < 0)
			return ocis_error_oom(err);
		r = ocis_strv_push(&ref->annotations, kv, err);
		free(kv);
		if (r < 0)
			return -1;
	}
	return 0;
}

int
ocis_manifest_parse(struct ocis_manifest_info *m, const char *json, size_t len,
		    ocis_error_t **err)
{
	struct ocis_manifest_info n;
	yajl_val root = NULL, layers, mtv;
	const char *mt;
	uint64_t version;
	size_t i;
	char path[48];
	int r = -1;

	memset(&n, 0, sizeof(n));
	if (ocis_json_parse(json, len, WHAT, &root, err) < 0)
		return -1;
	if (!YAJL_IS_OBJECT(root)) {
		ocis_error_set(err, 0, "parsing " WHAT ": not a json object");
		goto out;
	}
	if (ocis_json_get_u64(root, "schemaVersion", &version) < 0 || version != 2) {
		ocis_error_set(err, 0, "parsing " WHAT ": 'schemaVersion' must be 2");
		goto out;
	}
	mtv = ocis_json_get(root, "mediaType");
	mt = ocis_json_get_str(root, "mediaType");
	if (mtv != NULL && (mt == NULL || (strcmp(mt, OCIS_MT_MANIFEST) != 0 &&
					   strcmp(mt, MT_DOCKER_MANIFEST) != 0))) {
		ocis_error_set(err, 0, "parsing " WHAT ": unsupported mediaType '%s'",
			       mt ? mt : "(not a string)");
		goto out;
	}
	snprintf(n.media_type, sizeof(n.media_type), "%s", mt ? mt : OCIS_MT_MANIFEST);
	if (parse_ref(ocis_json_get(root, "config"), "config", &n.config, err) < 0)
		goto out;
	layers = ocis_json_get(root, "layers");
	if (layers == NULL || !YAJL_IS_ARRAY(layers)) {
		ocis_error_set(err, 0, "parsing " WHAT ": 'layers': expected an array");
		goto out;
	}
	if (layers->u.array.len > 0) {
		n.layers = calloc(layers->u.array.len, sizeof(*n.layers));
		if (n.layers == NULL) {
			ocis_error_oom(err);
			goto out;
		}
	}
	for (i = 0; i < layers->u.array.len; i++) {
		snprintf(path, sizeof(path), "layers[%zu]", i);
		n.n_layers++;
		if (parse_ref(layers->u.array.values[i], path, &n.layers[i], err) < 0 ||
		    parse_annotations(layers->u.array.values[i], path, &n.layers[i], err) < 0)
			goto out;
	}
	*m = n;
	memset(&n, 0, sizeof(n));
	r = 0;
out:
	ocis_manifest_info_release(&n);
	yajl_tree_free(root);
	return r;
}

void
ocis_manifest_info_release(struct ocis_manifest_info *m)
{
	size_t i;

	for (i = 0; i < m->n_layers; i++)
		ocis_strv_clear(&m->layers[i].annotations);
	free(m->layers);
	memset(m, 0, sizeof(*m));
}
