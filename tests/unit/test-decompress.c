/* SPDX-License-Identifier: MIT */
/* Unit tests: the decompressor (ocistream/decompress.h): members and
 * frames in a row read as one, zero padding after them skipped, and every
 * kind of damage an error, never data: a bad CRC, a member cut short,
 * garbage after the last one, a bad zstd checksum. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>
#include <zstd.h>

#include <ocistream/decompress.h>
#include <ocistream/io.h>

#include "../tap.h"

/* An in-memory source handing over at most `step` bytes a call, as a
 * pipe does. */
struct src {
	const unsigned char *p;
	size_t len, pos, step;
};

static ssize_t
src_read(void *ctx, void *buf, size_t len)
{
	struct src *s = ctx;
	size_t n = s->len - s->pos;

	if (n > len)
		n = len;
	if (n > s->step)
		n = s->step;
	memcpy(buf, s->p + s->pos, n);
	s->pos += n;
	return (ssize_t)n;
}

/* What the source hands over at most a call (headers and trailers cut
 * between calls when small). */
static size_t read_step = 4096;

/* Everything the decompressor gives for in[0..n) into *out: 0, or -1
 * with its message in msg. */
static int
decompress_all(const unsigned char *in, size_t n, struct ocis_buf *out, char *msg, size_t msize,
	       uint64_t *in_bytes)
{
	struct src s = { in, n, 0, read_step };
	struct ocis_decompress *d;
	ocis_error_t *err = NULL;
	unsigned char buf[65536];
	ssize_t k;

	msg[0] = 0;
	TAP_MUST(ocis_decompress_new(&d, src_read, &s, NULL) == 0);
	while ((k = ocis_decompress_read(d, buf, sizeof(buf), &err)) > 0)
		TAP_MUST(ocis_buf_add(out, buf, (size_t)k, NULL) == 0);
	if (k < 0)
		snprintf(msg, msize, "%s", err->msg);
	if (in_bytes)
		*in_bytes = ocis_decompress_input_bytes(d);
	ocis_error_free(&err);
	ocis_decompress_free(d);
	return k < 0 ? -1 : 0;
}

/* gzip member of data[0..n) appended to out; with hdr, its header has
 * those fields (FEXTRA, FNAME, FCOMMENT, FHCRC as hdr says). */
static void
gzip_member_hdr(struct ocis_buf *out, const unsigned char *data, size_t n, gz_header *hdr)
{
	z_stream z;
	unsigned char buf[1 << 16];

	memset(&z, 0, sizeof(z));
	TAP_MUST(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
	if (hdr)
		TAP_MUST(deflateSetHeader(&z, hdr) == Z_OK);
	z.next_in = (unsigned char *)data;
	z.avail_in = (uInt)n;
	z.next_out = buf;
	z.avail_out = sizeof(buf);
	TAP_MUST(deflate(&z, Z_FINISH) == Z_STREAM_END);
	TAP_MUST(ocis_buf_add(out, buf, sizeof(buf) - z.avail_out, NULL) == 0);
	deflateEnd(&z);
}

static void
gzip_member(struct ocis_buf *out, const unsigned char *data, size_t n)
{
	gzip_member_hdr(out, data, n, NULL);
}

/* zstd frame of data[0..n), with a content checksum, appended to out. */
static void
zstd_frame(struct ocis_buf *out, const unsigned char *data, size_t n)
{
	ZSTD_CCtx *c = ZSTD_createCCtx();
	unsigned char buf[1 << 16];
	size_t k;

	TAP_MUST(c != NULL);
	TAP_MUST(!ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1)));
	k = ZSTD_compress2(c, buf, sizeof(buf), data, n);
	TAP_MUST(!ZSTD_isError(k));
	TAP_MUST(ocis_buf_add(out, buf, k, NULL) == 0);
	ZSTD_freeCCtx(c);
}

/* The payloads: text that compresses (so that a flipped byte lands in
 * compressed data), distinct for each member. */
static unsigned char one[20000], two[30000];

static void
payloads(void)
{
	size_t i;

	for (i = 0; i < sizeof(one); i++)
		one[i] = (unsigned char)("abcdefgh"[i % 8] + (i / 1000) % 3);
	for (i = 0; i < sizeof(two); i++)
		two[i] = (unsigned char)('0' + (i * 7 + i / 97) % 10);
}

/* out is one then two */
static int
is_both(const struct ocis_buf *out)
{
	return out->len == sizeof(one) + sizeof(two) && memcmp(out->data, one, sizeof(one)) == 0 &&
	       memcmp(out->data + sizeof(one), two, sizeof(two)) == 0;
}

