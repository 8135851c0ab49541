/* SPDX-License-Identifier: MIT */
/*
 * Interned paths as a tree of components: see ocistream/pathtab.h.
 *
 * The slots are open addressing with linear probing over node ids (4
 * bytes a slot), with a byte of the hash beside each (a tag): a probe
 * reads the node (a cache miss: nodes are where their ids put them) only
 * when the tag matches, one time in 256 for another name.  The hash of a
 * node is not stored but computed again from its parent and its
 * component when the table grows, which keeps a node at 12 bytes.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <ocistream/pathtab.h>

#include "internal.h"
#include "pathtab-private.h"

int ocis__pathtab_const_hash;

/* --- SipHash-2-4 (Aumasson, Bernstein), 64-bit output --------------------- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND \
	do { \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2; \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0; \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
	} while (0)

static uint64_t
le64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

uint64_t
ocis__siphash24(const uint64_t key[2], const void *data, size_t n)
{
	const unsigned char *m = data;
	uint64_t v0 = 0x736f6d6570736575ULL ^ key[0];
	uint64_t v1 = 0x646f72616e646f6dULL ^ key[1];
	uint64_t v2 = 0x6c7967656e657261ULL ^ key[0];
	uint64_t v3 = 0x7465646279746573ULL ^ key[1];
	uint64_t b = (uint64_t)n << 56, w;
	size_t i, left = n & 7;

	for (i = 0; i + 8 <= n; i += 8) {
		w = le64(m + i);
		v3 ^= w;
		SIPROUND;
		SIPROUND;
		v0 ^= w;
	}
	while (left > 0) {
		left--;
		b |= (uint64_t)m[i + left] << (8 * left);
	}
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* The hash of (parent, component): SipHash of le32(parent) || bytes. */
static uint64_t
comp_hash(const struct ocis_pathtab *t, uint32_t parent, const char *c, size_t len)
{
	unsigned char m[4 + OCIS_PATHTAB_COMPONENT_MAX];

	if (ocis__pathtab_const_hash)
		return 0;	/* the test hook: every node collides */
	m[0] = (unsigned char)parent;
	m[1] = (unsigned char)(parent >> 8);
	m[2] = (unsigned char)(parent >> 16);
	m[3] = (unsigned char)(parent >> 24);
	memcpy(m + 4, c, len);
	return ocis__siphash24(t->key, m, 4 + len);
}

/* --- the table -------------------------------------------------------------- */

static size_t
node_off(const struct ocis_pathtab_node *x)
{
	return (size_t)x->off | ((size_t)x->off_hi << 32);
}

static int
node_is(const struct ocis_pathtab *t, uint32_t id, uint32_t parent, const char *c, size_t len)
{
	const struct ocis_pathtab_node *x = &t->nodes[id];

	return x->parent == parent && x->len == len &&
	       memcmp(t->arena + node_off(x), c, len) == 0;
}

static void
random_key(uint64_t key[2])
{
	unsigned char b[16];
	ssize_t n;

	do
		n = getrandom(b, sizeof(b), GRND_NONBLOCK);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(b)) {
		key[0] = le64(b);
		key[1] = le64(b + 8);
		return;
	}
	/* no entropy yet (early boot) or no getrandom: the compare stays
	 * exact, only the probes are easier to lengthen */
	key[0] = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	key[1] = (uint64_t)(uintptr_t)key ^ (uint64_t)clock();
}

int
ocis_pathtab_init(struct ocis_pathtab *t, ocis_error_t **err)
{
	memset(t, 0, sizeof(*t));
	t->max = OCIS_PATHTAB_MAX;
	random_key(t->key);
	if (ocis__grow((void **)&t->nodes, &t->cap, 1, sizeof(*t->nodes), err) < 0)
		return -1;
	memset(&t->nodes[0], 0, sizeof(t->nodes[0]));
	t->nodes[0].parent = OCIS_PATHTAB_NONE;
	t->n = 1;
	return 0;
}

void
ocis_pathtab_release(struct ocis_pathtab *t)
{
	free(t->nodes);
	free(t->slots);
	free(t->tags);
	free(t->arena);
	memset(t, 0, sizeof(*t));
}

#define TAG(h) ((uint8_t)((h) >> 56))

