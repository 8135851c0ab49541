/* SPDX-License-Identifier: MIT */
/* CRC-64/ISO: see ocistream/crc64.h. */
#include "config.h"

#include <ocistream/crc64.h>

#ifdef HAVE_ISAL
#include <isa-l/crc64.h>

uint64_t
ocis_crc64_iso(uint64_t crc, const void *p, size_t n)
{
	/* ISA-L's convention is Go's: the seed and the result inverted */
	return crc64_iso_refl(crc, p, n);
}

#else
#include <pthread.h>

/* Slicing by 8: table k holds the CRC of a byte followed by k zero bytes. */
static uint64_t crc64_table[8][256];
static pthread_once_t crc64_once = PTHREAD_ONCE_INIT;

static void
crc64_init(void)
{
	unsigned i, k;

	for (i = 0; i < 256; i++) {
		uint64_t c = i;

		for (k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0xD800000000000000ULL : c >> 1;
		crc64_table[0][i] = c;
	}
	for (i = 0; i < 256; i++)
		for (k = 1; k < 8; k++)
			crc64_table[k][i] = (crc64_table[k - 1][i] >> 8) ^
					    crc64_table[0][crc64_table[k - 1][i] & 0xff];
}

uint64_t
ocis_crc64_iso(uint64_t crc, const void *data, size_t n)
{
	const unsigned char *p = data;

	pthread_once(&crc64_once, crc64_init);
	crc = ~crc;
	while (n >= 8) {
		uint64_t v = (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
			     (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
			     (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;

		crc ^= v;
		crc = crc64_table[7][crc & 0xff] ^ crc64_table[6][(crc >> 8) & 0xff] ^
		      crc64_table[5][(crc >> 16) & 0xff] ^ crc64_table[4][(crc >> 24) & 0xff] ^
		      crc64_table[3][(crc >> 32) & 0xff] ^ crc64_table[2][(crc >> 40) & 0xff] ^
		      crc64_table[1][(crc >> 48) & 0xff] ^ crc64_table[0][crc >> 56];
		p += 8;
		n -= 8;
	}
	while (n-- > 0)
		crc = crc64_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}
#endif
