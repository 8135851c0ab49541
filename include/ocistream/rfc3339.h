/* SPDX-License-Identifier: MIT */
/*
 * RFC 3339 date-times, as the image config's "created" and history carry
 * them: formatting seconds since the epoch (UTC, years 0000-9999 only, so
 * the four-digit year RFC 3339 requires always holds) and checking a
 * string read from a config or given by a user.
 */
#ifndef OCISTREAM_RFC3339_H
#define OCISTREAM_RFC3339_H

#include <stdint.h>

/* Format t as "1970-01-01T00:00:00Z" into out.  0, or -1 (out = "") when
 * t is outside years 0000-9999. */
int ocis_rfc3339(int64_t t, char out[32]);

/* 1 when s is an RFC 3339 date-time ("2024-01-02T03:04:05Z", optional
 * fraction, "Z" or a "+hh:mm" / "-hh:mm" offset), else 0. */
int ocis_rfc3339_valid(const char *s);

#endif
