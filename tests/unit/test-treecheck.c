/* SPDX-License-Identifier: MIT */
/* Unit tests: the tree rules (what an unpacker can apply), each case with
 * the real hash and again with every hash forced equal (injected
 * collisions), which must not change a single verdict. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <ocistream/treecheck.h>

#include "lib/internal.h"
#include "lib/pathtab-private.h"
#include "../tap.h"

/*
 * A case: entries in archive order, "T name" or "1 name target" (T the
 * tar type flag), and the verdict: the index of the first entry refused
 * (-1: all pass), the words its message must hold, and for a hardlink to
 * itself, LEFT_OUT.
 */
struct tcase {
	const char *title;
	int whiteouts;
	const char *entries[8];
	int refused;
	const char *words;
};

#define LEFT_OUT 100	/* refused == LEFT_OUT + i: entry i is a link to itself */

static const struct tcase cases[] = {
	{ "plain tree", 0, { "5 etc", "0 etc/passwd", "2 etc/l", "0 usr/bin/sh", "1 usr/bin/x usr/bin/sh" },
	  -1, NULL },
	{ "below a symlink", 0, { "2 a", "0 a/passwd" }, 1, "through the symlink 'a'" },
	{ "below a file", 0, { "0 a", "0 a/b/c" }, 1, "through the non-directory 'a'" },
	{ "a file replaced by a directory", 0, { "0 a", "5 a", "0 a/b" }, -1, NULL },
	/* finding 3 */
	{ "symlink, then a directory of its name, then below it", 0,
	  { "2 a", "5 a", "0 a/passwd" }, 2, "which an earlier entry made a symlink" },
	{ "symlink, then a directory, deeper", 0,
	  { "5 a", "2 a/b", "5 a/b", "5 a/b/c", "0 a/b/c/d" }, 3, "below 'a/b'" },
	{ "symlink, then a directory, nothing below: kept", 0, { "2 a", "5 a", "0 b" }, -1, NULL },
	/* finding 4 */
	{ "hardlink into a replaced directory made on the way", 0,
	  { "0 a/b", "0 a", "5 a", "1 l a/b" }, 3, "'a', which a later entry replaced" },
	{ "hardlink into a replaced directory with its own entry", 0,
	  { "5 a", "0 a/b", "0 a", "5 a", "1 l a/b" }, 4, "'a', which a later entry replaced" },
	{ "hardlink into a directory replaced higher up", 0,
	  { "0 a/b/c", "0 a", "5 a", "5 a/b", "1 l a/b/c" }, 4, "replaced" },
	{ "hardlink into a directory replaced by a directory: fine", 0,
	  { "5 a", "0 a/b", "5 a", "1 l a/b" }, -1, NULL },
	{ "a new name that becomes a file is no replaced directory", 0,
	  { "0 x", "0 y", "1 l x" }, -1, NULL },
	{ "hardlink to itself", 0, { "0 f", "1 f f" }, LEFT_OUT + 1, NULL },
	{ "hardlink to a later entry", 0, { "1 l f", "0 f" }, 0, "not an earlier entry" },
	{ "hardlink to a directory", 0, { "5 d", "1 l d" }, 1, "is a directory" },
	{ "hardlink to a parent made on the way", 0, { "0 d/f", "1 l d" }, 1, "not an earlier" },
	{ "hardlink to the root", 0, { "0 f", "1 l " }, 1, "not an earlier entry" },
	{ "hardlink through a symlink", 0, { "5 d", "0 d/f", "2 d", "1 l d/f" }, 3,
	  "through the symlink 'd'" },
	/* finding 1: FNV-1a collides these two (0xf3c2790bddd29dd0) */
	{ "colliding names, symlink variant", 0,
	  { "2 LneudQ4ey6N", "5 EJ3TW5nTDWJ", "0 LneudQ4ey6N/passwd" }, 2,
	  "through the symlink 'LneudQ4ey6N'" },
	{ "colliding names, hardlink variant", 0,
	  { "2 LneudQ4ey6N", "5 EJ3TW5nTDWJ", "0 EJ3TW5nTDWJ/passwd", "1 x LneudQ4ey6N/passwd" },
	  3, "not an earlier entry" },
	{ "colliding names, both files", 0,
	  { "0 LneudQ4ey6N", "0 EJ3TW5nTDWJ", "1 l LneudQ4ey6N", "1 m EJ3TW5nTDWJ" }, -1, NULL },
	/* finding 5 */
	{ "whiteout file refused", 0, { "0 .wh.etc" }, 0, "whiteout name" },
	{ "whiteout directory refused", 0, { "5 .wh.x" }, 0, "whiteout name" },
	{ "below a whiteout refused", 0, { "0 d/.wh.x/y" }, 0, "'.wh.x' is a whiteout name" },
	{ "opaque whiteout refused", 0, { "0 d/.wh..wh..opq" }, 0, "whiteout name" },
	{ ".wh... refused", 0, { "0 .wh..." }, 0, "whiteout name" },
	{ "whiteouts kept on demand", 1, { "0 .wh.etc", "0 d/.wh..wh..opq", "0 .wh.d.x" }, -1,
	  NULL },
	{ "kept: a whiteout directory is not", 1, { "5 .wh.x" }, 0, "not a regular file" },
	{ "kept: nothing below a whiteout", 1, { "0 .wh.x/y" }, 0, "below the whiteout" },
	{ "kept: whiteout of '..'", 1, { "0 .wh..." }, 0, "nothing, '.' or '..'" },
	{ "kept: whiteout of nothing", 1, { "0 d/.wh." }, 0, "nothing" },
	{ "kept: reserved names", 1, { "0 .wh..wh.plnk" }, 0, "reserved" },
};

