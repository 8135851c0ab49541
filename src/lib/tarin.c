/* SPDX-License-Identifier: MIT */
/*
 * Reading rootfs tars: see ocistream/tarin.h.
 *
 * Input side: the decompressor (decompress.c) hands our read callback
 * the uncompressed tar, and the callback hands it to libarchive in 1 MiB
 * buffers, so that the window below holds the tar's own bytes whatever
 * the compression.
 *
 * The last NWIN buffers handed over are kept (the callback rotates
 * through them, nothing is copied), so that the header blocks of the
 * current entry can be read again: libarchive reads the pax mtime record
 * "-0.25" as +0.25 (it negates only the whole seconds, and -0 is 0).  When
 * an entry's time is between 0 and 1 s with a fraction, the record is
 * looked up in the raw header; if that is impossible (the header is no
 * longer in the window, or libarchive decompressed the input), the entry
 * is refused rather than given a time of the wrong sign.  The other case,
 * "-1.75" read as -1 s + 0.75 s, needs no lookup: POSIX, GNU tar and Go
 * read the decimal -1.75, and it is turned back into that.  The same
 * look at the raw headers finds a link target libarchive dropped and the
 * pax global headers it ignores (fix_entry()).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <ocistream/decompress.h>
#include <ocistream/stream.h>
#include <ocistream/tarin.h>

#include "imagename-private.h"
#include "internal.h"
#include "tarhdr-private.h"

#define BUF_SIZE (1024 * 1024)
#define NWIN 3

struct ocis_tarin {
	struct ocis_tarin_opts o;
	struct archive *a;
	int fd;				/* ocis_tarin_open_fd */
	/* what libarchive was handed: the last NWIN buffers */
	unsigned char *win_mem;		/* the buffers, in one mapping */
	unsigned char *win[NWIN];
	uint64_t win_off[NWIN];
	size_t win_len[NWIN];
	uint64_t win_nz[NWIN];		/* nz_end when that buffer was handed over */
	uint64_t nz_end;		/* just past the last non-zero byte handed over */
	unsigned cur;			/* the buffer handed over last */
	uint64_t handed;		/* bytes handed over so far */
	int ended;			/* the callback said end of input */
	int input_failed;		/* the callback failed: the message is ours */
	struct ocis_decompress *dec;	/* the raw input, decompressed */
	/* entries */
	struct ocis__image_sniff sniff;	/* is the input an image rather than a rootfs? */
	struct archive_entry *ae;
	uint64_t entries, size, data_at;
	uint64_t entry_end;		/* where the last entry's data and padding end
					 * in the tar, by its header; 0 unknown */
	char name[256];
	/* a hardlink's data block not yet read when it was checked
	 * (link_data_check): checked at the next header */
	int link_pending;
	uint64_t link_at;
	int64_t link_size;
	char link_name[256];
};

static ssize_t
fd_read(void *ctx, void *buf, size_t len)
{
	return read(*(int *)ctx, buf, len);
}

static la_ssize_t
input_read(struct archive *a, void *ctx, const void **buf)
{
	struct ocis_tarin *t = ctx;
	unsigned next = (t->cur + 1) % NWIN;
	unsigned char *out = t->win[next];
	ocis_error_t *e = NULL;
	ssize_t n;

	n = ocis_decompress_read(t->dec, out, BUF_SIZE, &e);
	if (n < 0) {
		archive_set_error(a, EINVAL, "%s", e->msg);
		ocis_error_free(&e);
		t->input_failed = 1;
		return -1;
	}
	t->ended = n == 0;
	if (n > 0 && t->o.tap)
		t->o.tap(t->o.tap_ctx, out, (size_t)n);
	t->cur = next;
	t->win_off[next] = t->handed;
	t->win_len[next] = (size_t)n;
	/* where the zeros before each buffer start: zero blocks between
	 * concatenated archives may reach back past the window (see
	 * raw_headers); the scan stops at the first non-zero byte from the
	 * end, so it costs nothing on tar data */
	t->win_nz[next] = t->nz_end;
	for (size_t k = (size_t)n; k > 0; k--)
		if (out[k - 1] != 0) {
			t->nz_end = t->handed + k;
			break;
		}
	t->handed += (uint64_t)n;
	*buf = out;
	return n;
}

/* --- the pax mtime record, read again -------------------------------------- */

/* Copy len bytes at offset off of the tar from the window: 0, or -1 when
 * they are not all there. */
static int
window_get(const struct ocis_tarin *t, uint64_t off, unsigned char *dst, size_t len)
{
	while (len > 0) {
		unsigned i;
		for (i = 0; i < NWIN; i++)
			if (t->win_len[i] && off >= t->win_off[i] &&
			    off < t->win_off[i] + t->win_len[i])
				break;
		if (i == NWIN)
			return -1;
		size_t at = (size_t)(off - t->win_off[i]);
		size_t k = t->win_len[i] - at < len ? t->win_len[i] - at : len;
		memcpy(dst, t->win[i] + at, k);
		dst += k;
		off += k;
		len -= k;
	}
	return 0;
}

