/* SPDX-License-Identifier: MIT */
/*
 * Small tars for the unit tests, built and read in memory with libarchive
 * (not with the library under test, so a fault there cannot hide itself).
 *
 *   tt_tar(spec, &len)   a pax tar of the entries of spec (NULL-ended):
 *                        "0 name content" a file, "5 name" a directory,
 *                        "2 name target" a symlink, "1 name target" a
 *                        hardlink; fixed owner, modes and mtime.
 *   tt_list(tar, len)    its entries in order, one string: "name" per
 *                        entry, "name=content" for a file with data,
 *                        "name=>target" for a hardlink, joined by ' '.
 */
#ifndef OCIPIPE_TARTEST_H
#define OCIPIPE_TARTEST_H

#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"	/* TAP_MUST */

#define TT_MAX (1 << 20)

static inline void *
tt_tar(const char *const *spec, size_t *len)
{
	struct archive *a = archive_write_new();
	char *buf = malloc(TT_MAX);
	size_t used = 0;

	TAP_MUST(a != NULL && buf != NULL);
	TAP_MUST(archive_write_set_format_pax_restricted(a) == ARCHIVE_OK);
	TAP_MUST(archive_write_set_bytes_in_last_block(a, 1) == ARCHIVE_OK);
	TAP_MUST(archive_write_open_memory(a, buf, TT_MAX, &used) == ARCHIVE_OK);
	for (; *spec; spec++) {
		struct archive_entry *e = archive_entry_new();
		char name[256];
		const char *rest = NULL, *sp;
		char type = (*spec)[0];

		TAP_MUST(e != NULL && (*spec)[1] == ' ');
		sp = strchr(*spec + 2, ' ');
		if (sp) {
			TAP_MUST((size_t)(sp - (*spec + 2)) < sizeof(name));
			memcpy(name, *spec + 2, (size_t)(sp - (*spec + 2)));
			name[sp - (*spec + 2)] = 0;
			rest = sp + 1;
		} else {
			TAP_MUST(strlen(*spec + 2) < sizeof(name));
			strcpy(name, *spec + 2);
		}
		archive_entry_set_pathname(e, name);
		archive_entry_set_mtime(e, 1, 0);
		archive_entry_set_uid(e, 0);
		archive_entry_set_gid(e, 0);
		switch (type) {
		case '0':
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_perm(e, 0644);
			archive_entry_set_size(e, rest ? (la_int64_t)strlen(rest) : 0);
			break;
		case '5':
			archive_entry_set_filetype(e, AE_IFDIR);
			archive_entry_set_perm(e, 0755);
			break;
		case '2':
			TAP_MUST(rest != NULL);
			archive_entry_set_filetype(e, AE_IFLNK);
			archive_entry_set_perm(e, 0777);
			archive_entry_set_symlink(e, rest);
			break;
		case '1':
			TAP_MUST(rest != NULL);
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_perm(e, 0644);
			archive_entry_set_hardlink(e, rest);
			break;
		default:
			TAP_MUST(!"entry type");
		}
		TAP_MUST(archive_write_header(a, e) == ARCHIVE_OK);
		if (type == '0' && rest && *rest)
			TAP_MUST(archive_write_data(a, rest, strlen(rest)) == (la_ssize_t)strlen(rest));
		archive_entry_free(e);
	}
	TAP_MUST(archive_write_close(a) == ARCHIVE_OK);
	archive_write_free(a);
	*len = used;
	return buf;
}

/* The listing of tar (see above) into a new string. */
static inline char *
tt_list(const void *tar, size_t len)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	char *out = calloc(1, TT_MAX), data[256];
	size_t n = 0;
	int r;

	TAP_MUST(a != NULL && out != NULL);
	TAP_MUST(archive_read_support_format_tar(a) == ARCHIVE_OK);
	TAP_MUST(archive_read_open_memory(a, tar, len) == ARCHIVE_OK);
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		la_ssize_t got = archive_read_data(a, data, sizeof(data) - 1);
		const char *hl = archive_entry_hardlink(e);

		TAP_MUST(got >= 0);
		data[got] = 0;
		n += (size_t)snprintf(out + n, TT_MAX - n, "%s%s%s%s", n ? " " : "",
				      archive_entry_pathname(e), hl ? "=>" : got ? "=" : "",
				      hl ? hl : data);
		TAP_MUST(n < TT_MAX);
	}
	TAP_MUST(r == ARCHIVE_EOF);
	archive_read_free(a);
	return out;
}

#endif
