/* SPDX-License-Identifier: MIT */
/*
 * Unit tests: layer blobs against their diff_ids (src/lib/layercheck.c).
 * The blobs are made here with zlib and libzstd: gzip as oci-layer writes
 * it (one member per MiB, the libdeflate path) and as other tools do (one
 * member, headers with every optional field: the gunzip path), zstd
 * frames, plain data; then damaged.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <zlib.h>
#include <zstd.h>

#include <ocistream/hash.h>
#include <ocistream/layercheck.h>

#include "../tap.h"

#define DATA_LEN (3 * 1024 * 1024 + 12345)

static unsigned char *data;
static char data_diff[OCIS_DIGEST_STR_SIZE];

struct buf {
	unsigned char *p;
	size_t len, cap;
};

static void
put(struct buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		b->p = realloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

/* The header of the next gzip_one member: none (NULL) is zlib's plain one */
static gz_header *next_header;

/* One gzip member of in[0..n) into a malloc'ed *o: its length. */
static size_t
gzip_one(const unsigned char *in, size_t n, unsigned char **o)
{
	z_stream z;
	uLong bound;

	memset(&z, 0, sizeof(z));
	deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
	if (next_header)
		deflateSetHeader(&z, next_header);
	bound = deflateBound(&z, n);
	*o = malloc(bound);
	z.next_in = (unsigned char *)in;
	z.avail_in = (uInt)n;
	z.next_out = *o;
	z.avail_out = (uInt)bound;
	deflate(&z, Z_FINISH);
	deflateEnd(&z);
	return bound - z.avail_out;
}

/* One zstd frame. */
static size_t
zstd_one(const unsigned char *in, size_t n, unsigned char **o)
{
	size_t bound = ZSTD_compressBound(n);

	*o = malloc(bound);
	return ZSTD_compress(*o, bound, in, n, 3);
}

/* in[0..len) compressed by one() in pieces of `piece` bytes, concatenated
 * (gzip members, zstd frames) */
static struct buf
pieces(const unsigned char *in, size_t len, size_t piece,
       size_t (*one)(const unsigned char *, size_t, unsigned char **))
{
	struct buf b = { NULL, 0, 0 };
	size_t off;

	for (off = 0; off < len; off += piece) {
		unsigned char *o;
		size_t n = one(in + off, len - off < piece ? len - off : piece, &o);

		put(&b, o, n);
		free(o);
	}
	return b;
}

#define gzip_of(in, len, member) pieces(in, len, member, gzip_one)
#define zstd_of(in, len, frame) pieces(in, len, frame, zstd_one)

/* Feed blob in pieces of `piece` bytes, expect (diff, usize), finish:
 * its return; the message in msg. */
static int
check(const struct buf *blob, size_t piece, const char *diff, uint64_t usize, char *msg,
      size_t msize)
{
	struct ocis_layercheck *c = NULL;
	struct ocis_layer_desc d;
	ocis_error_t *err = NULL;
	size_t off;
	int r;

	memset(&d, 0, sizeof(d));
	msg[0] = 0;
	if (ocis_layercheck_new(&c, &err) < 0)
		return -2;
	for (off = 0; off < blob->len; off += piece)
		ocis_layercheck_feed(c, blob->p + off, blob->len - off < piece ? blob->len - off : piece,
				     &err);
	ocis_hash_buffer(blob->p, blob->len, d.digest, NULL);
	ocis_layercheck_end_blob(c, d.digest, &err);
	snprintf(d.diff_id, sizeof(d.diff_id), "%s", diff);
	d.uncompressed_size = usize;
	ocis_layercheck_expect(c, &d, 1, &err);
	r = ocis_layercheck_finish(c, &err);
	if (r < 0)
		snprintf(msg, msize, "%s", err->msg);
	ocis_error_free(&err);
	ocis_layercheck_free(c);
	return r;
}

static int
test_gzip_members(void)
{
	struct buf b = gzip_of(data, DATA_LEN, 1024 * 1024);
	char msg[512];

	TAP_CHECK(check(&b, 70001, data_diff, DATA_LEN, msg, sizeof(msg)) == 0);
	TAP_CHECK(check(&b, 1, data_diff, 0, msg, sizeof(msg)) == 0);
	TAP_CHECK(check(&b, 4 << 20, data_diff, DATA_LEN, msg, sizeof(msg)) == 0);
	free(b.p);
	return 0;
}

