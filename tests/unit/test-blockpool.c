/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the split layers' compressor pool (ocistream/blockpool.h):
 * a gzip pool layer is byte for byte the single-layer compressor's output
 * for the same bytes and entry starts, whatever the thread count and with
 * other layers interleaved; zstd layers are frames that decompress to the
 * input; none passes bytes through; an empty layer; a failing out function
 * fails every layer.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include <ocistream/blockpool.h>
#include <ocistream/compress.h>
#include <ocistream/io.h>

#include "../tap.h"

#define LAYERS 3
#define INPUT (3 * 1024 * 1024 + 12345)

/* Layer k's input: text runs and pseudo-random runs, its own seed. */
static unsigned char *
layer_input(int k, size_t n)
{
	static const char text[] = "usr/share/doc/copyright GNU General Public License ";
	unsigned char *p = malloc(n);
	uint64_t x = 0x9e3779b97f4a7c15ULL * (uint64_t)(k + 1);
	size_t i = 0;

	TAP_MUST(p != NULL);
	while (i < n) {
		size_t run, j;
		int is_text;
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		run = 64 + x % 4096;
		is_text = (x >> 32) & 1;
		for (j = 0; j < run && i < n; j++, i++) {
			if (is_text) {
				p[i] = (unsigned char)text[(i + j) % (sizeof(text) - 1)];
			} else {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				p[i] = (unsigned char)x;
			}
		}
	}
	return p;
}

/* Entry starts: every `step` bytes, step varying with the offset. */
static size_t
next_entry(size_t at)
{
	return at + 3000 + (at * 7919) % 400000;
}

static int
to_buf(void *ctx, const void *data, size_t len, ocis_error_t **err)
{
	return ocis_buf_add(ctx, data, len, err);
}

static int
fail_second(void *ctx, const void *data, size_t len, ocis_error_t **err)
{
	int *calls = ctx;

	(void)data;
	(void)len;
	if (++*calls == 2)
		return ocis_error_set(err, 0, "disk full (test)");
	return 0;
}

/* The single-layer compressor's output for layer k's input. */
static int
reference(enum ocis_compression alg, int level, const unsigned char *in, struct ocis_buf *out,
	  struct ocis_compress_result *res)
{
	struct ocis_compressor *c;
	ocis_error_t *err = NULL;
	size_t at = 0, e = next_entry(0);

	TAP_CHECK(ocis_compressor_new(&c, alg, level, 1, to_buf, out, &err) == 0);
	while (at < INPUT) {
		size_t n = e - at < INPUT - at ? e - at : INPUT - at;
		TAP_CHECK(ocis_compressor_entry(c, &err) == 0);
		TAP_CHECK(ocis_compressor_write(c, in + at, n, &err) == 0);
		at += n;
		e = next_entry(e);
	}
	TAP_CHECK(ocis_compressor_finish(c, res, &err) == 0);
	ocis_compressor_free(c);
	return 0;
}

/* LAYERS layers through one pool, their writes interleaved in slices of
 * odd sizes, entry starts as in reference(). */
static int
pooled(enum ocis_compression alg, int level, int threads, unsigned char *in[LAYERS],
       struct ocis_buf out[LAYERS], struct ocis_compress_result res[LAYERS])
{
	struct ocis_blockpool *p;
	struct ocis_blockpool_layer *l[LAYERS];
	size_t at[LAYERS] = { 0 }, e[LAYERS];
	int entry[LAYERS];
	ocis_error_t *err = NULL;
	int k, busy = 1;

