/* SPDX-License-Identifier: MIT */
/*
 * The layer descriptor carried by ocipipe/layer.json: JSON in and out.
 * Bytes: keys in the fixed order mediaType, digest, size, diffID,
 * uncompressedSize, history{created, created_by, comment}.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ocistream/json.h>
#include <ocistream/layerdesc.h>

#include "internal.h"
#include "layerdesc-private.h"

void
ocis_layer_desc_release(struct ocis_layer_desc *d)
{
	free(d->history.created);
	free(d->history.created_by);
	free(d->history.comment);
	memset(d, 0, sizeof(*d));
}

int
ocis_media_type_is_layer(const char *mt)
{
	static const char *const known[] = {
		OCIS_MT_LAYER, OCIS_MT_LAYER "+gzip", OCIS_MT_LAYER "+zstd",
		"application/vnd.docker.image.rootfs.diff.tar.gzip",
		"application/vnd.oci.image.layer.nondistributable.v1.tar",
		"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
		"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
	};
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(mt, known[i]) == 0)
			return 1;
	return 0;
}

/* The compression a blob's first bytes show: "gzip", "zstd", "xz", or
 * NULL (none of these: a tar, or too short to tell). */
static const char *
data_compression(const unsigned char *b, size_t n)
{
	if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)
		return "gzip";
	/* a zstd frame, or a skippable frame (0x184D2A5?, little-endian) */
	if (n >= 4 && ((b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd) ||
		       ((b[0] & 0xf0) == 0x50 && b[1] == 0x2a && b[2] == 0x4d && b[3] == 0x18)))
		return "zstd";
	if (n >= 6 && memcmp(b, "\xfd" "7zXZ\0", 6) == 0)
		return "xz";
	return NULL;
}

/* The compression a layer media type says: "gzip", "zstd", or NULL. */
static const char *
type_compression(const char *mt)
{
	size_t n = strlen(mt);

	if (n > 5 && (!strcmp(mt + n - 5, "+gzip") || !strcmp(mt + n - 5, ".gzip")))
		return "gzip";
	if (n > 5 && !strcmp(mt + n - 5, "+zstd"))
		return "zstd";
	return NULL;
}

const char *
ocis__layer_data_mismatch(const char *media_type, const unsigned char *b, size_t n, char *buf,
			  size_t size)
{
	const char *want = type_compression(media_type), *got = data_compression(b, n);

	if (want == NULL && got == NULL)
		return NULL;
	if (want != NULL && got != NULL && !strcmp(want, got))
		return NULL;
	if (n == 0)
		snprintf(buf, size, "its blob is empty but its media type is %s", media_type);
	else
		snprintf(buf, size, "its data is %s but its media type is %s",
			 got ? got : "not compressed", media_type);
	return buf;
}

int
ocis_layer_desc_to_json(const struct ocis_layer_desc *d, struct ocis_buf *out, ocis_error_t **err)
{
	yajl_gen g = ocis_json_gen_new();
	const struct ocis_history *h = &d->history;
	int s = 0;

	if (g == NULL)
		return ocis_error_oom(err);
	s |= ocis_json_open_map(g);
	s |= ocis_json_kv_str(g, "mediaType", d->media_type);
	s |= ocis_json_kv_str(g, "digest", d->digest);
	s |= ocis_json_kv_u64(g, "size", d->size);
	s |= ocis_json_kv_str(g, "diffID", d->diff_id);
	s |= ocis_json_kv_u64(g, "uncompressedSize", d->uncompressed_size);
	if (h->created || h->created_by || h->comment) {
		s |= ocis_json_key(g, "history");
		s |= ocis_json_open_map(g);
		if (h->created)
			s |= ocis_json_kv_str(g, "created", h->created);
		if (h->created_by)
			s |= ocis_json_kv_str(g, "created_by", h->created_by);
		if (h->comment)
			s |= ocis_json_kv_str(g, "comment", h->comment);
		s |= ocis_json_close_map(g);
	}
	s |= ocis_json_close_map(g);
	return ocis_json_gen_finish(g, s, "layer descriptor", out, err);
}

