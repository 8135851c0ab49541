/* SPDX-License-Identifier: MIT */
/*
 * Order rules for the entries of a rootfs tar: see ocistream/treecheck.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <ocistream/treecheck.h>

#include "internal.h"

#define TOMBSTONE UINT64_MAX

/* FNV-1a, in steps so that the hashes of a name's prefixes come on the way. */
#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static uint64_t
hash_final(uint64_t h)
{
	/* 0 marks an empty slot, TOMBSTONE a removed one */
	return h == 0 ? 1 : (h == TOMBSTONE ? TOMBSTONE - 1 : h);
}

static uint64_t
name_hash(const char *s, size_t len)
{
	uint64_t h = FNV_OFFSET;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * FNV_PRIME;
	return hash_final(h);
}

static int
name_set_add(struct ocis_name_set *s, uint64_t h, ocis_error_t **err)
{
	size_t i;

	if ((s->n + 1) * 2 > s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 1024, j;
		uint64_t *ns = calloc(ncap, sizeof(*ns));
		if (ns == NULL)
			return ocis_error_oom(err);
		for (j = 0; j < s->cap; j++) {
			if (s->slots[j] == 0 || s->slots[j] == TOMBSTONE)
				continue;
			for (i = s->slots[j] & (ncap - 1); ns[i]; i = (i + 1) & (ncap - 1))
				;
			ns[i] = s->slots[j];
		}
		free(s->slots);
		s->slots = ns;
		s->cap = ncap;
	}
	for (i = h & (s->cap - 1); s->slots[i]; i = (i + 1) & (s->cap - 1))
		if (s->slots[i] == h)
			return 0;
	s->slots[i] = h;
	s->n++;
	return 0;
}

static uint64_t *
name_set_find(const struct ocis_name_set *s, uint64_t h)
{
	size_t i;

	if (s->cap == 0)
		return NULL;
	for (i = h & (s->cap - 1); s->slots[i]; i = (i + 1) & (s->cap - 1))
		if (s->slots[i] == h)
			return &s->slots[i];
	return NULL;
}

static int
name_set_has(const struct ocis_name_set *s, uint64_t h)
{
	return name_set_find(s, h) != NULL;
}

static void
name_set_remove(struct ocis_name_set *s, uint64_t h)
{
	uint64_t *p = name_set_find(s, h);

	if (p)
		*p = TOMBSTONE;
}

/*
 * The first proper prefix of path (a/b of a/b/c) that an earlier entry
 * made something other than a directory, as a length, or 0; *is_symlink
 * tells a symlink.  Prefixes that no entry named are directories made on
 * the way.
 */
static size_t
nondir_prefix(const struct ocis_treecheck *t, const char *path, size_t len, int *is_symlink)
{
	uint64_t h = FNV_OFFSET;
	size_t i;

	*is_symlink = 0;
	for (i = 0; i < len; i++) {
		if (path[i] == '/' && i > 0) {
			/* the hash of path[0..i), as name_hash() gives it */
			uint64_t k = hash_final(h);
			if (name_set_has(&t->names, k) && !name_set_has(&t->dirs, k)) {
				*is_symlink = name_set_has(&t->symlinks, k);
				return i;
			}
		}
		h = (h ^ (unsigned char)path[i]) * FNV_PRIME;
	}
	return 0;
}

/* The first proper prefix of path that was a directory replaced by a
 * later non-directory entry (which removed what was in it), or 0. */
static size_t
replaced_prefix(const struct ocis_treecheck *t, const char *path, size_t len)
{
	size_t i;

	if (t->replaced.n == 0)
		return 0;
	for (i = 1; i < len; i++)
		if (path[i] == '/' && name_set_has(&t->replaced, name_hash(path, i)))
			return i;
	return 0;
}

int
ocis_treecheck_link(struct ocis_treecheck *t, const char *path, size_t len,
		    const char *target, size_t tlen, ocis_error_t **err)
{
	uint64_t h = name_hash(target, tlen);
	size_t k;
	int sym;

	if (!name_set_has(&t->names, h))
		return ocis_error_set(err, 0, "hardlink target '%.*s' is not an earlier entry "
				      "of the archive", (int)tlen, target);
	if (name_set_has(&t->dirs, h))
		return ocis_error_set(err, 0, "hardlink target '%.*s' is a directory",
				      (int)tlen, target);
	if ((k = nondir_prefix(t, target, tlen, &sym)) > 0)
		return ocis_error_set(err, 0, "hardlink target '%.*s' goes through the %s "
				      "'%.*s' of an earlier entry", (int)tlen, target,
				      sym ? "symlink" : "non-directory", (int)k, target);
	/* the target may have come back since, which the hashes cannot
	 * tell: refused either way */
	if ((k = replaced_prefix(t, target, tlen)) > 0)
		return ocis_error_set(err, 0, "hardlink target '%.*s' is in the directory "
				      "'%.*s', which a later entry replaced", (int)tlen, target,
				      (int)k, target);
	return !(len == tlen && memcmp(path, target, len) == 0);
}

int
ocis_treecheck_add(struct ocis_treecheck *t, const char *path, size_t len, char type,
		   ocis_error_t **err)
{
	const char *slash = memrchr(path, '/', len);
	size_t plen = slash ? (size_t)(slash - path) : 0, k;
	uint64_t h = name_hash(path, len);
	int sym;

	/* The entries of a directory mostly follow each other: their parent
	 * is checked once (the entry before, a sibling, cannot have changed
	 * it). */
	if (!(t->have_parent && t->parent.len == plen && memcmp(t->parent.data, path, plen) == 0)) {
		if ((k = nondir_prefix(t, path, len, &sym)) > 0)
			return ocis_error_set(err, 0, "would be written through the %s '%.*s' of "
					      "an earlier entry", sym ? "symlink" : "non-directory",
					      (int)k, path);
		ocis_buf_reset(&t->parent);
		if (ocis_buf_add(&t->parent, path, plen, err) < 0)
			return -1;
		t->have_parent = 1;
	}
	if (name_set_add(&t->names, h, err) < 0)
		return -1;
	/* The latest entry of a name decides what it is. */
	if (type == '2') {
		if (name_set_add(&t->symlinks, h, err) < 0)
			return -1;
	} else {
		name_set_remove(&t->symlinks, h);
	}
	if (type == '5') {
		if (name_set_add(&t->dirs, h, err) < 0)
			return -1;
	} else if (name_set_has(&t->dirs, h)) {
		name_set_remove(&t->dirs, h);
		if (name_set_add(&t->replaced, h, err) < 0)
			return -1;
	}
	return 0;
}

void
ocis_treecheck_release(struct ocis_treecheck *t)
{
	free(t->names.slots);
	free(t->symlinks.slots);
	free(t->dirs.slots);
	free(t->replaced.slots);
	ocis_buf_release(&t->parent);
	memset(t, 0, sizeof(*t));
}
