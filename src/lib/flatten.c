/* SPDX-License-Identifier: MIT */
/*
 * Flattening an image into one rootfs tar: see ocistream/flatten.h.
 *
 * Semantics (the OCI layer changeset rules, as umoci and containerd apply
 * them): a layer's entry for a path replaces what was there, except that a
 * directory over a directory only changes the directory's metadata and
 * keeps what is below it; ".wh.NAME" removes NAME (and all below it) of the
 * layers under it; "DIR/.wh..wh..opq" removes everything below DIR of the
 * layers under it.  Whiteouts never remove entries of their own layer.
 *
 * So an entry (path P, layer L, sequence number S) is in the merged tree
 * exactly when:
 *   - S is the last entry of P in the whole image (last_seq),
 *   - no layer above L has a whiteout of P (kill_self <= L),
 *   - no layer above L removed what is below a directory above P: a
 *     whiteout or an opaque whiteout of it, or a non-directory entry for
 *     it (kill_desc <= L for every proper prefix of P, the root included).
 * Pass 2 builds those three numbers per path, pass 3 applies the test.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include <ocistream/flatten.h>
#include <ocistream/hash.h>
#include <ocistream/imageconfig.h>
#include <ocistream/intake.h>
#include <ocistream/layerdesc.h>
#include <ocistream/pathtab.h>
#include <ocistream/pax.h>
#include <ocistream/stream.h>
#include <ocistream/tarin.h>

#include "imagename-private.h"
#include "internal.h"
#include "tarhdr-private.h"

#define OUT_BUF (256 * 1024)
#define MAX_LAYERS 65535

/* --- path index ----------------------------------------------------------- */

/* What the layers make of a path, per node of the path table (its id):
 * the paths are compared whole, so two names never share one. */
struct node {
	uint32_t last_seq;	/* sequence number of the last entry, 0 = none */
	uint16_t last_layer;	/* layer of that entry (1-based) */
	uint16_t kill_self;	/* last layer with a whiteout of this path */
	uint16_t kill_desc;	/* last layer that removed what is below it */
	uint8_t is_link;	/* the last entry is a hardlink */
	uint8_t is_dir;		/* the last entry is a directory */
};

#define N_TOUCHED 1	/* table flag: an entry or a whiteout names it */
#define N_UNDER_FILE 2	/* table flag, pass 3: a proper ancestor is in the merged
			 * tree as something else than a directory */

/* --- hardlink records ---------------------------------------------------- */

struct link_rec {
	uint32_t seq;		/* the link entry */
	uint32_t target_seq;	/* the entry holding the data (never a link) */
	uint16_t layer;
	char *path;		/* normalised name of the link */
};

/* Per target (first record of each target group in by_target). */
struct target_state {
	int resolved;
	char *name;		/* output name of the data: the target's or a carrier's */
	uint32_t carrier_seq;	/* the link written with the data, or 0 */
};

/* --- input: blobs and images ---------------------------------------------- */

struct extent {
	uint64_t off, len;
};

struct blob {
	char digest[OCIS_DIGEST_STR_SIZE];
	size_t first, n;	/* extents */
};

struct image {
	size_t first, n;	/* in layers */
	char *arch, *os, *variant;	/* from its config, or NULL */
	struct ocis_buf config;		/* exact bytes, or empty (no config) */
};

struct flat {
	const struct ocis_flatten_opts *o;
	struct ocis_flatten_stats *st;
	int in_fd, out_fd;
	uint64_t base_off;

	struct extent *ext;
	size_t n_ext, cap_ext;
	struct blob *blobs;
	size_t n_blobs, cap_blobs;
	struct ocis__digest_index blob_index;
	struct ocis_layer_list layers;	/* descriptors as the stream has them */
	struct image *images;
	size_t n_images, cap_images;

	const struct image *im;

	struct ocis_pathtab tab;	/* every path the layers name */
	int tab_ready;
	struct node *nodes;		/* by node id of tab */
	size_t cap_nodes;
	uint16_t *anc_kill;		/* pass 3, by node id: see index_ancestors */
	size_t n_paths;			/* nodes an entry or a whiteout names */
	struct ocis_pathtab_walk walk;	/* the entries' names */
	struct ocis_pathtab_walk ewalk;	/* the names written */
	struct link_rec *links;
	size_t n_links, cap_links;
	size_t *by_target;	/* indexes into links, sorted by (target_seq, seq) */
	struct target_state *tstate;	/* parallel to by_target */

	/* reading a layer */
	const struct blob *cur_blob;
	size_t cur_ext;
	uint64_t cur_done;
	char cur_what[128];	/* "layer N (digest)" */
	struct ocis_hash cur_hash;	/* of its uncompressed tar: the diff_id */
	uint64_t cur_tar_bytes;
	int cur_hashing;

	/* output: a tar into out_fd, or the entries to each() */
	ocis_flatten_entry_fn each;
	void *each_ctx;
	unsigned char *obuf;
	size_t olen;
	unsigned char *zeros;

	struct ocis_buf path, link, hdr, out_name;
	struct ocis_intake intake;	/* the layers' entries: names, metadata */
};

/* The last one wins (a blob may be carried twice). */
static const struct blob *
find_blob(const struct flat *f, const char *digest)
{
	return ocis__dix_find(&f->blob_index, f->blobs, sizeof(*f->blobs), digest);
}

static int
dup_str(char **dst, const char *s, ocis_error_t **err)
{
	free(*dst);
	*dst = NULL;
	if (s && (*dst = strdup(s)) == NULL)
		return ocis_error_oom(err);
	return 0;
}

