/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the layer compressor (ocistream/compress.h): round trips
 * through zlib (every gzip member) and libzstd, sizes around the block
 * boundary, digests, thread-count independence, and failure of `out`.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libdeflate.h>
#include <zlib.h>
#include <zstd.h>

#include <ocistream/chunker.h>
#include <ocistream/compress.h>
#include <ocistream/gzmember.h>
#include <ocistream/hash.h>
#include <ocistream/io.h>

#include "../tap.h"

/* Must match OCIS_COMPRESS_BLOCK_SIZE (ocistream/compress.h). */
#define BLOCK (1024 * 1024)

#define SHA256_EMPTY "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA256_ABC "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

/* Compressible but not trivial: words from a small table and runs of
 * pseudo-random bytes, deterministic. */
static unsigned char *
make_input(size_t n)
{
	static const char *words[] = {
		"usr/", "lib/", "share/", "bin/", "libc.so.6", "ELF", "\0\0\0\0",
		"#!/bin/sh\n", "GNU ", "locale", "x86_64", "python3", "  ",
	};
	unsigned char *p = malloc(n ? n : 1);
	uint32_t x = 2463534242u;
	size_t i = 0;

	if (p == NULL)
		return NULL;
	while (i < n) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		if ((x & 7) == 0) {
			size_t k, run = 1 + (x >> 8) % 32;
			for (k = 0; k < run && i < n; k++) {
				x ^= x << 13;
				x ^= x >> 17;
				x ^= x << 5;
				p[i++] = (unsigned char)x;
			}
		} else {
			const char *w = words[(x >> 4) % (sizeof(words) / sizeof(words[0]))];
			size_t k, wl = w[0] ? strlen(w) : 4;
			for (k = 0; k < wl && i < n; k++)
				p[i++] = (unsigned char)w[k];
		}
	}
	return p;
}

struct sink {
	struct ocis_buf buf;
	int calls;
	int fail_at;	/* fail on this call (1-based), 0 = never */
	int foreign;	/* calls made from another thread than the test's */
};

static pthread_t test_thread;

static int
sink_out(void *ctx, const void *data, size_t len, ocis_error_t **err)
{
	struct sink *s = ctx;

	s->calls++;
	if (!pthread_equal(pthread_self(), test_thread))
		s->foreign++;
	if (s->fail_at && s->calls >= s->fail_at)
		return ocis_error_set(err, EPIPE, "write error");
	return ocis_buf_add(&s->buf, data, len, err);
}

/* Compress `in` writing `chunk` bytes at a time (0 = all at once). */
static int
compress_buf(enum ocis_compression alg, int level, int threads, const unsigned char *in,
	     size_t n, size_t chunk, struct sink *sink, struct ocis_compress_result *res)
{
	struct ocis_compressor *c = NULL;
	ocis_error_t *err = NULL;
	size_t off = 0;

	memset(sink, 0, sizeof(*sink));
	if (ocis_compressor_new(&c, alg, level, threads, sink_out, sink, &err) < 0)
		goto fail;
	while (off < n) {
		size_t k = chunk && chunk < n - off ? chunk : n - off;
		if (ocis_compressor_write(c, in + off, k, &err) < 0)
			goto fail;
		off += k;
	}
	if (ocis_compressor_finish(c, res, &err) < 0)
		goto fail;
	ocis_compressor_free(c);
	return 0;
fail:
	printf("# compress failed: %s\n", err ? err->msg : "?");
	ocis_error_free(&err);
	ocis_compressor_free(c);
	return -1;
}

/* Inflate every gzip member; returns the member count or -1. */
static int
gunzip_all(const unsigned char *z, size_t zn, unsigned char **out, size_t *outn)
{
	z_stream s;
	size_t cap = 1 << 16, len = 0;
	unsigned char *o = malloc(cap);
	int members = 0, r;

	memset(&s, 0, sizeof(s));
	if (o == NULL || inflateInit2(&s, 16 + MAX_WBITS) != Z_OK) {
		free(o);
		return -1;
	}
	s.next_in = (unsigned char *)z;
	s.avail_in = (uInt)zn;
	for (;;) {
		if (cap - len < 65536) {
			cap *= 2;
			o = realloc(o, cap);
			if (o == NULL)
				goto bad;
		}
		s.next_out = o + len;
		s.avail_out = (uInt)(cap - len);
		r = inflate(&s, Z_NO_FLUSH);
		len = cap - s.avail_out;
		if (r == Z_STREAM_END) {
			members++;
			if (s.avail_in == 0)
				break;
			if (inflateReset(&s) != Z_OK)
				goto bad;
		} else if (r != Z_OK) {
			goto bad;
		}
	}
	inflateEnd(&s);
	*out = o;
	*outn = len;
	return members;
bad:
	inflateEnd(&s);
	free(o);
	return -1;
}

