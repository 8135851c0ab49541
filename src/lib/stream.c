/* SPDX-License-Identifier: MIT */
/*
 * Image stream reader and writer: see ocistream/stream.h and
 * docs/image-stream.md.
 *
 * The reader is a small ustar parser of our own rather than libarchive:
 * stages pass chunk entries through untouched (header block, data and
 * padding copied as they are), and the format is ours, so every header is
 * checked strictly (checksum, magic, type, name under ocipipe/).  Memory is
 * one I/O buffer plus the largest metadata entry (capped).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ocistream/imageconfig.h>
#include <ocistream/index.h>
#include <ocistream/layerdesc.h>
#include <ocistream/manifest.h>
#include <ocistream/stream.h>

#include "internal.h"

#define IOBUF_SIZE (256 * 1024)

/* One metadata blob of a base image held until the layout is resolved. */
struct held_blob {
	char digest[OCIS_DIGEST_STR_SIZE];
	unsigned char *data;
	size_t len;
};

/* A synthesized entry waiting to be returned (base image translation). */
struct pending {
	enum ocis_entry_kind kind;
	unsigned char *data;	/* owned */
	size_t len;
};

#define HELD_BLOB_MAX (4 * 1024 * 1024)		/* a JSON blob of a base image */
#define HELD_TOTAL_MAX (64 * 1024 * 1024)	/* all of them */

/* A blob that passed as a chunk run: what a layer reference to it must
 * agree with (its size, and its first bytes with its media type). */
struct run_rec {
	char digest[OCIS_DIGEST_STR_SIZE];
	uint64_t size;
	unsigned char magic[OCIS_MAGIC_LEN];
	size_t magic_len;
};

struct ocis_stream_reader {
	int fd;
	int verify;
	unsigned char *buf;	/* input buffer */
	size_t pos, end;	/* unread bytes are buf[pos..end) */
	int eof;
	uint64_t offset;	/* input offset of buf[pos] */

	unsigned char header[OCIS_BLOCK];	/* current entry's header */
	uint64_t remaining;	/* unread data bytes of the current entry */
	uint64_t padding;	/* padding after the current entry's data */
	int started;		/* current entry's data partly consumed */
	int have_entry;
	int is_meta;		/* current entry's data is held in meta */
	int no_splice;		/* splice(2) does not work on these descriptors */

	uint64_t entries;
	unsigned zero_run;	/* consecutive zero blocks just read */
	int archive_start;	/* the next header starts an archive */

	int in_run;		/* inside a chunk run */
	unsigned run_chunks;	/* chunks so far in the run (synthesized names) */
	uint64_t run_bytes;
	int run_hashing;	/* hashing the run (verify, or base blob) */
	struct ocis_hash run_hash;
	unsigned char run_magic[OCIS_MAGIC_LEN];	/* the run's first bytes */
	size_t run_magic_len;
	struct run_rec *runs;	/* closed runs */
	size_t n_runs, cap_runs;
	struct ocis__digest_index run_index;	/* runs by digest */

	struct ocis_buf meta;	/* data of the current metadata entry */
	struct ocis_layer_desc desc;

	/* Base image: an OCI image-layout tarball inside the stream. */
	char *base_ref, *base_arch, *base_os, *base_variant;
	int in_layout;		/* reading the members of a layout archive */
	uint64_t layout_offset;
	struct ocis_buf layout_index;	/* its index.json */
	int have_layout_index;
	struct held_blob *held;	/* its JSON blobs */
	size_t n_held, cap_held;
	struct ocis__digest_index held_index;
	size_t held_total;
	int lb_open;		/* a large blob is being turned into chunks */
	char lb_digest[OCIS_DIGEST_STR_SIZE];
	uint64_t lb_remaining, lb_padding, lb_size;
	struct pending *queue;	/* synthesized entries to return */
	size_t q_head, q_len;
};

struct ocis_stream_writer {
	int fd;
	unsigned chunk_seq;
	int finished;
};

/* --- reader ------------------------------------------------------------ */

/* A 1 MiB pipe (when fd is a pipe and the system allows it) lets a chunk
 * pass in one go instead of sixteen 64 KiB steps.  Best effort. */
static void
grow_pipe(int fd)
{
	struct stat st;

	if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode))
		(void)fcntl(fd, F_SETPIPE_SZ, 1 << 20);
}

int
ocis_stream_reader_new(struct ocis_stream_reader **out, int fd, int verify, ocis_error_t **err)
{
	struct ocis_stream_reader *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return ocis_error_oom(err);
	r->fd = fd;
	r->verify = verify;
	r->archive_start = 1;
	r->buf = malloc(IOBUF_SIZE);
	if (r->buf == NULL) {
		free(r);
		return ocis_error_oom(err);
	}
	if (ocis_hash_init(&r->run_hash, err) < 0) {
		free(r->buf);
		free(r);
		return -1;
	}
	r->meta.cap_limit = OCIS_META_MAX;
	r->layout_index.cap_limit = OCIS_META_MAX;
	grow_pipe(fd);
	*out = r;
	return 0;
}

