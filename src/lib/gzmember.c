/* SPDX-License-Identifier: MIT */
/*
 * One block as one gzip member: see include/ocistream/gzmember.h.
 *
 * Why ISA-L for level 1 only (docs/compression.md): on the benchmark input
 * in 1 MiB blocks, ISA-L's level 2 deflates about 2.3x faster than
 * libdeflate's level 1 for 4 % more output; its level 1 saves about 5 %
 * of that for 1.4 % more output still (docs/performance.md, round
 * four).  At gzip level 2 and up the fastest ISA-L level (3) is 7 %
 * larger than libdeflate's level 2, so libdeflate keeps them.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libdeflate.h>
#ifdef HAVE_ISAL
#include <isa-l.h>
#include <isa-l/igzip_lib.h>
#endif

#include <ocistream/blockcache.h>
#include <ocistream/gzmember.h>

#define GZIP_HEADER_SIZE 10
#define GZIP_TRAILER_SIZE 8
/* ISA-L's level for gzip level 1 */
#define ISAL_LEVEL 2

struct ocis_gzmember {
	int level;
	struct libdeflate_compressor *deflate;	/* always: also ISA-L's fallback */
	struct libdeflate_decompressor *inflate;	/* ocis_gzmember_matches */
	unsigned char *scratch;			/* its output */
	size_t scratch_cap;
#ifdef HAVE_ISAL
	unsigned char *isal_buf;		/* ISA-L's level buffer */
#endif
};

static int
uses_isal(int level)
{
#ifdef HAVE_ISAL
	return level == 1;
#else
	(void)level;
	return 0;
#endif
}

int
ocis_gzmember_new(struct ocis_gzmember **out, int level, ocis_error_t **err)
{
	struct ocis_gzmember *g = calloc(1, sizeof(*g));

	*out = NULL;
	if (g == NULL)
		return ocis_error_oom(err);
	g->level = level;
	/* ISA-L's fallback (an output it cannot fit, see below) is
	 * libdeflate's level 1: a pure function of the block too. */
	g->deflate = libdeflate_alloc_compressor(uses_isal(level) ? 1 : level);
	if (g->deflate == NULL)
		goto oom;
#ifdef HAVE_ISAL
	if (uses_isal(level) && (g->isal_buf = malloc(ISAL_DEF_LVL2_DEFAULT)) == NULL)
		goto oom;
#endif
	*out = g;
	return 0;
oom:
	ocis_gzmember_free(g);
	return ocis_error_oom(err);
}

size_t
ocis_gzmember_bound(size_t in_len)
{
	/* libdeflate's bound holds for any level and covers stored blocks,
	 * which is also ISA-L's worst case. */
	return GZIP_HEADER_SIZE + GZIP_TRAILER_SIZE + libdeflate_deflate_compress_bound(NULL, in_len);
}

#ifdef HAVE_ISAL
/* Raw deflate by ISA-L; 0 when the output does not fit. */
static size_t
isal_deflate_block(struct ocis_gzmember *g, const void *in, size_t in_len, void *out,
		   size_t out_cap)
{
	struct isal_zstream s;

	if (in_len > UINT32_MAX || out_cap > UINT32_MAX)
		return 0;
	/* The member must be a function of its block alone.  What the
	 * stream holds from an earlier call changes it: ISA-L 2.30's
	 * isal_deflate_stateless_init() leaves hist_bits (the match
	 * distance) as it finds it, and a stream reused without zeroing gave
	 * other bytes for a few blocks in 10^4 here.  So the stream (82 KB)
	 * is zeroed.
	 * The level buffer (324 KB) is not: every stateless call resets its
	 * hash table (reset_match_history()) and writes the rest before
	 * reading it, so a dirty buffer gave the same bytes in 65 000 blocks
	 * of random sizes, valgrind finds nothing read before it is written,
	 * and test-compress's gzmember_independent checks it. */
	memset(&s, 0, sizeof(s));
	isal_deflate_stateless_init(&s);
	s.level = ISAL_LEVEL;
	s.level_buf = g->isal_buf;
	s.level_buf_size = ISAL_DEF_LVL2_DEFAULT;
	s.next_in = (uint8_t *)(uintptr_t)in;
	s.avail_in = (uint32_t)in_len;
	s.next_out = out;
	s.avail_out = (uint32_t)out_cap;
	s.end_of_stream = 1;
	s.flush = NO_FLUSH;
	s.gzip_flag = IGZIP_DEFLATE;
	if (isal_deflate_stateless(&s) != COMP_OK)
		return 0;
	return s.total_out;
}
#endif

/* The member's CRC-32.  ISA-L's is the same number at twice the speed
 * of libdeflate 1.14's on the build machine (it folds 64 bytes at a time
 * where the CPU has VPCLMULQDQ): 25 against 11.6 GB/s, 0.03 s of CPU per
 * 745 MB layer. */
static uint32_t
block_crc32(const void *in, size_t in_len)
{
#ifdef HAVE_ISAL
	return crc32_gzip_refl(0, in, in_len);
#else
	return libdeflate_crc32(0, in, in_len);
#endif
}

