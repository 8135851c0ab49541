/* SPDX-License-Identifier: MIT */
/*
 * The decompressor of rootfs tars: see ocistream/decompress.h.
 *
 * gzip, zstd, xz and bzip2 are decompressed here rather than by
 * libarchive: libarchive's gzip reader does not check the CRC-32 and
 * length of each member, and a damaged rootfs must not become a
 * good-looking layer (the gunzip module checks both, with ISA-L's
 * inflate when the build has it; libzstd checks a frame's checksum when
 * it has one, liblzma and libbz2 check theirs); and the tar reader's
 * window (tarin.c) must hold the tar's own bytes whatever the
 * compression.  Several members, frames or streams follow each other
 * (pigz, pbzip2, concatenated files); zero bytes after the last one (tape
 * padding) are ignored, anything else is an error.  Rarer compressions
 * (lzip, lz4, compress) are decompressed by a libarchive reader of its
 * own ("raw" format).
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>
#include <bzlib.h>
#include <lzma.h>
#include <zstd.h>
#include <zstd_errors.h>

#include <ocistream/decompress.h>
#include <ocistream/gunzip.h>

#include "internal.h"
#include "tarhdr-private.h"

/* What is read from the source at a time. */
#define RAW_SIZE (1024 * 1024)

/* C_OTHER: a compression libarchive knows (lz4, lzip, compress, lzma,
 * lzop, ...), decompressed by a libarchive reader of its own ("raw"
 * format) so that the tar reader still gets the tar's own bytes. */
enum codec { C_UNKNOWN, C_NONE, C_GZIP, C_ZSTD, C_XZ, C_BZIP2, C_OTHER };

static const char *const codec_name[] = { "", "", "gzip", "zstd", "xz", "bzip2", "" };
struct ocis_decompress {
	ocis_decompress_read_fn read_fn;
	void *read_ctx;
	enum codec codec;
	unsigned char *raw;		/* RAW_SIZE bytes of input */
	size_t raw_pos, raw_len;
	int raw_eof, dec_done;
	uint64_t in_bytes;
	struct ocis_gunzip *gz;
	ZSTD_DStream *zs;
	size_t zs_left;			/* ZSTD_decompressStream hint: 0 = frame ended */
	int zs_started;
	lzma_stream xz;			/* concatenated streams and their padding */
	int xz_live;
	bz_stream bz;
	int bz_live;
	struct archive *other;		/* C_OTHER's decompressing reader */
	ocis_error_t *err;		/* the first failure, for ocis_decompress_read */
};

/* Keep the first failure's message (returned by ocis_decompress_read). */
static void __attribute__((format(printf, 2, 3)))
fail(struct ocis_decompress *d, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ocis_error_set(&d->err, 0, "%s", msg);
}

/* --- raw input -------------------------------------------------------------- */

/* Read into buf until it holds at least `want` of its `len` bytes, or the
 * input ends: the count, or -1. */
static ssize_t
read_input(struct ocis_decompress *d, unsigned char *buf, size_t len, size_t want)
{
	size_t got = 0;

	while (got < want && !d->raw_eof) {
		ssize_t n = d->read_fn(d->read_ctx, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fail(d, "read error: %s", strerror(errno));
			return -1;
		}
		d->in_bytes += (uint64_t)n;
		got += (size_t)n;
		if (n == 0)
			d->raw_eof = 1;
	}
	return (ssize_t)got;
}

static int
raw_fill(struct ocis_decompress *d)
{
	ssize_t n;

	if (d->raw_pos < d->raw_len || d->raw_eof)
		return 0;
	if ((n = read_input(d, d->raw, RAW_SIZE, 1)) < 0)
		return -1;
	d->raw_pos = 0;
	d->raw_len = (size_t)n;
	return 0;
}

/*
 * Between two members or frames: 1 when another one starts, 0 at the end
 * of the input (zero padding skipped), -1 on anything else.
 */
static int
next_member(struct ocis_decompress *d)
{
	static const unsigned char zstd_magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };

	for (;;) {
		if (raw_fill(d) < 0)
			return -1;
		if (d->raw_pos == d->raw_len)
			return 0;
		if (d->raw[d->raw_pos] != 0)
			break;
		d->raw_pos++;
	}
	/* A member starts with its magic (its first byte suffices here:
	 * a false start fails in the decoder). */
	if (d->codec == C_GZIP && d->raw[d->raw_pos] == 0x1f) {
		ocis_gunzip_reset(d->gz);
		return 1;
	}
	if (d->codec == C_ZSTD && (d->raw[d->raw_pos] == zstd_magic[0] ||
				   (d->raw[d->raw_pos] & 0xf0) == 0x50)) {
		/* ZSTD_decompressStream starts the next frame by itself;
		 * 0x5? is a skippable frame */
		return 1;
	}
	if (d->codec == C_BZIP2 && d->raw[d->raw_pos] == 'B') {
		/* libbz2 reads one stream: a new one, into the same output */
		char *next_out = d->bz.next_out;
		unsigned avail_out = d->bz.avail_out;

		BZ2_bzDecompressEnd(&d->bz);
		memset(&d->bz, 0, sizeof(d->bz));
		if (BZ2_bzDecompressInit(&d->bz, 0, 0) != BZ_OK) {
			d->bz_live = 0;
			fail(d, "bzip2 input: cannot start a stream");
			return -1;
		}
		d->bz.next_out = next_out;
		d->bz.avail_out = avail_out;
		return 1;
	}
	fail(d, "%s input: garbage after the compressed data",
	     codec_name[d->codec]);
	return -1;
}