/* The next "len key=value\n" record of a pax header body at *pos: 1 with
 * the key and value, 0 at the end or at a malformed record (libarchive
 * already refused those). */
static int
pax_record(const unsigned char *p, size_t len, size_t *pos, const unsigned char **key,
	   size_t *klen, const unsigned char **val, size_t *vlen)
{
	size_t i = *pos, rl = 0, j = i, k;

	while (j < len && p[j] >= '0' && p[j] <= '9' && rl < len)
		rl = rl * 10 + (size_t)(p[j++] - '0');
	if (i >= len || j >= len || p[j] != ' ' || rl > len - i || rl <= j + 1 - i)
		return 0;
	j++;
	/* the record is p[i .. i+rl), its "key=value\n" starts at j */
	for (k = j; k < i + rl - 1 && p[k] != '='; k++)
		;
	if (k == i + rl - 1)
		return 0;
	*key = p + j;
	*klen = k - j;
	*val = p + k + 1;
	*vlen = i + rl - 1 - (k + 1);
	*pos = i + rl;
	return 1;
}

static int
key_is(const unsigned char *key, size_t klen, const char *s)
{
	return klen == strlen(s) && memcmp(key, s, klen) == 0;
}

/* What the raw headers of an entry say that libarchive does not pass on. */
struct raw_info {
	int mtime_neg;			/* the last "mtime" record is negative: 1, 0; -1 none */
	unsigned char *linkpath;	/* the last "linkpath" record (malloc'ed), or NULL */
	unsigned char *names[3];	/* the last "path", "uname", "gname" record
					 * when it is not ASCII (malloc'ed), or NULL */
	int linkpath_ascii;		/* the last "linkpath" record is ASCII */
	int has_path, has_linkpath;	/* an 'x' header gave these records */
	char type;			/* the entry's own typeflag */
	uint64_t data_at;		/* where the entry's data (if any) starts */
	uint64_t data_end;		/* and where it ends, by the size field */
	char global_key[64];		/* a pax global record that would change entries */
	char bad[192];			/* what the readers read differently, or "" */
	/* the last SCHILY.devmajor and .devminor records (dev_have[i]),
	 * which only libarchive reads (own_header_checks) */
	int dev_have[2];
	uint64_t dev[2];
};

/* The records whose non-ASCII values libarchive changes (see raw_names). */
static const char *const raw_name_keys[3] = { "path", "uname", "gname" };

static void
raw_free(struct raw_info *ri)
{
	unsigned i;

	free(ri->linkpath);
	ri->linkpath = NULL;
	for (i = 0; i < 3; i++) {
		free(ri->names[i]);
		ri->names[i] = NULL;
	}
}

static int
is_ascii(const unsigned char *p, size_t n)
{
	while (n > 0 && p[n - 1] < 0x80)
		n--;
	return n == 0;
}

/* A record's value as a C string (malloc'ed), or NULL out of memory. */
static unsigned char *
raw_value(const unsigned char *val, size_t vlen)
{
	unsigned char *v = malloc(vlen + 1);

	if (v != NULL) {
		memcpy(v, val, vlen);
		v[vlen] = 0;
	}
	return v;
}

/* Why a record of an entry's pax header is one that tar readers read
 * differently, or NULL.  libarchive reads the digits before a stray byte
 * ("uid=12abc" is 12, Python's float notation "mtime=1e+16" is 1 s),
 * clamps what overflows, takes an empty value (or an xattr without a
 * name) for no record; GNU tar refuses most of these, Go refuses them,
 * Python reads some as 0 and "1e+16" as a float. */
/* The decimal digits of val from *i on into *v (*i past them): -1 when
 * the number is over INT64_MAX. */
static int
decimal_digits(const unsigned char *val, size_t vlen, size_t *i, uint64_t *v)
{
	for (*v = 0; *i < vlen && val[*i] >= '0' && val[*i] <= '9'; (*i)++) {
		unsigned d = (unsigned)(val[*i] - '0');
		if (*v > ((uint64_t)INT64_MAX - d) / 10)
			return -1;
		*v = *v * 10 + d;
	}
	return 0;
}

static const char *
record_bad(const unsigned char *key, size_t klen, const unsigned char *val, size_t vlen)
{
	int time = key_is(key, klen, "mtime");
	size_t i, d0;
	uint64_t v;

	if (time || key_is(key, klen, "uid") || key_is(key, klen, "gid") ||
	    key_is(key, klen, "size") || key_is(key, klen, "SCHILY.devmajor") ||
	    key_is(key, klen, "SCHILY.devminor")) {
		i = d0 = time && vlen > 0 && val[0] == '-';
		if (decimal_digits(val, vlen, &i, &v) < 0)
			return "out of range";
		if (vlen == 0)
			return "empty";
		if (i > d0 && time && i < vlen && val[i] == '.')
			for (i++; i < vlen && val[i] >= '0' && val[i] <= '9'; i++)
				;
		return i == d0 || i != vlen ? "not a decimal number" : NULL;
	}
	if ((key_is(key, klen, "path") || key_is(key, klen, "linkpath")) && vlen == 0)
		return "empty";
	if (key_is(key, klen, "SCHILY.xattr.") || key_is(key, klen, "LIBARCHIVE.xattr."))
		return "an xattr without a name";
	return NULL;
}

