/* SPDX-License-Identifier: MIT */
/*
 * Base images in the image stream: see baseimage-private.h and
 * docs/image-stream.md.
 *
 * The archive's members come through the stream reader's framing
 * (stream-private.h): a JSON blob is held until the archive ends (the
 * index and manifests name each other in any order), any other blob
 * becomes a chunk run right away, so the layers pass through in bounded
 * memory like the stream's own.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ocistream/imageconfig.h>
#include <ocistream/index.h>
#include <ocistream/layerdesc.h>
#include <ocistream/manifest.h>
#include <ocistream/stream.h>

#include "baseimage-private.h"
#include "imagename-private.h"
#include "internal.h"
#include "layout-private.h"
#include "tarhdr-private.h"
#include "stream-private.h"

#define HELD_BLOB_MAX (4 * 1024 * 1024)		/* a JSON blob of a base image */
#define HELD_TOTAL_MAX (64 * 1024 * 1024)	/* all of them */

void
ocis__base_image_clear(struct ocis_stream_reader *r)
{
	size_t i;

	for (i = 0; i < r->n_held; i++)
		free(r->held[i].data);
	free(r->held);
	free(r->held_index.slots);
	memset(&r->held_index, 0, sizeof(r->held_index));
	r->held = NULL;
	r->n_held = r->cap_held = r->held_total = 0;
	ocis_buf_release(&r->layout_index);
	r->have_layout_index = 0;
	r->in_layout = 0;
}

int
ocis_stream_reader_set_base(struct ocis_stream_reader *r, const char *ref, const char *arch,
			    const char *os, const char *variant, ocis_error_t **err)
{
	char **dst[] = { &r->base_ref, &r->base_arch, &r->base_os, &r->base_variant };
	const char *src[] = { ref, arch, os, variant };
	size_t i;

	for (i = 0; i < 4; i++) {
		free(*dst[i]);
		*dst[i] = NULL;
		if (src[i] && (*dst[i] = strdup(src[i])) == NULL)
			return ocis_error_oom(err);
	}
	return 0;
}

/* Make the entry whose header is in r->header (named name) the current
 * one, as if read from the input: a chunk's `remaining` bytes are still
 * to be read, a metadata entry's data is in r->meta already. */
static void
synthesized_entry(struct ocis_stream_reader *r, struct ocis_stream_entry *e,
		  enum ocis_entry_kind kind, const char *name, uint64_t remaining)
{
	r->remaining = remaining;
	r->padding = 0;
	r->started = 0;
	r->have_entry = 1;
	r->is_meta = kind != OCIS_ENTRY_CHUNK;
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->size = kind == OCIS_ENTRY_CHUNK ? remaining : r->meta.len;
	e->offset = r->offset;
}

/* Return a synthesized metadata entry (takes ownership of data). */
int
ocis__base_image_deliver(struct ocis_stream_reader *r, struct ocis_stream_entry *e,
			 enum ocis_entry_kind kind, unsigned char *data, size_t len,
			 ocis_error_t **err)
{
	char name[64];

	snprintf(name, sizeof(name), "%s%s", OCIS_STREAM_DIR, ocis__stream_kind_leaf(kind));
	ocis__stream_header(r->header, name, len);
	ocis_buf_reset(&r->meta);
	if (ocis_buf_add(&r->meta, data, len, err) < 0) {
		free(data);
		return -1;
	}
	free(data);
	synthesized_entry(r, e, kind, name, 0);
	return ocis__stream_accept_meta(r, e, kind, r->offset, err);
}