static int
unzstd_all(const unsigned char *z, size_t zn, unsigned char **out, size_t *outn)
{
	ZSTD_DStream *d = ZSTD_createDStream();
	ZSTD_inBuffer in = { z, zn, 0 };
	size_t cap = 1 << 16, len = 0, r = 1;
	unsigned char *o = malloc(cap);

	if (d == NULL || o == NULL)
		goto bad;
	while (in.pos < in.size || r != 0) {
		ZSTD_outBuffer ob;

		if (cap - len < 65536) {
			cap *= 2;
			o = realloc(o, cap);
			if (o == NULL)
				goto bad;
		}
		ob.dst = o;
		ob.size = cap;
		ob.pos = len;
		r = ZSTD_decompressStream(d, &ob, &in);
		if (ZSTD_isError(r))
			goto bad;
		len = ob.pos;
		if (in.pos == in.size && r != 0 && ob.pos < ob.size)
			goto bad;	/* truncated */
	}
	ZSTD_freeDStream(d);
	*out = o;
	*outn = len;
	return 0;
bad:
	ZSTD_freeDStream(d);
	free(o);
	return -1;
}

/* Full check of one run: round trip, sizes, both digests. */
static int
check_roundtrip(enum ocis_compression alg, int level, int threads, size_t n, size_t chunk)
{
	unsigned char *in = make_input(n), *back = NULL;
	size_t backn = 0;
	struct sink sink;
	struct ocis_compress_result res;
	char want[OCIS_DIGEST_STR_SIZE];
	int ok = 0, members = 0;

	if (in == NULL || compress_buf(alg, level, threads, in, n, chunk, &sink, &res) < 0)
		goto out;
	if (res.uncompressed_size != n || res.size != sink.buf.len)
		goto out;
	if (ocis_hash_buffer(in, n, want, NULL) < 0 || strcmp(want, res.diff_id) != 0)
		goto out;
	if (ocis_hash_buffer(sink.buf.data, sink.buf.len, want, NULL) < 0 ||
	    strcmp(want, res.digest) != 0)
		goto out;
	switch (alg) {
	case OCIS_COMPRESS_GZIP:
	case OCIS_COMPRESS_ESTARGZ:	/* without marks, the same members */
		/* a member per block: blocks of OCIS_CDC_MIN .. BLOCK bytes
		 * but the last (chunker.h) */
		members = gunzip_all(sink.buf.data, sink.buf.len, &back, &backn);
		if (members < (n == 0 ? 1 : (int)((n + BLOCK - 1) / BLOCK)) ||
		    members > (int)(n / OCIS_CDC_MIN) + 1) {
			printf("# %zu bytes: %d gzip members\n", n, members);
			goto out;
		}
		/* header: no name, mtime 0, XFL 0, OS 3 */
		if (memcmp(sink.buf.data, "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10) != 0)
			goto out;
		break;
	case OCIS_COMPRESS_ZSTD:
	case OCIS_COMPRESS_ZCHUNKED:	/* frames in a row */
		if (unzstd_all(sink.buf.data, sink.buf.len, &back, &backn) < 0)
			goto out;
		break;
	case OCIS_COMPRESS_NONE:
		if (strcmp(res.diff_id, res.digest) != 0 || sink.buf.len != n)
			goto out;
		back = malloc(n ? n : 1);
		if (back == NULL)
			goto out;
		memcpy(back, sink.buf.data ? sink.buf.data : (unsigned char *)"", n);
		backn = n;
		break;
	}
	if (backn != n || (n && memcmp(back, in, n) != 0))
		goto out;
	ok = 1;
out:
	if (!ok)
		printf("# round trip failed: %s level %d threads %d size %zu chunk %zu\n",
		       ocis_compression_name(alg), level, threads, n, chunk);
	free(back);
	free(in);
	ocis_buf_release(&sink.buf);
	return ok ? 0 : -1;
}

static const size_t sizes[] = {
	0, 1, 2, 511, 4096, BLOCK - 1, BLOCK, BLOCK + 1, 2 * BLOCK - 1, 2 * BLOCK,
	3 * BLOCK + 17,
};

static int
test_names(void)
{
	enum ocis_compression c;

	TAP_CHECK(ocis_compression_from_name("gzip", &c) == 0 && c == OCIS_COMPRESS_GZIP);
	TAP_CHECK(ocis_compression_from_name("zstd", &c) == 0 && c == OCIS_COMPRESS_ZSTD);
	TAP_CHECK(ocis_compression_from_name("none", &c) == 0 && c == OCIS_COMPRESS_NONE);
	TAP_CHECK(ocis_compression_from_name("xz", &c) == -1);
	TAP_CHECK(ocis_compression_from_name("", &c) == -1);
	TAP_CHECK(strcmp(ocis_compression_name(OCIS_COMPRESS_ZSTD), "zstd") == 0);
	TAP_CHECK(strcmp(ocis_compression_suffix(OCIS_COMPRESS_GZIP), "+gzip") == 0);
	TAP_CHECK(strcmp(ocis_compression_suffix(OCIS_COMPRESS_ZSTD), "+zstd") == 0);
	TAP_CHECK(strcmp(ocis_compression_suffix(OCIS_COMPRESS_NONE), "") == 0);
	TAP_CHECK(ocis_compression_default_level(OCIS_COMPRESS_GZIP) == 6);
	TAP_CHECK(ocis_compression_default_level(OCIS_COMPRESS_ZSTD) == 3);
	TAP_CHECK(ocis_compression_level_valid(OCIS_COMPRESS_GZIP, 1));
	TAP_CHECK(ocis_compression_level_valid(OCIS_COMPRESS_GZIP, 12));
	TAP_CHECK(!ocis_compression_level_valid(OCIS_COMPRESS_GZIP, 0));
	TAP_CHECK(!ocis_compression_level_valid(OCIS_COMPRESS_GZIP, 13));
	TAP_CHECK(ocis_compression_level_valid(OCIS_COMPRESS_ZSTD, 19));
	TAP_CHECK(!ocis_compression_level_valid(OCIS_COMPRESS_ZSTD, 0));
	TAP_CHECK(!ocis_compression_level_valid(OCIS_COMPRESS_ZSTD, 23));
	return 0;
}

static int
test_bad_level(void)
{
	struct ocis_compressor *c = NULL;
	ocis_error_t *err = NULL;
	struct sink sink;

	memset(&sink, 0, sizeof(sink));
	TAP_CHECK(ocis_compressor_new(&c, OCIS_COMPRESS_GZIP, 13, 1, sink_out, &sink, &err) < 0);
	TAP_CHECK(c == NULL && err != NULL && strstr(err->msg, "level") != NULL);
	ocis_error_free(&err);
	TAP_CHECK(ocis_compressor_new(&c, OCIS_COMPRESS_ZSTD, 0, 1, sink_out, &sink, &err) < 0);
	ocis_error_free(&err);
	return 0;
}

static int
test_none_known_digests(void)
{
	struct sink sink;
	struct ocis_compress_result res;

	TAP_CHECK(compress_buf(OCIS_COMPRESS_NONE, 0, 2, (const unsigned char *)"", 0, 0,
			       &sink, &res) == 0);
	TAP_CHECK(strcmp(res.diff_id, SHA256_EMPTY) == 0);
	TAP_CHECK(strcmp(res.digest, SHA256_EMPTY) == 0);
	TAP_CHECK(res.size == 0 && res.uncompressed_size == 0 && sink.buf.len == 0);
	ocis_buf_release(&sink.buf);

	TAP_CHECK(compress_buf(OCIS_COMPRESS_NONE, 0, 2, (const unsigned char *)"abc", 3, 1,
			       &sink, &res) == 0);
	TAP_CHECK(strcmp(res.diff_id, SHA256_ABC) == 0);
	TAP_CHECK(strcmp(res.digest, SHA256_ABC) == 0);
	TAP_CHECK(res.size == 3 && res.uncompressed_size == 3);
	TAP_CHECK(sink.buf.len == 3 && memcmp(sink.buf.data, "abc", 3) == 0);
	ocis_buf_release(&sink.buf);

	/* diff_id of "abc" is the same for every algorithm */
	TAP_CHECK(compress_buf(OCIS_COMPRESS_GZIP, 6, 2, (const unsigned char *)"abc", 3, 0,
			       &sink, &res) == 0);
	TAP_CHECK(strcmp(res.diff_id, SHA256_ABC) == 0);
	ocis_buf_release(&sink.buf);
	TAP_CHECK(compress_buf(OCIS_COMPRESS_ZSTD, 3, 2, (const unsigned char *)"", 0, 0,
			       &sink, &res) == 0);
	TAP_CHECK(strcmp(res.diff_id, SHA256_EMPTY) == 0 && res.size > 0);
	ocis_buf_release(&sink.buf);
	return 0;
}

static int
roundtrips(enum ocis_compression alg, int level)
{
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		TAP_CHECK(check_roundtrip(alg, level, 2, sizes[i], 0) == 0);
		TAP_CHECK(check_roundtrip(alg, level, 3, sizes[i], 7777) == 0);
	}
	return 0;
}

static int
test_roundtrip_none(void)
{
	return roundtrips(OCIS_COMPRESS_NONE, 0);
}

static int
test_roundtrip_gzip(void)
{
	TAP_CHECK(check_roundtrip(OCIS_COMPRESS_GZIP, 1, 1, BLOCK + 3, 0) == 0);
	TAP_CHECK(check_roundtrip(OCIS_COMPRESS_GZIP, 12, 2, 100000, 0) == 0);
	return roundtrips(OCIS_COMPRESS_GZIP, 6);
}

static int
test_roundtrip_zstd(void)
{
	TAP_CHECK(check_roundtrip(OCIS_COMPRESS_ZSTD, 1, 1, BLOCK + 3, 0) == 0);
	TAP_CHECK(check_roundtrip(OCIS_COMPRESS_ZSTD, 19, 2, 100000, 0) == 0);
	return roundtrips(OCIS_COMPRESS_ZSTD, 3);
}

/* zstd:chunked without marks: 1 MiB blocks, each a frame of its own */
static int
test_roundtrip_zchunked(void)
{
	TAP_CHECK(check_roundtrip(OCIS_COMPRESS_ZCHUNKED, 1, 1, BLOCK + 3, 0) == 0);
	return roundtrips(OCIS_COMPRESS_ZCHUNKED, 3);
}

/* Same bytes and digests for 1, 2 and 8 threads and any write pattern. */
static int
thread_independence(enum ocis_compression alg, int level)
{
	static const int threads[] = { 1, 2, 8 };
	static const size_t chunks[] = { 0, 1000, 65536 };
	size_t n = 5 * BLOCK + 12345, i;
	unsigned char *in = make_input(n);
	struct sink first, sink;
	struct ocis_compress_result r0, r;

	TAP_CHECK(in != NULL);
	TAP_CHECK(compress_buf(alg, level, 1, in, n, 0, &first, &r0) == 0);
	for (i = 0; i < 3; i++) {
		TAP_CHECK(compress_buf(alg, level, threads[i], in, n, chunks[i], &sink, &r) == 0);
		TAP_CHECK(sink.buf.len == first.buf.len);
		TAP_CHECK(memcmp(sink.buf.data, first.buf.data, first.buf.len) == 0);
		TAP_CHECK(strcmp(r.digest, r0.digest) == 0 && strcmp(r.diff_id, r0.diff_id) == 0);
		TAP_CHECK(r.size == r0.size && r.uncompressed_size == n);
		ocis_buf_release(&sink.buf);
	}
	ocis_buf_release(&first.buf);
	free(in);
	return 0;
}

static int
test_threads_gzip(void)
{
	return thread_independence(OCIS_COMPRESS_GZIP, 6);
}

/* Level 1 (ISA-L when built with it, docs/compression.md): round trips,
 * thread independence, and an incompressible block at every level kind
 * (stored blocks; the bound must hold for ISA-L too). */
static int
test_gzip_level1(void)
{
	static const int levels[] = { 1, 6 };
	size_t n = BLOCK, i, outn = 0, backn = 0, cap = ocis_gzmember_bound(BLOCK);
	unsigned char *in = malloc(n), *out = malloc(cap), *back = malloc(n);
	uint32_t x = 88172645u;

	TAP_CHECK(in != NULL && out != NULL && back != NULL);
	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		in[i] = (unsigned char)x;
	}
	for (i = 0; i < 2; i++) {
		struct ocis_gzmember *g = NULL;
		struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
		ocis_error_t *err = NULL;

		TAP_CHECK(d != NULL && ocis_gzmember_new(&g, levels[i], &err) == 0);
		TAP_CHECK(ocis_gzmember_compress(g, in, n, out, cap, &outn, &err) == 0);
		TAP_CHECK(libdeflate_gzip_decompress(d, out, outn, back, n, &backn) ==
			  LIBDEFLATE_SUCCESS);
		TAP_CHECK(backn == n && memcmp(back, in, n) == 0);
		ocis_gzmember_free(g);
		libdeflate_free_decompressor(d);
	}
	free(in);
	free(out);
	free(back);
	TAP_CHECK(check_roundtrip(OCIS_COMPRESS_GZIP, 1, 2, 3 * BLOCK + 17, 0) == 0);
	TAP_CHECK(check_roundtrip(OCIS_COMPRESS_GZIP, 1, 3, 100000, 7777) == 0);
	TAP_CHECK(check_roundtrip(OCIS_COMPRESS_GZIP, 1, 1, 0, 0) == 0);
	return thread_independence(OCIS_COMPRESS_GZIP, 1);
}