/* Decompress into out, up to size bytes: the count, -1 on error. */
static ssize_t
inflate_gzip(struct ocis_decompress *d, unsigned char *out, size_t size)
{
	size_t got = 0;

	while (got < size && !d->dec_done) {
		enum ocis_gunzip_status s;
		const char *why = NULL;
		size_t used, n;

		if (raw_fill(d) < 0)
			return -1;
		s = ocis_gunzip_inflate(d->gz, d->raw + d->raw_pos, d->raw_len - d->raw_pos, &used,
					out + got, size - got, &n, &why);
		d->raw_pos += used;
		got += n;
		if (s == OCIS_GUNZIP_ERROR) {
			fail(d, "gzip input is damaged: %s", why);
			return -1;
		}
		if (s == OCIS_GUNZIP_END) {
			int more = next_member(d);
			if (more < 0)
				return -1;
			d->dec_done = more == 0;
		} else if (got < size && d->raw_pos == d->raw_len && d->raw_eof) {
			/* it wants input, and there is none: the member never ended */
			fail(d, "gzip input is truncated");
			return -1;
		}
	}
	return (ssize_t)got;
}

static ssize_t
inflate_zstd(struct ocis_decompress *d, unsigned char *out, size_t size)
{
	ZSTD_outBuffer ob = { out, size, 0 };

	while (ob.pos < ob.size && !d->dec_done) {
		ZSTD_inBuffer ib;
		size_t before = ob.pos;

		if (raw_fill(d) < 0)
			return -1;
		if (d->zs_left == 0 && d->zs_started) {
			/* a frame ended: another one, or padding to the end */
			int more = next_member(d);
			if (more < 0)
				return -1;
			if (more == 0) {
				d->dec_done = 1;
				break;
			}
		}
		ib.src = d->raw + d->raw_pos;
		ib.size = d->raw_len - d->raw_pos;
		ib.pos = 0;
		d->zs_left = ZSTD_decompressStream(d->zs, &ob, &ib);
		d->zs_started = 1;
		if (ZSTD_isError(d->zs_left) &&
		    ZSTD_getErrorCode(d->zs_left) == ZSTD_error_frameParameter_windowTooLarge) {
			/* not damage: libzstd's default limit (128 MiB) keeps
			 * the memory bounded; zstd --long=28 and up go past it */
			fail(d, "zstd input needs a window of more than "
			     "128 MiB (zstd --long above 27): decompress it first, "
					  "with zstd -d --long=31");
			return -1;
		}
		if (ZSTD_isError(d->zs_left)) {
			fail(d, "zstd input is damaged: %s",
			     ZSTD_getErrorName(d->zs_left));
			return -1;
		}
		d->raw_pos += ib.pos;
		if (d->zs_left != 0 && ib.pos == 0 && ob.pos == before && d->raw_eof) {
			/* no progress possible: the frame never ended */
			fail(d, "zstd input is truncated");
			return -1;
		}
	}
	return (ssize_t)ob.pos;
}

/* liblzma with LZMA_CONCATENATED reads stream after stream, and the
 * stream padding between and after them, itself; anything else after the
 * last stream is a format error. */
static ssize_t
inflate_xz(struct ocis_decompress *d, unsigned char *out, size_t size)
{
	d->xz.next_out = out;
	d->xz.avail_out = size;
	while (d->xz.avail_out > 0 && !d->dec_done) {
		lzma_ret lr;

		if (raw_fill(d) < 0)
			return -1;
		d->xz.next_in = d->raw + d->raw_pos;
		d->xz.avail_in = d->raw_len - d->raw_pos;
		lr = lzma_code(&d->xz, d->raw_eof && d->raw_pos == d->raw_len ? LZMA_FINISH :
			       LZMA_RUN);
		d->raw_pos = d->raw_len - d->xz.avail_in;
		if (lr == LZMA_STREAM_END) {
			d->dec_done = 1;
		} else if (lr == LZMA_BUF_ERROR && d->raw_eof) {
			fail(d, "xz input is truncated");
			return -1;
		} else if (lr != LZMA_OK && lr != LZMA_BUF_ERROR) {
			fail(d, "xz input is damaged: %s",
			     lr == LZMA_DATA_ERROR ? "corrupt data or garbage after it" :
					  lr == LZMA_FORMAT_ERROR ? "not in the xz format" :
					  lr == LZMA_OPTIONS_ERROR ? "unsupported options" :
					  lr == LZMA_MEM_ERROR ? "out of memory" : "decoder error");
			return -1;
		}
	}
	return (ssize_t)(size - d->xz.avail_out);
}

