/* SPDX-License-Identifier: MIT */
/* Unit tests: the path table (interned paths as a tree of components),
 * with the real keyed hash and with every hash forced equal. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <ocistream/pathtab.h>

#include "lib/internal.h"
#include "lib/pathtab-private.h"
#include "../tap.h"

static int
name_is(const struct ocis_pathtab *t, uint32_t id, const char *want)
{
	struct ocis_buf b = OCIS_BUF_INIT;
	int ok = ocis_pathtab_name(t, id, &b, NULL) == 0 && strcmp((char *)b.data, want) == 0;

	if (!ok)
		printf("# name of %u is '%s', not '%s'\n", id, b.data ? (char *)b.data : "?", want);
	ocis_buf_release(&b);
	return ok;
}

/* SipHash-2-4, the known answers of the paper (key 00..0f, message
 * 00..n-1). */
static int
test_siphash_vectors(void)
{
	const uint64_t key[2] = { 0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL };
	unsigned char m[64];
	int i;

	for (i = 0; i < 64; i++)
		m[i] = (unsigned char)i;
	TAP_CHECK(ocis__siphash24(key, m, 0) == 0x726fdb47dd0e0e31ULL);
	TAP_CHECK(ocis__siphash24(key, m, 1) == 0x74f839c593dc67fdULL);
	TAP_CHECK(ocis__siphash24(key, m, 15) == 0xa129ca6149be45e5ULL);
	return 0;
}

/* The FNV-1a pair of issue 15 and a few more names: distinct nodes,
 * names back as they went in, ancestors shared. */
static int
check_basics(void)
{
	struct ocis_pathtab t;
	uint32_t a, b, c, d, e, x;

	TAP_CHECK(ocis_pathtab_init(&t, NULL) == 0);
	TAP_CHECK(ocis_pathtab_count(&t) == 1);
	TAP_CHECK(ocis_pathtab_find(&t, "", 0) == OCIS_PATHTAB_ROOT);
	TAP_CHECK(ocis_pathtab_find(&t, "EJ3TW5nTDWJ", 11) == OCIS_PATHTAB_NONE);
	TAP_CHECK(ocis_pathtab_add(&t, "EJ3TW5nTDWJ", 11, &a, NULL) == 0);
	TAP_CHECK(ocis_pathtab_add(&t, "LneudQ4ey6N", 11, &b, NULL) == 0);
	TAP_CHECK(a != b);
	TAP_CHECK(ocis_pathtab_add(&t, "LneudQ4ey6N/passwd", 18, &c, NULL) == 0);
	TAP_CHECK(ocis_pathtab_add(&t, "EJ3TW5nTDWJ/passwd", 18, &d, NULL) == 0);
	TAP_CHECK(c != d);
	TAP_CHECK(ocis_pathtab_parent(&t, c) == b);
	TAP_CHECK(ocis_pathtab_parent(&t, d) == a);
	TAP_CHECK(ocis_pathtab_find(&t, "LneudQ4ey6N/passwd", 18) == c);
	TAP_CHECK(ocis_pathtab_find(&t, "EJ3TW5nTDWJ", 11) == a);
	TAP_CHECK(name_is(&t, c, "LneudQ4ey6N/passwd"));
	TAP_CHECK(name_is(&t, d, "EJ3TW5nTDWJ/passwd"));
	TAP_CHECK(name_is(&t, OCIS_PATHTAB_ROOT, ""));
	/* ancestors made on the way, parents before children */
	TAP_CHECK(ocis_pathtab_add(&t, "u/v/w", 5, &e, NULL) == 0);
	x = ocis_pathtab_find(&t, "u/v", 3);
	TAP_CHECK(x != OCIS_PATHTAB_NONE && x < e && ocis_pathtab_parent(&t, e) == x);
	TAP_CHECK(ocis_pathtab_find(&t, "u", 1) < x);
	/* the same name again is the same node; a prefix of a component is not */
	TAP_CHECK(ocis_pathtab_add(&t, "u/v/w", 5, &x, NULL) == 0 && x == e);
	TAP_CHECK(ocis_pathtab_find(&t, "u/v/", 4) == OCIS_PATHTAB_NONE);
	TAP_CHECK(ocis_pathtab_find(&t, "u/vv", 4) == OCIS_PATHTAB_NONE);
	TAP_CHECK(ocis_pathtab_find(&t, "u/", 2) == OCIS_PATHTAB_NONE);
	TAP_CHECK(ocis_pathtab_find(&t, "u/v/w/x", 7) == OCIS_PATHTAB_NONE);
	/* flags start at 0 and stay with their node */
	TAP_CHECK(*ocis_pathtab_flags(&t, e) == 0);
	*ocis_pathtab_flags(&t, e) = 5;
	TAP_CHECK(*ocis_pathtab_flags(&t, ocis_pathtab_find(&t, "u/v/w", 5)) == 5);
	TAP_CHECK(*ocis_pathtab_flags(&t, x) == 5);
	ocis_pathtab_release(&t);
	return 0;
}

