/* SPDX-License-Identifier: MIT */
/*
 * Tar entries as layer entries: see ocistream/tarentry.h.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include <ocistream/tarentry.h>

#include "internal.h"

/* --- POSIX.1e ACLs as the kernel's xattrs ----------------------------------- */

/*
 * Layers have no pax records for ACLs: containerd's own layers carry them
 * as the xattrs the kernel stores them in, and unpackers set them back
 * with setxattr.  The value is the kernel's binary format
 * (include/uapi/linux/posix_acl_xattr.h): a little-endian u32 version 2,
 * then { u16 tag, u16 perm, u32 id } per entry, sorted by tag then id.
 */
#define ACL_XATTR_ACCESS "system.posix_acl_access"
#define ACL_XATTR_DEFAULT "system.posix_acl_default"
#define KACL_VERSION 2
#define KACL_UNDEFINED_ID 0xffffffffu

enum { K_USER_OBJ = 0x01, K_USER = 0x02, K_GROUP_OBJ = 0x04, K_GROUP = 0x08,
       K_MASK = 0x10, K_OTHER = 0x20 };

struct kacl {
	unsigned tag, perm;
	uint32_t id;
};

static int
kacl_cmp(const void *a, const void *b)
{
	const struct kacl *x = a, *y = b;

	if (x->tag != y->tag)
		return x->tag < y->tag ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* libarchive's permission bits are its own constants: map them. */
static unsigned
kacl_perm(int perm)
{
	return ((perm & ARCHIVE_ENTRY_ACL_READ) ? 4u : 0u) |
	       ((perm & ARCHIVE_ENTRY_ACL_WRITE) ? 2u : 0u) |
	       ((perm & ARCHIVE_ENTRY_ACL_EXECUTE) ? 1u : 0u);
}

static void
put_le(unsigned char *p, uint32_t v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/*
 * The ACL of one type (access or default) of an entry as the kernel's
 * xattr value: 1 with *val (malloc'ed) and *len; 0 when there is nothing
 * to write (no ACL; an access ACL of user::, group:: and other:: only is
 * the mode), or when it cannot be written, with why (after "its ") set;
 * -1 out of memory.  libarchive gives the three base entries of an access
 * ACL from the mode (which its ACL text overwrote).  The kernel refuses an
 * ACL without these three, named entries without a mask, or a default ACL
 * on anything but a directory: such an ACL is not written either.
 */
static int
acl_encode(struct archive_entry *ae, int type, unsigned char **val, size_t *len,
	   char *why, size_t whylen)
{
	const char *what = type == ARCHIVE_ENTRY_ACL_TYPE_ACCESS ? "ACL" : "default ACL";
	int n = archive_entry_acl_reset(ae, type), t, perm, tag, qual, i = 0;
	unsigned seen = 0;
	const char *name;
	struct kacl *k;
	char s1[128];

	*val = NULL;
	why[0] = 0;
	if (n <= 0 || (type == ARCHIVE_ENTRY_ACL_TYPE_ACCESS && n <= 3))
		return 0;
	if ((k = calloc((size_t)n, sizeof(*k))) == NULL)
		return -1;
	while (i < n && archive_entry_acl_next(ae, type, &t, &perm, &tag, &qual, &name) ==
	       ARCHIVE_OK) {
		switch (tag) {
		case ARCHIVE_ENTRY_ACL_USER_OBJ: k[i].tag = K_USER_OBJ; break;
		case ARCHIVE_ENTRY_ACL_USER: k[i].tag = K_USER; break;
		case ARCHIVE_ENTRY_ACL_GROUP_OBJ: k[i].tag = K_GROUP_OBJ; break;
		case ARCHIVE_ENTRY_ACL_GROUP: k[i].tag = K_GROUP; break;
		case ARCHIVE_ENTRY_ACL_MASK: k[i].tag = K_MASK; break;
		case ARCHIVE_ENTRY_ACL_OTHER: k[i].tag = K_OTHER; break;
		default:
			snprintf(why, whylen, "%s has an entry of unknown tag %d", what, tag);
			goto out;
		}
		k[i].perm = kacl_perm(perm);
		k[i].id = KACL_UNDEFINED_ID;
		if (k[i].tag == K_USER || k[i].tag == K_GROUP) {
			/* the id is what the kernel stores; a name alone
			 * would have to be looked up on some host */
			if (qual < 0) {
				snprintf(why, whylen, "%s names %s '%s' without a %s", what,
					 k[i].tag == K_USER ? "user" : "group",
					 ocis__safe_name(name ? name : "", s1, sizeof(s1)),
					 k[i].tag == K_USER ? "uid" : "gid");
				goto out;
			}
			k[i].id = (uint32_t)qual;
		}
		seen |= k[i].tag;
		i++;
	}
	if ((seen & (K_USER_OBJ | K_GROUP_OBJ | K_OTHER)) != (K_USER_OBJ | K_GROUP_OBJ | K_OTHER))
		snprintf(why, whylen, "%s lacks one of user::, group::, other::", what);
	else if ((seen & (K_USER | K_GROUP)) && !(seen & K_MASK))
		snprintf(why, whylen, "%s has named entries but no mask::", what);
	else if (type == ARCHIVE_ENTRY_ACL_TYPE_DEFAULT && archive_entry_filetype(ae) != AE_IFDIR)
		snprintf(why, whylen, "%s is on a non-directory", what);
	if (why[0])
		goto out;
	qsort(k, (size_t)i, sizeof(*k), kacl_cmp);
	*len = 4 + 8 * (size_t)i;
	if ((*val = malloc(*len)) == NULL) {
		free(k);
		return -1;
	}
	put_le(*val, KACL_VERSION, 4);
	for (n = 0; n < i; n++) {
		put_le(*val + 4 + 8 * n, k[n].tag, 2);
		put_le(*val + 4 + 8 * n + 2, k[n].perm, 2);
		put_le(*val + 4 + 8 * n + 4, k[n].id, 4);
	}
	free(k);
	return 1;
out:
	free(k);
	return 0;
}

/*
 * Add the entry's ACLs to its xattrs (so they live as long as the entry
 * and pass the same sorting as the others).  A tar may carry the same ACL
 * twice, as text and as the xattr (GNU tar with --xattrs-include='*'): the
 * xattr is kept when equal, and differing ones are an error.  Calling this
 * again on the same entry finds its own xattrs there and adds nothing.
 */
static int
acl_to_xattrs(struct archive_entry *ae, ocis_error_t **err)
{
	static const int types[2] = { ARCHIVE_ENTRY_ACL_TYPE_ACCESS,
				      ARCHIVE_ENTRY_ACL_TYPE_DEFAULT };
	static const char *const names[2] = { ACL_XATTR_ACCESS, ACL_XATTR_DEFAULT };
	unsigned i;
	char why[256];

	for (i = 0; i < 2; i++) {
		unsigned char *v;
		const char *xn;
		const void *xv;
		size_t len, xs;
		int r = acl_encode(ae, types[i], &v, &len, why, sizeof(why)), have = 0;

		if (r < 0)
			return ocis_error_oom(err);
		if (r == 0)
			continue;	/* nothing, or ocis_tarentry_unstorable() says why */
		if (archive_entry_xattr_reset(ae) > 0)
			while (archive_entry_xattr_next(ae, &xn, &xv, &xs) == ARCHIVE_OK) {
				if (strcmp(xn, names[i]) != 0)
					continue;
				if (xs != len || memcmp(xv, v, len) != 0) {
					free(v);
					return ocis_error_set(err, 0, "its %s and its xattr %s differ",
							      i ? "default ACL" : "ACL", names[i]);
				}
				have = 1;
			}
		if (!have)
			archive_entry_xattr_add_entry(ae, names[i], v, len);
		free(v);
	}
	return 0;
}

/* The mask of the entry's access ACL (kernel permission bits), or -1. */
static int
acl_mask(struct archive_entry *ae)
{
	int t, perm, tag, qual;
	const char *name;

	if (archive_entry_acl_reset(ae, ARCHIVE_ENTRY_ACL_TYPE_ACCESS) > 0)
		while (archive_entry_acl_next(ae, ARCHIVE_ENTRY_ACL_TYPE_ACCESS, &t, &perm, &tag,
					      &qual, &name) == ARCHIVE_OK)
			if (tag == ARCHIVE_ENTRY_ACL_MASK)
				return (int)kacl_perm(perm);
	return -1;
}

/* --- entries as pax entries ------------------------------------------------- */

/* 0x80 in each byte of w that is c, 0 in the others (exact: no borrow
 * from one byte into the next). */
static inline uint64_t
bytes_eq(uint64_t w, unsigned char c)
{
	const uint64_t lo7 = 0x7f7f7f7f7f7f7f7fULL;
	uint64_t t = w ^ (0x0101010101010101ULL * c);

	return ~(((t & lo7) + lo7) | t | lo7);
}

/* Up to 8 bytes of p as a word, the first in the low byte; 0 beyond k. */
static inline uint64_t
word_at(const char *p, size_t k)
{
	uint64_t w = 0;

	memcpy(&w, p, k);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	return w;
}

/*
 * Is p[0..n) a name that normalising leaves as it is: not empty, no
 * leading or trailing '/', no empty, "." or ".." component, none over
 * OCIS_NAME_MAX bytes?  The names of most tars are.  This asks it 8 bytes
 * a step (where each byte is a '/', where a '.' starts a component) and
 * the lengths with memrchr(); the general loop below takes a byte at a
 * time with a test per component, and names of deep trees are thousands
 * of one-byte components.
 */
static int
name_is_normal(const char *p, size_t n)
{
	const char *end = p + n, *c, *s;
	uint64_t prev = 0x80ULL << 56;	/* a '/' before the name: p[0] starts one */
	size_t i;

	if (n == 0 || p[0] == '/' || end[-1] == '/')
		return 0;
	for (i = 0; i < n; i += 8) {
		uint64_t w = word_at(p + i, n - i < 8 ? n - i : 8);
		uint64_t sl = bytes_eq(w, '/'), starts = (sl << 8) | (prev >> 56);
		uint64_t dots = bytes_eq(w, '.') & starts;

		if (sl & starts)
			return 0;	/* "//" */
		for (; dots; dots &= dots - 1) {
			/* a '.' that starts a component: ".", ".." or a hidden name */
			c = p + i + (size_t)__builtin_ctzll(dots) / 8;
			if (c + 1 == end || c[1] == '/' ||
			    (c[1] == '.' && (c + 2 == end || c[2] == '/')))
				return 0;
		}
		prev = sl;
	}
	/* each component within OCIS_NAME_MAX: every window of that many + 1
	 * bytes from a component's start holds a '/', and the next window
	 * starts after the last one found */
	for (s = p; (size_t)(end - s) > OCIS_NAME_MAX; s = c + 1)
		if ((c = memrchr(s, '/', OCIS_NAME_MAX + 1)) == NULL)
			return 0;
	return 1;
}

int
ocis_tarentry_name_normalise(const char *in, struct ocis_buf *out, ocis_error_t **err)
{
	const char *p = in, *q, *end = in + strlen(in);
	char s1[256], *d;
	size_t len = 0;

	ocis_buf_reset(out);
	if (ocis_buf_grow(out, (size_t)(end - in), err) < 0)
		return -1;
	d = (char *)out->data;
	d[0] = 0;
	/* "./x" from `tar -C dir .`, "x/" for a directory: what is left
	 * between them is most often normal already */
	while (end - p >= 2 && p[0] == '.' && p[1] == '/')
		p += 2;
	q = end - (end > p && end[-1] == '/');
	if (name_is_normal(p, (size_t)(q - p))) {
		len = (size_t)(q - p);
		memcpy(d, p, len);
		d[len] = 0;
		out->len = len;
		goto check_len;
	}
	/* the general case, written in place: one pass */
	p = in;
	while (*p == '/')
		p++;
	/* one pass, copying as it scans: memchr() and memcpy() cost a call
	 * a component, and a 2000-level "d/d/..." has 2000 of one byte.  The
	 * output never outgrows the input: each '/' put is one consumed. */
	while (*p) {
		size_t mark = len;

		if (len)
			d[len++] = '/';
		for (q = p; q < end && *q != '/'; q++)
			d[len++] = *q;
		if (q - p == 2 && p[0] == '.' && p[1] == '.')
			return ocis_error_set(err, 0, "name '%s' has a '..' component",
					      ocis__safe_name(in, s1, sizeof(s1)));
		/* no Linux file system holds a longer one (NAME_MAX) */
		if (q - p > OCIS_NAME_MAX)
			return ocis_error_set(err, 0, "name '%s' has a component of %zu bytes, "
					      "longer than the %u a file name can have",
					      ocis__safe_name(in, s1, sizeof(s1)), (size_t)(q - p),
					      OCIS_NAME_MAX);
		if (q - p == 0 || (q - p == 1 && p[0] == '.'))
			len = mark;
		p = *q ? q + 1 : q;
	}
	d[len] = 0;
	out->len = len;
check_len:
	if (out->len > OCIS_PATH_MAX)
		return ocis_error_set(err, 0, "name '%s' is %zu bytes long, longer than the %u "
				      "a path can have", ocis__safe_name(in, s1, sizeof(s1)), out->len,
				      OCIS_PATH_MAX);
	return 0;
}

static int
xattr_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ocis_xattr *)a)->name, ((const struct ocis_xattr *)b)->name);
}

