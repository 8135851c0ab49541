/* SPDX-License-Identifier: MIT */
/*
 * What layout.c shares with the base-image reader: the one check of an
 * oci-layout file's version.
 */
#ifndef OCISTREAM_LAYOUT_PRIVATE_H
#define OCISTREAM_LAYOUT_PRIVATE_H

#include <stddef.h>

struct ocis_error;
/* 0 when data (an oci-layout file, of what) is a layout version this
 * writer and reader know (1.x.y); -1 with a one-line message otherwise. */
int ocis__layout_version_check(const void *data, size_t len, const char *what,
			       struct ocis_error **err);

#endif
