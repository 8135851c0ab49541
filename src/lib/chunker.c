/* SPDX-License-Identifier: MIT */
/*
 * Content-defined block boundaries: see include/ocistream/chunker.h.
 *
 * The gear hash (as in FastCDC): h = (h << 1) + gear[byte].  A byte's
 * contribution leaves the 64-bit state after 64 more bytes, so h (and its
 * top bits, which the conditions test) is a function of the last 64 bytes
 * alone.  Hashing therefore starts 64 bytes before OCIS_CDC_MIN in each
 * block: the bytes before cannot matter, and skipping them saves a quarter
 * of the scanning.
 */
#include "config.h"

#include <string.h>

#include <ocistream/chunker.h>

#define WINDOW 64
#define HIT_SHIFT (64 - OCIS_CDC_HIT_BITS)
/* never reached by counting: no entry reported yet */
#define NO_ENTRY ((uint64_t)1 << 62)

/* splitmix64: a fixed seed gives the fixed gear table (part of the
 * format: a different table gives other boundaries). */
static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void
ocis_chunker_init(struct ocis_chunker *ch, size_t max)
{
	uint64_t seed = 0x6f63697069706531ULL;	/* "ocipipe1" */
	size_t i;

	memset(ch, 0, sizeof(*ch));
	for (i = 0; i < 256; i++)
		ch->gear[i] = splitmix64(&seed);
	ch->max = max;
	ch->in_entry = NO_ENTRY;
}

size_t
ocis_chunker_scan(struct ocis_chunker *ch, const unsigned char *p, size_t n, int *cut)
{
	size_t room = ch->max - ch->len, i = 0, skip;
	uint64_t h = ch->h;

	*cut = 0;
	if (n >= room) {
		n = room;
		*cut = 1;	/* at max, unless the content cuts earlier */
	}
	/* bytes that cannot reach the hash at OCIS_CDC_MIN */
	if (ch->len < OCIS_CDC_MIN - WINDOW) {
		skip = OCIS_CDC_MIN - WINDOW - ch->len;
		i = skip < n ? skip : n;
	}
	/* warm-up: hashed, no decision before OCIS_CDC_MIN */
	for (; i < n && ch->len + i < OCIS_CDC_MIN; i++)
		h = (h << 1) + ch->gear[p[i]];
	for (; i < n; i++) {
		h = (h << 1) + ch->gear[p[i]];
		if ((h >> HIT_SHIFT) != 0)
			continue;
		ch->armed = 1;
		/* deep inside a big entry: cut after the hit */
		if (ch->in_entry + i >= OCIS_CDC_MIN) {
			i++;
			*cut = 1;
			n = i;
			break;
		}
	}
	ch->len += n;
	ch->in_entry += n;
	ch->h = h;
	return n;
}

int
ocis_chunker_entry(struct ocis_chunker *ch)
{
	ch->in_entry = 0;
	return ch->armed && ch->len >= OCIS_CDC_MIN;
}

void
ocis_chunker_next_block(struct ocis_chunker *ch)
{
	ch->len = 0;
	ch->armed = 0;
	ch->h = 0;
}
