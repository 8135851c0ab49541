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
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ocistream/stream.h>

#include "internal.h"

#define IOBUF_SIZE (256 * 1024)

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

	uint64_t entries;
	unsigned zero_run;	/* consecutive zero blocks just read */

	int in_run;		/* inside a chunk run */
	uint64_t run_bytes;
	struct ocis_hash run_hash;

	struct ocis_buf meta;	/* data of the current metadata entry */
	struct ocis_layer_desc desc;
};

struct ocis_stream_writer {
	int fd;
	unsigned chunk_seq;
	int finished;
};

/* --- reader ------------------------------------------------------------ */

int
ocis_stream_reader_new(struct ocis_stream_reader **out, int fd, int verify, ocis_error_t **err)
{
	struct ocis_stream_reader *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return ocis_error_oom(err);
	r->fd = fd;
	r->verify = verify;
	r->buf = malloc(IOBUF_SIZE);
	if (r->buf == NULL) {
		free(r);
		return ocis_error_oom(err);
	}
	if (verify && ocis_hash_init(&r->run_hash, err) < 0) {
		free(r->buf);
		free(r);
		return -1;
	}
	r->meta.cap_limit = OCIS_META_MAX;
	*out = r;
	return 0;
}

void
ocis_stream_reader_free(struct ocis_stream_reader *r)
{
	if (r == NULL)
		return;
	if (r->verify)
		ocis_hash_release(&r->run_hash);
	ocis_buf_release(&r->meta);
	ocis_layer_desc_release(&r->desc);
	free(r->buf);
	free(r);
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
 * when dst is NULL), hashing chunk data when verifying. */
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
		if (r->verify)
			ocis_hash_update(&r->run_hash, r->buf + r->pos, n);
		r->run_bytes += n;
	}
	consume(r, n);
	r->remaining -= n;
	r->started = 1;
	return (ssize_t)n;
}

static int
skip_padding(struct ocis_stream_reader *r, ocis_error_t **err)
{
	while (r->padding > 0) {
		size_t n;
		if (fill(r, (size_t)r->padding, err) < 0)
			return -1;
		n = r->end - r->pos;
		if (n == 0)
			return truncated(r, err);
		if (n > r->padding)
			n = (size_t)r->padding;
		consume(r, n);
		r->padding -= n;
	}
	return 0;
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

/* Printable copy of a possibly hostile name for messages. */
static void
printable(char *dst, size_t size, const unsigned char *src, size_t len)
{
	size_t i, j = 0;

	for (i = 0; i < len && src[i] && j + 1 < size; i++)
		dst[j++] = (src[i] >= 0x20 && src[i] < 0x7f) ? (char)src[i] : '?';
	dst[j] = 0;
}

static int
at_end(struct ocis_stream_reader *r, ocis_error_t **err)
{
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

int
ocis_stream_next(struct ocis_stream_reader *r, struct ocis_stream_entry *e, ocis_error_t **err)
{
	unsigned char *h = r->header;
	enum ocis_entry_kind kind;
	uint64_t size, hdr_offset;
	char name[101], shown[101];

	if (r->have_entry && finish_entry(r, err) < 0)
		return -1;
	r->have_entry = 0;
	ocis_buf_reset(&r->meta);

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
		r->zero_run++;
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
	if (classify(name, &kind) < 0 || h[TH_PREFIX] != 0 ||
	    (h[TH_TYPE] != '0' && h[TH_TYPE] != 0)) {
		if (r->entries == 0)
			return ocis_error_set(err, 0, "input is not an image stream "
					      "(first entry is '%s'): rootfs tars must go "
					      "through oci-layer first", shown);
		return ocis_error_set(err, 0, "unexpected entry '%s' in image stream at byte %"
				      PRIu64, shown, hdr_offset);
	}
	if (ocis__tar_parse_num(h + TH_SIZE, 12, &size) < 0)
		return ocis_error_set(err, 0, "corrupt image stream: bad size of '%s' at byte %"
				      PRIu64, shown, hdr_offset);
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
		if (!r->in_run) {
			r->in_run = 1;
			r->run_bytes = 0;
			if (r->verify && ocis_hash_reset(&r->run_hash, err) < 0)
				return -1;
		}
		return 1;
	}
	if (r->in_run && kind != OCIS_ENTRY_LAYER && kind != OCIS_ENTRY_ERROR)
		return ocis_error_set(err, 0, "image stream has layer data without its "
				      "descriptor before '%s' (did an earlier stage fail?)", shown);
	if (size > OCIS_META_MAX)
		return ocis_error_set(err, 0, "corrupt image stream: '%s' is larger than %d bytes",
				      shown, OCIS_META_MAX);
	/* Read the metadata entry whole, but keep its data "unread" for
	 * ocis_stream_copy by rewinding our own accounting: we copy from meta. */
	while (r->remaining > 0) {
		unsigned char tmp[8192];
		ssize_t n = take_data(r, tmp, sizeof(tmp), err);
		if (n < 0 || ocis_buf_add(&r->meta, tmp, (size_t)n, err) < 0)
			return -1;
	}
	if (skip_padding(r, err) < 0)
		return -1;
	r->started = 0;
	e->data = r->meta.data ? r->meta.data : (const unsigned char *)"";

	if (kind == OCIS_ENTRY_LAYER) {
		char digest[OCIS_DIGEST_STR_SIZE];

		ocis_layer_desc_release(&r->desc);
		if (!r->in_run)
			return ocis_error_set(err, 0, "corrupt image stream: layer descriptor "
					      "at byte %" PRIu64 " without layer data", hdr_offset);
		if (ocis_layer_desc_from_json(&r->desc, (const char *)e->data, (size_t)size,
					      err) < 0)
			return ocis_error_wrap(err, "layer descriptor at byte %" PRIu64,
					       hdr_offset);
		if (r->desc.size != r->run_bytes)
			return ocis_error_set(err, 0, "corrupt image stream: layer %s says %"
					      PRIu64 " bytes but the stream carried %" PRIu64,
					      r->desc.digest, r->desc.size, r->run_bytes);
		if (r->verify) {
			if (ocis_hash_final(&r->run_hash, digest, err) < 0)
				return -1;
			if (strcmp(digest, r->desc.digest) != 0)
				return ocis_error_set(err, 0, "corrupt image stream: layer data "
						      "has digest %s but its descriptor says %s",
						      digest, r->desc.digest);
		}
		r->in_run = 0;
		e->layer = &r->desc;
	}
	return 1;
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
