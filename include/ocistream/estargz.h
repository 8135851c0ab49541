/* SPDX-License-Identifier: MIT */
/*
 * eStargz (docs/lazy-pull.md), the end of the layer: the TOC
 * (stargz.index.json) from a collected ocis_toc, as the last tar entry of
 * the layer, and the footer, a 51-byte empty gzip member whose extra
 * field holds the TOC's offset ("SG", 22 bytes: 16 hex digits, "STARGZ").
 *
 * The layer's gzip members are the compressor's (OCIS_COMPRESS_ESTARGZ):
 * each regular file's data starts a member at its chunk marks; headers
 * and padding share the member of the data before them, as in upstream's
 * writer.  The tail (the TOC entry and the end-of-archive blocks) is one
 * member of its own, since readers take the TOC from that one member.
 */
#ifndef OCISTREAM_ESTARGZ_H
#define OCISTREAM_ESTARGZ_H

#include <stddef.h>
#include <stdint.h>

#include <ocistream/compress.h>
#include <ocistream/error.h>
#include <ocistream/hash.h>
#include <ocistream/io.h>
#include <ocistream/toc.h>

#define OCIS_ESTARGZ_TOC_NAME "stargz.index.json"
#define OCIS_ESTARGZ_FOOTER_SIZE 51
#define OCIS_ESTARGZ_TOC_DIGEST_ANNOTATION "containerd.io/snapshot/stargz/toc.digest"
#define OCIS_ESTARGZ_USIZE_ANNOTATION "io.containers.estargz.uncompressed-size"

/* The layer's uncompressed tail into *tail (replacing it): the TOC tar
 * entry (header, JSON, padding) and the two end-of-archive blocks; the
 * chunks' offsets are the compressor's marks (drained).  toc_digest gets
 * the sha256 of the JSON. */
int ocis_estargz_tail(const struct ocis_toc *toc, const struct ocis_compressor *c,
		      struct ocis_buf *tail, char toc_digest[OCIS_DIGEST_STR_SIZE],
		      ocis_error_t **err);
/* The footer for a TOC member starting at toc_offset. */
void ocis_estargz_footer(uint64_t toc_offset, unsigned char out[OCIS_ESTARGZ_FOOTER_SIZE]);

#endif
