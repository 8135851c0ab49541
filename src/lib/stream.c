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
 *
 * This file is the stream's own framing; a base image (an OCI image-layout
 * tarball inside the stream) is read by baseimage.c through the framing
 * steps in stream-private.h.
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

#include <ocistream/layerdesc.h>
#include <ocistream/stream.h>

#include "baseimage-private.h"
#include "imagename-private.h"
#include "internal.h"
#include "layerdesc-private.h"
#include "tarhdr-private.h"
#include "stream-private.h"

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

void
ocis_stream_reader_free(struct ocis_stream_reader *r)
{
	size_t i;

	if (r == NULL)
		return;
	ocis_hash_release(&r->run_hash);
	ocis_buf_release(&r->meta);
	ocis_layer_desc_release(&r->desc);
	ocis__base_image_clear(r);
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

uint64_t
ocis_stream_input_offset(const struct ocis_stream_reader *r)
{
	return r->offset;
}

/* Make at least `want` bytes available (fewer only at EOF). */
int
ocis__stream_fill(struct ocis_stream_reader *r, size_t want, ocis_error_t **err)
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
ssize_t
ocis__stream_take(struct ocis_stream_reader *r, void *dst, size_t len, ocis_error_t **err)
{
	size_t n;

	if (len > r->remaining)
		len = (size_t)r->remaining;
	if (len == 0)
		return 0;
	if (r->pos == r->end && ocis__stream_fill(r, 1, err) < 0)
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

int
ocis__stream_skip(struct ocis_stream_reader *r, uint64_t n, ocis_error_t **err)
{
	while (n > 0) {
		size_t k;
		if (ocis__stream_fill(r, n > IOBUF_SIZE ? IOBUF_SIZE : (size_t)n, err) < 0)
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

int
ocis__stream_skip_padding(struct ocis_stream_reader *r, ocis_error_t **err)
{
	uint64_t n = r->padding;

	r->padding = 0;
	return ocis__stream_skip(r, n, err);
}

static int
finish_entry(struct ocis_stream_reader *r, ocis_error_t **err)
{
	while (r->remaining > 0)
		if (ocis__stream_take(r, NULL, IOBUF_SIZE, err) < 0)
			return -1;
	return ocis__stream_skip_padding(r, err);
}

ssize_t
ocis_stream_read(struct ocis_stream_reader *r, void *buf, size_t len, ocis_error_t **err)
{
	return ocis__stream_take(r, buf, len, err);
}

/* The kind of a stream entry by its name; -1 for no name of ours. */
static int
entry_kind_of_name(const char *name, enum ocis_entry_kind *kind)
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

const char *
ocis__stream_kind_leaf(enum ocis_entry_kind kind)
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
void
ocis__stream_printable(char *dst, size_t size, const unsigned char *src, size_t len)
{
	size_t i, j = 0;

	for (i = 0; i < len && src[i] && j + 1 < size; i++)
		dst[j++] = (src[i] >= 0x20 && src[i] < 0x7f) ? (char)src[i] : '?';
	dst[j] = 0;
}

/* The fixed ustar header of a stream entry (shared with the writer). */
void
ocis__stream_header(unsigned char h[OCIS_BLOCK], const char *name, uint64_t size)
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
const struct run_rec *
ocis__stream_find_run(const struct ocis_stream_reader *r, const char *digest)
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
	if (ocis__stream_find_run(r, digest) == NULL) {
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
const char *
ocis__stream_layer_blob_mismatch(const struct run_rec *rec, const struct ocis_layer_desc *d,
				 char *buf, size_t size)
{
	if (rec->size != d->size) {
		snprintf(buf, size, "its descriptor says %" PRIu64 " bytes but the blob has %"
			 PRIu64, d->size, rec->size);
		return buf;
	}
	return ocis__layer_data_mismatch(d->media_type, rec->magic, rec->magic_len, buf, size);
}

int
ocis__stream_open_run(struct ocis_stream_reader *r, int hashing, ocis_error_t **err)
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
int
ocis__stream_accept_meta(struct ocis_stream_reader *r, struct ocis_stream_entry *e,
			 enum ocis_entry_kind kind, uint64_t hdr_offset, ocis_error_t **err)
{
	const char *what = ocis__stream_kind_leaf(kind);

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
		} else if (ocis__stream_find_run(r, r->desc.digest) == NULL) {
			return ocis_error_set(err, 0, "corrupt image stream: layer %s at byte %"
					      PRIu64 " has no data earlier in the stream",
					      r->desc.digest, hdr_offset);
		} else {
			e->layer_ref = 1;
		}
		/* A layer whose media type lies about its bytes makes an image
		 * that every client fails to unpack: refused here, where the
		 * first bytes of every blob pass. */
		rec = ocis__stream_find_run(r, r->desc.digest);
		if (kind == OCIS_ENTRY_LAYER &&
		    ocis__stream_layer_blob_mismatch(rec, &r->desc, why, sizeof(why)) != NULL)
			return ocis_error_set(err, 0, "corrupt image stream: layer %s at byte %"
					      PRIu64 ": %s", r->desc.digest, hdr_offset, why);
		e->layer = &r->desc;
	}
	return 1;
}


/* The next header block of the input, checked, into r->header: 1 with
 * its offset, size and name (and the name made printable), 0 at the
 * (checked) end of the input, 2 when zero blocks ended a base image
 * archive (its entries are queued then), -1 on error. */
static int
next_header(struct ocis_stream_reader *r, uint64_t *hdr_offset, uint64_t *size, char name[101],
	    char shown[101], ocis_error_t **err)
{
	unsigned char *h = r->header;
	int rc;

	for (;;) {
		if (ocis__stream_fill(r, OCIS_BLOCK, err) < 0)
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
				return ocis__base_image_resolve(r, err) < 0 ? -1 : 2;
			}
		}
	}
	*hdr_offset = r->offset;
	memcpy(h, r->buf + r->pos, OCIS_BLOCK);
	consume(r, OCIS_BLOCK);
	r->zero_run = 0;

	memcpy(name, h + TH_NAME, 100);
	name[100] = 0;
	ocis__stream_printable(shown, 101, h + TH_NAME, 100);
	if (!ocis__tar_checksum_ok(h) || memcmp(h + TH_MAGIC, "ustar", 5) != 0) {
		if (r->entries == 0)
			return ocis_error_set(err, 0, "input is not an image stream "
					      "(no valid tar header at byte 0): "
					      "rootfs tars must go through oci-layer first");
		return ocis_error_set(err, 0, "corrupt image stream: bad tar header at byte %"
				      PRIu64, *hdr_offset);
	}
	rc = ocis__tar_size(h, size);
	if (rc == -1)
		return ocis_error_set(err, 0, "corrupt image stream: bad size of '%s' at byte %"
				      PRIu64, shown, *hdr_offset);
	if (rc == -2)
		return ocis_error_set(err, 0, "tar member '%s' at byte %" PRIu64 ": its size "
				      "field says %" PRIu64 " bytes, more than a tar member can "
				      "hold (2^63-1)", shown, *hdr_offset, *size);

	return 1;
}

int
ocis_stream_next(struct ocis_stream_reader *r, struct ocis_stream_entry *e, ocis_error_t **err)
{
	unsigned char *h = r->header;
	enum ocis_entry_kind kind;
	uint64_t size = 0, hdr_offset = 0;	/* set by next_header (gcc -O2 cannot tell) */
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
		return ocis__base_image_deliver(r, e, p.kind, p.data, p.len, err);
	}
	if (r->split_open)
		return ocis__base_image_next_chunk(r, e, err);

	rc = next_header(r, &hdr_offset, &size, name, shown, err);
	if (rc == 2)
		goto next;
	if (rc <= 0)
		return rc;
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
			ocis__stream_printable(shown, sizeof(shown), (const unsigned char *)full,
					       strlen(full));
		}
		r->entries++;
		rc = ocis__base_image_member(r, e, h[TH_PREFIX] != 0 ? full : name, size,
					     hdr_offset, err);
		if (rc != 0)
			return rc;
		goto next;
	}

	if (entry_kind_of_name(name, &kind) < 0 || h[TH_PREFIX] != 0 ||
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
		if (!r->in_run && ocis__stream_open_run(r, r->verify, err) < 0)
			return -1;
		return 1;
	}
	if (size > OCIS_META_MAX)
		return ocis_error_set(err, 0, "corrupt image stream: '%s' is larger than %d bytes",
				      shown, OCIS_META_MAX);
	/* Metadata entries are read whole; ocis_stream_copy writes them from meta. */
	while (r->remaining > 0) {
		unsigned char tmp[8192];
		ssize_t n = ocis__stream_take(r, tmp, sizeof(tmp), err);
		if (n < 0 || ocis_buf_add(&r->meta, tmp, (size_t)n, err) < 0)
			return -1;
	}
	if (ocis__stream_skip_padding(r, err) < 0)
		return -1;
	r->started = 0;
	return ocis__stream_accept_meta(r, e, kind, hdr_offset, err);
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
		if (r->pos == r->end && ocis__stream_fill(r, 1, err) < 0)
			return -1;
		avail = r->end - r->pos;
		if (avail == 0)
			return truncated(r, err);
		if (avail > r->remaining)
			avail = (size_t)r->remaining;
		if (ocis_stream_write_raw(w, r->buf + r->pos, avail, err) < 0)
			return -1;
		if (ocis__stream_take(r, NULL, avail, err) < 0)
			return -1;
	}
	if (ocis__stream_skip_padding(r, err) < 0)
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