/* The records of one pax header body ('x' or 'g') into *ri: -1 out of memory. */
static int
raw_records(struct raw_info *ri, char type, const unsigned char *p, size_t len)
{
	const unsigned char *key, *val;
	size_t klen, vlen, pos = 0;

	while (pax_record(p, len, &pos, &key, &klen, &val, &vlen)) {
		const char *why;

		if (type != 'g' && ri->bad[0] == 0 &&
		    (why = record_bad(key, klen, val, vlen)) != NULL) {
			char v[41], s1[41];
			snprintf(v, sizeof(v), "%.*s", (int)(vlen < 40 ? vlen : 40),
				 (const char *)val);
			snprintf(ri->bad, sizeof(ri->bad), "its pax record '%.*s=%s' is %s",
				 (int)(klen < 40 ? klen : 40), (const char *)key,
				 ocis__safe_name(v, s1, sizeof(s1)), why);
		}
		if (type == 'g') {
			/* Records that change no entry are what git archive
			 * (comment) and the tar programs put there. */
			if (vlen > 0 && !key_is(key, klen, "comment") &&
			    !key_is(key, klen, "atime") && !key_is(key, klen, "ctime") &&
			    !key_is(key, klen, "charset") && !key_is(key, klen, "hdrcharset") &&
			    ri->global_key[0] == 0)
				snprintf(ri->global_key, sizeof(ri->global_key), "%.*s",
					 (int)(klen < 48 ? klen : 48), (const char *)key);
		} else if (key_is(key, klen, "mtime")) {
			ri->mtime_neg = vlen > 0 && val[0] == '-';
		} else if (key_is(key, klen, "SCHILY.devmajor") ||
			   key_is(key, klen, "SCHILY.devminor")) {
			/* record_bad refused what is not a decimal in range */
			unsigned i = key_is(key, klen, "SCHILY.devminor");
			size_t k = 0;

			ri->dev_have[i] = 1;
			(void)decimal_digits(val, vlen, &k, &ri->dev[i]);
		} else if (key_is(key, klen, "linkpath")) {
			ri->has_linkpath = 1;
			free(ri->linkpath);
			if ((ri->linkpath = raw_value(val, vlen)) == NULL)
				return -1;
			ri->linkpath_ascii = is_ascii(val, vlen);
		} else {
			ri->has_path |= key_is(key, klen, "path");
			for (unsigned i = 0; i < 3; i++) {
				if (!key_is(key, klen, raw_name_keys[i]))
					continue;
				free(ri->names[i]);
				ri->names[i] = NULL;
				if (!is_ascii(val, vlen) &&
				    (ri->names[i] = raw_value(val, vlen)) == NULL)
					return -1;
			}
		}
	}
	return 0;
}

/* off is before the window: when every byte from off to the window's
 * start was zero (the blocks between concatenated archives, which a big
 * blocking factor makes megabytes long), move off to the first block
 * boundary in the window.  1 when moved. */
static int
skip_lost_zeros(const struct ocis_tarin *t, uint64_t *off)
{
	unsigned char b[OCIS_BLOCK];
	unsigned i, o = NWIN;
	uint64_t to;
	size_t k;

	for (i = 0; i < NWIN; i++)
		if (t->win_len[i] && (o == NWIN || t->win_off[i] < t->win_off[o]))
			o = i;
	if (o == NWIN || *off >= t->win_off[o] || t->win_nz[o] > *off)
		return 0;
	to = t->win_off[o] + ocis__pad512(t->win_off[o]);
	k = (size_t)(to - t->win_off[o]);
	if (k > 0 && (window_get(t, t->win_off[o], b, k) < 0 || b[0] != 0 ||
		      memcmp(b, b + 1, k - 1) != 0))
		return 0;
	*off = to;
	return 1;
}

/*
 * A GNU header (magic "ustar  ") has no name prefix: GNU tar and
 * libarchive read access and change times where ustar has one.  Go before
 * 1.8 wrote a prefix there all the same, and Go today reads such a header
 * as it was meant (atime or ctime not a number, the field ASCII: the
 * prefix), as Python always does: "pre/name" to them, "name" to
 * libarchive.  1 for such a header that no long name or pax path renames.
 */
static int
gnu_header_prefix(const unsigned char *h)
{
	const unsigned char *p = h + TH_PREFIX;
	int64_t v;
	size_t n;

	if (memcmp(h + TH_MAGIC, "ustar  ", 8) != 0 ||
	    (ocis__tar_num_strict(p, 12, &v) == 0 && ocis__tar_num_strict(p + 12, 12, &v) == 0))
		return 0;
	n = strnlen((const char *)p, 155);
	return n > 0 && is_ascii(p, n);
}

/* A device's SCHILY.devmajor / devminor records against its header's
 * fields: libarchive takes the records, GNU tar ("unknown extended header
 * keyword"), Go and Python the fields.  Different numbers are a different
 * device for each of them. */
