/* SPDX-License-Identifier: MIT */
/*
 * oci-manifest's stage: see ocistream/manifeststage.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ocistream/imageconfig.h>
#include <ocistream/manifeststage.h>

#include "internal.h"

/* Standard annotation names (OCI image-spec annotations.md). */
static const char *const std_names[] = {
	"created", "authors", "url", "documentation", "source", "version", "revision",
	"vendor", "licenses", "ref.name", "title", "description", "base.digest",
	"base.name",
};

void
ocis_manifest_opts_release(struct ocis_manifest_opts *o)
{
	ocis_strv_clear(&o->annotations);
	ocis_strv_clear(&o->std);
}

int
ocis_std_annotation_known(const char *name)
{
	size_t i, len = strcspn(name, "=");

	for (i = 0; i < sizeof(std_names) / sizeof(std_names[0]); i++)
		if (strlen(std_names[i]) == len && strncmp(name, std_names[i], len) == 0)
			return 1;
	return 0;
}

/* 1 when the config's diff_ids are exactly the layers' diffIDs. */
static int
config_matches(const struct ocis_config *c, const struct ocis_layer_list *l)
{
	size_t i;

	if (c->diff_ids.n != l->n)
		return 0;
	for (i = 0; i < l->n; i++)
		if (strcmp(c->diff_ids.v[i], l->v[i].diff_id) != 0)
			return 0;
	return 1;
}

/* The config of the open image into c (parsed) and out (its bytes). */
static int
choose_config(const struct ocis_manifest_opts *o, const struct ocis_open_image *im,
	      struct ocis_config *c, struct ocis_buf *out, ocis_error_t **err)
{
	if (!im->have_config) {
		/* What oci-config writes without options. */
		if (ocis_config_set_defaults(c, o->epoch, err) < 0 ||
		    ocis_config_sync_layers(c, im->layers.v, im->layers.n, err) < 0)
			return -1;
		return ocis_config_to_json(c, out, err);
	}
	if (ocis_config_from_json(c, (const char *)im->config.data, im->config.len, err) < 0)
		return ocis_error_wrap(err, "config in the stream");
	if (config_matches(c, &im->layers))	/* keep the exact bytes the stream carried */
		return ocis_buf_add(out, im->config.data, im->config.len, err);
	if (ocis_config_sync_layers(c, im->layers.v, im->layers.n, err) < 0)
		return -1;
	ocis__warnf(o->note, o->cb_ctx, "config extended with the layers added after it");
	return ocis_config_to_json(c, out, err);
}

/* The annotations of the manifest: the standard ones first, so an explicit
 * annotation of the same key wins (the last of equal keys wins). */
static int
build_annotations(const struct ocis_manifest_opts *o, const struct ocis_config *c,
		  struct ocis_strv *out, ocis_error_t **err)
{
	size_t i;
	char *s;
	int rc;

	for (i = 0; i < o->std.n; i++) {
		const char *name = o->std.v[i], *value;

		if (strchr(name, '=') != NULL) {
			rc = asprintf(&s, OCIS_STD_ANNOTATION_PREFIX "%s", name);
		} else {
			value = strcmp(name, "created") == 0 ? c->created : c->author;
			if (value == NULL) {
				ocis__warnf(o->warn, o->cb_ctx, "--oci-annotation %s: the config has "
					    "no %s; not added", name, strcmp(name, "created") == 0 ?
					    "created time" : "author");
				continue;
			}
			rc = asprintf(&s, OCIS_STD_ANNOTATION_PREFIX "%s=%s", name, value);
		}
		if (rc < 0)
			return ocis_error_oom(err);
		rc = ocis_strv_push(out, s, err);
		free(s);
		if (rc < 0)
			return -1;
	}
	for (i = 0; i < o->annotations.n; i++)
		if (ocis_strv_push(out, o->annotations.v[i], err) < 0)
			return -1;
	return 0;
}

int
ocis_manifest_stage(const struct ocis_manifest_opts *o, const struct ocis_open_image *im,
		    struct ocis_buf *config, struct ocis_buf *manifest, size_t *n_annotations,
		    ocis_error_t **err)
{
	struct ocis_config c;
	struct ocis_strv ann = { NULL, 0, 0 };
	int ret = -1;

	ocis_config_init(&c);
	ocis_buf_reset(config);
	if (choose_config(o, im, &c, config, err) < 0 ||
	    build_annotations(o, &c, &ann, err) < 0 ||
	    ocis_manifest_build_typed(o->types, config->data, config->len, im->layers.v,
				      im->layers.n, ann.v, ann.n, manifest, err) < 0)
		goto out;
	if (n_annotations)
		*n_annotations = ann.n;
	ret = 0;
out:
	ocis_strv_clear(&ann);
	ocis_config_release(&c);
	return ret;
}
