/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of flatten's index (pass 2) through ocis_flatten: small
 * layers built in memory, one image stream, the merged tar listed.  Each
 * case names the entries that must survive and, by their absence, those
 * the index must have killed (whiteouts, opaque directories, later
 * non-directories), and hardlinks kept as their layer left them.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ocistream/flatten.h>
#include <ocistream/hash.h>
#include <ocistream/layerdesc.h>
#include <ocistream/stream.h>

#include "../tap.h"
#include "../tartest.h"

#define MAX_LAYERS 4

/* An image stream of these layers (uncompressed), rewound. */
static int
make_image(const char *const *const *layers, size_t n)
{
	struct ocis_stream_writer *w;
	int fd = tap_tmpfd();
	size_t i;

	TAP_MUST(ocis_stream_writer_new(&w, fd, NULL) == 0);
	for (i = 0; i < n; i++) {
		struct ocis_layer_desc d;
		size_t len;
		void *tar = tt_tar(layers[i], &len);

		memset(&d, 0, sizeof(d));
		strcpy(d.media_type, OCIS_MT_LAYER);
		TAP_MUST(ocis_hash_buffer(tar, len, d.digest, NULL) == 0);
		strcpy(d.diff_id, d.digest);
		d.size = d.uncompressed_size = len;
		TAP_MUST(ocis_stream_write_chunk(w, tar, len, NULL) == 0);
		TAP_MUST(ocis_stream_write_layer(w, &d, NULL) == 0);
		free(tar);
	}
	TAP_MUST(ocis_stream_finish(w, NULL) == 0);
	ocis_stream_writer_free(w);
	TAP_MUST(lseek(fd, 0, SEEK_SET) == 0);
	return fd;
}

/* Flatten the layers; the listing of the result, or NULL with *err. */
static char *
flatten(const char *const *const *layers, size_t n, ocis_error_t **err)
{
	struct ocis_flatten_opts o;
	struct ocis_flatten_stats st;
	int in = make_image(layers, n), out = tap_tmpfd();
	char *list = NULL;
	off_t len;

	memset(&o, 0, sizeof(o));
	memset(&st, 0, sizeof(st));
	if (ocis_flatten(in, out, &o, &st, err) == 0) {
		void *buf;

		len = lseek(out, 0, SEEK_END);
		TAP_MUST(len > 0 && len < TT_MAX);
		buf = malloc((size_t)len);
		TAP_MUST(buf != NULL && pread(out, buf, (size_t)len, 0) == len);
		TAP_MUST(st.layers == n);
		list = tt_list(buf, (size_t)len);
		free(buf);
	}
	close(in);
	close(out);
	return list;
}

static int
expect(const char *const *const *layers, size_t n, const char *want)
{
	ocis_error_t *err = NULL;
	char *got = flatten(layers, n, &err);
	int ok;

	if (got == NULL)
		printf("# flatten failed: %s\n", (err ? err->msg : ""));
	else if (strcmp(got, want) != 0)
		printf("# got:  %s\n# want: %s\n", got, want);
	ok = got != NULL && strcmp(got, want) == 0;
	ocis_error_free(&err);
	free(got);
	TAP_CHECK(ok);
	return 0;
}

static int
test_whiteout_file(void)
{
	static const char *const l1[] = { "5 etc", "0 etc/a A", "0 etc/b B", NULL };
	static const char *const l2[] = { "0 etc/.wh.a ", NULL };
	static const char *const *const ls[] = { l1, l2 };

	return expect(ls, 2, "etc/ etc/b=B");
}

static int
test_whiteout_directory_and_below(void)
{
	static const char *const l1[] = { "5 d", "5 d/e", "0 d/e/f F", "0 g G", NULL };
	static const char *const l2[] = { "0 .wh.d ", NULL };
	static const char *const *const ls[] = { l1, l2 };

	return expect(ls, 2, "g=G");
}

static int
test_whiteout_then_readded(void)
{
	static const char *const l1[] = { "5 d", "0 d/old O", NULL };
	static const char *const l2[] = { "0 .wh.d ", NULL };
	static const char *const l3[] = { "5 d", "0 d/new N", NULL };
	static const char *const *const ls[] = { l1, l2, l3 };

	return expect(ls, 3, "d/ d/new=N");
}

/* The opaque marker hides the lower content of d, not what its own
 * layer puts there, nor d itself, nor a sibling directory. */
static int
test_opaque_directory(void)
{
	static const char *const l1[] = { "5 d", "0 d/a A", "5 d/s", "0 d/s/t T",
					  "5 dd", "0 dd/x X", NULL };
	static const char *const l2[] = { "5 d", "0 d/.wh..wh..opq ", "0 d/c C", NULL };
	static const char *const *const ls[] = { l1, l2 };

	return expect(ls, 2, "dd/ dd/x=X d/ d/c=C");
}

static int
test_last_layer_wins(void)
{
	static const char *const l1[] = { "0 f one", "5 x", "0 x/y Y", NULL };
	static const char *const l2[] = { "0 f two", "2 x f", NULL };
	static const char *const *const ls[] = { l1, l2 };

	/* a file over a directory removes what was below it */
	return expect(ls, 2, "f=two x");
}

/* A hardlink whose target a later layer replaced keeps the old data. */
static int
test_hardlink_keeps_old_target(void)
{
	static const char *const l1[] = { "0 f old", "1 l f", NULL };
	static const char *const l2[] = { "0 f new", NULL };
	static const char *const *const ls[] = { l1, l2 };

	return expect(ls, 2, "l=old f=new");
}

static int
test_hardlink_to_whited_out_refused(void)
{
	static const char *const l1[] = { "0 f F", NULL };
	static const char *const l2[] = { "0 .wh.f ", "1 l f", NULL };
	static const char *const *const ls[] = { l1, l2 };
	ocis_error_t *err = NULL;
	char *got = flatten(ls, 2, &err);
	int ok = got == NULL && err != NULL && strstr(err->msg, "not in the tree") != NULL;

	free(got);
	ocis_error_free(&err);
	TAP_CHECK(ok);
	return 0;
}

int
main(void)
{
	TAP_PLAN(7);
	TAP_RUN(test_whiteout_file);
	TAP_RUN(test_whiteout_directory_and_below);
	TAP_RUN(test_whiteout_then_readded);
	TAP_RUN(test_opaque_directory);
	TAP_RUN(test_last_layer_wins);
	TAP_RUN(test_hardlink_keeps_old_target);
	TAP_RUN(test_hardlink_to_whited_out_refused);
	return tap_done();
}