static void
dev_record_check(struct raw_info *ri, const unsigned char *h)
{
	static const char *const name[2] = { "devmajor", "devminor" };
	const size_t at[2] = { TH_DEVMAJOR, TH_DEVMINOR };
	unsigned i;

	for (i = 0; i < 2; i++) {
		int64_t field;

		if (!ri->dev_have[i])
			continue;
		/* ocis__tar_fields_bad passed the fields */
		if (ocis__tar_num_strict(h + at[i], 8, &field) < 0 || field < 0 ||
		    (uint64_t)field != ri->dev[i]) {
			snprintf(ri->bad, sizeof(ri->bad), "its pax record 'SCHILY.%s=%" PRIu64
				 "' differs from its header's %s field (libarchive reads the "
				 "record; GNU tar, Go and Python the field)", name[i], ri->dev[i],
				 name[i]);
			return;
		}
	}
}

/* What the entry's own header h says that tar readers read differently,
 * into ri->bad (the first thing found); gnu_name, gnu_link: a GNU long
 * name or link header came before it. */
static void
own_header_checks(struct raw_info *ri, const unsigned char *h, int gnu_name, int gnu_link)
{
	const char *field = ocis__tar_fields_bad(h);
	char pre[41], s1[41];

	if (ri->bad[0])
		return;
	if (field != NULL) {
		snprintf(ri->bad, sizeof(ri->bad), "its header's %s field is malformed or out "
			 "of range", field);
	} else if (!gnu_name && !ri->has_path && gnu_header_prefix(h)) {
		snprintf(pre, sizeof(pre), "%.40s", (const char *)h + TH_PREFIX);
		snprintf(ri->bad, sizeof(ri->bad), "its GNU header holds a name prefix '%s' (as "
			 "Go before 1.8 wrote it) that GNU tar and libarchive leave out and Go "
			 "and Python read", ocis__safe_name(pre, s1, sizeof(s1)));
	} else if ((gnu_name && ri->has_path) || (gnu_link && ri->has_linkpath)) {
		/* GNU tar and libarchive take the pax record, Go (in either
		 * order) and Python (after it) the long name */
		snprintf(ri->bad, sizeof(ri->bad), "it has both a GNU long %s header and a pax "
			 "%s record", gnu_name && ri->has_path ? "name" : "link",
			 gnu_name && ri->has_path ? "path" : "linkpath");
	} else if (h[TH_TYPE] == '3' || h[TH_TYPE] == '4') {
		dev_record_check(ri, h);
	}
}

/* What raw_headers() found. */
enum raw_result {
	RAW_NOT_OURS = 0,	/* libarchive decompressed the input: no raw bytes */
	RAW_READ = 1,		/* *ri filled in */
	RAW_LOST = 2,		/* the headers are ours but could not all be read */
};

/*
 * Read the current entry's header blocks again from the window.  They
 * start at archive_read_header_position(): zero blocks (between
 * concatenated archives), extension headers (pax 'x' and 'g', GNU 'L',
 * 'K', ...), then the entry's own header.  When the input is ours, every
 * one of them is read, whatever their length: a run that the window no
 * longer holds (more than 2 MiB of GNU long names before the entry, say)
 * is RAW_LOST, which the caller refuses, so that no pax global header
 * can hide before the window.  -1 out of memory.
 */
static int
raw_headers(struct ocis_tarin *t, struct raw_info *ri)
{
	unsigned char h[OCIS_BLOCK], *body = NULL;
	uint64_t off = (uint64_t)archive_read_header_position(t->a), size;
	int64_t sv;
	int guard, r = RAW_LOST, gnu_name = 0, gnu_link = 0;

	memset(ri, 0, sizeof(*ri));
	ri->mtime_neg = -1;
	if (archive_filter_code(t->a, 0) != ARCHIVE_FILTER_NONE)
		return RAW_NOT_OURS;	/* libarchive decompressed it: not our bytes */
	/* zero blocks are not counted; libarchive allows fewer extension
	 * headers than the guard ("Too many special headers") */
	for (guard = 0; guard < 64;) {
		if (window_get(t, off, h, OCIS_BLOCK) < 0) {
			if (skip_lost_zeros(t, &off))
				continue;
			break;
		}
		off += OCIS_BLOCK;
		if (ocis__block_is_zero(h))
			continue;
		guard++;
		if (!ocis__tar_checksum_lax(h))
			break;
		if (strchr("xXgLKVA", h[TH_TYPE]) == NULL || h[TH_TYPE] == 0) {
			/* the entry's own header: the records seen are its own */
			own_header_checks(ri, h, gnu_name, gnu_link);
			ri->type = (char)h[TH_TYPE];
			ri->data_at = off;
			if (ocis__tar_num_lax(h + TH_SIZE, 12, &size) == 0)
				ri->data_end = off + ocis__tar_span(size);
			r = RAW_READ;
			break;
		}
		if (ocis__tar_num_lax(h + TH_SIZE, 12, &size) < 0 || size > NWIN * BUF_SIZE)
			break;
		if (ocis__tar_num_strict(h + TH_SIZE, 12, &sv) < 0 && ri->bad[0] == 0)
			snprintf(ri->bad, sizeof(ri->bad), "the size field of its '%c' header is "
				 "malformed", h[TH_TYPE]);
		gnu_name |= h[TH_TYPE] == 'L';
		gnu_link |= h[TH_TYPE] == 'K';
		if (h[TH_TYPE] == 'x' || h[TH_TYPE] == 'X' || h[TH_TYPE] == 'g') {
			free(body);
			body = malloc(size ? size : 1);
			if (body == NULL) {
				r = -1;
				break;
			}
			if (window_get(t, off, body, size) < 0)
				break;
			if (raw_records(ri, h[TH_TYPE] == 'g' ? 'g' : 'x', body, size) < 0) {
				r = -1;
				break;
			}
		}
		off += ocis__tar_span(size);
	}
	free(body);
	if (r != RAW_READ)
		raw_free(ri);
	return r;
}

