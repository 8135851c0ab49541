/* SPDX-License-Identifier: MIT */
/*
 * Package-split layers: see ocistream/layersplit.h.
 *
 * Compression.  Every layer is a pooled layer out (layerout.h) of one
 * compressor pool (blockpool.h): the caller's thread copies a layer's
 * bytes into the layer's pending block, and the pool's workers compress
 * the blocks of all layers; a layer costs its pending block and its
 * spool, whatever the thread count, and its bytes do not depend on it.
 * Every header written into a layer (parent directories included) is an
 * entry start of that layer, so its blocks end where a single layer of
 * the same entries ends them.
 *
 * State per name seen (a node of `seen`): the layers that hold its
 * directory entry and the layers that hold something below it, as 128-bit
 * sets (OCIS_SPLITMAP_LAYERS_MAX < 128), where its directory header is in
 * `dirs`, and for anything else the layer it went to (a hardlink's target
 * is found there).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ocistream/blockpool.h>
#include <ocistream/layersplit.h>
#include <ocistream/pathtab.h>

#include "internal.h"

struct layerset {
	uint64_t w[2];
};

struct node_state {
	struct layerset has;	/* layers holding this directory's entry */
	struct layerset below;	/* layers holding something below it */
	uint64_t hdr_off;	/* its directory header in `dirs` */
	uint32_t hdr_len;	/* 0: no directory entry seen */
	int16_t layer;		/* not a directory: its layer, else -1 */
};

struct ocis_layersplit {
	struct ocis_splitmap *map;
	struct ocis_stream_writer *w;
	struct ocis_blockpool *pool;	/* every layer's compressor */
	struct ocis_layer_out **lo;	/* by layer; NULL until its first entry */
	struct ocis_pathtab seen;
	struct ocis_pathtab_walk walk, lwalk;
	struct node_state *st;
	size_t st_cap;
	struct ocis_buf dirs;		/* the directory headers, one after the other */
	int cur;			/* the layer of the current entry's data */
};

static int
set_has(const struct layerset *s, int i)
{
	return (int)((s->w[i / 64] >> (i % 64)) & 1);
}

static void
set_add(struct layerset *s, int i)
{
	s->w[i / 64] |= (uint64_t)1 << (i % 64);
}

int
ocis_layersplit_new(struct ocis_layersplit **out, struct ocis_splitmap *map,
		    struct ocis_stream_writer *w, enum ocis_compression compression, int level,
		    int threads, ocis_error_t **err)
{
	struct ocis_layersplit *s;

	if (map->n_layers == 0 || map->n_layers > OCIS_SPLITMAP_LAYERS_MAX)
		return ocis_error_set(err, EINVAL, "internal: split map of %zu layers",
				      map->n_layers);
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return ocis_error_oom(err);
	s->map = map;
	s->w = w;
	if ((s->lo = calloc(map->n_layers, sizeof(*s->lo))) == NULL) {
		free(s);
		return ocis_error_oom(err);
	}
	if (ocis_pathtab_init(&s->seen, err) < 0 ||
	    ocis_blockpool_new(&s->pool, compression, level, threads, err) < 0) {
		ocis_layersplit_free(s);
		return -1;
	}
	*out = s;
	return 0;
}

/* State for every node of `seen` (new ones: no header, no layer). */
static int
grow_state(struct ocis_layersplit *s, ocis_error_t **err)
{
	size_t n = ocis_pathtab_count(&s->seen), old = s->st_cap, i;

	if (n <= old)
		return 0;
	if (ocis__grow((void **)&s->st, &s->st_cap, n, sizeof(*s->st), err) < 0)
		return -1;
	for (i = old; i < s->st_cap; i++) {
		memset(&s->st[i], 0, sizeof(s->st[i]));
		s->st[i].layer = -1;
	}
	return 0;
}

int
ocis_layersplit_use_cache(struct ocis_layersplit *s, const char *dir, uint64_t max,
			  ocis_error_t **err)
{
	return ocis_blockpool_use_cache(s->pool, dir, max, err);
}

