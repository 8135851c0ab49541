/* SPDX-License-Identifier: MIT */
/*
 * The layer's tar encoding: one pax-interchange entry header per rootfs
 * entry, byte-stable.
 *
 * An entry gets a plain ustar header when every field fits; otherwise a pax
 * extended header ('x') comes first with records, in this fixed order, for
 * exactly the fields that need them: path, linkpath, size, uid, gid, uname,
 * gname, mtime, hdrcharset, SCHILY.xattr.* (sorted by name; the caller
 * passes them sorted and without duplicates).  Never atime,
 * ctime, process ids or host names.  The pax header is named
 * "PaxHeaders/<basename>" (truncated), with mode 0644, owner 0:0 and the
 * entry's ustar mtime.
 *
 * "hdrcharset=BINARY" is added when a path, linkpath, uname or gname
 * record is not valid UTF-8 (the bytes are written as they are).  A
 * negative mtime with a fraction is written as the decimal it is:
 * mtime -2 s + 250000000 ns is "-1.75" (as GNU tar writes and Go reads;
 * libarchive up to at least 3.6 reads it as -1 s + 0.75 s).
 *
 * When a field falls back to a pax record, its ustar field holds 0 (size,
 * uid, gid, mtime before 1970) or the largest value (mtime after 2242), and
 * the ustar name holds the first 100 bytes of the path.  Device numbers
 * that do not fit in seven octal digits use GNU base-256 (Linux majors and
 * minors always fit).
 */
#ifndef OCISTREAM_PAX_H
#define OCISTREAM_PAX_H

#include <stddef.h>
#include <stdint.h>

#include <ocistream/error.h>
#include <ocistream/io.h>

struct ocis_xattr {
	const char *name;
	const void *value;
	size_t size;
};

struct ocis_pax_entry {
	const char *path;	/* normalised name; directories end with '/' */
	char type;		/* '0' '1' '2' '3' '4' '5' '6' */
	const char *linkname;	/* hardlink or symlink target, else NULL */
	uint32_t mode;		/* permission bits incl. setuid/setgid/sticky */
	uint64_t uid, gid;
	const char *uname, *gname;	/* may be NULL */
	int64_t mtime;
	long mtime_nsec;
	uint64_t size;		/* data bytes that follow (regular files) */
	uint64_t devmajor, devminor;
	const struct ocis_xattr *xattrs;	/* sorted by name, no duplicates */
	size_t n_xattrs;
};

/* 1 when s[0..len) is valid UTF-8 (shortest forms, no surrogates). */
int ocis_utf8_valid(const void *s, size_t len);

/* Append the header block(s) of e to out (the data and its padding to a
 * 512-byte boundary are the caller's). */
int ocis_pax_encode_header(const struct ocis_pax_entry *e, struct ocis_buf *out,
			   ocis_error_t **err);

#endif
