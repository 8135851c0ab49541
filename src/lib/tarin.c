/* SPDX-License-Identifier: MIT */
/*
 * Reading rootfs tars: see ocistream/tarin.h.
 *
 * Input side: our read callback hands libarchive the uncompressed tar in
 * 1 MiB buffers.  gzip, zstd, xz and bzip2 are decompressed here:
 * libarchive's gzip reader does not check the CRC-32 and length of each
 * member, and a damaged rootfs must not become a good-looking layer (zlib
 * checks both; libzstd checks a frame's checksum when it has one, liblzma
 * and libbz2 check theirs); and the window below must hold the tar's own
 * bytes whatever the compression.  Several members, frames or streams
 * follow each other (pigz, pbzip2, concatenated files); zero bytes after
 * the last one (tape padding) are ignored, anything else is an error.
 * Rarer compressions (lzip, lz4, compress) are left to libarchive.
 *
 * The last NWIN buffers handed over are kept (the callback rotates
 * through them, nothing is copied), so that the header blocks of the
 * current entry can be read again: libarchive reads the pax mtime record
 * "-0.25" as +0.25 (it negates only the whole seconds, and -0 is 0).  When
 * an entry's time is between 0 and 1 s with a fraction, the record is
 * looked up in the raw header; if that is impossible (the header is no
 * longer in the window, or libarchive decompressed the input), the entry
 * is refused rather than given a time of the wrong sign.  The other case,
 * "-1.75" read as -1 s + 0.75 s, needs no lookup: POSIX, GNU tar and Go
 * read the decimal -1.75, and it is turned back into that.  The same
 * look at the raw headers finds a link target libarchive dropped and the
 * pax global headers it ignores (fix_entry()).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bzlib.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include <ocistream/stream.h>
#include <ocistream/tarin.h>

#include "imagename-private.h"
#include "internal.h"

#define BUF_SIZE (1024 * 1024)
#define NWIN 3

/* C_OTHER: a compression libarchive knows (lz4, lzip, compress, lzma,
 * lzop, ...), decompressed by a libarchive reader of its own ("raw"
 * format) so that the tar reader still gets the tar's own bytes. */
enum codec { C_UNKNOWN, C_NONE, C_GZIP, C_ZSTD, C_XZ, C_BZIP2, C_OTHER };

static const char *const codec_name[] = { "", "", "gzip", "zstd", "xz", "bzip2", "" };

struct ocis_tarin {
	struct ocis_tarin_opts o;
	struct archive *a;
	ocis_tarin_read_fn read_fn;
	void *read_ctx;
	int fd;				/* ocis_tarin_open_fd */
	/* what libarchive was handed: the last NWIN buffers */
	unsigned char *win[NWIN];
	uint64_t win_off[NWIN];
	size_t win_len[NWIN];
	uint64_t win_nz[NWIN];		/* nz_end when that buffer was handed over */
	uint64_t nz_end;		/* just past the last non-zero byte handed over */
	unsigned cur;			/* the buffer handed over last */
	uint64_t handed;		/* bytes handed over so far */
	int ended;			/* the callback said end of input */
	int input_failed;		/* the callback failed: the message is ours */
	/* raw input and its decompression */
	enum codec codec;
	unsigned char *raw;
	size_t raw_pos, raw_len;
	int raw_eof, dec_done;
	uint64_t in_bytes;
	z_stream gz;
	int gz_live;
	ZSTD_DStream *zs;
	size_t zs_left;			/* ZSTD_decompressStream hint: 0 = frame ended */
	int zs_started;
	lzma_stream xz;			/* concatenated streams and their padding */
	int xz_live;
	bz_stream bz;
	int bz_live;
	struct archive *other;		/* C_OTHER's decompressing reader */
	/* entries */
	int not_image;			/* a name no image archive has */
	int layout_files;		/* 1: oci-layout seen, 2: index.json, 4: manifest.json */
	int docker_files;		/* <id>/..., <id>.json, <id>.tar seen */
	struct archive_entry *ae;
	uint64_t entries, size, data_at;
	char name[256];
};

/* --- raw input -------------------------------------------------------------- */

/* Read into buf until it holds at least `want` of its `len` bytes, or the
 * input ends: the count, or -1. */
static ssize_t
read_input(struct ocis_tarin *t, unsigned char *buf, size_t len, size_t want)
{
	size_t got = 0;

	while (got < want && !t->raw_eof) {
		ssize_t n = t->read_fn(t->read_ctx, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			archive_set_error(t->a, errno, "read error: %s", strerror(errno));
			return -1;
		}
		t->in_bytes += (uint64_t)n;
		got += (size_t)n;
		if (n == 0)
			t->raw_eof = 1;
	}
	return (ssize_t)got;
}

static int
raw_fill(struct ocis_tarin *t)
{
	ssize_t n;

	if (t->raw_pos < t->raw_len || t->raw_eof)
		return 0;
	if ((n = read_input(t, t->raw, BUF_SIZE, 1)) < 0)
		return -1;
	t->raw_pos = 0;
	t->raw_len = (size_t)n;
	return 0;
}

static ssize_t
fd_read(void *ctx, void *buf, size_t len)
{
	return read(*(int *)ctx, buf, len);
}

/*
 * Between two members or frames: 1 when another one starts, 0 at the end
 * of the input (zero padding skipped), -1 on anything else.
 */
