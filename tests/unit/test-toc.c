/* SPDX-License-Identifier: MIT */
/*
 * zstd:chunked's content-defined chunks (src/lib/toc.c) against a plain
 * port of containers/storage's rollsum.go, byte by byte; the tar-split's
 * CRC-64 (src/lib/crc64.c) against Go's hash/crc64.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include <ocistream/crc64.h>
#include <ocistream/toc.h>

#include "../tap.h"

#define MAXCUTS 4096

/* Pseudo-random bytes (xorshift64) with runs of one byte now and then
 * (where the window holds the same byte many times). */
static unsigned char *
make_input(size_t n, uint64_t x)
{
	unsigned char *p = malloc(n);
	size_t i = 0;

	TAP_MUST(p != NULL);
	x = x * 0x9E3779B97F4A7C15ULL + 1;
	while (i < n) {
		size_t run = 1;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if ((x & 0xff) < 4)
			run = 1 + (x >> 8) % 300;
		for (; run > 0 && i < n; run--)
			p[i++] = (unsigned char)(x >> 56);
	}
	return p;
}

/* Upstream's chunks of one file of n bytes, as its compressor.go and
 * rollsum.go make them, byte by byte: a run of 1024 or more zeros
 * (holesFinder) is a chunk of its own, rolled without a cut; other bytes
 * are rolled one by one, with a cut after a byte whose sum has its 16 low
 * bits set.  The ends of the chunks (the last one at n), and which are
 * runs of zeros. */
static size_t
ref_cuts(const unsigned char *p, size_t n, size_t *cuts, unsigned char *zero)
{
	uint32_t s1 = 64 * 31, s2 = 64 * 63 * 31;
	unsigned char window[64] = { 0 };
	size_t i = 0, nc = 0, wofs = 0, last = 0, run = 0, k;

	while (i < n) {
		if (run == 0) {
			while (i + run < n && p[i + run] == 0)
				run++;
			if (run >= 1024) {
				if (i > last) {
					TAP_MUST(nc < MAXCUTS);
					zero[nc] = 0;
					cuts[nc++] = last = i;
				}
				for (k = 0; k < run; k++) {
					uint32_t drop = window[wofs];

					s1 -= drop;
					s2 += s1 - 64 * (drop + 31);
					window[wofs] = 0;
					wofs = (wofs + 1) & 63;
				}
				i += run;
				run = 0;
				TAP_MUST(nc < MAXCUTS);
				zero[nc] = 1;
				cuts[nc++] = last = i;
				continue;
			}
		}
		/* a plain byte (maybe one of a short run of zeros) */
		{
			uint32_t drop = window[wofs];

			s1 += p[i] - drop;
			s2 += s1 - 64 * (drop + 31);
			window[wofs] = p[i];
			wofs = (wofs + 1) & 63;
		}
		if (run > 0)
			run--;
		i++;
		if ((s2 & 0xffff) == 0xffff || i == n) {
			TAP_MUST(nc < MAXCUTS);
			zero[nc] = 0;
			cuts[nc++] = last = i;
		}
	}
	return nc;
}

/* The same file through the TOC, its data handed over in slices of
 * `slice` bytes (0: at once): the ends of its chunks and their kinds;
 * the bytes it hands on are the file's, each chunk's digest is right. */
