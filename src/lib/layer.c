/* SPDX-License-Identifier: MIT */
/*
 * Layer builder: see ocistream/layer.h.
 *
 * Data path, one pass:
 *   tar reader (src/lib/decompress.c, src/lib/tarin.c: decompression,
 *   libarchive, checks) -> entry intake (src/lib/intake.c) -> pax
 *   encoder -> layer output (src/lib/layerout.c: compressor hashing
 *   diff_id and digest on its own threads, chunk assembler, image stream
 *   writer)
 * Only bounded buffers hold data, so memory does not depend on the layer
 * size.
 *
 * Fidelity (docs/fidelity.md): every field of an entry is written back as
 * the tar reader gives it (it corrects libarchive's reading of negative
 * pax times), with two changes forced by what a layer can hold:
 * - a pax hardlink that carries data (pax -o linkdata) comes back as a
 *   regular file with a hardlink; it is written as a plain hardlink (the
 *   data is that of the link target), its data skipped;
 * - sparse files come back as data blocks at offsets; holes are written
 *   as zeros (a layer has no sparse entries).
 * The opt-in normalisations (clamp mtime, owner/group, exclude) are the
 * only other changes.
 */
#include "config.h"

#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ocistream/layer.h>
#include <ocistream/layerdesc.h>
#include <ocistream/layerout.h>
#include <ocistream/layersplit.h>
#include <ocistream/pax.h>
#include <ocistream/intake.h>
#include <ocistream/tarin.h>

#include "internal.h"
#include "tarhdr-private.h"


struct builder {
	const struct ocis_layer_opts *o;
	struct ocis_layer_out *lo;	/* compressor, chunks, descriptor */
	struct ocis_layersplit *split;	/* --split, or NULL */
	uint64_t tar_bytes;		/* uncompressed layer bytes so far */
	uint64_t entries;
	uint64_t progress_mark;	/* tar_bytes at the last progress call */
	struct ocis_buf hdr, path;
	struct ocis_intake intake;	/* name rules, tree rules, pax entry */
	struct ocis_tarin *in;
};

static void
report_progress(struct builder *b)
{
	struct ocis_layer_progress p;

	if (b->o->progress == NULL)
		return;
	b->progress_mark = b->tar_bytes;
	p.input_bytes = ocis_tarin_input_bytes(b->in);
	p.tar_bytes = b->tar_bytes;
	p.output_bytes = b->split ? ocis_layersplit_written(b->split) :
				    ocis_layer_out_written(b->lo);
	p.entries = b->entries;
	b->o->progress(b->o->cb_ctx, &p);
}

/* Append uncompressed layer bytes. */
static int
tar_out(struct builder *b, const void *data, size_t len, ocis_error_t **err)
{
	b->tar_bytes += len;
	if (b->tar_bytes - b->progress_mark >= 4 * 1024 * 1024)
		report_progress(b);
	if (b->split != NULL)
		return ocis_layersplit_write(b->split, data, len, err);
	return ocis_layer_out_write(b->lo, data, len, err);
}

static int
tar_zeros(struct builder *b, uint64_t n, ocis_error_t **err)
{
	static const unsigned char zeros[64 * 1024];

	if (b->split == NULL) {
		b->tar_bytes += n;
		if (b->tar_bytes - b->progress_mark >= 4 * 1024 * 1024)
			report_progress(b);
		return ocis_layer_out_zeros(b->lo, n, err);
	}
	while (n > 0) {
		size_t k = n > sizeof(zeros) ? sizeof(zeros) : (size_t)n;
		if (tar_out(b, zeros, k, err) < 0)
			return -1;
		n -= k;
	}
	return 0;
}

/*
 * --exclude: does a pattern match the normalised name (no trailing '/'),
 * or a directory above it?  Unanchored patterns (GNU tar's default) are
 * also tried on each tail of the name that follows a '/'; '*' and '?'
 * match '/' too; FNM_LEADING_DIR makes a match on "a/b" cover "a/b/c".
 */
static int
excluded(void *ctx, const char *name)
{
	const struct ocis_layer_opts *o = ctx;
	size_t i;
	const char *p;

	if (*name == 0)
		return 0;	/* the root directory */
	for (i = 0; i < o->n_exclude; i++) {
		const char *pat = o->exclude[i];
		int anchored = *pat == '/';

		while (*pat == '/')
			pat++;
		if (*pat == 0)
			continue;
		if (fnmatch(pat, name, FNM_LEADING_DIR) == 0)
			return 1;
		if (anchored)
			continue;
		for (p = strchr(name, '/'); p; p = strchr(p + 1, '/'))
			if (p[1] && fnmatch(pat, p + 1, FNM_LEADING_DIR) == 0)
				return 1;
	}
	return 0;
}

static int
data_out(void *ctx, const void *buf, size_t len, ocis_error_t **err)
{
	return tar_out(ctx, buf, len, err);
}

static int
zeros_out(void *ctx, uint64_t n, ocis_error_t **err)
{
	return tar_zeros(ctx, n, err);
}

/* The entry's data (holes as zeros), then its padding. */
static int
copy_data(struct builder *b, uint64_t size, ocis_error_t **err)
{
	const struct ocis_tarin_sink s = { data_out, zeros_out, b };

	if (ocis_tarin_copy_data(b->in, size, &s, err) < 0)
		return -1;
	return tar_zeros(b, ocis__pad512(size), err);
}

