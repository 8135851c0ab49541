/* SPDX-License-Identifier: MIT */
/*
 * Diff layers: see ocistream/diff.h.
 *
 * Data path of the layer, shared with layer.c: pax encoder -> layer output
 * (src/lib/layerout.c: compressor, chunks, descriptor).
 *
 * The lower index: one record per lower path (and per directory that only
 * appears as the parent of an entry), the record of a path numbered as
 * its node in a path table (ocistream/pathtab.h: names compared, never
 * only hashed; a name is spelt out from the table only where one is
 * written, as copying each whole name was a tenth of the time on deep
 * trees), children as linked lists, and
 * the entry's fingerprints (see "fingerprints" below): what decides
 * "unchanged" is a whole sha256, as both trees may come from whoever
 * wants a change left out of the layer.  The upper names are a second
 * path table, with the carrier of each.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include <ocistream/diff.h>
#include <ocistream/flatten.h>
#include <ocistream/hash.h>
#include <ocistream/intake.h>
#include <ocistream/layerdesc.h>
#include <ocistream/layerout.h>
#include <ocistream/pathtab.h>
#include <ocistream/pax.h>
#include <ocistream/spill.h>
#include <ocistream/tarin.h>
#include <ocistream/treecheck.h>

#include "internal.h"
#include "tarhdr-private.h"

#define ZEROS_SIZE (256 * 1024)	/* a buffer of zeros for sparse holes */
#define NONE UINT32_MAX

/* record types: the tar type, '1' for a hardlink entry, 'i' for a
 * directory without an entry of its own (a parent of entries) */
#define F_SEEN 1	/* the upper tree has this path */
#define F_CLOSED 2	/* the upper directory ended: whiteouts written */
#define F_NEEDED 4	/* unchanged file that must be written (pass 3) */
#define F_WRITTEN 8	/* directory whose entry is in the layer */
#define F_HELD 16	/* upper directory that did not change (see write_parents) */
#define F_PARENT 32	/* F_HELD, not written, parent of what pass 3 writes */

struct rec {
	uint64_t meta;		/* filter: the first 64 bits of the metadata digest */
	unsigned char fp[OCIS_DIGEST_LEN];	/* fingerprint (see entry_fp) */
	uint32_t parent, first_child, next_sibling;
	uint32_t group;		/* hardlinks: the record holding the data */
	uint32_t seq;		/* lower entry number of its last entry */
	char type;
	uint8_t flags;
};

#define U_ABSENT (NONE - 1)	/* no upper entry of this name (never a record) */

struct pending {
	char *name;		/* upper hardlink */
	uint32_t carrier;	/* record of the unchanged file it links to */
};

struct open_dir {
	size_t len;		/* name length (the name is a prefix of the path) */
	uint32_t rec;		/* lower record, or NONE */
	size_t at;		/* where its children start in the spool, or NO_SPOOL */
	size_t hdr;		/* its held-back entry's offset in `dirhdrs`, or NO_HDR */
	size_t hdr_len;		/* the name, a NUL, the encoded header */
};
#define NO_HDR SIZE_MAX
#define NO_SPOOL SIZE_MAX

struct diff {
	const struct ocis_diff_opts *o;
	struct ocis_diff_stats *st;
	struct ocis_layer_out *lo;	/* compressor, chunks, descriptor */
	unsigned char *zeros;		/* for sparse holes */

	struct rec *recs;
	size_t n_recs, cap_recs;
	struct ocis_pathtab ltab;	/* lower name -> record (the node id) */
	struct ocis_pathtab_walk lwalk;
	struct ocis_pathtab_walk lupper;	/* the upper entry's path in ltab */
	struct ocis_pathtab utab;	/* upper names */
	struct ocis_pathtab_walk uwalk;
	uint32_t *ucar;		/* by utab node: carrier record, NONE (written) or U_ABSENT */
	size_t cap_ucar;
	int tabs_ready;
	struct pending *pend;
	size_t n_pend, cap_pend;
	int any_needed;

	/* the upper path being handled, and its open directories */
	struct ocis_buf cur;
	struct open_dir *stack;
	size_t n_stack, cap_stack;

	/* layer bytes held back so that whiteouts can go before their
	 * siblings (see "the layer output" below) */
	struct ocis_buf spool, ins;
	size_t n_spooled;	/* open directories whose `at` is in the spool */
	int capture;		/* tar_out appends to `ins` */

	/* the encoded entries of open directories that did not change,
	 * written before the first entry below them (see put_header) */
	struct ocis_buf dirhdrs;

	/* the entries of each tree taken in (ocistream/intake.h): the name
	 * rules, the tree rules, the metadata */
	struct ocis_intake lower_in, upper_in, reread_in;

	struct ocis_buf path, link, hdr, ser, wh;
	struct ocis_hash ch;	/* the content of the entry being read */
	struct ocis_hash mh;	/* metadata digests, fingerprints */
	struct ocis_spill held;	/* an upper file being compared (see upper_file) */
};

/* --- small helpers -------------------------------------------------------- */

/* The name of record r into out. */
static int
rec_name(const struct diff *d, uint32_t r, struct ocis_buf *out, ocis_error_t **err)
{
	return ocis_pathtab_name(&d->ltab, r, out, err);
}

/* Lower record of name p, or NONE. */
static uint32_t
lower_find(const struct diff *d, const char *p, size_t len)
{
	return ocis_pathtab_find(&d->ltab, p, len);
}

/* The lower records of an upper entry's path and of all its parents, in
 * one walk that reuses the prefix the last entry shared: walk_to asks for
 * every parent of every entry, and a lookup from the root for each was
 * quadratic in the depth (a 2000-level tree).  The lower table is complete
 * by then (index_lower), so what the walk did not find is not there. */
static int
lwalk_upper(struct diff *d, const char *p, size_t len, ocis_error_t **err)
{
	return ocis_pathtab_walk(&d->ltab, &d->lupper, p, len, 0, err) < 0 ? -1 : 0;
}

/* After lwalk_upper(p): the lower record of p's first len bytes (p itself,
 * or a parent: len at a '/' of p), or NONE. */