/*
 * The names of the entry as its pax records spell them.  libarchive 3.6
 * turns every UTF-8 pax path, linkpath, uname and gname into Unicode's
 * composed form (NFC) on all systems but macOS, so "cafe" + U+0301 would
 * come out as "caf" U+00E9, a different name (and two names could become
 * one); an ASCII name cannot change, so only the others are put back.  A value
 * with a NUL byte ends there, as GNU tar reads it (libarchive would stop
 * there too, and normalise what is left).
 */
static void
raw_names(const struct raw_info *ri, struct archive_entry *ae)
{
	const char *lp = (const char *)ri->linkpath, *n[3];
	unsigned i;

	for (i = 0; i < 3; i++)
		n[i] = ri->names[i] && ri->names[i][0] ? (const char *)ri->names[i] : NULL;
	if (n[0] != NULL)
		archive_entry_copy_pathname(ae, n[0]);
	if (n[1] != NULL)
		archive_entry_copy_uname(ae, n[1]);
	if (n[2] != NULL)
		archive_entry_copy_gname(ae, n[2]);
	if (lp == NULL || lp[0] == 0)
		return;
	/* libarchive 3.6 also drops a pax linkpath when the header's own
	 * linkname field is empty (as Go writes it for a target without
	 * ASCII characters), for the first link of the archive: the symlink
	 * has no target, the hardlink is no hardlink */
	if (ri->type == '2' && archive_entry_filetype(ae) == AE_IFLNK &&
	    (archive_entry_symlink(ae) == NULL || !ri->linkpath_ascii))
		archive_entry_copy_symlink(ae, lp);
	else if (ri->type == '1' && archive_entry_symlink(ae) == NULL &&
		 (archive_entry_hardlink(ae) == NULL || !ri->linkpath_ascii))
		archive_entry_copy_hardlink(ae, lp);
}

/*
 * A hardlink header whose size field is not 0: in a pax archive
 * libarchive takes the bytes after it for the link's data (`pax -o
 * linkdata`), while GNU tar, Go and Python read the next header there
 * (POSIX.1-1988 had no data for links).  When those bytes are a tar
 * header, the readers see different entries: libarchive swallowed
 * whole entries as "data" where the others extract them.  Refused.
 * The caller never reads a hardlink's data (the target's is the file's),
 * so its first block may be read here when the window does not hold it
 * yet; the rest is skipped as usual.  A size under a block can end
 * libarchive's data before the window holds the whole block (the block
 * ends past the last read); then the block is checked at the next header
 * (link_data_pending), which libarchive reads from after it.  0, or -1
 * with *err.
 */
static int
link_block_error(struct ocis_tarin *t, const char *name, int64_t size, ocis_error_t **err)
{
	return ocis_error_set(err, 0, "%s: entry '%s': a hardlink whose size field says %" PRId64
			      " bytes, and a tar header where that data would start: pax "
			      "readers take the entries after it for the link's data, GNU tar, "
			      "Go and Python extract them", t->o.what, name, size);
}

static int
is_header_block(const unsigned char *b)
{
	return !ocis__block_is_zero(b) && ocis__tar_checksum_lax(b);
}

static int
link_data_check(struct ocis_tarin *t, struct archive_entry *ae, uint64_t at,
		ocis_error_t **err)
{
	unsigned char b[OCIS_BLOCK];
	const void *buf;
	size_t len;
	la_int64_t o;

	if (archive_entry_hardlink(ae) == NULL || archive_entry_size(ae) <= 0)
		return 0;
	while (window_get(t, at, b, OCIS_BLOCK) < 0) {
		if (archive_read_data_block(t->a, &buf, &len, &o) != ARCHIVE_OK) {
			t->link_pending = 1;
			t->link_at = at;
			t->link_size = (int64_t)archive_entry_size(ae);
			memcpy(t->link_name, t->name, sizeof(t->link_name));
			return 0;
		}
	}
	return is_header_block(b) ? link_block_error(t, t->name, archive_entry_size(ae), err) : 0;
}

/* The check link_data_check left for the next header: by then the window
 * holds the block (it lies before that header).  0, or -1 with *err. */
