/* SPDX-License-Identifier: MIT */
/*
 * pax entry header encoder: see ocistream/pax.h for the byte contract.
 * Our own encoder rather than libarchive's writer, so that the layer bytes
 * are fixed by this file alone (no charset conversion, no LIBARCHIVE.*
 * records, no atime/ctime) and xattr values stay exact binary.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <ocistream/pax.h>

#include "internal.h"
#include "tarhdr-private.h"

#define USTAR_MAX_OCTAL_8 07777777ULL		/* 8-byte field */
#define USTAR_MAX_OCTAL_12 077777777777ULL	/* 12-byte field */

static size_t
digits10(size_t n)
{
	size_t d = 1;

	while (n >= 10) {
		n /= 10;
		d++;
	}
	return d;
}

/* Append one "len key=value\n" record. */
static int
add_record(struct ocis_buf *rec, const char *key, const void *value, size_t vlen,
	   ocis_error_t **err)
{
	size_t base = strlen(key) + vlen + 3;	/* ' ' '=' '\n' */
	size_t len = base + 1;

	while (digits10(len) + base != len)
		len = digits10(len) + base;
	if (ocis_buf_addf(rec, err, "%zu %s=", len, key) < 0 ||
	    ocis_buf_add(rec, value, vlen, err) < 0 ||
	    ocis_buf_add(rec, "\n", 1, err) < 0)
		return -1;
	return 0;
}

static int
add_num_record(struct ocis_buf *rec, const char *key, uint64_t v, ocis_error_t **err)
{
	char num[32];
	int n = snprintf(num, sizeof(num), "%" PRIu64, v);

	return add_record(rec, key, num, (size_t)n, err);
}

