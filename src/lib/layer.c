/* SPDX-License-Identifier: MIT */
/*
 * Layer builder: see ocistream/layer.h.
 *
 * Data path, one pass:
 *   libarchive (decompress + parse input) -> normalise entry -> pax encoder
 *   -> layer output (src/lib/layerout.c: compressor hashing diff_id and
 *   digest on its own threads, chunk assembler, image stream writer)
 * Only bounded buffers hold data, so memory does not depend on the layer
 * size.
 *
 * Fidelity (docs/fidelity.md): every field libarchive gives is written
 * back as given, with three corrections for how libarchive reads:
 * - a pax mtime "-1.75" comes back as -1 s + 0.75 s (libarchive negates
 *   only the whole seconds); POSIX, GNU tar and Go read the decimal -1.75,
 *   so it is turned back into that and the layer says "-1.75" again;
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

#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>

#include <ocistream/layer.h>
#include <ocistream/layerout.h>
#include <ocistream/pax.h>

#include "internal.h"


/*
 * Set of 64-bit name hashes (open addressing): the names written so far
 * (hardlink targets must be among them) and the symlinks among them (no
 * entry may be written through one).  A hash collision can only make a
 * check pass that should fail, with odds around n^2 / 2^64.
 */
struct name_set {
	uint64_t *slots;
	size_t n, cap;		/* n counts used slots, tombstones included */
};
#define TOMBSTONE UINT64_MAX

struct builder {
	const struct ocis_layer_opts *o;
	struct ocis_layer_out *lo;	/* compressor, chunks, descriptor */
	uint64_t tar_bytes;		/* uncompressed layer bytes so far */
	uint64_t entries;
	uint64_t progress_mark;	/* tar_bytes at the last progress call */
	struct ocis_buf hdr;
	struct ocis_buf path, link;
	struct name_set names;
	struct name_set symlinks;
	struct ocis_xattr *xattrs;
	size_t xattrs_cap;
	/* input side: our read callback for libarchive */
	int in_fd;
	unsigned char *inbuf;
	uint64_t in_bytes;
	unsigned char *rawbuf;	/* compressed input, when we inflate it */
	z_stream gz;
	int detected, gzip, raw_eof, gz_done;
	char last[256];		/* printable name of the last entry, for messages */
};

#define INBUF_SIZE (1024 * 1024)

/*
 * gzip input is inflated here rather than by libarchive: libarchive's gzip
 * reader does not check the CRC-32 and length in each member's trailer, and
 * a damaged rootfs must not become a good-looking layer.  zlib checks both.
 * Several members follow each other (pigz, concatenated files); zero bytes
 * after the last member (tape padding) are ignored, anything else is an
 * error.  Other compressions are left to libarchive (zstd, xz and bzip2
 * check their own checksums there).
 */
static ssize_t
raw_read(struct builder *b, unsigned char *buf, size_t len)
{
	for (;;) {
		ssize_t n = read(b->in_fd, buf, len);
		if (n >= 0) {
			b->in_bytes += (uint64_t)n;
			return n;
		}
		if (errno != EINTR)
			return -1;
	}
}

static int
gz_refill(struct archive *a, struct builder *b)
{
	ssize_t n;

	if (b->gz.avail_in > 0 || b->raw_eof)
		return 0;
	n = raw_read(b, b->rawbuf, INBUF_SIZE);
	if (n < 0) {
		archive_set_error(a, errno, "read error: %s", strerror(errno));
		return -1;
	}
	if (n == 0)
		b->raw_eof = 1;
	b->gz.next_in = b->rawbuf;
	b->gz.avail_in = (uInt)n;
	return 0;
}

/* After a member: another member, zero padding to the end, or an error. */
static int
gz_next_member(struct archive *a, struct builder *b)
{
	for (;;) {
		if (gz_refill(a, b) < 0)
			return -1;
		if (b->gz.avail_in == 0)
			return 0;	/* end of input: done */
		if (b->gz.next_in[0] == 0x1f) {
			if (inflateReset(&b->gz) != Z_OK) {
				archive_set_error(a, EINVAL, "gzip input: cannot start a member");
				return -1;
			}
			return 1;
		}
		while (b->gz.avail_in > 0 && b->gz.next_in[0] == 0) {
			b->gz.next_in++;
			b->gz.avail_in--;
		}
		if (b->gz.avail_in > 0) {
			archive_set_error(a, EINVAL, "gzip input: garbage after the compressed "
					  "data");
			return -1;
		}
	}
}