static size_t
toc_cuts(const unsigned char *p, size_t n, size_t slice, size_t *cuts, unsigned char *zero)
{
	struct ocis_pax_entry pe;
	struct ocis_toc t;
	size_t off = 0, out = 0, steps = 0, i;

	memset(&pe, 0, sizeof(pe));
	pe.path = "f";
	pe.type = '0';
	pe.mode = 0644;
	pe.size = n;
	TAP_MUST(ocis_toc_init(&t, 0, NULL) == 0);
	TAP_MUST(ocis_toc_add_entry(&t, &pe, NULL) == 0);
	while (ocis_toc_wants(&t, n - off)) {
		size_t want = slice && n - off > slice ? slice : n - off;
		struct ocis_toc_span s;

		TAP_MUST(++steps < 4 * n + 100);
		if (ocis_toc_chunk_due(&t))
			TAP_MUST(ocis_toc_begin_chunk(&t, t.n_chunks, NULL) == 0);
		ocis_toc_span(&t, p + off, want, &s);
		TAP_MUST(s.used <= want && out + s.len <= n);
		TAP_MUST(s.len == 0 || memcmp(s.data, p + out, s.len) == 0);
		TAP_MUST(ocis_toc_data(&t, s.data, s.len, NULL) == 0);
		out += s.len;
		off += s.used;
		TAP_MUST(out <= off);
	}
	TAP_MUST(off == n && out == n && ocis_toc_data_left(&t) == 0);
	TAP_MUST(t.n_chunks <= MAXCUTS);
	for (i = 0; i < t.n_chunks; i++) {
		unsigned char md[SHA256_DIGEST_LENGTH];
		size_t start = i ? cuts[i - 1] : 0;

		TAP_MUST(t.chunks[i].file_offset == start && t.chunks[i].size > 0);
		cuts[i] = start + t.chunks[i].size;
		zero[i] = t.chunks[i].zeros;
		SHA256(p + start, cuts[i] - start, md);
		TAP_MUST(memcmp(md, t.chunks[i].digest, sizeof(md)) == 0);
	}
	i = t.n_chunks;
	ocis_toc_release(&t);
	return i;
}

static int
same_cuts(const unsigned char *p, size_t n, size_t slice)
{
	static size_t a[MAXCUTS], b[MAXCUTS];
	static unsigned char za[MAXCUTS], zb[MAXCUTS];
	size_t na = ref_cuts(p, n, a, za), nb = toc_cuts(p, n, slice, b, zb), i;

	if (na != nb) {
		printf("# %zu bytes in slices of %zu: %zu chunks, upstream %zu\n", n, slice, nb, na);
		return 0;
	}
	for (i = 0; i < na; i++)
		if (a[i] != b[i] || za[i] != zb[i]) {
			printf("# %zu bytes in slices of %zu: chunk %zu ends at %zu (%s), "
			       "upstream %zu (%s)\n", n, slice, i, b[i], zb[i] ? "zeros" : "data",
			       a[i], za[i] ? "zeros" : "data");
			return 0;
		}
	return 1;
}

/* Big files: many cuts, the data handed over however it comes. */
static int
test_cuts_as_upstream(void)
{
	static const size_t slices[] = { 0, 1, 7, 63, 64, 65, 100, 4096, 65536 };
	static size_t tmp[MAXCUTS];
	static unsigned char ztmp[MAXCUTS];
	size_t n = 6 * 1024 * 1024 + 13, i;
	unsigned char *p = make_input(n, 21);
	int ok = 1;

	TAP_CHECK(ref_cuts(p, n, tmp, ztmp) > 20);
	for (i = 0; i < sizeof(slices) / sizeof(slices[0]) && ok; i++)
		ok = same_cuts(p, i > 1 ? n : n / 8, slices[i]);
	free(p);
	TAP_CHECK(ok);
	return 0;
}

/* Files of every small size, and cuts within their first 64 bytes (where
 * the window still holds the file's start): the first inputs found to cut
 * there. */
static int
test_cuts_small_files(void)
{
	unsigned char *p = make_input(1 << 20, 7);
	size_t cuts[MAXCUTS], n, off, early = 0;
	unsigned char zero[MAXCUTS];
	uint32_t seed;

	for (n = 1, off = 0; off + n <= (1u << 20); off += n, n = n % 300 + 1)
		TAP_CHECK(same_cuts(p + off, n, n % 3 ? 0 : 5));
	free(p);
	for (seed = 1; early < 8 && seed < 200000; seed++) {
		p = make_input(100, seed);
		if (ref_cuts(p, 100, cuts, zero) > 1 && cuts[0] < 64) {
			early++;
			TAP_CHECK(same_cuts(p, 100, 0));
			TAP_CHECK(same_cuts(p, 100, 3));
		}
		free(p);
	}
	TAP_CHECK(early == 8);
	return 0;
}

/* Runs of zeros around upstream's 1024, at a file's start, inside, at its
 * end, next to each other and across the slices the data comes in. */