/* Data that barely compresses, in 1 MiB members: the blob is several times
 * the gzip input buffer, so what is left after the whole members moves to
 * its front again and again; then the same with a last member of 2 MiB,
 * which zlib takes over after those moves. */
static int
test_gzip_buffer_refills(void)
{
	size_t len = 20 * 1024 * 1024 + 777, i;
	unsigned char *in = malloc(len);
	char diff[OCIS_DIGEST_STR_SIZE], msg[512];
	struct buf b, tail;
	uint32_t x = 99;

	for (i = 0; i < len; i++) {
		x = x * 1103515245 + 12345;
		in[i] = (x >> 16) % 3 ? (unsigned char)(x >> 8) : 'a';
	}
	ocis_hash_buffer(in, len, diff, NULL);
	b = gzip_of(in, len, 1024 * 1024);
	TAP_CHECK(b.len > 3 * 4 * 1024 * 1024);	/* three buffers' worth, at least */
	TAP_CHECK(check(&b, 70001, diff, len, msg, sizeof(msg)) == 0);
	TAP_CHECK(check(&b, 1, diff, len, msg, sizeof(msg)) == 0);
	TAP_CHECK(check(&b, 4 << 20, diff, len, msg, sizeof(msg)) == 0);
	/* a flipped byte in a middle member, after a few moves */
	b.p[b.len / 2] ^= 0x40;
	TAP_CHECK(check(&b, 70001, diff, len, msg, sizeof(msg)) < 0);
	TAP_CHECK(strstr(msg, "damaged") != NULL);
	free(b.p);
	b = gzip_of(in, len - 2 * 1024 * 1024, 1024 * 1024);
	tail = gzip_of(in + len - 2 * 1024 * 1024, 2 * 1024 * 1024, 2 * 1024 * 1024);
	put(&b, tail.p, tail.len);
	TAP_CHECK(check(&b, 70001, diff, len, msg, sizeof(msg)) == 0);
	TAP_CHECK(check(&b, 4 << 20, diff, len, msg, sizeof(msg)) == 0);
	free(tail.p);
	free(b.p);
	free(in);
	return 0;
}

/* Members whose headers carry FEXTRA, FNAME, FCOMMENT and a header CRC,
 * and an empty member, pass whole and fed a byte at a time; a wrong
 * header CRC is damage (libdeflate skips it unchecked: it passed; Go's
 * gzip reader, a client's, refuses it). */
static int
test_gzip_header_fields(void)
{
	static unsigned char extra[100];
	gz_header h;
	struct buf b = { NULL, 0, 0 }, m;
	unsigned char *o;
	size_t n;
	char msg[512];

	memset(&h, 0, sizeof(h));
	h.extra = extra;
	h.extra_len = sizeof(extra);
	h.name = (Bytef *)"layer.tar";
	h.comment = (Bytef *)"made by hand";
	h.hcrc = 1;
	next_header = &h;
	m = gzip_of(data, 1024 * 1024, 500000);
	put(&b, m.p, m.len);
	free(m.p);
	next_header = NULL;
	n = gzip_one(data, 0, &o);	/* empty */
	put(&b, o, n);
	free(o);
	m = gzip_of(data + 1024 * 1024, DATA_LEN - 1024 * 1024, 1024 * 1024);
	put(&b, m.p, m.len);
	free(m.p);
	TAP_CHECK(check(&b, 65536, data_diff, DATA_LEN, msg, sizeof(msg)) == 0);
	TAP_CHECK(check(&b, 1, data_diff, DATA_LEN, msg, sizeof(msg)) == 0);
	/* the first member's header CRC, after the 10 bytes, the extra field
	 * (2 + 100), the name and the comment */
	b.p[10 + 2 + sizeof(extra) + sizeof("layer.tar") + sizeof("made by hand")] ^= 0x01;
	TAP_CHECK(check(&b, 65536, data_diff, DATA_LEN, msg, sizeof(msg)) < 0);
	TAP_CHECK(strstr(msg, "its gzip data is damaged (header crc mismatch)") != NULL);
	free(b.p);
	return 0;
}

