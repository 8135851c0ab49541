/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the diff's lower index through ocis_diff_build: a lower
 * and an upper tar built in memory, the layer it writes read back from
 * the image stream and listed (a changed entry comes after its parent
 * directories, written even when they did not change).  The cases pin the decisions the index
 * drives: unchanged entries left out (same metadata and content), a
 * same-size change seen by its content, whiteouts for what went (one per
 * name, or one opaque marker when nothing of a directory is left), and a
 * new hardlink to an unchanged file bringing the file along (pass 3).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ocistream/diff.h>
#include <ocistream/stream.h>

#include "../tap.h"
#include "../tartest.h"

/* The tar of spec in a new unlinked file, rewound. */
static int
tar_file(const char *const *spec)
{
	size_t len;
	void *tar = tt_tar(spec, &len);
	int fd = tap_tmpfd();

	TAP_MUST(write(fd, tar, len) == (ssize_t)len);
	TAP_MUST(lseek(fd, 0, SEEK_SET) == 0);
	free(tar);
	return fd;
}

/* The layer of the stream in fd (its chunks, concatenated), listed. */
static char *
layer_listing(int fd)
{
	struct ocis_stream_reader *r;
	struct ocis_stream_entry e;
	char *tar = malloc(TT_MAX), *list;
	size_t len = 0;
	int n, layers = 0;

	TAP_MUST(tar != NULL && lseek(fd, 0, SEEK_SET) == 0);
	TAP_MUST(ocis_stream_reader_new(&r, fd, 1, NULL) == 0);
	while ((n = ocis_stream_next(r, &e, NULL)) > 0) {
		ssize_t got;

		if (e.kind == OCIS_ENTRY_LAYER)
			layers++;
		if (e.kind != OCIS_ENTRY_CHUNK)
			continue;
		while ((got = ocis_stream_read(r, tar + len, TT_MAX - len, NULL)) > 0)
			len += (size_t)got;
		TAP_MUST(got == 0 && len < TT_MAX);
	}
	TAP_MUST(n == 0 && layers == 1);
	ocis_stream_reader_free(r);
	list = tt_list(tar, len);
	free(tar);
	return list;
}

/* diff(lower, upper) must write exactly want; *st gets the counts. */
static int
expect(const char *const *lower, const char *const *upper, const char *want,
       struct ocis_diff_stats *st)
{
	struct ocis_stream_writer *w;
	struct ocis_diff_opts o;
	ocis_error_t *err = NULL;
	int lo = tar_file(lower), up = tar_file(upper), out = tap_tmpfd(), ok;
	char *got = NULL;

	memset(&o, 0, sizeof(o));
	memset(st, 0, sizeof(*st));
	o.compression = OCIS_COMPRESS_NONE;
	o.threads = 1;
	o.hold_max = 1 << 20;
	TAP_MUST(ocis_stream_writer_new(&w, out, NULL) == 0);
	if (ocis_diff_build(lo, "lower", up, w, &o, NULL, st, &err) == 0 &&
	    ocis_stream_finish(w, &err) == 0)
		got = layer_listing(out);
	else
		printf("# diff failed: %s\n", err ? err->msg : "");
	if (got && strcmp(got, want) != 0)
		printf("# got:  %s\n# want: %s\n", got, want);
	ok = got != NULL && strcmp(got, want) == 0;
	ocis_stream_writer_free(w);
	ocis_error_free(&err);
	free(got);
	close(lo);
	close(up);
	close(out);
	TAP_CHECK(ok);
	return 0;
}

static const char *const base[] = { "5 etc", "0 etc/a A", "0 etc/b B", "5 usr", "0 usr/x X",
				    "2 usr/l x", NULL };

static int
test_identical_trees_write_nothing(void)
{
	struct ocis_diff_stats st;

	TAP_CHECK(expect(base, base, "", &st) == 0);
	TAP_CHECK(st.lower_entries == 6 && st.upper_entries == 6);
	TAP_CHECK(st.written == 0 && st.unchanged == 6);
	return 0;
}

/* Same size, same mtime, other bytes: only the content tells.  etc is
 * unchanged, yet written before its changed child. */
static int
test_same_size_change_seen(void)
{
	static const char *const upper[] = { "5 etc", "0 etc/a Z", "0 etc/b B", "5 usr",
					     "0 usr/x X", "2 usr/l x", NULL };
	struct ocis_diff_stats st;

	TAP_CHECK(expect(base, upper, "etc/ etc/a=Z", &st) == 0);
	TAP_CHECK(st.written == 2 && st.unchanged == 5);
	return 0;
}

static int
test_removed_and_added(void)
{
	static const char *const upper[] = { "5 etc", "0 etc/b B", "0 etc/c C", "5 usr",
					     "0 usr/x X", "2 usr/l y", NULL };
	struct ocis_diff_stats st;

	/* a changed symlink target is a change; etc/a went */
	TAP_CHECK(expect(base, upper, "etc/ etc/.wh.a etc/c=C usr/ usr/l", &st) == 0);
	TAP_CHECK(st.whiteouts == 1);
	return 0;
}

/* Nothing of usr is left: one opaque marker, not one whiteout a name. */
static int
test_emptied_directory_is_opaque(void)
{
	static const char *const upper[] = { "5 etc", "0 etc/a A", "0 etc/b B", "5 usr",
					     "0 usr/n N", NULL };
	struct ocis_diff_stats st;

	TAP_CHECK(expect(base, upper, "usr/ usr/.wh..wh..opq usr/n=N", &st) == 0);
	TAP_CHECK(st.whiteouts == 1);
	return 0;
}

static int
test_removed_directory_one_whiteout(void)
{
	static const char *const upper[] = { "5 etc", "0 etc/a A", "0 etc/b B", NULL };
	struct ocis_diff_stats st;

	TAP_CHECK(expect(base, upper, ".wh.usr", &st) == 0);
	TAP_CHECK(st.whiteouts == 1 && st.unchanged == 3);
	return 0;
}

/* A new hardlink to an unchanged file: the file comes along, from the
 * lower (pass 3), with the link after it. */
static int
test_new_hardlink_brings_file(void)
{
	static const char *const upper[] = { "5 etc", "0 etc/a A", "0 etc/b B", "5 usr",
					     "0 usr/x X", "2 usr/l x", "1 usr/h usr/x", NULL };
	struct ocis_diff_stats st;

	TAP_CHECK(expect(base, upper, "usr/ usr/x=X usr/h=>usr/x", &st) == 0);
	TAP_CHECK(st.lower_reread == 1);
	return 0;
}

int
main(void)
{
	TAP_PLAN(6);
	TAP_RUN(test_identical_trees_write_nothing);
	TAP_RUN(test_same_size_change_seen);
	TAP_RUN(test_removed_and_added);
	TAP_RUN(test_emptied_directory_is_opaque);
	TAP_RUN(test_removed_directory_one_whiteout);
	TAP_RUN(test_new_hardlink_brings_file);
	return tap_done();
}