static int
test_zero_runs(void)
{
	static const size_t runs[] = { 1, 63, 64, 500, 1023, 1024, 1025, 2047, 3000, 70000 };
	static const size_t slices[] = { 0, 1, 7, 64, 100, 511, 1000, 1023, 1024, 4096, 65536 };
	size_t nr = sizeof(runs) / sizeof(runs[0]), ns = sizeof(slices) / sizeof(slices[0]);
	size_t n = 1 << 20, i, j, off, holes = 0, cuts[MAXCUTS], k;
	unsigned char *p = make_input(n, 5), zero[MAXCUTS];
	int ok = 1;

	/* runs of every length here and there, some two with one byte between */
	for (i = 0, off = 0; off < n; i++) {
		size_t len = runs[i % nr];

		memset(p + off, 0, len < n - off ? len : n - off);
		off += len + (i % 3 == 0 ? 1 : 997 + 13 * i);
	}
	k = ref_cuts(p, n, cuts, zero);
	for (i = 0; i < k; i++)
		holes += zero[i];
	TAP_CHECK(holes > 20 && k > holes + 10);
	for (j = 0; j < ns && ok; j++)
		ok = same_cuts(p, n, slices[j]);
	/* files that begin or end with a run, or are one, of each length */
	for (i = 0; i < nr && ok; i++) {
		size_t len = runs[i], m = len + 5000;
		unsigned char *q = make_input(m, 9 + i), *z = calloc(1, len);

		TAP_MUST(z != NULL);
		for (j = 0; j < ns && ok; j++)
			ok = same_cuts(z, len, slices[j]) && (memset(q, 0, len),
			     same_cuts(q, m, slices[j])) && (memset(q + m - len, 0, len),
			     same_cuts(q, m, slices[j]));
		free(q);
		free(z);
	}
	free(p);
	TAP_CHECK(ok);
	return 0;
}

/* A cut in the first 64 bytes after a run of zeros, where the window
 * still holds the run's zeros: the first inputs found to cut there. */
static int
test_cut_after_zeros(void)
{
	size_t cuts[MAXCUTS], n = 1400, found = 0, i, k;
	unsigned char zero[MAXCUTS];
	uint32_t seed;

	for (seed = 1; found < 8 && seed < 400000; seed++) {
		unsigned char *p = make_input(n, seed);

		memset(p + 100, 0, seed % 2 ? 1024 : 1200);
		k = ref_cuts(p, n, cuts, zero);
		for (i = 1; i < k; i++)
			if (zero[i - 1] && cuts[i] - cuts[i - 1] <= 64 && cuts[i] < n) {
				found++;
				TAP_CHECK(same_cuts(p, n, 0));
				TAP_CHECK(same_cuts(p, n, 1301));
				break;
			}
		free(p);
	}
	TAP_CHECK(found == 8);
	return 0;
}

/* Go: crc64.Checksum([]byte("123456789"), crc64.MakeTable(crc64.ISO)). */
static int
test_crc64_iso(void)
{
	unsigned char *p = make_input(100003, 3);
	uint64_t whole, parts = 0;
	size_t off = 0, k = 1;

	TAP_CHECK(ocis_crc64_iso(0, "123456789", 9) == 0xB90956C775A41001ULL);
	TAP_CHECK(ocis_crc64_iso(ocis_crc64_iso(0, "1234", 4), "56789", 5) ==
		  0xB90956C775A41001ULL);
	TAP_CHECK(ocis_crc64_iso(0, "", 0) == 0);
	whole = ocis_crc64_iso(0, p, 100003);
	while (off < 100003) {
		if (k > 100003 - off)
			k = 100003 - off;
		parts = ocis_crc64_iso(parts, p + off, k);
		off += k;
		k = k * 3 + 1;
	}
	free(p);
	TAP_CHECK(whole == parts);
	return 0;
}

int
main(void)
{
	TAP_PLAN(5);
	TAP_RUN(test_cuts_as_upstream);
	TAP_RUN(test_cuts_small_files);
	TAP_RUN(test_zero_runs);
	TAP_RUN(test_cut_after_zeros);
	TAP_RUN(test_crc64_iso);
	return tap_done();
}