static int
link_data_pending(struct ocis_tarin *t, ocis_error_t **err)
{
	unsigned char b[OCIS_BLOCK];

	if (!t->link_pending)
		return 0;
	t->link_pending = 0;
	if (window_get(t, t->link_at, b, OCIS_BLOCK) < 0 || !is_header_block(b))
		return 0;
	return link_block_error(t, t->link_name, t->link_size, err);
}

/*
 * libarchive's slips, corrected from the raw headers (ri, when have_ri):
 * - the pax mtime record "-1.75" read as -1 s + 0.75 s, and "-0.25" as
 *   +0.25 s (it negates the whole seconds only, and -0 is 0);
 * - pax path and linkpath records changed or dropped (raw_names);
 * A pax global header that would change the entries after it (libarchive
 * ignores them; GNU tar and Python apply them) is refused.
 */
static int
fix_entry(struct ocis_tarin *t, struct archive_entry *ae, ocis_error_t **err)
{
	struct raw_info ri;
	time_t s = archive_entry_mtime(ae);
	long ns = archive_entry_mtime_nsec(ae);
	int have_ri = raw_headers(t, &ri), ret = -1;

	if (have_ri < 0)
		return ocis_error_oom(err);
	if (have_ri != RAW_NOT_OURS && ri.global_key[0]) {
		ocis_error_set(err, 0, "%s: entry '%s': a pax global header before it sets "
			       "'%s' for all later entries, which is not supported (only "
			       "'comment' is)", t->o.what, t->name, ri.global_key);
		goto out;
	}
	if (have_ri == RAW_READ && link_data_check(t, ae, ri.data_at, err) < 0)
		goto out;
	if (have_ri == RAW_READ && ri.bad[0]) {
		ocis_error_set(err, 0, "%s: entry '%s': %s, which tar readers read differently "
			       "or refuse", t->o.what, t->name, ri.bad);
		goto out;
	}
	if (have_ri == RAW_LOST) {
		ocis_error_set(err, 0, "%s: entry '%s': its headers from tar byte %" PRId64 " on "
			       "are too long to check (over 2 MiB of pax or GNU long-name "
			       "headers, or of sparse map): a pax global header could hide "
			       "among them", t->o.what, t->name,
			       (int64_t)archive_read_header_position(t->a));
		goto out;
	}
	if (have_ri == RAW_READ)
		raw_names(&ri, ae);
	t->entry_end = have_ri == RAW_READ ? ri.data_end : 0;
	if (archive_entry_mtime_is_set(ae)) {
		if (ns < 0 || ns > 999999999)
			ns = 0;
		if (s < 0 && ns > 0) {
			/* "-1.75" read as -1 + 0.75 */
			archive_entry_set_mtime(ae, s - 1, 1000000000L - ns);
		} else if (s == 0 && ns > 0) {
			if (have_ri != RAW_READ) {
				ocis_error_set(err, 0, "%s: entry '%s': its pax mtime (between -1 "
					       "and 1 s) cannot be read back to tell its sign; "
					       "give the tar uncompressed or gzip-compressed",
					       t->o.what, t->name);
				goto out;
			}
			if (ri.mtime_neg == 1)
				archive_entry_set_mtime(ae, -1, 1000000000L - ns);
		} else {
			archive_entry_set_mtime(ae, s, ns);
		}
	}
	ret = 0;
out:
	if (have_ri > 0)
		raw_free(&ri);
	return ret;
}

/* --- entries ---------------------------------------------------------------- */

static int
is_charset_warning(const char *m)
{
	return m != NULL && (strstr(m, "can't be converted") != NULL ||
			     strstr(m, "Can't translate") != NULL);
}

static int
empty_input(const struct ocis_tarin *t, ocis_error_t **err)
{
	return ocis_error_set(err, 0, "%s: empty input (expected a rootfs tar)", t->o.what);
}

static int
tarin_open(struct ocis_tarin **out, ocis_tarin_read_fn read_fn, void *read_ctx, int fd,
	   const struct ocis_tarin_opts *o, ocis_error_t **err)
{
	struct ocis_tarin *t = calloc(1, sizeof(*t));
	unsigned i;

	*out = NULL;
	if (t == NULL)
		return ocis_error_oom(err);
	*out = t;
	t->o = *o;
	t->fd = fd;
	t->cur = NWIN - 1;
	if (ocis_decompress_new(&t->dec, read_fn ? read_fn : fd_read,
				read_fn ? read_ctx : &t->fd, err) < 0)
		return -1;
	/* every byte of the tar is read into the window: one mapping in huge
	 * pages (ocis__big_alloc), no page fault per 4 KiB */
	if ((t->win_mem = ocis__big_alloc(NWIN * BUF_SIZE, err)) == NULL)
		return -1;
	for (i = 0; i < NWIN; i++)
		t->win[i] = t->win_mem + i * BUF_SIZE;
	t->a = archive_read_new();
	if (t->a == NULL)
		return ocis_error_oom(err);
	archive_read_support_filter_all(t->a);
	archive_read_support_format_tar(t->a);
	archive_read_support_format_gnutar(t->a);
	if (archive_read_set_format_option(t->a, "tar", "read_concatenated_archives", "1") !=
	    ARCHIVE_OK)
		return ocis_error_set(err, 0, "%s: cannot configure libarchive: %s", o->what,
				      archive_error_string(t->a));
	/* libarchive reads the first bytes here, to tell the compression */
	if (archive_read_open(t->a, t, NULL, input_read, NULL) != ARCHIVE_OK) {
		if (t->handed == 0 && t->ended)
			return t->o.layer_blob ? 0 : empty_input(t, err);
		return ocis_error_set(err, 0, "%s: %s%s", o->what,
				      archive_error_string(t->a) ?
				      archive_error_string(t->a) : "cannot read it",
				      t->input_failed ? "" : " (is it a tar archive?)");
	}
	return 0;
}

