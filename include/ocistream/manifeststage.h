/* SPDX-License-Identifier: MIT */
/*
 * oci-manifest's stage: the config and manifest that close the open image
 * of a stream.
 *
 * The config is the open image's, its exact bytes when its rootfs
 * diff_ids already list the stream's layers, extended when they list a
 * prefix of them (layers added after oci-config; note() is told), refused
 * otherwise; an image without a config gets the default one oci-config
 * writes without options (created from `epoch`).  The manifest points at
 * those config bytes and at the layers in stream order, with the
 * annotations: the standard ones (org.opencontainers.image.*) first, so
 * that an explicit annotation of the same key wins; a standard one given
 * without a value takes it from the config (`created`, `authors`), or is
 * left out with a warning when the config has none.  The front end only
 * gathers the options into struct ocis_manifest_opts.
 */
#ifndef OCISTREAM_MANIFESTSTAGE_H
#define OCISTREAM_MANIFESTSTAGE_H

#include <stdint.h>

#include <ocistream/error.h>
#include <ocistream/filter.h>
#include <ocistream/io.h>
#include <ocistream/manifest.h>
#include <ocistream/strv.h>

/* The prefix of the standard annotations --oci-annotation names. */
#define OCIS_STD_ANNOTATION_PREFIX "org.opencontainers.image."

struct ocis_manifest_opts {
	struct ocis_strv annotations;	/* "key=value" */
	struct ocis_strv std;		/* "NAME=VALUE", or "created" / "authors" */
	int64_t epoch;			/* a default config's created time */
	enum ocis_media_types types;
	void (*warn)(void *ctx, const char *msg);	/* may be NULL */
	void (*note)(void *ctx, const char *msg);	/* verbose messages, may be NULL */
	void *cb_ctx;
};

void ocis_manifest_opts_release(struct ocis_manifest_opts *o);	/* the strvs */

/* 1 when name (up to '=' or its end) is a standard annotation name
 * (image-spec annotations.md) that --oci-annotation takes. */
int ocis_std_annotation_known(const char *name);

/* The config bytes and the manifest closing the open image im, into
 * config and manifest (reset first); *n_annotations (may be NULL) is how
 * many the manifest carries. */
int ocis_manifest_stage(const struct ocis_manifest_opts *o, const struct ocis_open_image *im,
			struct ocis_buf *config, struct ocis_buf *manifest, size_t *n_annotations,
			ocis_error_t **err);

#endif