/* A member is a function of its block alone, whatever the same
 * gzmember compressed before (a worker's previous blocks): every level,
 * blocks of many sizes, each compared with a fresh gzmember's member. */
static int
test_gzmember_independent(void)
{
	static const size_t lens[] = { 640 * 1024, 1, 113, 4096, 100000, 963, BLOCK, 1620 };
	static const int levels[] = { 1, 6 };
	size_t n = 2 * BLOCK, cap = ocis_gzmember_bound(BLOCK), i, k, off = 0;
	unsigned char *in = make_input(n), *a = malloc(cap), *b = malloc(cap);
	ocis_error_t *err = NULL;

	TAP_CHECK(in != NULL && a != NULL && b != NULL);
	for (k = 0; k < 2; k++) {
		struct ocis_gzmember *used = NULL;

		TAP_CHECK(ocis_gzmember_new(&used, levels[k], &err) == 0);
		for (i = 0; i < 3 * sizeof(lens) / sizeof(lens[0]); i++) {
			struct ocis_gzmember *fresh = NULL;
			size_t len = lens[i % (sizeof(lens) / sizeof(lens[0]))], alen, blen;

			off = (off + 7919 * (i + 1)) % (n - len);
			TAP_CHECK(ocis_gzmember_new(&fresh, levels[k], &err) == 0);
			TAP_CHECK(ocis_gzmember_compress(fresh, in + off, len, a, cap, &alen, &err) == 0);
			TAP_CHECK(ocis_gzmember_compress(used, in + off, len, b, cap, &blen, &err) == 0);
			ocis_gzmember_free(fresh);
			if (alen != blen || memcmp(a, b, alen) != 0)
				printf("# level %d, %zu bytes at %zu: %zu against %zu\n", levels[k], len,
				       off, blen, alen);
			TAP_CHECK(alen == blen && memcmp(a, b, alen) == 0);
		}
		ocis_gzmember_free(used);
	}
	free(in);
	free(a);
	free(b);
	return 0;
}