static int
opened(struct ocis_tarin **out, int r)
{
	if (r < 0) {
		ocis_tarin_free(*out);
		*out = NULL;
	}
	return r;
}

int
ocis_tarin_open(struct ocis_tarin **out, ocis_tarin_read_fn read_fn, void *read_ctx,
		const struct ocis_tarin_opts *o, ocis_error_t **err)
{
	return opened(out, tarin_open(out, read_fn, read_ctx, -1, o, err));
}

/* A pipe holds 64 KiB by default, so each 1 MiB read took 16 or more
 * reads, and as many wakeups of the writer (tar): `cat input.tar |
 * oci-layer --level 1` made 22 000 voluntary context switches on the
 * benchmark input, 4 000 with a 1 MiB pipe, and 0.3 s less CPU in all.
 * 1 MiB is Linux's default limit for an unprivileged process; where that
 * is lower, or this is no pipe, the pipe stays as it is. */
static void
grow_pipe(int fd)
{
#ifdef F_SETPIPE_SZ
	struct stat st;

	if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode))
		(void)fcntl(fd, F_SETPIPE_SZ, BUF_SIZE);
#else
	(void)fd;
#endif
}

int
ocis_tarin_open_fd(struct ocis_tarin **out, int fd, const struct ocis_tarin_opts *o,
		   ocis_error_t **err)
{
	grow_pipe(fd);
	return opened(out, tarin_open(out, NULL, NULL, fd, o, err));
}

/* The first entry of an image stream is one of our reserved files. */
static int
is_image_stream(struct archive_entry *ae)
{
	const char *n = archive_entry_pathname(ae);

	return n != NULL && archive_entry_filetype(ae) == AE_IFREG &&
	       strncmp(n, OCIS_STREAM_DIR, strlen(OCIS_STREAM_DIR)) == 0 &&
	       strchr(n + strlen(OCIS_STREAM_DIR), '/') == NULL;
}

/* Did an end-of-archive marker (two zero blocks) follow the last entry?
 * Then what libarchive could not read comes after it. */
static int
after_end_marker(const struct ocis_tarin *t)
{
	unsigned char b[2 * OCIS_BLOCK];

	return t->entry_end > 0 && window_get(t, t->entry_end, b, sizeof(b)) == 0 &&
	       ocis__block_is_zero(b) && ocis__block_is_zero(b + OCIS_BLOCK);
}

/* After the end of the archive: the rest of the input, for the tap. */
static int
drain(struct ocis_tarin *t, ocis_error_t **err)
{
	const void *buf;
	la_ssize_t n;

	while (t->o.tap && !t->ended) {
		if ((n = input_read(t->a, t, &buf)) < 0) {
			const char *m = archive_error_string(t->a);
			return ocis_error_set(err, 0, "%s: after the end of the archive: %s",
					      t->o.what, m ? m : "read error");
		}
	}
	return 0;
}