static void
clear_layout(struct ocis_stream_reader *r)
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

void
ocis_stream_reader_free(struct ocis_stream_reader *r)
{
	size_t i;

	if (r == NULL)
		return;
	ocis_hash_release(&r->run_hash);
	ocis_buf_release(&r->meta);
	ocis_layer_desc_release(&r->desc);
	clear_layout(r);
	for (i = r->q_head; i < r->q_len; i++)
		free(r->queue[i].data);
	free(r->queue);
	free(r->runs);
	free(r->run_index.slots);
	free(r->base_ref);
	free(r->base_arch);
	free(r->base_os);
	free(r->base_variant);
	free(r->buf);
	free(r);
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

uint64_t
ocis_stream_input_offset(const struct ocis_stream_reader *r)
{
	return r->offset;
}

/* Make at least `want` bytes available (fewer only at EOF). */
static int
fill(struct ocis_stream_reader *r, size_t want, ocis_error_t **err)
{
	ssize_t n;

	if (want > IOBUF_SIZE)
		want = IOBUF_SIZE;
	while (r->end - r->pos < want && !r->eof) {
		if (r->pos > 0) {
			memmove(r->buf, r->buf + r->pos, r->end - r->pos);
			r->end -= r->pos;
			r->pos = 0;
		}
		n = read(r->fd, r->buf + r->end, IOBUF_SIZE - r->end);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return ocis_error_set(err, errno, "reading image stream");
		}
		if (n == 0)
			r->eof = 1;
		r->end += (size_t)n;
	}
	return 0;
}

static void
consume(struct ocis_stream_reader *r, size_t n)
{
	r->pos += n;
	r->offset += n;
}

static int
truncated(struct ocis_stream_reader *r, ocis_error_t **err)
{
	return ocis_error_set(err, 0,
			      "image stream truncated at byte %" PRIu64 " inside '%.100s' "
			      "(did an earlier stage fail?)", r->offset, (const char *)r->header);
}

/* Consume up to len data bytes of the current entry into dst (or discard
 * when dst is NULL), hashing chunk data when needed. */
static ssize_t
take_data(struct ocis_stream_reader *r, void *dst, size_t len, ocis_error_t **err)
{
	size_t n;

	if (len > r->remaining)
		len = (size_t)r->remaining;
	if (len == 0)
		return 0;
	if (r->pos == r->end && fill(r, 1, err) < 0)
		return -1;
	n = r->end - r->pos;
	if (n == 0)
		return truncated(r, err);
	if (n > len)
		n = len;
	if (dst)
		memcpy(dst, r->buf + r->pos, n);
	if (r->in_run && !r->is_meta) {
		if (r->run_magic_len < OCIS_MAGIC_LEN) {
			size_t k = OCIS_MAGIC_LEN - r->run_magic_len;
			memcpy(r->run_magic + r->run_magic_len, r->buf + r->pos, k < n ? k : n);
			r->run_magic_len += k < n ? k : n;
		}
		if (r->run_hashing)
			ocis_hash_update(&r->run_hash, r->buf + r->pos, n);
		r->run_bytes += n;
	}
	consume(r, n);
	r->remaining -= n;
	r->started = 1;
	return (ssize_t)n;
}

static int
skip_bytes(struct ocis_stream_reader *r, uint64_t n, ocis_error_t **err)
{
	while (n > 0) {
		size_t k;
		if (fill(r, n > IOBUF_SIZE ? IOBUF_SIZE : (size_t)n, err) < 0)
			return -1;
		k = r->end - r->pos;
		if (k == 0)
			return truncated(r, err);
		if (k > n)
			k = (size_t)n;
		consume(r, k);
		n -= k;
	}
	return 0;
}

static int
skip_padding(struct ocis_stream_reader *r, ocis_error_t **err)
{
	uint64_t n = r->padding;

	r->padding = 0;
	return skip_bytes(r, n, err);
}

static int
finish_entry(struct ocis_stream_reader *r, ocis_error_t **err)
{
	while (r->remaining > 0)
		if (take_data(r, NULL, IOBUF_SIZE, err) < 0)
			return -1;
	return skip_padding(r, err);
}

ssize_t
ocis_stream_read(struct ocis_stream_reader *r, void *buf, size_t len, ocis_error_t **err)
{
	return take_data(r, buf, len, err);
}