static int
test_threads_zstd(void)
{
	return thread_independence(OCIS_COMPRESS_ZSTD, 3);
}

/* Many times the ring: the caller, faster than the compression, keeps
 * finding it full and is woken only when half of it is free.  Nothing may
 * be lost or reordered, and finish must not hang on the last half. */
static int
test_full_ring(void)
{
	static const enum ocis_compression algs[] = {
		OCIS_COMPRESS_GZIP, OCIS_COMPRESS_ZSTD, OCIS_COMPRESS_NONE,
	};
	size_t i;
	int t;

	for (i = 0; i < 3; i++)
		for (t = 1; t <= 3; t++) {
			int level = algs[i] == OCIS_COMPRESS_NONE ? 0 : 1;

			TAP_CHECK(check_roundtrip(algs[i], level, t, 24 * BLOCK + 3, 4096) == 0);
			TAP_CHECK(check_roundtrip(algs[i], level, t, 24 * BLOCK, 0) == 0);
		}
	return 0;
}

/* `out` failing makes write or finish fail with its error; free joins. */
static int
out_failure(enum ocis_compression alg, int threads, int fail_at)
{
	size_t n = 8 * BLOCK, off = 0;
	unsigned char *in = make_input(n);
	struct ocis_compressor *c = NULL;
	ocis_error_t *err = NULL;
	struct ocis_compress_result res;
	struct sink sink;
	int r = 0;

	TAP_CHECK(in != NULL);
	memset(&sink, 0, sizeof(sink));
	sink.fail_at = fail_at;
	TAP_CHECK(ocis_compressor_new(&c, alg, ocis_compression_default_level(alg), threads,
				      sink_out, &sink, &err) == 0);
	while (off < n && r == 0) {
		r = ocis_compressor_write(c, in + off, 100000 < n - off ? 100000 : n - off, &err);
		off += 100000;
	}
	if (r == 0)
		r = ocis_compressor_finish(c, &res, &err);
	if (r != -1)
		printf("# %s: out called %d times\n", ocis_compression_name(alg), sink.calls);
	TAP_CHECK(r == -1);
	TAP_CHECK(err != NULL && strcmp(err->msg, "write error: Broken pipe") == 0);
	TAP_CHECK(err->code == EPIPE);
	ocis_error_free(&err);
	/* later calls keep failing */
	TAP_CHECK(ocis_compressor_write(c, "x", 1, &err) == -1 && err != NULL);
	ocis_error_free(&err);
	TAP_CHECK(ocis_compressor_finish(c, &res, &err) == -1 && err != NULL);
	ocis_error_free(&err);
	ocis_compressor_free(c);
	ocis_buf_release(&sink.buf);
	free(in);
	return 0;
}