int
ocis_layersplit_cache_stats(struct ocis_layersplit *s, struct ocis_blockcache_stats *st)
{
	return ocis_blockpool_cache_stats(s->pool, st);
}

/* Write p into layer i, opening it on its first bytes. */
static int
layer_write(struct ocis_layersplit *s, int i, const void *p, size_t len, ocis_error_t **err)
{
	if (s->lo[i] == NULL && ocis_layer_out_new_pooled(&s->lo[i], s->w, s->pool, err) < 0)
		return ocis_error_wrap(err, "layer '%s'", s->map->names[i]);
	if (ocis_layer_out_write(s->lo[i], p, len, err) < 0)
		return ocis_error_wrap(err, "layer '%s'", s->map->names[i]);
	return 0;
}

/* A header into layer i: an entry starts there (chunker.h). */
static int
layer_header(struct ocis_layersplit *s, int i, const void *hdr, size_t len, ocis_error_t **err)
{
	if (s->lo[i] != NULL && ocis_layer_out_entry(s->lo[i], err) < 0)
		return ocis_error_wrap(err, "layer '%s'", s->map->names[i]);
	return layer_write(s, i, hdr, len, err);
}

int
ocis_layersplit_write(struct ocis_layersplit *s, const void *data, size_t len,
		      ocis_error_t **err)
{
	return layer_write(s, s->cur, data, len, err);
}

/* Node x's directory header into layer i, unless it is there already. */
static int
put_dir(struct ocis_layersplit *s, uint32_t x, int i, ocis_error_t **err)
{
	struct node_state *n = &s->st[x];

	if (n->hdr_len == 0 || set_has(&n->has, i))
		return 0;
	set_add(&n->has, i);
	return layer_header(s, i, s->dirs.data + n->hdr_off, n->hdr_len, err);
}

/* The directories above the entry the walk ended at, into layer i. */
static int
put_parents(struct ocis_layersplit *s, int i, ocis_error_t **err)
{
	size_t k;

	set_add(&s->st[OCIS_PATHTAB_ROOT].below, i);
	if (put_dir(s, OCIS_PATHTAB_ROOT, i, err) < 0)
		return -1;
	for (k = 0; k + 1 < s->walk.n; k++) {
		set_add(&s->st[s->walk.ids[k]].below, i);
		if (put_dir(s, s->walk.ids[k], i, err) < 0)
			return -1;
	}
	return 0;
}

/* A directory entry: remembered, then written to its own layer and every
 * layer holding it or something below it. */
static int
put_directory(struct ocis_layersplit *s, uint32_t x, int own, const void *hdr, size_t len,
	      ocis_error_t **err)
{
	struct node_state *n = &s->st[x];
	struct layerset to = n->has;
	int i;

	if (len == 0 || len > UINT32_MAX)
		return ocis_error_set(err, 0, "internal: directory header of %zu bytes", len);
	n->hdr_off = s->dirs.len;
	n->hdr_len = (uint32_t)len;
	n->layer = -1;
	if (ocis_buf_add(&s->dirs, hdr, len, err) < 0)
		return -1;
	to.w[0] |= n->below.w[0];
	to.w[1] |= n->below.w[1];
	set_add(&to, own);
	memset(&n->has, 0, sizeof(n->has));
	for (i = 0; i < (int)s->map->n_layers; i++) {
		if (!set_has(&to, i))
			continue;
		set_add(&n->has, i);
		if (layer_header(s, i, hdr, len, err) < 0)
			return -1;
	}
	return 0;
}

