/* SPDX-License-Identifier: MIT */
/*
 * Building one layer: a rootfs tar stream in (any tar format libarchive
 * reads, optionally gzip/zstd/xz/bzip2 compressed, archives may be
 * concatenated), one layer out into an image stream (chunk entries, then
 * the layer descriptor), in a single pass.
 *
 * Layer entry names: relative, no leading "./" or "/", "." and empty
 * components removed, directories end with "/", the root directory itself
 * is "./".  Absolute names are refused unless `strip_absolute` is set (then
 * leading slashes are removed, as GNU tar does); names with a ".."
 * component are always refused, as are hardlinks whose target is not an
 * earlier entry, and whiteout names (".wh.*") unless `whiteouts` is set
 * (see ocistream/treecheck.h).  Sockets are dropped with a warning.  Everything else
 * (type, mode incl. setuid/setgid/sticky, uid/gid, user/group names, mtime
 * with nanoseconds, xattrs, device numbers, link targets) is kept as given.
 * Sparse files (old GNU, pax 0.0, 0.1 and 1.0) are written expanded,
 * holes as zeros.  A pax mtime record passes through as the decimal it
 * is ("-1.75" stays "-1.75"), a hardlink entry that carries data (pax -o
 * linkdata) is written as a plain hardlink.  See docs/fidelity.md.
 *
 * Normalisation is opt-in (all off when the options are zero): clamp_mtime,
 * owner/group overrides (like GNU tar's --owner/--group) and exclude
 * patterns (like GNU tar's --exclude: fnmatch(3) without FNM_PATHNAME on
 * the normalised name and on each tail of it that follows a '/', unless
 * the pattern starts with '/', which anchors it; a match also excludes
 * everything below it).
 */
#ifndef OCISTREAM_LAYER_H
#define OCISTREAM_LAYER_H

#include <stdint.h>

#include <ocistream/blockcache.h>
#include <ocistream/compress.h>
#include <ocistream/error.h>
#include <ocistream/layerdesc.h>
#include <ocistream/splitmap.h>
#include <ocistream/stream.h>

/* Where a layer build is, for progress displays. */
struct ocis_layer_progress {
	uint64_t input_bytes;		/* read from in_fd (compressed, if it is) */
	uint64_t tar_bytes;		/* uncompressed layer tar produced */
	uint64_t output_bytes;		/* compressed bytes written so far */
	uint64_t entries;		/* entries written to the layer so far */
};

struct ocis_layer_opts {
	enum ocis_compression compression;
	int level;			/* compressor level */
	int threads;			/* <= 0: all online CPUs */
	int strip_absolute;		/* sanitise "/x" to "x" instead of refusing */
	int whiteouts;			/* the input is a prepared layer: keep its
					 * whiteouts (ocistream/treecheck.h) */
	int clamp_mtime;		/* clamp entry mtimes to clamp_epoch */
	int64_t clamp_epoch;
	int set_uid, set_gid;		/* override every entry's owner/group */
	uint64_t uid, gid;
	const char *uname, *gname;	/* names with set_uid/set_gid, "" for none */
	const char *const *exclude;	/* patterns, see above */
	size_t n_exclude;
	const char *created;		/* history: RFC 3339, may be NULL */
	const char *created_by;		/* history, may be NULL */
	const char *comment;		/* history, may be NULL */
	const char *cache_dir;		/* gzip block cache (docs/cache.md), or NULL */
	uint64_t cache_max;		/* its bound in bytes, 0: none */
	/* oci-layer --split: the layers by this map (ocistream/layersplit.h),
	 * NULL for one layer; then *desc is the last layer's and each layer
	 * is told to on_split_layer (may be NULL) as it is written */
	struct ocis_splitmap *split;
	void (*on_split_layer)(void *ctx, const char *name, const struct ocis_layer_desc *d);
	/* Called for warnings (dropped sockets, ...), may be NULL. */
	void (*warn)(void *ctx, const char *msg);
	/* Called with each written entry name (for -v), may be NULL. */
	void (*on_entry)(void *ctx, const char *name);
	/* Called on the caller's thread after each entry and every few MiB of
	 * data (the callee limits its own rate), may be NULL. */
	void (*progress)(void *ctx, const struct ocis_layer_progress *p);
	void *cb_ctx;
};

struct ocis_layer_stats {
	uint64_t entries;		/* entries in the layer (not those left out) */
	uint64_t input_bytes;		/* bytes read from in_fd */
	int cache_used;			/* a block cache was used: */
	struct ocis_blockcache_stats cache;	/* what it did */
};

/* Read a rootfs tar from in_fd and write one layer into w.  On success the
 * chunks and the descriptor are written and *desc (optional) holds a copy
 * of the descriptor (release with ocis_layer_desc_release). */
int ocis_layer_build(int in_fd, struct ocis_stream_writer *w, const struct ocis_layer_opts *o,
		     struct ocis_layer_desc *desc, struct ocis_layer_stats *stats,
		     ocis_error_t **err);

#endif