/* The next input entry into the layer: 1 written, 0 left out. */
static int
add_entry(struct builder *b, struct archive_entry *ae, ocis_error_t **err)
{
	struct ocis_intake_entry e;
	struct ocis_pax_entry pe;
	char s1[256];
	int r;

	if ((r = ocis_intake_entry(&b->intake, ae, &e, err)) <= 0)
		return r < 0 ? ocis_error_wrap(err, "entry '%s'",
					       ocis__safe_name(archive_entry_pathname(ae), s1,
							   sizeof(s1))) : 0;
	pe = e.pe;
	/* the layer's names: the root "./", directories with a "/" */
	ocis_buf_reset(&b->path);
	if (ocis_buf_add(&b->path, e.path, e.len, err) < 0 ||
	    (e.len == 0 && ocis_buf_addstr(&b->path, "./", err) < 0) ||
	    (e.len > 0 && pe.type == '5' && ocis_buf_add(&b->path, "/", 1, err) < 0))
		return -1;
	pe.path = (const char *)b->path.data;
	if (b->o->set_uid) {
		pe.uid = b->o->uid;
		pe.uname = b->o->uname;
	}
	if (b->o->set_gid) {
		pe.gid = b->o->gid;
		pe.gname = b->o->gname;
	}
	if (b->o->clamp_mtime && pe.mtime > b->o->clamp_epoch) {
		pe.mtime = b->o->clamp_epoch;
		pe.mtime_nsec = 0;
	}

	ocis_buf_reset(&b->hdr);
	if (ocis_pax_encode_header(&pe, &b->hdr, err) < 0)
		return ocis_error_wrap(err, "entry '%s'", ocis__safe_name(e.raw, s1, sizeof(s1)));
	if (b->split != NULL) {
		/* the split writes the header (and parent directories) */
		b->tar_bytes += b->hdr.len;
		if (ocis_layersplit_entry(b->split, e.path, e.len, pe.type, e.link, e.link_len,
					  b->hdr.data, b->hdr.len, err) < 0)
			return ocis_error_wrap(err, "entry '%s'", ocis__safe_name(e.raw, s1, sizeof(s1)));
	} else if (ocis_layer_out_entry(b->lo, err) < 0 ||
		   tar_out(b, b->hdr.data, b->hdr.len, err) < 0) {
		return -1;
	} else if (ocis_layer_out_entry_data(b->lo, &pe, err) < 0) {
		return ocis_error_wrap(err, "entry '%s'", ocis__safe_name(e.raw, s1, sizeof(s1)));
	}
	if (pe.type == '0' && copy_data(b, pe.size, err) < 0)
		return -1;
	if (b->o->on_entry)
		b->o->on_entry(b->o->cb_ctx, pe.path);
	b->entries++;
	report_progress(b);
	return 1;
}

static void
builder_release(struct builder *b)
{
	ocis_layer_out_free(b->lo);
	ocis_layersplit_free(b->split);
	ocis_tarin_free(b->in);
	ocis_intake_release(&b->intake);
	ocis_buf_release(&b->hdr);
	ocis_buf_release(&b->path);
}

int
ocis_layer_build(int in_fd, struct ocis_stream_writer *w, const struct ocis_layer_opts *o,
		 struct ocis_layer_desc *desc, struct ocis_layer_stats *stats,
		 ocis_error_t **err)
{
	struct ocis_tarin_opts io = { .what = "reading input tar" };
	struct builder b;
	struct archive_entry *ae;
	int r, ret = -1;

	const struct ocis_intake_opts ino = {
		.side = OCIS_INTAKE_TREE, .strip_absolute = o->strip_absolute,
		.whiteouts = o->whiteouts, .exclude = o->n_exclude ? excluded : NULL,
		.exclude_ctx = (void *)o, .warn = o->warn, .cb_ctx = o->cb_ctx,
	};

	memset(&b, 0, sizeof(b));
	b.o = o;
	ocis_intake_init(&b.intake, &ino);
	if (o->split != NULL ?
	    ocis_layersplit_new(&b.split, o->split, w, o->compression, o->level, o->threads,
				err) < 0 :
	    ocis_layer_out_new(&b.lo, w, o->compression, o->level, o->threads, err) < 0)
		goto out;
	if (o->cache_dir &&
	    (b.split != NULL ? ocis_layersplit_use_cache(b.split, o->cache_dir, o->cache_max, err) :
			       ocis_layer_out_use_cache(b.lo, o->cache_dir, o->cache_max, err)) < 0)
		goto out;
	if (ocis_tarin_open_fd(&b.in, in_fd, &io, err) < 0)
		goto out;
	while ((r = ocis_tarin_next(b.in, &ae, err)) > 0) {
		if (add_entry(&b, ae, err) < 0)
			goto out;
	}
	if (r < 0)
		goto out;
	if (b.split != NULL ?
	    ocis_layersplit_finish(b.split, o->created, o->created_by, o->comment,
				   o->on_split_layer, o->cb_ctx, desc, err) < 0 :
	    ocis_layer_out_finish(b.lo, o->created, o->created_by, o->comment, desc, err) < 0)
		goto out;
	if (stats) {
		stats->entries = b.entries;
		stats->input_bytes = ocis_tarin_input_bytes(b.in);
		stats->cache_used = b.lo ? ocis_layer_out_cache_stats(b.lo, &stats->cache) :
					   ocis_layersplit_cache_stats(b.split, &stats->cache);
	}
	ret = 0;
out:
	builder_release(&b);
	return ret;
}
