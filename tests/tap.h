/* SPDX-License-Identifier: MIT */
/*
 * A tiny TAP producer for the unit tests (crun-style, no framework).
 *
 *   static int test_x(void) { ...; return 0; }   0 pass, 77 skip, else fail
 *   int main(void) { TAP_PLAN(2); TAP_RUN(test_x); TAP_RUN(test_y); return tap_done(); }
 *
 * TAP_CHECK(cond) inside a test prints a diagnostic and returns 1.
 * TAP_MUST(cond) in a helper that builds a test's input stops the whole
 * run ("Bail out!"): a helper whose step failed must not hand a test an
 * input that passes for the wrong reason.
 */
#ifndef OCIPIPE_TAP_H
#define OCIPIPE_TAP_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int tap_n, tap_failed;

#define TAP_PLAN(n) printf("1..%d\n", (n))
#define TAP_RUN(fn) tap_report(#fn, fn())
#define TAP_CHECK(cond) do { \
	if (!(cond)) { \
		printf("# %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
		return 1; \
	} \
} while (0)

#define TAP_MUST(cond) do { \
	if (!(cond)) { \
		printf("Bail out! %s:%d: %s\n", __FILE__, __LINE__, #cond); \
		exit(1); \
	} \
} while (0)

/* A descriptor of a new, empty, unlinked file for a test's input. */
static inline int
tap_tmpfd(void)
{
	FILE *f = tmpfile();
	int fd;

	TAP_MUST(f != NULL);
	fd = dup(fileno(f));
	TAP_MUST(fd >= 0);
	fclose(f);
	return fd;
}

static inline void
tap_report(const char *name, int r)
{
	tap_n++;
	if (r == 0) {
		printf("ok %d - %s\n", tap_n, name);
	} else if (r == 77) {
		printf("ok %d - %s # SKIP\n", tap_n, name);
	} else {
		printf("not ok %d - %s\n", tap_n, name);
		tap_failed++;
	}
	fflush(stdout);
}

static inline int
tap_done(void)
{
	return tap_failed ? 1 : 0;
}

#endif