static int
next_member(struct ocis_tarin *t)
{
	static const unsigned char zstd_magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };

	for (;;) {
		if (raw_fill(t) < 0)
			return -1;
		if (t->raw_pos == t->raw_len)
			return 0;
		if (t->raw[t->raw_pos] != 0)
			break;
		t->raw_pos++;
	}
	/* A member starts with its magic (its first byte suffices here:
	 * a false start fails in the decoder). */
	if (t->codec == C_GZIP && t->raw[t->raw_pos] == 0x1f) {
		if (inflateReset(&t->gz) != Z_OK) {
			archive_set_error(t->a, EINVAL, "gzip input: cannot start a member");
			return -1;
		}
		return 1;
	}
	if (t->codec == C_ZSTD && (t->raw[t->raw_pos] == zstd_magic[0] ||
				   (t->raw[t->raw_pos] & 0xf0) == 0x50)) {
		/* ZSTD_decompressStream starts the next frame by itself;
		 * 0x5? is a skippable frame */
		return 1;
	}
	if (t->codec == C_BZIP2 && t->raw[t->raw_pos] == 'B') {
		/* libbz2 reads one stream: a new one, into the same output */
		char *next_out = t->bz.next_out;
		unsigned avail_out = t->bz.avail_out;

		BZ2_bzDecompressEnd(&t->bz);
		memset(&t->bz, 0, sizeof(t->bz));
		if (BZ2_bzDecompressInit(&t->bz, 0, 0) != BZ_OK) {
			t->bz_live = 0;
			archive_set_error(t->a, ENOMEM, "bzip2 input: cannot start a stream");
			return -1;
		}
		t->bz.next_out = next_out;
		t->bz.avail_out = avail_out;
		return 1;
	}
	archive_set_error(t->a, EINVAL, "%s input: garbage after the compressed data",
			  codec_name[t->codec]);
	return -1;
}

/* Decompress into out, up to BUF_SIZE bytes: the count, -1 on error. */
static ssize_t
inflate_gzip(struct ocis_tarin *t, unsigned char *out)
{
	int zr;

	t->gz.next_out = out;
	t->gz.avail_out = BUF_SIZE;
	while (t->gz.avail_out > 0 && !t->dec_done) {
		if (raw_fill(t) < 0)
			return -1;
		t->gz.next_in = t->raw + t->raw_pos;
		t->gz.avail_in = (uInt)(t->raw_len - t->raw_pos);
		zr = inflate(&t->gz, Z_NO_FLUSH);
		t->raw_pos = t->raw_len - t->gz.avail_in;
		if (zr == Z_BUF_ERROR && t->raw_pos == t->raw_len && t->raw_eof) {
			/* no progress possible: the member never ended */
			archive_set_error(t->a, EINVAL, "gzip input is truncated");
			return -1;
		}
		if (zr == Z_STREAM_END) {
			int more = next_member(t);
			if (more < 0)
				return -1;
			t->dec_done = more == 0;
		} else if (zr != Z_OK && zr != Z_BUF_ERROR) {
			archive_set_error(t->a, EINVAL, "gzip input is damaged: %s",
					  t->gz.msg ? t->gz.msg : "inflate error");
			return -1;
		}
	}
	return (ssize_t)(BUF_SIZE - t->gz.avail_out);
}

static ssize_t
inflate_zstd(struct ocis_tarin *t, unsigned char *out)
{
	ZSTD_outBuffer ob = { out, BUF_SIZE, 0 };

	while (ob.pos < ob.size && !t->dec_done) {
		ZSTD_inBuffer ib;
		size_t before = ob.pos;

		if (raw_fill(t) < 0)
			return -1;
		if (t->zs_left == 0 && t->zs_started) {
			/* a frame ended: another one, or padding to the end */
			int more = next_member(t);
			if (more < 0)
				return -1;
			if (more == 0) {
				t->dec_done = 1;
				break;
			}
		}
		ib.src = t->raw + t->raw_pos;
		ib.size = t->raw_len - t->raw_pos;
		ib.pos = 0;
		t->zs_left = ZSTD_decompressStream(t->zs, &ob, &ib);
		t->zs_started = 1;
		if (ZSTD_isError(t->zs_left) &&
		    ZSTD_getErrorCode(t->zs_left) == ZSTD_error_frameParameter_windowTooLarge) {
			/* not damage: libzstd's default limit (128 MiB) keeps
			 * the memory bounded; zstd --long=28 and up go past it */
			archive_set_error(t->a, EINVAL, "zstd input needs a window of more than "
					  "128 MiB (zstd --long above 27): decompress it first, "
					  "with zstd -d --long=31");
			return -1;
		}
		if (ZSTD_isError(t->zs_left)) {
			archive_set_error(t->a, EINVAL, "zstd input is damaged: %s",
					  ZSTD_getErrorName(t->zs_left));
			return -1;
		}
		t->raw_pos += ib.pos;
		if (t->zs_left != 0 && ib.pos == 0 && ob.pos == before && t->raw_eof) {
			/* no progress possible: the frame never ended */
			archive_set_error(t->a, EINVAL, "zstd input is truncated");
			return -1;
		}
	}
	return (ssize_t)ob.pos;
}

/* liblzma with LZMA_CONCATENATED reads stream after stream, and the
 * stream padding between and after them, itself; anything else after the
 * last stream is a format error. */
