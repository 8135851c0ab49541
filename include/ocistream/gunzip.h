/* SPDX-License-Identifier: MIT */
/*
 * gzip members, inflated as a stream: the one inflater of every gzip
 * reader (the rootfs decompressor behind oci-layer, oci-diff and
 * oci-flatten; oci-pack's layer check).  ISA-L's inflate when the build
 * has it (about twice zlib's speed, docs/performance.md), zlib's
 * otherwise, with the same checks either way: the header (magic, deflate
 * method, no reserved flag, FEXTRA, FNAME and FCOMMENT skipped, the
 * header CRC when FHCRC is set), the deflate data, and the trailer's
 * CRC-32 and ISIZE.
 *
 * One member at a time: what follows a member (another member, padding,
 * garbage) is the caller's to judge, and a member whose input ends before
 * its trailer is the caller's to call truncated.
 */
#ifndef OCISTREAM_GUNZIP_H
#define OCISTREAM_GUNZIP_H

#include <stddef.h>

#include <ocistream/error.h>

struct ocis_gunzip;

enum ocis_gunzip_status {
	OCIS_GUNZIP_ERROR = -1,		/* damaged: *why says how */
	OCIS_GUNZIP_MORE = 0,		/* wants more input or more output room */
	OCIS_GUNZIP_END = 1,		/* the member ended, its trailer checked */
};

int ocis_gunzip_new(struct ocis_gunzip **out, ocis_error_t **err);
/* A new member starts with the next byte given. */
void ocis_gunzip_reset(struct ocis_gunzip *g);
/*
 * Inflate in[0..in_len) into out[0..out_cap): *in_used and *out_len say
 * how much of each was used.  MORE leaves either no input or no output
 * room; END leaves *in_used just after the member's trailer.  After END
 * or ERROR, only ocis_gunzip_reset continues.  *why is a constant string.
 */
enum ocis_gunzip_status ocis_gunzip_inflate(struct ocis_gunzip *g, const unsigned char *in,
					    size_t in_len, size_t *in_used, unsigned char *out,
					    size_t out_cap, size_t *out_len, const char **why);
void ocis_gunzip_free(struct ocis_gunzip *g);

#endif
