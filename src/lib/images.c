/* SPDX-License-Identifier: MIT */
/*
 * The images of an image stream: see ocistream/images.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <ocistream/images.h>
#include <ocistream/layercheck.h>
#include <ocistream/layerdesc.h>

/* The image being read: its layers so far, its config if the stream had
 * one. */
struct open_image {
	struct ocis_layer_list layers;
	struct ocis_buf config;
	int have_config;
};

static void
open_image_reset(struct open_image *im)
{
	ocis_layer_list_clear(&im->layers);
	ocis_buf_release(&im->config);
	im->have_config = 0;
}

void
ocis_image_set_release(struct ocis_image_set *s)
{
	size_t i;

	for (i = 0; i < s->n_blobs; i++)
		free(s->blobs[i].layers);
	free(s->blobs);
	ocis_index_release(&s->images);
	memset(s, 0, sizeof(*s));
}

/* The platform of a parsed config, copied into e. */
static int
config_platform(const struct ocis_config *c, struct ocis_index_entry *e, ocis_error_t **err)
{
	if (c->architecture == NULL || c->os == NULL)
		return ocis_error_set(err, 0, "image config has no architecture or os");
	ocis_index_entry_free_platform(e);
	if ((e->arch = strdup(c->architecture)) == NULL || (e->os = strdup(c->os)) == NULL ||
	    (c->variant && (e->variant = strdup(c->variant)) == NULL)) {
		ocis_index_entry_free_platform(e);
		return ocis_error_oom(err);
	}
	return 0;
}

int
ocis_images_config_platform(const void *json, size_t len, struct ocis_index_entry *e,
			    struct ocis_config *keep, ocis_error_t **err)
{
	struct ocis_config c;
	int r;

	ocis_config_init(&c);
	if (ocis_config_from_json(&c, json, len, err) < 0)
		return ocis_error_wrap(err, "image config");
	r = config_platform(&c, e, err);
	if (r == 0 && keep != NULL)
		*keep = c;
	else
		ocis_config_release(&c);
	return r;
}

/* Make the default config for an image that has none. */
static int
default_config(const struct open_image *im, const struct ocis_images_opts *o,
	       struct ocis_buf *out, ocis_error_t **err)
{
	struct ocis_config c;
	int r = -1;

	ocis_config_init(&c);
	if ((o->arch && (c.architecture = strdup(o->arch)) == NULL) ||
	    (o->variant && (c.variant = strdup(o->variant)) == NULL) ||
	    (o->os && (c.os = strdup(o->os)) == NULL)) {
		ocis_error_oom(err);
		goto out;
	}
	/* The same calls as oci-config and oci-manifest, so every stage makes
	 * the same default bytes. */
	if (ocis_config_set_defaults(&c, o->created, err) < 0 ||
	    ocis_config_sync_layers(&c, im->layers.v, im->layers.n, err) < 0)
		goto out;
	r = ocis_config_to_json(&c, out, err);
out:
	ocis_config_release(&c);
	return r;
}

/* Check that a config describes exactly these layers, and take its
 * platform for the index. */
static int
check_config(const struct open_image *im, const struct ocis_buf *json,
	     struct ocis_index_entry *plat, ocis_error_t **err)
{
	struct ocis_config c;
	size_t i;
	int r = -1;

	if (ocis_images_config_platform(json->data, json->len, plat, &c, err) < 0)
		return -1;
	if (c.diff_ids.n != im->layers.n) {
		ocis_error_set(err, 0, "image config lists %zu layers (rootfs.diff_ids) but the "
			       "stream carries %zu", c.diff_ids.n, im->layers.n);
		goto out;
	}
	for (i = 0; i < im->layers.n; i++)
		if (strcmp(c.diff_ids.v[i], im->layers.v[i].diff_id) != 0) {
			ocis_error_set(err, 0, "image config diff_id %zu is %s but layer %zu has "
				       "%s", i + 1, c.diff_ids.v[i], i + 1, im->layers.v[i].diff_id);
			goto out;
		}
	r = 0;
out:
	ocis_config_release(&c);
	return r;
}