static ssize_t
inflate_xz(struct ocis_tarin *t, unsigned char *out)
{
	t->xz.next_out = out;
	t->xz.avail_out = BUF_SIZE;
	while (t->xz.avail_out > 0 && !t->dec_done) {
		lzma_ret lr;

		if (raw_fill(t) < 0)
			return -1;
		t->xz.next_in = t->raw + t->raw_pos;
		t->xz.avail_in = t->raw_len - t->raw_pos;
		lr = lzma_code(&t->xz, t->raw_eof && t->raw_pos == t->raw_len ? LZMA_FINISH :
			       LZMA_RUN);
		t->raw_pos = t->raw_len - t->xz.avail_in;
		if (lr == LZMA_STREAM_END) {
			t->dec_done = 1;
		} else if (lr == LZMA_BUF_ERROR && t->raw_eof) {
			archive_set_error(t->a, EINVAL, "xz input is truncated");
			return -1;
		} else if (lr != LZMA_OK && lr != LZMA_BUF_ERROR) {
			archive_set_error(t->a, lr == LZMA_MEM_ERROR ? ENOMEM : EINVAL,
					  "xz input is damaged: %s",
					  lr == LZMA_DATA_ERROR ? "corrupt data or garbage after it" :
					  lr == LZMA_FORMAT_ERROR ? "not in the xz format" :
					  lr == LZMA_OPTIONS_ERROR ? "unsupported options" :
					  lr == LZMA_MEM_ERROR ? "out of memory" : "decoder error");
			return -1;
		}
	}
	return (ssize_t)(BUF_SIZE - t->xz.avail_out);
}

static ssize_t
inflate_bzip2(struct ocis_tarin *t, unsigned char *out)
{
	t->bz.next_out = (char *)out;
	t->bz.avail_out = BUF_SIZE;
	while (t->bz.avail_out > 0 && !t->dec_done) {
		unsigned before_in, before_out;
		int br;

		if (raw_fill(t) < 0)
			return -1;
		t->bz.next_in = (char *)t->raw + t->raw_pos;
		t->bz.avail_in = (unsigned)(t->raw_len - t->raw_pos);
		before_in = t->bz.avail_in;
		before_out = t->bz.avail_out;
		br = BZ2_bzDecompress(&t->bz);
		t->raw_pos = t->raw_len - t->bz.avail_in;
		if (br == BZ_STREAM_END) {
			/* pbzip2 and cat write several streams */
			int more = next_member(t);
			if (more < 0)
				return -1;
			t->dec_done = more == 0;
		} else if (br != BZ_OK) {
			archive_set_error(t->a, br == BZ_MEM_ERROR ? ENOMEM : EINVAL,
					  "bzip2 input is damaged (%s)",
					  br == BZ_DATA_ERROR ? "data check failed" :
					  br == BZ_DATA_ERROR_MAGIC ? "not in the bzip2 format" :
					  br == BZ_MEM_ERROR ? "out of memory" : "decoder error");
			return -1;
		} else if (t->raw_eof && t->raw_pos == t->raw_len &&
			   t->bz.avail_in == before_in && t->bz.avail_out == before_out) {
			/* no progress possible: the stream never ended */
			archive_set_error(t->a, EINVAL, "bzip2 input is truncated");
			return -1;
		}
	}
	return (ssize_t)(BUF_SIZE - t->bz.avail_out);
}

static int raw_checksum_ok(const unsigned char *h);

/* C_OTHER's source: the raw input, what detect() read first. */
static la_ssize_t
other_read(struct archive *a, void *ctx, const void **buf)
{
	struct ocis_tarin *t = ctx;
	ssize_t n;

	(void)a;
	if (t->raw_pos == t->raw_len) {
		if ((n = read_input(t, t->raw, BUF_SIZE, 1)) < 0) {
			archive_set_error(a, errno, "read error: %s", strerror(errno));
			return -1;
		}
		t->raw_pos = 0;
		t->raw_len = (size_t)n;
	}
	*buf = t->raw + t->raw_pos;
	n = (ssize_t)(t->raw_len - t->raw_pos);
	t->raw_pos = t->raw_len;
	return n;
}

static int
open_other(struct ocis_tarin *t)
{
	struct archive_entry *ae;

	if ((t->other = archive_read_new()) == NULL) {
		archive_set_error(t->a, ENOMEM, "cannot initialise libarchive");
		return -1;
	}
	archive_read_support_filter_all(t->other);
	archive_read_support_format_raw(t->other);
	if (archive_read_open(t->other, t, NULL, other_read, NULL) != ARCHIVE_OK ||
	    archive_read_next_header(t->other, &ae) != ARCHIVE_OK) {
		archive_set_error(t->a, archive_errno(t->other), "%s",
				  archive_error_string(t->other) ? archive_error_string(t->other)
								 : "cannot read the input");
		return -1;
	}
	t->codec = C_OTHER;
	return 0;
}

