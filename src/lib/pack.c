/* SPDX-License-Identifier: MIT */
/* Image stream -> OCI layout: see ocistream/pack.h. */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <ocistream/config.h>
#include <ocistream/index.h>
#include <ocistream/json.h>
#include <ocistream/layercheck.h>
#include <ocistream/manifest.h>
#include <ocistream/pack.h>

/* What manifest.json of a docker-archive needs of an image. */
struct docker_img {
	char config[OCIS_DIGEST_STR_SIZE];
	char (*layers)[OCIS_DIGEST_STR_SIZE];
	size_t n_layers;
};

struct image {
	struct ocis_layer_desc *layers;
	size_t n_layers;
	struct ocis_buf config;		/* config bytes, if the stream had one */
	int have_config;
};

static void
image_reset(struct image *im)
{
	size_t i;

	for (i = 0; i < im->n_layers; i++)
		ocis_layer_desc_release(&im->layers[i]);
	free(im->layers);
	im->layers = NULL;
	im->n_layers = 0;
	ocis_buf_release(&im->config);
	im->have_config = 0;
}

static char *
xstrdup_opt(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int
copy_desc(struct ocis_layer_desc *dst, const struct ocis_layer_desc *src, ocis_error_t **err)
{
	*dst = *src;
	dst->history.created = xstrdup_opt(src->history.created);
	dst->history.created_by = xstrdup_opt(src->history.created_by);
	dst->history.comment = xstrdup_opt(src->history.comment);
	if ((src->history.created && !dst->history.created) ||
	    (src->history.created_by && !dst->history.created_by) ||
	    (src->history.comment && !dst->history.comment)) {
		ocis_layer_desc_release(dst);
		return ocis_error_oom(err);
	}
	return 0;
}

static int
add_layer(struct image *im, const struct ocis_layer_desc *d, ocis_error_t **err)
{
	struct ocis_layer_desc *v = realloc(im->layers, (im->n_layers + 1) * sizeof(*v));

	if (v == NULL)
		return ocis_error_oom(err);
	im->layers = v;
	if (copy_desc(&im->layers[im->n_layers], d, err) < 0)
		return -1;
	im->n_layers++;
	return 0;
}

/* Make the default config for an image that has none. */
static int
default_config(const struct image *im, const struct ocis_pack_opts *o, struct ocis_buf *out,
	       ocis_error_t **err)
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
	    ocis_config_sync_layers(&c, im->layers, im->n_layers, err) < 0)
		goto out;
	r = ocis_config_to_json(&c, out, err);
out:
	ocis_config_release(&c);
	return r;
}

/* Check that a config from the stream describes exactly these layers, and
 * take its platform for the index. */
static int
check_config(const struct image *im, const struct ocis_buf *json, struct ocis_index_entry *plat,
	     ocis_error_t **err)
{
	struct ocis_config c;
	size_t i;
	int r = -1;

	ocis_config_init(&c);
	if (ocis_config_from_json(&c, (const char *)json->data, json->len, err) < 0) {
		ocis_error_wrap(err, "image config");
		goto out;
	}
	if (c.diff_ids.n != im->n_layers) {
		ocis_error_set(err, 0, "image config lists %zu layers (rootfs.diff_ids) but the "
			       "stream carries %zu", c.diff_ids.n, im->n_layers);
		goto out;
	}
	for (i = 0; i < im->n_layers; i++)
		if (strcmp(c.diff_ids.v[i], im->layers[i].diff_id) != 0) {
			ocis_error_set(err, 0, "image config diff_id %zu is %s but layer %zu has "
				       "%s", i + 1, c.diff_ids.v[i], i + 1, im->layers[i].diff_id);
			goto out;
		}
	if (c.architecture == NULL || c.os == NULL) {
		ocis_error_set(err, 0, "image config has no architecture or os");
		goto out;
	}
	plat->arch = c.architecture;
	plat->os = c.os;
	plat->variant = c.variant;
	c.architecture = c.os = c.variant = NULL;
	r = 0;
out:
	ocis_config_release(&c);
	return r;
}