static int
test_gzip_members_and_padding(void)
{
	static const unsigned char zeros[1000];
	struct ocis_buf in = OCIS_BUF_INIT, out = OCIS_BUF_INIT;
	char msg[256];
	uint64_t in_bytes;

	gzip_member(&in, one, sizeof(one));
	gzip_member(&in, two, sizeof(two));
	TAP_MUST(ocis_buf_add(&in, zeros, sizeof(zeros), NULL) == 0);
	TAP_CHECK(decompress_all(in.data, in.len, &out, msg, sizeof(msg), &in_bytes) == 0);
	TAP_CHECK(is_both(&out));
	TAP_CHECK(in_bytes == in.len);
	ocis_buf_release(&in);
	ocis_buf_release(&out);
	return 0;
}

/* A gzip member whose trailer is changed at byte `at` from its end (8:
 * the CRC-32, 4: the length) is refused. */
static int
gzip_trailer_refused(size_t at)
{
	struct ocis_buf in = OCIS_BUF_INIT, out = OCIS_BUF_INIT;
	char msg[256];

	gzip_member(&in, one, sizeof(one));
	in.data[in.len - at] ^= 0x01;
	TAP_CHECK(decompress_all(in.data, in.len, &out, msg, sizeof(msg), NULL) == -1);
	TAP_CHECK(strstr(msg, "gzip input is damaged") != NULL);
	ocis_buf_release(&in);
	ocis_buf_release(&out);
	return 0;
}

static int
test_gzip_bad_crc(void)
{
	return gzip_trailer_refused(8);
}

static int
test_gzip_bad_length(void)
{
	return gzip_trailer_refused(4);
}

static int
test_gzip_truncated_member(void)
{
	struct ocis_buf in = OCIS_BUF_INIT, out = OCIS_BUF_INIT;
	char msg[256];

	gzip_member(&in, one, sizeof(one));
	gzip_member(&in, two, sizeof(two));
	TAP_CHECK(decompress_all(in.data, in.len - 3, &out, msg, sizeof(msg), NULL) == -1);
	TAP_CHECK(strstr(msg, "gzip input is truncated") != NULL);
	ocis_buf_release(&in);
	ocis_buf_release(&out);
	return 0;
}

static int
test_gzip_trailing_garbage(void)
{
	static const unsigned char tail[] = { 0, 0, 'x', 'y' };
	struct ocis_buf in = OCIS_BUF_INIT, out = OCIS_BUF_INIT;
	char msg[256];

	gzip_member(&in, one, sizeof(one));
	TAP_MUST(ocis_buf_add(&in, tail, sizeof(tail), NULL) == 0);
	TAP_CHECK(decompress_all(in.data, in.len, &out, msg, sizeof(msg), NULL) == -1);
	TAP_CHECK(strstr(msg, "gzip input: garbage after the compressed data") != NULL);
	ocis_buf_release(&in);
	ocis_buf_release(&out);
	return 0;
}

/* Members whose headers carry every optional field, and an empty member,
 * read whole and cut at every byte: the same bytes (the header is read
 * by the gunzip module itself when it inflates with ISA-L). */
static int
test_gzip_header_fields(void)
{
	static const size_t steps[] = { 1, 3, 10, 4096 };
	static unsigned char extra[300];
	gz_header h;
	struct ocis_buf in = OCIS_BUF_INIT, out = OCIS_BUF_INIT;
	char msg[256];
	size_t i;
	uint64_t in_bytes;

	memset(&h, 0, sizeof(h));
	h.extra = extra;
	h.extra_len = sizeof(extra);
	h.name = (Bytef *)"one.tar";
	h.comment = (Bytef *)"a comment";
	h.hcrc = 1;
	gzip_member_hdr(&in, one, sizeof(one), &h);
	gzip_member(&in, one, 0);
	h.extra = NULL;
	h.comment = NULL;
	gzip_member_hdr(&in, two, sizeof(two), &h);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		read_step = steps[i];
		ocis_buf_reset(&out);
		TAP_CHECK(decompress_all(in.data, in.len, &out, msg, sizeof(msg), &in_bytes) == 0);
		TAP_CHECK(is_both(&out));
		TAP_CHECK(in_bytes == in.len);
	}
	read_step = 4096;
	ocis_buf_release(&in);
	ocis_buf_release(&out);
	return 0;
}

/* A header that zlib refuses is refused: a wrong header CRC, a reserved
 * flag, another method; a member cut inside its header is truncated. */