/* Next chunk of the large base-image blob being read, or its blob.json. */
int
ocis__base_image_next_chunk(struct ocis_stream_reader *r, struct ocis_stream_entry *e,
			    ocis_error_t **err)
{
	char name[64];
	uint64_t n;

	if (r->split_remaining == 0) {
		struct ocis_layer_desc d;
		struct ocis_buf json = OCIS_BUF_INIT;

		if (ocis__stream_skip(r, r->split_padding, err) < 0)
			return -1;
		r->split_open = 0;
		memset(&d, 0, sizeof(d));
		memcpy(d.digest, r->split_digest, sizeof(d.digest));
		d.size = r->split_size;
		size_t len;
		unsigned char *data;

		if (ocis_blob_desc_to_json(&d, &json, err) < 0)
			return -1;
		data = (unsigned char *)ocis_buf_detach(&json, &len);
		return ocis__base_image_deliver(r, e, OCIS_ENTRY_BLOB, data, len, err);
	}
	n = r->split_remaining > OCIS_CHUNK_MAX ? OCIS_CHUNK_MAX : r->split_remaining;
	r->split_remaining -= n;
	snprintf(name, sizeof(name), "%schunk.%06u", OCIS_STREAM_DIR, r->run_chunks++);
	ocis__stream_header(r->header, name, n);
	synthesized_entry(r, e, OCIS_ENTRY_CHUNK, name, n);
	e->run_digest = r->split_digest;
	e->run_size = r->split_size;
	return 1;
}

static int
queue_push(struct ocis_stream_reader *r, enum ocis_entry_kind kind, const void *data, size_t len,
	   ocis_error_t **err)
{
	struct pending *q;

	q = realloc(r->queue, (r->q_len + 1) * sizeof(*q));
	if (q == NULL)
		return ocis_error_oom(err);
	r->queue = q;
	q[r->q_len].kind = kind;
	q[r->q_len].len = len;
	q[r->q_len].data = malloc(len ? len : 1);
	if (q[r->q_len].data == NULL)
		return ocis_error_oom(err);
	memcpy(q[r->q_len].data, data, len);
	r->q_len++;
	return 0;
}


static const struct held_blob *
find_held(const struct ocis_stream_reader *r, const char *digest)
{
	return ocis__dix_find(&r->held_index, r->held, sizeof(*r->held), digest);
}

struct candidate {
	struct ocis_blob_ref ref;	/* the manifest */
	const char *tag, *arch, *os, *variant;
};

static int
platform_matches(const struct ocis_stream_reader *r, const char *arch, const char *os,
		 const char *variant)
{
	if (r->base_arch && arch && strcmp(r->base_arch, arch) != 0)
		return 0;
	if (r->base_os && os && strcmp(r->base_os, os) != 0)
		return 0;
	if (r->base_variant && variant && strcmp(r->base_variant, variant) != 0)
		return 0;
	return 1;
}

static int
is_manifest_type(const char *mt)
{
	return !strcmp(mt, OCIS_MT_MANIFEST) ||
	       !strcmp(mt, "application/vnd.docker.distribution.manifest.v2+json");
}

static int
is_index_type(const char *mt)
{
	return !strcmp(mt, OCIS_MT_INDEX) ||
	       !strcmp(mt, "application/vnd.docker.distribution.manifest.list.v2+json");
}

/* The media type a base layer has in the images built on it: Docker's gzip
 * layer is the OCI gzip layer byte for byte, and an OCI manifest that names
 * the Docker type is one skopeo and podman refuse to convert.  NULL for a
 * type that is no layer ocipipe knows (Docker's foreign layers among them:
 * their data is not in the archive). */
static const char *
base_layer_type(const char *mt)
{
	if (!strcmp(mt, OCIS_MT_DOCKER_LAYER))
		return OCIS_MT_LAYER "+gzip";
	return ocis_media_type_is_layer(mt) ? mt : NULL;
}

#define MAX_CANDIDATES 256
#define MAX_INDEX_DEPTH 8	/* index.json -> index -> ... -> manifest */
#define MAX_INDEXES 1024	/* nested indexes followed, in all */

/* The images of a layout archive that match --base-ref and the platform. */
struct resolve {
	struct candidate cand[MAX_CANDIDATES];
	size_t n;
	struct ocis_index **subs;	/* nested indexes (cand points into them) */
	size_t n_subs, cap_subs;
	char (*seen)[OCIS_DIGEST_STR_SIZE];	/* indexes followed once already */
	size_t n_seen, cap_seen;
};

static void
resolve_release(struct resolve *rs)
{
	size_t i;

	for (i = 0; i < rs->n_subs; i++) {
		ocis_index_release(rs->subs[i]);
		free(rs->subs[i]);
	}
	free(rs->subs);
	free(rs->seen);
}