int
ocis_gzmember_compress(struct ocis_gzmember *g, const void *in, size_t in_len, void *out,
		       size_t out_cap, size_t *out_len, ocis_error_t **err)
{
	static const unsigned char header[GZIP_HEADER_SIZE] = {
		0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3
	};
	unsigned char *p = out;
	size_t n = 0, room;
	uint32_t crc, isize;

	*out_len = 0;
	if (out_cap < GZIP_HEADER_SIZE + GZIP_TRAILER_SIZE)
		return ocis_error_set(err, 0, "compressing with gzip: output buffer too small");
	room = out_cap - GZIP_HEADER_SIZE - GZIP_TRAILER_SIZE;
	memcpy(p, header, GZIP_HEADER_SIZE);
#ifdef HAVE_ISAL
	if (uses_isal(g->level))
		n = isal_deflate_block(g, in, in_len, p + GZIP_HEADER_SIZE, room);
#endif
	if (n == 0)
		n = libdeflate_deflate_compress(g->deflate, in, in_len, p + GZIP_HEADER_SIZE, room);
	if (n == 0)
		return ocis_error_set(err, 0, "compressing with gzip: output buffer too small");
	p += GZIP_HEADER_SIZE + n;
	crc = block_crc32(in, in_len);
	isize = (uint32_t)in_len;
	p[0] = crc & 0xff;
	p[1] = (crc >> 8) & 0xff;
	p[2] = (crc >> 16) & 0xff;
	p[3] = crc >> 24;
	p[4] = isize & 0xff;
	p[5] = (isize >> 8) & 0xff;
	p[6] = (isize >> 16) & 0xff;
	p[7] = isize >> 24;
	*out_len = GZIP_HEADER_SIZE + n + GZIP_TRAILER_SIZE;
	return 0;
}

void
ocis_gzmember_codec(int level, char *buf, size_t size)
{
#ifdef HAVE_ISAL
	if (uses_isal(level)) {
		snprintf(buf, size, "isa-l %d.%d.%d %d", ISAL_MAJOR_VERSION, ISAL_MINOR_VERSION,
			 ISAL_PATCH_VERSION, ISAL_LEVEL);
		return;
	}
#endif
	snprintf(buf, size, "libdeflate %s %d", LIBDEFLATE_VERSION_STRING, level);
}

int
ocis_gzmember_matches(struct ocis_gzmember *g, const void *member, size_t len, const void *block,
		      size_t block_len)
{
	static const unsigned char header[GZIP_HEADER_SIZE] = {
		0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3
	};
	size_t in_used = 0, out_len = 0;

	if (len < GZIP_HEADER_SIZE + GZIP_TRAILER_SIZE || memcmp(member, header, GZIP_HEADER_SIZE))
		return 0;
	if (g->inflate == NULL && (g->inflate = libdeflate_alloc_decompressor()) == NULL)
		return 0;
	/* one byte more than the block: a longer member does not fit */
	if (g->scratch_cap < block_len + 1) {
		unsigned char *p = realloc(g->scratch, block_len + 1);
		if (p == NULL)
			return 0;
		g->scratch = p;
		g->scratch_cap = block_len + 1;
	}
	if (libdeflate_gzip_decompress_ex(g->inflate, member, len, g->scratch, g->scratch_cap,
					  &in_used, &out_len) != LIBDEFLATE_SUCCESS)
		return 0;
	return in_used == len && out_len == block_len &&
	       memcmp(g->scratch, block, block_len) == 0;
}

int
ocis_gzmember_block(struct ocis_gzmember *g, struct ocis_blockcache *cache, const void *in,
		    size_t in_len, void *out, size_t out_cap, size_t *out_len, ocis_error_t **err)
{
	unsigned char key[OCIS_BLOCKCACHE_KEY_LEN];

	if (cache == NULL)
		return ocis_gzmember_compress(g, in, in_len, out, out_cap, out_len, err);
	/* blockcache.h: an entry is whole, its own and unchanged; used only
	 * if it also inflates to this very block */
	ocis_blockcache_key(cache, in, in_len, key);
	if (ocis_blockcache_get(cache, key, out, out_cap, out_len)) {
		if (ocis_gzmember_matches(g, out, *out_len, in, in_len))
			return 0;
		ocis_blockcache_reject(cache);
	}
	if (ocis_gzmember_compress(g, in, in_len, out, out_cap, out_len, err) < 0)
		return -1;
	ocis_blockcache_put(cache, key, out, *out_len);
	return 0;
}

void
ocis_gzmember_free(struct ocis_gzmember *g)
{
	if (g == NULL)
		return;
	if (g->deflate)
		libdeflate_free_compressor(g->deflate);
	if (g->inflate)
		libdeflate_free_decompressor(g->inflate);
	free(g->scratch);
#ifdef HAVE_ISAL
	free(g->isal_buf);
#endif
	free(g);
}