static ssize_t
inflate_bzip2(struct ocis_decompress *d, unsigned char *out, size_t size)
{
	d->bz.next_out = (char *)out;
	d->bz.avail_out = size;
	while (d->bz.avail_out > 0 && !d->dec_done) {
		unsigned before_in, before_out;
		int br;

		if (raw_fill(d) < 0)
			return -1;
		d->bz.next_in = (char *)d->raw + d->raw_pos;
		d->bz.avail_in = (unsigned)(d->raw_len - d->raw_pos);
		before_in = d->bz.avail_in;
		before_out = d->bz.avail_out;
		br = BZ2_bzDecompress(&d->bz);
		d->raw_pos = d->raw_len - d->bz.avail_in;
		if (br == BZ_STREAM_END) {
			/* pbzip2 and cat write several streams */
			int more = next_member(d);
			if (more < 0)
				return -1;
			d->dec_done = more == 0;
		} else if (br != BZ_OK) {
			fail(d, "bzip2 input is damaged (%s)",
			     br == BZ_DATA_ERROR ? "data check failed" :
					  br == BZ_DATA_ERROR_MAGIC ? "not in the bzip2 format" :
					  br == BZ_MEM_ERROR ? "out of memory" : "decoder error");
			return -1;
		} else if (d->raw_eof && d->raw_pos == d->raw_len &&
			   d->bz.avail_in == before_in && d->bz.avail_out == before_out) {
			/* no progress possible: the stream never ended */
			fail(d, "bzip2 input is truncated");
			return -1;
		}
	}
	return (ssize_t)(size - d->bz.avail_out);
}

/* C_OTHER's source: the raw input, what detect() read first. */
static la_ssize_t
other_read(struct archive *a, void *ctx, const void **buf)
{
	struct ocis_decompress *d = ctx;
	ssize_t n;

	(void)a;
	if (d->raw_pos == d->raw_len) {
		if ((n = read_input(d, d->raw, RAW_SIZE, 1)) < 0) {
			archive_set_error(a, errno, "read error: %s", strerror(errno));
			return -1;
		}
		d->raw_pos = 0;
		d->raw_len = (size_t)n;
	}
	*buf = d->raw + d->raw_pos;
	n = (ssize_t)(d->raw_len - d->raw_pos);
	d->raw_pos = d->raw_len;
	return n;
}

static int
open_other(struct ocis_decompress *d)
{
	struct archive_entry *ae;

	if ((d->other = archive_read_new()) == NULL) {
		fail(d, "cannot initialise libarchive");
		return -1;
	}
	archive_read_support_filter_all(d->other);
	archive_read_support_format_raw(d->other);
	if (archive_read_open(d->other, d, NULL, other_read, NULL) != ARCHIVE_OK ||
	    archive_read_next_header(d->other, &ae) != ARCHIVE_OK) {
		fail(d, "%s", archive_error_string(d->other) ? archive_error_string(d->other)
		     : "cannot read the input");
		return -1;
	}
	d->codec = C_OTHER;
	return 0;
}