static int
check_manifest(const struct image *im, const char *config_digest, const unsigned char *json,
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
	if (m.n_layers != im->n_layers) {
		ocis_error_set(err, 0, "image manifest lists %zu layers but the stream carries "
			       "%zu", m.n_layers, im->n_layers);
		goto out;
	}
	for (i = 0; i < m.n_layers; i++)
		if (strcmp(m.layers[i].digest, im->layers[i].digest) != 0 ||
		    m.layers[i].size != im->layers[i].size) {
			ocis_error_set(err, 0, "image manifest layer %zu (%s) differs from the "
				       "stream's layer %s", i + 1, m.layers[i].digest,
				       im->layers[i].digest);
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
extend_config(const struct image *im, struct ocis_buf *out, ocis_error_t **err)
{
	struct ocis_config c;
	int r = -1;

	ocis_config_init(&c);
	if (ocis_config_from_json(&c, (const char *)im->config.data, im->config.len, err) < 0) {
		ocis_error_wrap(err, "image config");
		goto out;
	}
	if (c.diff_ids.n == im->n_layers) {
		r = ocis_buf_add(out, im->config.data, im->config.len, err);
		goto out;
	}
	if (ocis_config_sync_layers(&c, im->layers, im->n_layers, err) < 0 ||
	    ocis_config_to_json(&c, out, err) < 0)
		goto out;
	r = 0;
out:
	ocis_config_release(&c);
	return r;
}

static void
entry_free_strings(struct ocis_index_entry *e)
{
	free(e->arch);
	free(e->os);
	free(e->variant);
	e->arch = e->os = e->variant = NULL;
}

/* Close the current image: store config and manifest, add it to imgs. */
static int
close_image(struct image *im, const unsigned char *manifest, size_t manifest_len,
	    struct ocis_layout *l, const struct ocis_pack_opts *o, struct ocis_index *imgs,
	    struct docker_img *dimg, ocis_error_t **err)
{
	struct ocis_buf cfg = OCIS_BUF_INIT, man = OCIS_BUF_INIT;
	struct ocis_index_entry e;
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
	if (ocis_layout_put_blob(l, cfg.data, cfg.len, cdigest, err) < 0)
		goto out;
	strcpy(e.ref.media_type, o->types == OCIS_TYPES_DOCKER ? OCIS_MT_DOCKER_MANIFEST
								 : OCIS_MT_MANIFEST);
	if (manifest) {
		if (check_manifest(im, cdigest, manifest, manifest_len, e.ref.media_type,
				   err) < 0)
			goto out;
		if (ocis_buf_add(&man, manifest, manifest_len, err) < 0)
			goto out;
	} else if (ocis_manifest_build_typed(o->types, cfg.data, cfg.len, im->layers,
					     im->n_layers, NULL, 0, &man, err) < 0) {
		goto out;
	}
	if (ocis_layout_put_blob(l, man.data, man.len, e.ref.digest, err) < 0)
		goto out;
	e.ref.size = man.len;
	if (dimg) {
		size_t i;
		free(dimg->layers);
		dimg->layers = calloc(im->n_layers ? im->n_layers : 1, sizeof(*dimg->layers));
		if (dimg->layers == NULL) {
			ocis_error_oom(err);
			goto out;
		}
		for (i = 0; i < im->n_layers; i++)
			memcpy(dimg->layers[i], im->layers[i].digest, OCIS_DIGEST_STR_SIZE);
		dimg->n_layers = im->n_layers;
		memcpy(dimg->config, cdigest, sizeof(cdigest));
	}
	if (ocis_index_add(imgs, &e, err) < 0)
		goto out;
	r = 0;
out:
	entry_free_strings(&e);
	ocis_buf_release(&cfg);
	ocis_buf_release(&man);
	image_reset(im);
	return r;
}

static int
same_platform(const struct ocis_index_entry *a, const struct ocis_index_entry *b)
{
	return strcmp(a->arch, b->arch) == 0 && strcmp(a->os, b->os) == 0 &&
	       strcmp(a->variant ? a->variant : "", b->variant ? b->variant : "") == 0;
}

static int
repo_tag(const struct ocis_pack_opts *o, size_t i, struct ocis_buf *out, ocis_error_t **err)
{
	const char *t = o->tags[i], *slash = strrchr(t, '/');

	ocis_buf_reset(out);
	if (strchr(slash ? slash : t, ':') != NULL)
		return ocis_buf_addstr(out, t, err);	/* already name:tag */
	return ocis_buf_addf(out, err, "%s:%s", o->docker_name ? o->docker_name : "ocipipe", t);
}

/*
 * docker-archive extras: manifest.json ([{Config, RepoTags, Layers}], the
 * paths of the same blobs) and the legacy repositories file, whose values
 * are the image ID (config digest hex): loaders that read manifest.json
 * (docker >= 1.10, podman, skopeo) ignore it.
 */
static int
write_docker_files(struct ocis_layout *l, const struct ocis_pack_opts *o,
		   const struct docker_img *d, ocis_error_t **err)
{
	struct ocis_buf json = OCIS_BUF_INIT, tag = OCIS_BUF_INIT;
	yajl_gen g = ocis_json_gen_new();
	size_t i;
	int s = 0, r = -1;

	if (g == NULL)
		return ocis_error_oom(err);
	s |= ocis_json_open_array(g);
	s |= ocis_json_open_map(g);
	if (ocis_buf_addf(&tag, err, "blobs/sha256/%s", d->config + 7) < 0)
		goto out;
	s |= ocis_json_kv_str(g, "Config", (char *)tag.data);
	s |= ocis_json_key(g, "RepoTags");
	s |= ocis_json_open_array(g);
	for (i = 0; i < o->n_tags; i++) {
		if (repo_tag(o, i, &tag, err) < 0)
			goto out;
		s |= ocis_json_str(g, (char *)tag.data);
	}
	s |= ocis_json_close_array(g);
	s |= ocis_json_key(g, "Layers");
	s |= ocis_json_open_array(g);
	for (i = 0; i < d->n_layers; i++) {
		ocis_buf_reset(&tag);
		if (ocis_buf_addf(&tag, err, "blobs/sha256/%s", d->layers[i] + 7) < 0)
			goto out;
		s |= ocis_json_str(g, (char *)tag.data);
	}
	s |= ocis_json_close_array(g);
	s |= ocis_json_close_map(g);
	s |= ocis_json_close_array(g);
	if (ocis_json_gen_finish(g, s, "docker manifest.json", &json, err) < 0) {
		g = NULL;
		goto out;
	}
	g = NULL;
	if (ocis_layout_add_file(l, "manifest.json", json.data, json.len, err) < 0)
		goto out;

	g = ocis_json_gen_new();
	if (g == NULL) {
		ocis_error_oom(err);
		goto out;
	}
	s = 0;
	s |= ocis_json_open_map(g);
	/* {"name": {"tag": id, ...}, ...}: tags grouped under their name */
	for (i = 0; i < o->n_tags; i++) {
		size_t j, k, nlen;
		int first = 1;

		if (repo_tag(o, i, &tag, err) < 0)
			goto out;
		nlen = (size_t)(strrchr((char *)tag.data, ':') - (char *)tag.data);
		for (j = 0; j < i && first; j++) {
			struct ocis_buf prev = OCIS_BUF_INIT;
			if (repo_tag(o, j, &prev, err) < 0) {
				ocis_buf_release(&prev);
				goto out;
			}
			if (strrchr((char *)prev.data, ':') - (char *)prev.data == (ptrdiff_t)nlen &&
			    memcmp(prev.data, tag.data, nlen) == 0)
				first = 0;
			ocis_buf_release(&prev);
		}
		if (!first)
			continue;
		s |= ocis_json_strn(g, (char *)tag.data, nlen);
		s |= ocis_json_open_map(g);
		for (k = i; k < o->n_tags; k++) {
			struct ocis_buf t = OCIS_BUF_INIT;
			if (repo_tag(o, k, &t, err) < 0) {
				ocis_buf_release(&t);
				goto out;
			}
			if (strrchr((char *)t.data, ':') - (char *)t.data == (ptrdiff_t)nlen &&
			    memcmp(t.data, tag.data, nlen) == 0)
				s |= ocis_json_kv_str(g, (char *)t.data + nlen + 1, d->config + 7);
			ocis_buf_release(&t);
		}
		s |= ocis_json_close_map(g);
	}
	s |= ocis_json_close_map(g);
	if (ocis_json_gen_finish(g, s, "docker repositories", &json, err) < 0) {
		g = NULL;
		goto out;
	}
	g = NULL;
	r = ocis_layout_add_file(l, "repositories", json.data, json.len, err);
out:
	if (g)
		yajl_gen_free(g);
	ocis_buf_release(&json);
	ocis_buf_release(&tag);
	return r;
}

/* The platform of a manifest in the layout: from its config blob. */
static int
manifest_platform(struct ocis_layout *l, const char *digest, struct ocis_index_entry *e,
		  ocis_error_t **err)
{
	struct ocis_buf mb = OCIS_BUF_INIT, cb = OCIS_BUF_INIT;
	struct ocis_manifest_info m;
	struct ocis_config c;
	int r = -1;

	memset(&m, 0, sizeof(m));
	ocis_config_init(&c);
	if (ocis_layout_read_blob(l, digest, &mb, OCIS_META_MAX, err) < 0 ||
	    ocis_manifest_parse(&m, (const char *)mb.data, mb.len, err) < 0 ||
	    ocis_layout_read_blob(l, m.config.digest, &cb, OCIS_META_MAX, err) < 0 ||
	    ocis_config_from_json(&c, (const char *)cb.data, cb.len, err) < 0)
		goto out;
	if (c.architecture == NULL || c.os == NULL) {
		ocis_error_set(err, 0, "image %s has no platform in its config", digest);
		goto out;
	}
	e->arch = c.architecture;
	e->os = c.os;
	e->variant = c.variant;
	c.architecture = c.os = c.variant = NULL;
	r = 0;
out:
	ocis_manifest_info_release(&m);
	ocis_config_release(&c);
	ocis_buf_release(&mb);
	ocis_buf_release(&cb);
	return r;
}

/*
 * --add-platform: the images the first tag points at in the layout (one
 * manifest or an index of them) join the new ones; a new image replaces an
 * old one of the same platform.
 */
static int
merge_existing_platforms(struct ocis_layout *l, const struct ocis_index *top,
			 const struct ocis_pack_opts *o, struct ocis_index *imgs, ocis_error_t **err)
{
	const struct ocis_index_entry *cur = NULL;
	struct ocis_index old = { NULL, 0, NULL }, merged = { NULL, 0, NULL };
	struct ocis_buf blob = OCIS_BUF_INIT;
	size_t i, j;
	int r = -1;

	for (i = 0; i < top->n; i++)
		if (top->v[i].ref_name && strcmp(top->v[i].ref_name, o->tags[0]) == 0)
			cur = &top->v[i];
	if (cur == NULL)
		return 0;	/* a new tag: nothing to add to */
	if (!strcmp(cur->ref.media_type, OCIS_MT_INDEX) ||
	    !strcmp(cur->ref.media_type, OCIS_MT_DOCKER_LIST)) {
		if (ocis_layout_read_blob(l, cur->ref.digest, &blob, OCIS_META_MAX, err) < 0 ||
		    ocis_index_from_json(&old, (const char *)blob.data, blob.len, err) < 0)
			goto out;
	} else {
		struct ocis_index_entry e = *cur;
		e.ref_name = NULL;
		e.annotations = NULL;
		e.n_annotations = 0;
		if (cur->arch == NULL || cur->os == NULL) {
			if (manifest_platform(l, cur->ref.digest, &e, err) < 0)
				goto out;
			r = ocis_index_add(&old, &e, err);
			free(e.arch);
			free(e.os);
			free(e.variant);
			if (r < 0)
				goto out;
			r = -1;
		} else if (ocis_index_add(&old, &e, err) < 0) {
			goto out;
		}
	}
	for (i = 0; i < old.n; i++) {
		int replaced = 0;
		for (j = 0; j < imgs->n; j++)
			if (old.v[i].arch && old.v[i].os && same_platform(&old.v[i], &imgs->v[j]))
				replaced = 1;
		if (!replaced && ocis_index_add(&merged, &old.v[i], err) < 0)
			goto out;
	}
	for (j = 0; j < imgs->n; j++)
		if (ocis_index_add(&merged, &imgs->v[j], err) < 0)
			goto out;
	ocis_index_release(imgs);
	*imgs = merged;
	merged.v = NULL;
	merged.n = 0;
	r = 0;
out:
	ocis_index_release(&old);
	ocis_index_release(&merged);
	ocis_buf_release(&blob);
	if (r < 0)
		ocis_error_wrap(err, "--add-platform to '%s'", o->tags[0]);
	return r;
}

int
ocis_pack(struct ocis_stream_reader *r, struct ocis_layout *l, const struct ocis_pack_opts *o,
	  struct ocis_pack_stats *stats, ocis_error_t **err)
{
	struct image im;
	struct ocis_index imgs = { NULL, 0, NULL }, top = { NULL, 0, NULL };
	struct ocis_stream_entry e;
	struct ocis_buf json = OCIS_BUF_INIT, data = OCIS_BUF_INIT;
	struct ocis_index_entry target;
	struct docker_img dimg;
	struct ocis_layercheck *check = NULL;
	size_t i, j, layers = 0;
	int blob_open = 0, rc, ret = -1;

	memset(&im, 0, sizeof(im));
	memset(&target, 0, sizeof(target));
	memset(&dimg, 0, sizeof(dimg));
	data.cap_limit = 0;
	/* Every blob is decompressed beside its writing and each layer's
	 * diffID checked before index.json (docs/reliability.md): a stream
	 * may be hand-made, and a client refuses a layer that is not its
	 * diff_id ("diffid mismatch"). */
	if (ocis_layercheck_new(&check, err) < 0)
		goto out;
	while ((rc = ocis_stream_next(r, &e, err)) > 0) {
		switch (e.kind) {
		case OCIS_ENTRY_CHUNK: {
			unsigned char buf[65536];
			ssize_t n;
			if (!blob_open && ocis_layout_blob_begin(l, err) < 0)
				goto out;
			blob_open = 1;
			while ((n = ocis_stream_read(r, buf, sizeof(buf), err)) > 0)
				if (ocis_layout_blob_write(l, buf, (size_t)n, err) < 0 ||
				    ocis_layercheck_feed(check, buf, (size_t)n, err) < 0)
					goto out;
			if (n < 0)
				goto out;
			if (o->progress)
				o->progress(o->cb_ctx, ocis_stream_input_offset(r), layers);
			break;
		}
		case OCIS_ENTRY_BLOB:
			/* A base image's blob: stored now, used by a layer
			 * reference later (or not at all). */
			if (ocis_layout_blob_commit(l, e.layer->digest, e.layer->size, err) < 0 ||
			    ocis_layercheck_end_blob(check, e.layer->digest, err) < 0)
				goto out;
			blob_open = 0;
			break;
		case OCIS_ENTRY_LAYER:
			if (!e.layer_ref &&
			    (ocis_layout_blob_commit(l, e.layer->digest, e.layer->size, err) < 0 ||
			     ocis_layercheck_end_blob(check, e.layer->digest, err) < 0))
				goto out;
			if (add_layer(&im, e.layer, err) < 0 ||
			    ocis_layercheck_expect(check, e.layer, layers + 1, err) < 0)
				goto out;
			blob_open = 0;
			layers++;
			break;
		case OCIS_ENTRY_CONFIG:
			if (im.have_config) {
				ocis_error_set(err, 0, "image stream has two configs for one image "
					       "(second at byte %llu)", (unsigned long long)e.offset);
				goto out;
			}
			if (ocis_buf_add(&im.config, e.data, (size_t)e.size, err) < 0)
				goto out;
			im.have_config = 1;
			break;
		case OCIS_ENTRY_MANIFEST:
			if (!im.have_config) {
				ocis_error_set(err, 0, "image stream has a manifest without a config");
				goto out;
			}
			if (close_image(&im, e.data, (size_t)e.size, l, o, &imgs, &dimg, err) < 0)
				goto out;
			break;
		case OCIS_ENTRY_ERROR:
			ocis_error_set(err, 0, "an earlier stage failed: %.*s",
				       (int)(e.size > 400 ? 400 : e.size), (const char *)e.data);
			goto out;
		}
	}
	if (rc < 0)
		goto out;
	if (im.n_layers > 0 || im.have_config) {
		if (close_image(&im, NULL, 0, l, o, &imgs, &dimg, err) < 0)
			goto out;
	}
	if (imgs.n == 0) {
		ocis_error_set(err, 0, "image stream holds no image");
		goto out;
	}
	for (i = 0; i < imgs.n; i++)
		for (j = i + 1; j < imgs.n; j++)
			if (!o->allow_same_platform && same_platform(&imgs.v[i], &imgs.v[j])) {
				ocis_error_set(err, 0, "images %zu and %zu are both for %s/%s%s%s "
					       "(use --allow-same-platform to keep both)", i + 1,
					       j + 1, imgs.v[i].os, imgs.v[i].arch,
					       imgs.v[i].variant ? "/" : "",
					       imgs.v[i].variant ? imgs.v[i].variant : "");
				goto out;
			}

	if (ocis_layercheck_finish(check, err) < 0 ||
	    ocis_layout_lock_read_index(l, &json, err) < 0)
		goto out;
	if (json.len > 0 && ocis_index_from_json(&top, (const char *)json.data, json.len, err) < 0)
		goto out;
	if (o->add_platform && merge_existing_platforms(l, &top, o, &imgs, err) < 0)
		goto out;

	/* What the tags point at: the manifest, or an index of manifests. */
	if (imgs.n == 1) {
		target = imgs.v[0];
		memset(&imgs.v[0], 0, sizeof(imgs.v[0]));
	} else {
		if (o->docker_archive) {
			ocis_error_set(err, 0, "a docker-archive holds one image; the stream "
				       "has %zu", imgs.n);
			goto out;
		}
		if (ocis_index_to_json_typed(&imgs, o->types == OCIS_TYPES_DOCKER ?
					     OCIS_MT_DOCKER_LIST : OCIS_MT_INDEX, &data, err) < 0 ||
		    ocis_layout_put_blob(l, data.data, data.len, target.ref.digest, err) < 0)
			goto out;
		strcpy(target.ref.media_type, o->types == OCIS_TYPES_DOCKER ? OCIS_MT_DOCKER_LIST
									    : OCIS_MT_INDEX);
		target.ref.size = data.len;
	}
	if (o->docker_archive && write_docker_files(l, o, &dimg, err) < 0)
		goto out;
	target.annotations = (char **)o->annotations;
	target.n_annotations = o->n_annotations;

	for (i = 0; i < o->n_tags; i++) {
		struct ocis_index_entry t = target;
		ocis_index_remove_ref(&top, o->tags[i]);
		t.ref_name = o->tags[i];
		if (ocis_index_add(&top, &t, err) < 0)
			goto out;
	}
	/*
	 * docker-archive: the full "name:tag" of each RepoTag is a ref.name
	 * too.  podman load reads a tarball as an OCI archive first and, when
	 * that has a single ref.name, names the image after it ("1.0" becomes
	 * localhost/1.0:latest); with the full names beside the tags it falls
	 * back to manifest.json and its RepoTags, as docker load does.
	 */
	for (i = 0; o->docker_archive && i < o->n_tags; i++) {
		struct ocis_index_entry t = target;
		if (repo_tag(o, i, &data, err) < 0)
			goto out;
		if (strcmp((char *)data.data, o->tags[i]) == 0)
			continue;
		ocis_index_remove_ref(&top, (char *)data.data);
		t.ref_name = (char *)data.data;
		if (ocis_index_add(&top, &t, err) < 0)
			goto out;
	}
	target.annotations = NULL;
	target.n_annotations = 0;
	if (ocis_index_to_json(&top, &json, err) < 0 ||
	    ocis_layout_finish(l, json.data, json.len, err) < 0)
		goto out;
	if (stats) {
		stats->images = imgs.n ? imgs.n : 1;
		stats->layers = layers;
		memcpy(stats->top_digest, target.ref.digest, sizeof(stats->top_digest));
		memcpy(stats->top_media_type, target.ref.media_type, sizeof(stats->top_media_type));
		stats->top_size = target.ref.size;
	}
	ret = 0;
out:
	ocis_layercheck_free(check);
	target.annotations = NULL;
	target.n_annotations = 0;
	free(dimg.layers);
	image_reset(&im);
	entry_free_strings(&target);
	ocis_index_release(&imgs);
	ocis_index_release(&top);
	ocis_buf_release(&json);
	ocis_buf_release(&data);
	return ret;
}