uint32_t
ocis_pathtab_child(const struct ocis_pathtab *t, uint32_t parent, const char *c, size_t len)
{
	size_t i, mask = t->n_slots - 1;
	uint64_t h;
	uint8_t tag;

	((struct ocis_pathtab *)t)->lookups++;
	if (t->n_slots == 0 || len == 0 || len > OCIS_PATHTAB_COMPONENT_MAX)
		return OCIS_PATHTAB_NONE;
	h = comp_hash(t, parent, c, len);
	tag = TAG(h);
	for (i = (size_t)h & mask; t->slots[i]; i = (i + 1) & mask)
		if (t->tags[i] == tag && node_is(t, t->slots[i] - 1, parent, c, len))
			return t->slots[i] - 1;
	return OCIS_PATHTAB_NONE;
}

/* Place node id (not in the table yet) in a free slot. */
static void
slot_put(struct ocis_pathtab *t, uint32_t id)
{
	const struct ocis_pathtab_node *x = &t->nodes[id];
	size_t i, mask = t->n_slots - 1;
	uint64_t h = comp_hash(t, x->parent, (const char *)t->arena + node_off(x), x->len);

	for (i = (size_t)h & mask; t->slots[i]; i = (i + 1) & mask)
		;
	t->slots[i] = id + 1;
	t->tags[i] = TAG(h);
}

/* Room for one more node in the slots (at most 3/4 used). */
static int
slots_grow(struct ocis_pathtab *t, ocis_error_t **err)
{
	size_t ncap;
	uint32_t id, *ns;
	uint8_t *nt;

	/* nodes but the root are in the slots */
	if (t->n * 4 <= t->n_slots * 3)
		return 0;
	ncap = t->n_slots ? t->n_slots * 2 : 1024;
	ns = calloc(ncap, sizeof(*ns));
	nt = malloc(ncap);
	if (ns == NULL || nt == NULL) {
		free(ns);
		free(nt);
		return ocis_error_oom(err);
	}
	free(t->slots);
	free(t->tags);
	t->slots = ns;
	t->tags = nt;
	t->n_slots = ncap;
	for (id = 1; id < t->n; id++)
		slot_put(t, id);
	return 0;
}

int
ocis_pathtab_child_add(struct ocis_pathtab *t, uint32_t parent, const char *c, size_t len,
		       uint32_t *id, ocis_error_t **err)
{
	struct ocis_pathtab_node *x;
	uint32_t k;

	if (len == 0 || len > OCIS_PATHTAB_COMPONENT_MAX || memchr(c, '/', len) != NULL)
		return ocis_error_set(err, 0, "internal: path component of %zu bytes", len);
	if ((k = ocis_pathtab_child(t, parent, c, len)) != OCIS_PATHTAB_NONE) {
		*id = k;
		return 0;
	}
	if (t->n >= t->max)
		return ocis_error_set(err, 0, "more than %lu different names",
				      (unsigned long)t->max - 1);
	if ((t->arena_len + len) >> 40)
		return ocis_error_set(err, 0, "names of more than 1 TiB");
	if (ocis__grow((void **)&t->nodes, &t->cap, t->n + 1, sizeof(*t->nodes), err) < 0 ||
	    ocis__grow((void **)&t->arena, &t->arena_cap, t->arena_len + len, 1, err) < 0)
		return -1;
	k = (uint32_t)t->n;
	x = &t->nodes[k];
	x->parent = parent;
	x->off = (uint32_t)t->arena_len;
	x->off_hi = (uint8_t)((uint64_t)t->arena_len >> 32);
	x->len = (uint8_t)len;
	x->flags = 0;
	x->spare = 0;
	memcpy(t->arena + t->arena_len, c, len);
	t->arena_len += len;
	t->n++;
	/* grown, the slots hold node k already; otherwise put it in */
	if (t->n * 4 > t->n_slots * 3) {
		if (slots_grow(t, err) < 0) {
			t->n--;
			t->arena_len -= len;
			return -1;
		}
	} else {
		slot_put(t, k);
	}
	*id = k;
	return 1;
}

/* The length of the component of p that starts at i. */
static size_t
comp_len(const char *p, size_t len, size_t i)
{
	const char *s = memchr(p + i, '/', len - i);

	return s ? (size_t)(s - (p + i)) : len - i;
}

uint32_t
ocis_pathtab_find(const struct ocis_pathtab *t, const char *p, size_t len)
{
	uint32_t id = OCIS_PATHTAB_ROOT;
	size_t i, k;

	if (len > 0 && p[len - 1] == '/')
		return OCIS_PATHTAB_NONE;
	for (i = 0; i < len && id != OCIS_PATHTAB_NONE; i += k + 1) {
		k = comp_len(p, len, i);
		id = ocis_pathtab_child(t, id, p + i, k);
	}
	return id;
}