/* A JSON blob of the archive that ref names, its size checked. */
static const struct held_blob *
held_for(const struct ocis_stream_reader *r, const char *what, const struct ocis_blob_ref *ref,
	 ocis_error_t **err)
{
	const struct held_blob *hb = find_held(r, ref->digest);

	if (hb == NULL) {
		ocis_error_set(err, 0, "base image: %s %s is %s", what, ref->digest,
			       ocis__stream_find_run(r, ref->digest) ?
			       "not a JSON document of at most 4 MiB" : "missing from the archive");
		return NULL;
	}
	if (hb->len != ref->size) {
		ocis_error_set(err, 0, "base image: %s %s has %zu bytes but its descriptor says %"
			       PRIu64, what, ref->digest, hb->len, ref->size);
		return NULL;
	}
	return hb;
}

static int
add_candidate(struct resolve *rs, const struct ocis_index_entry *e, const char *tag,
	      ocis_error_t **err)
{
	size_t i;

	for (i = 0; i < rs->n; i++)
		if (strcmp(rs->cand[i].ref.digest, e->ref.digest) == 0)
			return 0;
	if (rs->n == MAX_CANDIDATES)
		return ocis_error_set(err, 0, "base image: more than %d images in the archive",
				      MAX_CANDIDATES);
	rs->cand[rs->n].ref = e->ref;
	rs->cand[rs->n].tag = tag;
	rs->cand[rs->n].arch = e->arch;
	rs->cand[rs->n].os = e->os;
	rs->cand[rs->n].variant = e->variant;
	rs->n++;
	return 0;
}

/*
 * The manifests x lists, and those of the indexes it lists, down to
 * MAX_INDEX_DEPTH (the image-spec allows an index in an index; each one is
 * followed once, so a hostile fan-out costs no more than its blobs).  The
 * tag is the one of the index.json entry (depth 0) they are under.
 */
static int
collect(const struct ocis_stream_reader *r, struct resolve *rs, const struct ocis_index *x,
	const char *tag, unsigned depth, ocis_error_t **err)
{
	size_t i, j;

	for (i = 0; i < x->n; i++) {
		const struct ocis_index_entry *t = &x->v[i];
		const struct held_blob *ib;
		struct ocis_index *s;

		if (depth == 0) {
			tag = t->ref_name;
			if (r->base_ref && (tag == NULL || strcmp(tag, r->base_ref) != 0))
				continue;
		}
		if (!platform_matches(r, t->arch, t->os, t->variant))
			continue;
		if (is_manifest_type(t->ref.media_type)) {
			if (add_candidate(rs, t, tag, err) < 0)
				return -1;
			continue;
		}
		if (!is_index_type(t->ref.media_type))
			continue;
		for (j = 0; j < rs->n_seen; j++)
			if (strcmp(rs->seen[j], t->ref.digest) == 0)
				break;
		if (j < rs->n_seen)
			continue;
		if (depth + 1 >= MAX_INDEX_DEPTH)
			return ocis_error_set(err, 0, "base image: image indexes nested more than "
					      "%d deep", MAX_INDEX_DEPTH);
		if (rs->n_seen == MAX_INDEXES)
			return ocis_error_set(err, 0, "base image: more than %d image indexes",
					      MAX_INDEXES);
		if ((ib = held_for(r, "index", &t->ref, err)) == NULL)
			return -1;
		if (ocis__grow((void **)&rs->seen, &rs->cap_seen, rs->n_seen + 1,
			       sizeof(*rs->seen), err) < 0 ||
		    ocis__grow((void **)&rs->subs, &rs->cap_subs, rs->n_subs + 1,
			       sizeof(*rs->subs), err) < 0)
			return -1;
		memcpy(rs->seen[rs->n_seen++], t->ref.digest, OCIS_DIGEST_STR_SIZE);
		if ((s = calloc(1, sizeof(*s))) == NULL)
			return ocis_error_oom(err);
		rs->subs[rs->n_subs++] = s;
		if (ocis_index_from_json(s, (const char *)ib->data, ib->len, err) < 0)
			return ocis_error_wrap(err, "base image index %s", t->ref.digest);
		if (collect(r, rs, s, tag, depth + 1, err) < 0)
			return -1;
	}
	return 0;
}