int
ocis_layer_desc_from_json(struct ocis_layer_desc *d, const char *json, size_t len,
			  ocis_error_t **err)
{
	struct ocis_layer_desc n;
	yajl_val root = NULL, hist;
	const char *mt, *digest, *diff_id;
	int r = -1;

	memset(&n, 0, sizeof(n));
	if (ocis_json_parse(json, len, "layer descriptor", &root, err) < 0)
		return -1;
	mt = ocis_json_get_str(root, "mediaType");
	digest = ocis_json_get_str(root, "digest");
	diff_id = ocis_json_get_str(root, "diffID");
	if (mt == NULL || !ocis_media_type_is_layer(mt) || strlen(mt) >= sizeof(n.media_type)) {
		ocis_error_set(err, EINVAL, "missing or unknown layer mediaType");
		goto out;
	}
	if (!ocis_digest_valid(digest) || !ocis_digest_valid(diff_id)) {
		ocis_error_set(err, EINVAL, "missing or malformed digest or diffID");
		goto out;
	}
	if (ocis_json_get_u64(root, "size", &n.size) < 0 ||
	    ocis_json_get_u64(root, "uncompressedSize", &n.uncompressed_size) < 0) {
		ocis_error_set(err, EINVAL, "missing or malformed size");
		goto out;
	}
	strcpy(n.media_type, mt);
	strcpy(n.digest, digest);
	strcpy(n.diff_id, diff_id);
	hist = ocis_json_get(root, "history");
	if (hist != NULL) {
		if (!YAJL_IS_OBJECT(hist)) {
			ocis_error_set(err, EINVAL, "history is not an object");
			goto out;
		}
		if (ocis__strdup_opt(&n.history.created, ocis_json_get_str(hist, "created"), err) < 0 ||
		    ocis__strdup_opt(&n.history.created_by, ocis_json_get_str(hist, "created_by"), err) < 0 ||
		    ocis__strdup_opt(&n.history.comment, ocis_json_get_str(hist, "comment"), err) < 0)
			goto out;
	}
	*d = n;
	memset(&n, 0, sizeof(n));
	r = 0;
out:
	ocis_layer_desc_release(&n);
	yajl_tree_free(root);
	return r;
}

int
ocis_blob_desc_to_json(const struct ocis_layer_desc *d, struct ocis_buf *out, ocis_error_t **err)
{
	yajl_gen g = ocis_json_gen_new();
	int s = 0;

	if (g == NULL)
		return ocis_error_oom(err);
	s |= ocis_json_open_map(g);
	s |= ocis_json_kv_str(g, "digest", d->digest);
	s |= ocis_json_kv_u64(g, "size", d->size);
	s |= ocis_json_close_map(g);
	return ocis_json_gen_finish(g, s, "blob descriptor", out, err);
}

int
ocis_blob_desc_from_json(struct ocis_layer_desc *d, const char *json, size_t len,
			 ocis_error_t **err)
{
	yajl_val root = NULL;
	const char *digest;
	uint64_t size;
	int r = -1;

	if (ocis_json_parse(json, len, "blob descriptor", &root, err) < 0)
		return -1;
	digest = ocis_json_get_str(root, "digest");
	if (!ocis_digest_valid(digest) || ocis_json_get_u64(root, "size", &size) < 0) {
		ocis_error_set(err, 0, "missing or malformed digest or size");
		goto out;
	}
	memset(d, 0, sizeof(*d));
	strcpy(d->digest, digest);
	d->size = size;
	r = 0;
out:
	yajl_tree_free(root);
	return r;
}

/* --- the layers of an image being assembled ------------------------------ */

int
ocis_layer_list_push(struct ocis_layer_list *l, const struct ocis_layer_desc *d,
		     ocis_error_t **err)
{
	struct ocis_layer_desc n;

	if (l->n == l->alloc) {
		size_t na = l->alloc ? l->alloc * 2 : 8;
		struct ocis_layer_desc *v = realloc(l->v, na * sizeof(*v));
		if (v == NULL)
			return ocis_error_oom(err);
		l->v = v;
		l->alloc = na;
	}
	n = *d;
	if (ocis__strdup_opt(&n.history.created, d->history.created, err) < 0 ||
	    ocis__strdup_opt(&n.history.created_by, d->history.created_by, err) < 0 ||
	    ocis__strdup_opt(&n.history.comment, d->history.comment, err) < 0) {
		free(n.history.created);
		free(n.history.created_by);
		return -1;
	}
	l->v[l->n++] = n;
	return 0;
}

void
ocis_layer_list_clear(struct ocis_layer_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].history.created);
		free(l->v[i].history.created_by);
		free(l->v[i].history.comment);
	}
	free(l->v);
	l->v = NULL;
	l->n = l->alloc = 0;
}

