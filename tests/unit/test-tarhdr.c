/* SPDX-License-Identifier: MIT */
/* Unit tests: numeric header fields read only when every tar reader reads
 * them alike (ocis__tar_num_strict, ocis__tar_fields_bad). */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "lib/tarhdr-private.h"

#include "../tap.h"

/* The field of width w made of the bytes of s (n of them, the rest NUL). */
static int
strict(const char *s, size_t n, size_t w, int64_t *v)
{
	unsigned char f[12] = { 0 };

	memcpy(f, s, n);
	return ocis__tar_num_strict(f, w, v);
}

static int
test_octal(void)
{
	int64_t v = -1;

	TAP_CHECK(strict("0000644", 7, 8, &v) == 0 && v == 0644);
	TAP_CHECK(strict("  644 ", 6, 8, &v) == 0 && v == 0644);
	TAP_CHECK(strict("0000644 ", 8, 8, &v) == 0 && v == 0644);	/* no NUL */
	TAP_CHECK(strict("", 0, 8, &v) == 0 && v == 0);			/* all NUL */
	TAP_CHECK(strict("        ", 8, 8, &v) == 0 && v == 0);
	TAP_CHECK(strict("0000644\0zz", 10, 12, &v) == 0 && v == 0644);	/* after the NUL */
	TAP_CHECK(strict("77777777777", 11, 12, &v) == 0 && v == 077777777777);
	/* what libarchive reads as the digits before the stray byte */
	TAP_CHECK(strict("0000755x", 8, 8, &v) < 0);
	TAP_CHECK(strict("0000019", 7, 8, &v) < 0);
	TAP_CHECK(strict("064 4", 5, 8, &v) < 0);
	TAP_CHECK(strict("-1", 2, 8, &v) < 0);
	return 0;
}

static int
test_base256(void)
{
	int64_t v = 0;

	/* 2^63 - 1 fits, 2^63 does not (libarchive clamps it) */
	TAP_CHECK(strict("\x80\0\0\0\x7f\xff\xff\xff\xff\xff\xff\xff", 12, 12, &v) == 0 &&
		  v == INT64_MAX);
	TAP_CHECK(strict("\x80\0\0\0\x80\0\0\0\0\0\0\0", 12, 12, &v) < 0);
	TAP_CHECK(strict("\x80\0\x01\0\0\0\0\0\0\0\0\0", 12, 12, &v) < 0);	/* 2^72 */
	/* negative: -1, -2^63, and below it */
	TAP_CHECK(strict("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 12, 12, &v) == 0 &&
		  v == -1);
	TAP_CHECK(strict("\xff\xff\xff\xff\x80\0\0\0\0\0\0\0", 12, 12, &v) == 0 &&
		  v == INT64_MIN);
	TAP_CHECK(strict("\xff\xff\xff\xfe\xff\xff\xff\xff\xff\xff\xff\xff", 12, 12, &v) < 0);
	/* an 8-byte field: 63 bits after the marker */
	TAP_CHECK(strict("\x80\0\0\0\x01\0\0\0", 8, 8, &v) == 0 && v == 1 << 24);
	TAP_CHECK(strict("\xbf\xff\xff\xff\xff\xff\xff\xff", 8, 8, &v) == 0 &&
		  v == (INT64_MAX >> 1));
	return 0;
}

static int
test_fields(void)
{
	unsigned char h[OCIS_BLOCK];

	memset(h, 0, sizeof(h));
	TAP_MUST(ocis__tar_octal(h + TH_MODE, 8, 0755) == 0);
	TAP_MUST(ocis__tar_octal(h + TH_SIZE, 12, 3) == 0);
	h[TH_TYPE] = '0';
	TAP_CHECK(ocis__tar_fields_bad(h) == NULL);
	memcpy(h + TH_DEVMAJOR, "junk", 4);	/* not a device: not read */
	TAP_CHECK(ocis__tar_fields_bad(h) == NULL);
	h[TH_TYPE] = '3';
	TAP_CHECK(ocis__tar_fields_bad(h) != NULL &&
		  strcmp(ocis__tar_fields_bad(h), "devmajor") == 0);
	memset(h + TH_DEVMAJOR, 0, 8);
	memcpy(h + TH_MTIME, "1234567012z", 11);
	TAP_CHECK(ocis__tar_fields_bad(h) != NULL && strcmp(ocis__tar_fields_bad(h), "mtime") == 0);
	return 0;
}

int
main(void)
{
	TAP_PLAN(3);
	TAP_RUN(test_octal);
	TAP_RUN(test_base256);
	TAP_RUN(test_fields);
	return tap_done();
}
