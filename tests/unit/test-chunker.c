/* SPDX-License-Identifier: MIT */
/* Content-defined block boundaries (src/lib/chunker.c). */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ocistream/chunker.h>

#include "../tap.h"

#define MAX ((size_t)1024 * 1024)
#define MAXCUTS 4096

/* Pseudo-random bytes with some structure (xorshift, runs of text). */
static unsigned char *
make_input(size_t n, uint32_t x)
{
	unsigned char *p = malloc(n);
	size_t i;

	TAP_MUST(p != NULL);
	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (x & 3) ? "lib/usr/bin/share\n"[x % 18] : (unsigned char)(x >> 8);
	}
	return p;
}

/* Block ends (offsets) of p[0..n) fed in slices of `slice` bytes (0: one
 * call), an entry starting at every multiple of `entry` (0: none). */
static size_t
cuts_of(const unsigned char *p, size_t n, size_t slice, size_t entry, size_t *cuts)
{
	struct ocis_chunker ch;
	size_t off = 0, nc = 0;

	ocis_chunker_init(&ch, MAX);
	while (off < n) {
		size_t want = n - off, took;
		int cut;

		if (slice && want > slice)
			want = slice;
		if (entry) {
			size_t next = (off / entry + 1) * entry;
			if (off % entry == 0 && off > 0 && ocis_chunker_entry(&ch)) {
				TAP_MUST(nc < MAXCUTS);
				cuts[nc++] = off;
				ocis_chunker_next_block(&ch);
			}
			if (want > next - off)
				want = next - off;
		}
		took = ocis_chunker_scan(&ch, p + off, want, &cut);
		off += took;
		if (cut) {
			TAP_MUST(nc < MAXCUTS);
			cuts[nc++] = off;
			ocis_chunker_next_block(&ch);
		}
	}
	return nc;
}

/* The definition (chunker.h), a byte at a time with no skipping: the
 * block ends of p[0..n) with an entry at every multiple of `entry`. */
static size_t
reference_cuts(const unsigned char *p, size_t n, size_t entry, size_t *cuts)
{
	struct ocis_chunker tab;
	uint64_t h = 0, in_entry = UINT64_MAX / 2;
	size_t off, len = 0, nc = 0;
	int armed = 0;

	ocis_chunker_init(&tab, MAX);	/* for its gear table */
	for (off = 0; off < n; off++) {
		int end = 0;

		if (entry && off % entry == 0 && off > 0) {
			in_entry = 0;
			if (armed && len >= OCIS_CDC_MIN) {
				TAP_MUST(nc < MAXCUTS);
				cuts[nc++] = off;
				len = 0;
				h = 0;
				armed = 0;
			}
		}
		h = (h << 1) + tab.gear[p[off]];
		if (len >= OCIS_CDC_MIN && (h >> (64 - OCIS_CDC_HIT_BITS)) == 0) {
			armed = 1;
			end = in_entry >= OCIS_CDC_MIN;
		}
		len++;
		in_entry++;
		if (end || len == MAX) {
			TAP_MUST(nc < MAXCUTS);
			cuts[nc++] = off + 1;
			len = 0;
			h = 0;
			armed = 0;
		}
	}
	return nc;
}

/* The chunker's cuts are the definition's, byte for byte, however the
 * input is sliced: its skipping and its 8-byte steps change nothing. */
static int
test_same_as_definition(void)
{
	static const size_t slices[] = { 0, 1, 7, 4096, 100003 };
	static const size_t entries[] = { 0, 10000, 300001 };
	size_t n = 24 * MAX + 777, c0[MAXCUTS], c1[MAXCUTS], n0, n1, k, e;
	unsigned char *p = make_input(n, 521288629u);

	for (e = 0; e < sizeof(entries) / sizeof(entries[0]); e++) {
		n0 = reference_cuts(p, n, entries[e], c0);
		TAP_CHECK(n0 > 24);
		for (k = 0; k < sizeof(slices) / sizeof(slices[0]); k++) {
			n1 = cuts_of(p, n, slices[k], entries[e], c1);
			TAP_CHECK(n1 == n0 && memcmp(c0, c1, n0 * sizeof(*c0)) == 0);
		}
	}
	free(p);
	return 0;
}

/* Same cuts for any slicing; every block within [MIN, MAX] but the last. */
static int
test_slicing_and_bounds(void)
{
	static const size_t slices[] = { 1, 511, 4096, 100000 };
	size_t n = 24 * MAX + 777, c0[MAXCUTS], c1[MAXCUTS], n0, n1, i, k, prev = 0;
	unsigned char *p = make_input(n, 2463534242u);

	n0 = cuts_of(p, n, 0, 0, c0);
	TAP_CHECK(n0 > 24);
	for (i = 0; i < n0; i++) {
		TAP_CHECK(c0[i] - prev >= OCIS_CDC_MIN && c0[i] - prev <= MAX);
		prev = c0[i];
	}
	for (k = 0; k < sizeof(slices) / sizeof(slices[0]); k++) {
		n1 = cuts_of(p, n, slices[k], 0, c1);
		TAP_CHECK(n1 == n0 && memcmp(c0, c1, n0 * sizeof(*c0)) == 0);
	}
	/* the same with entries */
	n0 = cuts_of(p, n, 0, 10000, c0);
	n1 = cuts_of(p, n, 4096, 10000, c1);
	TAP_CHECK(n1 == n0 && memcmp(c0, c1, n0 * sizeof(*c0)) == 0);
	free(p);
	return 0;
}

/* With small entries, blocks end on entry starts (the input's full 1 MiB
 * cuts only when no hash armed the block, which is rare). */
static int
test_entry_cuts(void)
{
	size_t n = 32 * MAX, c[MAXCUTS], nc, i, on_entry = 0;
	unsigned char *p = make_input(n, 88172645u);

	nc = cuts_of(p, n, 0, 10000, c);
	TAP_CHECK(nc > 32);
	for (i = 0; i < nc; i++)
		on_entry += c[i] % 10000 == 0;
	TAP_CHECK(on_entry * 10 >= nc * 9);
	free(p);
	return 0;
}

/* Inserting bytes moves only the blocks around them: after the insertion
 * the cuts come back, shifted by its length. */
static int
test_insert_is_local(void)
{
	size_t n = 40 * MAX, ins = 12345, at = 13 * MAX + 4321;
	size_t a[MAXCUTS], b[MAXCUTS], na, nb, i, j, same = 0, after = 0;
	unsigned char *p = make_input(n, 1234567u), *q = malloc(n + ins);

	TAP_CHECK(q != NULL);
	memcpy(q, p, at);
	memset(q + at, 'x', ins);
	memcpy(q + at + ins, p + at, n - at);
	na = cuts_of(p, n, 0, 0, a);
	nb = cuts_of(q, n + ins, 0, 0, b);
	for (i = 0; i < na; i++) {
		if (a[i] <= at)
			continue;
		after++;
		for (j = 0; j < nb; j++)
			if (b[j] == a[i] + ins)
				break;
		same += j < nb;
	}
	/* at most the two blocks at the insertion change */
	TAP_CHECK(after > 20 && same + 2 >= after);
	free(p);
	free(q);
	return 0;
}

int
main(void)
{
	TAP_PLAN(4);
	TAP_RUN(test_same_as_definition);
	TAP_RUN(test_slicing_and_bounds);
	TAP_RUN(test_entry_cuts);
	TAP_RUN(test_insert_is_local);
	return tap_done();
}