int
ocis_tarentry_to_pax(struct archive_entry *ae, struct ocis_pax_entry *pe,
		     struct ocis_xattr **xbuf, size_t *xcap, ocis_error_t **err)
{
	size_t nx = 0;
	int k;

	memset(pe, 0, sizeof(*pe));
	if (archive_entry_hardlink(ae) != NULL) {
		pe->type = '1';
	} else {
		switch (archive_entry_filetype(ae)) {
		case AE_IFREG: pe->type = '0'; break;
		case AE_IFDIR: pe->type = '5'; break;
		case AE_IFLNK: pe->type = '2'; break;
		case AE_IFCHR: pe->type = '3'; break;
		case AE_IFBLK: pe->type = '4'; break;
		case AE_IFIFO: pe->type = '6'; break;
		case AE_IFSOCK: pe->type = 0; break;
		default:
			return ocis_error_set(err, 0, "unsupported file type 0%o",
					      (unsigned)archive_entry_filetype(ae));
		}
	}
	if (pe->type == '2') {
		pe->linkname = archive_entry_symlink(ae);
		if (pe->linkname == NULL || pe->linkname[0] == 0)
			return ocis_error_set(err, 0, "symlink without target");
		/* symlink(2) takes at most PATH_MAX - 1 bytes */
		if (strlen(pe->linkname) > OCIS_LINK_MAX)
			return ocis_error_set(err, 0, "symlink target of %zu bytes is longer than "
					      "the %u a symlink can hold", strlen(pe->linkname),
					      OCIS_LINK_MAX);
	}
	pe->mode = archive_entry_perm(ae) & 07777;
	if ((k = acl_mask(ae)) >= 0) {
		/* libarchive set the group bits from the ACL's group:: entry;
		 * the file's mode (the ustar field, what stat shows and what
		 * the kernel derives from the ACL) has the mask there */
		pe->mode = (pe->mode & ~070u) | ((uint32_t)k << 3);
	}
	/* uid_t is 32 bits and chown(2) takes (uid_t)-1 for "unchanged":
	 * an unpacker would give a larger id to root (Go's chown passes the
	 * low 32 bits), and GNU tar refuses it; a negative id is no id. */
	if (archive_entry_uid(ae) < 0 || archive_entry_uid(ae) > OCIS_ID_MAX ||
	    archive_entry_gid(ae) < 0 || archive_entry_gid(ae) > OCIS_ID_MAX) {
		int u = archive_entry_uid(ae) < 0 || archive_entry_uid(ae) > OCIS_ID_MAX;
		return ocis_error_set(err, 0, "%s %" PRId64 " is out of range (0 to %u)",
				      u ? "uid" : "gid",
				      (int64_t)(u ? archive_entry_uid(ae) : archive_entry_gid(ae)),
				      OCIS_ID_MAX);
	}
	pe->uid = (uint64_t)archive_entry_uid(ae);
	pe->gid = (uint64_t)archive_entry_gid(ae);
	pe->uname = archive_entry_uname(ae);
	pe->gname = archive_entry_gname(ae);
	if (archive_entry_mtime_is_set(ae)) {
		/* as ocis_tarin_next() left it: floor seconds + nanoseconds */
		pe->mtime = archive_entry_mtime(ae);
		pe->mtime_nsec = archive_entry_mtime_nsec(ae);
	}
	if (pe->type == '0') {
		la_int64_t sz = archive_entry_size(ae);
		pe->size = sz > 0 ? (uint64_t)sz : 0;
	}
	if (pe->type == '3' || pe->type == '4') {
		pe->devmajor = archive_entry_rdevmajor(ae);
		pe->devminor = archive_entry_rdevminor(ae);
	}
	if (acl_to_xattrs(ae, err) < 0)
		return -1;
	if (archive_entry_xattr_reset(ae) > 0) {
		const char *xn;
		const void *xv;
		size_t xs;
		while (archive_entry_xattr_next(ae, &xn, &xv, &xs) == ARCHIVE_OK) {
			if (nx == *xcap && ocis__grow((void **)xbuf, xcap, nx + 1,
						      sizeof(**xbuf), err) < 0)
				return -1;
			(*xbuf)[nx].name = xn;
			(*xbuf)[nx].value = xv;
			(*xbuf)[nx].size = xs;
			nx++;
		}
	}
	/* Sorted by name: libarchive's order is its own (it reverses pax
	 * order), and a fixed order keeps the layer bytes stable. */
	if (nx > 1) {
		struct ocis_xattr *x = *xbuf;
		size_t i, j = 1;

		qsort(x, nx, sizeof(*x), xattr_cmp);
		for (i = 1; i < nx; i++) {
			if (strcmp(x[j - 1].name, x[i].name) != 0) {
				x[j++] = x[i];
				continue;
			}
			if (x[j - 1].size != x[i].size ||
			    (x[i].size && memcmp(x[j - 1].value, x[i].value, x[i].size)))
				return ocis_error_set(err, 0, "xattr '%s' given twice with "
						      "different values", x[i].name);
		}
		nx = j;
	}
	pe->xattrs = *xbuf;
	pe->n_xattrs = nx;
	return 0;
}

const char *
ocis_tarentry_unstorable(struct archive_entry *ae, char *buf, size_t size)
{
	static const int types[2] = { ARCHIVE_ENTRY_ACL_TYPE_ACCESS,
				      ARCHIVE_ENTRY_ACL_TYPE_DEFAULT };
	unsigned long set = 0, clear = 0;
	unsigned i;

	if (archive_entry_acl_count(ae, ARCHIVE_ENTRY_ACL_TYPE_NFS4) > 0)
		return "NFSv4 ACL cannot be stored in a layer";
	for (i = 0; i < 2; i++) {
		unsigned char *v;
		size_t len;
		/* out of memory here is reported by ocis_tarentry_to_pax() */
		if (acl_encode(ae, types[i], &v, &len, buf, size) > 0)
			free(v);
		else if (buf[0])
			return buf;
	}
	archive_entry_fflags(ae, &set, &clear);
	if (set != 0)
		return "file flags (chattr) cannot be stored in a layer";
	return NULL;
}