/* C_OTHER: fill out whole (the window holds NWIN MiB, as for the rest). */
static ssize_t
inflate_other(struct ocis_tarin *t, unsigned char *out)
{
	size_t got = 0;

	while (got < BUF_SIZE) {
		la_ssize_t n = archive_read_data(t->other, out + got, BUF_SIZE - got);
		if (n < 0) {
			archive_set_error(t->a, archive_errno(t->other), "%s",
					  archive_error_string(t->other) ?
					  archive_error_string(t->other) : "read error");
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
detect(struct ocis_tarin *t)
{
	/* a block, to tell a tar header (a pipe may hand over less at a
	 * time: read_input waits for it) */
	ssize_t n = read_input(t, t->raw, BUF_SIZE, OCIS_BLOCK);
	static const unsigned char xz_magic[6] = { 0xfd, '7', 'z', 'X', 'Z', 0 };

	if (n < 0)
		return -1;
	t->raw_pos = 0;
	t->raw_len = (size_t)n;
	t->codec = C_NONE;
	if (t->raw_len >= 2 && t->raw[0] == 0x1f && t->raw[1] == 0x8b) {
		memset(&t->gz, 0, sizeof(t->gz));
		if (inflateInit2(&t->gz, 15 + 16) != Z_OK) {
			archive_set_error(t->a, ENOMEM, "gzip input: cannot initialise zlib");
			return -1;
		}
		t->gz_live = 1;
		t->codec = C_GZIP;
	} else if (t->raw_len >= 4 && t->raw[0] == 0x28 && t->raw[1] == 0xb5 &&
		   t->raw[2] == 0x2f && t->raw[3] == 0xfd) {
		t->zs = ZSTD_createDStream();
		if (t->zs == NULL || ZSTD_isError(ZSTD_initDStream(t->zs))) {
			archive_set_error(t->a, ENOMEM, "zstd input: cannot initialise libzstd");
			return -1;
		}
		t->codec = C_ZSTD;
	} else if (t->raw_len >= 6 && memcmp(t->raw, xz_magic, 6) == 0) {
		lzma_stream init = LZMA_STREAM_INIT;

		t->xz = init;
		if (lzma_stream_decoder(&t->xz, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK) {
			archive_set_error(t->a, ENOMEM, "xz input: cannot initialise liblzma");
			return -1;
		}
		t->xz_live = 1;
		t->codec = C_XZ;
	} else if (t->raw_len >= 4 && t->raw[0] == 'B' && t->raw[1] == 'Z' && t->raw[2] == 'h' &&
		   t->raw[3] >= '1' && t->raw[3] <= '9') {
		memset(&t->bz, 0, sizeof(t->bz));
		if (BZ2_bzDecompressInit(&t->bz, 0, 0) != BZ_OK) {
			archive_set_error(t->a, ENOMEM, "bzip2 input: cannot initialise libbz2");
			return -1;
		}
		t->bz_live = 1;
		t->codec = C_BZIP2;
	} else if (t->raw_len > 0 && (t->raw_len < OCIS_BLOCK ||
				      (!ocis__block_is_zero(t->raw) && !raw_checksum_ok(t->raw)))) {
		/* no tar header and none of ours: another compression, or
		 * no tar at all (the tar reader says so then); an input
		 * shorter than a block is no tar either */
		return open_other(t);
	}
	return 0;
}

static la_ssize_t
input_read(struct archive *a, void *ctx, const void **buf)
{
	struct ocis_tarin *t = ctx;
	unsigned next = (t->cur + 1) % NWIN;
	unsigned char *out = t->win[next];
	ssize_t n;

	(void)a;
	if (t->codec == C_UNKNOWN && detect(t) < 0) {
		t->input_failed = 1;
		return -1;
	}
	switch (t->codec) {
	case C_GZIP:
		n = inflate_gzip(t, out);
		break;
	case C_ZSTD:
		n = inflate_zstd(t, out);
		break;
	case C_XZ:
		n = inflate_xz(t, out);
		break;
	case C_BZIP2:
		n = inflate_bzip2(t, out);
		break;
	case C_OTHER:
		n = inflate_other(t, out);
		break;
	default:
		if (t->raw_pos < t->raw_len) {
			/* what detect() read */
			n = (ssize_t)(t->raw_len - t->raw_pos);
			memcpy(out, t->raw + t->raw_pos, (size_t)n);
			t->raw_pos = t->raw_len;
			break;
		}
		/* Straight into the window, no copy of the tar; filled whole
		 * (a pipe hands over 64 KiB or less at a time) so that the
		 * window holds NWIN MiB of headers whatever the source. */
		n = read_input(t, out, BUF_SIZE, BUF_SIZE);
		break;
	}
	if (n < 0) {
		t->input_failed = 1;
		return -1;
	}
	t->ended = n == 0;
	if (n > 0 && t->o.tap)
		t->o.tap(t->o.tap_ctx, out, (size_t)n);
	t->cur = next;
	t->win_off[next] = t->handed;
	t->win_len[next] = (size_t)n;
	/* where the zeros before each buffer start: zero blocks between
	 * concatenated archives may reach back past the window (see
	 * raw_headers); the scan stops at the first non-zero byte from the
	 * end, so it costs nothing on tar data */
	t->win_nz[next] = t->nz_end;
	for (size_t k = (size_t)n; k > 0; k--)
		if (out[k - 1] != 0) {
			t->nz_end = t->handed + k;
			break;
		}
	t->handed += (uint64_t)n;
	*buf = out;
	return n;
}

/* --- the pax mtime record, read again -------------------------------------- */

/* Copy len bytes at offset off of the tar from the window: 0, or -1 when
 * they are not all there. */
static int
window_get(const struct ocis_tarin *t, uint64_t off, unsigned char *dst, size_t len)
{
	while (len > 0) {
		unsigned i;
		for (i = 0; i < NWIN; i++)
			if (t->win_len[i] && off >= t->win_off[i] &&
			    off < t->win_off[i] + t->win_len[i])
				break;
		if (i == NWIN)
			return -1;
		size_t at = (size_t)(off - t->win_off[i]);
		size_t k = t->win_len[i] - at < len ? t->win_len[i] - at : len;
		memcpy(dst, t->win[i] + at, k);
		dst += k;
		off += k;
		len -= k;
	}
	return 0;
}

/* The next "len key=value\n" record of a pax header body at *pos: 1 with
 * the key and value, 0 at the end or at a malformed record (libarchive
 * already refused those). */
static int
pax_record(const unsigned char *p, size_t len, size_t *pos, const unsigned char **key,
	   size_t *klen, const unsigned char **val, size_t *vlen)
{
	size_t i = *pos, rl = 0, j = i, k;

	while (j < len && p[j] >= '0' && p[j] <= '9' && rl < len)
		rl = rl * 10 + (size_t)(p[j++] - '0');
	if (i >= len || j >= len || p[j] != ' ' || rl > len - i || rl <= j + 1 - i)
		return 0;
	j++;
	/* the record is p[i .. i+rl), its "key=value\n" starts at j */
	for (k = j; k < i + rl - 1 && p[k] != '='; k++)
		;
	if (k == i + rl - 1)
		return 0;
	*key = p + j;
	*klen = k - j;
	*val = p + k + 1;
	*vlen = i + rl - 1 - (k + 1);
	*pos = i + rl;
	return 1;
}

static int
key_is(const unsigned char *key, size_t klen, const char *s)
{
	return klen == strlen(s) && memcmp(key, s, klen) == 0;
}

/* What the raw headers of an entry say that libarchive does not pass on. */
struct raw_info {
	int mtime_neg;			/* the last "mtime" record is negative: 1, 0; -1 none */
	unsigned char *linkpath;	/* the last "linkpath" record (malloc'ed), or NULL */
	size_t linkpath_len;
	char type;			/* the entry's own typeflag */
	char global_key[64];		/* a pax global record that would change entries */
};

/* The records of one pax header body ('x' or 'g') into *ri: -1 out of memory. */
static int
raw_records(struct raw_info *ri, char type, const unsigned char *p, size_t len)
{
	const unsigned char *key, *val;
	size_t klen, vlen, pos = 0;

	while (pax_record(p, len, &pos, &key, &klen, &val, &vlen)) {
		if (type == 'g') {
			/* Records that change no entry are what git archive
			 * (comment) and the tar programs put there. */
			if (vlen > 0 && !key_is(key, klen, "comment") &&
			    !key_is(key, klen, "atime") && !key_is(key, klen, "ctime") &&
			    !key_is(key, klen, "charset") && !key_is(key, klen, "hdrcharset") &&
			    ri->global_key[0] == 0)
				snprintf(ri->global_key, sizeof(ri->global_key), "%.*s",
					 (int)(klen < 48 ? klen : 48), (const char *)key);
		} else if (key_is(key, klen, "mtime")) {
			ri->mtime_neg = vlen > 0 && val[0] == '-';
		} else if (key_is(key, klen, "linkpath")) {
			free(ri->linkpath);
			if ((ri->linkpath = malloc(vlen + 1)) == NULL)
				return -1;
			memcpy(ri->linkpath, val, vlen);
			ri->linkpath[vlen] = 0;
			ri->linkpath_len = vlen;
		}
	}
	return 0;
}

/* A numeric header field the way libarchive reads it (blanks, then octal
 * digits up to the first other byte; or GNU base-256), so that the walk
 * below follows the headers libarchive followed.  -1 when negative or
 * too large. */
static int
raw_num(const unsigned char *p, size_t width, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	if (p[0] & 0x80)
		return ocis__tar_parse_num(p, width, out);
	while (i < width && (p[i] == ' ' || p[i] == '\t'))
		i++;
	for (; i < width && p[i] >= '0' && p[i] <= '7'; i++) {
		if (v >> 61)
			return -1;
		v = (v << 3) | (uint64_t)(p[i] - '0');
	}
	*out = v;
	return 0;
}

/* libarchive takes a checksum that sums the bytes as unsigned or as
 * signed chars (old tars did the latter). */
static int
raw_checksum_ok(const unsigned char *h)
{
	uint64_t stored;
	int64_t ssum = 0;
	uint64_t usum = 0;
	size_t i;

	if (raw_num(h + TH_CHKSUM, 8, &stored) < 0)
		return 0;
	for (i = 0; i < OCIS_BLOCK; i++) {
		unsigned char c = (i >= TH_CHKSUM && i < TH_CHKSUM + 8) ? ' ' : h[i];
		usum += c;
		ssum += (signed char)c;
	}
	return stored == usum || (int64_t)stored == ssum;
}

/* off is before the window: when every byte from off to the window's
 * start was zero (the blocks between concatenated archives, which a big
 * blocking factor makes megabytes long), move off to the first block
 * boundary in the window.  1 when moved. */
static int
skip_lost_zeros(const struct ocis_tarin *t, uint64_t *off)
{
	unsigned char b[OCIS_BLOCK];
	unsigned i, o = NWIN;
	uint64_t to;
	size_t k;

	for (i = 0; i < NWIN; i++)
		if (t->win_len[i] && (o == NWIN || t->win_off[i] < t->win_off[o]))
			o = i;
	if (o == NWIN || *off >= t->win_off[o] || t->win_nz[o] > *off)
		return 0;
	to = t->win_off[o] + ocis__pad512(t->win_off[o]);
	k = (size_t)(to - t->win_off[o]);
	if (k > 0 && (window_get(t, t->win_off[o], b, k) < 0 || b[0] != 0 ||
		      memcmp(b, b + 1, k - 1) != 0))
		return 0;
	*off = to;
	return 1;
}

/* What raw_headers() found. */
enum raw_result {
	RAW_NOT_OURS = 0,	/* libarchive decompressed the input: no raw bytes */
	RAW_READ = 1,		/* *ri filled in */
	RAW_LOST = 2,		/* the headers are ours but could not all be read */
};

/*
 * Read the current entry's header blocks again from the window.  They
 * start at archive_read_header_position(): zero blocks (between
 * concatenated archives), extension headers (pax 'x' and 'g', GNU 'L',
 * 'K', ...), then the entry's own header.  When the input is ours, every
 * one of them is read, whatever their length: a run that the window no
 * longer holds (more than 2 MiB of GNU long names before the entry, say)
 * is RAW_LOST, which the caller refuses, so that no pax global header
 * can hide before the window.  -1 out of memory.
 */
static int
raw_headers(struct ocis_tarin *t, struct raw_info *ri)
{
	unsigned char h[OCIS_BLOCK], *body = NULL;
	uint64_t off = (uint64_t)archive_read_header_position(t->a), size;
	int guard, r = RAW_LOST;

	memset(ri, 0, sizeof(*ri));
	ri->mtime_neg = -1;
	if (archive_filter_code(t->a, 0) != ARCHIVE_FILTER_NONE)
		return RAW_NOT_OURS;	/* libarchive decompressed it: not our bytes */
	/* zero blocks are not counted; libarchive allows fewer extension
	 * headers than the guard ("Too many special headers") */
	for (guard = 0; guard < 64;) {
		if (window_get(t, off, h, OCIS_BLOCK) < 0) {
			if (skip_lost_zeros(t, &off))
				continue;
			break;
		}
		off += OCIS_BLOCK;
		if (ocis__block_is_zero(h))
			continue;
		guard++;
		if (!raw_checksum_ok(h))
			break;
		if (strchr("xXgLKVA", h[TH_TYPE]) == NULL || h[TH_TYPE] == 0) {
			/* the entry's own header: the records seen are its own */
			ri->type = (char)h[TH_TYPE];
			r = RAW_READ;
			break;
		}
		if (raw_num(h + TH_SIZE, 12, &size) < 0 || size > NWIN * BUF_SIZE)
			break;
		if (h[TH_TYPE] == 'x' || h[TH_TYPE] == 'X' || h[TH_TYPE] == 'g') {
			free(body);
			body = malloc(size ? size : 1);
			if (body == NULL) {
				r = -1;
				break;
			}
			if (window_get(t, off, body, size) < 0)
				break;
			if (raw_records(ri, h[TH_TYPE] == 'g' ? 'g' : 'x', body, size) < 0) {
				r = -1;
				break;
			}
		}
		off += ocis__tar_span(size);
	}
	free(body);
	if (r != RAW_READ) {
		free(ri->linkpath);
		ri->linkpath = NULL;
	}
	return r;
}

/*
 * libarchive's slips, corrected from the raw headers (ri, when have_ri):
 * - the pax mtime record "-1.75" read as -1 s + 0.75 s, and "-0.25" as
 *   +0.25 s (it negates the whole seconds only, and -0 is 0);
 * - a pax linkpath record dropped when the header's own linkname field
 *   is empty (as Go writes it for a target without ASCII characters),
 *   for the first link of the archive (libarchive 3.6): the symlink has
 *   no target, the hardlink is no hardlink.
 * A pax global header that would change the entries after it (libarchive
 * ignores them; GNU tar and Python apply them) is refused.
 */
static int
fix_entry(struct ocis_tarin *t, struct archive_entry *ae, ocis_error_t **err)
{
	struct raw_info ri;
	time_t s = archive_entry_mtime(ae);
	long ns = archive_entry_mtime_nsec(ae);
	int have_ri = raw_headers(t, &ri), ret = -1;

	if (have_ri < 0)
		return ocis_error_oom(err);
	if (have_ri != RAW_NOT_OURS && ri.global_key[0]) {
		ocis_error_set(err, 0, "%s: entry '%s': a pax global header before it sets "
			       "'%s' for all later entries, which is not supported (only "
			       "'comment' is)", t->o.what, t->name, ri.global_key);
		goto out;
	}
	if (have_ri == RAW_LOST) {
		ocis_error_set(err, 0, "%s: entry '%s': its headers from tar byte %" PRId64 " on "
			       "are too long to check (over 2 MiB of pax or GNU long-name "
			       "headers, or of sparse map): a pax global header could hide "
			       "among them", t->o.what, t->name,
			       (int64_t)archive_read_header_position(t->a));
		goto out;
	}
	if (have_ri == RAW_READ && ri.linkpath && ri.linkpath_len > 0) {
		if (ri.type == '2' && archive_entry_filetype(ae) == AE_IFLNK &&
		    archive_entry_symlink(ae) == NULL)
			archive_entry_copy_symlink(ae, (const char *)ri.linkpath);
		else if (ri.type == '1' && archive_entry_hardlink(ae) == NULL &&
			 archive_entry_symlink(ae) == NULL)
			archive_entry_copy_hardlink(ae, (const char *)ri.linkpath);
	}
	if (archive_entry_mtime_is_set(ae)) {
		if (ns < 0 || ns > 999999999)
			ns = 0;
		if (s < 0 && ns > 0) {
			/* "-1.75" read as -1 + 0.75 */
			archive_entry_set_mtime(ae, s - 1, 1000000000L - ns);
		} else if (s == 0 && ns > 0) {
			if (have_ri != RAW_READ) {
				ocis_error_set(err, 0, "%s: entry '%s': its pax mtime (between -1 "
					       "and 1 s) cannot be read back to tell its sign; "
					       "give the tar uncompressed or gzip-compressed",
					       t->o.what, t->name);
				goto out;
			}
			if (ri.mtime_neg == 1)
				archive_entry_set_mtime(ae, -1, 1000000000L - ns);
		} else {
			archive_entry_set_mtime(ae, s, ns);
		}
	}
	ret = 0;
out:
	if (have_ri > 0)
		free(ri.linkpath);
	return ret;
}

/* --- entries ---------------------------------------------------------------- */

static int
is_charset_warning(const char *m)
{
	return m != NULL && (strstr(m, "can't be converted") != NULL ||
			     strstr(m, "Can't translate") != NULL);
}

static int
empty_input(const struct ocis_tarin *t, ocis_error_t **err)
{
	return ocis_error_set(err, 0, "%s: empty input (expected a rootfs tar)", t->o.what);
}

static int
tarin_open(struct ocis_tarin **out, ocis_tarin_read_fn read_fn, void *read_ctx, int fd,
	   const struct ocis_tarin_opts *o, ocis_error_t **err)
{
	struct ocis_tarin *t = calloc(1, sizeof(*t));
	unsigned i;

	*out = NULL;
	if (t == NULL)
		return ocis_error_oom(err);
	*out = t;
	t->o = *o;
	t->fd = fd;
	t->read_fn = read_fn ? read_fn : fd_read;
	t->read_ctx = read_fn ? read_ctx : &t->fd;
	t->cur = NWIN - 1;
	t->raw = malloc(BUF_SIZE);
	if (t->raw == NULL)
		return ocis_error_oom(err);
	for (i = 0; i < NWIN; i++)
		if ((t->win[i] = malloc(BUF_SIZE)) == NULL)
			return ocis_error_oom(err);
	t->a = archive_read_new();
	if (t->a == NULL)
		return ocis_error_oom(err);
	archive_read_support_filter_all(t->a);
	archive_read_support_format_tar(t->a);
	archive_read_support_format_gnutar(t->a);
	if (archive_read_set_format_option(t->a, "tar", "read_concatenated_archives", "1") !=
	    ARCHIVE_OK)
		return ocis_error_set(err, 0, "%s: cannot configure libarchive: %s", o->what,
				      archive_error_string(t->a));
	/* libarchive reads the first bytes here, to tell the compression */
	if (archive_read_open(t->a, t, NULL, input_read, NULL) != ARCHIVE_OK) {
		if (t->handed == 0 && t->ended)
			return t->o.layer_blob ? 0 : empty_input(t, err);
		return ocis_error_set(err, 0, "%s: %s%s", o->what,
				      archive_error_string(t->a) ?
				      archive_error_string(t->a) : "cannot read it",
				      t->input_failed ? "" : " (is it a tar archive?)");
	}
	return 0;
}

static int
opened(struct ocis_tarin **out, int r)
{
	if (r < 0) {
		ocis_tarin_free(*out);
		*out = NULL;
	}
	return r;
}

int
ocis_tarin_open(struct ocis_tarin **out, ocis_tarin_read_fn read_fn, void *read_ctx,
		const struct ocis_tarin_opts *o, ocis_error_t **err)
{
	return opened(out, tarin_open(out, read_fn, read_ctx, -1, o, err));
}

int
ocis_tarin_open_fd(struct ocis_tarin **out, int fd, const struct ocis_tarin_opts *o,
		   ocis_error_t **err)
{
	return opened(out, tarin_open(out, NULL, NULL, fd, o, err));
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

/* After the end of the archive: the rest of the input, for the tap. */
static int
drain(struct ocis_tarin *t, ocis_error_t **err)
{
	const void *buf;
	la_ssize_t n;

	while (t->o.tap && !t->ended) {
		if ((n = input_read(t->a, t, &buf)) < 0) {
			const char *m = archive_error_string(t->a);
			return ocis_error_set(err, 0, "%s: after the end of the archive: %s",
					      t->o.what, m ? m : "read error");
		}
	}
	return 0;
}

int
ocis_tarin_next(struct ocis_tarin *t, struct archive_entry **ae, ocis_error_t **err)
{
	const char *m;
	int r;

	if (t->o.layer_blob && t->handed == 0 && t->ended)
		return 0;	/* an empty blob: an empty layer */
	r = archive_read_next_header(t->a, &t->ae);
	m = archive_error_string(t->a);
	if (r == ARCHIVE_EOF) {
		if (t->handed == 0)
			return t->o.layer_blob ? 0 : empty_input(t, err);
		/* libarchive takes a tar cut exactly between two entries for
		 * a normal end; a real archive ends with zero blocks after its
		 * last entry, so insist on seeing at least one. */
		if (!t->o.layer_blob && archive_filter_bytes(t->a, 0) <
		    archive_read_header_position(t->a) + OCIS_BLOCK)
			return ocis_error_set(err, 0, "%s: archive ends after %" PRIu64 " entries "
					      "without an end-of-archive marker (truncated input?)",
					      t->o.what, t->entries);
		/* Nothing but the members of an OCI image layout: the layer
		 * would be an image in a layer.  Known only at the end, so the
		 * output already written fails with this error. */
		if (!t->o.layer_blob && !t->not_image && (t->layout_files & 3) == 3)
			return ocis_error_set(err, 0, "%s: the input is an OCI image tarball, not "
					      "a rootfs tar (oci-flatten writes its rootfs)",
					      t->o.what);
		/* docker save's archive: manifest.json and <id> members */
		if (!t->o.layer_blob && !t->not_image && (t->layout_files & 4) &&
		    t->docker_files)
			return ocis_error_set(err, 0, "%s: the input is a docker-archive image "
					      "(docker save), not a rootfs tar (skopeo copy "
					      "docker-archive:FILE oci-archive:OUT converts it)",
					      t->o.what);
		return drain(t, err);
	}
	if (r == ARCHIVE_WARN && is_charset_warning(m)) {
		/* libarchive keeps the name bytes as they are when it cannot
		 * convert them: bytes in, same bytes out is what we want */
		r = ARCHIVE_OK;
	}
	if (r == ARCHIVE_WARN) {
		char s1[256];
		const char *n = ocis__shown(archive_entry_pathname(t->ae) ?
					    archive_entry_pathname(t->ae) : "", s1, sizeof(s1));
		/* libarchive dropped or guessed something (a malformed pax
		 * record, a damaged header): the tree would not be the input */
		if (!t->o.layer_blob)
			return ocis_error_set(err, 0, "%s: entry '%s': %s", t->o.what, n,
					      m ? m : "damaged header");
		ocis__warnf(t->o.warn, t->o.cb_ctx, "%s: entry '%s': %s", t->o.what, n,
			    m ? m : "damaged header");
		r = ARCHIVE_OK;
	}
	if (r != ARCHIVE_OK) {
		if (t->handed == 0 && t->ended && !t->o.layer_blob)
			return empty_input(t, err);
		if (t->entries)
			return ocis_error_set(err, 0, "%s: %s (after entry '%s', tar byte %" PRId64
					      ")", t->o.what, m ? m : "read error", t->name,
					      (int64_t)archive_filter_bytes(t->a, 0));
		return ocis_error_set(err, 0, "%s: %s%s", t->o.what, m ? m : "read error",
				      t->input_failed ? "" : " (is it a tar archive?)");
	}
	if (t->entries == 0 && !t->o.layer_blob && is_image_stream(t->ae))
		return ocis_error_set(err, 0, "%s: the input is an image stream, not a rootfs "
				      "tar (oci-layer already ran on it)", t->o.what);
	ocis__shown(archive_entry_pathname(t->ae) ? archive_entry_pathname(t->ae) : "",
		    t->name, sizeof(t->name));
	if (!t->not_image) {
		const char *p = archive_entry_pathname(t->ae) ? archive_entry_pathname(t->ae) : "";
		const char *n = ocis__layout_member_name(p);

		while (p[0] == '.' && p[1] == '/')
			p += 2;
		if (n != NULL && !strcmp(n, "oci-layout"))
			t->layout_files |= 1;	/* both are required in a layout: */
		else if (n != NULL && !strcmp(n, "index.json"))
			t->layout_files |= 2;	/* a site may be just index.json */
		else if (n != NULL && !strcmp(n, "manifest.json"))
			t->layout_files |= 4;
		else if (n == NULL && ocis__docker_archive_name(p))
			t->docker_files = 1;
		else if (n == NULL)
			t->not_image = 1;
	}
	if (fix_entry(t, t->ae, err) < 0)
		return -1;
	t->entries++;
	t->size = archive_entry_size(t->ae) > 0 ? (uint64_t)archive_entry_size(t->ae) : 0;
	t->data_at = 0;
	*ae = t->ae;
	return 1;
}

int
ocis_tarin_data(struct ocis_tarin *t, const void **buf, size_t *len, uint64_t *off,
		ocis_error_t **err)
{
	la_int64_t o;
	int r = archive_read_data_block(t->a, buf, len, &o);

	if (r == ARCHIVE_EOF)
		return 0;
	if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
		return ocis_error_set(err, 0, "%s: entry '%s': %s", t->o.what, t->name,
				      archive_error_string(t->a) ? archive_error_string(t->a)
								 : "read error");
	if (o < 0 || (uint64_t)o < t->data_at || (uint64_t)o + *len > t->size)
		return ocis_error_set(err, 0, "%s: entry '%s': data outside the file's size",
				      t->o.what, t->name);
	t->data_at = (uint64_t)o + *len;
	*off = (uint64_t)o;
	return 1;
}

const char *
ocis_tarin_name(const struct ocis_tarin *t)
{
	return t->name;
}

uint64_t
ocis_tarin_input_bytes(const struct ocis_tarin *t)
{
	return t->in_bytes;
}

void
ocis_tarin_free(struct ocis_tarin *t)
{
	unsigned i;

	if (t == NULL)
		return;
	if (t->a)
		archive_read_free(t->a);
	if (t->gz_live)
		inflateEnd(&t->gz);
	ZSTD_freeDStream(t->zs);
	if (t->xz_live)
		lzma_end(&t->xz);
	if (t->bz_live)
		BZ2_bzDecompressEnd(&t->bz);
	if (t->other)
		archive_read_free(t->other);
	for (i = 0; i < NWIN; i++)
		free(t->win[i]);
	free(t->raw);
	free(t);
}
