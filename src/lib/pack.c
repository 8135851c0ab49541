/* SPDX-License-Identifier: MIT */
/*
 * Image stream -> OCI layout: see ocistream/pack.h.  The images are read
 * by src/lib/images.c into the layout (the sink below); what is the
 * layout's own is here: --add-platform, the docker-archive files, the
 * tags in index.json.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <ocistream/images.h>
#include <ocistream/imageconfig.h>
#include <ocistream/index.h>
#include <ocistream/json.h>
#include <ocistream/layerdesc.h>
#include <ocistream/manifest.h>
#include <ocistream/pack.h>

/* --- the layout as the sink of the images' blobs -------------------------- */

static int
sink_begin(void *ctx, ocis_error_t **err)
{
	return ocis_layout_blob_begin(ctx, err);
}

static int
sink_write(void *ctx, const void *data, size_t len, ocis_error_t **err)
{
	return ocis_layout_blob_write(ctx, data, len, err);
}

static int
sink_commit(void *ctx, const char *digest, uint64_t size, ocis_error_t **err)
{
	return ocis_layout_blob_commit(ctx, digest, size, err);
}

static int
sink_put(void *ctx, const char *media_type, const void *data, size_t len,
	 char digest[OCIS_DIGEST_STR_SIZE], ocis_error_t **err)
{
	(void)media_type;
	return ocis_layout_put_blob(ctx, data, len, digest, err);
}

/* --- what the layout adds ---------------------------------------------------- */

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
		   const struct ocis_image_blobs *d, ocis_error_t **err)
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
	int r = -1;

	memset(&m, 0, sizeof(m));
	if (ocis_layout_read_blob(l, digest, &mb, OCIS_META_MAX, err) < 0 ||
	    ocis_manifest_parse(&m, (const char *)mb.data, mb.len, err) < 0 ||
	    ocis_layout_read_blob(l, m.config.digest, &cb, OCIS_META_MAX, err) < 0)
		goto out;
	if (ocis_images_config_platform(cb.data, cb.len, e, NULL, err) < 0) {
		ocis_error_wrap(err, "image %s", digest);
		goto out;
	}
	r = 0;
out:
	ocis_manifest_info_release(&m);
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
			e.arch = e.os = e.variant = NULL;
			if (manifest_platform(l, cur->ref.digest, &e, err) < 0)
				goto out;
			r = ocis_index_add(&old, &e, err);
			ocis_index_entry_free_platform(&e);
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
			if (old.v[i].arch && old.v[i].os && ocis_index_same_platform(&old.v[i], &imgs->v[j]))
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

/* Each tag (and, for a docker-archive, each full "name:tag") points at
 * the target in index.json. */
static int
add_tags(struct ocis_index *top, const struct ocis_index_entry *target,
	 const struct ocis_pack_opts *o, ocis_error_t **err)
{
	struct ocis_buf name = OCIS_BUF_INIT;
	size_t i;
	int r = -1;

	for (i = 0; i < o->n_tags; i++) {
		struct ocis_index_entry t = *target;
		ocis_index_remove_ref(top, o->tags[i]);
		t.ref_name = o->tags[i];
		if (ocis_index_add(top, &t, err) < 0)
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
		struct ocis_index_entry t = *target;
		if (repo_tag(o, i, &name, err) < 0)
			goto out;
		if (strcmp((char *)name.data, o->tags[i]) == 0)
			continue;
		ocis_index_remove_ref(top, (char *)name.data);
		t.ref_name = (char *)name.data;
		if (ocis_index_add(top, &t, err) < 0)
			goto out;
	}
	r = 0;
out:
	ocis_buf_release(&name);
	return r;
}

/* The layout's index.json after the new images: read under the layout's
 * lock, --add-platform applied, the tags pointed at the target. */
static int
write_index(struct ocis_layout *l, struct ocis_index *imgs, const struct ocis_image_set *set,
	    const struct ocis_blob_sink *sink, const struct ocis_pack_opts *o,
	    struct ocis_pack_stats *stats, ocis_error_t **err)
{
	struct ocis_index top = { NULL, 0, NULL };
	struct ocis_index_entry target;
	struct ocis_buf json = OCIS_BUF_INIT;
	int r = -1;

	memset(&target, 0, sizeof(target));
	if (ocis_layout_lock_read_index(l, &json, err) < 0)
		goto out;
	if (json.len > 0 && ocis_index_from_json(&top, (const char *)json.data, json.len, err) < 0)
		goto out;
	if (o->add_platform && merge_existing_platforms(l, &top, o, imgs, err) < 0)
		goto out;
	if (o->docker_archive && imgs->n > 1) {
		ocis_error_set(err, 0, "a docker-archive holds one image; the stream has %zu",
			       imgs->n);
		goto out;
	}
	if (ocis_images_target(imgs, o->types, sink, &target, err) < 0)
		goto out;
	if (o->docker_archive &&
	    write_docker_files(l, o, &set->blobs[set->n_blobs - 1], err) < 0)
		goto out;
	if (ocis_index_entry_set_annotations(&target, o->annotations,
					     o->n_annotations, err) < 0 ||
	    add_tags(&top, &target, o, err) < 0)
		goto out;
	if (ocis_index_to_json(&top, &json, err) < 0 ||
	    ocis_layout_finish(l, json.data, json.len, err) < 0)
		goto out;
	if (stats) {
		stats->images = imgs->n ? imgs->n : 1;
		stats->layers = set->layers;
		memcpy(stats->top_digest, target.ref.digest, sizeof(stats->top_digest));
		memcpy(stats->top_media_type, target.ref.media_type, sizeof(stats->top_media_type));
		stats->top_size = target.ref.size;
	}
	r = 0;
out:
	ocis_index_entry_release(&target);
	ocis_index_release(&top);
	ocis_buf_release(&json);
	return r;
}

int
ocis_pack(struct ocis_stream_reader *r, struct ocis_layout *l, const struct ocis_pack_opts *o,
	  struct ocis_pack_stats *stats, ocis_error_t **err)
{
	const struct ocis_blob_sink sink = { sink_begin, sink_write, sink_commit, sink_put, l, NULL };
	const struct ocis_images_opts io = {
		.arch = o->arch, .os = o->os, .variant = o->variant, .created = o->created,
		.types = o->types, .progress = o->progress, .cb_ctx = o->cb_ctx,
	};
	struct ocis_image_set set;
	int ret = -1;

	if (ocis_images_read(r, &sink, &io, &set, err) < 0)
		return -1;
	if (ocis_images_check_platforms(&set.images, o->allow_same_platform, err) < 0)
		goto out;
	ret = write_index(l, &set.images, &set, &sink, o, stats, err);
out:
	ocis_image_set_release(&set);
	return ret;
}
