/* SPDX-License-Identifier: MIT */
/*
 * What an unpacker can apply: the order rules for the entries of a rootfs
 * tar that becomes a layer (oci-layer's input, oci-diff's upper tree).
 * Entries are given in archive order, with normalised names (no "./", no
 * trailing "/"); the root entry is not given.
 *
 * - No entry below a non-directory: below a symlink it would be written
 *   outside the tree (x -> /etc, then x/passwd), below a file, fifo or
 *   device every unpacker fails ("not a directory").
 * - A hardlink's target is an earlier entry, not a directory (link(2)
 *   refuses them), not reached through a non-directory, and not inside a
 *   directory that a later entry replaced (unpackers remove the directory
 *   with what is in it).
 * - A hardlink to itself changes nothing (tar -x keeps the file) but
 *   unpackers remove the name before linking it: it is left out.
 *
 * Names are kept as 64-bit hashes, about 30 bytes per entry.  A collision
 * can only make a check pass that should fail, or one fail that should
 * pass, with odds around n^2 / 2^64.
 */
#ifndef OCISTREAM_TREECHECK_H
#define OCISTREAM_TREECHECK_H

#include <stddef.h>
#include <stdint.h>

#include <ocistream/error.h>
#include <ocistream/io.h>

/* Internal: a set of name hashes (open addressing). */
struct ocis_name_set {
	uint64_t *slots;
	size_t n, cap;		/* n counts used slots, tombstones included */
};

/* Zero-initialised before use; ocis_treecheck_release() frees it. */
struct ocis_treecheck {
	struct ocis_name_set names;	/* every name seen */
	struct ocis_name_set symlinks;	/* names whose latest entry is a symlink */
	struct ocis_name_set dirs;	/* names whose latest entry is a directory */
	struct ocis_name_set replaced;	/* directories a later non-directory replaced */
	struct ocis_buf parent;		/* the last entry's parent, checked */
	int have_parent;
};

/* A hardlink entry `path` to `target`.  Returns 1 when it is to be
 * written, 0 when it links to itself and is left out, -1 with *err (a
 * message for the caller to prefix with the entry's name) when no
 * unpacker could apply it. */
int ocis_treecheck_link(struct ocis_treecheck *t, const char *path, size_t len,
			const char *target, size_t tlen, ocis_error_t **err);

/* Any entry but the root, after ocis_treecheck_link for a hardlink: its
 * parents must be directories; records what the name now is (`type` is
 * the tar type flag, '1' for a hardlink).  0, or -1 with *err as above. */
int ocis_treecheck_add(struct ocis_treecheck *t, const char *path, size_t len, char type,
		       ocis_error_t **err);

void ocis_treecheck_release(struct ocis_treecheck *t);

#endif
