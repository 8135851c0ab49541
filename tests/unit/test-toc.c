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

/* Upstream's RollSum, as written there: the ends of the chunks of one
 * file of n bytes (the last one at n). */
static size_t
ref_cuts(const unsigned char *p, size_t n, size_t *cuts)
{
	uint32_t s1 = 64 * 31, s2 = 64 * 63 * 31;
	unsigned char window[64] = { 0 };
	size_t i, nc = 0, wofs = 0;

	for (i = 0; i < n; i++) {
		uint32_t drop = window[wofs];

		s1 += p[i] - drop;
		s2 += s1 - 64 * (drop + 31);
		window[wofs] = p[i];
		wofs = (wofs + 1) & 63;
		if ((s2 & 0xffff) == 0xffff || i + 1 == n) {
			TAP_MUST(nc < MAXCUTS);
			cuts[nc++] = i + 1;
		}
	}
	return nc;
}

/* The same file through the TOC, its data handed over in slices of
 * `slice` bytes (0: at once): the ends of its chunks, each chunk's
 * digest checked. */
static size_t
toc_cuts(const unsigned char *p, size_t n, size_t slice, size_t *cuts)
{
	struct ocis_pax_entry pe;
	struct ocis_toc t;
	size_t off = 0, nc = 0, i;

	memset(&pe, 0, sizeof(pe));
	pe.path = "f";
	pe.type = '0';
	pe.mode = 0644;
	pe.size = n;
	TAP_MUST(ocis_toc_init(&t, 0, NULL) == 0);
	TAP_MUST(ocis_toc_add_entry(&t, &pe, NULL) == 0);
	while (ocis_toc_data_left(&t) > 0) {
		size_t want = slice && n - off > slice ? slice : n - off, k;

		if (ocis_toc_chunk_due(&t))
			TAP_MUST(ocis_toc_begin_chunk(&t, nc, NULL) == 0);
		k = ocis_toc_span(&t, p + off, want);
		TAP_MUST(k > 0 && k <= want);
		TAP_MUST(ocis_toc_data(&t, p + off, k, NULL) == 0);
		off += k;
		if (ocis_toc_chunk_due(&t) || ocis_toc_data_left(&t) == 0) {
			TAP_MUST(nc < MAXCUTS);
			cuts[nc++] = off;
		}
	}
	TAP_MUST(t.n_chunks == nc);
	for (i = 0; i < nc; i++) {
		unsigned char md[SHA256_DIGEST_LENGTH];
		size_t start = i ? cuts[i - 1] : 0;

		SHA256(p + start, cuts[i] - start, md);
		TAP_MUST(t.chunks[i].file_offset == start && t.chunks[i].size == cuts[i] - start);
		TAP_MUST(memcmp(md, t.chunks[i].digest, sizeof(md)) == 0);
	}
	ocis_toc_release(&t);
	return nc;
}

static int
same_cuts(const unsigned char *p, size_t n, size_t slice)
{
	static size_t a[MAXCUTS], b[MAXCUTS];
	size_t na = ref_cuts(p, n, a), nb = toc_cuts(p, n, slice, b), i;

	if (na != nb) {
		printf("# %zu bytes in slices of %zu: %zu chunks, upstream %zu\n", n, slice, nb, na);
		return 0;
	}
	for (i = 0; i < na; i++)
		if (a[i] != b[i]) {
			printf("# %zu bytes in slices of %zu: chunk %zu ends at %zu, upstream %zu\n",
			       n, slice, i, b[i], a[i]);
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
	size_t n = 6 * 1024 * 1024 + 13, i;
	unsigned char *p = make_input(n, 21);
	int ok = 1;

	TAP_CHECK(ref_cuts(p, n, tmp) > 20);
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
	uint32_t seed;

	for (n = 1, off = 0; off + n <= (1u << 20); off += n, n = n % 300 + 1)
		TAP_CHECK(same_cuts(p + off, n, n % 3 ? 0 : 5));
	free(p);
	for (seed = 1; early < 8 && seed < 200000; seed++) {
		p = make_input(100, seed);
		if (ref_cuts(p, 100, cuts) > 1 && cuts[0] < 64) {
			early++;
			TAP_CHECK(same_cuts(p, 100, 0));
			TAP_CHECK(same_cuts(p, 100, 3));
		}
		free(p);
	}
	TAP_CHECK(early == 8);
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
	TAP_PLAN(3);
	TAP_RUN(test_cuts_as_upstream);
	TAP_RUN(test_cuts_small_files);
	TAP_RUN(test_crc64_iso);
	return tap_done();
}