/* C_OTHER: fill out whole, as for uncompressed input. */
static ssize_t
inflate_other(struct ocis_decompress *d, unsigned char *out, size_t size)
{
	size_t got = 0;

	while (got < size) {
		la_ssize_t n = archive_read_data(d->other, out + got, size - got);
		if (n < 0) {
			fail(d, "%s", archive_error_string(d->other) ?
			     archive_error_string(d->other) : "read error");
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* Look at the first bytes of the input: which codec? */
static int
detect(struct ocis_decompress *d)
{
	/* a block, to tell a tar header (a pipe may hand over less at a
	 * time: read_input waits for it) */
	ssize_t n = read_input(d, d->raw, RAW_SIZE, OCIS_BLOCK);
	static const unsigned char xz_magic[6] = { 0xfd, '7', 'z', 'X', 'Z', 0 };

	if (n < 0)
		return -1;
	d->raw_pos = 0;
	d->raw_len = (size_t)n;
	d->codec = C_NONE;
	if (d->raw_len >= 2 && d->raw[0] == 0x1f && d->raw[1] == 0x8b) {
		ocis_error_t *e = NULL;

		if (ocis_gunzip_new(&d->gz, &e) < 0) {
			fail(d, "gzip input: %s", e->msg);
			ocis_error_free(&e);
			return -1;
		}
		d->codec = C_GZIP;
	} else if (d->raw_len >= 4 && d->raw[0] == 0x28 && d->raw[1] == 0xb5 &&
		   d->raw[2] == 0x2f && d->raw[3] == 0xfd) {
		d->zs = ZSTD_createDStream();
		if (d->zs == NULL || ZSTD_isError(ZSTD_initDStream(d->zs))) {
			fail(d, "zstd input: cannot initialise libzstd");
			return -1;
		}
		d->codec = C_ZSTD;
	} else if (d->raw_len >= 6 && memcmp(d->raw, xz_magic, 6) == 0) {
		lzma_stream init = LZMA_STREAM_INIT;

		d->xz = init;
		if (lzma_stream_decoder(&d->xz, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK) {
			fail(d, "xz input: cannot initialise liblzma");
			return -1;
		}
		d->xz_live = 1;
		d->codec = C_XZ;
	} else if (d->raw_len >= 4 && d->raw[0] == 'B' && d->raw[1] == 'Z' && d->raw[2] == 'h' &&
		   d->raw[3] >= '1' && d->raw[3] <= '9') {
		memset(&d->bz, 0, sizeof(d->bz));
		if (BZ2_bzDecompressInit(&d->bz, 0, 0) != BZ_OK) {
			fail(d, "bzip2 input: cannot initialise libbz2");
			return -1;
		}
		d->bz_live = 1;
		d->codec = C_BZIP2;
	} else if (d->raw_len > 0 && (d->raw_len < OCIS_BLOCK ||
				      (!ocis__block_is_zero(d->raw) && !ocis__tar_checksum_lax(d->raw)))) {
		/* no tar header and none of ours: another compression, or
		 * no tar at all (the tar reader says so then); an input
		 * shorter than a block is no tar either */
		return open_other(d);
	}
	return 0;
}

int
ocis_decompress_new(struct ocis_decompress **out, ocis_decompress_read_fn read_fn,
		    void *read_ctx, ocis_error_t **err)
{
	struct ocis_decompress *d = calloc(1, sizeof(*d));

	*out = NULL;
	if (d == NULL || (d->raw = malloc(RAW_SIZE)) == NULL) {
		free(d);
		return ocis_error_oom(err);
	}
	d->read_fn = read_fn;
	d->read_ctx = read_ctx;
	*out = d;
	return 0;
}

ssize_t
ocis_decompress_read(struct ocis_decompress *d, unsigned char *out, size_t size,
		     ocis_error_t **err)
{
	ssize_t n;

	if (d->err == NULL && d->codec == C_UNKNOWN && detect(d) < 0)
		n = -1;
	else if (d->err != NULL)
		n = -1;
	else switch (d->codec) {
	case C_GZIP:
		n = inflate_gzip(d, out, size);
		break;
	case C_ZSTD:
		n = inflate_zstd(d, out, size);
		break;
	case C_XZ:
		n = inflate_xz(d, out, size);
		break;
	case C_BZIP2:
		n = inflate_bzip2(d, out, size);
		break;
	case C_OTHER:
		n = inflate_other(d, out, size);
		break;
	default:
		if (d->raw_pos < d->raw_len) {
			/* what detect() read */
			n = (ssize_t)(d->raw_len - d->raw_pos < size ? d->raw_len - d->raw_pos
								     : size);
			memcpy(out, d->raw + d->raw_pos, (size_t)n);
			d->raw_pos += (size_t)n;
			break;
		}
		/* Straight into out, no copy of the tar; filled whole (a pipe
		 * hands over 64 KiB or less at a time) so that the reader's
		 * window holds whole buffers of headers whatever the source. */
		n = read_input(d, out, size, size);
		break;
	}
	if (n < 0) {
		if (d->err == NULL)
			fail(d, "read error");
		return ocis_error_set(err, 0, "%s", d->err->msg);
	}
	return n;
}

uint64_t
ocis_decompress_input_bytes(const struct ocis_decompress *d)
{
	return d->in_bytes;
}

void
ocis_decompress_free(struct ocis_decompress *d)
{
	if (d == NULL)
		return;
	ocis_gunzip_free(d->gz);
	ZSTD_freeDStream(d->zs);
	if (d->xz_live)
		lzma_end(&d->xz);
	if (d->bz_live)
		BZ2_bzDecompressEnd(&d->bz);
	if (d->other)
		archive_read_free(d->other);
	ocis_error_free(&d->err);
	free(d->raw);
	free(d);
}