static int
test_basics(void)
{
	return check_basics();
}

/* Many names (the table grows several times), every one found again,
 * none found twice; with every hash equal too (fewer names: each lookup
 * probes all of them). */
static int
check_many(unsigned n)
{
	struct ocis_pathtab t;
	char name[64];
	unsigned i;
	uint32_t id, prev = 0;

	TAP_CHECK(ocis_pathtab_init(&t, NULL) == 0);
	for (i = 0; i < n; i++) {
		int len = snprintf(name, sizeof(name), "d%u/f%u", i % 37, i);
		TAP_CHECK(ocis_pathtab_add(&t, name, (size_t)len, &id, NULL) == 0);
		TAP_CHECK(id > prev);
		prev = id;
	}
	TAP_CHECK(ocis_pathtab_count(&t) == 1 + n + (n < 37 ? n : 37));
	for (i = 0; i < n; i++) {
		int len = snprintf(name, sizeof(name), "d%u/f%u", i % 37, i);
		id = ocis_pathtab_find(&t, name, (size_t)len);
		TAP_CHECK(id != OCIS_PATHTAB_NONE && name_is(&t, id, name));
		len = snprintf(name, sizeof(name), "d%u/f%u", (i + 1) % 37, i);
		TAP_CHECK(ocis_pathtab_find(&t, name, (size_t)len) == OCIS_PATHTAB_NONE);
	}
	ocis_pathtab_release(&t);
	return 0;
}

static int
test_many(void)
{
	return check_many(100000);
}

static int
test_forced_collisions(void)
{
	int r;

	ocis__pathtab_const_hash = 1;
	r = check_basics();
	if (r == 0)
		r = check_many(2000);
	ocis__pathtab_const_hash = 0;
	return r;
}

/* Walks: every ancestor's node, the shared leading components reused,
 * a missing component stops a walk that does not add. */
