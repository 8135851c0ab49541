/* SPDX-License-Identifier: MIT */
/*
 * gzip members, inflated as a stream: see ocistream/gunzip.h.
 *
 * With ISA-L, the header is read here and ISA-L inflates the raw deflate
 * data and checks the trailer (ISAL_GZIP_NO_HDR_VER: CRC-32 and ISIZE,
 * exactly the trailer's 8 bytes consumed, so the next member starts where
 * it says).  ISA-L's own header reader (ISAL_GZIP) is not used: inside
 * isal_inflate() it keeps the header's flags and CRC in a local between
 * calls (ISA-L 2.30 to 2.32), so a header cut between two inputs inside
 * FEXTRA or FNAME loses the fields after it and the FHCRC check.  The
 * header rules are zlib's, and so are the messages, so that both builds
 * refuse the same input the same way.
 *
 * Without ISA-L, zlib reads the whole member (inflateInit2 with 15 + 16:
 * gzip only).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>

#include <zlib.h>
#ifdef HAVE_ISAL
#include <isa-l/igzip_lib.h>
#endif

#include <ocistream/gunzip.h>

#include "internal.h"

/* ISA-L counts in 32 bits: what one call is given */
#define STEP_MAX (1u << 30)

#ifdef HAVE_ISAL
/* gzip header flags (RFC 1952) */
#define F_HCRC 0x02
#define F_EXTRA 0x04
#define F_NAME 0x08
#define F_COMMENT 0x10
#define F_RESERVED 0xe0
#define FIXED_SIZE 10

enum hstate { H_FIXED, H_XLEN, H_EXTRA, H_NAME, H_COMMENT, H_HCRC, H_DATA };

struct ocis_gunzip {
	struct inflate_state st;
	enum hstate h;
	unsigned char fixed[FIXED_SIZE];
	size_t have;			/* bytes of fixed[] or of a 2-byte field */
	unsigned flags;
	size_t skip;			/* FEXTRA bytes still to skip */
	uLong hcrc;			/* CRC-32 of the header so far */
};
#else
struct ocis_gunzip {
	z_stream z;
};
#endif

#ifdef HAVE_ISAL
int
ocis_gunzip_new(struct ocis_gunzip **out, ocis_error_t **err)
{
	/* (the state holds ISA-L's 64 KiB history buffer) */
	if ((*out = malloc(sizeof(**out))) == NULL)
		return ocis_error_oom(err);
	ocis_gunzip_reset(*out);
	return 0;
}

void
ocis_gunzip_reset(struct ocis_gunzip *g)
{
	isal_inflate_init(&g->st);
	g->st.crc_flag = ISAL_GZIP_NO_HDR_VER;
	g->h = H_FIXED;
	g->have = 0;
	g->flags = 0;
	g->skip = 0;
	g->hcrc = crc32(0, NULL, 0);
}

/* The state after the fixed part or a field: the next field the flags
 * announce. */
static enum hstate
next_field(const struct ocis_gunzip *g, enum hstate after)
{
	if (after < H_XLEN && (g->flags & F_EXTRA))
		return H_XLEN;
	if (after < H_NAME && (g->flags & F_NAME))
		return H_NAME;
	if (after < H_COMMENT && (g->flags & F_COMMENT))
		return H_COMMENT;
	if (after < H_HCRC && (g->flags & F_HCRC))
		return H_HCRC;
	return H_DATA;
}

/* Read header bytes from in[0..n): the count used, or -1 with *why. */
static ssize_t
header(struct ocis_gunzip *g, const unsigned char *in, size_t n, const char **why)
{
	size_t i = 0;

	while (g->h != H_DATA && i < n) {
		unsigned char c = in[i];

		switch (g->h) {
		case H_FIXED:
			g->fixed[g->have++] = c;
			if (g->have == 2 && (g->fixed[0] != 0x1f || g->fixed[1] != 0x8b)) {
				*why = "incorrect header check";
				return -1;
			}
			if (g->have == 3 && c != 8) {
				*why = "unknown compression method";
				return -1;
			}
			if (g->have == 4 && (c & F_RESERVED)) {
				*why = "unknown header flags set";
				return -1;
			}
			if (g->have == FIXED_SIZE) {
				g->flags = g->fixed[3];
				g->have = 0;
				g->h = next_field(g, H_FIXED);
			}
			break;
		case H_XLEN:
			g->skip |= (size_t)c << (8 * g->have++);
			if (g->have == 2) {
				g->have = 0;
				g->h = g->skip ? H_EXTRA : next_field(g, H_EXTRA);
			}
			break;
		case H_EXTRA:
			if (--g->skip == 0)
				g->h = next_field(g, H_EXTRA);
			break;
		case H_NAME:
		case H_COMMENT:
			if (c == 0)
				g->h = next_field(g, g->h);
			break;
		case H_HCRC:
			if (g->have++ == 0) {
				g->skip = c;
				break;
			}
			if ((g->skip | (size_t)c << 8) != (g->hcrc & 0xffff)) {
				*why = "header crc mismatch";
				return -1;
			}
			g->h = H_DATA;
			break;
		case H_DATA:
			break;
		}
		i++;
		/* the CRC-32 of every header byte before FHCRC's own */
		if (g->h != H_HCRC || g->have == 0)
			g->hcrc = crc32(g->hcrc, &c, 1);
	}
	return (ssize_t)i;
}