static uint32_t
lfind_walked(const struct diff *d, size_t len)
{
	const struct ocis_pathtab_walk *w = &d->lupper;
	size_t lo = 0, hi = w->n;

	if (len == 0)
		return OCIS_PATHTAB_ROOT;
	while (lo < hi) {	/* the ends grow with the components */
		size_t mid = lo + (hi - lo) / 2;
		if (w->ends[mid] < len)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < w->n && w->ends[lo] == len ? w->ids[lo] : NONE;
}

/* Upper non-directory p: its carrier record or NONE (written); NULL when
 * the upper tree has no such entry (yet). */
static const uint32_t *
upper_carrier(const struct diff *d, const char *p, size_t len)
{
	uint32_t id = ocis_pathtab_find(&d->utab, p, len);

	if (id == NONE || d->ucar == NULL)	/* (the root, before any upper_set) */
		return NULL;
	return d->ucar[id] == U_ABSENT ? NULL : &d->ucar[id];
}

/* Upper entry p (its parents made too) carries lower record v, or NONE
 * when it is written itself. */
static int
upper_set(struct diff *d, const char *p, size_t len, uint32_t v, ocis_error_t **err)
{
	size_t n0 = ocis_pathtab_count(&d->utab), n, i;
	uint32_t id;

	if (ocis_pathtab_walk(&d->utab, &d->uwalk, p, len, 1, err) < 0)
		return -1;
	n = ocis_pathtab_count(&d->utab);
	if (ocis__grow((void **)&d->ucar, &d->cap_ucar, n, sizeof(*d->ucar), err) < 0)
		return -1;
	for (i = n0; i < n; i++)
		d->ucar[i] = U_ABSENT;
	id = ocis_pathtab_walk_node(&d->uwalk);
	d->ucar[id] = v;
	return 0;
}

/* Record r, an 'i' directory (until an entry says more), a child of
 * parent. */
static void
rec_init(struct diff *d, uint32_t r, uint32_t parent)
{
	struct rec *x = &d->recs[r];

	memset(x, 0, sizeof(*x));
	x->parent = parent;
	x->first_child = NONE;
	x->next_sibling = NONE;
	x->group = r;
	x->type = 'i';
	if (parent != NONE) {
		x->next_sibling = d->recs[parent].first_child;
		d->recs[parent].first_child = r;
	}
	d->n_recs = r + 1;
}

/* Record of name p (len bytes), created (with its parents, as 'i'
 * directories) when missing.  A record is numbered as its node in the
 * lower table; the nodes a walk makes are the last components of the
 * path, parents first. */
static int
lower_get(struct diff *d, const char *p, size_t len, uint32_t *out, ocis_error_t **err)
{
	size_t n;
	uint32_t r;

	if (ocis_pathtab_walk(&d->ltab, &d->lwalk, p, len, 1, err) < 0)
		return -1;
	n = ocis_pathtab_count(&d->ltab);
	if (ocis__grow((void **)&d->recs, &d->cap_recs, n, sizeof(*d->recs), err) < 0)
		return -1;
	if (d->n_recs == 0)
		rec_init(d, OCIS_PATHTAB_ROOT, NONE);
	for (r = (uint32_t)d->n_recs; r < n; r++)
		rec_init(d, r, ocis_pathtab_parent(&d->ltab, r));
	*out = ocis_pathtab_walk_node(&d->lwalk);
	return 0;
}

/* --- fingerprints --------------------------------------------------------- */

/*
 * An upper entry is unchanged when its fingerprint is its lower record's:
 * the sha256 of its metadata (the fields compared, serialised without
 * ambiguity: fixed-size numbers, length-prefixed strings), and for a
 * regular file whose content is compared (not with trust_mtime) the sha256
 * of that digest and the content's.  Both trees may be hostile (a base
 * image and an application from outside, and a build that diffs them):
 * with 64 bits, as before, a birthday search of 2^32 finds two metadata
 * sets (an xattr value, a user name, nanoseconds to vary on each side) or
 * two contents with the same fingerprint, and one of them would stand in
 * the image for the other.  A whole sha256 leaves no such search, at
 * 32 bytes a record.
 *
 * The record also keeps 64 bits of the metadata digest as a filter: a
 * regular file whose filter differs changed for sure and streams straight
 * into the layer; only one whose filter matches is read and held
 * (upper_file) to decide.  A forged filter match costs that reading, never
 * a wrong answer.
 */

static int
ser_u64(struct diff *d, uint64_t v, ocis_error_t **err)
{
	unsigned char b[8];
	int i;

	for (i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	return ocis_buf_add(&d->ser, b, 8, err);
}

static int
ser_bytes(struct diff *d, const void *p, size_t len, ocis_error_t **err)
{
	if (ser_u64(d, p ? (uint64_t)len : UINT64_MAX, err) < 0)
		return -1;
	return len ? ocis_buf_add(&d->ser, p, len, err) : 0;
}

static uint64_t
filter_of(const unsigned char md[OCIS_DIGEST_LEN])
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | md[i];
	return v;
}

/* Digest of the metadata compared (not the name, not a hardlink's
 * target: groups are compared on their own). */
static int
fingerprint(struct diff *d, const struct ocis_pax_entry *pe, unsigned char md[OCIS_DIGEST_LEN],
	    ocis_error_t **err)
{
	size_t i;

	ocis_buf_reset(&d->ser);
	if (ocis_buf_add(&d->ser, &pe->type, 1, err) < 0 ||
	    ser_u64(d, pe->mode, err) < 0 || ser_u64(d, pe->uid, err) < 0 ||
	    ser_u64(d, pe->gid, err) < 0 ||
	    ser_bytes(d, pe->uname, pe->uname ? strlen(pe->uname) : 0, err) < 0 ||
	    ser_bytes(d, pe->gname, pe->gname ? strlen(pe->gname) : 0, err) < 0 ||
	    ser_u64(d, (uint64_t)pe->mtime, err) < 0 ||
	    ser_u64(d, (uint64_t)pe->mtime_nsec, err) < 0 ||
	    ser_u64(d, pe->type == '0' ? pe->size : 0, err) < 0 ||
	    ser_u64(d, pe->devmajor, err) < 0 || ser_u64(d, pe->devminor, err) < 0 ||
	    ser_bytes(d, pe->type == '2' ? pe->linkname : NULL,
		      pe->type == '2' ? strlen(pe->linkname) : 0, err) < 0 ||
	    ser_u64(d, pe->n_xattrs, err) < 0)
		return -1;
	for (i = 0; i < pe->n_xattrs; i++)
		if (ser_bytes(d, pe->xattrs[i].name, strlen(pe->xattrs[i].name), err) < 0 ||
		    ser_bytes(d, pe->xattrs[i].value ? pe->xattrs[i].value : "",
			      pe->xattrs[i].size, err) < 0)
			return -1;
	if (ocis_hash_reset(&d->mh, err) < 0)
		return -1;
	ocis_hash_update(&d->mh, d->ser.data, d->ser.len);
	return ocis_hash_final_raw(&d->mh, md, err);
}

/* Is the content of a regular file compared? */
static int
content_compared(const struct diff *d, char type)
{
	return type == '0' && !d->o->trust_mtime;
}

/* The fingerprint of an entry of this type whose metadata digest is md:
 * md, or for a regular file whose content is compared, the digest of md
 * and of the content, which read_data hashed into d->ch. */
static int
entry_fp(struct diff *d, char type, const unsigned char md[OCIS_DIGEST_LEN],
	 unsigned char out[OCIS_DIGEST_LEN], ocis_error_t **err)
{
	unsigned char cd[OCIS_DIGEST_LEN];

	if (!content_compared(d, type)) {
		memmove(out, md, OCIS_DIGEST_LEN);
		return 0;
	}
	if (ocis_hash_final_raw(&d->ch, cd, err) < 0 || ocis_hash_reset(&d->mh, err) < 0)
		return -1;
	ocis_hash_update(&d->mh, md, OCIS_DIGEST_LEN);
	ocis_hash_update(&d->mh, cd, sizeof(cd));
	return ocis_hash_final_raw(&d->mh, out, err);
}

/* --- reading tars ----------------------------------------------------------- */

/* A tree's tar reader and the entries read from it so far. */
struct counted_tarin {
	struct ocis_tarin *in;
	uint64_t entries;
};

static int
tar_open(struct counted_tarin *t, int fd, const char *what, ocis_error_t **err)
{
	struct ocis_tarin_opts o = { .what = what };

	t->entries = 0;
	return ocis_tarin_open_fd(&t->in, fd, &o, err);
}

/* 1 with *ae, 0 at the (checked) end, -1 on error. */
static int
tar_next(struct counted_tarin *t, struct archive_entry **ae, ocis_error_t **err)
{
	int r = ocis_tarin_next(t->in, ae, err);

	if (r > 0)
		t->entries++;
	return r;
}

/* Where read_data sends the data of the current entry (holes as zeros) */
#define DATA_HASH 1	/* into d->ch, reset first */
#define DATA_HOLD 2	/* into d->held, reset first */
#define DATA_EMIT 4	/* into the layer, padded */
static int
read_data(struct diff *d, struct ocis_tarin *in, uint64_t size, int to, ocis_error_t **err);

/* --- the layer output ------------------------------------------------------- */

/*
 * Whiteouts before their siblings.  What an upper directory lost is known
 * only when it ends, after its other entries were written; the image spec
 * applies whiteouts regardless of their place, but asks that they come
 * before sibling entries, which is also what appliers that work entry by
 * entry need for an opaque whiteout.  So the layer bytes written since an
 * open directory's children began are held in memory (the spool), and
 * the directory's whiteouts are inserted where its children begin when it
 * ends.  The spool is bounded (SPOOL_MAX): when an entry would overflow it,
 * it is written out and the directories open at that moment get their
 * whiteouts where they end, as before; directories opened later are held
 * again.  The layer bytes therefore depend only on the two trees.
 */
#define SPOOL_MAX (8u * 1024 * 1024)

static int
spool_flush(struct diff *d, ocis_error_t **err)
{
	size_t i;

	for (i = 0; i < d->n_stack; i++)
		d->stack[i].at = NO_SPOOL;
	d->n_spooled = 0;
	if (d->spool.len > 0 && ocis_layer_out_write(d->lo, d->spool.data, d->spool.len, err) < 0)
		return -1;
	ocis_buf_reset(&d->spool);
	return 0;
}

static int
tar_out(struct diff *d, const void *data, size_t len, ocis_error_t **err)
{
	if (d->capture)
		return ocis_buf_add(&d->ins, data, len, err);
	if (d->n_spooled > 0 && d->spool.len + len <= SPOOL_MAX)
		return ocis_buf_add(&d->spool, data, len, err);
	if (d->n_spooled > 0 && spool_flush(d, err) < 0)
		return -1;
	return ocis_layer_out_write(d->lo, data, len, err);
}

static int
tar_zeros(struct diff *d, uint64_t n, ocis_error_t **err)
{
	if (d->n_spooled > 0 && d->spool.len + n <= SPOOL_MAX) {
		while (n > 0) {
			size_t k = n > ZEROS_SIZE ? ZEROS_SIZE : (size_t)n;
			if (ocis_buf_add(&d->spool, d->zeros, k, err) < 0)
				return -1;
			n -= k;
		}
		return 0;
	}
	if (d->n_spooled > 0 && spool_flush(d, err) < 0)
		return -1;
	return ocis_layer_out_zeros(d->lo, n, err);
}

/* Encode the header of pe under the normalised name p (directories get
 * their "/", the root is "./") into d->hdr. */
static int
encode_header(struct diff *d, struct ocis_pax_entry *pe, const char *p, ocis_error_t **err)
{
	ocis_buf_reset(&d->wh);
	if (*p == 0) {
		if (ocis_buf_addstr(&d->wh, "./", err) < 0)
			return -1;
	} else if (ocis_buf_addstr(&d->wh, p, err) < 0 ||
		   (pe->type == '5' && ocis_buf_add(&d->wh, "/", 1, err) < 0)) {
		return -1;
	}
	pe->path = (const char *)d->wh.data;
	ocis_buf_reset(&d->hdr);
	return ocis_pax_encode_header(pe, &d->hdr, err);
}

/* An entry is in the layer: count it, tell the caller. */
static void
written(struct diff *d, const char *path)
{
	d->st->written++;
	if (d->o->on_entry)
		d->o->on_entry(d->o->cb_ctx, path);
}

/*
 * Parent directories.  An upper directory that did not change is not
 * written when it comes, but held back; once an entry below it is written,
 * it is written first (outermost first).  Every entry of the layer then
 * has its parents in the layer, as in the diff layers containerd and
 * docker write: an applier that creates or replaces an entry changes its
 * parent's mtime, and restores it only for directories the layer holds
 * (containerd 1.6 left such parents with the time of the unpack).  A
 * directory's children, and so its whiteouts, begin after its own entry.
 */
static int
write_parents(struct diff *d, ocis_error_t **err)
{
	size_t i;

	for (i = 0; i < d->n_stack; i++) {
		struct open_dir *s = &d->stack[i];
		const char *name;
		size_t nlen;

		if (s->hdr == NO_HDR)
			continue;
		name = (const char *)d->dirhdrs.data + s->hdr;
		nlen = strlen(name) + 1;
		if (tar_out(d, name + nlen, s->hdr_len - nlen, err) < 0)
			return -1;
		if (s->at != NO_SPOOL)
			s->at = d->spool.len;
		d->recs[s->rec].flags |= F_WRITTEN;
		written(d, name);
	}
	for (i = 0; i < d->n_stack; i++)
		d->stack[i].hdr = NO_HDR;
	ocis_buf_reset(&d->dirhdrs);
	return 0;
}

/* The top open directory p did not change: hold its entry back. */
static int
hold_dir(struct diff *d, struct ocis_pax_entry *pe, const char *p, uint32_t rec,
	 ocis_error_t **err)
{
	struct open_dir *s = &d->stack[d->n_stack - 1];

	if (encode_header(d, pe, p, err) < 0)
		return -1;
	s->hdr = d->dirhdrs.len;
	if (ocis_buf_add(&d->dirhdrs, d->wh.data, d->wh.len, err) < 0 ||
	    ocis_buf_add(&d->dirhdrs, "", 1, err) < 0 ||
	    ocis_buf_add(&d->dirhdrs, d->hdr.data, d->hdr.len, err) < 0)
		return -1;
	s->hdr_len = d->dirhdrs.len - s->hdr;
	s->rec = rec;
	d->recs[rec].flags |= F_HELD;
	return 0;
}

/* Write the header of pe under the normalised name p, after the parents
 * held back (but for whiteouts being collected: see pop_dir). */
static int
put_header(struct diff *d, struct ocis_pax_entry *pe, const char *p, ocis_error_t **err)
{
	if (!d->capture && write_parents(d, err) < 0)
		return -1;
	if (encode_header(d, pe, p, err) < 0 ||
	    tar_out(d, d->hdr.data, d->hdr.len, err) < 0)
		return -1;
	written(d, pe->path);
	return 0;
}

/* n zeros: a hole of a sparse file, or its end after its last data */
static int
data_zeros(struct diff *d, uint64_t n, int to, ocis_error_t **err)
{
	if (n == 0)
		return 0;
	if ((to & DATA_HOLD) && ocis_spill_zeros(&d->held, n, err) < 0)
		return -1;
	if ((to & DATA_EMIT) && tar_zeros(d, n, err) < 0)
		return -1;
	for (; (to & DATA_HASH) && n > 0;) {
		size_t k = n > ZEROS_SIZE ? ZEROS_SIZE : (size_t)n;
		ocis_hash_update(&d->ch, d->zeros, k);
		n -= k;
	}
	return 0;
}

/* A data block of the current entry, where `to` sends it. */
static int
data_block(struct diff *d, const void *buf, size_t len, int to, ocis_error_t **err)
{
	if (to & DATA_HASH)
		ocis_hash_update(&d->ch, buf, len);
	if ((to & DATA_HOLD) && ocis_spill_add(&d->held, buf, len, err) < 0)
		return -1;
	if ((to & DATA_EMIT) && tar_out(d, buf, len, err) < 0)
		return -1;
	return 0;
}

/* The data sink of read_data: the diff and where its data goes. */
struct data_route {
	struct diff *d;
	int to;
};

static int
route_data(void *ctx, const void *buf, size_t len, ocis_error_t **err)
{
	struct data_route *r = ctx;

	return data_block(r->d, buf, len, r->to, err);
}

static int
route_zeros(void *ctx, uint64_t n, ocis_error_t **err)
{
	struct data_route *r = ctx;

	return data_zeros(r->d, n, r->to, err);
}

static int
read_data(struct diff *d, struct ocis_tarin *in, uint64_t size, int to, ocis_error_t **err)
{
	struct data_route route = { d, to };
	const struct ocis_tarin_sink s = { route_data, route_zeros, &route };

	if ((to & DATA_HASH) && ocis_hash_reset(&d->ch, err) < 0)
		return -1;
	if ((to & DATA_HOLD) && ocis_spill_reset(&d->held, err) < 0)
		return -1;
	if (ocis_tarin_copy_data(in, size, &s, err) < 0)
		return -1;
	return (to & DATA_EMIT) ? tar_zeros(d, ocis__pad512(size), err) : 0;
}

/* --- pass 1: the lower index ------------------------------------------------ */

/* Lower entry number seq, taken in (e): its record, its hardlink group,
 * its fingerprints (the content read from in). */
static int
lower_entry(struct diff *d, const struct ocis_intake_entry *e, struct ocis_tarin *in,
	    uint64_t seq, const char *what, ocis_error_t **err)
{
	const struct ocis_pax_entry *pe = &e->pe;
	unsigned char md[OCIS_DIGEST_LEN];
	char s1[256];
	uint32_t x;

	if (lower_get(d, e->path, e->len, &x, err) < 0)
		return -1;
	if (pe->type == '1') {
		uint32_t tg = lower_find(d, e->link, e->link_len);

		if (tg == NONE || (d->recs[tg].type != '0' && d->recs[tg].type != '1'))
			return ocis_error_set(err, 0, "%s: hardlink '%s' to '%s', which is not an "
					      "earlier file", what,
					      ocis__safe_name(e->raw, s1, sizeof(s1)), e->link);
		d->recs[x].group = d->recs[tg].group;
	} else {
		d->recs[x].group = x;
	}
	if (fingerprint(d, pe, md, err) < 0 ||
	    (content_compared(d, pe->type) && read_data(d, in, pe->size, DATA_HASH, err) < 0) ||
	    entry_fp(d, pe->type, md, d->recs[x].fp, err) < 0)
		return -1;
	d->recs[x].meta = filter_of(md);
	d->recs[x].type = pe->type;
	d->recs[x].seq = (uint32_t)seq;
	d->st->lower_entries++;
	return 0;
}

static int
index_lower(struct diff *d, int fd, const char *what, ocis_error_t **err)
{
	struct counted_tarin t = { NULL, 0 };
	struct archive_entry *ae;
	uint32_t root;
	int r, ret = -1;
	char s1[256];

	if (lower_get(d, "", 0, &root, err) < 0)
		return -1;
	if (tar_open(&t, fd, what, err) < 0)
		goto out;
	while ((r = tar_next(&t, &ae, err)) > 0) {
		struct ocis_intake_entry e;

		if ((r = ocis_intake_entry(&d->lower_in, ae, &e, err)) < 0)
			goto fail_entry;
		if (r == 0)
			continue;	/* a socket, a hardlink to itself */
		if (lower_entry(d, &e, t.in, t.entries, what, err) < 0)
			goto out;
	}
	if (r == 0)
		ret = 0;
	goto out;
fail_entry:
	ocis_error_wrap(err, "%s: entry '%s'", what,
			ocis__safe_name(archive_entry_pathname(ae), s1, sizeof(s1)));
out:
	ocis_tarin_free(t.in);
	return ret;
}

/* The lower as entries handed over (o->lower_each: an image lower,
 * flattened on this thread), numbered as its tar would number them.  An
 * entry the diff refuses fails the hook with its own error, kept in err
 * and given back as it is: what the hook adds is about its own failures
 * (a damaged layer). */
struct fed_lower {
	struct diff *d;
	const char *what;
	uint64_t entries;
	ocis_error_t *err;
};

static int
lower_fed(void *ctx, const struct ocis_pax_entry *pe, struct ocis_tarin *data,
	  ocis_error_t **err)
{
	struct fed_lower *fl = ctx;
	struct ocis_intake_entry e;
	char s1[256];
	int r;

	fl->entries++;
	memset(&e, 0, sizeof(e));
	e.raw = e.path = pe->path;
	e.len = strlen(pe->path);
	if (pe->type == '1') {
		e.link = pe->linkname;
		e.link_len = strlen(pe->linkname);
	}
	e.pe = *pe;
	if ((r = ocis_intake_tree(&fl->d->lower_in, &e, &fl->err)) < 0)
		ocis_error_wrap(&fl->err, "%s: entry '%s'", fl->what,
				ocis__safe_name(e.raw, s1, sizeof(s1)));
	if (r > 0)
		r = lower_entry(fl->d, &e, data, fl->entries, fl->what, &fl->err);
	if (r < 0)
		return ocis_error_set(err, 0, "the lower index failed");
	return 0;
}

static int
index_lower_fed(struct diff *d, const char *what, ocis_error_t **err)
{
	struct fed_lower fl = { d, what, 0, NULL };
	uint32_t root;
	int r;

	if (lower_get(d, "", 0, &root, err) < 0)
		return -1;
	r = d->o->lower_each(d->o->lower_each_ctx, lower_fed, &fl, err);
	if (fl.err != NULL) {
		if (err != NULL) {
			ocis_error_free(err);
			*err = fl.err;
		} else {
			ocis_error_free(&fl.err);
		}
	}
	return r;
}

/* --- pass 2: the upper stream ----------------------------------------------- */

static int
is_dir_type(char type)
{
	return type == '5' || type == 'i';
}

static int
whiteout(struct diff *d, const char *dir, const char *base, ocis_error_t **err)
{
	struct ocis_pax_entry pe;
	struct ocis_buf *n = &d->link;

	ocis_buf_reset(n);
	if ((*dir && (ocis_buf_addstr(n, dir, err) < 0 || ocis_buf_add(n, "/", 1, err) < 0)) ||
	    ocis_buf_addstr(n, ".wh.", err) < 0 || ocis_buf_addstr(n, base, err) < 0)
		return -1;
	memset(&pe, 0, sizeof(pe));
	pe.type = '0';
	pe.mode = 0644;
	d->st->whiteouts++;
	return put_header(d, &pe, (const char *)n->data, err);
}

/* The upper directory of lower record r ended: whiteouts for what is gone.
 * An opaque whiteout stands for them only when it goes before the
 * directory's other entries (opaque): an applier that goes entry by entry
 * would remove this layer's entries too when it came after them. */
static int
close_dir(struct diff *d, uint32_t r, int opaque, ocis_error_t **err)
{
	struct ocis_buf dir = OCIS_BUF_INIT, child = OCIS_BUF_INIT;
	uint32_t c;
	size_t gone = 0, kept = 0;
	int ret = -1;

	if (r == NONE || (d->recs[r].flags & F_CLOSED) || !is_dir_type(d->recs[r].type))
		return 0;
	d->recs[r].flags |= F_CLOSED;
	for (c = d->recs[r].first_child; c != NONE; c = d->recs[c].next_sibling) {
		if (d->recs[c].flags & F_SEEN)
			kept++;
		else
			gone++;
	}
	if (gone == 0)
		return 0;
	if (rec_name(d, r, &dir, err) < 0)
		goto out;
	if (kept == 0 && opaque) {
		if (whiteout(d, (char *)dir.data, ".wh..opq", err) < 0)
			goto out;
	} else {
		for (c = d->recs[r].first_child; c != NONE; c = d->recs[c].next_sibling) {
			const char *n, *b;
			if (d->recs[c].flags & F_SEEN)
				continue;
			if (rec_name(d, c, &child, err) < 0)
				goto out;
			n = (const char *)child.data;
			b = strrchr(n, '/');
			if (whiteout(d, (char *)dir.data, b ? b + 1 : n, err) < 0)
				goto out;
		}
	}
	ret = 0;
out:
	ocis_buf_release(&dir);
	ocis_buf_release(&child);
	return ret;
}

/* Its children start here (after its own entry, if any). */
static int
push_dir(struct diff *d, size_t len, uint32_t rec, ocis_error_t **err)
{
	if (ocis__grow((void **)&d->stack, &d->cap_stack, d->n_stack + 1, sizeof(*d->stack), err) < 0)
		return -1;
	d->stack[d->n_stack].len = len;
	d->stack[d->n_stack].rec = rec;
	d->stack[d->n_stack].at = d->spool.len;
	d->stack[d->n_stack].hdr = NO_HDR;
	d->n_spooled++;
	d->n_stack++;
	return 0;
}

/* The top open directory ended: its whiteouts, into the spool where its
 * children start when that place is still held, else here; after its own
 * entry in both cases. */
static int
pop_dir(struct diff *d, ocis_error_t **err)
{
	struct open_dir *s = &d->stack[d->n_stack - 1];
	uint32_t rec = s->rec;
	uint64_t whiteouts0 = d->st->whiteouts;
	size_t tail;
	int r;

	if (s->at == NO_SPOOL) {
		r = close_dir(d, rec, 0, err);
	} else {
		ocis_buf_reset(&d->ins);
		d->capture = 1;
		r = close_dir(d, rec, 1, err);
		d->capture = 0;
		if (r == 0 && d->ins.len > 0)
			r = write_parents(d, err);
		if (r == 0 && d->ins.len > 0 &&
		    (s->at == NO_SPOOL || d->spool.len + d->ins.len > SPOOL_MAX)) {
			/* too many to hold: where the directory ends, then, and
			 * without an opaque whiteout */
			d->st->written -= d->st->whiteouts - whiteouts0;
			d->st->whiteouts = whiteouts0;
			d->recs[rec].flags &= ~F_CLOSED;
			r = spool_flush(d, err) < 0 ? -1 : close_dir(d, rec, 0, err);
		} else if (r == 0 && d->ins.len > 0) {
			tail = d->spool.len - s->at;
			r = ocis_buf_add(&d->spool, d->ins.data, d->ins.len, err);
			if (r == 0) {
				memmove(d->spool.data + s->at + d->ins.len, d->spool.data + s->at,
					tail);
				memcpy(d->spool.data + s->at, d->ins.data, d->ins.len);
			}
		}
	}
	if (r < 0)
		return -1;
	/* an entry held back with nothing written below it stays out */
	if (s->hdr != NO_HDR)
		d->dirhdrs.len = s->hdr;
	if (s->at != NO_SPOOL)
		d->n_spooled--;
	d->n_stack--;
	/* nothing is waiting for a place in the spool any more */
	return d->n_spooled == 0 ? spool_flush(d, err) : 0;
}

/* Is the open directory s an ancestor of (or) path p? */
static int
dir_holds(const struct open_dir *s, const char *p, size_t len)
{
	if (s->len == 0)
		return 1;	/* the root */
	return len >= s->len && (len == s->len || p[s->len] == '/');
}

/*
 * Bring the stack of open directories to the parents of p (the stack holds
 * prefixes of the previous path, so a prefix test on lengths is enough):
 * close the directories p is not in, open p's parents that have no entry
 * (their lower records from lwalk_upper(p), called first).  Returns 1 when one of p's parents already ended earlier (p must then be
 * written), 0 otherwise.
 */
static int
walk_to(struct diff *d, const char *p, size_t len, ocis_error_t **err)
{
	size_t i, k;
	int late = 0;

	while (d->n_stack > 1) {
		struct open_dir *s = &d->stack[d->n_stack - 1];
		if (dir_holds(s, p, len) && s->len < len &&
		    memcmp(d->cur.data, p, s->len) == 0)
			break;
		if (pop_dir(d, err) < 0)
			return -1;
	}
	/* parents of p below the top of the stack */
	k = d->stack[d->n_stack - 1].len;
	for (i = k ? k + 1 : 0; i < len; i++) {
		uint32_t r;
		if (p[i] != '/')
			continue;
		r = lfind_walked(d, i);
		if (r != NONE) {
			if (!is_dir_type(d->recs[r].type))
				return ocis_error_set(err, 0, "below '%.*s', which has no "
						      "directory entry in the upper tar and is no "
						      "directory in the lower", (int)i, p);
			d->recs[r].flags |= F_SEEN;
		}
		if (push_dir(d, i, r, err) < 0)
			return -1;
	}
	for (i = 0; i < d->n_stack; i++)
		if (d->stack[i].rec != NONE && (d->recs[d->stack[i].rec].flags & F_CLOSED))
			late = 1;
	/* remember the path the stack describes */
	ocis_buf_reset(&d->cur);
	if (ocis_buf_add(&d->cur, p, len, err) < 0 || ocis_buf_add(&d->cur, "", 1, err) < 0)
		return -1;
	d->cur.len = len;
	return late;
}

/* A warning through the caller's callback. */
#define dwarn(d, ...) ocis__warnf((d)->o->warn, (d)->o->cb_ctx, __VA_ARGS__)

static int
held_out(void *ctx, const void *data, size_t len, ocis_error_t **err)
{
	return tar_out(ctx, data, len, err);
}

/*
 * A regular file whose metadata match those of lower record lr (digest
 * md): its content decides.  The upper stream is read once and the
 * entry's header must come before its data, so the data is held (in
 * memory up to hold_max, in one temporary file beyond) and hashed; then
 * dropped when the fingerprint is the lower's, else written after the
 * header.
 */
static int
upper_file(struct diff *d, struct counted_tarin *t, struct ocis_pax_entry *pe, const char *p,
	   size_t len, uint32_t lr, const unsigned char md[OCIS_DIGEST_LEN], ocis_error_t **err)
{
	unsigned char fp[OCIS_DIGEST_LEN];

	if (read_data(d, t->in, pe->size, DATA_HASH | DATA_HOLD, err) < 0 ||
	    entry_fp(d, pe->type, md, fp, err) < 0)
		return -1;
	if (memcmp(fp, d->recs[lr].fp, sizeof(fp)) == 0) {
		d->st->unchanged++;
		return upper_set(d, p, len, lr, err);
	}
	if (put_header(d, pe, p, err) < 0 || ocis_spill_replay(&d->held, held_out, d, err) < 0 ||
	    tar_zeros(d, ocis__pad512(pe->size), err) < 0)
		return -1;
	return upper_set(d, p, len, NONE, err);
}

static int
upper_entry(struct diff *d, struct counted_tarin *t, struct archive_entry *ae, ocis_error_t **err)
{
	struct ocis_intake_entry e;
	struct ocis_pax_entry pe;
	const char *p;
	unsigned char md[OCIS_DIGEST_LEN];
	uint32_t lr;
	size_t len;
	int force, changed, r;

	/* oci-layer's rules, what an unpacker of the upper tar could not
	 * apply among them (the messages are prefixed with the entry by
	 * diff_upper) */
	if ((r = ocis_intake_entry(&d->upper_in, ae, &e, err)) <= 0)
		return r;	/* refused, or left out (a socket, a link to itself) */
	pe = e.pe;
	ocis_buf_reset(&d->path);
	if (ocis_buf_add(&d->path, e.path, e.len, err) < 0)
		return -1;
	p = (const char *)d->path.data;
	len = d->path.len;
	if (lwalk_upper(d, p, len, err) < 0)
		return -1;
	force = len == 0 ? 0 : walk_to(d, p, len, err);
	if (force < 0)
		return -1;
	lr = lfind_walked(d, len);
	if (lr != NONE) {
		if (d->recs[lr].flags & F_SEEN && len > 0)
			force = 1;	/* the upper has the path twice */
		d->recs[lr].flags |= F_SEEN;
	}
	if (pe.type == '1') {
		/* a hardlink: to an upper file that was written, or not */
		const uint32_t *s;
		uint32_t c;

		s = upper_carrier(d, e.link, e.link_len);
		if (s == NULL)
			return ocis_error_set(err, 0, "hardlink to '%s', which is not an earlier "
					      "entry of the upper tree", e.link);
		c = *s;
		if (fingerprint(d, &pe, md, err) < 0)
			return -1;
		if (c == NONE) {
			pe.linkname = e.link;
			if (put_header(d, &pe, p, err) < 0)
				return -1;
			return upper_set(d, p, len, NONE, err);
		}
		/* to an unchanged file c: unchanged when it was a link of the
		 * same group in the lower, with the same metadata */
		changed = force || lr == NONE || d->recs[lr].type != '1' ||
			  d->recs[lr].group != c || memcmp(d->recs[lr].fp, md, sizeof(md)) != 0;
		if (changed && !(d->recs[c].flags & F_NEEDED)) {
			d->recs[c].flags |= F_NEEDED;
			d->any_needed = 1;
		}
		/* its parents now: it is written in pass 3 */
		if (changed && write_parents(d, err) < 0)
			return -1;
		if (ocis__grow((void **)&d->pend, &d->cap_pend, d->n_pend + 1, sizeof(*d->pend), err) < 0)
			return -1;
		if ((d->pend[d->n_pend].name = strdup(p)) == NULL)
			return ocis_error_oom(err);
		d->pend[d->n_pend++].carrier = c;
		if (!changed)
			d->st->unchanged++;
		return upper_set(d, p, len, c, err);
	}
	if (fingerprint(d, &pe, md, err) < 0)
		return -1;
	changed = force || lr == NONE || d->recs[lr].type != pe.type ||
		  d->recs[lr].meta != filter_of(md);
	if (!changed && content_compared(d, pe.type))
		return upper_file(d, t, &pe, p, len, lr, md, err);
	if (!changed && memcmp(d->recs[lr].fp, md, sizeof(md)) != 0)
		changed = 1;
	if (pe.type == '5') {
		/* the root held back only while nothing else was written */
		int hold = !changed && (len > 0 || (d->n_stack == 1 && d->st->written == 0));

		if (!hold && put_header(d, &pe, p, err) < 0)
			return -1;
		if (!hold && lr != NONE)
			d->recs[lr].flags |= F_WRITTEN;
		if (!changed)
			d->st->unchanged++;
		if (len > 0) {
			if (push_dir(d, len, lr, err) < 0)
				return -1;
			d->cur.len = len;
		} else if (d->n_stack == 1 && d->stack[0].at != NO_SPOOL) {
			/* the root was opened before its entry came */
			d->stack[0].at = d->spool.len;
		}
		return hold ? hold_dir(d, &pe, p, lr, err) : 0;
	}
	if (pe.type != '0') {
		/* a symlink, device or fifo: a later hardlink may name it */
		if (changed)
			return put_header(d, &pe, p, err) < 0 ? -1 : upper_set(d, p, len, NONE, err);
		d->st->unchanged++;
		return upper_set(d, p, len, lr, err);
	}
	/* a regular file (unchanged: with trust_mtime) */
	if (!changed) {
		d->st->unchanged++;
		return upper_set(d, p, len, lr, err);
	}
	if (put_header(d, &pe, p, err) < 0 || read_data(d, t->in, pe.size, DATA_EMIT, err) < 0)
		return -1;
	return upper_set(d, p, len, NONE, err);
}

static int
diff_upper(struct diff *d, int fd, ocis_error_t **err)
{
	struct counted_tarin t = { NULL, 0 };
	struct archive_entry *ae;
	int r, ret = -1;
	char s1[256];

	if (push_dir(d, 0, lower_find(d, "", 0), err) < 0)
		return -1;
	if (ocis_buf_add(&d->cur, "", 1, err) < 0)
		return -1;
	d->cur.len = 0;
	if (tar_open(&t, fd, "upper", err) < 0)
		goto out;
	while ((r = tar_next(&t, &ae, err)) > 0) {
		d->st->upper_entries++;
		if (upper_entry(d, &t, ae, err) < 0) {
			ocis_error_wrap(err, "upper: entry '%s'",
					ocis__safe_name(archive_entry_pathname(ae), s1, sizeof(s1)));
			goto out;
		}
	}
	if (r < 0)
		goto out;
	while (d->n_stack > 0)
		if (pop_dir(d, err) < 0)
			goto out;
	ret = 0;
out:
	ocis_tarin_free(t.in);
	return ret;
}

/* --- pass 3: unchanged files a new hardlink needs ---------------------------- */

/* Mark the directories above r that pass 3 must write: those held back in
 * pass 2 and not written since (see write_parents). */
static void
mark_parents(struct diff *d, uint32_t r)
{
	for (; r != NONE; r = d->recs[r].parent) {
		uint8_t f = d->recs[r].flags;
		if (f & (F_WRITTEN | F_PARENT))
			return;	/* and so are its parents */
		if (f & F_HELD)
			d->recs[r].flags |= F_PARENT;
	}
}

/* Every file pass 3 writes: the needed carriers and each upper hardlink of
 * one; their parents, from the lower, before them. */
static void
mark_pass3_parents(struct diff *d)
{
	size_t i;
	uint32_t r;

	for (r = 0; r < d->n_recs; r++)
		if (d->recs[r].flags & F_NEEDED)
			mark_parents(d, d->recs[r].parent);
	for (i = 0; i < d->n_pend; i++) {
		const char *n = d->pend[i].name, *slash = strrchr(n, '/');

		if (d->recs[d->pend[i].carrier].flags & F_NEEDED)
			mark_parents(d, lower_find(d, n, slash ? (size_t)(slash - n) : 0));
	}
}

static int
emit_needed(struct diff *d, int fd, const char *what, ocis_error_t **err)
{
	struct counted_tarin t = { NULL, 0 };
	struct archive_entry *ae;
	struct stat sb;
	size_t i;
	int r, ret = -1;

	if (d->o->reopen_lower != NULL) {
		if (d->o->reopen_lower(d->o->reopen_ctx, &fd, err) < 0)
			return ocis_error_wrap(err, "%s, read again", what);
	} else if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || lseek(fd, 0, SEEK_SET) != 0) {
		return ocis_error_set(err, 0, "the upper tree has a new hardlink to a file that "
				      "did not change, which must then be written from the "
				      "lower tar, read a second time: give --lower as a file, "
				      "not a pipe");
	}
	d->st->lower_reread = 1;
	mark_pass3_parents(d);
	ocis_buf_reset(&d->ins);	/* the hardlinks, written last */
	if (tar_open(&t, fd, what, err) < 0)
		goto out;
	while ((r = tar_next(&t, &ae, err)) > 0) {
		struct ocis_pax_entry pe;
		unsigned char md[OCIS_DIGEST_LEN], fp[OCIS_DIGEST_LEN];
		uint32_t x;

		struct ocis_intake_entry e;

		/* the names and metadata pass 1 took in (its checks hold) */
		if ((r = ocis_intake_names(&d->reread_in, ae, &e, err)) < 0)
			goto out;
		x = r == 0 ? NONE : lower_find(d, e.path, e.len);
		if (x == NONE || !(d->recs[x].flags & (F_NEEDED | F_PARENT)) ||
		    d->recs[x].seq != t.entries)
			continue;
		if (ocis_intake_meta(&d->reread_in, ae, &e, err) < 0)
			goto out;
		pe = e.pe;
		if (fingerprint(d, &pe, md, err) < 0)
			goto out;
		/* the entry pass 1 saw? (a file's content: once it is read) */
		if (filter_of(md) != d->recs[x].meta ||
		    pe.type != (d->recs[x].flags & F_PARENT ? '5' : d->recs[x].type) ||
		    (!content_compared(d, pe.type) && memcmp(md, d->recs[x].fp, sizeof(md)) != 0))
			goto changed;
		if (d->recs[x].flags & F_PARENT) {
			d->recs[x].flags |= F_WRITTEN;
			if (put_header(d, &pe, e.path, err) < 0)
				goto out;
			continue;
		}
		if (put_header(d, &pe, e.path, err) < 0 ||
		    (pe.type == '0' &&
		     read_data(d, t.in, pe.size,
			       DATA_EMIT | (content_compared(d, pe.type) ? DATA_HASH : 0), err) < 0))
			goto out;
		/* a changed content makes the layer fail: the error cuts it */
		if (content_compared(d, pe.type) &&
		    (entry_fp(d, pe.type, md, fp, err) < 0 ||
		     memcmp(fp, d->recs[x].fp, sizeof(fp)) != 0))
			goto changed;
		/* then every upper hardlink of it, in upper order (the
		 * carrier's metadata: a hardlink shares its inode), kept
		 * until the end, when the parents from the lower are in */
		pe.type = '1';
		pe.size = 0;
		for (i = 0; i < d->n_pend; i++) {
			if (d->pend[i].carrier != x)
				continue;
			pe.linkname = e.path;	/* x's name */
			if (encode_header(d, &pe, d->pend[i].name, err) < 0 ||
			    ocis_buf_add(&d->ins, d->hdr.data, d->hdr.len, err) < 0)
				goto out;
			written(d, pe.path);
		}
	}
	if (r < 0 || tar_out(d, d->ins.data, d->ins.len, err) < 0)
		goto out;
	ret = 0;
	goto out;
changed:
	ocis_error_set(err, 0, "%s changed between two reads", what);
out:
	ocis_tarin_free(t.in);
	return ret;
}

