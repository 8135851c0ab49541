/* SPDX-License-Identifier: MIT */
/*
 * Layer builder: see ocistream/layer.h.
 *
 * Data path, one pass:
 *   tar reader (src/lib/tarin.c: decompression, libarchive, checks)
 *   -> normalise entry -> pax encoder -> layer output (src/lib/layerout.c:
 *   compressor hashing diff_id and digest on its own threads, chunk
 *   assembler, image stream writer)
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
#include <ocistream/pax.h>
#include <ocistream/tarin.h>
#include <ocistream/treecheck.h>

#include "internal.h"


struct builder {
	const struct ocis_layer_opts *o;
	struct ocis_layer_out *lo;	/* compressor, chunks, descriptor */
	uint64_t tar_bytes;		/* uncompressed layer bytes so far */
	uint64_t entries;
	uint64_t progress_mark;	/* tar_bytes at the last progress call */
	struct ocis_buf hdr;
	struct ocis_buf path, link;
	struct ocis_treecheck tree;	/* what an unpacker can apply */
	struct ocis_xattr *xattrs;
	size_t xattrs_cap;
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
	p.output_bytes = ocis_layer_out_written(b->lo);
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
	return ocis_layer_out_write(b->lo, data, len, err);
}

static int
tar_zeros(struct builder *b, uint64_t n, ocis_error_t **err)
{
	b->tar_bytes += n;
	if (b->tar_bytes - b->progress_mark >= 4 * 1024 * 1024)
		report_progress(b);
	return ocis_layer_out_zeros(b->lo, n, err);
}

/*
 * Normalise an input name into out (ocis_tarin_name_normalise), refusing
 * a leading "/" unless strip_absolute.  `what` is "entry" or "hardlink
 * target" for messages.  *is_root is set when nothing is left.
 */
static int
normalise(struct builder *b, const char *in, const char *what, const char *entry,
	  struct ocis_buf *out, int *is_root, ocis_error_t **err)
{
	char s1[256];

	if (*in == '/' && !b->o->strip_absolute)
		return ocis_error_set(err, 0, "%s '%s' has an absolute path "
				      "(use --strip-absolute to store it relative)",
				      what, ocis__shown(in, s1, sizeof(s1)));
	if (ocis_tarin_name_normalise(in, out, err) < 0)
		return entry ? ocis_error_wrap(err, "entry '%s': %s",
					       ocis__shown(entry, s1, sizeof(s1)), what) : -1;
	*is_root = out->len == 0;
	return 0;
}

/*
 * --exclude: does a pattern match the normalised name (no trailing '/'),
 * or a directory above it?  Unanchored patterns (GNU tar's default) are
 * also tried on each tail of the name that follows a '/'; '*' and '?'
 * match '/' too; FNM_LEADING_DIR makes a match on "a/b" cover "a/b/c".
 */