int
ocis_layersplit_entry(struct ocis_layersplit *s, const char *path, size_t len, char type,
		      const char *link, size_t link_len, const void *hdr, size_t hdr_len,
		      ocis_error_t **err)
{
	uint32_t x;
	int layer = -1;

	if (ocis_pathtab_walk(&s->seen, &s->walk, path, len, 1, err) < 0 ||
	    grow_state(s, err) < 0)
		return -1;
	x = ocis_pathtab_walk_node(&s->walk);
	if (type == '1' && link != NULL) {
		int r = ocis_pathtab_walk(&s->seen, &s->lwalk, link, link_len, 0, err);
		if (r < 0)
			return -1;
		if (r == 1)
			layer = s->st[ocis_pathtab_walk_node(&s->lwalk)].layer;
	}
	if (layer < 0 && (layer = ocis_splitmap_lookup(s->map, path, len, err)) < 0)
		return -1;
	if (len > 0 && put_parents(s, layer, err) < 0)
		return -1;
	if (type == '5') {
		if (put_directory(s, x, layer, hdr, hdr_len, err) < 0)
			return -1;
	} else {
		/* a name that was a directory and is now something else */
		s->st[x].hdr_len = 0;
		s->st[x].layer = (int16_t)layer;
		if (layer_header(s, layer, hdr, hdr_len, err) < 0)
			return -1;
	}
	s->cur = layer;
	return 0;
}

uint64_t
ocis_layersplit_written(const struct ocis_layersplit *s)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < s->map->n_layers; i++)
		if (s->lo[i] != NULL)
			n += ocis_layer_out_written(s->lo[i]);
	return n;
}

int
ocis_layersplit_finish(struct ocis_layersplit *s, const char *created, const char *created_by,
		       const char *comment, ocis_layersplit_layer_fn on_layer, void *ctx,
		       struct ocis_layer_desc *last, ocis_error_t **err)
{
	struct ocis_buf by = OCIS_BUF_INIT;
	struct ocis_layer_desc d;
	size_t i, n_open = 0, rest = s->map->n_layers - 1;
	int r = -1;

	memset(&d, 0, sizeof(d));
	for (i = 0; i < s->map->n_layers; i++)
		n_open += s->lo[i] != NULL;
	if (n_open == 0 && ocis_layer_out_new_pooled(&s->lo[rest], s->w, s->pool, err) < 0)
		return -1;
	/* every layer's last block to the pool first: they are compressed
	 * together while the first layers are copied out */
	for (i = 0; i < s->map->n_layers; i++)
		if (s->lo[i] != NULL && ocis_layer_out_end(s->lo[i], err) < 0)
			return ocis_error_wrap(err, "layer '%s'", s->map->names[i]);
	for (i = 0; i < s->map->n_layers; i++) {
		if (s->lo[i] == NULL)
			continue;
		ocis_buf_reset(&by);
		if (ocis_buf_addf(&by, err, "%s (layer %s)",
				  created_by ? created_by : "oci-layer --split",
				  s->map->names[i]) < 0)
			goto out;
		ocis_layer_desc_release(&d);
		if (ocis_layer_out_finish(s->lo[i], created, (const char *)by.data, comment, &d,
					  err) < 0) {
			ocis_error_wrap(err, "layer '%s'", s->map->names[i]);
			goto out;
		}
		/* its memory and spool go before the next layer's copy */
		ocis_layer_out_free(s->lo[i]);
		s->lo[i] = NULL;
		if (on_layer)
			on_layer(ctx, s->map->names[i], &d);
	}
	ocis_blockpool_trim_cache(s->pool);
	if (last) {
		*last = d;
		memset(&d, 0, sizeof(d));
	}
	r = 0;
out:
	ocis_layer_desc_release(&d);
	ocis_buf_release(&by);
	return r;
}

void
ocis_layersplit_free(struct ocis_layersplit *s)
{
	size_t i;

	if (s == NULL)
		return;
	/* the layers before their pool (blockpool.h) */
	for (i = 0; s->lo != NULL && i < s->map->n_layers; i++)
		ocis_layer_out_free(s->lo[i]);
	free(s->lo);
	ocis_blockpool_free(s->pool);
	free(s->st);
	ocis_pathtab_walk_release(&s->walk);
	ocis_pathtab_walk_release(&s->lwalk);
	ocis_pathtab_release(&s->seen);
	ocis_buf_release(&s->dirs);
	free(s);
}
