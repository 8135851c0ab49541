/* SPDX-License-Identifier: MIT */
/*
 * The images of an image stream, assembled for a destination: oci-pack's
 * layout, or a registry.  One reading of the stream, one set of rules, so
 * that every destination stores the same bytes under the same digests.
 *
 * An image is the layers seen since the previous manifest, their config
 * (the stream's, extended with layers added after it the way oci-manifest
 * extends it, or a default one: os linux, the build machine's or the
 * requested platform, rootfs.diff_ids from the layers) and their manifest
 * (the stream's, or one made here).  A config or manifest in the stream
 * is checked against the layers it describes, and every layer's bytes
 * against its diffID (ocistream/layercheck.h, on a thread of its own, all
 * done before ocis_images_read returns).  Blobs go to the sink in
 * stream order: each layer's (or base image's) chunk run as it is read,
 * each image's config, then its manifest; the sink of a registry may hold
 * manifests back until every blob is confirmed.
 */
#ifndef OCISTREAM_IMAGES_H
#define OCISTREAM_IMAGES_H

#include <stddef.h>
#include <stdint.h>

#include <ocistream/error.h>
#include <ocistream/hash.h>
#include <ocistream/imageconfig.h>
#include <ocistream/index.h>
#include <ocistream/manifest.h>
#include <ocistream/stream.h>

/* Where the blobs go.  Each returns 0, or -1 with *err. */
struct ocis_blob_sink {
	/* A chunk run: begin, its bytes in order, then commit with the
	 * digest and size of its descriptor (a verifying reader has checked
	 * them against the bytes by then). */
	int (*blob_begin)(void *ctx, ocis_error_t **err);
	int (*blob_write)(void *ctx, const void *data, size_t len, ocis_error_t **err);
	int (*blob_commit)(void *ctx, const char *digest, uint64_t size, ocis_error_t **err);
	/* A small blob held in memory (config, manifest, index) of this
	 * media type: stored under its sha256, which is written to digest. */
	int (*put_blob)(void *ctx, const char *media_type, const void *data, size_t len,
			char digest[OCIS_DIGEST_STR_SIZE], ocis_error_t **err);
	void *ctx;
	/* Optional (NULL: blob_begin is called): begins a run whose digest
	 * and size the stream gives at its start (a base image's blob), so
	 * that a registry can be asked first whether it has the blob.  The
	 * bytes and the commit follow as for any run. */
	int (*blob_begin_known)(void *ctx, const char *digest, uint64_t size,
				ocis_error_t **err);
};

struct ocis_images_opts {
	const char *arch;	/* default config platform, or NULL (build machine) */
	const char *os;
	const char *variant;
	int64_t created;	/* default config created time (seconds) */
	enum ocis_media_types types;	/* media types of manifests made here */
	/* Called after each chunk with the stream bytes read so far, may be NULL. */
	void (*progress)(void *ctx, uint64_t stream_bytes, size_t layers);
	void *cb_ctx;
};

/* The blobs of one image, by digest (what a docker-archive's
 * manifest.json lists). */
struct ocis_image_blobs {
	char config[OCIS_DIGEST_STR_SIZE];
	char (*layers)[OCIS_DIGEST_STR_SIZE];
	size_t n_layers;
};

struct ocis_image_set {
	/* one entry per image: its manifest (ref) and platform; no ref_name */
	struct ocis_index images;
	struct ocis_image_blobs *blobs;	/* of each image read, same order */
	size_t n_blobs;
	size_t layers;			/* layer descriptors read, in all */
};

void ocis_image_set_release(struct ocis_image_set *s);

/* Read the whole stream from r (a verifying reader) into *out (zeroed
 * here), every blob through the sink.  An empty stream, an upstream
 * error entry, a config or manifest that disagrees with its layers are
 * errors. */
int ocis_images_read(struct ocis_stream_reader *r, const struct ocis_blob_sink *sink,
		     const struct ocis_images_opts *o, struct ocis_image_set *out,
		     ocis_error_t **err);

/* Two images of the same platform are an error unless allowed (a
 * multi-platform index lists one image per platform). */
int ocis_images_check_platforms(const struct ocis_index *images, int allow_same,
				ocis_error_t **err);

/* What tags point at: the one manifest, or an image index of all
 * (a Docker manifest list with OCIS_TYPES_DOCKER) stored through the
 * sink.  *target is a copy the caller releases with its strings. */
int ocis_images_target(const struct ocis_index *images, enum ocis_media_types types,
		       const struct ocis_blob_sink *sink, struct ocis_index_entry *target,
		       ocis_error_t **err);

/* The platform of an image config (JSON): copies in e->arch, e->os,
 * e->variant; an error when it has no architecture or os.  *c (may be
 * NULL) receives the parsed config, to be released by the caller. */
int ocis_images_config_platform(const void *json, size_t len, struct ocis_index_entry *e,
				struct ocis_config *c, ocis_error_t **err);

#endif