static int
test_out_failure(void)
{
	static const enum ocis_compression algs[] = {
		OCIS_COMPRESS_GZIP, OCIS_COMPRESS_ZSTD, OCIS_COMPRESS_NONE,
	};
	size_t i;
	int t;

	for (i = 0; i < 3; i++)
		for (t = 1; t <= 2; t++) {
			TAP_CHECK(out_failure(algs[i], t, 1) == 0);
			/* when libzstd flushes its jobs is up to its timing */
			if (algs[i] != OCIS_COMPRESS_ZSTD)
				TAP_CHECK(out_failure(algs[i], t, 2) == 0);
		}
	return 0;
}

/* Threads of this process, from /proc/self/task. */
static int
count_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* threads == 1 starts no thread: every block is compressed and written on
 * the caller's thread, as it fills (zstd's one libzstd worker aside).  With
 * 2 threads the output comes from the writer thread. */
static int
test_one_thread_is_serial(void)
{
	static const enum ocis_compression algs[] = {
		OCIS_COMPRESS_GZIP, OCIS_COMPRESS_ZSTD, OCIS_COMPRESS_NONE,
	};
	size_t n = 4 * BLOCK + 7, i;
	unsigned char *in = make_input(n);
	ocis_error_t *err = NULL;
	int before = count_threads();

	TAP_CHECK(in != NULL && before >= 1);
	for (i = 0; i < 3; i++) {
		struct ocis_compressor *c = NULL;
		struct ocis_compress_result res;
		struct sink sink;
		int calls_before_finish;

		memset(&sink, 0, sizeof(sink));
		TAP_CHECK(ocis_compressor_new(&c, algs[i], ocis_compression_default_level(algs[i]),
					      1, sink_out, &sink, &err) == 0);
		TAP_CHECK(ocis_compressor_write(c, in, n, &err) == 0);
		calls_before_finish = sink.calls;
		if (algs[i] != OCIS_COMPRESS_ZSTD) {
			TAP_CHECK(count_threads() == before);
			/* the four full blocks (gzip: at least four blocks,
			 * none longer than BLOCK) went out during write */
			TAP_CHECK(algs[i] == OCIS_COMPRESS_GZIP ? calls_before_finish >= 4 :
				  calls_before_finish == 4);
		}
		TAP_CHECK(ocis_compressor_finish(c, &res, &err) == 0);
		TAP_CHECK(sink.foreign == 0 && sink.calls > calls_before_finish);
		TAP_CHECK(res.uncompressed_size == n && res.size == sink.buf.len);
		ocis_compressor_free(c);
		ocis_buf_release(&sink.buf);

		memset(&sink, 0, sizeof(sink));
		TAP_CHECK(ocis_compressor_new(&c, algs[i], ocis_compression_default_level(algs[i]),
					      2, sink_out, &sink, &err) == 0);
		TAP_CHECK(count_threads() > before);
		TAP_CHECK(ocis_compressor_write(c, in, n, &err) == 0);
		TAP_CHECK(ocis_compressor_finish(c, &res, &err) == 0);
		TAP_CHECK(sink.foreign == sink.calls && sink.calls > 0);
		ocis_compressor_free(c);
		ocis_buf_release(&sink.buf);
	}
	free(in);
	return 0;
}