static int
classify(const char *name, enum ocis_entry_kind *kind)
{
	const char *leaf;

	if (strncmp(name, OCIS_STREAM_DIR, strlen(OCIS_STREAM_DIR)) != 0)
		return -1;
	leaf = name + strlen(OCIS_STREAM_DIR);
	if (strncmp(leaf, "chunk.", 6) == 0 && leaf[6] != 0 &&
	    strspn(leaf + 6, "0123456789") == strlen(leaf + 6))
		*kind = OCIS_ENTRY_CHUNK;
	else if (strcmp(leaf, "layer.json") == 0)
		*kind = OCIS_ENTRY_LAYER;
	else if (strcmp(leaf, "blob.json") == 0)
		*kind = OCIS_ENTRY_BLOB;
	else if (strcmp(leaf, "config.json") == 0)
		*kind = OCIS_ENTRY_CONFIG;
	else if (strcmp(leaf, "manifest.json") == 0)
		*kind = OCIS_ENTRY_MANIFEST;
	else if (strcmp(leaf, "error") == 0)
		*kind = OCIS_ENTRY_ERROR;
	else
		return -1;
	return 0;
}

static const char *
kind_leaf(enum ocis_entry_kind kind)
{
	switch (kind) {
	case OCIS_ENTRY_CHUNK: return "chunk";
	case OCIS_ENTRY_LAYER: return "layer.json";
	case OCIS_ENTRY_BLOB: return "blob.json";
	case OCIS_ENTRY_CONFIG: return "config.json";
	case OCIS_ENTRY_MANIFEST: return "manifest.json";
	case OCIS_ENTRY_ERROR: return "error";
	}
	return "?";
}

/* Printable copy of a possibly hostile name for messages. */
static void
printable(char *dst, size_t size, const unsigned char *src, size_t len)
{
	size_t i, j = 0;

	for (i = 0; i < len && src[i] && j + 1 < size; i++)
		dst[j++] = (src[i] >= 0x20 && src[i] < 0x7f) ? (char)src[i] : '?';
	dst[j] = 0;
}

/* The fixed ustar header of a stream entry (shared with the writer). */
static void
stream_header(unsigned char h[OCIS_BLOCK], const char *name, uint64_t size)
{
	memset(h, 0, OCIS_BLOCK);
	memcpy(h + TH_NAME, name, strlen(name));
	ocis__tar_octal(h + TH_MODE, 8, 0644);
	ocis__tar_octal(h + TH_UID, 8, 0);
	ocis__tar_octal(h + TH_GID, 8, 0);
	ocis__tar_octal(h + TH_SIZE, 12, size);
	ocis__tar_octal(h + TH_MTIME, 12, 0);
	h[TH_TYPE] = '0';
	ocis__tar_finish_header(h);
}

static int
at_end(struct ocis_stream_reader *r, ocis_error_t **err)
{
	if (r->in_layout)
		return ocis_error_set(err, 0, "the OCI image archive in the stream (at byte %"
				      PRIu64 ") is incomplete: it ends without an end-of-archive "
				      "marker (truncated?)", r->layout_offset);
	if (r->in_run)
		return ocis_error_set(err, 0, "image stream ends inside layer data "
				      "without its descriptor (did an earlier stage fail?)");
	if (r->entries == 0 && r->offset == 0)
		return ocis_error_set(err, 0, "empty input: expected an image stream "
				      "(did an earlier stage fail?)");
	if (r->zero_run < 2)
		return ocis_error_set(err, 0, "image stream ends at byte %" PRIu64
				      " without an end-of-archive marker "
				      "(did an earlier stage fail?)", r->offset);
	if (r->entries == 0)
		return ocis_error_set(err, 0, "image stream holds no entries");
	return 0;
}

/* Runs and held blobs are looked up by digest for every run and every
 * layer: a hash table, so that a base image of 100 000 small blobs is not
 * 10^10 string comparisons. */
static const struct run_rec *
find_run(const struct ocis_stream_reader *r, const char *digest)
{
	return ocis__dix_find(&r->run_index, r->runs, sizeof(*r->runs), digest);
}

static int
close_run(struct ocis_stream_reader *r, const char *digest, uint64_t size, ocis_error_t **err)
{
	char got[OCIS_DIGEST_STR_SIZE];

	if (size != r->run_bytes)
		return ocis_error_set(err, 0, "corrupt image stream: blob %s says %" PRIu64
				      " bytes but the stream carried %" PRIu64,
				      digest, size, r->run_bytes);
	if (r->run_hashing) {
		if (ocis_hash_final(&r->run_hash, got, err) < 0)
			return -1;
		if (strcmp(got, digest) != 0)
			return ocis_error_set(err, 0, "corrupt image stream: blob data has "
					      "digest %s but its descriptor says %s", got, digest);
	}
	r->in_run = 0;
	if (find_run(r, digest) == NULL) {
		struct run_rec *rec;

		if (ocis__grow((void **)&r->runs, &r->cap_runs, r->n_runs + 1, sizeof(*r->runs),
			       err) < 0)
			return -1;
		rec = &r->runs[r->n_runs];
		memcpy(rec->digest, digest, OCIS_DIGEST_STR_SIZE);
		rec->size = r->run_bytes;
		memcpy(rec->magic, r->run_magic, sizeof(rec->magic));
		rec->magic_len = r->run_magic_len;
		if (ocis__dix_add(&r->run_index, r->runs, sizeof(*r->runs), r->n_runs, err) < 0)
			return -1;
		r->n_runs++;
	}
	return 0;
}

