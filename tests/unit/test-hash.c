/* SPDX-License-Identifier: MIT */
/* Unit tests: SHA-256 digests (known answers from FIPS 180-2; our own
 * SHA-NI code against OpenSSL's, one stream and two side by side). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

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

/* OpenSSL's digest of a buffer, the reference */
static void
evp_digest(const unsigned char *p, size_t n, unsigned char md[OCIS_DIGEST_LEN])
{
	unsigned int len = 0;

	EVP_Digest(p, n, md, &len, EVP_sha256(), NULL);
}

static unsigned
rnd(unsigned *x)
{
	*x = *x * 1103515245u + 12345u;
	return *x >> 8;
}

/* Every length 0..300 and some long ones, fed in random pieces: the
 * block buffer, the padding (55, 56, 63, 64 bytes left) and whole blocks
 * straight from the caller's data. */
static int
test_lengths_and_pieces(void)
{
	static const size_t longs[] = { 1000, 4095, 4096, 65537, 1048576 + 77 };
	size_t nlens = 301 + sizeof(longs) / sizeof(longs[0]), t;
	unsigned char *buf = malloc(longs[4]), want[OCIS_DIGEST_LEN], got[OCIS_DIGEST_LEN];
	unsigned x = 7, i;

	TAP_CHECK(buf != NULL);
	for (i = 0; i < longs[4]; i++)
		buf[i] = (unsigned char)rnd(&x);
	for (t = 0; t < nlens; t++) {
		size_t n = t < 301 ? t : longs[t - 301], off = 0;
		struct ocis_hash h;

		evp_digest(buf, n, want);
		TAP_CHECK(ocis_hash_init(&h, NULL) == 0);
		while (off < n) {
			size_t k = rnd(&x) % (t < 301 ? 80 : 70000) + 1;

			k = k < n - off ? k : n - off;
			ocis_hash_update(&h, buf + off, k);
			off += k;
		}
		TAP_CHECK(ocis_hash_final_raw(&h, got, NULL) == 0);
		ocis_hash_release(&h);
		if (memcmp(got, want, sizeof(want)) != 0) {
			printf("# length %zu: wrong digest\n", n);
			return 1;
		}
	}
	free(buf);
	return 0;
}

/* Two streams through ocis_hash_update2 in pieces of unequal and random
 * lengths (either side empty, partial blocks on either side), and a copy
 * taken halfway: the digests of each stream alone. */
static int
test_update2(void)
{
	size_t na = 300000, nb = 111111, round;
	unsigned char *a = malloc(na), *b = malloc(nb);
	unsigned char want_a[OCIS_DIGEST_LEN], want_b[OCIS_DIGEST_LEN], md[OCIS_DIGEST_LEN];
	unsigned x = 99, i;

	TAP_CHECK(a != NULL && b != NULL);
	for (i = 0; i < na; i++)
		a[i] = (unsigned char)rnd(&x);
	for (i = 0; i < nb; i++)
		b[i] = (unsigned char)rnd(&x);
	evp_digest(a, na, want_a);
	evp_digest(b, nb, want_b);
	for (round = 0; round < 40; round++) {
		struct ocis_hash ha, hb, hc;
		size_t oa = 0, ob = 0, mod = round < 20 ? 200 : 20000;
		int copied = 0;

		TAP_CHECK(ocis_hash_init(&ha, NULL) == 0);
		TAP_CHECK(ocis_hash_init(&hb, NULL) == 0);
		TAP_CHECK(ocis_hash_init(&hc, NULL) == 0);
		while (oa < na || ob < nb) {
			size_t ka = rnd(&x) % mod, kb = rnd(&x) % mod;

			ka = ka < na - oa ? ka : na - oa;
			kb = kb < nb - ob ? kb : nb - ob;
			ocis_hash_update2(&ha, a + oa, ka, &hb, b + ob, kb);
			oa += ka;
			ob += kb;
			if (!copied && oa > na / 2) {
				TAP_CHECK(ocis_hash_copy(&hc, &ha, NULL) == 0);
				ocis_hash_update(&hc, a + oa, na - oa);
				copied = 1;
			}
		}
		TAP_CHECK(ocis_hash_final_raw(&ha, md, NULL) == 0);
		if (memcmp(md, want_a, sizeof(md)) != 0) {
			printf("# round %zu: first stream wrong\n", round);
			return 1;
		}
		TAP_CHECK(ocis_hash_final_raw(&hb, md, NULL) == 0);
		if (memcmp(md, want_b, sizeof(md)) != 0) {
			printf("# round %zu: second stream wrong\n", round);
			return 1;
		}
		TAP_CHECK(ocis_hash_final_raw(&hc, md, NULL) == 0);
		if (memcmp(md, want_a, sizeof(md)) != 0) {
			printf("# round %zu: the copy wrong\n", round);
			return 1;
		}
		ocis_hash_release(&ha);
		ocis_hash_release(&hb);
		ocis_hash_release(&hc);
	}
	free(a);
	free(b);
	return 0;
}

int
main(void)
{
	TAP_PLAN(6);
	TAP_RUN(test_empty);
	TAP_RUN(test_abc_incremental);
	TAP_RUN(test_final_raw);
	TAP_RUN(test_digest_valid);
	TAP_RUN(test_lengths_and_pieces);
	TAP_RUN(test_update2);
	return tap_done();
}
