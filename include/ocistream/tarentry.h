/* SPDX-License-Identifier: MIT */
/*
 * A libarchive entry of a rootfs tar as a layer entry: its metadata as a
 * pax entry (owner and length limits checked, xattrs sorted, POSIX.1e
 * ACLs as the kernel's xattrs), its name normalised the way layers name
 * entries, and what no layer can carry named for a warning.  Pure: no
 * I/O, no messages but the error; the one caller is the entry intake
 * (ocistream/intake.h), which applies the rules around them.
 */
#ifndef OCISTREAM_TARENTRY_H
#define OCISTREAM_TARENTRY_H

#include <stddef.h>

#include <archive_entry.h>

#include <ocistream/error.h>
#include <ocistream/io.h>
#include <ocistream/pax.h>

/* What an unpacked tree can hold (Linux): uids and gids ((uid_t)-1 is
 * "unchanged" to chown), a symlink target, one name component. */
#define OCIS_ID_MAX 4294967294u
#define OCIS_LINK_MAX 4095u
#define OCIS_NAME_MAX 255u
/* ... and a whole name: unpackers (umoci, containerd) open entries by
 * their path below the rootfs, which the kernel takes up to PATH_MAX. */
#define OCIS_PATH_MAX 4095u

/*
 * The metadata of an entry as a pax entry: type ('1' for a hardlink, 0
 * for a socket, which no layer holds), mode, owner (an id above
 * OCIS_ID_MAX or below 0 is an error), mtime, symlink target (empty or
 * longer than OCIS_LINK_MAX: an error), device numbers, data size and
 * xattrs (sorted by name, an identical repeat dropped, as bsdtar stores
 * each twice; a conflicting repeat is an error), the ACLs among them (see
 * ocis_tarentry_unstorable()).
 * The path and the hardlink target are left to the caller (they need
 * normalising).  xbuf and xcap are the caller's reusable array for the
 * xattrs.
 */
int ocis_tarentry_to_pax(struct archive_entry *ae, struct ocis_pax_entry *pe,
			 struct ocis_xattr **xbuf, size_t *xcap, ocis_error_t **err);

/*
 * A tar entry name the way layers name entries, without the trailing "/"
 * of directories: leading "/" and "./", "." and empty components dropped;
 * the root is "".  -1 on a ".." component or one longer than
 * OCIS_NAME_MAX bytes (the message names it).
 */
int ocis_tarentry_name_normalise(const char *in, struct ocis_buf *out, ocis_error_t **err);

/*
 * What an entry holds that no layer can carry, to follow "its " in a
 * warning: "NFSv4 ACL cannot be stored in a layer", "file flags (chattr)
 * cannot be stored in a layer", or why a POSIX.1e ACL cannot be written
 * as its xattr ("ACL names user 'jo' without a uid"); NULL when nothing is
 * lost.  The result may be written into buf (size bytes; 256 suffice).
 * The callers warn: the layer is the tree without it.
 *
 * POSIX.1e ACLs are kept: ocis_tarentry_to_pax() gives them as the
 * kernel's xattrs system.posix_acl_access and system.posix_acl_default,
 * as containerd's layers carry them, and the mode's group bits as the
 * ACL's mask (libarchive gives them from its group:: entry).
 */
const char *ocis_tarentry_unstorable(struct archive_entry *ae, char *buf, size_t size);

#endif