	TAP_CHECK(ocis_blockpool_new(&p, alg, level, threads, &err) == 0);
	for (k = 0; k < LAYERS; k++) {
		TAP_CHECK(ocis_blockpool_layer_new(p, &l[k], to_buf, &out[k], &err) == 0);
		e[k] = next_entry(0);
		entry[k] = 1;
	}
	while (busy) {
		busy = 0;
		for (k = 0; k < LAYERS; k++) {
			size_t n = 70001 + 13 * (size_t)k;
			if (at[k] == INPUT)
				continue;
			busy = 1;
			if (entry[k])
				TAP_CHECK(ocis_blockpool_entry(l[k], &err) == 0);
			entry[k] = 0;
			if (n > e[k] - at[k])
				n = e[k] - at[k];
			if (n > INPUT - at[k])
				n = INPUT - at[k];
			TAP_CHECK(ocis_blockpool_write(l[k], in[k] + at[k], n, &err) == 0);
			at[k] += n;
			if (at[k] == e[k]) {
				entry[k] = 1;
				e[k] = next_entry(e[k]);
			}
		}
	}
	for (k = 0; k < LAYERS; k++)
		TAP_CHECK(ocis_blockpool_end(l[k], &err) == 0);
	for (k = 0; k < LAYERS; k++) {
		TAP_CHECK(ocis_blockpool_finish(l[k], &res[k], &err) == 0);
		ocis_blockpool_layer_free(l[k]);
	}
	ocis_blockpool_free(p);
	return 0;
}

static int
same_as_compressor(enum ocis_compression alg, int level)
{
	static const int threads[] = { 1, 2, 4 };
	unsigned char *in[LAYERS];
	struct ocis_buf want[LAYERS], got[LAYERS];
	struct ocis_compress_result rw[LAYERS], rg[LAYERS];
	size_t t;
	int k;

	for (k = 0; k < LAYERS; k++) {
		in[k] = layer_input(k, INPUT);
		memset(&want[k], 0, sizeof(want[k]));
		TAP_CHECK(reference(alg, level, in[k], &want[k], &rw[k]) == 0);
	}
	for (t = 0; t < sizeof(threads) / sizeof(threads[0]); t++) {
		memset(got, 0, sizeof(got));
		TAP_CHECK(pooled(alg, level, threads[t], in, got, rg) == 0);
		for (k = 0; k < LAYERS; k++) {
			TAP_CHECK(got[k].len == want[k].len);
			TAP_CHECK(memcmp(got[k].data, want[k].data, got[k].len) == 0);
			TAP_CHECK(memcmp(&rg[k], &rw[k], sizeof(rg[k])) == 0);
			ocis_buf_release(&got[k]);
		}
	}
	for (k = 0; k < LAYERS; k++) {
		ocis_buf_release(&want[k]);
		free(in[k]);
	}
	return 0;
}

static int
test_gzip_is_the_single_layer(void)
{
	return same_as_compressor(OCIS_COMPRESS_GZIP, 6);
}

static int
test_gzip_level1_is_the_single_layer(void)
{
	return same_as_compressor(OCIS_COMPRESS_GZIP, 1);
}

/* none: the bytes themselves; digest = diff_id. */
static int
test_none_is_the_single_layer(void)
{
	return same_as_compressor(OCIS_COMPRESS_NONE, 0);
}

/* zstd: several frames, decompressing to the input, the same for any
 * thread count. */
static int
test_zstd_frames(void)
{
	unsigned char *in[LAYERS];
	struct ocis_buf a[LAYERS], b[LAYERS];
	struct ocis_compress_result ra[LAYERS], rb[LAYERS];
	unsigned char *back = malloc(INPUT);
	int k;

	TAP_MUST(back != NULL);
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	for (k = 0; k < LAYERS; k++)
		in[k] = layer_input(k, INPUT);
	TAP_CHECK(pooled(OCIS_COMPRESS_ZSTD, 3, 1, in, a, ra) == 0);
	TAP_CHECK(pooled(OCIS_COMPRESS_ZSTD, 3, 3, in, b, rb) == 0);
	for (k = 0; k < LAYERS; k++) {
		size_t first = ZSTD_findFrameCompressedSize(a[k].data, a[k].len);
		TAP_CHECK(a[k].len == b[k].len && memcmp(a[k].data, b[k].data, a[k].len) == 0);
		TAP_CHECK(memcmp(&ra[k], &rb[k], sizeof(ra[k])) == 0);
		TAP_CHECK(!ZSTD_isError(first) && first < a[k].len);
		TAP_CHECK(ZSTD_decompress(back, INPUT, a[k].data, a[k].len) == INPUT);
		TAP_CHECK(memcmp(back, in[k], INPUT) == 0);
		TAP_CHECK(ra[k].uncompressed_size == INPUT && ra[k].size == a[k].len);
		ocis_buf_release(&a[k]);
		ocis_buf_release(&b[k]);
		free(in[k]);
	}
	free(back);
	return 0;
}