int
ocis_tarin_next(struct ocis_tarin *t, struct archive_entry **ae, ocis_error_t **err)
{
	const char *m;
	int r;

	if (t->o.layer_blob && t->handed == 0 && t->ended)
		return 0;	/* an empty blob: an empty layer */
	r = archive_read_next_header(t->a, &t->ae);
	m = archive_error_string(t->a);
	if (link_data_pending(t, err) < 0)
		return -1;
	if (r == ARCHIVE_EOF) {
		if (t->handed == 0)
			return t->o.layer_blob ? 0 : empty_input(t, err);
		/* libarchive takes a tar cut exactly between two entries for
		 * a normal end; a real archive ends with zero blocks after its
		 * last entry, so insist on seeing at least one. */
		if (!t->o.layer_blob && archive_filter_bytes(t->a, 0) <
		    archive_read_header_position(t->a) + OCIS_BLOCK)
			return ocis_error_set(err, 0, "%s: archive ends after %" PRIu64 " entries "
					      "without an end-of-archive marker (truncated input?)",
					      t->o.what, t->entries);
		/* Nothing but the members of an image: the layer would be an
		 * image in a layer.  Known only at the end, so the output
		 * already written fails with this error. */
		if (!t->o.layer_blob && ocis__image_sniff_kind(&t->sniff) == OCIS__IMAGE_OCI_LAYOUT)
			return ocis_error_set(err, 0, "%s: the input is an OCI image tarball, not "
					      "a rootfs tar (oci-flatten writes its rootfs)",
					      t->o.what);
		if (!t->o.layer_blob &&
		    ocis__image_sniff_kind(&t->sniff) == OCIS__IMAGE_DOCKER_ARCHIVE)
			return ocis_error_set(err, 0, "%s: the input is a docker-archive image "
					      "(docker save), not a rootfs tar (skopeo copy "
					      "docker-archive:FILE oci-archive:OUT converts it)",
					      t->o.what);
		return drain(t, err);
	}
	if (r == ARCHIVE_WARN && is_charset_warning(m)) {
		/* libarchive keeps the name bytes as they are when it cannot
		 * convert them: bytes in, same bytes out is what we want */
		r = ARCHIVE_OK;
	}
	if (r == ARCHIVE_WARN) {
		char s1[256];
		const char *n = ocis__safe_name(archive_entry_pathname(t->ae) ?
					    archive_entry_pathname(t->ae) : "", s1, sizeof(s1));
		/* libarchive dropped or guessed something (a malformed pax
		 * record, a damaged header): the tree would not be the input */
		if (!t->o.layer_blob)
			return ocis_error_set(err, 0, "%s: entry '%s': %s", t->o.what, n,
					      m ? m : "damaged header");
		ocis__warnf(t->o.warn, t->o.cb_ctx, "%s: entry '%s': %s", t->o.what, n,
			    m ? m : "damaged header");
		r = ARCHIVE_OK;
	}
	if (r != ARCHIVE_OK) {
		if (t->handed == 0 && t->ended && !t->o.layer_blob)
			return empty_input(t, err);
		if (t->entries && !t->input_failed && after_end_marker(t))
			return ocis_error_set(err, 0, "%s: after the end-of-archive marker at tar "
					      "byte %" PRIu64 ": data that is not a tar archive (%s); "
					      "archives in a row are read whole, so only another "
					      "archive or zeros may follow", t->o.what, t->entry_end,
					      m ? m : "read error");
		if (t->entries)
			return ocis_error_set(err, 0, "%s: %s (after entry '%s', tar byte %" PRId64
					      ")", t->o.what, m ? m : "read error", t->name,
					      (int64_t)archive_filter_bytes(t->a, 0));
		return ocis_error_set(err, 0, "%s: %s%s", t->o.what, m ? m : "read error",
				      t->input_failed ? "" : " (is it a tar archive?)");
	}
	if (t->entries == 0 && !t->o.layer_blob && is_image_stream(t->ae))
		return ocis_error_set(err, 0, "%s: the input is an image stream, not a rootfs "
				      "tar (oci-layer already ran on it)", t->o.what);
	ocis__safe_name(archive_entry_pathname(t->ae) ? archive_entry_pathname(t->ae) : "",
		    t->name, sizeof(t->name));
	ocis__image_sniff_name(&t->sniff, archive_entry_pathname(t->ae) ?
			       archive_entry_pathname(t->ae) : "");
	if (fix_entry(t, t->ae, err) < 0)
		return -1;
	t->entries++;
	t->size = archive_entry_size(t->ae) > 0 ? (uint64_t)archive_entry_size(t->ae) : 0;
	t->data_at = 0;
	*ae = t->ae;
	return 1;
}

int
ocis_tarin_data(struct ocis_tarin *t, const void **buf, size_t *len, uint64_t *off,
		ocis_error_t **err)
{
	la_int64_t o;
	int r = archive_read_data_block(t->a, buf, len, &o);

	if (r == ARCHIVE_EOF)
		return 0;
	if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
		return ocis_error_set(err, 0, "%s: entry '%s': %s", t->o.what, t->name,
				      archive_error_string(t->a) ? archive_error_string(t->a)
								 : "read error");
	if (o < 0 || (uint64_t)o < t->data_at || (uint64_t)o + *len > t->size)
		return ocis_error_set(err, 0, "%s: entry '%s': data outside the file's size",
				      t->o.what, t->name);
	t->data_at = (uint64_t)o + *len;
	*off = (uint64_t)o;
	return 1;
}

int
ocis_tarin_copy_data(struct ocis_tarin *t, uint64_t size, const struct ocis_tarin_sink *s,
		     ocis_error_t **err)
{
	uint64_t at = 0, off;
	const void *buf;
	size_t len;
	int r;

	/* ocis_tarin_data gives blocks in order, within the size */
	while ((r = ocis_tarin_data(t, &buf, &len, &off, err)) > 0) {
		if (off > at && s->zeros(s->ctx, off - at, err) < 0)
			return -1;
		if (s->data(s->ctx, buf, len, err) < 0)
			return -1;
		at = off + len;
	}
	if (r < 0)
		return -1;
	return size > at ? s->zeros(s->ctx, size - at, err) : 0;
}

const char *
ocis_tarin_name(const struct ocis_tarin *t)
{
	return t->name;
}

uint64_t
ocis_tarin_input_bytes(const struct ocis_tarin *t)
{
	return ocis_decompress_input_bytes(t->dec);
}

void
ocis_tarin_free(struct ocis_tarin *t)
{
	if (t == NULL)
		return;
	if (t->a)
		archive_read_free(t->a);
	ocis_decompress_free(t->dec);
	ocis__big_free(t->win_mem, NWIN * BUF_SIZE);
	free(t);
}