static int
check_manifest(const struct open_image *im, const char *config_digest, const unsigned char *json,
	       size_t len, const char *want_type, ocis_error_t **err)
{
	struct ocis_manifest_info m;
	size_t i;
	int r = -1;

	memset(&m, 0, sizeof(m));
	if (ocis_manifest_parse(&m, (const char *)json, len, err) < 0)
		return ocis_error_wrap(err, "image manifest");
	if (strcmp(m.media_type, want_type) != 0) {
		ocis_error_set(err, 0, "the stream's manifest has media type %s, not %s "
			       "(give oci-manifest and oci-pack the same --media-types)",
			       m.media_type, want_type);
		goto out;
	}
	if (strcmp(m.config.digest, config_digest) != 0) {
		ocis_error_set(err, 0, "image manifest names config %s but the stream's config "
			       "is %s", m.config.digest, config_digest);
		goto out;
	}
	if (m.n_layers != im->layers.n) {
		ocis_error_set(err, 0, "image manifest lists %zu layers but the stream carries "
			       "%zu", m.n_layers, im->layers.n);
		goto out;
	}
	for (i = 0; i < m.n_layers; i++)
		if (strcmp(m.layers[i].digest, im->layers.v[i].digest) != 0 ||
		    m.layers[i].size != im->layers.v[i].size) {
			ocis_error_set(err, 0, "image manifest layer %zu (%s) differs from the "
				       "stream's layer %s", i + 1, m.layers[i].digest,
				       im->layers.v[i].digest);
			goto out;
		}
	r = 0;
out:
	ocis_manifest_info_release(&m);
	return r;
}

/*
 * The stream's config, exact bytes when it describes all the image's
 * layers; when its diff_ids are a prefix of them (a base image's config
 * with layers added on top and no oci-config after), extended the way
 * oci-manifest does it.
 */
static int
extend_config(const struct open_image *im, struct ocis_buf *out, ocis_error_t **err)
{
	struct ocis_config c;
	int r = -1;

	ocis_config_init(&c);
	if (ocis_config_from_json(&c, (const char *)im->config.data, im->config.len, err) < 0) {
		ocis_error_wrap(err, "image config");
		goto out;
	}
	if (c.diff_ids.n == im->layers.n) {
		r = ocis_buf_add(out, im->config.data, im->config.len, err);
		goto out;
	}
	if (ocis_config_sync_layers(&c, im->layers.v, im->layers.n, err) < 0 ||
	    ocis_config_to_json(&c, out, err) < 0)
		goto out;
	r = 0;
out:
	ocis_config_release(&c);
	return r;
}

/* What a docker-archive needs of an image: its blobs by digest. */
static int
record_blobs(const struct open_image *im, const char *config_digest, struct ocis_image_blobs *b,
	     ocis_error_t **err)
{
	size_t i;

	b->layers = calloc(im->layers.n ? im->layers.n : 1, sizeof(*b->layers));
	if (b->layers == NULL)
		return ocis_error_oom(err);
	for (i = 0; i < im->layers.n; i++)
		memcpy(b->layers[i], im->layers.v[i].digest, OCIS_DIGEST_STR_SIZE);
	b->n_layers = im->layers.n;
	memcpy(b->config, config_digest, OCIS_DIGEST_STR_SIZE);
	return 0;
}

/* Close the current image: its config and manifest through the sink,
 * its entry added to the set. */
static int
close_image(struct open_image *im, const unsigned char *manifest, size_t manifest_len,
	    const struct ocis_blob_sink *sink, const struct ocis_images_opts *o,
	    struct ocis_image_set *set, ocis_error_t **err)
{
	struct ocis_buf cfg = OCIS_BUF_INIT, man = OCIS_BUF_INIT;
	struct ocis_index_entry e;
	struct ocis_image_blobs *nb;
	char cdigest[OCIS_DIGEST_STR_SIZE];
	int r = -1;