/* Why the blob of run rec cannot be the layer d says (its size, or its
 * first bytes against its media type), in buf; NULL when it can. */
static const char *
layer_blob_mismatch(const struct run_rec *rec, const struct ocis_layer_desc *d, char *buf,
		    size_t size)
{
	if (rec->size != d->size) {
		snprintf(buf, size, "its descriptor says %" PRIu64 " bytes but the blob has %"
			 PRIu64, d->size, rec->size);
		return buf;
	}
	return ocis__layer_data_mismatch(d->media_type, rec->magic, rec->magic_len, buf, size);
}

static int
open_run(struct ocis_stream_reader *r, int hashing, ocis_error_t **err)
{
	r->in_run = 1;
	r->run_bytes = 0;
	r->run_chunks = 0;
	r->run_magic_len = 0;
	r->run_hashing = hashing;
	return hashing ? ocis_hash_reset(&r->run_hash, err) : 0;
}

/*
 * Validate a metadata entry whose data is in r->meta and fill *e.  Shared
 * by entries read from the input and entries synthesized from a base image.
 */
static int
accept_meta(struct ocis_stream_reader *r, struct ocis_stream_entry *e, enum ocis_entry_kind kind,
	    uint64_t hdr_offset, ocis_error_t **err)
{
	const char *what = kind_leaf(kind);

	e->data = r->meta.data ? r->meta.data : (const unsigned char *)"";
	if (r->in_run && kind != OCIS_ENTRY_LAYER && kind != OCIS_ENTRY_BLOB &&
	    kind != OCIS_ENTRY_ERROR)
		return ocis_error_set(err, 0, "image stream has layer data without its "
				      "descriptor before '%s%s' (did an earlier stage fail?)",
				      OCIS_STREAM_DIR, what);
	if (kind == OCIS_ENTRY_LAYER || kind == OCIS_ENTRY_BLOB) {
		const struct run_rec *rec;
		char why[256];

		ocis_layer_desc_release(&r->desc);
		if (kind == OCIS_ENTRY_BLOB) {
			if (ocis_blob_desc_from_json(&r->desc, (const char *)e->data,
						     (size_t)e->size, err) < 0)
				return ocis_error_wrap(err, "blob descriptor at byte %" PRIu64,
						       hdr_offset);
		} else if (ocis_layer_desc_from_json(&r->desc, (const char *)e->data,
						     (size_t)e->size, err) < 0) {
			return ocis_error_wrap(err, "layer descriptor at byte %" PRIu64,
					       hdr_offset);
		}
		if (r->in_run) {
			if (close_run(r, r->desc.digest, r->desc.size, err) < 0)
				return -1;
		} else if (kind == OCIS_ENTRY_BLOB) {
			return ocis_error_set(err, 0, "corrupt image stream: blob descriptor at "
					      "byte %" PRIu64 " without blob data", hdr_offset);
		} else if (find_run(r, r->desc.digest) == NULL) {
			return ocis_error_set(err, 0, "corrupt image stream: layer %s at byte %"
					      PRIu64 " has no data earlier in the stream",
					      r->desc.digest, hdr_offset);
		} else {
			e->layer_ref = 1;
		}
		/* A layer whose media type lies about its bytes makes an image
		 * that every client fails to unpack: refused here, where the
		 * first bytes of every blob pass. */
		rec = find_run(r, r->desc.digest);
		if (kind == OCIS_ENTRY_LAYER &&
		    layer_blob_mismatch(rec, &r->desc, why, sizeof(why)) != NULL)
			return ocis_error_set(err, 0, "corrupt image stream: layer %s at byte %"
					      PRIu64 ": %s", r->desc.digest, hdr_offset, why);
		e->layer = &r->desc;
	}
	return 1;
}

/* Return a synthesized metadata entry (takes ownership of data). */
static int
deliver_meta(struct ocis_stream_reader *r, struct ocis_stream_entry *e, enum ocis_entry_kind kind,
	     unsigned char *data, size_t len, ocis_error_t **err)
{
	char name[64];

	snprintf(name, sizeof(name), "%s%s", OCIS_STREAM_DIR, kind_leaf(kind));
	stream_header(r->header, name, len);
	ocis_buf_reset(&r->meta);
	if (ocis_buf_add(&r->meta, data, len, err) < 0) {
		free(data);
		return -1;
	}
	free(data);
	r->remaining = r->padding = 0;
	r->started = 0;
	r->have_entry = 1;
	r->is_meta = 1;
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->size = len;
	e->offset = r->offset;
	return accept_meta(r, e, kind, r->offset, err);
}

