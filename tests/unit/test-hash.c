/* SPDX-License-Identifier: MIT */
/* Unit tests: SHA-256 digests (known answers from FIPS 180-2). */
#include "config.h"

#include <string.h>

#include <ocistream/hash.h>

#include "../tap.h"

static int
test_empty(void)
{
	char d[OCIS_DIGEST_STR_SIZE];

	TAP_CHECK(ocis_hash_buffer("", 0, d, NULL) == 0);
	TAP_CHECK(strcmp(d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
	return 0;
}

static int
test_abc_incremental(void)
{
	struct ocis_hash h;
	char d[OCIS_DIGEST_STR_SIZE];

	TAP_CHECK(ocis_hash_init(&h, NULL) == 0);
	ocis_hash_update(&h, "a", 1);
	ocis_hash_update(&h, "bc", 2);
	TAP_CHECK(ocis_hash_final(&h, d, NULL) == 0);
	TAP_CHECK(strcmp(d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
	/* reuse after reset */
	TAP_CHECK(ocis_hash_reset(&h, NULL) == 0);
	ocis_hash_update(&h, "abc", 3);
	TAP_CHECK(ocis_hash_final(&h, d, NULL) == 0);
	TAP_CHECK(strcmp(d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
	ocis_hash_release(&h);
	return 0;
}

static int
test_final_raw(void)
{
	static const unsigned char abc[OCIS_DIGEST_LEN] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde,
		0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
		0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
	};
	unsigned char md[OCIS_DIGEST_LEN];
	struct ocis_hash h;

	TAP_CHECK(ocis_hash_init(&h, NULL) == 0);
	ocis_hash_update(&h, "abc", 3);
	TAP_CHECK(ocis_hash_final_raw(&h, md, NULL) == 0);
	TAP_CHECK(memcmp(md, abc, sizeof(abc)) == 0);
	ocis_hash_release(&h);
	return 0;
}

static int
test_digest_valid(void)
{
	TAP_CHECK(ocis_digest_valid("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
	TAP_CHECK(!ocis_digest_valid("sha256:E3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
	TAP_CHECK(!ocis_digest_valid("sha256:e3b0"));
	TAP_CHECK(!ocis_digest_valid("sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
	TAP_CHECK(!ocis_digest_valid("sha256:../../../../etc/passwd00000000000000000000000000000000000000000"));
	TAP_CHECK(!ocis_digest_valid(NULL));
	return 0;
}

int
main(void)
{
	TAP_PLAN(4);
	TAP_RUN(test_empty);
	TAP_RUN(test_abc_incremental);
	TAP_RUN(test_final_raw);
	TAP_RUN(test_digest_valid);
	return tap_done();
}