static la_ssize_t
input_read(struct archive *a, void *ctx, const void **buf)
{
	struct builder *b = ctx;
	ssize_t n;
	int zr;

	if (!b->detected) {
		/* Look at the first two bytes (a pipe may hand over fewer). */
		size_t got = 0;
		b->detected = 1;
		while (got < 2) {
			n = raw_read(b, b->rawbuf + got, INBUF_SIZE - got);
			if (n < 0) {
				archive_set_error(a, errno, "read error: %s", strerror(errno));
				return -1;
			}
			if (n == 0)
				break;
			got += (size_t)n;
		}
		if (got >= 2 && b->rawbuf[0] == 0x1f && b->rawbuf[1] == 0x8b) {
			if (inflateInit2(&b->gz, 15 + 16) != Z_OK) {
				archive_set_error(a, ENOMEM, "gzip input: cannot initialise zlib");
				return -1;
			}
			b->gzip = 1;
			b->gz.next_in = b->rawbuf;
			b->gz.avail_in = (uInt)got;
		} else {
			*buf = b->rawbuf;
			return (la_ssize_t)got;
		}
	}
	if (!b->gzip) {
		n = raw_read(b, b->inbuf, INBUF_SIZE);
		if (n < 0) {
			archive_set_error(a, errno, "read error: %s", strerror(errno));
			return -1;
		}
		*buf = b->inbuf;
		return n;
	}
	if (b->gz_done)
		return 0;
	b->gz.next_out = b->inbuf;
	b->gz.avail_out = INBUF_SIZE;
	while (b->gz.avail_out > 0) {
		if (gz_refill(a, b) < 0)
			return -1;
		zr = inflate(&b->gz, Z_NO_FLUSH);
		if (zr == Z_BUF_ERROR && b->gz.avail_in == 0 && b->raw_eof) {
			/* no progress possible: the member never ended */
			archive_set_error(a, EINVAL, "gzip input is truncated");
			return -1;
		}
		if (zr == Z_STREAM_END) {
			int more = gz_next_member(a, b);
			if (more < 0)
				return -1;
			if (more == 0) {
				b->gz_done = 1;
				break;
			}
		} else if (zr != Z_OK && zr != Z_BUF_ERROR) {
			archive_set_error(a, EINVAL, "gzip input is damaged: %s",
					  b->gz.msg ? b->gz.msg : "inflate error");
			return -1;
		}
	}
	*buf = b->inbuf;
	return (la_ssize_t)(INBUF_SIZE - b->gz.avail_out);
}

static uint64_t
name_hash(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	/* 0 marks an empty slot, TOMBSTONE a removed one */
	return h == 0 ? 1 : (h == TOMBSTONE ? TOMBSTONE - 1 : h);
}

static int
name_set_add(struct name_set *s, uint64_t h, ocis_error_t **err)
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
name_set_find(const struct name_set *s, uint64_t h)
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
name_set_has(const struct name_set *s, uint64_t h)
{
	return name_set_find(s, h) != NULL;
}

static void
name_set_remove(struct name_set *s, uint64_t h)
{
	uint64_t *p = name_set_find(s, h);

	if (p)
		*p = TOMBSTONE;
}

/* The first proper prefix of path (a/b of a/b/c) that is a symlink, as a
 * length, or 0. */
static size_t
symlink_prefix(const struct name_set *links, const char *path, size_t len)
{
	size_t i;

	if (links->n == 0)
		return 0;
	for (i = 1; i < len; i++)
		if (path[i] == '/' && name_set_has(links, name_hash(path, i)))
			return i;
	return 0;
}