static int
test_walk(void)
{
	struct ocis_pathtab t;
	struct ocis_pathtab_walk w;
	uint32_t id;

	memset(&w, 0, sizeof(w));
	TAP_CHECK(ocis_pathtab_init(&t, NULL) == 0);
	TAP_CHECK(ocis_pathtab_walk(&t, &w, "a/bb/c", 6, 0, NULL) == 0 && w.n == 0);
	TAP_CHECK(ocis_pathtab_walk(&t, &w, "a/bb/c", 6, 1, NULL) == 1 && w.n == 3);
	TAP_CHECK(w.ends[0] == 1 && w.ends[1] == 4 && w.ends[2] == 6);
	TAP_CHECK(w.ids[0] == ocis_pathtab_find(&t, "a", 1));
	TAP_CHECK(w.ids[1] == ocis_pathtab_find(&t, "a/bb", 4));
	TAP_CHECK(ocis_pathtab_walk_node(&w) == ocis_pathtab_find(&t, "a/bb/c", 6));
	/* a sibling: shares two components */
	TAP_CHECK(ocis_pathtab_walk(&t, &w, "a/bb/d", 6, 0, NULL) == 0 && w.n == 2);
	/* "a/b" shares the bytes "a/b" but only the component "a" */
	TAP_CHECK(ocis_pathtab_walk(&t, &w, "a/b", 3, 1, NULL) == 1 && w.n == 2);
	TAP_CHECK(name_is(&t, ocis_pathtab_walk_node(&w), "a/b"));
	TAP_CHECK(ocis_pathtab_walk(&t, &w, "a/bb", 4, 0, NULL) == 1 && w.n == 2);
	TAP_CHECK(ocis_pathtab_walk_node(&w) == ocis_pathtab_find(&t, "a/bb", 4));
	TAP_CHECK(ocis_pathtab_walk(&t, &w, "a/bb/c/e", 8, 1, NULL) == 1 && w.n == 4);
	TAP_CHECK(ocis_pathtab_walk(&t, &w, "", 0, 0, NULL) == 1 && w.n == 0);
	TAP_CHECK(ocis_pathtab_walk_node(&w) == OCIS_PATHTAB_ROOT);
	id = ocis_pathtab_find(&t, "a/bb/c", 6);
	TAP_CHECK(ocis_pathtab_walk(&t, &w, "a/bb/c", 6, 0, NULL) == 1 &&
		  ocis_pathtab_walk_node(&w) == id);
	ocis_pathtab_walk_release(&w);
	ocis_pathtab_release(&t);
	return 0;
}

/* Bounds: components of 0 or over 255 bytes, and a full table, are
 * errors, never a wrap. */
static int
test_bounds(void)
{
	struct ocis_pathtab t;
	ocis_error_t *err = NULL;
	char big[300];
	uint32_t id;

	memset(big, 'x', sizeof(big));
	TAP_CHECK(ocis_pathtab_init(&t, NULL) == 0);
	TAP_CHECK(ocis_pathtab_add(&t, big, 255, &id, NULL) == 0);
	TAP_CHECK(ocis_pathtab_find(&t, big, 255) == id);
	TAP_CHECK(ocis_pathtab_add(&t, big, 256, &id, &err) < 0);
	ocis_error_free(&err);
	TAP_CHECK(ocis_pathtab_find(&t, big, 256) == OCIS_PATHTAB_NONE);
	TAP_CHECK(ocis_pathtab_add(&t, "a//b", 4, &id, &err) < 0);
	ocis_error_free(&err);
	TAP_CHECK(ocis_pathtab_add(&t, "a/", 2, &id, &err) < 0);
	ocis_error_free(&err);
	t.max = (uint32_t)ocis_pathtab_count(&t) + 2;	/* two more */
	TAP_CHECK(ocis_pathtab_add(&t, "p/q", 3, &id, NULL) == 0);
	TAP_CHECK(ocis_pathtab_count(&t) == t.max);
	TAP_CHECK(ocis_pathtab_add(&t, "p/r", 3, &id, &err) < 0);
	TAP_CHECK(err != NULL && strstr(err->msg, "different names") != NULL);
	ocis_error_free(&err);
	TAP_CHECK(ocis_pathtab_count(&t) == t.max);
	TAP_CHECK(ocis_pathtab_add(&t, "p/q", 3, &id, NULL) == 0);
	ocis_pathtab_release(&t);
	return 0;
}

int
main(void)
{
	TAP_PLAN(6);
	TAP_RUN(test_siphash_vectors);
	TAP_RUN(test_basics);
	TAP_RUN(test_many);
	TAP_RUN(test_forced_collisions);
	TAP_RUN(test_walk);
	TAP_RUN(test_bounds);
	return tap_done();
}