/* Queue the layer reference of base layer i (l in its manifest, diff_id
 * in its config), its blob checked: it passed as a chunk run, its media
 * type is one ocipipe builds on, its size and first bytes agree. */
static int
queue_layer_ref(struct ocis_stream_reader *r, const struct ocis_blob_ref *l, size_t i,
		const char *diff_id, struct ocis_buf *json, ocis_error_t **err)
{
	const struct run_rec *rec = ocis__stream_find_run(r, l->digest);
	const char *mt = base_layer_type(l->media_type);
	struct ocis_layer_desc d;
	char why[256], shown[128];

	if (rec == NULL)
		return ocis_error_set(err, 0, "base image: layer %s is %s", l->digest,
				      find_held(r, l->digest) ?
				      "too small to tell from metadata (unsupported)" :
				      "missing from the archive");
	if (mt == NULL)
		return ocis_error_set(err, 0, "base image: layer %zu (%s) has media type '%s', "
				      "which ocipipe cannot build on", i + 1, l->digest,
				      ocis__safe_name(l->media_type, shown, sizeof(shown)));
	memset(&d, 0, sizeof(d));
	snprintf(d.media_type, sizeof(d.media_type), "%s", mt);
	memcpy(d.digest, l->digest, sizeof(d.digest));
	d.size = l->size;
	if (ocis__stream_layer_blob_mismatch(rec, &d, why, sizeof(why)) != NULL)
		return ocis_error_set(err, 0, "base image: layer %zu (%s): %s", i + 1, d.digest,
				      why);
	if (!ocis_digest_valid(diff_id))
		return ocis_error_set(err, 0, "base image: malformed diff_id %zu", i + 1);
	memcpy(d.diff_id, diff_id, sizeof(d.diff_id));
	if (ocis_layer_desc_to_json(&d, json, err) < 0)
		return -1;
	return queue_push(r, OCIS_ENTRY_LAYER, json->data, json->len, err);
}

/*
 * The layout archive has ended: choose its image (by --base-ref and
 * platform), and queue what the rest of the pipeline needs: a layer
 * reference per manifest layer (its blob passed earlier as a chunk run)
 * and the config, exact bytes.  The image stays open, so the layers that
 * follow in the stream go on top of it.  Every descriptor on the way is
 * checked against the blob it names (size; a layer's first bytes against
 * its media type), as a client pulling the image would: an image built on
 * a base that lies would carry the lie on.
 */
