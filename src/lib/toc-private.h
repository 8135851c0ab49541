/* SPDX-License-Identifier: MIT */
/*
 * What the two TOC writers (estargz.c, zchunked.c) share from toc.c: the
 * names of the entry types and the xattrs object, whose rules the two
 * formats have in common (stargz-snapshotter's TOCEntry, which
 * containers/storage's FileMetadata follows).
 */
#ifndef OCISTREAM_TOC_PRIVATE_H
#define OCISTREAM_TOC_PRIVATE_H

#include <ocistream/error.h>
#include <ocistream/json.h>
#include <ocistream/toc.h>

/* "reg", "hardlink", "symlink", "char", "block", "dir", "fifo" for a tar
 * typeflag; NULL for any other. */
const char *ocis__toc_type_name(char type);
/* "xattrs": {name: base64 value, ...} in the entry's (sorted) order;
 * nothing without xattrs. */
int ocis__toc_gen_xattrs(yajl_gen g, const struct ocis_toc_entry *e, ocis_error_t **err);

#endif
