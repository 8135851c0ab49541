/* SPDX-License-Identifier: MIT */
/*
 * The one entry intake: how an entry of a tar that is read as a tree
 * becomes a layer entry, for every program, so that the rules cannot
 * drift between readers.  oci-layer's input, both trees of oci-diff and
 * the layers that oci-flatten merges all come through here.
 *
 * The name rules (every side): names normalised as layers name entries
 * (ocis_tarentry_name_normalise: no "./", no trailing "/", the root is ""),
 * ".." components and components over 255 bytes refused.  A leading "/":
 *   - in a rootfs tree (OCIS_INTAKE_TREE: oci-layer's input, oci-diff's
 *     lower and upper) it is refused, or with strip_absolute stored
 *     relative; the same for a hardlink's target;
 *   - in a layer of an image (OCIS_INTAKE_LAYER) it is dropped, as every
 *     unpacker resolves a layer's names below the rootfs.
 * The entry (ocis_intake_entry only): the metadata as a pax entry
 * (ocis_tarentry_to_pax: ids, lengths, xattrs), a socket left out with a
 * warning, what no layer can carry (ocis_tarentry_unstorable) dropped with a
 * warning, only a directory as the root; in a rootfs tree, the tree rules
 * of ocistream/treecheck.h (what an unpacker can apply, no whiteout names
 * unless `whiteouts`), and a hardlink to itself left out.
 *
 * Messages are for the caller to prefix with the entry ("entry 'NAME': "),
 * as each reader names its input its own way.
 */
#ifndef OCISTREAM_INTAKE_H
#define OCISTREAM_INTAKE_H

#include <stddef.h>

#include <archive_entry.h>

#include <ocistream/error.h>
#include <ocistream/io.h>
#include <ocistream/pax.h>
#include <ocistream/treecheck.h>

enum ocis_intake_side {
	OCIS_INTAKE_TREE,	/* a rootfs tree: name rules, tree rules */
	OCIS_INTAKE_LAYER,	/* a layer of an image: name rules */
};

struct ocis_intake_opts {
	enum ocis_intake_side side;
	int strip_absolute;	/* TREE: "/x" stored as "x" instead of refused */
	int whiteouts;		/* TREE: keep well-formed whiteouts (a prepared layer) */
	/* oci-layer --exclude: 1 when a normalised name is left out (with
	 * what is below it), may be NULL */
	int (*exclude)(void *ctx, const char *name);
	void *exclude_ctx;
	/* warnings (a socket, what cannot be carried), may be NULL */
	void (*warn)(void *ctx, const char *msg);
	void *cb_ctx;
};

struct ocis_intake {
	struct ocis_intake_opts o;
	struct ocis_treecheck tree;
	struct ocis_buf path, link;
	struct ocis_xattr *xattrs;
	size_t xcap;
};

/* An entry taken in; valid until the next call. */
struct ocis_intake_entry {
	const char *raw;	/* the name in the archive (for messages) */
	const char *path;	/* normalised; "" is the root */
	size_t len;
	const char *link;	/* a hardlink's normalised target, else NULL */
	size_t link_len;
	/* ocis_intake_entry only: the metadata; pe.path is left to the
	 * caller (who writes "./" or a trailing "/" as it needs), and
	 * pe.linkname is `link` for a hardlink, the target for a symlink */
	struct ocis_pax_entry pe;
};

void ocis_intake_init(struct ocis_intake *in, const struct ocis_intake_opts *o);
void ocis_intake_release(struct ocis_intake *in);

/* The name rules only (a reader that looks at names before deciding to
 * read an entry): 1 with e->raw, path and link set, 0 when excluded, -1
 * with *err. */
int ocis_intake_names(struct ocis_intake *in, struct archive_entry *ae,
		      struct ocis_intake_entry *e, ocis_error_t **err);

/* After ocis_intake_names (a reader's second look at an entry it took in
 * before): the metadata into e->pe; 0 for a socket (warned), 1. */
int ocis_intake_meta(struct ocis_intake *in, struct archive_entry *ae,
		     struct ocis_intake_entry *e, ocis_error_t **err);

/* The whole entry (names, metadata, the root, the tree rules): 1 with *e, 0 when it is left out (excluded, a socket,
 * a hardlink to itself), -1 with *err.  Entries are given in archive
 * order: the tree rules remember what came before. */
int ocis_intake_entry(struct ocis_intake *in, struct archive_entry *ae,
		      struct ocis_intake_entry *e, ocis_error_t **err);

/* The last step of ocis_intake_entry (only a directory as the root, the
 * tree rules) for an entry whose names and metadata came through an
 * intake already, another one: oci-flatten's merged tree handed to
 * oci-diff as entries (ocis_flatten_src_each), its path and link
 * normalised, its pe set.  1, 0 (a hardlink to itself), -1 with *err. */
int ocis_intake_tree(struct ocis_intake *in, const struct ocis_intake_entry *e,
		     ocis_error_t **err);

#endif
