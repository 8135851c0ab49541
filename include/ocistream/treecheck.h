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
 * - No entry below a name that an earlier entry made a symlink, even when
 *   a directory entry of that name came since (x -> /etc, x/, x/passwd):
 *   unpackers disagree on whether the directory entry replaces the
 *   symlink, and those that keep it write through it.  A file or device
 *   that a directory entry replaces is no such trap: every unpacker
 *   removes it.
 * - A hardlink's target is an earlier entry, not a directory (link(2)
 *   refuses them), not reached through a non-directory, and not inside a
 *   directory that a later entry replaced (unpackers remove the directory
 *   with what is in it), be it a directory with an entry of its own or
 *   one made on the way as the parent of an entry (a/b, a, a/, l -> a/b).
 *   A target that came back after its directory was replaced is refused
 *   too: the rules keep no entry order per name.
 * - A hardlink to itself changes nothing (tar -x keeps the file) but
 *   unpackers remove the name before linking it: it is left out.
 * - No name has a component starting with ".wh.": a rootfs holds no
 *   whiteouts, and a layer that held one would remove a lower path when
 *   applied (a file ".wh.etc" removes /etc).  With `whiteouts` set (oci-
 *   layer --whiteouts, for a tar that is a prepared layer) whiteouts are
 *   kept when they are well formed: a regular file ".wh.NAME" (NAME not
 *   empty, "." or "..") or ".wh..wh..opq", as the last component only.
 *
 * Names are kept whole, in a path table (ocistream/pathtab.h): distinct
 * names are never taken for one another, whatever their hashes.  Each
 * name an entry or its parents bring costs one node of the table per new
 * component: 12 bytes, 7 to 13 bytes of slots, and the component's
 * bytes: about 22 bytes plus the name's last component for an entry in a
 * directory already known (bench/index-memory.sh, release build: 10
 * million entries "d/%08d" peak at 30 bytes an entry, 8 of them the
 * names; the 64-bit name hashes this replaced took 40).  Each
 * check walks the name's components once (O(length)), reusing the
 * components it shares with the entry before.
 */
#ifndef OCISTREAM_TREECHECK_H
#define OCISTREAM_TREECHECK_H

#include <stddef.h>
#include <stdint.h>

#include <ocistream/error.h>
#include <ocistream/io.h>
#include <ocistream/pathtab.h>

/* Zero-initialised before use (set `whiteouts` then, when wanted);
 * ocis_treecheck_release() frees it. */
struct ocis_treecheck {
	int whiteouts;			/* keep well-formed whiteouts (see above) */
	int ready;			/* names made */
	struct ocis_pathtab names;	/* every name seen, and what it is (flags) */
	struct ocis_pathtab_walk walk;	/* the entries' names */
	struct ocis_pathtab_walk lwalk;	/* hardlink targets */
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
