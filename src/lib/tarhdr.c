/* SPDX-License-Identifier: MIT */
/*
 * ustar header field encoding shared by the image-stream writer, the layer
 * (pax) writer and the output tar of oci-pack.  Numeric fields are octal,
 * zero padded, NUL terminated, as POSIX writes them; values that do not fit
 * use GNU base-256 only where a caller asks for it.
 */
#include "config.h"

#include <string.h>

#include "internal.h"
#include "tarhdr-private.h"

int
ocis__tar_octal(unsigned char *field, size_t width, uint64_t v)
{
	size_t digits = width - 1, i;
	uint64_t x = v;

	for (i = digits; i > 0; i--) {
		field[i - 1] = (unsigned char)('0' + (x & 7));
		x >>= 3;
	}
	if (x != 0)
		return -1;
	field[digits] = 0;
	return 0;
}

void
ocis__tar_base256(unsigned char *field, size_t width, uint64_t v)
{
	size_t i;

	for (i = width; i > 1; i--) {
		field[i - 1] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
	field[0] = 0x80;
}

int
ocis__tar_parse_num(const unsigned char *field, size_t width, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	if (field[0] & 0x80) {
		if (field[0] != 0x80)
			return -1;	/* negative or too wide */
		for (i = 1; i < width; i++) {
			if (v >> 56)
				return -1;
			v = (v << 8) | field[i];
		}
		*out = v;
		return 0;
	}
	while (i < width && field[i] == ' ')
		i++;
	if (i == width || field[i] < '0' || field[i] > '7')
		return -1;
	for (; i < width && field[i] >= '0' && field[i] <= '7'; i++) {
		if (v >> 61)
			return -1;
		v = (v << 3) | (uint64_t)(field[i] - '0');
	}
	for (; i < width; i++)
		if (field[i] != ' ' && field[i] != 0)
			return -1;
	*out = v;
	return 0;
}

int
ocis__tar_size(const unsigned char *h, uint64_t *size)
{
	uint64_t v;

	if (ocis__tar_parse_num(h + TH_SIZE, 12, &v) < 0)
		return -1;
	*size = v;
	return v > OCIS_TAR_SIZE_MAX ? -2 : 0;
}

static unsigned
header_sum(const unsigned char h[OCIS_BLOCK])
{
	unsigned sum = 0;
	size_t i;

	for (i = 0; i < OCIS_BLOCK; i++)
		sum += (i >= TH_CHKSUM && i < TH_CHKSUM + 8) ? ' ' : h[i];
	return sum;
}

void
ocis__tar_finish_header(unsigned char h[OCIS_BLOCK])
{
	memcpy(h + TH_MAGIC, "ustar", 6);
	memcpy(h + TH_VERSION, "00", 2);
	/* Six octal digits, NUL, space: the traditional layout. */
	ocis__tar_octal(h + TH_CHKSUM, 7, header_sum(h));
	h[TH_CHKSUM + 7] = ' ';
}

int
ocis__tar_checksum_ok(const unsigned char h[OCIS_BLOCK])
{
	uint64_t stored;

	if (ocis__tar_parse_num(h + TH_CHKSUM, 8, &stored) < 0)
		return 0;
	return stored == header_sum(h);
}

int
ocis__block_is_zero(const unsigned char *b)
{
	size_t i;

	for (i = 0; i < OCIS_BLOCK; i++)
		if (b[i])
			return 0;
	return 1;
}


/* A numeric header field the way libarchive reads it (blanks, then octal
 * digits up to the first other byte; or GNU base-256), so that the walk
 * of tarin.c follows the headers libarchive followed.  -1 when negative or
 * too large. */
int
ocis__tar_num_lax(const unsigned char *p, size_t width, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	if (p[0] & 0x80)
		return ocis__tar_parse_num(p, width, out);
	while (i < width && (p[i] == ' ' || p[i] == '\t'))
		i++;
	for (; i < width && p[i] >= '0' && p[i] <= '7'; i++) {
		if (v >> 61)
			return -1;
		v = (v << 3) | (uint64_t)(p[i] - '0');
	}
	*out = v;
	return 0;
}

/* libarchive takes a checksum that sums the bytes as unsigned or as
 * signed chars (old tars did the latter). */
int
ocis__tar_checksum_lax(const unsigned char *h)
{
	uint64_t stored;
	int64_t ssum = 0;
	uint64_t usum = 0;
	size_t i;

	if (ocis__tar_num_lax(h + TH_CHKSUM, 8, &stored) < 0)
		return 0;
	for (i = 0; i < OCIS_BLOCK; i++) {
		unsigned char c = (i >= TH_CHKSUM && i < TH_CHKSUM + 8) ? ' ' : h[i];
		usum += c;
		ssum += (signed char)c;
	}
	return stored == usum || (int64_t)stored == ssum;
}

int
ocis__tar_num_strict(const unsigned char *p, size_t width, int64_t *out)
{
	uint64_t v;
	size_t i = 0, end;

	if (p[0] & 0x80) {
		/* the bits after the marker are a two's complement number:
		 * every byte beyond the last 8 only repeats its sign */
		unsigned char ext = (p[0] & 0x40) ? 0xff : 0;
		unsigned char c = (unsigned char)((p[0] & 0x7f) | (ext & 0x80));

		for (; width - i > 8; c = p[++i])
			if (c != ext)
				return -1;
		if ((c ^ ext) & 0x80)
			return -1;
		for (v = ext ? UINT64_MAX : 0;; c = p[i]) {
			v = (v << 8) | c;
			if (++i == width)
				break;
		}
		*out = (int64_t)v;
		return 0;
	}
	for (end = 0; end < width && p[end] != 0; end++)
		;
	while (i < end && (p[i] == ' ' || p[i] == '\t'))
		i++;
	for (v = 0; i < end && p[i] >= '0' && p[i] <= '7'; i++)
		v = (v << 3) | (uint64_t)(p[i] - '0');	/* 12 digits: 36 bits */
	while (i < end && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (i != end)
		return -1;
	*out = (int64_t)v;
	return 0;
}

const char *
ocis__tar_fields_bad(const unsigned char h[OCIS_BLOCK])
{
	static const struct { const char *name; size_t off, width; } f[] = {
		{ "mode", TH_MODE, 8 }, { "uid", TH_UID, 8 }, { "gid", TH_GID, 8 },
		{ "size", TH_SIZE, 12 }, { "mtime", TH_MTIME, 12 },
		{ "devmajor", TH_DEVMAJOR, 8 }, { "devminor", TH_DEVMINOR, 8 },
	};
	/* the device fields count for devices only (v7 has none) */
	size_t i, n = h[TH_TYPE] == '3' || h[TH_TYPE] == '4' ? 7 : 5;
	int64_t v;

	for (i = 0; i < n; i++)
		if (ocis__tar_num_strict(h + f[i].off, f[i].width, &v) < 0 ||
		    (f[i].off == TH_MODE && (v < 0 || v > 07777777)))
			return f[i].name;
	return NULL;
}