int
ocis_pathtab_add(struct ocis_pathtab *t, const char *p, size_t len, uint32_t *id,
		 ocis_error_t **err)
{
	uint32_t x = OCIS_PATHTAB_ROOT;
	size_t i, k;

	if (len > 0 && p[len - 1] == '/')
		return ocis_error_set(err, 0, "internal: path ending with '/'");
	for (i = 0; i < len; i += k + 1) {
		k = comp_len(p, len, i);
		if (ocis_pathtab_child_add(t, x, p + i, k, &x, err) < 0)
			return -1;
	}
	*id = x;
	return 0;
}

int
ocis_pathtab_name(const struct ocis_pathtab *t, uint32_t id, struct ocis_buf *out,
		  ocis_error_t **err)
{
	size_t total = 0, at;
	uint32_t x;

	for (x = id; x != OCIS_PATHTAB_ROOT; x = t->nodes[x].parent)
		total += t->nodes[x].len + (total ? 1 : 0);
	ocis_buf_reset(out);
	if (ocis_buf_grow(out, total + 1, err) < 0)
		return -1;
	at = total;
	for (x = id; x != OCIS_PATHTAB_ROOT; x = t->nodes[x].parent) {
		const struct ocis_pathtab_node *n = &t->nodes[x];
		at -= n->len;
		memcpy(out->data + at, t->arena + node_off(n), n->len);
		if (at > 0)
			out->data[--at] = '/';
	}
	out->len = total;
	out->data[total] = 0;
	return 0;
}

/* --- walks ------------------------------------------------------------------ */

int
ocis_pathtab_walk(struct ocis_pathtab *t, struct ocis_pathtab_walk *w, const char *p,
		  size_t len, int add, ocis_error_t **err)
{
	const char *q = (const char *)w->last.data;
	size_t same = 0, i, k, n = 0;
	uint32_t x;

	if (len > 0 && p[len - 1] == '/')
		return ocis_error_set(err, 0, "internal: path ending with '/'");
	/* the components shared with the last path walked */
	if (w->n > 0) {
		size_t m = w->last.len < len ? w->last.len : len, lo = 0, hi = w->n;

		/* 8 bytes at a time, then bytes: names thousands of bytes long
		 * differ in their last component */
		while (same + 8 <= m && memcmp(q + same, p + same, 8) == 0)
			same += 8;
		while (same < m && q[same] == p[same])
			same++;
		/* the components that end before the first difference (the
		 * ends grow; one that ends just there must end in p too) */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (w->ends[mid] < same)
				lo = mid + 1;
			else
				hi = mid;
		}
		n = lo;
		if (n < w->n && w->ends[n] == same && (same == len || p[same] == '/'))
			n++;
	}
	w->n = n;
	x = n ? w->ids[n - 1] : OCIS_PATHTAB_ROOT;
	for (i = n ? w->ends[n - 1] + 1 : 0; i < len; i += k + 1) {
		k = comp_len(p, len, i);
		if (add) {
			if (ocis_pathtab_child_add(t, x, p + i, k, &x, err) < 0)
				goto fail;
		} else if ((x = ocis_pathtab_child(t, x, p + i, k)) == OCIS_PATHTAB_NONE) {
			break;
		}
		if (w->n == w->cap) {
			size_t cap = w->cap;
			if (ocis__grow((void **)&w->ids, &cap, w->n + 1, sizeof(*w->ids), err) < 0 ||
			    ocis__grow((void **)&w->ends, &w->cap, w->n + 1, sizeof(*w->ends),
					err) < 0)
				goto fail;
		}
		w->ids[w->n] = x;
		w->ends[w->n] = i + k;
		w->n++;
	}
	ocis_buf_reset(&w->last);
	if (ocis_buf_add(&w->last, p, len, err) < 0)
		goto fail;
	return i >= len;
fail:
	w->n = 0;	/* nothing to reuse: the ids are not last's */
	return -1;
}

void
ocis_pathtab_walk_reset(struct ocis_pathtab_walk *w)
{
	w->n = 0;
	ocis_buf_reset(&w->last);
}

void
ocis_pathtab_walk_release(struct ocis_pathtab_walk *w)
{
	free(w->ids);
	free(w->ends);
	ocis_buf_release(&w->last);
	memset(w, 0, sizeof(*w));
}