/* Next chunk of the large base-image blob being read, or its blob.json. */
static int
next_blob_chunk(struct ocis_stream_reader *r, struct ocis_stream_entry *e, ocis_error_t **err)
{
	char name[64];
	uint64_t n;

	if (r->lb_remaining == 0) {
		struct ocis_layer_desc d;
		struct ocis_buf json = OCIS_BUF_INIT;

		if (skip_bytes(r, r->lb_padding, err) < 0)
			return -1;
		r->lb_open = 0;
		memset(&d, 0, sizeof(d));
		memcpy(d.digest, r->lb_digest, sizeof(d.digest));
		d.size = r->lb_size;
		size_t len;
		unsigned char *data;

		if (ocis_blob_desc_to_json(&d, &json, err) < 0)
			return -1;
		data = (unsigned char *)ocis_buf_detach(&json, &len);
		return deliver_meta(r, e, OCIS_ENTRY_BLOB, data, len, err);
	}
	n = r->lb_remaining > OCIS_CHUNK_MAX ? OCIS_CHUNK_MAX : r->lb_remaining;
	r->lb_remaining -= n;
	snprintf(name, sizeof(name), "%schunk.%06u", OCIS_STREAM_DIR, r->run_chunks++);
	stream_header(r->header, name, n);
	r->remaining = n;
	r->padding = 0;
	r->started = 0;
	r->have_entry = 1;
	r->is_meta = 0;
	memset(e, 0, sizeof(*e));
	e->kind = OCIS_ENTRY_CHUNK;
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->size = n;
	e->offset = r->offset;
	e->run_digest = r->lb_digest;
	e->run_size = r->lb_size;
	return 1;
}

/* --- base images: an OCI image-layout tarball inside the stream ------- */

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

/* Layout member name without leading "./"; NULL when not a member.  Also
 * used by flatten.c to tell an image tarball from a rootfs tar. */
const char *
ocis__layout_member_name(const char *name)
{
	const char *n = name;
	size_t i;

	while (n[0] == '.' && n[1] == '/')
		n += 2;
	if (!strcmp(n, "oci-layout") || !strcmp(n, "index.json") || !strcmp(n, "blobs") ||
	    !strcmp(n, "blobs/") || !strcmp(n, "blobs/sha256") || !strcmp(n, "blobs/sha256/") ||
	    !strcmp(n, ".") || !strcmp(n, "./") || !strcmp(n, "") || !strcmp(n, "manifest.json") ||
	    !strcmp(n, "repositories"))
		return n;
	if (strncmp(n, "blobs/sha256/", 13) != 0 || strlen(n) != 13 + 64)
		return NULL;
	for (i = 13; i < 13 + 64; i++)
		if (!((n[i] >= '0' && n[i] <= '9') || (n[i] >= 'a' && n[i] <= 'f')))
			return NULL;
	return n;
}

int
ocis__docker_archive_name(const char *name)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
			return 0;
	/* <id>/ and what is in it (docker save), <id>.json (the config),
	 * <id>.tar (podman save, skopeo: the layers beside the <id>/ dirs) */
	return name[64] == '/' || !strcmp(name + 64, ".json") || !strcmp(name + 64, ".tar");
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
			       find_run(r, ref->digest) ?
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
static int
resolve_layout(struct ocis_stream_reader *r, ocis_error_t **err)
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
	for (i = 0; i < m.n_layers; i++) {
		const struct run_rec *rec = find_run(r, m.layers[i].digest);
		const char *mt = base_layer_type(m.layers[i].media_type);
		struct ocis_layer_desc d;
		char why[256], shown[128];
		int rc;

		if (rec == NULL) {
			ocis_error_set(err, 0, "base image: layer %s is %s", m.layers[i].digest,
				       find_held(r, m.layers[i].digest) ?
				       "too small to tell from metadata (unsupported)" :
				       "missing from the archive");
			goto out;
		}
		if (mt == NULL) {
			ocis_error_set(err, 0, "base image: layer %zu (%s) has media type '%s', "
				       "which ocipipe cannot build on", i + 1, m.layers[i].digest,
				       ocis__shown(m.layers[i].media_type, shown, sizeof(shown)));
			goto out;
		}
		memset(&d, 0, sizeof(d));
		snprintf(d.media_type, sizeof(d.media_type), "%s", mt);
		memcpy(d.digest, m.layers[i].digest, sizeof(d.digest));
		d.size = m.layers[i].size;
		if (layer_blob_mismatch(rec, &d, why, sizeof(why)) != NULL) {
			ocis_error_set(err, 0, "base image: layer %zu (%s): %s", i + 1, d.digest,
				       why);
			goto out;
		}
		if (!ocis_digest_valid(c.diff_ids.v[i])) {
			ocis_error_set(err, 0, "base image: malformed diff_id %zu", i + 1);
			goto out;
		}
		memcpy(d.diff_id, c.diff_ids.v[i], sizeof(d.diff_id));
		rc = ocis_layer_desc_to_json(&d, &json, err);
		if (rc < 0 || queue_push(r, OCIS_ENTRY_LAYER, json.data, json.len, err) < 0)
			goto out;
	}
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
	clear_layout(r);
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
		ssize_t k = take_data(r, tmp, sizeof(tmp), err);
		if (k < 0 || ocis_buf_add(out, tmp, (size_t)k, err) < 0)
			return -1;
	}
	return skip_padding(r, err);
}