int
ocis__base_image_resolve(struct ocis_stream_reader *r, ocis_error_t **err)
{
	struct ocis_index top = { NULL, 0, NULL };
	struct resolve *rs;
	struct ocis_manifest_info m;
	struct ocis_config c;
	const struct held_blob *mb, *cb;
	struct ocis_buf json = OCIS_BUF_INIT, list = OCIS_BUF_INIT;
	size_t i;
	int ret = -1;

	memset(&m, 0, sizeof(m));
	ocis_config_init(&c);
	/* Both are what makes a layout (image-spec: oci-layout and
	 * index.json MUST be there): an archive without one is a base image
	 * cut short or put together by hand, and an image built on it would
	 * not be the image meant. */
	if (!(r->have_layout_index & 1) || !(r->have_layout_index & 2))
		return ocis_error_set(err, 0, "the OCI image archive in the stream (at byte %"
				      PRIu64 ") is incomplete: it has no %s", r->layout_offset,
				      !(r->have_layout_index & 1) ? "index.json" : "oci-layout");
	if ((rs = calloc(1, sizeof(*rs))) == NULL)
		return ocis_error_oom(err);
	if (ocis_index_from_json(&top, (const char *)r->layout_index.data, r->layout_index.len,
				 err) < 0) {
		ocis_error_wrap(err, "base image");
		goto out;
	}
	if (collect(r, rs, &top, NULL, 0, err) < 0)
		goto out;
	if (rs->n != 1) {
		for (i = 0; i < rs->n; i++) {
			const struct candidate *k = &rs->cand[i];
			ocis_buf_addf(&list, NULL, "%s%s (%s/%s%s%s)", i ? ", " : "",
				      k->tag ? k->tag : "untagged", k->os ? k->os : "?",
				      k->arch ? k->arch : "?", k->variant ? "/" : "",
				      k->variant ? k->variant : "");
		}
		if (rs->n == 0)
			ocis_error_set(err, 0, "base image: no image in the archive matches%s%s%s%s",
				       r->base_ref ? " tag '" : "", r->base_ref ? r->base_ref : "",
				       r->base_ref ? "'" : "",
				       r->base_arch || r->base_os ? " the platform" : "");
		else
			ocis_error_set(err, 0, "base image: the archive holds several images, "
				       "choose one by tag or platform (see --help): %s",
				       (char *)list.data);
		goto out;
	}
	if ((mb = held_for(r, "manifest", &rs->cand[0].ref, err)) == NULL)
		goto out;
	if (ocis_manifest_parse(&m, (const char *)mb->data, mb->len, err) < 0) {
		ocis_error_wrap(err, "base image manifest");
		goto out;
	}
	if ((cb = held_for(r, "config", &m.config, err)) == NULL)
		goto out;
	if (ocis_config_from_json(&c, (const char *)cb->data, cb->len, err) < 0) {
		ocis_error_wrap(err, "base image config");
		goto out;
	}
	if (c.diff_ids.n != m.n_layers) {
		ocis_error_set(err, 0, "base image: its config lists %zu layers but its manifest "
			       "%zu", c.diff_ids.n, m.n_layers);
		goto out;
	}
	if (!platform_matches(r, c.architecture, c.os, c.variant)) {
		ocis_error_set(err, 0, "base image is for %s/%s, not the platform asked for",
			       c.os ? c.os : "?", c.architecture ? c.architecture : "?");
		goto out;
	}
	for (i = 0; i < m.n_layers; i++)
		if (queue_layer_ref(r, &m.layers[i], i, c.diff_ids.v[i], &json, err) < 0)
			goto out;
	if (queue_push(r, OCIS_ENTRY_CONFIG, cb->data, cb->len, err) < 0)
		goto out;
	ret = 0;
out:
	resolve_release(rs);
	free(rs);
	ocis_index_release(&top);
	ocis_manifest_info_release(&m);
	ocis_config_release(&c);
	ocis_buf_release(&json);
	ocis_buf_release(&list);
	ocis__base_image_clear(r);
	return ret;
}

static int
read_member(struct ocis_stream_reader *r, uint64_t size, size_t cap, struct ocis_buf *out,
	    ocis_error_t **err)
{
	if (size > cap)
		return ocis_error_set(err, 0, "base image: '%.100s' is larger than %zu bytes",
				      (const char *)r->header, cap);
	r->remaining = size;
	r->padding = ocis__pad512(size);
	r->is_meta = 1;
	while (r->remaining > 0) {
		unsigned char tmp[8192];
		ssize_t k = ocis__stream_take(r, tmp, sizeof(tmp), err);
		if (k < 0 || ocis_buf_add(out, tmp, (size_t)k, err) < 0)
			return -1;
	}
	return ocis__stream_skip_padding(r, err);
}

