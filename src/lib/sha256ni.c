/* SPDX-License-Identifier: MIT */
/*
 * SHA-256 (FIPS 180-4) by the SHA extensions: see sha256ni-private.h.
 *
 * The state lives in two registers the way SHA256RNDS2 wants it, ABEF
 * and CDGH; each call of rounds4() does four rounds, two per
 * instruction.  The message schedule for rounds 16..63 is computed four
 * words at a time from the last 16 (SHA256MSG1 adds sigma0, the
 * alignr the word 7 back, SHA256MSG2 sigma1).  The two-stream version
 * is the same code with every step done for both; the CPU overlaps the
 * two dependency chains.
 */
#include "config.h"

#include "sha256ni-private.h"

#if OCIS_SHA256NI

#include <cpuid.h>
#include <immintrin.h>
#include <string.h>

#define SHA_TARGET __attribute__((target("sha,sse4.1,ssse3")))

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
	0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
	0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
	0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
	0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
	0xc67178f2,
};

static const uint32_t H0[8] = {
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

int
ocis__sha256ni_usable(void)
{
	static int usable = -1;	/* any thread may ask: an atomic */
	unsigned int a, b, c, d;
	int u = __atomic_load_n(&usable, __ATOMIC_RELAXED);

	if (u >= 0)
		return u;
	u = 0;
	/* leaf 1: SSSE3 (ecx 9), SSE4.1 (ecx 19); leaf 7: SHA (ebx 29) */
	if (__get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 9)) && (c & (1u << 19)) &&
	    __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 29)))
		u = 1;
	__atomic_store_n(&usable, u, __ATOMIC_RELAXED);
	return u;
}

/* The state words h[0..7] (A..H) as ABEF and CDGH, and back. */
SHA_TARGET static inline void
state_load(const uint32_t h[8], __m128i *abef, __m128i *cdgh)
{
	__m128i dcba = _mm_loadu_si128((const __m128i *)(const void *)&h[0]);
	__m128i hgfe = _mm_loadu_si128((const __m128i *)(const void *)&h[4]);
	__m128i cdab = _mm_shuffle_epi32(dcba, 0xB1);
	__m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);

	*abef = _mm_alignr_epi8(cdab, efgh, 8);
	*cdgh = _mm_blend_epi16(efgh, cdab, 0xF0);
}

SHA_TARGET static inline void
state_store(uint32_t h[8], __m128i abef, __m128i cdgh)
{
	__m128i feba = _mm_shuffle_epi32(abef, 0x1B);
	__m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);

	_mm_storeu_si128((__m128i *)(void *)&h[0], _mm_blend_epi16(feba, dchg, 0xF0));
	_mm_storeu_si128((__m128i *)(void *)&h[4], _mm_alignr_epi8(dchg, feba, 8));
}

/* Words 4g..4g+3 of a block, big-endian. */
SHA_TARGET static inline __m128i
load_words(const unsigned char *p, int g)
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);

	return _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 16 * g)),
				bswap);
}

/* Words 4g..4g+3 for g >= 4 from w[] holding words 4(g-4)..4g-1, at
 * index (g - k) & 3 for k = 4..1. */
SHA_TARGET static inline __m128i
next_words(const __m128i w[4], int g)
{
	__m128i x = _mm_sha256msg1_epu32(w[g & 3], w[(g + 1) & 3]);

	x = _mm_add_epi32(x, _mm_alignr_epi8(w[(g + 3) & 3], w[(g + 2) & 3], 4));
	return _mm_sha256msg2_epu32(x, w[(g + 3) & 3]);
}

SHA_TARGET static inline void
rounds4(__m128i *abef, __m128i *cdgh, __m128i w, int g)
{
	__m128i m = _mm_add_epi32(w, _mm_loadu_si128((const __m128i *)(const void *)&K[4 * g]));

	*cdgh = _mm_sha256rnds2_epu32(*cdgh, *abef, m);
	*abef = _mm_sha256rnds2_epu32(*abef, *cdgh, _mm_shuffle_epi32(m, 0x0E));
}

/* n whole blocks.  The loops are unrolled so that w[] stays in
 * registers. */
SHA_TARGET static void
blocks1(uint32_t h[8], const unsigned char *p, size_t n)
{
	__m128i abef, cdgh;

	state_load(h, &abef, &cdgh);
	for (; n > 0; n--, p += 64) {
		__m128i abef0 = abef, cdgh0 = cdgh, w[4];
		int g;

#pragma GCC unroll 4
		for (g = 0; g < 4; g++) {
			w[g] = load_words(p, g);
			rounds4(&abef, &cdgh, w[g], g);
		}
#pragma GCC unroll 12
		for (g = 4; g < 16; g++) {
			w[g & 3] = next_words(w, g);
			rounds4(&abef, &cdgh, w[g & 3], g);
		}
		abef = _mm_add_epi32(abef, abef0);
		cdgh = _mm_add_epi32(cdgh, cdgh0);
	}
	state_store(h, abef, cdgh);
}

