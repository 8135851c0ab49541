/* SPDX-License-Identifier: MIT */
/*
 * A table of interned paths, kept as a tree of components: every node is
 * (parent node, one component), and a path is found by walking its
 * components from the root.  The one name-set of the library: the tree
 * rules (treecheck), oci-diff's lower and upper maps and oci-flatten's
 * index all keep their names here.
 *
 * - Distinct names are never one node.  A component is found through a
 *   hash of (parent id, component bytes), and every hit is checked by an
 *   exact compare of the parent id and the bytes, so a collision of the
 *   hash only costs a longer probe.  The hash is SipHash-2-4 under a key
 *   drawn per table from getrandom(2), so an input cannot be built to
 *   make the probes long either.  Nothing depends on the key but the
 *   place of the slots: node ids are given in the order nodes are made,
 *   and callers never iterate the slots, so output never depends on it.
 * - Walking a path gives the node of every ancestor on the way, each
 *   prefix found once: O(length of the path), whatever its depth, where
 *   per-prefix hash lookups of whole prefixes were quadratic.
 * - Node ids are dense, from 0 (the root, the empty path) up, and never
 *   change (nothing is removed): the caller keeps what it knows of a node
 *   in its own arrays, indexed by id, or in the node's flags byte.  A
 *   node made by an add has an id >= the count before it, and a node's
 *   parent has a smaller id than the node.
 * - At most OCIS_PATHTAB_MAX nodes (2^32 - 2): beyond, adding is an
 *   error, never a wrap.
 *
 * Cost: 12 bytes a node, the component's bytes once per node (not per
 * path: "usr/lib/x" and "usr/lib/y" share "usr" and "lib"), and 5 bytes a
 * slot, between 1.33 and 2.67 slots a node (the table grows at 3/4).
 * Components are the ones ocis_tarentry_name_normalise() gives: 1 to 255
 * bytes, without '/'.
 */
#ifndef OCISTREAM_PATHTAB_H
#define OCISTREAM_PATHTAB_H

#include <stddef.h>
#include <stdint.h>

#include <ocistream/error.h>
#include <ocistream/io.h>

#define OCIS_PATHTAB_NONE UINT32_MAX
#define OCIS_PATHTAB_ROOT 0u
#define OCIS_PATHTAB_MAX (UINT32_MAX - 1)	/* nodes, the root included */
#define OCIS_PATHTAB_COMPONENT_MAX 255

struct ocis_pathtab_node {
	uint32_t parent;	/* OCIS_PATHTAB_NONE for the root */
	uint32_t off;		/* the component in the arena: low 32 bits */
	uint8_t off_hi;		/* and bits 32..39 */
	uint8_t len;		/* its length (0 only for the root) */
	uint8_t flags;		/* the caller's; 0 when the node is made */
	uint8_t spare;
};

/* ocis_pathtab_init() before use, ocis_pathtab_release() after. */
struct ocis_pathtab {
	struct ocis_pathtab_node *nodes;
	size_t n, cap;		/* nodes */
	uint32_t *slots;	/* node id + 1, 0 = free; by hash of (parent, component) */
	uint8_t *tags;		/* a byte of that hash per used slot */
	size_t n_slots;		/* a power of two */
	unsigned char *arena;	/* the components, one after the other */
	size_t arena_len, arena_cap;
	uint64_t key[2];	/* the hash key, random per table */
	uint32_t max;		/* nodes allowed (OCIS_PATHTAB_MAX; tests lower it) */
	/* component lookups made, adds and walks included: a statistic the
	 * tests bound to catch a walk that turned quadratic again (the one
	 * field a lookup through a const table changes) */
	uint64_t lookups;
};

/* An empty table: the root node only.  0, or -1 (out of memory). */
int ocis_pathtab_init(struct ocis_pathtab *t, ocis_error_t **err);
void ocis_pathtab_release(struct ocis_pathtab *t);

/* The number of nodes, the root included. */
static inline size_t
ocis_pathtab_count(const struct ocis_pathtab *t)
{
	return t->n;
}

static inline uint32_t
ocis_pathtab_parent(const struct ocis_pathtab *t, uint32_t id)
{
	return t->nodes[id].parent;
}

static inline uint8_t *
ocis_pathtab_flags(struct ocis_pathtab *t, uint32_t id)
{
	return &t->nodes[id].flags;
}

/* The child of parent named c[0..len), or OCIS_PATHTAB_NONE. */
uint32_t ocis_pathtab_child(const struct ocis_pathtab *t, uint32_t parent, const char *c,
			    size_t len);

/* The same, made when missing (flags 0).  1 when made, 0 when found, -1
 * with *err: a component of 0 or over 255 bytes, or the table full. */
int ocis_pathtab_child_add(struct ocis_pathtab *t, uint32_t parent, const char *c, size_t len,
			   uint32_t *id, ocis_error_t **err);

/* The node of a normalised path ("" is the root, components joined by
 * single '/'), or OCIS_PATHTAB_NONE when it is not in the table. */
uint32_t ocis_pathtab_find(const struct ocis_pathtab *t, const char *p, size_t len);

/* The same, made with its missing ancestors.  0, or -1 with *err. */
int ocis_pathtab_add(struct ocis_pathtab *t, const char *p, size_t len, uint32_t *id,
		     ocis_error_t **err);

/* The path of node id into out (reset first; NUL-terminated). */
int ocis_pathtab_name(const struct ocis_pathtab *t, uint32_t id, struct ocis_buf *out,
		      ocis_error_t **err);

/*
 * A walk: the nodes of every prefix of a path that ends at a component,
 * ids[i] the node of the first i+1 components, ends[i] that prefix's
 * length in bytes.  The walk remembers its last path: a next path that
 * shares leading components with it finds only the others, so a tar in
 * directory order costs about one component lookup an entry.  Zero-
 * initialised; ocis_pathtab_walk_reset() when the table is cleared,
 * ocis_pathtab_walk_release() after.  A walk belongs to one table.
 */
struct ocis_pathtab_walk {
	uint32_t *ids;
	size_t *ends;
	size_t n, cap;		/* components resolved */
	struct ocis_buf last;	/* the path they belong to */
};

/* Walk p (normalised, len bytes).  With add, missing nodes are made (flags
 * 0, in order: an ancestor before its descendants).  1 when every
 * component resolved (w->n of them; the path's node is
 * ocis_pathtab_walk_node()), 0 when one is not in the table (w->n: those
 * before it), -1 with *err. */
int ocis_pathtab_walk(struct ocis_pathtab *t, struct ocis_pathtab_walk *w, const char *p,
		      size_t len, int add, ocis_error_t **err);

/* The node of the last component resolved, the root when none. */
static inline uint32_t
ocis_pathtab_walk_node(const struct ocis_pathtab_walk *w)
{
	return w->n ? w->ids[w->n - 1] : OCIS_PATHTAB_ROOT;
}

void ocis_pathtab_walk_reset(struct ocis_pathtab_walk *w);
void ocis_pathtab_walk_release(struct ocis_pathtab_walk *w);

#endif
