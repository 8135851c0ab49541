/* SPDX-License-Identifier: MIT */
/*
 * Where the gzip layer's blocks end (docs/compression.md, "Block
 * boundaries"): chosen by content, so that an inserted, removed or grown
 * file moves only the blocks around it, and a block cache (blockcache.h)
 * finds every other block again.
 *
 * A block is at least OCIS_CDC_MIN bytes and at most `max` (the
 * compressor's slot size).  A "hit" is a byte where a gear hash of the
 * last 64 bytes has its top OCIS_CDC_HIT_BITS bits zero (about one byte in
 * 256 Ki of varied content).  Past OCIS_CDC_MIN the block ends
 * - before the next entry, once there was a hit since OCIS_CDC_MIN
 *   (small files: blocks follow the entries);
 * - right after a hit that lies OCIS_CDC_MIN or more bytes into an entry
 *   (big files: cut by their content; with no entries reported, at any
 *   hit);
 * - at `max`, whatever the content.
 *
 * Bytes: the boundaries depend only on the byte sequence and the entry
 * starts reported, never on how the bytes are sliced into calls.  Changing
 * a constant (or the gear table's seed) changes the gzip output bytes.
 *
 * One chunker per compressor, used from the caller's thread only.
 */
#ifndef OCISTREAM_CHUNKER_H
#define OCISTREAM_CHUNKER_H

#include <stddef.h>
#include <stdint.h>

#define OCIS_CDC_MIN ((size_t)256 * 1024)
#define OCIS_CDC_HIT_BITS 18

struct ocis_chunker {
	uint64_t gear[256];
	uint64_t h;
	size_t len;		/* bytes in the current block */
	size_t max;
	uint64_t in_entry;	/* bytes since the last entry start */
	int armed;		/* a hit since OCIS_CDC_MIN in this block */
};

/* max > OCIS_CDC_MIN */
void ocis_chunker_init(struct ocis_chunker *ch, size_t max);
/* The next n bytes of the stream: returns how many of them belong to the
 * current block; *cut is 1 when the block ends after those (then call
 * ocis_chunker_next_block before scanning on). */
size_t ocis_chunker_scan(struct ocis_chunker *ch, const unsigned char *p, size_t n, int *cut);
/* An entry starts at the next byte: 1 when the current block ends here
 * (then call ocis_chunker_next_block). */
int ocis_chunker_entry(struct ocis_chunker *ch);
/* Start a new, empty block. */
void ocis_chunker_next_block(struct ocis_chunker *ch);

#endif