	memset(&e, 0, sizeof(e));
	if (im->have_config) {
		if (extend_config(im, &cfg, err) < 0)
			goto out;
	} else if (default_config(im, o, &cfg, err) < 0) {
		goto out;
	}
	if (check_config(im, &cfg, &e, err) < 0)
		goto out;
	if (sink->put_blob(sink->ctx, o->types == OCIS_TYPES_DOCKER ? OCIS_MT_DOCKER_CONFIG
								    : OCIS_MT_CONFIG,
			   cfg.data, cfg.len, cdigest, err) < 0)
		goto out;
	strcpy(e.ref.media_type, o->types == OCIS_TYPES_DOCKER ? OCIS_MT_DOCKER_MANIFEST
								 : OCIS_MT_MANIFEST);
	if (manifest) {
		if (check_manifest(im, cdigest, manifest, manifest_len, e.ref.media_type,
				   err) < 0)
			goto out;
		if (ocis_buf_add(&man, manifest, manifest_len, err) < 0)
			goto out;
	} else if (ocis_manifest_build_typed(o->types, cfg.data, cfg.len, im->layers.v,
					     im->layers.n, NULL, 0, &man, err) < 0) {
		goto out;
	}
	if (sink->put_blob(sink->ctx, e.ref.media_type, man.data, man.len, e.ref.digest, err) < 0)
		goto out;
	e.ref.size = man.len;
	nb = realloc(set->blobs, (set->n_blobs + 1) * sizeof(*nb));
	if (nb == NULL) {
		ocis_error_oom(err);
		goto out;
	}
	set->blobs = nb;
	memset(&nb[set->n_blobs], 0, sizeof(*nb));
	if (record_blobs(im, cdigest, &nb[set->n_blobs], err) < 0)
		goto out;
	set->n_blobs++;
	if (ocis_index_add(&set->images, &e, err) < 0)
		goto out;
	r = 0;
out:
	ocis_index_entry_free_platform(&e);
	ocis_buf_release(&cfg);
	ocis_buf_release(&man);
	open_image_reset(im);
	return r;
}

/* A chunk entry: its bytes through the sink and the layer check, a run
 * begun if none is. */
static int
pass_chunk(struct ocis_stream_reader *r, const struct ocis_stream_entry *e,
	   const struct ocis_blob_sink *sink, struct ocis_layercheck *check, int *blob_open,
	   ocis_error_t **err)
{
	unsigned char buf[65536];
	ssize_t n;

	if (!*blob_open && (e->run_digest && sink->blob_begin_known
				    ? sink->blob_begin_known(sink->ctx, e->run_digest, e->run_size,
							     err)
				    : sink->blob_begin(sink->ctx, err)) < 0)
		return -1;
	*blob_open = 1;
	while ((n = ocis_stream_read(r, buf, sizeof(buf), err)) > 0)
		if (sink->blob_write(sink->ctx, buf, (size_t)n, err) < 0 ||
		    ocis_layercheck_feed(check, buf, (size_t)n, err) < 0)
			return -1;
	return n < 0 ? -1 : 0;
}

/* A chunk run closed by its descriptor: stored, its check ended. */
static int
commit_blob(const struct ocis_blob_sink *sink, struct ocis_layercheck *check,
	    const struct ocis_layer_desc *d, ocis_error_t **err)
{
	if (sink->blob_commit(sink->ctx, d->digest, d->size, err) < 0 ||
	    ocis_layercheck_end_blob(check, d->digest, err) < 0)
		return -1;
	return 0;
}

static int
read_entries(struct ocis_stream_reader *r, const struct ocis_blob_sink *sink,
	     struct ocis_layercheck *check, const struct ocis_images_opts *o,
	     struct open_image *im, struct ocis_image_set *set, ocis_error_t **err)
{
	struct ocis_stream_entry e;
	int blob_open = 0, rc;

	while ((rc = ocis_stream_next(r, &e, err)) > 0) {
		switch (e.kind) {
		case OCIS_ENTRY_CHUNK:
			if (pass_chunk(r, &e, sink, check, &blob_open, err) < 0)
				return -1;
			if (o->progress)
				o->progress(o->cb_ctx, ocis_stream_input_offset(r), set->layers);
			break;
		case OCIS_ENTRY_BLOB:
			/* A base image's blob: stored now, used by a layer
			 * reference later (or not at all). */
			if (commit_blob(sink, check, e.layer, err) < 0)
				return -1;
			blob_open = 0;
			break;
		case OCIS_ENTRY_LAYER:
			if (!e.layer_ref && commit_blob(sink, check, e.layer, err) < 0)
				return -1;
			/* its diffID is a claim until the bytes say so */
			if (ocis_layer_list_push(&im->layers, e.layer, err) < 0 ||
			    ocis_layercheck_expect(check, e.layer, set->layers + 1, err) < 0)
				return -1;
			blob_open = 0;
			set->layers++;
			break;
		case OCIS_ENTRY_CONFIG:
			if (im->have_config)
				return ocis_error_set(err, 0, "image stream has two configs for one "
						      "image (second at byte %llu)",
						      (unsigned long long)e.offset);
			if (ocis_buf_add(&im->config, e.data, (size_t)e.size, err) < 0)
				return -1;
			im->have_config = 1;
			break;
		case OCIS_ENTRY_MANIFEST:
			if (!im->have_config)
				return ocis_error_set(err, 0, "image stream has a manifest without "
						      "a config");
			if (close_image(im, e.data, (size_t)e.size, sink, o, set, err) < 0)
				return -1;
			break;
		case OCIS_ENTRY_ERROR:
			return ocis_error_set(err, 0, "an earlier stage failed: %.*s",
					      (int)(e.size > 400 ? 400 : e.size),
					      (const char *)e.data);
		}
	}
	return rc;
}