static void
diff_release(struct diff *d)
{
	size_t i;

	ocis_layer_out_free(d->lo);
	free(d->zeros);
	free(d->recs);
	if (d->tabs_ready) {
		ocis_pathtab_release(&d->ltab);
		ocis_pathtab_release(&d->utab);
	}
	ocis_pathtab_walk_release(&d->lwalk);
	ocis_pathtab_walk_release(&d->lupper);
	ocis_pathtab_walk_release(&d->uwalk);
	free(d->ucar);
	for (i = 0; i < d->n_pend; i++)
		free(d->pend[i].name);
	free(d->pend);
	free(d->stack);
	ocis_buf_release(&d->cur);
	ocis_buf_release(&d->path);
	ocis_buf_release(&d->link);
	ocis_buf_release(&d->hdr);
	ocis_buf_release(&d->ser);
	ocis_buf_release(&d->wh);
	ocis_buf_release(&d->spool);
	ocis_buf_release(&d->ins);
	ocis_buf_release(&d->dirhdrs);
	ocis_intake_release(&d->lower_in);
	ocis_intake_release(&d->upper_in);
	ocis_intake_release(&d->reread_in);
	ocis_hash_release(&d->ch);
	ocis_hash_release(&d->mh);
	ocis_spill_release(&d->held);
}

