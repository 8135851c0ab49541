/* SPDX-License-Identifier: MIT */
/* Unit tests: the pax entry encoder, read back with libarchive. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include <ocistream/pax.h>

#include "../tap.h"

/* Encode e (+ size bytes of 'x' data) and an end marker, then read the
 * first entry back with libarchive into *out (caller frees with
 * archive_read_free(*a)). */
static int
round_trip(const struct ocis_pax_entry *e, struct archive **a, struct archive_entry **out,
	   struct ocis_buf *b)
{
	static const char zeros[1024];
	size_t i;

	ocis_buf_reset(b);
	if (ocis_pax_encode_header(e, b, NULL) < 0)
		return -1;
	for (i = 0; i < e->size; i++)
		TAP_MUST(ocis_buf_add(b, "x", 1, NULL) == 0);
	TAP_MUST(ocis_buf_add(b, zeros, (512 - e->size % 512) % 512, NULL) == 0);
	TAP_MUST(ocis_buf_add(b, zeros, 1024, NULL) == 0);
	*a = archive_read_new();
	archive_read_support_format_tar(*a);
	if (archive_read_open_memory(*a, b->data, b->len) != ARCHIVE_OK)
		return -1;
	return archive_read_next_header(*a, out) == ARCHIVE_OK ? 0 : -1;
}

static int
test_plain_ustar(void)
{
	struct ocis_pax_entry e = { 0 };
	struct ocis_buf b = OCIS_BUF_INIT;
	struct archive *a;
	struct archive_entry *ae;

	e.path = "etc/hostname";
	e.type = '0';
	e.mode = 04755;
	e.uid = 1000;
	e.gid = 100;
	e.uname = "user";
	e.gname = "users";
	e.mtime = 1700000000;
	e.size = 5;
	TAP_CHECK(round_trip(&e, &a, &ae, &b) == 0);
	/* no pax header needed: one header block + one data block + end */
	TAP_CHECK(b.len == 512 + 512 + 1024);
	TAP_CHECK(strcmp(archive_entry_pathname(ae), "etc/hostname") == 0);
	TAP_CHECK(archive_entry_perm(ae) == 04755);
	TAP_CHECK(archive_entry_uid(ae) == 1000 && archive_entry_gid(ae) == 100);
	TAP_CHECK(strcmp(archive_entry_uname(ae), "user") == 0);
	TAP_CHECK(archive_entry_mtime(ae) == 1700000000);
	TAP_CHECK(archive_entry_size(ae) == 5);
	archive_read_free(a);
	ocis_buf_release(&b);
	return 0;
}