int
ocis_images_read(struct ocis_stream_reader *r, const struct ocis_blob_sink *sink,
		 const struct ocis_images_opts *o, struct ocis_image_set *out,
		 ocis_error_t **err)
{
	struct open_image im;
	struct ocis_layercheck *check = NULL;
	int ret = -1;

	memset(&im, 0, sizeof(im));
	memset(out, 0, sizeof(*out));
	/* Every layer's diffID checked before the caller tags anything
	 * (docs/reliability.md): a stream may be hand-made, and a client
	 * refuses a layer that is not its diff_id ("diffid mismatch"). */
	if (ocis_layercheck_new(&check, err) < 0)
		goto out;
	if (read_entries(r, sink, check, o, &im, out, err) < 0)
		goto out;
	/* the open image at the end: closed here, as oci-manifest would */
	if ((im.layers.n > 0 || im.have_config) &&
	    close_image(&im, NULL, 0, sink, o, out, err) < 0)
		goto out;
	if (out->images.n == 0) {
		ocis_error_set(err, 0, "image stream holds no image");
		goto out;
	}
	if (ocis_layercheck_finish(check, err) < 0)
		goto out;
	ret = 0;
out:
	ocis_layercheck_free(check);
	open_image_reset(&im);
	if (ret < 0)
		ocis_image_set_release(out);
	return ret;
}

int
ocis_images_check_platforms(const struct ocis_index *images, int allow_same,
			    ocis_error_t **err)
{
	size_t i, j;

	for (i = 0; i < images->n && !allow_same; i++)
		for (j = i + 1; j < images->n; j++)
			if (ocis_index_same_platform(&images->v[i], &images->v[j]))
				return ocis_error_set(err, 0, "images %zu and %zu are both for "
						      "%s/%s%s%s (use --allow-same-platform to "
						      "keep both)", i + 1, j + 1, images->v[i].os,
						      images->v[i].arch,
						      images->v[i].variant ? "/" : "",
						      images->v[i].variant ? images->v[i].variant
									   : "");
	return 0;
}

int
ocis_images_target(const struct ocis_index *images, enum ocis_media_types types,
		   const struct ocis_blob_sink *sink, struct ocis_index_entry *target,
		   ocis_error_t **err)
{
	struct ocis_buf data = OCIS_BUF_INIT;
	const char *mt = types == OCIS_TYPES_DOCKER ? OCIS_MT_DOCKER_LIST : OCIS_MT_INDEX;
	int r = -1;

	memset(target, 0, sizeof(*target));
	if (images->n == 1) {
		target->ref = images->v[0].ref;
		if ((images->v[0].arch && (target->arch = strdup(images->v[0].arch)) == NULL) ||
		    (images->v[0].os && (target->os = strdup(images->v[0].os)) == NULL) ||
		    (images->v[0].variant &&
		     (target->variant = strdup(images->v[0].variant)) == NULL)) {
			ocis_index_entry_free_platform(target);
			return ocis_error_oom(err);
		}
		return 0;
	}
	if (ocis_index_to_json_typed(images, mt, &data, err) < 0 ||
	    sink->put_blob(sink->ctx, mt, data.data, data.len, target->ref.digest, err) < 0)
		goto out;
	strcpy(target->ref.media_type, mt);
	target->ref.size = data.len;
	r = 0;
out:
	ocis_buf_release(&data);
	return r;
}