/* One member of a layout archive: 0 = consumed, 1 = *e filled, -1 = error. */
int
ocis__base_image_member(struct ocis_stream_reader *r, struct ocis_stream_entry *e,
			const char *name, uint64_t size, uint64_t hdr_offset, ocis_error_t **err)
{
	unsigned char type = r->header[TH_TYPE];
	const char *n = ocis__layout_member_name(name);
	char shown[101];

	ocis__stream_printable(shown, sizeof(shown), (const unsigned char *)name, strlen(name));
	if (type == 'x' || type == 'g') {
		/* pax extended headers (Go writes them for times): our members
		 * never need them, so they are read and ignored. */
		struct ocis_buf tmp = OCIS_BUF_INIT;
		int rc = read_member(r, size, 1024 * 1024, &tmp, err);
		if (rc == 0 && type == 'x' && (memmem(tmp.data, tmp.len, " size=", 6) ||
					       memmem(tmp.data, tmp.len, " path=", 6)))
			rc = ocis_error_set(err, 0, "base image: members over 8 GiB or with long "
					    "names are not supported (at byte %" PRIu64 ")",
					    hdr_offset);
		ocis_buf_release(&tmp);
		return rc;
	}
	if (strncmp(name, OCIS_STREAM_DIR, strlen(OCIS_STREAM_DIR)) == 0)
		return ocis_error_set(err, 0, "the OCI image archive in the stream (at byte %"
				      PRIu64 ") is incomplete: '%s' follows it without an "
				      "end-of-archive marker (truncated?)", r->layout_offset, shown);
	if (n == NULL || (type != '0' && type != 0 && type != '5'))
		return ocis_error_set(err, 0, "base image: unexpected member '%s' in the OCI "
				      "image archive at byte %" PRIu64, shown, hdr_offset);
	if (type == '5')
		return ocis__stream_skip(r, ocis__tar_span(size), err);
	if (!strcmp(n, "oci-layout")) {
		struct ocis_buf tmp = OCIS_BUF_INIT;
		int rc = read_member(r, size, 4096, &tmp, err);
		if (rc == 0)
			rc = ocis__layout_version_check(tmp.data, tmp.len, "base image: oci-layout",
							err);
		ocis_buf_release(&tmp);
		r->have_layout_index |= 2;	/* bit 2: marker seen */
		return rc;
	}
	if (!strcmp(n, "index.json")) {
		ocis_buf_reset(&r->layout_index);
		if (read_member(r, size, OCIS_META_MAX, &r->layout_index, err) < 0)
			return -1;
		r->have_layout_index |= 1;
		return 0;
	}
	if (!strcmp(n, "manifest.json") || !strcmp(n, "repositories"))
		return ocis__stream_skip(r, ocis__tar_span(size), err);	/* docker-archive extras */
	if (strncmp(n, "blobs/sha256/", 13) != 0 || size == 0)
		return ocis__stream_skip(r, ocis__tar_span(size), err);

	/* A blob: JSON metadata is held until the archive ends, anything else
	 * becomes a chunk run right away. */
	if (ocis__stream_fill(r, 1, err) < 0)
		return -1;
	if (size <= HELD_BLOB_MAX && r->end > r->pos && r->buf[r->pos] == '{') {
		struct ocis_buf tmp = OCIS_BUF_INIT;
		struct held_blob *hb;
		char digest[OCIS_DIGEST_STR_SIZE];

		if (r->held_total + size > HELD_TOTAL_MAX)
			return ocis_error_set(err, 0, "base image: more than %d MiB of metadata",
					      HELD_TOTAL_MAX >> 20);
		if (read_member(r, size, HELD_BLOB_MAX, &tmp, err) < 0 ||
		    ocis_hash_buffer(tmp.data, tmp.len, digest, err) < 0) {
			ocis_buf_release(&tmp);
			return -1;
		}
		if (strcmp(digest + 7, n + 13) != 0) {
			ocis_buf_release(&tmp);
			return ocis_error_set(err, 0, "base image: blob '%s' has digest %s", n,
					      digest);
		}
		if (find_held(r, digest) != NULL) {
			ocis_buf_release(&tmp);	/* the same bytes again */
			return 0;
		}
		if (ocis__grow((void **)&r->held, &r->cap_held, r->n_held + 1, sizeof(*r->held),
			       err) < 0) {
			ocis_buf_release(&tmp);
			return -1;
		}
		hb = &r->held[r->n_held];
		memcpy(hb->digest, digest, sizeof(digest));
		hb->len = tmp.len;
		hb->data = (unsigned char *)ocis_buf_detach(&tmp, NULL);
		if (ocis__dix_add(&r->held_index, r->held, sizeof(*r->held), r->n_held, err) < 0) {
			free(hb->data);
			return -1;
		}
		r->n_held++;
		r->held_total += size;
		return 0;
	}
	if (ocis__stream_open_run(r, 1, err) < 0)
		return -1;
	r->split_open = 1;
	snprintf(r->split_digest, sizeof(r->split_digest), "sha256:%s", n + 13);
	r->split_size = r->split_remaining = size;
	r->split_padding = ocis__pad512(size);
	return ocis__base_image_next_chunk(r, e, err);
}