/* free() without finish (the caller gave up) joins everything. */
static int
test_free_unfinished(void)
{
	static const enum ocis_compression algs[] = {
		OCIS_COMPRESS_GZIP, OCIS_COMPRESS_ZSTD, OCIS_COMPRESS_NONE,
	};
	size_t n = 3 * BLOCK + 5, i;
	unsigned char *in = make_input(n);
	ocis_error_t *err = NULL;

	TAP_CHECK(in != NULL);
	for (i = 0; i < 6; i++) {
		struct ocis_compressor *c = NULL;
		struct sink sink;

		/* 4 threads, then 1 (no threads of its own) */
		memset(&sink, 0, sizeof(sink));
		TAP_CHECK(ocis_compressor_new(&c, algs[i / 2], ocis_compression_default_level(algs[i / 2]),
					      i % 2 ? 1 : 4, sink_out, &sink, &err) == 0);
		TAP_CHECK(ocis_compressor_write(c, in, n, &err) == 0);
		ocis_compressor_free(c);
		ocis_buf_release(&sink.buf);
		if (i % 2)
			continue;

		/* and right after new */
		TAP_CHECK(ocis_compressor_new(&c, algs[i / 2], ocis_compression_default_level(algs[i / 2]),
					      0, sink_out, &sink, &err) == 0);
		ocis_compressor_free(c);
	}
	ocis_compressor_free(NULL);
	free(in);
	return 0;
}

/* marks after 10 bytes, after 3 MiB, twice at the same place, at 5 MiB */
static const size_t at[] = { 10, 3 * BLOCK + 5, 3 * BLOCK + 5, 5 * BLOCK };

/* Marks (estargz): each mark starts a member at the offset the
 * compressor reports; drain, a tail member and raw bytes; the same bytes
 * for 1, 2 and 8 threads; gzip and zstd refuse marks. */
static int
marks_run(int threads, struct sink *sink, uint64_t offs[4], uint64_t *drained,
	  struct ocis_compress_result *res, const unsigned char *in)
{
	struct ocis_compressor *c = NULL;
	ocis_error_t *err = NULL;
	uint64_t id;
	size_t i, off = 0;

	memset(sink, 0, sizeof(*sink));
	if (ocis_compressor_new(&c, OCIS_COMPRESS_ESTARGZ, 6, threads, sink_out, sink, &err) < 0)
		goto fail;
	for (i = 0; i < 4; i++) {
		if (ocis_compressor_write(c, in + off, at[i] - off, &err) < 0 ||
		    ocis_compressor_mark(c, &id, &err) < 0 || id != i)
			goto fail;
		off = at[i];
	}
	if (ocis_compressor_write(c, in + off, 100, &err) < 0 ||
	    ocis_compressor_drain(c, drained, &err) < 0)
		goto fail;
	for (i = 0; i < 4; i++)
		offs[i] = ocis_compressor_mark_offset(c, i);
	if (ocis_compressor_finish_tail(c, "tail", 4, "RAW", 3, res, &err) < 0)
		goto fail;
	ocis_compressor_free(c);
	return 0;
fail:
	printf("# marks failed: %s\n", err ? err->msg : "?");
	ocis_error_free(&err);
	ocis_compressor_free(c);
	return -1;
}