/* A layer with no bytes is one empty member, as the compressor makes it. */
static int
test_empty_layer(void)
{
	struct ocis_blockpool *p;
	struct ocis_blockpool_layer *l;
	struct ocis_compressor *c;
	struct ocis_buf got = OCIS_BUF_INIT, want = OCIS_BUF_INIT;
	struct ocis_compress_result rg, rw;
	ocis_error_t *err = NULL;

	TAP_CHECK(ocis_blockpool_new(&p, OCIS_COMPRESS_GZIP, 6, 2, &err) == 0);
	TAP_CHECK(ocis_blockpool_layer_new(p, &l, to_buf, &got, &err) == 0);
	TAP_CHECK(ocis_blockpool_finish(l, &rg, &err) == 0);
	ocis_blockpool_layer_free(l);
	ocis_blockpool_free(p);
	TAP_CHECK(ocis_compressor_new(&c, OCIS_COMPRESS_GZIP, 6, 2, to_buf, &want, &err) == 0);
	TAP_CHECK(ocis_compressor_finish(c, &rw, &err) == 0);
	ocis_compressor_free(c);
	TAP_CHECK(got.len == want.len && got.len > 0 && memcmp(got.data, want.data, got.len) == 0);
	TAP_CHECK(memcmp(&rg, &rw, sizeof(rg)) == 0);
	ocis_buf_release(&got);
	ocis_buf_release(&want);
	return 0;
}

/* The out function of one layer fails: that layer and the others report
 * it, and everything is freed (also with blocks still in flight). */
static int
out_failure(int threads)
{
	struct ocis_blockpool *p;
	struct ocis_blockpool_layer *bad, *good;
	struct ocis_buf sink = OCIS_BUF_INIT;
	struct ocis_compress_result res;
	ocis_error_t *err = NULL;
	unsigned char *in = layer_input(0, INPUT);
	int calls = 0, r = 0, i;

	TAP_CHECK(ocis_blockpool_new(&p, OCIS_COMPRESS_GZIP, 1, threads, &err) == 0);
	TAP_CHECK(ocis_blockpool_layer_new(p, &bad, fail_second, &calls, &err) == 0);
	TAP_CHECK(ocis_blockpool_layer_new(p, &good, to_buf, &sink, &err) == 0);
	for (i = 0; i < 4 && r == 0; i++)
		r = ocis_blockpool_write(bad, in, INPUT, &err);
	if (r == 0)
		r = ocis_blockpool_finish(bad, &res, &err);
	TAP_CHECK(r < 0 && err != NULL && strstr(err->msg, "disk full (test)") != NULL);
	ocis_error_free(&err);
	r = ocis_blockpool_write(good, in, INPUT, &err);
	if (r == 0)
		r = ocis_blockpool_finish(good, &res, &err);
	TAP_CHECK(r < 0 && err != NULL && strstr(err->msg, "disk full (test)") != NULL);
	ocis_error_free(&err);
	ocis_blockpool_layer_free(bad);
	ocis_blockpool_layer_free(good);
	ocis_blockpool_free(p);
	ocis_buf_release(&sink);
	free(in);
	return 0;
}

static int
test_out_failure(void)
{
	TAP_CHECK(out_failure(1) == 0);
	TAP_CHECK(out_failure(3) == 0);
	return 0;
}

static int
test_refused(void)
{
	struct ocis_blockpool *p = NULL;
	ocis_error_t *err = NULL;

	TAP_CHECK(ocis_blockpool_new(&p, OCIS_COMPRESS_ESTARGZ, 6, 1, &err) < 0 && p == NULL);
	ocis_error_free(&err);
	TAP_CHECK(ocis_blockpool_new(&p, OCIS_COMPRESS_GZIP, 13, 1, &err) < 0 && p == NULL);
	ocis_error_free(&err);
	return 0;
}

int
main(void)
{
	TAP_PLAN(7);
	TAP_RUN(test_gzip_is_the_single_layer);
	TAP_RUN(test_gzip_level1_is_the_single_layer);
	TAP_RUN(test_none_is_the_single_layer);
	TAP_RUN(test_zstd_frames);
	TAP_RUN(test_empty_layer);
	TAP_RUN(test_out_failure);
	TAP_RUN(test_refused);
	return tap_done();
}
