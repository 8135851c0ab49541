/* SPDX-License-Identifier: MIT */
/*
 * Diff layers: the lower rootfs (a tar file) and the upper rootfs (a tar
 * stream, read once) in, one layer out into an image stream (chunks and
 * ocipipe/layer.json, as oci-layer writes them) that holds only what
 * changed, so that the lower layer plus this layer is the upper tree.
 *
 * Passes:
 *   1. the lower tar (or the entries of an image lower, see lower_each),
 *      headers and the content of regular files, hashed
 *      (not with `trust_mtime`): an index of every path (name,
 *      fingerprints of the metadata and content, the parent and children,
 *      the hardlink group);
 *   2. the upper tar, once, in its order: each entry is compared with the
 *      index and written (header and data, streamed) when it is new or
 *      differs, after those of its parent directories that did not change
 *      (held back until then); whiteouts are written when a directory of
 *      both trees ends;
 *   3. only when needed (a new hardlink to a file that did not change, see
 *      below): the lower tar again, which then must be a regular file, or
 *      what the reopen_lower hook gives (an image lower flattened again).
 *
 * An upper entry is unchanged when its path is in the lower tree with the
 * same type, mode, uid/gid, user/group names, mtime (with nanoseconds),
 * xattrs, symlink target, device numbers and size, for a regular file the
 * same content, and, for a hardlink, the same target group.  What is
 * compared is a sha256 of each side (all 256 bits: both trees may be
 * hostile).  A regular file whose metadata match is read and hashed
 * before anything is written for it: the upper stream is read once and
 * the entry's header must come before its data, so the data is held, in
 * memory up to hold_max bytes and in one temporary file ($TMPDIR, without
 * a name) beyond, then dropped or written.  With `trust_mtime` (rsync's
 * quick check) the content is not read: a file whose size and mtime
 * match is unchanged, which misses a change under clamped or whole-second
 * mtimes (SOURCE_DATE_EPOCH, GNU tar's default format).
 *
 * Whiteouts: for a directory that is a directory in both trees, the lower
 * children that the upper tree does not have are written as ".wh.NAME", or
 * as one "DIR/.wh..wh..opq" when none of the lower children is left and
 * there were some.  What was removed is known when the directory ends in
 * the upper stream (the first entry not below it, in tar's depth-first
 * order), after its other entries; the whiteouts are nevertheless placed
 * right after the directory's own entry, before their siblings, as the
 * image spec advises: the layer bytes written since the directory's
 * children began are held in memory (at most 8 MiB) and the whiteouts
 * inserted there.  When that much does not fit, the whiteouts go where the
 * directory ends, one per name (an opaque whiteout there would remove the
 * directory's new entries in appliers that go entry by entry); a whiteout
 * only acts on the layers below (OCI image spec), so the merged tree is
 * the same.  An upper entry that shows up below a directory that already
 * ended is always written.  No whiteout is written inside a directory that
 * became a file or symlink (the type change replaces it).
 *
 * Hardlinks: a file that did not change is not written; a hardlink to it
 * that is unchanged too (same lower group) is not written either.  A new
 * hardlink to an unchanged file needs the file in the same layer: such
 * files are written at the end of the layer with the data of the lower
 * (pass 3), each followed by all the upper hardlinks of its group.
 *
 * Memory: the index, a 64-byte record (40 of them the fingerprints) plus
 * its node in the name table (12 bytes, its last component, a slot) per
 * lower entry, no whole names, plus 16 bytes
 * per upper regular file and the names of upper hardlinks to unchanged
 * files, plus the held-back layer bytes (at most 8 MiB) and the file being
 * compared (at most hold_max); never the size of files.
 */
#ifndef OCISTREAM_DIFF_H
#define OCISTREAM_DIFF_H

#include <stdint.h>

#include <ocistream/blockcache.h>
#include <ocistream/compress.h>
#include <ocistream/error.h>
#include <ocistream/flatten.h>
#include <ocistream/layerdesc.h>
#include <ocistream/stream.h>

struct ocis_diff_opts {
	enum ocis_compression compression;
	int level;			/* compressor level */
	int threads;			/* <= 0: all online CPUs */
	int trust_mtime;		/* no content comparison: size and mtime decide */
	int strip_absolute;		/* "/x" in either tree stored as "x", not refused */
	uint64_t hold_max;		/* bytes of a compared file held in memory;
					 * the rest goes to one temporary file */
	const char *created;		/* history: RFC 3339, may be NULL */
	const char *created_by;		/* history, may be NULL */
	const char *comment;		/* history, may be NULL */
	const char *cache_dir;		/* gzip block cache (docs/cache.md), or NULL */
	uint64_t cache_max;		/* its bound in bytes, 0: none */
	void (*warn)(void *ctx, const char *msg);
	void (*on_entry)(void *ctx, const char *name);	/* each written entry */
	void *cb_ctx;
	/* Pass 3 reads the lower again.  NULL: lower_fd must then be a
	 * regular file (read again from offset 0; a pipe is an error).  Set:
	 * called once, to get a descriptor that reads the same lower tar
	 * again from its start (oci-diff: an image lower, flattened anew into
	 * a pipe); it stays the caller's (the diff does not close it). */
	int (*reopen_lower)(void *ctx, int *fd, ocis_error_t **err);
	void *reopen_ctx;
	/* Pass 1 takes the lower's entries from this hook instead of reading
	 * lower_fd (which is then not read there; pass 3 still needs
	 * reopen_lower): oci-diff's image lower, flattened on this thread
	 * (ocis_flatten_src_each), whose tar would only be parsed again.
	 * Each entry is taken in under the tree rules as from the tar. */
	int (*lower_each)(void *ctx, ocis_flatten_entry_fn fn, void *fn_ctx, ocis_error_t **err);
	void *lower_each_ctx;
};

struct ocis_diff_stats {
	uint64_t lower_entries;
	uint64_t upper_entries;
	uint64_t written;		/* entries written (whiteouts included) */
	uint64_t whiteouts;		/* .wh.NAME and .wh..wh..opq entries */
	uint64_t unchanged;		/* upper entries not written */
	int lower_reread;		/* pass 3 ran */
	int cache_used;			/* a block cache was used: */
	struct ocis_blockcache_stats cache;	/* what it did */
	uint64_t lookups;		/* name components looked up in the lower and
					 * upper name tables */
};

/* lower_fd: the lower tar (read from its start; a pipe is fine unless pass
 * 3 is needed and no reopen_lower hook is set); lower_what names it in
 * messages.  upper_fd: the upper tar stream.  On success the chunks and the descriptor are written to w and
 * *desc (optional) holds a copy of the descriptor. */
int ocis_diff_build(int lower_fd, const char *lower_what, int upper_fd,
		    struct ocis_stream_writer *w, const struct ocis_diff_opts *o,
		    struct ocis_layer_desc *desc, struct ocis_diff_stats *stats,
		    ocis_error_t **err);

#endif
