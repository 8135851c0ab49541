/* SPDX-License-Identifier: MIT */
/*
 * Image stream -> registry (oci-push's work): the images of the stream,
 * read by ocis_images_read exactly as oci-pack reads them, so the blobs,
 * configs and manifests have the bytes and digests oci-pack would write,
 * go to a registry through a blob sink that uploads.
 *
 * Two ways to upload a layer, whose digest is known only at its end:
 *
 *   OCIS_PUSH_CHECK_FIRST  each chunk run is spooled once to an unlinked
 *                          temporary file ($TMPDIR); at its end the
 *                          registry is asked (HEAD) and the blob uploaded
 *                          only when it lacks it, from the spool, which
 *                          also serves any resume or fresh start.
 *   OCIS_PUSH_STREAM       nothing is written to disk: the run goes up
 *                          while it is read, in PATCHes of chunk_size
 *                          bytes, and the digest closes the upload.  A
 *                          run that ends within the first chunk is asked
 *                          for first, as in check-first.  Resuming needs
 *                          the bytes the registry has not acknowledged:
 *                          only the chunk in flight is kept, so a
 *                          registry that loses acknowledged bytes (or the
 *                          whole upload) fails the push.
 *
 * In both, a base image's blob whose digest the stream gives at its start
 * is asked for (and mounted from mount_from) before its bytes arrive, and
 * small blobs (configs) are asked for first.  Uploads run on one worker
 * thread while the stream is read; memory is bounded by two chunk
 * buffers (stream) or one (none in check-first) plus the manifests.
 *
 * Manifests (and the index of several images) are held in memory and put
 * only after every blob is confirmed; the tags last, each pointing at the
 * target (the one manifest, or the index).  So a failure never leaves a
 * tag on a partial image.
 */
#ifndef OCISTREAM_PUSH_H
#define OCISTREAM_PUSH_H

#include <stddef.h>
#include <stdint.h>

#include <ocistream/error.h>
#include <ocistream/hash.h>
#include <ocistream/manifest.h>
#include <ocistream/registry.h>
#include <ocistream/stream.h>

enum ocis_push_mode {
	OCIS_PUSH_CHECK_FIRST,
	OCIS_PUSH_STREAM,
};

#define OCIS_PUSH_CHUNK_DEFAULT (16u * 1024 * 1024)
#define OCIS_PUSH_CHUNK_MIN (1u * 1024 * 1024)
#define OCIS_PUSH_CHUNK_MAX (24u * 1024 * 1024)

struct ocis_push_stats {
	uint64_t stream_bytes;	/* image stream read */
	uint64_t sent;		/* request body bytes handed to the registry */
	size_t blobs;		/* blobs of the stream (layers, base blobs, configs) */
	size_t uploaded;	/* ... uploaded */
	size_t existing;	/* ... the registry had already */
	size_t mounted;		/* ... mounted from another repository */
	size_t images, layers;
	char top_digest[OCIS_DIGEST_STR_SIZE];	/* what the tags point at */
	char top_media_type[96];
	uint64_t top_size;
};

struct ocis_push_opts {
	enum ocis_push_mode mode;
	size_t chunk_size;		/* 0 = OCIS_PUSH_CHUNK_DEFAULT */
	char *const *tags;		/* tags pointed at the target, in order */
	size_t n_tags;
	const char *digest;		/* DEST@digest: the target must be this, or NULL */
	const char *arch;		/* default config platform, or NULL */
	const char *os;
	const char *variant;
	int64_t created;		/* default config created time */
	enum ocis_media_types types;	/* media types of manifests made here */
	int allow_same_platform;
	/* Called from the caller's thread: after each chunk read, and while
	 * waiting for the uploads, at most 4 times a second.  May be NULL. */
	void (*progress)(void *ctx, const struct ocis_push_stats *s);
	void *cb_ctx;
};

/* Read the whole stream from r (a verifying reader) and push its images
 * through reg.  *stats (may be NULL) is filled in either case. */
int ocis_push(struct ocis_stream_reader *r, struct ocis_registry *reg,
	      const struct ocis_push_opts *o, struct ocis_push_stats *stats, ocis_error_t **err);

#endif