/* n whole blocks of each of two streams, step by step side by side. */
SHA_TARGET static void
blocks2(uint32_t ha[8], const unsigned char *p, uint32_t hb[8], const unsigned char *q, size_t n)
{
	__m128i abef, cdgh, abef_b, cdgh_b;

	state_load(ha, &abef, &cdgh);
	state_load(hb, &abef_b, &cdgh_b);
	for (; n > 0; n--, p += 64, q += 64) {
		__m128i abef0 = abef, cdgh0 = cdgh, abef0_b = abef_b, cdgh0_b = cdgh_b;
		__m128i w[4], v[4];
		int g;

#pragma GCC unroll 4
		for (g = 0; g < 4; g++) {
			w[g] = load_words(p, g);
			v[g] = load_words(q, g);
			rounds4(&abef, &cdgh, w[g], g);
			rounds4(&abef_b, &cdgh_b, v[g], g);
		}
#pragma GCC unroll 12
		for (g = 4; g < 16; g++) {
			w[g & 3] = next_words(w, g);
			v[g & 3] = next_words(v, g);
			rounds4(&abef, &cdgh, w[g & 3], g);
			rounds4(&abef_b, &cdgh_b, v[g & 3], g);
		}
		abef = _mm_add_epi32(abef, abef0);
		cdgh = _mm_add_epi32(cdgh, cdgh0);
		abef_b = _mm_add_epi32(abef_b, abef0_b);
		cdgh_b = _mm_add_epi32(cdgh_b, cdgh0_b);
	}
	state_store(ha, abef, cdgh);
	state_store(hb, abef_b, cdgh_b);
}

void
ocis__sha256_init(struct ocis__sha256 *s)
{
	memcpy(s->h, H0, sizeof(s->h));
	s->len = 0;
}

/* Complete a partly filled block from data: the bytes taken. */
static size_t
fill(struct ocis__sha256 *s, const unsigned char *p, size_t n)
{
	size_t have = s->len % 64, take;

	if (have == 0)
		return 0;
	take = 64 - have < n ? 64 - have : n;
	memcpy(s->buf + have, p, take);
	s->len += take;
	if (have + take == 64)
		blocks1(s->h, s->buf, 1);
	return take;
}

/* What is left after the whole blocks: into the buffer. */
static void
keep(struct ocis__sha256 *s, const unsigned char *p, size_t n)
{
	memcpy(s->buf, p, n);
	s->len += n;
}

void
ocis__sha256_update(struct ocis__sha256 *s, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t k = fill(s, p, len);

	p += k;
	len -= k;
	blocks1(s->h, p, len / 64);
	s->len += len - len % 64;
	keep(s, p + len - len % 64, len % 64);
}

void
ocis__sha256_update2(struct ocis__sha256 *a, const void *pa, size_t na, struct ocis__sha256 *b,
		     const void *pb, size_t nb)
{
	const unsigned char *p = pa, *q = pb;
	size_t k, n;

	k = fill(a, p, na);
	p += k;
	na -= k;
	k = fill(b, q, nb);
	q += k;
	nb -= k;
	/* (a buffer still partial has taken all of its data: n is 0) */
	n = (na < nb ? na : nb) / 64;
	blocks2(a->h, p, b->h, q, n);
	a->len += 64 * (uint64_t)n;
	b->len += 64 * (uint64_t)n;
	p += 64 * n;
	q += 64 * n;
	na -= 64 * n;
	nb -= 64 * n;
	ocis__sha256_update(a, p, na);
	ocis__sha256_update(b, q, nb);
}

void
ocis__sha256_final(struct ocis__sha256 *s, unsigned char out[32])
{
	uint64_t bits = s->len * 8;
	size_t have = s->len % 64, i;

	s->buf[have++] = 0x80;
	if (have > 56) {
		memset(s->buf + have, 0, 64 - have);
		blocks1(s->h, s->buf, 1);
		have = 0;
	}
	memset(s->buf + have, 0, 56 - have);
	for (i = 0; i < 8; i++)
		s->buf[56 + i] = (unsigned char)(bits >> (56 - 8 * i));
	blocks1(s->h, s->buf, 1);
	for (i = 0; i < 8; i++) {
		out[4 * i] = (unsigned char)(s->h[i] >> 24);
		out[4 * i + 1] = (unsigned char)(s->h[i] >> 16);
		out[4 * i + 2] = (unsigned char)(s->h[i] >> 8);
		out[4 * i + 3] = (unsigned char)s->h[i];
	}
}

#endif
