/* SPDX-License-Identifier: MIT */
/* Unit tests: held bytes (ocistream/spill.h), in memory up to the limit,
 * in one temporary file past it, holes kept, read back whole. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <ocistream/spill.h>

#include "../tap.h"

static int
collect(void *ctx, const void *data, size_t len, ocis_error_t **err)
{
	return ocis_buf_add(ctx, data, len, err);
}

/* replayed(s, want, n): the item held is exactly want[0..n) */
static int
replayed(struct ocis_spill *s, const unsigned char *want, size_t n)
{
	struct ocis_buf got = OCIS_BUF_INIT;
	int ok;

	ok = ocis_spill_replay(s, collect, &got, NULL) == 0 && got.len == n &&
	     ocis_spill_size(s) == n && (n == 0 || memcmp(got.data, want, n) == 0);
	ocis_buf_release(&got);
	return ok;
}

static int
test_in_memory(void)
{
	struct ocis_spill s;

	ocis_spill_init(&s, 16);
	TAP_CHECK(ocis_spill_reset(&s, NULL) == 0);
	TAP_CHECK(ocis_spill_add(&s, "abc", 3, NULL) == 0);
	TAP_CHECK(ocis_spill_zeros(&s, 3, NULL) == 0);
	TAP_CHECK(ocis_spill_add(&s, "de", 2, NULL) == 0);
	TAP_CHECK(!ocis_spill_in_file(&s));
	TAP_CHECK(s.fd < 0);
	TAP_CHECK(replayed(&s, (const unsigned char *)"abc\0\0\0de", 8));
	/* replay leaves the item held */
	TAP_CHECK(replayed(&s, (const unsigned char *)"abc\0\0\0de", 8));
	ocis_spill_release(&s);
	return 0;
}

/* Past the limit: data, holes (one at the end too), data again. */
static int
test_past_limit_with_holes(void)
{
	unsigned char want[200];
	struct ocis_spill s;

	memset(want, 0, sizeof(want));
	memcpy(want, "0123456789", 10);
	memcpy(want + 110, "xyz", 3);
	ocis_spill_init(&s, 8);
	TAP_CHECK(ocis_spill_add(&s, "01234", 5, NULL) == 0);
	TAP_CHECK(!ocis_spill_in_file(&s));
	TAP_CHECK(ocis_spill_add(&s, "56789", 5, NULL) == 0);
	TAP_CHECK(ocis_spill_in_file(&s));
	TAP_CHECK(ocis_spill_zeros(&s, 100, NULL) == 0);
	TAP_CHECK(ocis_spill_add(&s, "xyz", 3, NULL) == 0);
	TAP_CHECK(ocis_spill_zeros(&s, 87, NULL) == 0);
	TAP_CHECK(replayed(&s, want, sizeof(want)));
	ocis_spill_release(&s);
	return 0;
}

/* One file for every item: reset truncates it, a small item after a big
 * one is in memory again. */
static int
test_one_file_reused(void)
{
	unsigned char big[5000];
	struct ocis_spill s;
	int fd;
	size_t i;

	for (i = 0; i < sizeof(big); i++)
		big[i] = (unsigned char)(i * 7 + 3);
	ocis_spill_init(&s, 1000);
	TAP_CHECK(ocis_spill_add(&s, big, sizeof(big), NULL) == 0);
	TAP_CHECK(ocis_spill_in_file(&s));
	fd = s.fd;
	TAP_CHECK(fd >= 0);
	TAP_CHECK(replayed(&s, big, sizeof(big)));
	TAP_CHECK(ocis_spill_reset(&s, NULL) == 0);
	TAP_CHECK(ocis_spill_add(&s, "hi", 2, NULL) == 0);
	TAP_CHECK(!ocis_spill_in_file(&s));
	TAP_CHECK(replayed(&s, (const unsigned char *)"hi", 2));
	/* a shorter item in the file after a longer one: no stale tail */
	TAP_CHECK(ocis_spill_reset(&s, NULL) == 0);
	TAP_CHECK(ocis_spill_add(&s, big + 1, 1500, NULL) == 0);
	TAP_CHECK(ocis_spill_in_file(&s));
	TAP_CHECK(s.fd == fd);
	TAP_CHECK(replayed(&s, big + 1, 1500));
	ocis_spill_release(&s);
	TAP_CHECK(s.fd < 0);
	return 0;
}

/* Limit 0: every byte in the file; random piece sizes and holes against
 * a small limit give back the same bytes. */
static int
test_pieces(void)
{
	size_t limits[] = { 0, 1, 4096, 1 << 20 }, n = 3 * 256 * 1024 + 123, at, li;
	unsigned char *want = calloc(1, n);
	struct ocis_spill s;

	TAP_CHECK(want != NULL);
	srand(7);
	for (li = 0; li < sizeof(limits) / sizeof(limits[0]); li++) {
		ocis_spill_init(&s, limits[li]);
		for (at = 0; at < n;) {
			size_t k = (size_t)rand() % 40000 + 1, j;
			int hole = rand() % 4 == 0;
			if (k > n - at)
				k = n - at;
			if (hole) {
				memset(want + at, 0, k);
				TAP_CHECK(ocis_spill_zeros(&s, k, NULL) == 0);
			} else {
				for (j = 0; j < k; j++)
					want[at + j] = (unsigned char)(rand() | 1);
				TAP_CHECK(ocis_spill_add(&s, want + at, k, NULL) == 0);
			}
			at += k;
		}
		TAP_CHECK(replayed(&s, want, n));
		TAP_CHECK(ocis_spill_in_file(&s) == (limits[li] < n));
		ocis_spill_release(&s);
	}
	free(want);
	return 0;
}

/* No temporary file can be made: an error naming the directory, but only
 * once the limit is passed. */
static int
test_no_tmpdir(void)
{
	struct ocis_spill s;
	ocis_error_t *err = NULL;
	const char *old = getenv("TMPDIR");
	char *saved = old ? strdup(old) : NULL;
	int r;

	setenv("TMPDIR", "/nonexistent/ocipipe-test", 1);
	ocis_spill_init(&s, 4);
	TAP_CHECK(ocis_spill_add(&s, "abcd", 4, NULL) == 0);
	r = ocis_spill_add(&s, "e", 1, &err);
	if (saved) {
		setenv("TMPDIR", saved, 1);
		free(saved);
	} else {
		unsetenv("TMPDIR");
	}
	TAP_CHECK(r < 0);
	TAP_CHECK(err != NULL && strstr(err->msg, "temporary file in '/nonexistent/ocipipe-test'"));
	ocis_error_free(&err);
	ocis_spill_release(&s);
	return 0;
}

int
main(void)
{
	TAP_PLAN(5);
	TAP_RUN(test_in_memory);
	TAP_RUN(test_past_limit_with_holes);
	TAP_RUN(test_one_file_reused);
	TAP_RUN(test_pieces);
	TAP_RUN(test_no_tmpdir);
	return tap_done();
}