/* Pass 1: where the blobs are, which layers make which image. */
static int
scan_stream(struct flat *f, ocis_error_t **err)
{
	struct ocis_stream_reader *r = NULL;
	struct ocis_stream_entry e;
	size_t run_first = 0;
	int in_run = 0, rc, ret = -1;
	struct image cur;

	memset(&cur, 0, sizeof(cur));
	if (ocis_stream_reader_new(&r, f->in_fd, 1, err) < 0)
		return -1;
	if (ocis_stream_reader_set_base(r, f->o->ref, f->o->arch, f->o->os, f->o->variant,
					err) < 0)
		goto out;
	while ((rc = ocis_stream_next(r, &e, err)) > 0) {
		switch (e.kind) {
		case OCIS_ENTRY_CHUNK: {
			uint64_t off = f->base_off + ocis_stream_input_offset(r);
			if (!in_run) {
				in_run = 1;
				run_first = f->n_ext;
			}
			if (e.size == 0)
				break;
			if (f->n_ext > run_first && f->ext[f->n_ext - 1].off +
			    f->ext[f->n_ext - 1].len == off) {
				f->ext[f->n_ext - 1].len += e.size;
				break;
			}
			if (ocis__grow((void **)&f->ext, &f->cap_ext, f->n_ext + 1, sizeof(*f->ext),
				 err) < 0)
				goto out;
			f->ext[f->n_ext].off = off;
			f->ext[f->n_ext].len = e.size;
			f->n_ext++;
			break;
		}
		case OCIS_ENTRY_BLOB:
		case OCIS_ENTRY_LAYER:
			if (!e.layer_ref || e.kind == OCIS_ENTRY_BLOB) {
				struct blob *b;
				if (ocis__grow((void **)&f->blobs, &f->cap_blobs, f->n_blobs + 1,
					 sizeof(*f->blobs), err) < 0)
					goto out;
				b = &f->blobs[f->n_blobs];
				memcpy(b->digest, e.layer->digest, sizeof(b->digest));
				b->first = in_run ? run_first : f->n_ext;
				b->n = in_run ? f->n_ext - run_first : 0;
				in_run = 0;
				if (ocis__dix_add(&f->blob_index, f->blobs, sizeof(*f->blobs),
						  f->n_blobs, err) < 0)
					goto out;
				f->n_blobs++;
			}
			if (e.kind == OCIS_ENTRY_LAYER) {
				if (ocis_layer_list_push(&f->layers, e.layer, err) < 0)
					goto out;
				cur.n++;
			}
			break;
		case OCIS_ENTRY_CONFIG: {
			struct ocis_config c;
			ocis_config_init(&c);
			if (ocis_config_from_json(&c, (const char *)e.data, (size_t)e.size,
						  err) < 0) {
				ocis_config_release(&c);
				ocis_error_wrap(err, "image config");
				goto out;
			}
			ocis_buf_reset(&cur.config);
			if (dup_str(&cur.arch, c.architecture, err) < 0 ||
			    dup_str(&cur.os, c.os, err) < 0 ||
			    dup_str(&cur.variant, c.variant, err) < 0 ||
			    ocis_buf_add(&cur.config, e.data, (size_t)e.size, err) < 0) {
				ocis_config_release(&c);
				goto out;
			}
			ocis_config_release(&c);
			break;
		}
		case OCIS_ENTRY_MANIFEST:
			if (ocis__grow((void **)&f->images, &f->cap_images, f->n_images + 1,
				 sizeof(*f->images), err) < 0)
				goto out;
			f->images[f->n_images++] = cur;
			memset(&cur, 0, sizeof(cur));
			cur.first = f->layers.n;
			break;
		case OCIS_ENTRY_ERROR:
			ocis_error_set(err, 0, "upstream stage failed: %.*s", (int)e.size,
				       (const char *)e.data);
			goto out;
		}
	}
	if (rc < 0)
		goto out;
	if (cur.n > 0 || cur.arch || f->n_images == 0) {
		if (ocis__grow((void **)&f->images, &f->cap_images, f->n_images + 1,
			 sizeof(*f->images), err) < 0)
			goto out;
		f->images[f->n_images++] = cur;
		memset(&cur, 0, sizeof(cur));
	}
	ret = 0;
out:
	free(cur.arch);
	free(cur.os);
	free(cur.variant);
	ocis_buf_release(&cur.config);
	ocis_stream_reader_free(r);
	return ret;
}

static int
image_matches(const struct flat *f, const struct image *im)
{
	const struct ocis_flatten_opts *o = f->o;

	if (o->arch && im->arch && strcmp(o->arch, im->arch) != 0)
		return 0;
	if (o->os && im->os && strcmp(o->os, im->os) != 0)
		return 0;
	if (o->variant && im->variant && strcmp(o->variant, im->variant) != 0)
		return 0;
	return 1;
}

static int
choose_image(struct flat *f, ocis_error_t **err)
{
	struct ocis_buf list = OCIS_BUF_INIT;
	size_t i, n = 0;

	for (i = 0; i < f->n_images; i++) {
		const struct image *im = &f->images[i];
		if (!image_matches(f, im))
			continue;
		n++;
		f->im = im;
		ocis_buf_addf(&list, NULL, "%s%zu (%s/%s%s%s)", list.len ? ", " : "", i + 1,
			      im->os ? im->os : "?", im->arch ? im->arch : "?",
			      im->variant ? "/" : "", im->variant ? im->variant : "");
	}
	if (n == 1) {
		ocis_buf_release(&list);
		for (i = 0; i < f->im->n; i++)
			if (find_blob(f, f->layers.v[f->im->first + i].digest) == NULL) {
				return ocis_error_set(err, 0, "layer %s is not in the input",
						      f->layers.v[f->im->first + i].digest);
			}
		if (f->im->n > MAX_LAYERS)
			return ocis_error_set(err, 0, "more than %d layers", MAX_LAYERS);
		return 0;
	}
	if (n == 0)
		ocis_error_set(err, 0, "no image of the input matches the platform asked for");
	else
		ocis_error_set(err, 0, "the input holds several images, choose one with --arch, "
			       "--os or --variant: %s", (char *)list.data);
	ocis_buf_release(&list);
	return -1;
}

/* --- reading one layer ---------------------------------------------------- */