/* A zstd frame whose content ends just as the thread's 256 KiB output
 * buffer fills (oci-layer --zstd of a tar of 711 MiB, one frame): was
 * refused as truncated.  Also two such frames in one piece. */
static int
test_zstd_frame_ends_with_buffer(void)
{
	size_t len = 2 * 256 * 1024;
	char diff[OCIS_DIGEST_STR_SIZE], diff2[OCIS_DIGEST_STR_SIZE], msg[512];
	struct buf b = zstd_of(data, len, len), two = zstd_of(data, 2 * len, len);

	ocis_hash_buffer(data, len, diff, NULL);
	ocis_hash_buffer(data, 2 * len, diff2, NULL);
	TAP_CHECK(check(&b, b.len, diff, len, msg, sizeof(msg)) == 0);
	TAP_CHECK(check(&b, 70001, diff, len, msg, sizeof(msg)) == 0);
	TAP_CHECK(check(&two, two.len, diff2, 2 * len, msg, sizeof(msg)) == 0);
	TAP_CHECK(check(&two, 1, diff2, 2 * len, msg, sizeof(msg)) == 0);
	free(b.p);
	free(two.p);
	return 0;
}

/* one gzip member of it all (other tools: the zlib path), zstd frames */
static int
test_one_member_and_zstd(void)
{
	struct buf b[2];
	char msg[512];
	int i;

	b[0] = gzip_of(data, DATA_LEN, DATA_LEN);
	b[1] = zstd_of(data, DATA_LEN, 1000000);
	for (i = 0; i < 2; i++) {
		TAP_CHECK(check(&b[i], 65536, data_diff, DATA_LEN, msg, sizeof(msg)) == 0);
		free(b[i].p);
	}
	return 0;
}

static int
test_plain(void)
{
	struct buf b = { data, DATA_LEN, DATA_LEN };
	struct buf e = { (unsigned char *)"", 0, 0 };
	char msg[512];

	TAP_CHECK(check(&b, 65536, data_diff, DATA_LEN, msg, sizeof(msg)) == 0);
	TAP_CHECK(check(&e, 1, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
			0, msg, sizeof(msg)) == 0);
	return 0;
}

static int
test_mismatch(void)
{
	struct buf g = gzip_of(data, DATA_LEN, 1024 * 1024), z = zstd_of(data, DATA_LEN, DATA_LEN);
	struct buf p = { data, DATA_LEN, DATA_LEN };
	const char *zero = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
	char msg[512];

	TAP_CHECK(check(&g, 65536, zero, 0, msg, sizeof(msg)) < 0);
	TAP_CHECK(strstr(msg, "not the diffID sha256:0000") != NULL);
	TAP_CHECK(strstr(msg, data_diff) != NULL);
	TAP_CHECK(check(&z, 65536, zero, 0, msg, sizeof(msg)) < 0);
	TAP_CHECK(check(&p, 65536, zero, 0, msg, sizeof(msg)) < 0);
	TAP_CHECK(check(&g, 65536, data_diff, DATA_LEN + 1, msg, sizeof(msg)) < 0);
	TAP_CHECK(strstr(msg, "bytes uncompressed, not the") != NULL);
	free(g.p);
	free(z.p);
	return 0;
}