static int
excluded(const struct ocis_layer_opts *o, const char *name)
{
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
copy_data(struct builder *b, uint64_t size, ocis_error_t **err)
{
	uint64_t written = 0, off;
	const void *buf;
	size_t len;
	int r;

	while ((r = ocis_tarin_data(b->in, &buf, &len, &off, err)) > 0) {
		/* sparse hole before this block */
		if (tar_zeros(b, off - written, err) < 0 || tar_out(b, buf, len, err) < 0)
			return -1;
		written = off + len;
	}
	if (r < 0)
		return -1;
	/* trailing hole, then padding */
	if (tar_zeros(b, size - written, err) < 0 || tar_zeros(b, ocis__pad512(size), err) < 0)
		return -1;
	return 0;
}

/* A warning through the caller's callback. */
#define warn(b, ...) ocis__warnf((b)->o->warn, (b)->o->cb_ctx, __VA_ARGS__)

static int
add_entry(struct builder *b, struct archive_entry *ae, ocis_error_t **err)
{
	struct ocis_pax_entry pe;
	const char *raw = archive_entry_pathname(ae), *hl = archive_entry_hardlink(ae), *what;
	int is_root = 0, link_root = 0, r;
	char s1[256], s2[256];

	if (raw == NULL)
		return ocis_error_set(err, 0, "reading input tar: entry without a name");
	if (normalise(b, raw, "entry", NULL, &b->path, &is_root, err) < 0)
		return -1;
	if (b->o->n_exclude && excluded(b->o, (const char *)b->path.data))
		return 0;	/* libarchive skips its data */
	if (ocis_tarin_pax_entry(ae, &pe, &b->xattrs, &b->xattrs_cap, err) < 0)
		return ocis_error_wrap(err, "entry '%s'", ocis__shown(raw, s1, sizeof(s1)));
	if (pe.type == 0) {
		warn(b, "entry '%s': sockets cannot be stored in a layer; dropped",
		     ocis__shown(raw, s1, sizeof(s1)));
		return 0;
	}
	if ((what = ocis_tarin_unkept(ae, s2, sizeof(s2))) != NULL)
		warn(b, "entry '%s': its %s; dropped", ocis__shown(raw, s1, sizeof(s1)), what);
	if (hl != NULL) {
		/* A pax hardlink with data (pax -o linkdata) comes back as a
		 * hardlink with a size: its data is the target's, skipped. */
		if (normalise(b, hl, "hardlink target", raw, &b->link, &link_root, err) < 0)
			return -1;
		if (b->o->n_exclude && excluded(b->o, (const char *)b->link.data))
			return ocis_error_set(err, 0, "entry '%s': hardlink target '%s' is "
					      "excluded (exclude the link too)",
					      ocis__shown(raw, s1, sizeof(s1)), (char *)b->link.data);
		/* a link to the root (an empty target) is no earlier entry:
		 * the tree rules refuse it with the others */
		r = ocis_treecheck_link(&b->tree, (char *)b->path.data, is_root ? 0 : b->path.len,
					(char *)b->link.data, b->link.len, err);
		if (r < 0)
			return ocis_error_wrap(err, "entry '%s'", ocis__shown(raw, s1, sizeof(s1)));
		if (r == 0)
			return 0;	/* a link to itself: left out */
		pe.linkname = (const char *)b->link.data;
	}
	if (is_root) {
		if (pe.type != '5')
			return ocis_error_set(err, 0, "entry '%s': only a directory can be the "
					      "root of the layer", ocis__shown(raw, s1, sizeof(s1)));
		if (ocis_buf_addstr(&b->path, "./", err) < 0)
			return -1;
	} else {
		if (ocis_treecheck_add(&b->tree, (char *)b->path.data, b->path.len, pe.type,
				       err) < 0)
			return ocis_error_wrap(err, "entry '%s'", ocis__shown(raw, s1, sizeof(s1)));
		if (pe.type == '5' && ocis_buf_add(&b->path, "/", 1, err) < 0)
			return -1;
	}
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
		return ocis_error_wrap(err, "entry '%s'", ocis__shown(raw, s1, sizeof(s1)));
	if (tar_out(b, b->hdr.data, b->hdr.len, err) < 0)
		return -1;
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
	ocis_tarin_free(b->in);
	ocis_treecheck_release(&b->tree);
	free(b->xattrs);
	ocis_buf_release(&b->hdr);
	ocis_buf_release(&b->path);
	ocis_buf_release(&b->link);
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

	memset(&b, 0, sizeof(b));
	b.o = o;
	b.tree.whiteouts = o->whiteouts;
	if (ocis_layer_out_new(&b.lo, w, o->compression, o->level, o->threads, err) < 0 ||
	    ocis_tarin_open_fd(&b.in, in_fd, &io, err) < 0)
		goto out;
	while ((r = ocis_tarin_next(b.in, &ae, err)) > 0) {
		if (add_entry(&b, ae, err) < 0)
			goto out;
	}
	if (r < 0)
		goto out;
	if (ocis_layer_out_finish(b.lo, o->created, o->created_by, o->comment, desc, err) < 0)
		goto out;
	if (stats) {
		stats->entries = b.entries;
		stats->input_bytes = ocis_tarin_input_bytes(b.in);
	}
	ret = 0;
out:
	builder_release(&b);
	return ret;
}