static int
test_marks(void)
{
	size_t n = 5 * BLOCK + 100;
	unsigned char *in = make_input(n), *back = NULL;
	struct sink s1, s2, s8;
	struct ocis_compress_result r1, r2, r8;
	struct ocis_compressor *c = NULL;
	uint64_t o1[4], o2[4], o8[4], d1, d2, d8, id;
	ocis_error_t *err = NULL;
	size_t backn = 0, i;
	z_stream z;
	unsigned char first[16];
	int ok = 0;

	if (in == NULL || marks_run(1, &s1, o1, &d1, &r1, in) < 0 ||
	    marks_run(2, &s2, o2, &d2, &r2, in) < 0 || marks_run(8, &s8, o8, &d8, &r8, in) < 0)
		goto out;
	TAP_CHECK(s1.buf.len == s2.buf.len && memcmp(s1.buf.data, s2.buf.data, s1.buf.len) == 0);
	TAP_CHECK(s1.buf.len == s8.buf.len && memcmp(s1.buf.data, s8.buf.data, s1.buf.len) == 0);
	TAP_CHECK(memcmp(o1, o2, sizeof(o1)) == 0 && memcmp(o1, o8, sizeof(o1)) == 0);
	TAP_CHECK(d1 == d2 && d1 == d8);
	TAP_CHECK(strcmp(r1.digest, r8.digest) == 0 && r1.uncompressed_size == n + 4);
	TAP_CHECK(r1.size == s1.buf.len);
	/* the same place twice: one member start */
	TAP_CHECK(o1[1] == o1[2] && o1[0] < o1[1] && o1[2] < o1[3] && o1[3] < d1);
	/* the raw bytes last, the tail member before them, at the drain */
	TAP_CHECK(memcmp(s1.buf.data + s1.buf.len - 3, "RAW", 3) == 0);
	/* all of it (but RAW) inflates to the input and the tail */
	TAP_CHECK(gunzip_all(s1.buf.data, s1.buf.len - 3, &back, &backn) > 0);
	TAP_CHECK(backn == n + 4 && memcmp(back, in, n) == 0 && memcmp(back + n, "tail", 4) == 0);
	/* a member starts at each mark, with the input byte at the mark,
	 * wherever the chunker would have cut the block (chunker.h) */
	for (i = 0; i < 4; i++) {
		memset(&z, 0, sizeof(z));
		TAP_CHECK(inflateInit2(&z, 31) == Z_OK);
		z.next_in = s1.buf.data + o1[i];
		z.avail_in = (uInt)(s1.buf.len - o1[i]);
		z.next_out = first;
		z.avail_out = sizeof(first);
		TAP_CHECK(inflate(&z, Z_NO_FLUSH) != Z_DATA_ERROR);
		inflateEnd(&z);
		TAP_CHECK(memcmp(first, in + at[i], sizeof(first)) == 0);
	}
	TAP_CHECK(s1.buf.data[d1] == 0x1f && s1.buf.data[d1 + 1] == 0x8b);

	/* gzip and zstd have no marks, nor tails */
	TAP_CHECK(ocis_compressor_new(&c, OCIS_COMPRESS_GZIP, 6, 1, sink_out, &s2, &err) == 0);
	TAP_CHECK(ocis_compressor_mark(c, &id, &err) < 0 && err && err->code == EINVAL);
	ocis_error_free(&err);
	TAP_CHECK(ocis_compressor_finish_tail(c, "x", 1, NULL, 0, &r2, &err) < 0);
	ocis_error_free(&err);
	ocis_compressor_free(c);
	ok = 1;
out:
	free(in);
	free(back);
	ocis_buf_release(&s1.buf);
	ocis_buf_release(&s2.buf);
	ocis_buf_release(&s8.buf);
	return ok ? 0 : -1;
}

/*
 * zstd:chunked: where the marks are (offsets into the input) for
 * test_zchunked_frames: more small frames than a block holds, a mark
 * twice zat one place, frames longer than a block and of exactly one, and
 * frames that start late in a block and outgrow it.
 */
#define ZMARKS_MAX 4096

static size_t
zchunked_marks(size_t *zat)
{
	size_t n = 0, off = 0, i;

	for (i = 0; i < 1500; i++)	/* 1 to 200 bytes each */
		zat[n++] = off += 1 + (i * 37) % 200;
	zat[n++] = off;			/* twice: no empty frame */
	zat[n++] = off += 2 * BLOCK + 77;
	for (i = 0; i < 20; i++)
		zat[n++] = off += 5000;
	zat[n++] = off += BLOCK;
	zat[n++] = off += BLOCK - 10;	/* from 100 000 bytes into a block */
	for (i = 0; i < 300; i++)
		zat[n++] = off += 3000 + i;
	return n;
}

/* What zstd:chunked must write for those marks: every run between two
 * marks (and after the last) in frames of zat most BLOCK bytes from its
 * start, each compressed on its own; each mark's offset into *ref. */