static int
valid_utf8(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n, k;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		for (k = 1; k <= n; k++) {
			if (i + k >= len || (s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

static void
put_string(unsigned char *field, size_t width, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	memcpy(field, s ? s : "", n > width ? width : n);
}

/* mtime as pax decimal seconds with the fraction, trailing zeros trimmed. */
static int
format_mtime(char *out, size_t size, int64_t sec, long nsec)
{
	char frac[32];
	int n;

	if (nsec == 0)
		return snprintf(out, size, "%" PRId64, sec);
	if (sec < 0) {
		/* -2 s + 0.25 s is written -1.75 */
		int64_t whole = sec + 1;
		snprintf(frac, sizeof(frac), "%09ld", 1000000000L - nsec);
		for (n = 8; n > 0 && frac[n] == '0'; n--)
			frac[n] = 0;
		return snprintf(out, size, "-%" PRId64 ".%s", -whole, frac);
	}
	snprintf(frac, sizeof(frac), "%09ld", nsec);
	for (n = 8; n > 0 && frac[n] == '0'; n--)
		frac[n] = 0;
	return snprintf(out, size, "%" PRId64 ".%s", sec, frac);
}

static void
pax_header_name(unsigned char *field, const char *path)
{
	const char *base, *end = path + strlen(path);
	size_t n;

	while (end > path && end[-1] == '/')
		end--;
	base = end;
	while (base > path && base[-1] != '/')
		base--;
	n = (size_t)(end - base);
	if (n > 100 - 11)
		n = 100 - 11;
	memcpy(field, "PaxHeaders/", 11);
	memcpy(field + 11, base, n);
}

int
ocis_pax_encode_header(const struct ocis_pax_entry *e, struct ocis_buf *out, ocis_error_t **err)
{
	static const unsigned char zeros[OCIS_BLOCK];
	struct ocis_buf rec = OCIS_BUF_INIT;
	unsigned char h[OCIS_BLOCK];
	size_t plen = strlen(e->path), llen = e->linkname ? strlen(e->linkname) : 0, i;
	uint64_t mtime_field;
	int binary = 0, r = -1;

	memset(h, 0, sizeof(h));

	/* Records, in the documented order. */
	if (plen > 100) {
		if (add_record(&rec, "path", e->path, plen, err) < 0)
			goto out;
		binary |= !valid_utf8((const unsigned char *)e->path, plen);
	}
	if (llen > 100) {
		if (add_record(&rec, "linkpath", e->linkname, llen, err) < 0)
			goto out;
		binary |= !valid_utf8((const unsigned char *)e->linkname, llen);
	}
	if (e->size > USTAR_MAX_OCTAL_12 && add_num_record(&rec, "size", e->size, err) < 0)
		goto out;
	if (e->uid > USTAR_MAX_OCTAL_8 && add_num_record(&rec, "uid", e->uid, err) < 0)
		goto out;
	if (e->gid > USTAR_MAX_OCTAL_8 && add_num_record(&rec, "gid", e->gid, err) < 0)
		goto out;
	if (e->uname && strlen(e->uname) > 31) {
		if (add_record(&rec, "uname", e->uname, strlen(e->uname), err) < 0)
			goto out;
		binary |= !valid_utf8((const unsigned char *)e->uname, strlen(e->uname));
	}
	if (e->gname && strlen(e->gname) > 31) {
		if (add_record(&rec, "gname", e->gname, strlen(e->gname), err) < 0)
			goto out;
		binary |= !valid_utf8((const unsigned char *)e->gname, strlen(e->gname));
	}
	if (e->mtime < 0 || (uint64_t)e->mtime > USTAR_MAX_OCTAL_12 || e->mtime_nsec != 0) {
		char t[48];
		int n = format_mtime(t, sizeof(t), e->mtime, e->mtime_nsec);
		if (add_record(&rec, "mtime", t, (size_t)n, err) < 0)
			goto out;
	}
	if (binary && add_record(&rec, "hdrcharset", "BINARY", 6, err) < 0)
		goto out;
	for (i = 0; i < e->n_xattrs; i++) {
		char key[512];
		if (i > 0 && strcmp(e->xattrs[i - 1].name, e->xattrs[i].name) >= 0) {
			ocis_error_set(err, EINVAL, "xattrs not sorted or duplicated ('%.64s')",
				       e->xattrs[i].name);
			goto out;
		}
		if (strlen(e->xattrs[i].name) + 14 > sizeof(key) || strchr(e->xattrs[i].name, '=')) {
			ocis_error_set(err, EINVAL, "xattr name '%.64s' cannot be stored",
				       e->xattrs[i].name);
			goto out;
		}
		snprintf(key, sizeof(key), "SCHILY.xattr.%s", e->xattrs[i].name);
		if (add_record(&rec, key, e->xattrs[i].value, e->xattrs[i].size, err) < 0)
			goto out;
	}

	if (e->mtime < 0)
		mtime_field = 0;
	else if ((uint64_t)e->mtime > USTAR_MAX_OCTAL_12)
		mtime_field = USTAR_MAX_OCTAL_12;
	else
		mtime_field = (uint64_t)e->mtime;

	if (rec.len > 0) {
		unsigned char x[OCIS_BLOCK];

		memset(x, 0, sizeof(x));
		pax_header_name(x + TH_NAME, e->path);
		ocis__tar_octal(x + TH_MODE, 8, 0644);
		ocis__tar_octal(x + TH_UID, 8, 0);
		ocis__tar_octal(x + TH_GID, 8, 0);
		ocis__tar_octal(x + TH_SIZE, 12, rec.len);
		ocis__tar_octal(x + TH_MTIME, 12, mtime_field);
		x[TH_TYPE] = 'x';
		ocis__tar_finish_header(x);
		if (ocis_buf_add(out, x, sizeof(x), err) < 0 ||
		    ocis_buf_add(out, rec.data, rec.len, err) < 0 ||
		    ocis_buf_add(out, zeros, (size_t)ocis__pad512(rec.len), err) < 0)
			goto out;
	}

	memcpy(h + TH_NAME, e->path, plen > 100 ? 100 : plen);
	ocis__tar_octal(h + TH_MODE, 8, e->mode & 07777);
	ocis__tar_octal(h + TH_UID, 8, e->uid > USTAR_MAX_OCTAL_8 ? 0 : e->uid);
	ocis__tar_octal(h + TH_GID, 8, e->gid > USTAR_MAX_OCTAL_8 ? 0 : e->gid);
	ocis__tar_octal(h + TH_SIZE, 12, e->size > USTAR_MAX_OCTAL_12 ? 0 : e->size);
	ocis__tar_octal(h + TH_MTIME, 12, mtime_field);
	h[TH_TYPE] = (unsigned char)e->type;
	if (e->linkname)
		memcpy(h + TH_LINKNAME, e->linkname, llen > 100 ? 100 : llen);
	put_string(h + TH_UNAME, 32, e->uname);
	put_string(h + TH_GNAME, 32, e->gname);
	if (e->type == '3' || e->type == '4') {
		if (ocis__tar_octal(h + TH_DEVMAJOR, 8, e->devmajor) < 0)
			ocis__tar_base256(h + TH_DEVMAJOR, 8, e->devmajor);
		if (ocis__tar_octal(h + TH_DEVMINOR, 8, e->devminor) < 0)
			ocis__tar_base256(h + TH_DEVMINOR, 8, e->devminor);
	} else {
		ocis__tar_octal(h + TH_DEVMAJOR, 8, 0);
		ocis__tar_octal(h + TH_DEVMINOR, 8, 0);
	}
	ocis__tar_finish_header(h);
	r = ocis_buf_add(out, h, sizeof(h), err);
out:
	ocis_buf_release(&rec);
	return r;
}