static int
test_gzip_header_damage(void)
{
	static const size_t at[] = { 0, 3, 2 };	/* the header CRC, flags, method */
	static const unsigned char flip[] = { 0x01, 0x80, 0x01 };
	gz_header h;
	struct ocis_buf in = OCIS_BUF_INIT, out = OCIS_BUF_INIT;
	char msg[256];
	size_t i, hcrc_at;

	memset(&h, 0, sizeof(h));
	h.name = (Bytef *)"one.tar";
	h.hcrc = 1;
	for (i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		ocis_buf_reset(&in);
		ocis_buf_reset(&out);
		gzip_member_hdr(&in, one, sizeof(one), &h);
		hcrc_at = 10 + strlen("one.tar") + 1;
		in.data[i == 0 ? hcrc_at : at[i]] ^= flip[i];
		TAP_CHECK(decompress_all(in.data, in.len, &out, msg, sizeof(msg), NULL) == -1);
		TAP_CHECK(strstr(msg, "gzip input is damaged") != NULL);
		TAP_CHECK(out.len == 0);
	}
	ocis_buf_reset(&in);
	ocis_buf_reset(&out);
	gzip_member_hdr(&in, one, sizeof(one), &h);
	TAP_CHECK(decompress_all(in.data, 12, &out, msg, sizeof(msg), NULL) == -1);
	TAP_CHECK(strstr(msg, "gzip input is truncated") != NULL);
	ocis_buf_release(&in);
	ocis_buf_release(&out);
	return 0;
}

static int
test_zstd_frames_and_padding(void)
{
	static const unsigned char zeros[700];
	struct ocis_buf in = OCIS_BUF_INIT, out = OCIS_BUF_INIT;
	char msg[256];

	zstd_frame(&in, one, sizeof(one));
	zstd_frame(&in, two, sizeof(two));
	TAP_MUST(ocis_buf_add(&in, zeros, sizeof(zeros), NULL) == 0);
	TAP_CHECK(decompress_all(in.data, in.len, &out, msg, sizeof(msg), NULL) == 0);
	TAP_CHECK(is_both(&out));
	ocis_buf_release(&in);
	ocis_buf_release(&out);
	return 0;
}

static int
test_zstd_bad_checksum(void)
{
	struct ocis_buf in = OCIS_BUF_INIT, out = OCIS_BUF_INIT;
	char msg[256];

	zstd_frame(&in, one, sizeof(one));
	in.data[in.len - 1] ^= 0x01;	/* the frame's content checksum */
	TAP_CHECK(decompress_all(in.data, in.len, &out, msg, sizeof(msg), NULL) == -1);
	TAP_CHECK(strstr(msg, "zstd input is damaged") != NULL);
	ocis_buf_release(&in);
	ocis_buf_release(&out);
	return 0;
}

static int
test_zstd_truncated_and_garbage(void)
{
	static const unsigned char tail[] = { 0, 'q' };
	struct ocis_buf in = OCIS_BUF_INIT, out = OCIS_BUF_INIT;
	char msg[256];

	zstd_frame(&in, one, sizeof(one));
	TAP_CHECK(decompress_all(in.data, in.len - 2, &out, msg, sizeof(msg), NULL) == -1);
	TAP_CHECK(strstr(msg, "zstd input is truncated") != NULL);
	ocis_buf_reset(&out);
	TAP_MUST(ocis_buf_add(&in, tail, sizeof(tail), NULL) == 0);
	TAP_CHECK(decompress_all(in.data, in.len, &out, msg, sizeof(msg), NULL) == -1);
	TAP_CHECK(strstr(msg, "zstd input: garbage after the compressed data") != NULL);
	ocis_buf_release(&in);
	ocis_buf_release(&out);
	return 0;
}

/* Uncompressed input (here: a tar's end-of-archive blocks and more zero
 * blocks) passes byte for byte, every buffer filled whole. */
static int
test_uncompressed_passes(void)
{
	unsigned char in[5000];
	struct ocis_buf out = OCIS_BUF_INIT;
	char msg[256];

	memset(in, 0, sizeof(in));
	in[4999] = 'z';
	TAP_CHECK(decompress_all(in, sizeof(in), &out, msg, sizeof(msg), NULL) == 0);
	TAP_CHECK(out.len == sizeof(in) && memcmp(out.data, in, sizeof(in)) == 0);
	ocis_buf_release(&out);
	return 0;
}

int
main(void)
{
	payloads();
	TAP_PLAN(11);
	TAP_RUN(test_gzip_members_and_padding);
	TAP_RUN(test_gzip_bad_crc);
	TAP_RUN(test_gzip_bad_length);
	TAP_RUN(test_gzip_truncated_member);
	TAP_RUN(test_gzip_trailing_garbage);
	TAP_RUN(test_gzip_header_fields);
	TAP_RUN(test_gzip_header_damage);
	TAP_RUN(test_zstd_frames_and_padding);
	TAP_RUN(test_zstd_bad_checksum);
	TAP_RUN(test_zstd_truncated_and_garbage);
	TAP_RUN(test_uncompressed_passes);
	return tap_done();
}