static const char *
isal_why(int r)
{
	switch (r) {
	case ISAL_INVALID_BLOCK:
		return "invalid block type or lengths";
	case ISAL_INVALID_SYMBOL:
		return "invalid code";
	case ISAL_INVALID_LOOKBACK:
		return "invalid distance too far back";
	case ISAL_INCORRECT_CHECKSUM:
		return "incorrect data check or length check";
	default:
		return "inflate error";
	}
}

enum ocis_gunzip_status
ocis_gunzip_inflate(struct ocis_gunzip *g, const unsigned char *in, size_t in_len,
		    size_t *in_used, unsigned char *out, size_t out_cap, size_t *out_len,
		    const char **why)
{
	size_t ip = 0, op = 0;
	enum ocis_gunzip_status s = OCIS_GUNZIP_MORE;

	while (ip < in_len || g->h == H_DATA) {
		int r;

		if (g->h != H_DATA) {
			ssize_t k = header(g, in + ip, in_len - ip, why);
			if (k < 0) {
				s = OCIS_GUNZIP_ERROR;
				break;
			}
			ip += (size_t)k;
			continue;
		}
		if (op == out_cap)
			break;
		g->st.next_in = (uint8_t *)(uintptr_t)(in + ip);
		g->st.avail_in = (uint32_t)(in_len - ip < STEP_MAX ? in_len - ip : STEP_MAX);
		g->st.next_out = out + op;
		g->st.avail_out = (uint32_t)(out_cap - op < STEP_MAX ? out_cap - op : STEP_MAX);
		r = isal_inflate(&g->st);
		if (r >= 0 && g->st.block_state != ISAL_BLOCK_FINISH && ip < in_len &&
		    g->st.next_in == in + ip && g->st.next_out == out + op) {
			/* never seen; a loop is the caller's otherwise */
			*why = "inflate made no progress";
			s = OCIS_GUNZIP_ERROR;
			break;
		}
		ip = (size_t)(g->st.next_in - in);
		op = (size_t)(g->st.next_out - out);
		if (r < 0) {
			*why = isal_why(r);
			s = OCIS_GUNZIP_ERROR;
			break;
		}
		if (g->st.block_state == ISAL_BLOCK_FINISH) {
			s = OCIS_GUNZIP_END;
			break;
		}
		if (ip == in_len && g->st.avail_out > 0)
			break;		/* wants input */
	}
	*in_used = ip;
	*out_len = op;
	return s;
}

void
ocis_gunzip_free(struct ocis_gunzip *g)
{
	free(g);
}

#else /* zlib */

int
ocis_gunzip_new(struct ocis_gunzip **out, ocis_error_t **err)
{
	struct ocis_gunzip *g = calloc(1, sizeof(*g));

	*out = NULL;
	if (g == NULL)
		return ocis_error_oom(err);
	if (inflateInit2(&g->z, 15 + 16) != Z_OK) {
		free(g);
		return ocis_error_set(err, 0, "cannot initialise zlib");
	}
	*out = g;
	return 0;
}

void
ocis_gunzip_reset(struct ocis_gunzip *g)
{
	inflateReset(&g->z);
}

enum ocis_gunzip_status
ocis_gunzip_inflate(struct ocis_gunzip *g, const unsigned char *in, size_t in_len,
		    size_t *in_used, unsigned char *out, size_t out_cap, size_t *out_len,
		    const char **why)
{
	size_t ip = 0, op = 0;
	enum ocis_gunzip_status s = OCIS_GUNZIP_MORE;

	while (op < out_cap) {
		int r;

		g->z.next_in = (unsigned char *)(uintptr_t)(in + ip);
		g->z.avail_in = (uInt)(in_len - ip < STEP_MAX ? in_len - ip : STEP_MAX);
		g->z.next_out = out + op;
		g->z.avail_out = (uInt)(out_cap - op < STEP_MAX ? out_cap - op : STEP_MAX);
		r = inflate(&g->z, Z_NO_FLUSH);
		ip = (size_t)(g->z.next_in - in);
		op = (size_t)(g->z.next_out - out);
		if (r == Z_STREAM_END) {
			s = OCIS_GUNZIP_END;
			break;
		}
		if (r != Z_OK && r != Z_BUF_ERROR) {
			*why = g->z.msg ? g->z.msg : "inflate error";
			s = OCIS_GUNZIP_ERROR;
			break;
		}
		if (r == Z_BUF_ERROR && ip < in_len && op < out_cap) {
			/* never seen (zlib: no progress possible); a loop is the
			 * caller's otherwise */
			*why = "inflate made no progress";
			s = OCIS_GUNZIP_ERROR;
			break;
		}
		if (ip == in_len)
			break;		/* wants input */
	}
	*in_used = ip;
	*out_len = op;
	return s;
}

void
ocis_gunzip_free(struct ocis_gunzip *g)
{
	if (g == NULL)
		return;
	inflateEnd(&g->z);
	free(g);
}
#endif
