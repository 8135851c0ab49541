/* SPDX-License-Identifier: MIT */
/*
 * Packing an image stream into an OCI image layout (oci-pack's work).
 *
 * Images in the stream: the layers seen since the previous manifest, their
 * config (or a default one made here: os linux, the build machine's or the
 * requested platform, rootfs.diff_ids from the layers) and their manifest
 * (or one made here).  A config or manifest in the stream is checked
 * against the layers it describes.  One image: each tag points at its
 * manifest.  Several images: an image index blob lists their manifests
 * with platforms and each tag points at it.
 */
#ifndef OCISTREAM_PACK_H
#define OCISTREAM_PACK_H

#include <stdint.h>

#include <ocistream/error.h>
#include <ocistream/layout.h>
#include <ocistream/manifest.h>
#include <ocistream/stream.h>

struct ocis_pack_opts {
	char *const *tags;	/* ref names; at least one */
	size_t n_tags;
	const char *arch;	/* default config platform, or NULL (build machine) */
	const char *os;
	const char *variant;
	int64_t created;	/* default config created time (seconds) */
	int allow_same_platform;	/* several images of one platform */
	/* -o DIR: the new images join those the first tag already points at
	 * (same platform: replaced) in one image index. */
	int add_platform;
	enum ocis_media_types types;	/* media types of manifests made here */
	const char *const *annotations;	/* "k=v" on the index.json entries */
	size_t n_annotations;
	/* docker-archive: also write manifest.json and repositories (tarball
	 * output, one image) with RepoTags "<docker_name>:<tag>". */
	int docker_archive;
	const char *docker_name;
	/* Called after each chunk with the stream bytes read so far, may be NULL. */
	void (*progress)(void *ctx, uint64_t stream_bytes, size_t layers);
	void *cb_ctx;
};

struct ocis_pack_stats {
	size_t images;
	size_t layers;
	char top_digest[OCIS_DIGEST_STR_SIZE];	/* what the tags point at */
	char top_media_type[96];
	uint64_t top_size;
};

/* Read the whole stream from r (a verifying reader) into l; on success the
 * layout is finished.  On failure the caller aborts the layout. */
int ocis_pack(struct ocis_stream_reader *r, struct ocis_layout *l,
	      const struct ocis_pack_opts *o, struct ocis_pack_stats *stats, ocis_error_t **err);

#endif