/* The intake's warnings, said of the tree they are about. */
static void
warn_lower(void *ctx, const char *msg)
{
	const struct diff *d = ctx;

	ocis__warnf(d->o->warn, d->o->cb_ctx, "lower: %s", msg);
}

static void
warn_upper(void *ctx, const char *msg)
{
	const struct diff *d = ctx;

	ocis__warnf(d->o->warn, d->o->cb_ctx, "upper: %s", msg);
}

int
ocis_diff_build(int lower_fd, const char *lower_what, int upper_fd,
		struct ocis_stream_writer *w, const struct ocis_diff_opts *o,
		struct ocis_layer_desc *desc, struct ocis_diff_stats *stats,
		ocis_error_t **err)
{
	struct ocis_diff_stats st_local;
	struct diff d;
	int ret = -1;

	memset(&d, 0, sizeof(d));
	ocis_spill_init(&d.held, o->hold_max < SIZE_MAX ? (size_t)o->hold_max : SIZE_MAX);
	if (stats == NULL)
		stats = &st_local;
	memset(stats, 0, sizeof(*stats));
	d.o = o;
	d.st = stats;
	{
		/* both trees under oci-layer's rules; the lower's second
		 * reading warns no more */
		struct ocis_intake_opts io = { .side = OCIS_INTAKE_TREE,
					       .strip_absolute = o->strip_absolute };

		ocis_intake_init(&d.reread_in, &io);
		io.warn = o->warn ? warn_lower : NULL;
		io.cb_ctx = &d;
		ocis_intake_init(&d.lower_in, &io);
		io.warn = o->warn ? warn_upper : NULL;
		ocis_intake_init(&d.upper_in, &io);
	}
	d.zeros = calloc(1, ZEROS_SIZE);
	if (d.zeros == NULL) {
		ocis_error_oom(err);
		goto out;
	}
	if (ocis_hash_init(&d.ch, err) < 0 || ocis_hash_init(&d.mh, err) < 0)
		goto out;
	if (ocis_pathtab_init(&d.ltab, err) < 0)
		goto out;
	if (ocis_pathtab_init(&d.utab, err) < 0) {
		ocis_pathtab_release(&d.ltab);
		goto out;
	}
	d.tabs_ready = 1;
	/* The lower first (a FIFO is read before anything waits on stdin). */
	if ((o->lower_each ? index_lower_fed(&d, lower_what, err) :
	     index_lower(&d, lower_fd, lower_what, err)) < 0)
		goto out;
	if (ocis_layer_out_new(&d.lo, w, o->compression, o->level, o->threads, err) < 0 ||
	    (o->cache_dir && ocis_layer_out_use_cache(d.lo, o->cache_dir, o->cache_max, err) < 0))
		goto out;
	if (diff_upper(&d, upper_fd, err) < 0)
		goto out;
	if (d.any_needed && emit_needed(&d, lower_fd, lower_what, err) < 0)
		goto out;
	stats->lookups = d.ltab.lookups + d.utab.lookups;
	if (ocis_layer_out_finish(d.lo, o->created, o->created_by, o->comment, desc, err) < 0)
		goto out;
	stats->cache_used = ocis_layer_out_cache_stats(d.lo, &stats->cache);
	ret = 0;
out:
	diff_release(&d);
	return ret;
}