static void
report_progress(struct builder *b)
{
	struct ocis_layer_progress p;

	if (b->o->progress == NULL)
		return;
	b->progress_mark = b->tar_bytes;
	p.input_bytes = b->in_bytes;
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
 * Normalise an input name into out: drop leading "/" (only with
 * strip_absolute), "." and empty components; refuse "..".  `what` is
 * "entry" or "hardlink target" for messages.  *is_root is set when nothing
 * is left.
 */
static int
normalise(struct builder *b, const char *in, const char *what, const char *entry,
	  struct ocis_buf *out, int *is_root, ocis_error_t **err)
{
	const char *p = in, *q;
	char s1[256], s2[256];

	ocis_buf_reset(out);
	if (*p == '/') {
		if (!b->o->strip_absolute)
			return ocis_error_set(err, 0, "%s '%s' has an absolute path "
					      "(use --strip-absolute to store it relative)",
					      what, ocis__shown(in, s1, sizeof(s1)));
		while (*p == '/')
			p++;
	}
	while (*p) {
		q = strchr(p, '/');
		if (q == NULL)
			q = p + strlen(p);
		if (q - p == 2 && p[0] == '.' && p[1] == '.') {
			if (entry)
				return ocis_error_set(err, 0, "entry '%s': %s '%s' has a '..' "
						      "component", ocis__shown(entry, s2, sizeof(s2)), what,
						      ocis__shown(in, s1, sizeof(s1)));
			return ocis_error_set(err, 0, "%s '%s' has a '..' component", what,
					      ocis__shown(in, s1, sizeof(s1)));
		}
		if (!(q - p == 0 || (q - p == 1 && p[0] == '.'))) {
			if (out->len && ocis_buf_add(out, "/", 1, err) < 0)
				return -1;
			if (ocis_buf_add(out, p, (size_t)(q - p), err) < 0)
				return -1;
		}
		p = *q ? q + 1 : q;
	}
	*is_root = out->len == 0;
	if (out->data == NULL && ocis_buf_add(out, "", 0, err) < 0)
		return -1;
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

/* The first entry of an image stream is one of our reserved files. */
static int
is_image_stream(struct archive_entry *ae)
{
	const char *n = archive_entry_pathname(ae);

	return n != NULL && archive_entry_filetype(ae) == AE_IFREG &&
	       strncmp(n, OCIS_STREAM_DIR, strlen(OCIS_STREAM_DIR)) == 0 &&
	       strchr(n + strlen(OCIS_STREAM_DIR), '/') == NULL;
}

static int
is_charset_warning(struct archive *a)
{
	const char *m = archive_error_string(a);

	return m != NULL && (strstr(m, "can't be converted") != NULL ||
			     strstr(m, "Can't translate") != NULL);
}

static int
archive_failed(struct archive *a, const char *ctx, ocis_error_t **err)
{
	const char *m = archive_error_string(a);

	return ocis_error_set(err, 0, "%s: %s", ctx, m ? m : "unknown libarchive error");
}

static int
copy_data(struct builder *b, struct archive *a, struct archive_entry *ae, uint64_t size,
	  const char *name, ocis_error_t **err)
{
	uint64_t written = 0;
	const void *buf;
	size_t len;
	la_int64_t off;
	char s1[256];

	for (;;) {
		int r = archive_read_data_block(a, &buf, &len, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
			return ocis_error_set(err, 0, "reading input tar: entry '%s': %s",
					      ocis__shown(name, s1, sizeof(s1)),
					      archive_error_string(a) ? archive_error_string(a)
								      : "read error");
		if (off < 0 || (uint64_t)off < written || (uint64_t)off + len > size)
			return ocis_error_set(err, 0, "reading input tar: entry '%s': data "
					      "outside the file's size", ocis__shown(name, s1, sizeof(s1)));
		/* sparse hole before this block */
		if (tar_zeros(b, (uint64_t)off - written, err) < 0 ||
		    tar_out(b, buf, len, err) < 0)
			return -1;
		written = (uint64_t)off + len;
	}
	(void)ae;
	/* trailing hole, then padding */
	if (tar_zeros(b, size - written, err) < 0 || tar_zeros(b, ocis__pad512(size), err) < 0)
		return -1;
	return 0;
}

static int
xattr_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ocis_xattr *)a)->name, ((const struct ocis_xattr *)b)->name);
}

/* A warning through the caller's callback. */
#define warn(b, ...) ocis__warnf((b)->o->warn, (b)->o->cb_ctx, __VA_ARGS__)