static int
test_damaged(void)
{
	struct buf g = gzip_of(data, DATA_LEN, 1024 * 1024), one = gzip_of(data, DATA_LEN, DATA_LEN);
	struct buf z = zstd_of(data, DATA_LEN, 1000000), t;
	char msg[512];

	/* truncated: in a small member (libdeflate, then zlib for the words),
	 * in a big one (zlib), in a zstd frame */
	t = g;
	t.len -= 100;
	TAP_CHECK(check(&t, 65536, data_diff, 0, msg, sizeof(msg)) < 0);
	TAP_CHECK(strstr(msg, "its gzip data is truncated") != NULL);
	t = one;
	t.len -= 3;
	TAP_CHECK(check(&t, 65536, data_diff, 0, msg, sizeof(msg)) < 0);
	TAP_CHECK(strstr(msg, "its gzip data is truncated") != NULL);
	t = z;
	t.len -= 7;
	TAP_CHECK(check(&t, 65536, data_diff, 0, msg, sizeof(msg)) < 0);
	TAP_CHECK(strstr(msg, "its zstd data is") != NULL);
	/* garbage or zeros after the data */
	put(&g, "garbage", 7);
	TAP_CHECK(check(&g, 65536, data_diff, 0, msg, sizeof(msg)) < 0);
	TAP_CHECK(strstr(msg, "garbage after its gzip data") != NULL);
	put(&one, "\0\0\0\0", 4);
	TAP_CHECK(check(&one, 65536, data_diff, 0, msg, sizeof(msg)) < 0);
	TAP_CHECK(strstr(msg, "garbage after its gzip data") != NULL);
	put(&z, "garbage!", 8);
	TAP_CHECK(check(&z, 65536, data_diff, 0, msg, sizeof(msg)) < 0);
	TAP_CHECK(strstr(msg, "its zstd data is damaged") != NULL);
	/* a flipped byte inside a member: the CRC or the code fails */
	g.len -= 7;
	g.p[g.len / 2] ^= 0x55;
	TAP_CHECK(check(&g, 65536, data_diff, 0, msg, sizeof(msg)) < 0);
	TAP_CHECK(strstr(msg, "its gzip data is damaged") != NULL);
	free(g.p);
	free(one.p);
	free(z.p);
	return 0;
}

/* Feed a blob in pieces of 4097 bytes (across the 256 KiB slots) and end
 * it; its digest in digest. */
static void
feed_blob(struct ocis_layercheck *c, const struct buf *b, char *digest)
{
	size_t off;

	for (off = 0; off < b->len; off += 4097)
		ocis_layercheck_feed(c, b->p + off, b->len - off < 4097 ? b->len - off : 4097, NULL);
	ocis_hash_buffer(b->p, b->len, digest, NULL);
	ocis_layercheck_end_blob(c, digest, NULL);
}

/* The hasher takes each blob's end from the decoder: a blob cut after
 * megabytes of output (hashed already) must not leak into the next
 * blob's diffID, and each blob keeps its own size and error, whatever
 * came before it. */
static int
test_blob_after_damaged_one(void)
{
	struct buf cut = zstd_of(data, DATA_LEN, DATA_LEN), g = gzip_of(data, DATA_LEN, 1024 * 1024);
	struct buf z = zstd_of(data, DATA_LEN, 1000000), plain = { data, 100, 100 };
	struct ocis_layer_desc d[4];
	struct ocis_layercheck *c = NULL;
	ocis_error_t *err = NULL;
	int i, round;

	cut.len = cut.len * 2 / 3;
	for (round = 0; round < 2; round++) {
		memset(d, 0, sizeof(d));
		TAP_CHECK(ocis_layercheck_new(&c, &err) == 0);
		feed_blob(c, &cut, d[0].digest);
		feed_blob(c, &g, d[1].digest);
		feed_blob(c, &plain, d[2].digest);
		feed_blob(c, &z, d[3].digest);
		for (i = 0; i < 4; i++) {
			memcpy(d[i].diff_id, i == 2 ? d[2].digest : data_diff, sizeof(data_diff));
			d[i].uncompressed_size = i == 2 ? 100 : DATA_LEN;
		}
		/* the three good ones; then the cut one too */
		for (i = 1; i < 4; i++)
			TAP_CHECK(ocis_layercheck_expect(c, &d[i], (size_t)i + 1, &err) == 0);
		if (round == 1)
			TAP_CHECK(ocis_layercheck_expect(c, &d[0], 1, &err) == 0);
		if (round == 0) {
			TAP_CHECK(ocis_layercheck_finish(c, &err) == 0);
		} else {
			TAP_CHECK(ocis_layercheck_finish(c, &err) < 0);
			TAP_CHECK(strstr(err->msg, "layer 1 (sha256:") != NULL);
			TAP_CHECK(strstr(err->msg, "its zstd data is truncated") != NULL);
			ocis_error_free(&err);
		}
		ocis_layercheck_free(c);
	}
	free(cut.p);
	free(g.p);
	free(z.p);
	return 0;
}