/* One member of a layout archive: 0 = consumed, 1 = *e filled, -1 = error. */
static int
layout_member(struct ocis_stream_reader *r, struct ocis_stream_entry *e, const char *name,
	      uint64_t size, uint64_t hdr_offset, ocis_error_t **err)
{
	unsigned char type = r->header[TH_TYPE];
	const char *n = ocis__layout_member_name(name);
	char shown[101];

	printable(shown, sizeof(shown), (const unsigned char *)name, strlen(name));
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
		return skip_bytes(r, ocis__tar_span(size), err);
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
		return skip_bytes(r, ocis__tar_span(size), err);	/* docker-archive extras */
	if (strncmp(n, "blobs/sha256/", 13) != 0 || size == 0)
		return skip_bytes(r, ocis__tar_span(size), err);

	/* A blob: JSON metadata is held until the archive ends, anything else
	 * becomes a chunk run right away. */
	if (fill(r, 1, err) < 0)
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
	if (open_run(r, 1, err) < 0)
		return -1;
	r->lb_open = 1;
	snprintf(r->lb_digest, sizeof(r->lb_digest), "sha256:%s", n + 13);
	r->lb_size = r->lb_remaining = size;
	r->lb_padding = ocis__pad512(size);
	return next_blob_chunk(r, e, err);
}

int
ocis_stream_next(struct ocis_stream_reader *r, struct ocis_stream_entry *e, ocis_error_t **err)
{
	unsigned char *h = r->header;
	enum ocis_entry_kind kind;
	uint64_t size, hdr_offset;
	char name[101], shown[101];
	int rc;

	if (r->have_entry && finish_entry(r, err) < 0)
		return -1;
	r->have_entry = 0;
	ocis_buf_reset(&r->meta);

next:
	if (r->q_head < r->q_len) {
		struct pending p = r->queue[r->q_head++];
		if (r->q_head == r->q_len)
			r->q_head = r->q_len = 0;
		return deliver_meta(r, e, p.kind, p.data, p.len, err);
	}
	if (r->lb_open)
		return next_blob_chunk(r, e, err);

	for (;;) {
		if (fill(r, OCIS_BLOCK, err) < 0)
			return -1;
		if (r->end - r->pos == 0)
			return at_end(r, err) < 0 ? -1 : 0;
		if (r->end - r->pos < OCIS_BLOCK && r->offset == 0)
			return ocis_error_set(err, 0, "input is not an image stream "
					      "(%zu bytes): rootfs tars must go through "
					      "oci-layer first", r->end - r->pos);
		if (r->end - r->pos < OCIS_BLOCK)
			return ocis_error_set(err, 0, "image stream truncated at byte %" PRIu64
					      " inside a header (did an earlier stage fail?)",
					      r->offset);
		if (!ocis__block_is_zero(r->buf + r->pos))
			break;
		consume(r, OCIS_BLOCK);
		if (++r->zero_run >= 2) {
			r->archive_start = 1;
			if (r->in_layout) {
				if (resolve_layout(r, err) < 0)
					return -1;
				goto next;
			}
		}
	}
	hdr_offset = r->offset;
	memcpy(h, r->buf + r->pos, OCIS_BLOCK);
	consume(r, OCIS_BLOCK);
	r->zero_run = 0;

	memcpy(name, h + TH_NAME, 100);
	name[100] = 0;
	printable(shown, sizeof(shown), h + TH_NAME, 100);
	if (!ocis__tar_checksum_ok(h) || memcmp(h + TH_MAGIC, "ustar", 5) != 0) {
		if (r->entries == 0)
			return ocis_error_set(err, 0, "input is not an image stream "
					      "(no valid tar header at byte 0): "
					      "rootfs tars must go through oci-layer first");
		return ocis_error_set(err, 0, "corrupt image stream: bad tar header at byte %"
				      PRIu64, hdr_offset);
	}
	rc = ocis__tar_size(h, &size);
	if (rc == -1)
		return ocis_error_set(err, 0, "corrupt image stream: bad size of '%s' at byte %"
				      PRIu64, shown, hdr_offset);
	if (rc == -2)
		return ocis_error_set(err, 0, "tar member '%s' at byte %" PRIu64 ": its size "
				      "field says %" PRIu64 " bytes, more than a tar member can "
				      "hold (2^63-1)", shown, hdr_offset, size);

	if (r->archive_start && !r->in_layout && h[TH_PREFIX] == 0 &&
	    (ocis__layout_member_name(name) != NULL || h[TH_TYPE] == 'x' || h[TH_TYPE] == 'g') &&
	    strncmp(name, OCIS_STREAM_DIR, strlen(OCIS_STREAM_DIR)) != 0) {
		if (r->in_run)
			return ocis_error_set(err, 0, "image stream has layer data without its "
					      "descriptor (did an earlier stage fail?)");
		r->in_layout = 1;
		r->layout_offset = hdr_offset;
	}
	r->archive_start = 0;
	if (r->in_layout) {
		/* A ustar name is prefix "/" name: "x/index.json" must not pass
		 * for index.json (layout names are short, writers leave the
		 * prefix empty; a split name is joined and judged whole). */
		char full[257];

		if (h[TH_PREFIX] != 0) {
			snprintf(full, sizeof(full), "%.155s/%s", (const char *)h + TH_PREFIX, name);
			printable(shown, sizeof(shown), (const unsigned char *)full, strlen(full));
		}
		r->entries++;
		rc = layout_member(r, e, h[TH_PREFIX] != 0 ? full : name, size, hdr_offset, err);
		if (rc != 0)
			return rc;
		goto next;
	}

	if (classify(name, &kind) < 0 || h[TH_PREFIX] != 0 ||
	    (h[TH_TYPE] != '0' && h[TH_TYPE] != 0)) {
		if (r->entries == 0 && h[TH_PREFIX] == 0 && ocis__docker_archive_name(name))
			return ocis_error_set(err, 0, "input is a docker-archive (first entry is "
					      "'%s'), which ocipipe does not read: make it an OCI "
					      "archive with skopeo copy docker-archive:IN "
					      "oci-archive:OUT", shown);
		if (r->entries == 0)
			return ocis_error_set(err, 0, "input is not an image stream "
					      "(first entry is '%s'): rootfs tars must go "
					      "through oci-layer first", shown);
		return ocis_error_set(err, 0, "unexpected entry '%s' in image stream at byte %"
				      PRIu64, shown, hdr_offset);
	}
	r->entries++;
	r->remaining = size;
	r->padding = ocis__pad512(size);
	r->started = 0;
	r->have_entry = 1;
	r->is_meta = kind != OCIS_ENTRY_CHUNK;

	memset(e, 0, sizeof(*e));
	e->kind = kind;
	memcpy(e->name, name, sizeof(e->name));
	e->size = size;
	e->offset = hdr_offset;

	if (kind == OCIS_ENTRY_CHUNK) {
		if (size > OCIS_CHUNK_MAX)
			return ocis_error_set(err, 0, "corrupt image stream: chunk '%s' is larger "
					      "than %d bytes", shown, OCIS_CHUNK_MAX);
		if (!r->in_run && open_run(r, r->verify, err) < 0)
			return -1;
		return 1;
	}
	if (size > OCIS_META_MAX)
		return ocis_error_set(err, 0, "corrupt image stream: '%s' is larger than %d bytes",
				      shown, OCIS_META_MAX);
	/* Metadata entries are read whole; ocis_stream_copy writes them from meta. */
	while (r->remaining > 0) {
		unsigned char tmp[8192];
		ssize_t n = take_data(r, tmp, sizeof(tmp), err);
		if (n < 0 || ocis_buf_add(&r->meta, tmp, (size_t)n, err) < 0)
			return -1;
	}
	if (skip_padding(r, err) < 0)
		return -1;
	r->started = 0;
	return accept_meta(r, e, kind, hdr_offset, err);
}