static int
add_entry(struct builder *b, struct archive *a, struct archive_entry *ae, ocis_error_t **err)
{
	struct ocis_pax_entry pe;
	const char *raw = archive_entry_pathname(ae), *hl = archive_entry_hardlink(ae);
	mode_t ft = archive_entry_filetype(ae);
	int is_root = 0, link_root = 0, has_data = 0;
	size_t nx = 0, k;
	char s1[256];

	if (raw == NULL)
		return ocis_error_set(err, 0, "reading input tar: entry without a name");
	if (normalise(b, raw, "entry", NULL, &b->path, &is_root, err) < 0)
		return -1;
	if (b->o->n_exclude && excluded(b->o, (const char *)b->path.data))
		return 0;	/* libarchive skips its data */

	memset(&pe, 0, sizeof(pe));
	if (hl != NULL) {
		pe.type = '1';
		if (normalise(b, hl, "hardlink target", raw, &b->link, &link_root, err) < 0)
			return -1;
		if (b->o->n_exclude && excluded(b->o, (const char *)b->link.data))
			return ocis_error_set(err, 0, "entry '%s': hardlink target '%s' is "
					      "excluded (exclude the link too)",
					      ocis__shown(raw, s1, sizeof(s1)), (char *)b->link.data);
		if (link_root || !name_set_has(&b->names,
						name_hash((char *)b->link.data, b->link.len)))
			return ocis_error_set(err, 0, "entry '%s': hardlink target '%s' is not "
					      "an earlier entry of the archive",
					      ocis__shown(raw, s1, sizeof(s1)), (char *)b->link.data);
		if ((k = symlink_prefix(&b->symlinks, (char *)b->link.data, b->link.len)) > 0)
			return ocis_error_set(err, 0, "entry '%s': hardlink target '%s' goes "
					      "through the symlink '%.*s' of an earlier entry",
					      ocis__shown(raw, s1, sizeof(s1)), (char *)b->link.data,
					      (int)k, (char *)b->link.data);
		pe.linkname = (const char *)b->link.data;
	} else {
		switch (ft) {
		case AE_IFREG: pe.type = '0'; has_data = 1; break;
		case AE_IFDIR: pe.type = '5'; break;
		case AE_IFLNK: pe.type = '2'; break;
		case AE_IFCHR: pe.type = '3'; break;
		case AE_IFBLK: pe.type = '4'; break;
		case AE_IFIFO: pe.type = '6'; break;
		case AE_IFSOCK:
			warn(b, "entry '%s': sockets cannot be stored in a layer; dropped",
			     ocis__shown(raw, s1, sizeof(s1)));
			return 0;
		default:
			return ocis_error_set(err, 0, "entry '%s': unsupported file type 0%o",
					      ocis__shown(raw, s1, sizeof(s1)), (unsigned)ft);
		}
		if (pe.type == '2') {
			pe.linkname = archive_entry_symlink(ae);
			if (pe.linkname == NULL)
				return ocis_error_set(err, 0, "entry '%s': symlink without target",
						      ocis__shown(raw, s1, sizeof(s1)));
		}
	}
	if (is_root) {
		if (pe.type != '5')
			return ocis_error_set(err, 0, "entry '%s': only a directory can be the "
					      "root of the layer", ocis__shown(raw, s1, sizeof(s1)));
		if (ocis_buf_addstr(&b->path, "./", err) < 0)
			return -1;
	} else {
		uint64_t h = name_hash((char *)b->path.data, b->path.len);

		/* x -> /etc, then x/passwd: extracting it would write outside. */
		if ((k = symlink_prefix(&b->symlinks, (char *)b->path.data, b->path.len)) > 0)
			return ocis_error_set(err, 0, "entry '%s' would be written through the "
					      "symlink '%.*s' of an earlier entry",
					      ocis__shown(raw, s1, sizeof(s1)), (int)k,
					      (char *)b->path.data);
		if (name_set_add(&b->names, h, err) < 0)
			return -1;
		/* The latest entry of a name decides whether it is a symlink. */
		if (pe.type == '2') {
			if (name_set_add(&b->symlinks, h, err) < 0)
				return -1;
		} else {
			name_set_remove(&b->symlinks, h);
		}
		if (pe.type == '5' && ocis_buf_add(&b->path, "/", 1, err) < 0)
			return -1;
	}
	pe.path = (const char *)b->path.data;
	pe.mode = archive_entry_perm(ae) & 07777;
	pe.uid = (uint64_t)archive_entry_uid(ae);
	pe.gid = (uint64_t)archive_entry_gid(ae);
	pe.uname = archive_entry_uname(ae);
	pe.gname = archive_entry_gname(ae);
	if (b->o->set_uid) {
		pe.uid = b->o->uid;
		pe.uname = b->o->uname;
	}
	if (b->o->set_gid) {
		pe.gid = b->o->gid;
		pe.gname = b->o->gname;
	}
	if (archive_entry_mtime_is_set(ae)) {
		pe.mtime = archive_entry_mtime(ae);
		pe.mtime_nsec = archive_entry_mtime_nsec(ae);
		if (pe.mtime_nsec < 0 || pe.mtime_nsec > 999999999)
			pe.mtime_nsec = 0;
		/* Only a pax record gives libarchive a negative time with a
		 * fraction, read as -whole + fraction: make it the decimal
		 * -whole.fraction that the record says (see the top). */
		if (pe.mtime < 0 && pe.mtime_nsec > 0) {
			pe.mtime -= 1;
			pe.mtime_nsec = 1000000000L - pe.mtime_nsec;
		}
	}
	if (b->o->clamp_mtime && pe.mtime > b->o->clamp_epoch) {
		pe.mtime = b->o->clamp_epoch;
		pe.mtime_nsec = 0;
	}
	if (has_data) {
		la_int64_t sz = archive_entry_size(ae);
		pe.size = sz > 0 ? (uint64_t)sz : 0;
	}
	if (pe.type == '3' || pe.type == '4') {
		pe.devmajor = archive_entry_rdevmajor(ae);
		pe.devminor = archive_entry_rdevminor(ae);
	}
	if (archive_entry_xattr_reset(ae) > 0) {
		const char *xn;
		const void *xv;
		size_t xs;
		while (archive_entry_xattr_next(ae, &xn, &xv, &xs) == ARCHIVE_OK) {
			if (nx == b->xattrs_cap) {
				size_t ncap = b->xattrs_cap ? b->xattrs_cap * 2 : 8;
				struct ocis_xattr *nxp = realloc(b->xattrs, ncap * sizeof(*nxp));
				if (nxp == NULL)
					return ocis_error_oom(err);
				b->xattrs = nxp;
				b->xattrs_cap = ncap;
			}
			b->xattrs[nx].name = xn;
			b->xattrs[nx].value = xv;
			b->xattrs[nx].size = xs;
			nx++;
		}
	}
	/* Sorted by name: libarchive's order is its own (it reverses pax
	 * order), and a fixed order keeps the layer bytes stable.  bsdtar
	 * stores each xattr twice (SCHILY.xattr and LIBARCHIVE.xattr), so an
	 * identical repeat is dropped; a conflicting one is an error. */
	if (nx > 1) {
		size_t i, j = 1;

		qsort(b->xattrs, nx, sizeof(*b->xattrs), xattr_cmp);
		for (i = 1; i < nx; i++) {
			struct ocis_xattr *p = &b->xattrs[j - 1], *q = &b->xattrs[i];
			if (strcmp(p->name, q->name) != 0) {
				b->xattrs[j++] = *q;
				continue;
			}
			if (p->size != q->size || (p->size && memcmp(p->value, q->value, p->size)))
				return ocis_error_set(err, 0, "entry '%s': xattr '%s' given twice "
						      "with different values",
						      ocis__shown(raw, s1, sizeof(s1)), q->name);
		}
		nx = j;
	}
	pe.xattrs = b->xattrs;
	pe.n_xattrs = nx;

	ocis_buf_reset(&b->hdr);
	if (ocis_pax_encode_header(&pe, &b->hdr, err) < 0)
		return ocis_error_wrap(err, "entry '%s'", ocis__shown(raw, s1, sizeof(s1)));
	if (tar_out(b, b->hdr.data, b->hdr.len, err) < 0)
		return -1;
	if (has_data && copy_data(b, a, ae, pe.size, raw, err) < 0)
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
	free(b->inbuf);
	free(b->rawbuf);
	if (b->gzip)
		inflateEnd(&b->gz);
	free(b->names.slots);
	free(b->symlinks.slots);
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
	struct builder b;
	struct archive *a = NULL;
	struct archive_entry *ae;
	uint64_t entries = 0, data_end = 0, consumed;
	int r, ret = -1;
	char s1[256];

	memset(&b, 0, sizeof(b));
	b.o = o;
	b.inbuf = malloc(INBUF_SIZE);
	b.rawbuf = malloc(INBUF_SIZE);
	if (b.inbuf == NULL || b.rawbuf == NULL) {
		ocis_error_oom(err);
		goto out;
	}
	if (ocis_layer_out_new(&b.lo, w, o->compression, o->level, o->threads, err) < 0)
		goto out;

	a = archive_read_new();
	if (a == NULL) {
		ocis_error_oom(err);
		goto out;
	}
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	if (archive_read_set_format_option(a, "tar", "read_concatenated_archives", "1") != ARCHIVE_OK) {
		archive_failed(a, "configuring tar reader", err);
		goto out;
	}
	b.in_fd = in_fd;
	if (archive_read_open(a, &b, NULL, input_read, NULL) != ARCHIVE_OK) {
		if (b.in_bytes == 0)
			ocis_error_set(err, 0, "reading input tar: empty input "
				       "(expected a rootfs tar stream)");
		else
			archive_failed(a, "reading input tar (is it a tar stream?)", err);
		goto out;
	}
	for (;;) {
		r = archive_read_next_header(a, &ae);
		if (r == ARCHIVE_EOF)
			break;
		if (r == ARCHIVE_WARN && is_charset_warning(a)) {
			/* libarchive keeps the name bytes as they are when it
			 * cannot convert them; bytes in, same bytes out is what
			 * we want, so this is not worth a warning. */
		} else if (r == ARCHIVE_WARN) {
			/* Any other warning means libarchive dropped or guessed
			 * something (a malformed pax record, a damaged header):
			 * the layer would not be the rootfs, so it is an error. */
			ocis_error_set(err, 0, "reading input tar: entry '%s': %s",
				       ocis__shown(archive_entry_pathname(ae) ?
					     archive_entry_pathname(ae) : "", s1, sizeof(s1)),
				       archive_error_string(a) ? archive_error_string(a) :
				       "damaged header");
			goto out;
		} else if (r != ARCHIVE_OK) {
			if (b.in_bytes == 0) {
				ocis_error_set(err, 0, "reading input tar: empty input "
					       "(expected a rootfs tar stream)");
				goto out;
			}
			if (entries)
				ocis_error_set(err, 0, "reading input tar: %s (after entry '%s', "
					       "input byte %" PRIu64 ")",
					       archive_error_string(a) ? archive_error_string(a)
								       : "read error",
					       b.last, (uint64_t)archive_filter_bytes(a, -1));
			else
				archive_failed(a, "reading input tar (is it a tar stream?)", err);
			goto out;
		}
		if (entries == 0 && is_image_stream(ae)) {
			ocis_error_set(err, 0, "the input is an image stream, not a rootfs tar "
				       "(oci-layer already ran on it)");
			goto out;
		}
		if (add_entry(&b, a, ae, err) < 0)
			goto out;
		ocis__shown(archive_entry_pathname(ae), b.last, sizeof(b.last));
		entries++;
		/* Position after this entry's data, rounded to the block. */
		consumed = (uint64_t)archive_filter_bytes(a, 0);
		data_end = consumed + ocis__pad512(consumed);
	}
	consumed = (uint64_t)archive_filter_bytes(a, 0);
	if (b.in_bytes == 0) {
		ocis_error_set(err, 0, "reading input tar: empty input (expected a rootfs tar stream)");
		goto out;
	}
	/*
	 * libarchive reports a tar cut exactly between two entries as a
	 * normal end; a real archive ends with zero blocks after its last
	 * entry, so insist on seeing at least one.
	 */
	if (consumed < data_end + OCIS_BLOCK) {
		ocis_error_set(err, 0, "reading input tar: archive ends after %" PRIu64
			       " entries without an end-of-archive marker (truncated input?)",
			       entries);
		goto out;
	}
	if (ocis_layer_out_finish(b.lo, o->created, o->created_by, o->comment, desc, err) < 0)
		goto out;
	if (stats) {
		stats->entries = entries;
		stats->input_bytes = b.in_bytes;
	}
	ret = 0;
out:
	if (a != NULL)
		archive_read_free(a);
	builder_release(&b);
	return ret;
}