/* 0 when the case gives its verdict. */
static int
run_case(const struct tcase *c)
{
	struct ocis_treecheck t;
	ocis_error_t *err = NULL;
	int i, got = -1, r = 0;

	memset(&t, 0, sizeof(t));
	t.whiteouts = c->whiteouts;
	for (i = 0; i < 8 && c->entries[i] && got < 0; i++) {
		char buf[128], *path = buf + 2, *target = NULL, *sp;
		char type = c->entries[i][0];

		snprintf(buf, sizeof(buf), "%s", c->entries[i]);
		if (type == '1') {
			sp = strchr(path, ' ');
			*sp = 0;
			target = sp + 1;
			r = ocis_treecheck_link(&t, path, strlen(path), target, strlen(target), &err);
			if (r == 0) {
				got = LEFT_OUT + i;
				break;
			}
			if (r < 0) {
				got = i;
				break;
			}
		}
		if (ocis_treecheck_add(&t, path, strlen(path), type, &err) < 0)
			got = i;
	}
	if (got != c->refused) {
		printf("# %s: verdict %d, wanted %d (%s)\n", c->title, got, c->refused,
		       err ? err->msg : "no message");
		r = 1;
	} else if (c->words && (err == NULL || strstr(err->msg, c->words) == NULL)) {
		printf("# %s: message '%s' lacks '%s'\n", c->title, err ? err->msg : "",
		       c->words);
		r = 1;
	} else if (err != NULL && strchr(err->msg, '\n') != NULL) {
		printf("# %s: message of two lines\n", c->title);
		r = 1;
	} else {
		r = 0;
	}
	ocis_error_free(&err);
	ocis_treecheck_release(&t);
	return r;
}

static int
run_all(void)
{
	size_t i;
	int bad = 0;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		bad |= run_case(&cases[i]);
	return bad;
}

static int
test_rules(void)
{
	return run_all();
}

static int
test_rules_forced_collisions(void)
{
	int r;

	ocis__pathtab_const_hash = 1;
	r = run_all();
	ocis__pathtab_const_hash = 0;
	return r;
}

/* Many entries in directory order and out of it, then links to each:
 * nothing is lost when the table grows (forced collisions: fewer). */
static int
check_many(unsigned n)
{
	struct ocis_treecheck t;
	char p[64], q[64];
	unsigned i;

	memset(&t, 0, sizeof(t));
	for (i = 0; i < n; i++) {
		int len = snprintf(p, sizeof(p), "d%u/e%u/f%u", i % 7, i % 13, i);
		TAP_CHECK(ocis_treecheck_add(&t, p, (size_t)len, '0', NULL) == 0);
	}
	for (i = 0; i < n; i++) {
		int len = snprintf(p, sizeof(p), "l%u", i);
		int tlen = snprintf(q, sizeof(q), "d%u/e%u/f%u", i % 7, i % 13, i);
		TAP_CHECK(ocis_treecheck_link(&t, p, (size_t)len, q, (size_t)tlen, NULL) == 1);
		tlen = snprintf(q, sizeof(q), "d%u/e%u/f%u", (i + 1) % 7, i % 13, i);
		TAP_CHECK(ocis_treecheck_link(&t, p, (size_t)len, q, (size_t)tlen, NULL) < 0);
	}
	ocis_treecheck_release(&t);
	return 0;
}

static int
test_many(void)
{
	int r;

	if ((r = check_many(200000)) != 0)
		return r;
	ocis__pathtab_const_hash = 1;
	r = check_many(1500);
	ocis__pathtab_const_hash = 0;
	return r;
}

int
main(void)
{
	TAP_PLAN(3);
	TAP_RUN(test_rules);
	TAP_RUN(test_rules_forced_collisions);
	TAP_RUN(test_many);
	return tap_done();
}