int
ocis_stream_copy(struct ocis_stream_reader *r, struct ocis_stream_writer *w, ocis_error_t **err)
{
	static const unsigned char zeros[OCIS_BLOCK];
	uint64_t size, pad;

	if (!r->have_entry || r->started)
		return ocis_error_set(err, EINVAL, "internal: copy of a consumed entry");
	if (ocis_stream_write_raw(w, r->header, OCIS_BLOCK, err) < 0)
		return -1;
	if (ocis__tar_parse_num(r->header + TH_SIZE, 12, &size) < 0)
		return ocis_error_set(err, EINVAL, "internal: bad size");
	pad = ocis__pad512(size);
	if (r->is_meta) {
		/* Metadata entry: the data is in meta. */
		if (ocis_stream_write_raw(w, r->meta.data, r->meta.len, err) < 0 ||
		    ocis_stream_write_raw(w, zeros, (size_t)pad, err) < 0)
			return -1;
		return 0;
	}
	while (r->remaining > 0) {
		size_t avail;
		if (r->pos == r->end && !r->run_hashing && !r->no_splice &&
		    (!r->in_run || r->run_magic_len == OCIS_MAGIC_LEN)) {
			/* (the first bytes of a run are read, not spliced:
			 * accept_meta checks them against the media type) */
			/* Nothing buffered: move the chunk's bytes from pipe to
			 * pipe in the kernel, without copying them through us. */
			ssize_t n = splice(r->fd, NULL, w->fd, NULL,
					   r->remaining > (1 << 20) ? (1 << 20) : (size_t)r->remaining,
					   SPLICE_F_MOVE | SPLICE_F_MORE);
			if (n > 0) {
				r->offset += (uint64_t)n;
				r->remaining -= (uint64_t)n;
				if (r->in_run)
					r->run_bytes += (uint64_t)n;
				r->started = 1;
				continue;
			}
			if (n == 0)
				return truncated(r, err);
			if (errno == EINTR)
				continue;
			if (errno == EPIPE)
				return ocis_error_set(err, EPIPE, "writing image stream");
			r->no_splice = 1;	/* not two pipes: copy */
		}
		if (r->pos == r->end && fill(r, 1, err) < 0)
			return -1;
		avail = r->end - r->pos;
		if (avail == 0)
			return truncated(r, err);
		if (avail > r->remaining)
			avail = (size_t)r->remaining;
		if (ocis_stream_write_raw(w, r->buf + r->pos, avail, err) < 0)
			return -1;
		if (take_data(r, NULL, avail, err) < 0)
			return -1;
	}
	if (skip_padding(r, err) < 0)
		return -1;
	return ocis_stream_write_raw(w, zeros, (size_t)pad, err);
}