static ssize_t
blob_read(void *ctx, void *buf, size_t len)
{
	struct flat *f = ctx;
	const struct extent *x;
	uint64_t want;
	ssize_t n;

	while (f->cur_ext < f->cur_blob->n) {
		x = &f->ext[f->cur_blob->first + f->cur_ext];
		if (f->cur_done == x->len) {
			f->cur_ext++;
			f->cur_done = 0;
			continue;
		}
		want = x->len - f->cur_done;
		if (want > len)
			want = len;
		n = pread(f->in_fd, buf, (size_t)want, (off_t)(x->off + f->cur_done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;	/* the file became shorter */
			return -1;
		}
		f->cur_done += (uint64_t)n;
		return n;
	}
	return 0;
}

/* A warning through the caller's callback. */
#define fwarn(f, ...) ocis__warnf((f)->o->warn, (f)->o->cb_ctx, __VA_ARGS__)

static void
layer_tap(void *ctx, const void *buf, size_t len)
{
	struct flat *f = ctx;

	ocis_hash_update(&f->cur_hash, buf, len);
	f->cur_tar_bytes += len;
}

/* Layers come from other tools too: read them with the leniency of
 * ocis_tarin's layer_blob (empty is fine, warnings are warnings).  The
 * uncompressed tar is hashed on the way, for its diff_id. */
static int
open_layer(struct flat *f, size_t li, struct ocis_tarin **out, ocis_error_t **err)
{
	const struct ocis_layer_desc *l = &f->layers.v[f->im->first + li];
	struct ocis_tarin_opts o = {
		.what = f->cur_what, .layer_blob = 1,
		.warn = f->o->warn, .cb_ctx = f->o->cb_ctx,
		.tap = layer_tap, .tap_ctx = f,
	};

	f->cur_blob = find_blob(f, l->digest);
	f->cur_ext = 0;
	f->cur_done = 0;
	snprintf(f->cur_what, sizeof(f->cur_what), "layer %zu (%s)", li + 1, l->digest);
	if (f->cur_hashing)
		ocis_hash_release(&f->cur_hash);
	f->cur_hashing = 0;
	f->cur_tar_bytes = 0;
	if (ocis_hash_init(&f->cur_hash, err) < 0)
		return -1;
	f->cur_hashing = 1;
	return ocis_tarin_open(out, blob_read, f, &o, err);
}

/* The layer was read to its end: is it the one the config names?  A
 * client checks the diff_id (umoci: "diffid mismatch"); the tree of
 * another layer would be a lie.  A layer written without one (an empty
 * diff_id) has nothing to check.  Both passes check: pass 2 before
 * anything is written, pass 3 because the file is read again and is
 * what the output comes from. */
static int
check_diff_id(struct flat *f, size_t li, ocis_error_t **err)
{
	const struct ocis_layer_desc *l = &f->layers.v[f->im->first + li];
	char got[OCIS_DIGEST_STR_SIZE];
	int r;

	f->cur_hashing = 0;
	r = ocis_hash_final(&f->cur_hash, got, err);
	ocis_hash_release(&f->cur_hash);
	if (r < 0)
		return -1;
	if (l->diff_id[0] != 0 && strcmp(got, l->diff_id) != 0)
		return ocis_error_set(err, 0, "%s: its uncompressed content is %s, not the "
				      "diff_id %s of the image config", f->cur_what, got,
				      l->diff_id);
	if (l->uncompressed_size != 0 && f->cur_tar_bytes != l->uncompressed_size)
		return ocis_error_set(err, 0, "%s: %" PRIu64 " bytes uncompressed, not %" PRIu64,
				      f->cur_what, f->cur_tar_bytes, l->uncompressed_size);
	return 0;
}

/* --- entries ---------------------------------------------------------------- */

enum ekind { E_NORMAL, E_WHITEOUT, E_OPAQUE, E_IGNORE, E_BAD };

/* What the entry whose normalised name is in f->path is: a plain entry,
 * a whiteout or an opaque directory marker (or one to ignore); for whiteouts
 * f->path becomes the name they act on (the removed path, or the opaque
 * directory).  E_BAD, with *why, for a name no layer can mean: a
 * whiteout of "", "." or "..", or an entry below a whiteout (".wh.x/y":
 * the whiteout is no directory, and a tar reader would make one). */
static enum ekind
whiteout_kind(struct flat *f, const char **why)
{
	char *p = (char *)f->path.data;
	char *slash = strrchr(p, '/');
	char *base = slash ? slash + 1 : p;
	size_t dir_len = slash ? (size_t)(slash - p) : 0;

	*why = "below a whiteout";
	/* ".wh." at the start of a directory component; one scan of the
	 * directory part, not a call per component (2000-level names) */
	if (ocis__wh_component(p, (size_t)(base - p)) != NULL)
		return E_BAD;
	if (strncmp(base, ".wh.", 4) != 0)
		return E_NORMAL;
	if (strcmp(base, ".wh..wh..opq") == 0) {
		f->path.len = dir_len;
		p[dir_len] = 0;
		return E_OPAQUE;
	}
	*why = "a whiteout of nothing, '.' or '..'";
	if (base[4] == 0 || !strcmp(base + 4, ".") || !strcmp(base + 4, ".."))
		return E_BAD;
	if (strncmp(base, ".wh..wh.", 8) == 0)
		return E_IGNORE;
	/* "d/.wh.x" -> "d/x" */
	memmove(base, base + 4, strlen(base + 4) + 1);
	f->path.len -= 4;
	return E_WHITEOUT;
}

/* The node of path p, made (with its ancestors) when missing. */
static int
node_get(struct flat *f, const char *p, size_t len, uint32_t *id, ocis_error_t **err)
{
	size_t n0 = ocis_pathtab_count(&f->tab), n;

	if (ocis_pathtab_walk(&f->tab, &f->walk, p, len, 1, err) < 0)
		return -1;
	n = ocis_pathtab_count(&f->tab);
	if (n > n0) {
		if (ocis__grow((void **)&f->nodes, &f->cap_nodes, n, sizeof(*f->nodes), err) < 0)
			return -1;
		memset(f->nodes + n0, 0, (n - n0) * sizeof(*f->nodes));
	}
	*id = ocis_pathtab_walk_node(&f->walk);
	return 0;
}

/* The largest kill_desc of the proper ancestors of node id, the root
 * included: up its parents, O(depth). */
static unsigned
ancestors_kill(const struct flat *f, uint32_t id)
{
	unsigned k = 0;
	uint32_t x;

	for (x = ocis_pathtab_parent(&f->tab, id); x != OCIS_PATHTAB_NONE;
	     x = ocis_pathtab_parent(&f->tab, x))
		if (f->nodes[x].kill_desc > k)
			k = f->nodes[x].kill_desc;
	return k;
}

static int
is_live(const struct flat *f, uint32_t id)
{
	const struct node *n = id != OCIS_PATHTAB_NONE ? &f->nodes[id] : NULL;

	return n != NULL && n->last_seq != 0 && n->kill_self <= n->last_layer &&
	       ancestors_kill(f, id) <= n->last_layer;
}

static struct link_rec *
link_by_seq(const struct flat *f, uint32_t seq)
{
	size_t lo = 0, hi = f->n_links;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (f->links[mid].seq == seq)
			return &f->links[mid];
		if (f->links[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void
raise16(uint16_t *v, unsigned layer)
{
	if (*v < layer)
		*v = (uint16_t)layer;
}

/* An entry's names through the intake (a layer's name rules); its path
 * into f->path, which whiteout_kind() rewrites for whiteouts. */
static int
take_names(struct flat *f, struct archive_entry *ae, struct ocis_intake_entry *e,
	   ocis_error_t **err)
{
	if (ocis_intake_names(&f->intake, ae, e, err) < 0)
		return -1;
	ocis_buf_reset(&f->path);
	return ocis_buf_add(&f->path, e->path, e->len, err);
}

/* A hardlink entry numbered seq: its target must be live and not a
 * directory; the record points at the target's first copy (a link to
 * a link resolves to what that one names), so pass 3 writes one body. */
static int
record_hardlink(struct flat *f, size_t li, const struct ocis_intake_entry *e,
		const char *raw, const char *hl, uint32_t seq, ocis_error_t **err)
{
	const struct node *t;
	struct link_rec *lr;
	uint32_t tseq, tid;
	char s1[256], s2[256];

	tid = ocis_pathtab_find(&f->tab, e->link, e->link_len);
	if (!is_live(f, tid)) {
		ocis_error_set(err, 0, "layer %zu: hardlink '%s' to '%s', which is "
			       "not in the tree", li + 1, ocis__safe_name(raw, s1, sizeof(s1)),
			       ocis__safe_name(hl, s2, sizeof(s2)));
		return -1;
	}
	t = &f->nodes[tid];
	if (t->is_dir) {
		ocis_error_set(err, 0, "layer %zu: hardlink '%s' to '%s', which is "
			       "a directory", li + 1, ocis__safe_name(raw, s1, sizeof(s1)),
			       ocis__safe_name(hl, s2, sizeof(s2)));
		return -1;
	}
	tseq = t->last_seq;
	if (t->is_link) {
		const struct link_rec *tl = link_by_seq(f, tseq);
		if (tl == NULL) {
			ocis_error_set(err, 0, "internal: lost hardlink record");
			return -1;
		}
		tseq = tl->target_seq;
	}
	if (ocis__grow((void **)&f->links, &f->cap_links, f->n_links + 1,
		       sizeof(*f->links), err) < 0)
		return -1;
	lr = &f->links[f->n_links];
	lr->seq = seq;
	lr->target_seq = tseq;
	lr->layer = (uint16_t)(li + 1);
	lr->path = strdup((char *)f->path.data);
	if (lr->path == NULL) {
		ocis_error_oom(err);
		return -1;
	}
	f->n_links++;
	return 0;
}

/* Pass 2: the index. */
static int
index_layer(struct flat *f, size_t li, uint32_t *seq, ocis_error_t **err)
{
	struct ocis_tarin *a;
	struct archive_entry *ae;
	unsigned layer = (unsigned)li + 1;
	int r, ret = -1;
	char s1[256];
	const char *why;

	if (open_layer(f, li, &a, err) < 0)
		return -1;
	while ((r = ocis_tarin_next(a, &ae, err)) > 0) {
		const char *raw = archive_entry_pathname(ae), *hl;
		struct ocis_intake_entry e;
		struct node *n;
		enum ekind k;
		uint32_t id;
		uint8_t *fl;

		f->st->entries_in++;
		if (raw == NULL) {
			ocis_error_set(err, 0, "layer %zu: entry without a name", li + 1);
			goto out;
		}
		if (take_names(f, ae, &e, err) < 0)
			goto fail_entry;
		k = whiteout_kind(f, &why);
		if (k == E_IGNORE)
			continue;
		if (k == E_BAD) {
			ocis_error_set(err, 0, "layer %zu: entry '%s' is %s", li + 1,
				       ocis__safe_name(raw, s1, sizeof(s1)), why);
			goto out;
		}
		if (node_get(f, (char *)f->path.data, f->path.len, &id, err) < 0)
			goto fail_entry;
		n = &f->nodes[id];	/* until the next node_get */
		fl = ocis_pathtab_flags(&f->tab, id);
		if (!(*fl & N_TOUCHED)) {
			*fl |= N_TOUCHED;
			f->n_paths++;
		}
		if (k == E_OPAQUE) {
			raise16(&n->kill_desc, layer);
			continue;
		}
		if (k == E_WHITEOUT) {
			raise16(&n->kill_self, layer);
			raise16(&n->kill_desc, layer);
			continue;
		}
		if (*seq == UINT32_MAX) {
			ocis_error_set(err, 0, "more than %u entries", UINT32_MAX - 1);
			goto out;
		}
		++*seq;
		hl = archive_entry_hardlink(ae);
		if (hl != NULL && record_hardlink(f, li, &e, raw, hl, *seq, err) < 0)
			goto out;
		n->last_seq = *seq;
		n->last_layer = (uint16_t)layer;
		n->is_link = hl != NULL;
		n->is_dir = hl == NULL && archive_entry_filetype(ae) == AE_IFDIR;
		if (!n->is_dir && f->path.len == 0) {
			/* "./" as a file or symlink: the tree would have no root */
			ocis_error_set(err, 0, "layer %zu: entry '%s' is the root, and not a "
				       "directory", li + 1, ocis__safe_name(raw, s1, sizeof(s1)));
			goto out;
		}
		if (!n->is_dir)
			raise16(&n->kill_desc, layer);
	}
	if (r == 0 && check_diff_id(f, li, err) == 0)
		ret = 0;
	goto out;
fail_entry:
	ocis_error_wrap(err, "layer %zu, entry '%s'", li + 1,
			ocis__safe_name(archive_entry_pathname(ae), s1, sizeof(s1)));
out:
	ocis_tarin_free(a);
	return ret;
}

/* qsort_r (glibc, musl): no global, as oci-diff flattens on a thread */
static int
by_target_cmp(const void *a, const void *b, void *links)
{
	const struct link_rec *x = (const struct link_rec *)links + *(const size_t *)a;
	const struct link_rec *y = (const struct link_rec *)links + *(const size_t *)b;

	if (x->target_seq != y->target_seq)
		return x->target_seq < y->target_seq ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int
index_links(struct flat *f, ocis_error_t **err)
{
	size_t i;

	if (f->n_links == 0)
		return 0;
	f->by_target = malloc(f->n_links * sizeof(*f->by_target));
	f->tstate = calloc(f->n_links, sizeof(*f->tstate));
	if (f->by_target == NULL || f->tstate == NULL)
		return ocis_error_oom(err);
	for (i = 0; i < f->n_links; i++)
		f->by_target[i] = i;
	qsort_r(f->by_target, f->n_links, sizeof(*f->by_target), by_target_cmp, f->links);
	return 0;
}

/* After pass 2, what pass 3 asks of every entry's ancestors, per node, in
 * one pass over the nodes (a parent's id is below its children's): the
 * largest kill_desc of its proper ancestors, the root included
 * (anc_kill), and whether one of them is in the merged tree as something
 * else than a directory (N_UNDER_FILE).  Up the parents for each entry
 * instead was a loop as long as the depth, twice an entry. */
static int
index_ancestors(struct flat *f, ocis_error_t **err)
{
	size_t n = ocis_pathtab_count(&f->tab), id;

	f->anc_kill = malloc(n * sizeof(*f->anc_kill));
	if (f->anc_kill == NULL)
		return ocis_error_oom(err);
	f->anc_kill[OCIS_PATHTAB_ROOT] = 0;
	for (id = OCIS_PATHTAB_ROOT + 1; id < n; id++) {
		uint32_t p = ocis_pathtab_parent(&f->tab, (uint32_t)id);
		const struct node *x = &f->nodes[p];
		uint16_t k = f->anc_kill[p];

		f->anc_kill[id] = x->kill_desc > k ? x->kill_desc : k;
		if ((*ocis_pathtab_flags(&f->tab, p) & N_UNDER_FILE) ||
		    (p != OCIS_PATHTAB_ROOT && x->last_seq != 0 && !x->is_dir &&
		     x->kill_self <= x->last_layer && k <= x->last_layer))
			*ocis_pathtab_flags(&f->tab, (uint32_t)id) |= N_UNDER_FILE;
	}
	return 0;
}

/* Position in by_target of the first link to target seq t, or n_links. */
static size_t
target_group(const struct flat *f, uint32_t t)
{
	size_t lo = 0, hi = f->n_links;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (f->links[f->by_target[mid]].target_seq < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < f->n_links && f->links[f->by_target[lo]].target_seq == t)
		return lo;
	return f->n_links;
}

static int
survives(struct flat *f, const char *p, size_t len, uint32_t seq, unsigned layer, int *live,
	 ocis_error_t **err)
{
	const struct node *n;
	uint32_t id;
	int r;

	/* through the walk of the names written: emit() walks the same
	 * name next, at the cost of a compare */
	if ((r = ocis_pathtab_walk(&f->tab, &f->ewalk, p, len, 0, err)) < 0)
		return -1;
	id = ocis_pathtab_walk_node(&f->ewalk);
	n = &f->nodes[id];
	*live = r == 1 && n->last_seq == seq && n->kill_self <= layer &&
		f->anc_kill[id] <= layer;
	return 0;
}

/* --- output ----------------------------------------------------------------- */

static int
out_flush(struct flat *f, ocis_error_t **err)
{
	if (f->olen == 0)
		return 0;
	if (ocis_write_full(f->out_fd, f->obuf, f->olen, err) < 0)
		return ocis_error_wrap(err, "writing the tar");
	f->olen = 0;
	return 0;
}

static int
out_add(struct flat *f, const void *data, size_t len, ocis_error_t **err)
{
	f->st->bytes_out += len;
	if (len >= OUT_BUF / 2) {
		if (out_flush(f, err) < 0)
			return -1;
		if (ocis_write_full(f->out_fd, data, len, err) < 0)
			return ocis_error_wrap(err, "writing the tar");
		return 0;
	}
	if (f->olen + len > OUT_BUF && out_flush(f, err) < 0)
		return -1;
	memcpy(f->obuf + f->olen, data, len);
	f->olen += len;
	return 0;
}

static int
out_zeros(struct flat *f, uint64_t n, ocis_error_t **err)
{
	while (n > 0) {
		size_t k = n > OUT_BUF ? OUT_BUF : (size_t)n;
		if (out_add(f, f->zeros, k, err) < 0)
			return -1;
		n -= k;
	}
	return 0;
}

static int
data_out(void *ctx, const void *buf, size_t len, ocis_error_t **err)
{
	return out_add(ctx, buf, len, err);
}

static int
zeros_out(void *ctx, uint64_t n, ocis_error_t **err)
{
	return out_zeros(ctx, n, err);
}

/* The entry's data (holes as zeros), then its padding. */
static int
copy_data(struct flat *f, struct ocis_tarin *a, uint64_t size, ocis_error_t **err)
{
	const struct ocis_tarin_sink s = { data_out, zeros_out, f };

	if (ocis_tarin_copy_data(a, size, &s, err) < 0)
		return -1;
	return out_zeros(f, ocis__pad512(size), err);
}

/* Output name of a normalised path: directories get "/", the root "./". */
static int
out_name(struct flat *f, const char *p, int is_dir, ocis_error_t **err)
{
	ocis_buf_reset(&f->out_name);
	if (*p == 0)
		return ocis_buf_addstr(&f->out_name, "./", err);
	if (ocis_buf_addstr(&f->out_name, p, err) < 0)
		return -1;
	return is_dir ? ocis_buf_add(&f->out_name, "/", 1, err) : 0;
}

/* Is name p below something else than a directory in the merged tree?
 * 0 when not, else the error, naming the deepest such ancestor.  Only
 * for the rare names N_UNDER_FILE marks (a loop as long as the depth). */
static int
below_file(struct flat *f, const char *p, size_t len, ocis_error_t **err)
{
	struct ocis_pathtab_walk *w = &f->ewalk;
	size_t i, k = 0;
	char s1[256];
	int r;

	if ((r = ocis_pathtab_walk(&f->tab, w, p, len, 0, err)) < 0)
		return -1;
	for (i = 0; i + (r == 1) < w->n; i++) {	/* the proper ancestors */
		const struct node *x = &f->nodes[w->ids[i]];
		if (x->last_seq != 0 && !x->is_dir && x->kill_self <= x->last_layer &&
		    f->anc_kill[w->ids[i]] <= x->last_layer)
			k = w->ends[i];
	}
	if (k == 0)
		return 0;
	return ocis_error_set(err, 0, "it is below '%s', which the layers make "
			      "a symlink or another non-directory",
			      ocis__safe_name(p, s1, k + 1 < sizeof(s1) ? k + 1 : sizeof(s1)));
}

static int
emit(struct flat *f, struct ocis_tarin *a, struct ocis_pax_entry *pe, const char *name,
     ocis_error_t **err)
{
	size_t len = strlen(name);
	int r;

	/* "a" a symlink (to /etc, say) or a file and "a/passwd" both in the
	 * tree: a tar of them, unpacked, writes through the symlink or fails.
	 * umoci and containerd resolve such a name inside the rootfs; the
	 * layers are refused here, as oci-layer refuses a name below an
	 * earlier symlink of its input.  (survives() walked the name last:
	 * the walk costs a compare.) */
	if ((r = ocis_pathtab_walk(&f->tab, &f->ewalk, name, len, 0, err)) < 0)
		return -1;
	if ((r != 1 || (*ocis_pathtab_flags(&f->tab, ocis_pathtab_walk_node(&f->ewalk)) &
			N_UNDER_FILE)) && below_file(f, name, len, err) < 0)
		return -1;
	if (f->each != NULL) {
		pe->path = name;
		if (f->each(f->each_ctx, pe, a, err) < 0)
			return -1;
		f->st->entries_out++;
		return 0;
	}
	if (out_name(f, name, pe->type == '5', err) < 0)
		return -1;
	pe->path = (const char *)f->out_name.data;
	ocis_buf_reset(&f->hdr);
	if (ocis_pax_encode_header(pe, &f->hdr, err) < 0 ||
	    out_add(f, f->hdr.data, f->hdr.len, err) < 0)
		return -1;
	if (pe->type == '0' && copy_data(f, a, pe->size, err) < 0)
		return -1;
	f->st->entries_out++;
	if (f->o->on_entry)
		f->o->on_entry(f->o->cb_ctx, pe->path);
	return 0;
}

/* Pass 3: write what survives. */
static int
emit_layer(struct flat *f, size_t li, uint32_t *seq, ocis_error_t **err)
{
	struct ocis_tarin *a;
	struct archive_entry *ae;
	unsigned layer = (unsigned)li + 1;
	int r, ret = -1;
	char s1[256];
	const char *why;

	if (open_layer(f, li, &a, err) < 0)
		return -1;
	while ((r = ocis_tarin_next(a, &ae, err)) > 0) {
		struct ocis_intake_entry e;
		struct ocis_pax_entry pe;
		struct link_rec *lr = NULL;
		int live;
		size_t g;

		if (take_names(f, ae, &e, err) < 0)
			goto changed;
		if (whiteout_kind(f, &why) != E_NORMAL)
			continue;
		++*seq;
		/* a socket (0) comes as type 0: dropped below, with a warning
		 * when it survives */
		if (ocis_intake_meta(&f->intake, ae, &e, err) < 0)
			goto fail_entry;
		pe = e.pe;
		if (survives(f, (char *)f->path.data, f->path.len, *seq, layer, &live, err) < 0)
			goto fail_entry;
		if (pe.type == '1') {
			const struct target_state *ts;

			lr = link_by_seq(f, *seq);
			if (lr == NULL)
				goto changed;
			if (!live)
				continue;
			g = target_group(f, lr->target_seq);
			ts = g < f->n_links ? &f->tstate[g] : NULL;
			if (ts == NULL || !ts->resolved || ts->name == NULL)
				goto changed;
			if (ts->carrier_seq == *seq)
				continue;	/* written with the data already */
			pe.linkname = ts->name;
			if (emit(f, a, &pe, (char *)f->path.data, err) < 0)
				goto fail_entry;
			continue;
		}
		if (pe.type == 0) {
			if (live)
				fwarn(f, "entry '%s': sockets cannot be stored in a tar; dropped",
				      ocis__safe_name(e.raw, s1, sizeof(s1)));
			continue;
		}
		g = f->n_links ? target_group(f, *seq) : f->n_links;
		if (g < f->n_links) {
			/* a hardlink target: where its data goes */
			struct target_state *ts = &f->tstate[g];
			const char *name = NULL;
			size_t i;

			ts->resolved = 1;
			if (live) {
				name = (char *)f->path.data;
			} else {
				for (i = g; i < f->n_links &&
				     f->links[f->by_target[i]].target_seq == *seq; i++) {
					const struct link_rec *c = &f->links[f->by_target[i]];
					int c_live;

					if (survives(f, c->path, strlen(c->path), c->seq, c->layer,
						     &c_live, err) < 0)
						goto fail_entry;
					if (c_live) {
						name = c->path;
						ts->carrier_seq = c->seq;
						break;
					}
				}
			}
			if (name != NULL && (ts->name = strdup(name)) == NULL) {
				ocis_error_oom(err);
				goto out;
			}
			if (name == NULL)
				continue;
			if (emit(f, a, &pe, name, err) < 0)
				goto fail_entry;
			continue;
		}
		if (!live)
			continue;
		if (emit(f, a, &pe, (char *)f->path.data, err) < 0)
			goto fail_entry;
	}
	if (r == 0 && check_diff_id(f, li, err) == 0)
		ret = 0;
	goto out;
changed:
	if (!(err && *err))
		ocis_error_set(err, 0, "%s reads differently the second time (did "
			       "the input file change?)", f->cur_what);
	goto out;
fail_entry:
	ocis_error_wrap(err, "layer %zu, entry '%s'", li + 1,
			ocis__safe_name(archive_entry_pathname(ae), s1, sizeof(s1)));
out:
	ocis_tarin_free(a);
	return ret;
}

/* Drop the index of passes 2 and 3 (a run starts from a clean one). */
static void
flat_clear_index(struct flat *f)
{
	size_t i;

	if (f->tab_ready)
		ocis_pathtab_release(&f->tab);
	f->tab_ready = 0;
	ocis_pathtab_walk_reset(&f->walk);
	ocis_pathtab_walk_reset(&f->ewalk);
	free(f->nodes);
	f->nodes = NULL;
	f->cap_nodes = 0;
	free(f->anc_kill);
	f->anc_kill = NULL;
	f->n_paths = 0;
	for (i = 0; i < f->n_links; i++) {
		free(f->links[i].path);
		if (f->tstate)
			free(f->tstate[i].name);
	}
	free(f->links);
	free(f->by_target);
	free(f->tstate);
	f->links = NULL;
	f->n_links = f->cap_links = 0;
	f->by_target = NULL;
	f->tstate = NULL;
}

static void
flat_release(struct flat *f)
{
	size_t i;

	if (f->cur_hashing)
		ocis_hash_release(&f->cur_hash);
	free(f->ext);
	free(f->blobs);
	free(f->blob_index.slots);
	ocis_layer_list_clear(&f->layers);
	for (i = 0; i < f->n_images; i++) {
		free(f->images[i].arch);
		free(f->images[i].os);
		free(f->images[i].variant);
		ocis_buf_release(&f->images[i].config);
	}
	free(f->images);
	flat_clear_index(f);
	ocis_pathtab_walk_release(&f->walk);
	ocis_pathtab_walk_release(&f->ewalk);
	free(f->obuf);
	free(f->zeros);
	ocis_intake_release(&f->intake);
	ocis_buf_release(&f->path);
	ocis_buf_release(&f->link);
	ocis_buf_release(&f->hdr);
	ocis_buf_release(&f->out_name);
}

/* Check the input, pass 1, choose the image: what every use needs once. */
static int
flat_open(struct flat *f, int in_fd, const struct ocis_flatten_opts *o,
	  struct ocis_flatten_stats *stats, ocis_error_t **err)
{
	struct stat sb;
	off_t pos;

	memset(f, 0, sizeof(*f));
	memset(stats, 0, sizeof(*stats));
	f->o = o;
	f->st = stats;
	f->in_fd = in_fd;
	{
		/* no warnings from the intake: only what survives the
		 * merge is worth one (below) */
		const struct ocis_intake_opts io = { .side = OCIS_INTAKE_LAYER };
		ocis_intake_init(&f->intake, &io);
	}
	f->out_fd = -1;
	if (fstat(in_fd, &sb) < 0)
		return ocis_error_set(err, errno, "input");
	pos = lseek(in_fd, 0, SEEK_CUR);
	if ((!S_ISREG(sb.st_mode) && !S_ISBLK(sb.st_mode)) || pos < 0)
		return ocis_error_set(err, 0, "the input must be a file, not a pipe (the image "
				      "is read more than once): save the stream or image "
				      "tarball to a file first");
	f->base_off = (uint64_t)pos;
	f->obuf = malloc(OUT_BUF);
	f->zeros = calloc(1, OUT_BUF);
	if (f->obuf == NULL || f->zeros == NULL)
		return ocis_error_oom(err);
	if (scan_stream(f, err) < 0 || choose_image(f, err) < 0)
		return -1;
	stats->layers = f->im->n;
	return 0;
}

/* Passes 2 and 3 into out_fd.  They only pread the input, and start from a
 * clean index, so they can run again on the same struct flat. */
static int
flat_run(struct flat *f, int out_fd, ocis_error_t **err)
{
	uint32_t seq1 = 0, seq2 = 0;
	size_t i;

	f->out_fd = out_fd;
	f->olen = 0;
	flat_clear_index(f);
	f->st->entries_in = f->st->entries_out = f->st->paths = f->st->bytes_out = 0;
	if (ocis_pathtab_init(&f->tab, err) < 0)
		return -1;
	f->tab_ready = 1;
	if (ocis__grow((void **)&f->nodes, &f->cap_nodes, 1, sizeof(*f->nodes), err) < 0)
		return -1;
	memset(f->nodes, 0, sizeof(*f->nodes));	/* the root */

	for (i = 0; i < f->im->n; i++)
		if (index_layer(f, i, &seq1, err) < 0)
			return -1;
	f->st->paths = f->n_paths;
	if (index_links(f, err) < 0 || index_ancestors(f, err) < 0)
		return -1;
	for (i = 0; i < f->im->n; i++)
		if (emit_layer(f, i, &seq2, err) < 0)
			return -1;
	f->st->lookups = f->tab.lookups;
	if (seq1 != seq2)
		return ocis_error_set(err, 0, "the layers read differently the second time (did "
				      "the input file change?)");
	if (f->each == NULL && (out_zeros(f, 2 * OCIS_BLOCK, err) < 0 || out_flush(f, err) < 0))
		return -1;
	return 0;
}

int
ocis_flatten(int in_fd, int out_fd, const struct ocis_flatten_opts *o,
	     struct ocis_flatten_stats *stats, ocis_error_t **err)
{
	struct ocis_flatten_stats st_local;
	struct flat f;
	int ret = -1;

	if (flat_open(&f, in_fd, o, stats ? stats : &st_local, err) == 0 &&
	    flat_run(&f, out_fd, err) == 0)
		ret = 0;
	flat_release(&f);
	return ret;
}

/* --- an image as a lower rootfs (oci-diff) ----------------------------------- */

struct ocis_flatten_src {
	struct flat f;
	struct ocis_flatten_stats st;
	pthread_t tid;
	int running;		/* tid is to be joined */
	int rfd;		/* read end handed out, or -1 */
	int wfd;		/* write end, the thread's */
	int rc;			/* result of the last run */
	ocis_error_t *err;	/* a failure of a run (not the reader going away) */
	ocis_error_t *run_err;
};

int
ocis_flatten_src_new(struct ocis_flatten_src **out, int in_fd, const struct ocis_flatten_opts *o,
		     ocis_error_t **err)
{
	struct ocis_flatten_src *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (s == NULL)
		return ocis_error_oom(err);
	s->rfd = s->wfd = -1;
	if (flat_open(&s->f, in_fd, o, &s->st, err) < 0) {
		flat_release(&s->f);
		free(s);
		return -1;
	}
	*out = s;
	return 0;
}

size_t
ocis_flatten_src_layers(const struct ocis_flatten_src *s)
{
	return s->f.im->n;
}

/* One blob of the input into a chunk run of w. */
static int
copy_blob(struct flat *f, const struct blob *b, struct ocis_stream_writer *w, ocis_error_t **err)
{
	size_t i;

	/* one chunk at least: a run of none would read as a reference */
	if (b->n == 0)
		return ocis_stream_write_chunk(w, "", 0, err);
	for (i = 0; i < b->n; i++) {
		const struct extent *x = &f->ext[b->first + i];
		uint64_t done = 0;

		while (done < x->len) {
			uint64_t want = x->len - done;
			size_t got = 0;
			ssize_t n;

			if (want > OUT_BUF)
				want = OUT_BUF;
			while (got < want) {
				n = pread(f->in_fd, f->obuf + got, (size_t)want - got,
					  (off_t)(x->off + done + got));
				if (n < 0 && errno == EINTR)
					continue;
				if (n <= 0)
					return ocis_error_set(err, n < 0 ? errno : EIO, "blob %s",
							      b->digest);
				got += (size_t)n;
			}
			if (ocis_stream_write_chunk(w, f->obuf, got, err) < 0)
				return -1;
			done += got;
		}
	}
	return 0;
}

int
ocis_flatten_src_copy_image(struct ocis_flatten_src *s, struct ocis_stream_writer *w,
			    ocis_error_t **err)
{
	struct flat *f = &s->f;
	size_t i, j;

	for (i = 0; i < f->im->n; i++) {
		const struct ocis_layer_desc *l = &f->layers.v[f->im->first + i];

		/* a blob the image uses twice is carried once, then referred to */
		for (j = 0; j < i; j++)
			if (strcmp(f->layers.v[f->im->first + j].digest, l->digest) == 0)
				break;
		if (j == i && copy_blob(f, find_blob(f, l->digest), w, err) < 0)
			return ocis_error_wrap(err, "copying layer %zu", i + 1);
		if (ocis_stream_write_layer(w, l, err) < 0)
			return -1;
	}
	if (f->im->config.len > 0 &&
	    ocis_stream_write_entry(w, "config.json", f->im->config.data, f->im->config.len,
				    err) < 0)
		return -1;
	return 0;
}

static void *
src_thread(void *arg)
{
	struct ocis_flatten_src *s = arg;

	s->rc = flat_run(&s->f, s->wfd, &s->run_err);
	/* the end of the tar, or of a failed one (the reader sees it cut) */
	close(s->wfd);
	s->wfd = -1;
	return NULL;
}

/* Close the read end handed out last, wait for its run, keep its error
 * unless the run only failed because the reader went away. */
static void
src_end_run(struct ocis_flatten_src *s)
{
	if (s->rfd >= 0)
		close(s->rfd);
	s->rfd = -1;
	if (!s->running)
		return;
	pthread_join(s->tid, NULL);
	s->running = 0;
	if (s->rc < 0 && s->err == NULL && !(s->run_err && s->run_err->code == EPIPE)) {
		s->err = s->run_err;
		s->run_err = NULL;
	}
	ocis_error_free(&s->run_err);
}

int
ocis_flatten_src_start(struct ocis_flatten_src *s, int *fd, ocis_error_t **err)
{
	sigset_t all, old;
	int p[2], r;

	src_end_run(s);
	if (s->err != NULL)
		return ocis_error_set(err, s->err->code, "%s", s->err->msg);
	if (pipe2(p, O_CLOEXEC) < 0)
		return ocis_error_set(err, errno, "pipe");
	s->rfd = p[0];
	s->wfd = p[1];
	/* Library threads block all signals: a write to a closed pipe fails
	 * with EPIPE instead of killing the process. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&s->tid, NULL, src_thread, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		close(p[0]);
		close(p[1]);
		s->rfd = s->wfd = -1;
		return ocis_error_set(err, r, "cannot start the flattening thread");
	}
	s->running = 1;
	*fd = s->rfd;
	return 0;
}

int
ocis_flatten_src_each(struct ocis_flatten_src *s, ocis_flatten_entry_fn fn, void *ctx,
		      ocis_error_t **err)
{
	int r;

	src_end_run(s);
	if (s->err != NULL)
		return ocis_error_set(err, s->err->code, "%s", s->err->msg);
	s->f.each = fn;
	s->f.each_ctx = ctx;
	r = flat_run(&s->f, -1, err);
	s->f.each = NULL;
	s->f.each_ctx = NULL;
	return r;
}

int
ocis_flatten_src_free(struct ocis_flatten_src *s, ocis_error_t **err)
{
	int ret = 0;

	if (s == NULL)
		return 0;
	src_end_run(s);
	if (s->err != NULL) {
		ret = ocis_error_set(err, s->err->code, "%s", s->err->msg);
		ocis_error_free(&s->err);
	}
	flat_release(&s->f);
	free(s);
	return ret;
}

/* --- telling an image from a rootfs tar ------------------------------------- */

/* The first block of fd without consuming it: pread on a file; tee(2) on
 * a pipe (up to a block, waiting a little for a slow writer).  Returns the
 * bytes seen, 0 when nothing can be seen. */
static ssize_t
peek_block(int fd, const struct stat *sb, off_t pos, unsigned char *b)
{
	ssize_t n = 0;
	int p[2], tries;

	if (S_ISREG(sb->st_mode) || S_ISBLK(sb->st_mode)) {
		do
			n = pread(fd, b, OCIS_BLOCK, pos);
		while (n < 0 && errno == EINTR);
		return n < 0 ? 0 : n;
	}
	if (!S_ISFIFO(sb->st_mode) || pipe2(p, O_CLOEXEC) < 0)
		return 0;
	for (tries = 0; tries < 100; tries++) {
		ssize_t t = tee(fd, p[1], OCIS_BLOCK, 0), k;
		if (t < 0 && errno == EINTR)
			continue;
		if (t <= 0)
			break;	/* end of input, or not a pipe after all */
		for (n = 0; n < t && (k = read(p[0], b + n, (size_t)(t - n))) > 0; n += k)
			;
		if (n == OCIS_BLOCK)
			break;
		/* the writer has not written a block yet: look again */
		usleep(2000);
	}
	close(p[0]);
	close(p[1]);
	return n;
}

/* A member of an OCI image layout that only a layout has (not the root
 * directory, which every rootfs tar starts with). */
static int
layout_only_name(const char *n)
{
	n = ocis__layout_member_name(n);
	return n != NULL && *n && strcmp(n, ".") && strcmp(n, "./") &&
	       strcmp(n, "manifest.json") && strcmp(n, "repositories");
}

/* Headers the sniffer reads at most on a file (a rootfs tar that starts
 * like a layout is told by the names that follow). */
#define SNIFF_MAX_HEADERS 4096

int
ocis_flatten_sniff(int fd, enum ocis_input_kind *kind, ocis_error_t **err)
{
	unsigned char h[OCIS_BLOCK];
	char name[101], shown[128];
	struct stat sb;
	off_t pos;
	uint64_t off;
	int layout = 0, other = 0, marker = 0, index = 0, first = 1, pipe_only, n;

	*kind = OCIS_INPUT_ROOTFS;
	if (fstat(fd, &sb) < 0)
		return ocis_error_set(err, errno, "input");
	pipe_only = !S_ISREG(sb.st_mode) && !S_ISBLK(sb.st_mode);
	pos = pipe_only ? 0 : lseek(fd, 0, SEEK_CUR);
	if (pos < 0)
		pipe_only = 1, pos = 0;
	/* Headers only, from member to member: an image stream starts with
	 * "ocipipe/"; an image tarball starts with layout members (after
	 * optional pax headers and a root directory) and has an index.json or
	 * oci-layout.  A rootfs tar shows another name within a few entries;
	 * a compressed one has no tar header at all.  A tar that starts like
	 * a layout but holds other members too is an image when it has both
	 * oci-layout and index.json (a hostile or broken one: the image
	 * reader names the odd member), a rootfs otherwise.  On a pipe only
	 * the first block can be seen.  A docker-archive is refused: read as
	 * a rootfs, its files would be the lower tree. */
	for (off = (uint64_t)pos, n = 0; n < SNIFF_MAX_HEADERS; n++) {
		uint64_t size;

		if (pipe_only ? peek_block(fd, &sb, 0, h) != OCIS_BLOCK :
		    peek_block(fd, &sb, (off_t)off, h) != OCIS_BLOCK)
			break;
		if (ocis__block_is_zero(h) || !ocis__tar_checksum_ok(h) ||
		    memcmp(h + TH_MAGIC, "ustar", 5) != 0 ||
		    ocis__tar_size(h, &size) < 0)
			break;
		memcpy(name, h + TH_NAME, 100);
		name[100] = 0;
		if (h[TH_TYPE] != 'x' && h[TH_TYPE] != 'g') {
			if (first && h[TH_PREFIX] == 0 && ocis__docker_archive_name(name))
				return ocis_error_set(err, 0, "a docker-archive (first entry '%s'), "
						      "which ocipipe does not read: make it an OCI "
						      "archive with skopeo copy docker-archive:IN "
						      "oci-archive:OUT",
						      ocis__safe_name(name, shown, sizeof(shown)));
			first = 0;
			if (h[TH_PREFIX] == 0 &&
			    strncmp(name, OCIS_STREAM_DIR, strlen(OCIS_STREAM_DIR)) == 0) {
				*kind = OCIS_INPUT_IMAGE_STREAM;
				return 0;
			}
			if (pipe_only) {
				if (h[TH_PREFIX] == 0 && layout_only_name(name))
					*kind = OCIS_INPUT_IMAGE_TARBALL;
				return 0;
			}
			if (h[TH_PREFIX] != 0 || ocis__layout_member_name(name) == NULL) {
				if (!layout)
					return 0;
				other = 1;
			} else if (layout_only_name(name)) {
				const char *m = ocis__layout_member_name(name);
				layout = 1;
				marker |= !strcmp(m, "oci-layout");
				index |= !strcmp(m, "index.json");
			}
		} else if (pipe_only) {
			return 0;
		}
		if (S_ISREG(sb.st_mode) &&
		    ocis__tar_span(size) > (uint64_t)sb.st_size - off - OCIS_BLOCK)
			break;	/* a member past the end: the reader names it */
		off += OCIS_BLOCK + ocis__tar_span(size);
	}
	if (layout && (!other || (marker && index)))
		*kind = OCIS_INPUT_IMAGE_TARBALL;
	return 0;
}