static int
zchunked_reference(const unsigned char *in, size_t n, const size_t *zat, size_t nat,
		   uint64_t *offs, struct ocis_buf *ref)
{
	ZSTD_CCtx *z = ZSTD_createCCtx();
	size_t from = 0, i, cap = ZSTD_compressBound(BLOCK);
	int r = -1;

	if (z == NULL || ZSTD_isError(ZSTD_CCtx_setParameter(z, ZSTD_c_compressionLevel, 3)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(z, ZSTD_c_checksumFlag, 1)))
		goto out;
	for (i = 0; i <= nat; i++) {
		size_t to = i < nat ? zat[i] : n;

		while (from < to) {
			size_t k = to - from < BLOCK ? to - from : BLOCK, w;

			if (ocis_buf_grow(ref, cap, NULL) < 0)
				goto out;
			w = ZSTD_compress2(z, ref->data + ref->len, cap, in + from, k);
			if (ZSTD_isError(w))
				goto out;
			ref->len += w;
			from += k;
		}
		if (i < nat)
			offs[i] = ref->len;
	}
	r = 0;
out:
	ZSTD_freeCCtx(z);
	return r;
}

/* The same through the compressor, written in slices of 1 to 7000 bytes
 * that ignore the marks. */
static int
zchunked_run(int threads, const unsigned char *in, size_t n, const size_t *zat, size_t nat,
	     uint64_t *offs, uint64_t *drained, struct sink *sink)
{
	struct ocis_compressor *c = NULL;
	struct ocis_compress_result res;
	ocis_error_t *err = NULL;
	size_t off = 0, i = 0, step = 0;
	uint64_t id;

	memset(sink, 0, sizeof(*sink));
	if (ocis_compressor_new(&c, OCIS_COMPRESS_ZCHUNKED, 3, threads, sink_out, sink, &err) < 0)
		goto fail;
	while (off < n || i < nat) {
		size_t to = i < nat ? zat[i] : n, k = 1 + (step++ * 7919) % 7000;

		if (off == to && i < nat) {
			if (ocis_compressor_mark(c, &id, &err) < 0 || id != i++)
				goto fail;
			continue;
		}
		if (k > to - off)
			k = to - off;
		if (ocis_compressor_write(c, in + off, k, &err) < 0)
			goto fail;
		off += k;
	}
	if (ocis_compressor_drain(c, drained, &err) < 0)
		goto fail;
	for (i = 0; i < nat; i++)
		offs[i] = ocis_compressor_mark_offset(c, i);
	if (ocis_compressor_finish_tail(c, NULL, 0, "RAW", 3, &res, &err) < 0)
		goto fail;
	ocis_compressor_free(c);
	return res.size == sink->buf.len && res.uncompressed_size == n ? 0 : -1;
fail:
	printf("# zstd:chunked with %d threads: %s\n", threads, err ? err->msg : "?");
	ocis_error_free(&err);
	ocis_compressor_free(c);
	return -1;
}

/* zstd:chunked's blocks hold many frames (fewer hand-offs): the bytes
 * and mark offsets must be those of one frame a block, for any thread
 * count. */
static int
test_zchunked_frames(void)
{
	static size_t zat[ZMARKS_MAX];
	static uint64_t ref_offs[ZMARKS_MAX], offs[ZMARKS_MAX];
	static const int threads[] = { 1, 2, 8 };
	size_t nat = zchunked_marks(zat), n = zat[nat - 1] + 12345, t;
	unsigned char *in = make_input(n);
	struct ocis_buf ref = OCIS_BUF_INIT;
	struct sink sink;
	uint64_t drained;
	int ok = 1;

	TAP_MUST(in != NULL && nat <= ZMARKS_MAX);
	TAP_MUST(zchunked_reference(in, n, zat, nat, ref_offs, &ref) == 0);
	for (t = 0; t < sizeof(threads) / sizeof(threads[0]) && ok; t++) {
		ok = zchunked_run(threads[t], in, n, zat, nat, offs, &drained, &sink) == 0 &&
		     sink.buf.len == ref.len + 3 && memcmp(sink.buf.data, ref.data, ref.len) == 0 &&
		     memcmp(offs, ref_offs, nat * sizeof(*offs)) == 0 && drained == ref.len;
		if (!ok)
			printf("# %d threads: %zu bytes, %zu expected\n", threads[t], sink.buf.len,
			       ref.len + 3);
		ocis_buf_release(&sink.buf);
	}
	free(in);
	ocis_buf_release(&ref);
	TAP_CHECK(ok);
	return 0;
}

int
main(void)
{
	test_thread = pthread_self();
	TAP_PLAN(17);
	TAP_RUN(test_names);
	TAP_RUN(test_bad_level);
	TAP_RUN(test_none_known_digests);
	TAP_RUN(test_roundtrip_none);
	TAP_RUN(test_roundtrip_gzip);
	TAP_RUN(test_roundtrip_zstd);
	TAP_RUN(test_roundtrip_zchunked);
	TAP_RUN(test_threads_gzip);
	TAP_RUN(test_gzip_level1);
	TAP_RUN(test_gzmember_independent);
	TAP_RUN(test_threads_zstd);
	TAP_RUN(test_full_ring);
	TAP_RUN(test_out_failure);
	TAP_RUN(test_one_thread_is_serial);
	TAP_RUN(test_free_unfinished);
	TAP_RUN(test_marks);
	TAP_RUN(test_zchunked_frames);
	return tap_done();
}
