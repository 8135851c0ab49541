/* SPDX-License-Identifier: MIT */
/* Unit tests: tar entry names normalised as layers name entries
 * (ocis_tarentry_name_normalise), against a plain split-and-join model of
 * the rule, on chosen names and on many random ones: the normaliser has a
 * fast path for names that are normal already, and both paths must give
 * the model's answer. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ocistream/tarentry.h>

#include "lib/internal.h"
#include "../tap.h"

/* The rule, spelt out: split at '/', drop empty and "." components, refuse
 * ".." and components over OCIS_NAME_MAX bytes, join with '/', refuse a
 * result over OCIS_PATH_MAX.  0 with the name in out, -1 when refused. */
static int
model(const char *in, char *out, size_t cap)
{
	size_t len = 0, n;
	const char *p = in, *q;

	out[0] = 0;
	while (*p) {
		q = strchr(p, '/');
		n = q ? (size_t)(q - p) : strlen(p);
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return -1;
		if (n > OCIS_NAME_MAX)
			return -1;
		if (n > 0 && !(n == 1 && p[0] == '.')) {
			if (len + n + 2 > cap)
				return -1;
			if (len)
				out[len++] = '/';
			memcpy(out + len, p, n);
			len += n;
			out[len] = 0;
		}
		p += n + (q != NULL);
	}
	return len > OCIS_PATH_MAX ? -1 : 0;
}

/* The normaliser agrees with the model on name in: same verdict, same
 * name. */
static int
agrees(const char *in)
{
	static char want[2 * OCIS_PATH_MAX + 16];
	struct ocis_buf b = OCIS_BUF_INIT;
	ocis_error_t *e = NULL;
	int m = model(in, want, sizeof(want));
	int r = ocis_tarentry_name_normalise(in, &b, &e);
	int ok = (r < 0) == (m < 0) &&
		 (r < 0 || (b.len == strlen(want) && strcmp((char *)b.data, want) == 0));

	if (!ok)
		printf("# '%.80s' (%zu bytes): got %s '%.80s', want %s '%.80s'\n", in, strlen(in),
		       r < 0 ? "refused" : "", r < 0 ? (e ? e->msg : "?") : (char *)b.data,
		       m < 0 ? "refused" : "", m < 0 ? "" : want);
	ocis_error_free(&e);
	ocis_buf_release(&b);
	return ok;
}

static int
test_chosen(void)
{
	static const char *names[] = {
		"", "/", "//", ".", "./", "..", "../", "./.", "././", ".//x", "/x", "//x/",
		"x", "x/", "x//", "./x", "././x/", "x/.", "x/./y", "x/..", "x/../y", "x/..y",
		"x/...", ".x", "x/.y/.z", "..x", "x..", "a/b/c", "a//b", "a/b/", "./a/b/./c/",
		".wh..wh..opq", "d/.wh.x", "x/./", "x/.//", "/./x", "a/./../b",
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		TAP_CHECK(agrees(names[i]));
	return 0;
}

/* Components at and around OCIS_NAME_MAX, alone and deep in a name (the
 * fast path checks their lengths by windows of OCIS_NAME_MAX + 1 bytes). */
static int
test_component_lengths(void)
{
	static char name[3 * OCIS_PATH_MAX];
	size_t lens[] = { 1, 2, OCIS_NAME_MAX - 1, OCIS_NAME_MAX, OCIS_NAME_MAX + 1, 300 };
	size_t i, j, k, at;

	for (i = 0; i < 6; i++)
		for (j = 0; j < 6; j++)
			for (k = 0; k < 3; k++) {
				/* k one-byte components, then i's, then j's */
				at = 0;
				while (at < 2 * k)
					at += (size_t)sprintf(name + at, "d/");
				memset(name + at, 'a', lens[i]);
				at += lens[i];
				name[at++] = '/';
				memset(name + at, 'b', lens[j]);
				at += lens[j];
				name[at] = 0;
				TAP_CHECK(agrees(name));
				name[at++] = '/';	/* as a directory */
				name[at] = 0;
				TAP_CHECK(agrees(name));
			}
	return 0;
}

/* Deep names: thousands of one-byte components, up to the path limit. */
static int
test_deep(void)
{
	static char name[2 * OCIS_PATH_MAX + 4];
	size_t n;

	for (n = OCIS_PATH_MAX - 3; n <= OCIS_PATH_MAX + 3; n++) {
		size_t i;
		for (i = 0; i < n; i++)
			name[i] = (char)(i % 2 ? '/' : 'd');
		name[n] = 0;
		TAP_CHECK(agrees(name));
	}
	return 0;
}

/* Random names over an alphabet of the characters that matter, with long
 * runs now and then so that long components occur (seeded: the same names
 * every run). */
static int
test_random(void)
{
	static const char abc[] = "//..ab";
	static char name[700];
	unsigned long seed = 20261207;
	int round;

	for (round = 0; round < 200000; round++) {
		size_t n, i;
		seed = seed * 6364136223846793005UL + 1442695040888963407UL;
		n = (size_t)(seed >> 33) % (round % 100 == 0 ? sizeof(name) - 1 : 24);
		for (i = 0; i < n; i++) {
			seed = seed * 6364136223846793005UL + 1442695040888963407UL;
			name[i] = n > 24 && (seed >> 40) % 64 ? 'a' : abc[(seed >> 33) % 6];
		}
		name[n] = 0;
		TAP_CHECK(agrees(name));
	}
	return 0;
}

int
main(void)
{
	TAP_PLAN(4);
	TAP_RUN(test_chosen);
	TAP_RUN(test_component_lengths);
	TAP_RUN(test_deep);
	TAP_RUN(test_random);
	return tap_done();
}