/* --- writer ------------------------------------------------------------ */

int
ocis_stream_writer_new(struct ocis_stream_writer **out, int fd, ocis_error_t **err)
{
	struct ocis_stream_writer *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return ocis_error_oom(err);
	w->fd = fd;
	grow_pipe(fd);
	*out = w;
	return 0;
}

void
ocis_stream_writer_free(struct ocis_stream_writer *w)
{
	free(w);
}

int
ocis_stream_write_raw(struct ocis_stream_writer *w, const void *data, size_t len,
		      ocis_error_t **err)
{
	if (ocis_write_full(w->fd, data, len, err) < 0)
		return ocis_error_wrap(err, "writing image stream");
	return 0;
}

static int
write_entry(struct ocis_stream_writer *w, const char *name, const void *data, size_t len,
	    ocis_error_t **err)
{
	static const unsigned char zeros[OCIS_BLOCK];
	unsigned char h[OCIS_BLOCK];

	if (strlen(name) > 100)
		return ocis_error_set(err, EINVAL, "internal: entry name too long");
	memset(h, 0, sizeof(h));
	memcpy(h + TH_NAME, name, strlen(name));
	ocis__tar_octal(h + TH_MODE, 8, 0644);
	ocis__tar_octal(h + TH_UID, 8, 0);
	ocis__tar_octal(h + TH_GID, 8, 0);
	if (ocis__tar_octal(h + TH_SIZE, 12, len) < 0)
		return ocis_error_set(err, EFBIG, "internal: entry too large");
	ocis__tar_octal(h + TH_MTIME, 12, 0);
	h[TH_TYPE] = '0';
	ocis__tar_finish_header(h);
	if (ocis_stream_write_raw(w, h, sizeof(h), err) < 0 ||
	    ocis_stream_write_raw(w, data, len, err) < 0 ||
	    ocis_stream_write_raw(w, zeros, (size_t)ocis__pad512(len), err) < 0)
		return -1;
	return 0;
}

int
ocis_stream_write_entry(struct ocis_stream_writer *w, const char *leaf, const void *data,
			size_t len, ocis_error_t **err)
{
	char name[128];

	snprintf(name, sizeof(name), "%s%s", OCIS_STREAM_DIR, leaf);
	return write_entry(w, name, data, len, err);
}

int
ocis_stream_write_chunk(struct ocis_stream_writer *w, const void *data, size_t len,
			ocis_error_t **err)
{
	char name[64];

	if (len > OCIS_CHUNK_MAX)
		return ocis_error_set(err, EINVAL, "internal: chunk too large");
	snprintf(name, sizeof(name), "%schunk.%06u", OCIS_STREAM_DIR, w->chunk_seq++);
	return write_entry(w, name, data, len, err);
}

int
ocis_stream_write_layer(struct ocis_stream_writer *w, const struct ocis_layer_desc *d,
			ocis_error_t **err)
{
	struct ocis_buf json = OCIS_BUF_INIT;
	int r;

	if (ocis_layer_desc_to_json(d, &json, err) < 0)
		return -1;
	r = ocis_stream_write_entry(w, "layer.json", json.data, json.len, err);
	ocis_buf_release(&json);
	w->chunk_seq = 0;
	return r;
}

void
ocis_stream_write_error(struct ocis_stream_writer *w, const char *msg)
{
	ocis_error_t *err = NULL;

	if (w == NULL || w->finished)
		return;
	ocis_stream_write_entry(w, "error", msg, strlen(msg), &err);
	ocis_error_free(&err);
}

int
ocis_stream_finish(struct ocis_stream_writer *w, ocis_error_t **err)
{
	static const unsigned char zeros[2 * OCIS_BLOCK];

	if (ocis_stream_write_raw(w, zeros, sizeof(zeros), err) < 0)
		return -1;
	w->finished = 1;
	return 0;
}
