/* SPDX-License-Identifier: MIT */
/*
 * Order rules for the entries of a rootfs tar: see ocistream/treecheck.h.
 *
 * What a name now is lives in its node's flags.  A node without
 * T_NAMED is a directory made on the way (the parent of an entry).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <ocistream/treecheck.h>

#include "internal.h"

#define T_NAMED 1	/* an entry had this name */
#define T_NONDIR 2	/* its latest entry is not a directory */
#define T_SYMLINK 4	/* its latest entry is a symlink */
#define T_WAS_SYMLINK 8	/* an entry made it a symlink, once at least */
#define T_REPLACED 16	/* a directory that a later non-directory replaced */

static int
ready(struct ocis_treecheck *t, ocis_error_t **err)
{
	if (t->ready)
		return 0;
	if (ocis_pathtab_init(&t->names, err) < 0)
		return -1;
	t->ready = 1;
	return 0;
}

static uint8_t
flags(struct ocis_treecheck *t, uint32_t id)
{
	return *ocis_pathtab_flags(&t->names, id);
}

/* The first proper ancestor in walk w (of a path of w->n components)
 * whose flags have one of `bits`, as its index, or w->n. */
static size_t
ancestor_with(struct ocis_treecheck *t, const struct ocis_pathtab_walk *w, uint8_t bits)
{
	size_t i;

	for (i = 0; i + 1 < w->n; i++)
		if (flags(t, w->ids[i]) & bits)
			return i;
	return w->n;
}

int
ocis_treecheck_link(struct ocis_treecheck *t, const char *path, size_t len,
		    const char *target, size_t tlen, ocis_error_t **err)
{
	struct ocis_pathtab_walk *w = &t->lwalk;
	int r;
	size_t i;
	uint8_t f;

	if (ready(t, err) < 0 || (r = ocis_pathtab_walk(&t->names, w, target, tlen, 0, err)) < 0)
		return -1;
	if (r == 0 || tlen == 0 || !((f = flags(t, ocis_pathtab_walk_node(w))) & T_NAMED))
		return ocis_error_set(err, 0, "hardlink target '%.*s' is not an earlier entry "
				      "of the archive", (int)tlen, target);
	if (!(f & T_NONDIR))
		return ocis_error_set(err, 0, "hardlink target '%.*s' is a directory",
				      (int)tlen, target);
	if ((i = ancestor_with(t, w, T_NONDIR)) < w->n)
		return ocis_error_set(err, 0, "hardlink target '%.*s' goes through the %s "
				      "'%.*s' of an earlier entry", (int)tlen, target,
				      flags(t, w->ids[i]) & T_SYMLINK ? "symlink" : "non-directory",
				      (int)w->ends[i], target);
	/* the target may have come back since, which the flags cannot
	 * tell: refused either way */
	if ((i = ancestor_with(t, w, T_REPLACED)) < w->n)
		return ocis_error_set(err, 0, "hardlink target '%.*s' is in the directory "
				      "'%.*s', which a later entry replaced", (int)tlen, target,
				      (int)w->ends[i], target);
	return !(len == tlen && memcmp(path, target, len) == 0);
}

/* A component ".wh.*" of path (the one at c, k bytes, the last one when
 * last): refused, or with t->whiteouts kept when it is a well-formed
 * whiteout.  0, or -1 with *err. */
static int
whiteout_name(const struct ocis_treecheck *t, const char *c, size_t k, int last, char type,
	      ocis_error_t **err)
{
	if (!t->whiteouts)
		return ocis_error_set(err, 0, "'%.*s' is a whiteout name, which a rootfs does "
				      "not hold (oci-layer --whiteouts takes a prepared layer)",
				      (int)k, c);
	if (!last)
		return ocis_error_set(err, 0, "it is below the whiteout '%.*s'", (int)k, c);
	if (type != '0')
		return ocis_error_set(err, 0, "the whiteout '%.*s' is not a regular file", (int)k,
				      c);
	if (k == 4 || (k == 5 && c[4] == '.') || (k == 6 && c[4] == '.' && c[5] == '.'))
		return ocis_error_set(err, 0, "'%.*s' is a whiteout of nothing, '.' or '..'",
				      (int)k, c);
	if (k >= 8 && memcmp(c, ".wh..wh.", 8) == 0 &&
	    !(k == 12 && memcmp(c, ".wh..wh..opq", 12) == 0))
		return ocis_error_set(err, 0, "'%.*s' is a reserved whiteout name", (int)k, c);
	return 0;
}

int
ocis_treecheck_add(struct ocis_treecheck *t, const char *path, size_t len, char type,
		   ocis_error_t **err)
{
	struct ocis_pathtab_walk *w = &t->walk;
	size_t n_before, i, from;
	uint32_t id;
	uint8_t *f;

	if (ready(t, err) < 0)
		return -1;
	n_before = ocis_pathtab_count(&t->names);
	if (ocis_pathtab_walk(&t->names, w, path, len, 1, err) < 0)
		return -1;
	/* one scan of the path, not a compare per component: deep trees
	 * have thousands */
	if (ocis__wh_component(path, len) != NULL)
		for (i = 0; i < w->n; i++) {
			from = i ? w->ends[i - 1] + 1 : 0;
			if (w->ends[i] - from >= 4 && memcmp(path + from, ".wh.", 4) == 0 &&
			    whiteout_name(t, path + from, w->ends[i] - from, i + 1 == w->n,
					  type, err) < 0)
				return -1;
		}
	/* one loop over the ancestors for both rules below; the rule that
	 * refuses is then looked for in order */
	if (ancestor_with(t, w, T_NONDIR | T_WAS_SYMLINK) < w->n) {
		if ((i = ancestor_with(t, w, T_NONDIR)) < w->n)
			return ocis_error_set(err, 0, "would be written through the %s '%.*s' "
					      "of an earlier entry",
					      flags(t, w->ids[i]) & T_SYMLINK ? "symlink" :
					      "non-directory", (int)w->ends[i], path);
		i = ancestor_with(t, w, T_WAS_SYMLINK);
		return ocis_error_set(err, 0, "it is below '%.*s', which an earlier entry made "
				      "a symlink (unpackers disagree on whether a directory "
				      "entry replaces it)", (int)w->ends[i], path);
	}
	id = ocis_pathtab_walk_node(w);
	f = ocis_pathtab_flags(&t->names, id);
	/* The latest entry of a name decides what it is.  A directory it
	 * was (its own entry or made on the way, before this entry) is
	 * replaced, with what was in it. */
	if (type != '5' && id < n_before && !(*f & T_NONDIR))
		*f |= T_REPLACED;
	*f = (uint8_t)((*f & (T_WAS_SYMLINK | T_REPLACED)) | T_NAMED |
		       (type != '5' ? T_NONDIR : 0) |
		       (type == '2' ? T_SYMLINK | T_WAS_SYMLINK : 0));
	return 0;
}

void
ocis_treecheck_release(struct ocis_treecheck *t)
{
	if (t->ready)
		ocis_pathtab_release(&t->names);
	ocis_pathtab_walk_release(&t->walk);
	ocis_pathtab_walk_release(&t->lwalk);
	memset(t, 0, sizeof(*t));
}