/* Blobs of a base image: several, named later in another order; a blob
 * that is not a layer may be anything. */
static int
test_blobs_then_layers(void)
{
	struct buf g = gzip_of(data, DATA_LEN, 1024 * 1024), z = zstd_of(data, 100000, 100000);
	struct ocis_layercheck *c = NULL;
	struct ocis_layer_desc a, b;
	char zdiff[OCIS_DIGEST_STR_SIZE], junk_digest[OCIS_DIGEST_STR_SIZE];
	ocis_error_t *err = NULL;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	TAP_CHECK(ocis_layercheck_new(&c, &err) == 0);
	/* not a layer: gzip magic, then nonsense */
	ocis_layercheck_feed(c, "\x1f\x8bnonsense", 10, &err);
	ocis_hash_buffer("\x1f\x8bnonsense", 10, junk_digest, NULL);
	ocis_layercheck_end_blob(c, junk_digest, &err);
	ocis_layercheck_feed(c, g.p, g.len, &err);
	ocis_hash_buffer(g.p, g.len, a.digest, NULL);
	ocis_layercheck_end_blob(c, a.digest, &err);
	ocis_layercheck_feed(c, z.p, z.len, &err);
	ocis_hash_buffer(z.p, z.len, b.digest, NULL);
	ocis_layercheck_end_blob(c, b.digest, &err);
	ocis_hash_buffer(data, 100000, zdiff, NULL);
	memcpy(b.diff_id, zdiff, sizeof(zdiff));
	memcpy(a.diff_id, data_diff, sizeof(data_diff));
	TAP_CHECK(ocis_layercheck_expect(c, &b, 1, &err) == 0);
	TAP_CHECK(ocis_layercheck_expect(c, &a, 2, &err) == 0);
	TAP_CHECK(ocis_layercheck_finish(c, &err) == 0);
	ocis_layercheck_free(c);
	/* the same, the junk named as a layer */
	TAP_CHECK(ocis_layercheck_new(&c, &err) == 0);
	ocis_layercheck_feed(c, "\x1f\x8bnonsense", 10, &err);
	ocis_layercheck_end_blob(c, junk_digest, &err);
	memcpy(a.digest, junk_digest, sizeof(junk_digest));
	TAP_CHECK(ocis_layercheck_expect(c, &a, 3, &err) == 0);
	TAP_CHECK(ocis_layercheck_finish(c, &err) < 0);
	TAP_CHECK(strstr(err->msg, "layer 3 (sha256:") != NULL);
	ocis_error_free(&err);
	ocis_layercheck_free(c);
	/* freed without finish, blobs still in the ring */
	TAP_CHECK(ocis_layercheck_new(&c, &err) == 0);
	ocis_layercheck_feed(c, g.p, g.len, &err);
	ocis_layercheck_free(c);
	free(g.p);
	free(z.p);
	return 0;
}

int
main(void)
{
	size_t i;
	uint32_t x = 12345;

	/* text-like data that compresses 3-4 times, as a rootfs does */
	data = malloc(DATA_LEN);
	for (i = 0; i < DATA_LEN; i++) {
		x = x * 1103515245 + 12345;
		data[i] = (x >> 16) % 7 == 0 ? (unsigned char)(x >> 8) : (unsigned char)"layer "[i % 6];
	}
	ocis_hash_buffer(data, DATA_LEN, data_diff, NULL);
	TAP_PLAN(10);
	TAP_RUN(test_gzip_members);
	TAP_RUN(test_gzip_buffer_refills);
	TAP_RUN(test_gzip_header_fields);
	TAP_RUN(test_zstd_frame_ends_with_buffer);
	TAP_RUN(test_one_member_and_zstd);
	TAP_RUN(test_plain);
	TAP_RUN(test_mismatch);
	TAP_RUN(test_damaged);
	TAP_RUN(test_blobs_then_layers);
	TAP_RUN(test_blob_after_damaged_one);
	free(data);
	return tap_done();
}