static int
test_long_names_ids_times_xattrs(void)
{
	struct ocis_pax_entry e = { 0 };
	struct ocis_buf b = OCIS_BUF_INIT;
	struct archive *a;
	struct archive_entry *ae;
	struct ocis_xattr x[2] = {
		{ "security.capability", "\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 20 },
		{ "security.selinux", "system_u:object_r:bin_t:s0\0", 27 },
	};
	char path[400], link[300];
	const char *xn;
	const void *xv;
	size_t xs;
	int found = 0;

	memset(path, 'p', sizeof(path));
	memcpy(path + 100, "/", 1);
	path[sizeof(path) - 1] = 0;
	memset(link, 'l', sizeof(link));
	link[sizeof(link) - 1] = 0;
	e.path = path;
	e.type = '2';
	e.linkname = link;
	e.mode = 0777;
	e.uid = 4294967294ULL;
	e.gid = 3000000;
	e.uname = "a-user-name-that-is-longer-than-thirty-two-bytes";
	e.mtime = -2;
	e.mtime_nsec = 250000000;	/* -1.75 s */
	e.xattrs = x;
	e.n_xattrs = 2;
	TAP_CHECK(round_trip(&e, &a, &ae, &b) == 0);
	TAP_CHECK(strcmp(archive_entry_pathname(ae), path) == 0);
	TAP_CHECK(strcmp(archive_entry_symlink(ae), link) == 0);
	TAP_CHECK(archive_entry_uid(ae) == 4294967294LL);
	TAP_CHECK(archive_entry_gid(ae) == 3000000);
	TAP_CHECK(strcmp(archive_entry_uname(ae), e.uname) == 0);
	/* libarchive hands xattrs back in its own order: look them up by name */
	TAP_CHECK(archive_entry_xattr_reset(ae) == 2);
	while (archive_entry_xattr_next(ae, &xn, &xv, &xs) == ARCHIVE_OK) {
		int k = strcmp(xn, x[0].name) == 0 ? 0 : 1;
		TAP_CHECK(strcmp(xn, x[k].name) == 0 && xs == x[k].size &&
			  memcmp(xv, x[k].value, xs) == 0);
		found++;
	}
	TAP_CHECK(found == 2);
	/* records are sorted by name: capability before selinux */
	TAP_CHECK(memmem(b.data, b.len, "security.capability", 19) <
		  memmem(b.data, b.len, "security.selinux", 16));
	/* the mtime record is "-1.75" */
	TAP_CHECK(memmem(b.data, b.len, " mtime=-1.75\n", 13) != NULL);
	archive_read_free(a);
	ocis_buf_release(&b);
	return 0;
}

static int
test_devices_and_big_size_header(void)
{
	struct ocis_pax_entry e = { 0 };
	struct ocis_buf b = OCIS_BUF_INIT;
	struct archive *a;
	struct archive_entry *ae;

	e.path = "dev/sda";
	e.type = '4';
	e.mode = 0660;
	e.devmajor = 259;
	e.devminor = 1048575;
	TAP_CHECK(round_trip(&e, &a, &ae, &b) == 0);
	TAP_CHECK(archive_entry_filetype(ae) == AE_IFBLK);
	TAP_CHECK(archive_entry_rdevmajor(ae) == 259 && archive_entry_rdevminor(ae) == 1048575);
	archive_read_free(a);

	/* a 9 GiB file: only check the header carries a pax size record */
	memset(&e, 0, sizeof(e));
	e.path = "big";
	e.type = '0';
	e.mode = 0644;
	e.size = 9ULL << 30;
	ocis_buf_reset(&b);
	TAP_CHECK(ocis_pax_encode_header(&e, &b, NULL) == 0);
	TAP_CHECK(memmem(b.data, b.len, " size=9663676416\n", 17) != NULL);
	ocis_buf_release(&b);
	return 0;
}

static int
test_deterministic(void)
{
	struct ocis_pax_entry e = { 0 };
	struct ocis_buf b1 = OCIS_BUF_INIT, b2 = OCIS_BUF_INIT;
	char path[300];

	memset(path, 'n', sizeof(path));
	path[299] = 0;
	e.path = path;
	e.type = '5';
	e.mode = 0755;
	e.mtime = 1;
	e.mtime_nsec = 5;
	TAP_CHECK(ocis_pax_encode_header(&e, &b1, NULL) == 0);
	TAP_CHECK(ocis_pax_encode_header(&e, &b2, NULL) == 0);
	TAP_CHECK(b1.len == b2.len && memcmp(b1.data, b2.data, b1.len) == 0);
	/* no atime/ctime, no pid in the pax header name */
	TAP_CHECK(memmem(b1.data, b1.len, "atime", 5) == NULL);
	TAP_CHECK(memcmp(b1.data, "PaxHeaders/", 11) == 0);
	TAP_CHECK(memmem(b1.data, b1.len, " mtime=1.000000005\n", 19) != NULL);
	ocis_buf_release(&b1);
	ocis_buf_release(&b2);
	return 0;
}

/* A negative mtime with a fraction is written as its decimal ("-1.75"),
 * and a non-UTF-8 user name in a record gets hdrcharset=BINARY. */
static int
test_negative_mtime_binary_uname(void)
{
	struct ocis_pax_entry e = { 0 };
	struct ocis_buf b = OCIS_BUF_INIT;
	struct archive *a;
	struct archive_entry *ae;
	const char *rec;

	e.path = "t";
	e.type = '0';
	e.mode = 0644;
	e.mtime = -2;
	e.mtime_nsec = 250000000;
	e.uname = "j\xf6rg-with-a-name-longer-than-31-bytes";
	TAP_CHECK(round_trip(&e, &a, &ae, &b) == 0);
	rec = memmem(b.data, b.len, " mtime=-1.75\n", 13);
	TAP_CHECK(rec != NULL);
	TAP_CHECK(memmem(b.data, b.len, " hdrcharset=BINARY\n", 19) != NULL);
	TAP_CHECK(strcmp(archive_entry_uname(ae), e.uname) == 0);
	archive_read_free(a);
	e.mtime = -1;
	e.mtime_nsec = 0;
	e.uname = "root";
	TAP_CHECK(round_trip(&e, &a, &ae, &b) == 0);
	TAP_CHECK(memmem(b.data, b.len, " mtime=-1\n", 10) != NULL);
	TAP_CHECK(memmem(b.data, b.len, "hdrcharset", 10) == NULL);
	TAP_CHECK(archive_entry_mtime(ae) == -1);
	archive_read_free(a);
	ocis_buf_release(&b);
	return 0;
}

int
main(void)
{
	TAP_PLAN(5);
	TAP_RUN(test_plain_ustar);
	TAP_RUN(test_long_names_ids_times_xattrs);
	TAP_RUN(test_devices_and_big_size_header);
	TAP_RUN(test_deterministic);
	TAP_RUN(test_negative_mtime_binary_uname);
	return tap_done();
}
