/* SPDX-License-Identifier: MIT */
/* Unit tests: the image stream reader and writer (docs/image-stream.md). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ocistream/layerdesc.h>
#include <ocistream/stream.h>

#include "lib/internal.h"
#include "lib/tarhdr-private.h"

#include "../tap.h"

static const char *EMPTY_SHA = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
static const char *ABC_SHA = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

/* The layer's media type: uncompressed, as "abc" is no gzip or zstd data
 * (a reader refuses a media type that disagrees with the first bytes). */
static const char *desc_type = OCIS_MT_LAYER;

static void
fill_desc(struct ocis_layer_desc *d, const char *digest, uint64_t size)
{
	memset(d, 0, sizeof(*d));
	strcpy(d->media_type, desc_type);
	strcpy(d->digest, digest);
	strcpy(d->diff_id, EMPTY_SHA);
	d->size = size;
}

/* Write "abc" as one layer (+ optional extras) and rewind. */
static int
make_stream(const char *digest, uint64_t size, int finish, int extra_config)
{
	struct ocis_stream_writer *w;
	struct ocis_layer_desc d;
	int fd = tap_tmpfd();

	TAP_MUST(ocis_stream_writer_new(&w, fd, NULL) == 0);
	TAP_MUST(ocis_stream_write_chunk(w, "ab", 2, NULL) == 0);
	TAP_MUST(ocis_stream_write_chunk(w, "c", 1, NULL) == 0);
	fill_desc(&d, digest, size);
	TAP_MUST(ocis_stream_write_layer(w, &d, NULL) == 0);
	if (extra_config)
		TAP_MUST(ocis_stream_write_entry(w, "config.json", "{}", 2, NULL) == 0);
	if (finish)
		TAP_MUST(ocis_stream_finish(w, NULL) == 0);
	ocis_stream_writer_free(w);
	TAP_MUST(lseek(fd, 0, SEEK_SET) == 0);
	return fd;
}

/* Read all entries; returns the error message (static) or NULL, counts kinds. */
static const char *
read_all(int fd, int verify, int *chunks, int *layers, int *configs, int *errors)
{
	static char msg[512];
	struct ocis_stream_reader *r;
	struct ocis_stream_entry e;
	ocis_error_t *err = NULL;
	int rc;

	*chunks = *layers = *configs = *errors = 0;
	TAP_MUST(ocis_stream_reader_new(&r, fd, verify, NULL) == 0);
	while ((rc = ocis_stream_next(r, &e, &err)) > 0) {
		if (e.kind == OCIS_ENTRY_CHUNK)
			(*chunks)++;
		else if (e.kind == OCIS_ENTRY_LAYER)
			(*layers)++;
		else if (e.kind == OCIS_ENTRY_CONFIG)
			(*configs)++;
		else if (e.kind == OCIS_ENTRY_ERROR)
			(*errors)++;
	}
	ocis_stream_reader_free(r);
	if (rc == 0)
		return NULL;
	snprintf(msg, sizeof(msg), "%s", err->msg);
	ocis_error_free(&err);
	return msg;
}

static int
test_round_trip_verified(void)
{
	int c, l, k, e, fd = make_stream(ABC_SHA, 3, 1, 1);
	const char *m = read_all(fd, 1, &c, &l, &k, &e);

	TAP_CHECK(m == NULL);
	TAP_CHECK(c == 2 && l == 1 && k == 1 && e == 0);
	close(fd);
	return 0;
}

static int
test_digest_mismatch(void)
{
	int c, l, k, e, fd = make_stream(EMPTY_SHA, 3, 1, 0);
	const char *m = read_all(fd, 1, &c, &l, &k, &e);

	TAP_CHECK(m && strstr(m, "has digest"));
	close(fd);
	/* without verification only sizes are checked */
	fd = make_stream(EMPTY_SHA, 3, 1, 0);
	TAP_CHECK(read_all(fd, 0, &c, &l, &k, &e) == NULL);
	close(fd);
	return 0;
}

static int
test_size_mismatch(void)
{
	int c, l, k, e, fd = make_stream(ABC_SHA, 4, 1, 0);
	const char *m = read_all(fd, 0, &c, &l, &k, &e);

	TAP_CHECK(m && strstr(m, "says 4 bytes"));
	close(fd);
	return 0;
}

static int
test_media_type_mismatch(void)
{
	int c, l, k, e, fd, verify;

	desc_type = OCIS_MT_LAYER "+gzip";
	for (verify = 0; verify < 2; verify++) {
		const char *m;

		fd = make_stream(ABC_SHA, 3, 1, 0);
		m = read_all(fd, verify, &c, &l, &k, &e);
		TAP_CHECK(m && strstr(m, "its data is not compressed but its media type is "
					OCIS_MT_LAYER "+gzip"));
		close(fd);
	}
	desc_type = OCIS_MT_LAYER;
	return 0;
}

static int
test_missing_end_marker(void)
{
	int c, l, k, e, fd = make_stream(ABC_SHA, 3, 0, 1);
	const char *m = read_all(fd, 0, &c, &l, &k, &e);

	TAP_CHECK(m && strstr(m, "end-of-archive"));
	close(fd);
	return 0;
}

static int
test_truncated_mid_chunk(void)
{
	int c, l, k, e, fd = make_stream(ABC_SHA, 3, 1, 0);
	const char *m;

	TAP_CHECK(ftruncate(fd, 512 + 1) == 0);
	m = read_all(fd, 0, &c, &l, &k, &e);
	TAP_CHECK(m && strstr(m, "truncated"));
	close(fd);
	/* cut after the chunks, before the descriptor */
	fd = make_stream(ABC_SHA, 3, 1, 0);
	TAP_CHECK(ftruncate(fd, 2048) == 0);
	m = read_all(fd, 0, &c, &l, &k, &e);
	TAP_CHECK(m && strstr(m, "without its descriptor"));
	close(fd);
	return 0;
}

static int
test_concatenation(void)
{
	int a = make_stream(ABC_SHA, 3, 1, 0), fd = tap_tmpfd(), c, l, k, e, i;
	char buf[8192];
	ssize_t n;

	for (i = 0; i < 2; i++) {
		lseek(a, 0, SEEK_SET);
		while ((n = read(a, buf, sizeof(buf))) > 0)
			TAP_CHECK(write(fd, buf, (size_t)n) == n);
	}
	TAP_MUST(lseek(fd, 0, SEEK_SET) == 0);
	TAP_CHECK(read_all(fd, 1, &c, &l, &k, &e) == NULL);
	TAP_CHECK(c == 4 && l == 2);
	close(a);
	close(fd);
	return 0;
}

static int
test_error_entry_and_empty(void)
{
	struct ocis_stream_writer *w;
	int fd = tap_tmpfd(), c, l, k, e;
	const char *m;

	TAP_MUST(ocis_stream_writer_new(&w, fd, NULL) == 0);
	ocis_stream_write_error(w, "oci-layer: boom");
	ocis_stream_writer_free(w);
	TAP_MUST(lseek(fd, 0, SEEK_SET) == 0);
	m = read_all(fd, 0, &c, &l, &k, &e);
	TAP_CHECK(e == 1 && m != NULL);
	close(fd);
	fd = tap_tmpfd();
	m = read_all(fd, 0, &c, &l, &k, &e);
	TAP_CHECK(m && strstr(m, "empty input"));
	close(fd);
	return 0;
}

static int
test_not_a_stream(void)
{
	int fd = tap_tmpfd(), c, l, k, e;
	const char *m;
	unsigned char block[1024];

	TAP_CHECK(write(fd, "garbage, not a tar at all", 25) == 25);
	TAP_MUST(lseek(fd, 0, SEEK_SET) == 0);
	m = read_all(fd, 0, &c, &l, &k, &e);
	TAP_CHECK(m && strstr(m, "oci-layer"));
	close(fd);

	/* a ustar header for "etc/": a rootfs tar, not a stream */
	fd = tap_tmpfd();
	memset(block, 0, sizeof(block));
	memcpy(block + TH_NAME, "etc/", 4);
	TAP_MUST(ocis__tar_octal(block + TH_MODE, 8, 0755) == 0);
	TAP_MUST(ocis__tar_octal(block + TH_SIZE, 12, 0) == 0);
	block[TH_TYPE] = '5';
	ocis__tar_finish_header(block);
	TAP_CHECK(write(fd, block, sizeof(block)) == (ssize_t)sizeof(block));
	TAP_MUST(lseek(fd, 0, SEEK_SET) == 0);
	m = read_all(fd, 0, &c, &l, &k, &e);
	TAP_CHECK(m && strstr(m, "oci-layer"));
	close(fd);
	return 0;
}

static int
test_copy_is_exact(void)
{
	int in = make_stream(ABC_SHA, 3, 1, 1), out = tap_tmpfd();
	struct ocis_stream_reader *r;
	struct ocis_stream_writer *w;
	struct ocis_stream_entry e;
	char a[8192], b[8192];
	ssize_t na, nb;

	TAP_MUST(ocis_stream_reader_new(&r, in, 0, NULL) == 0);
	TAP_MUST(ocis_stream_writer_new(&w, out, NULL) == 0);
	while (ocis_stream_next(r, &e, NULL) > 0)
		TAP_CHECK(ocis_stream_copy(r, w, NULL) == 0);
	TAP_MUST(ocis_stream_finish(w, NULL) == 0);
	ocis_stream_reader_free(r);
	ocis_stream_writer_free(w);
	TAP_MUST(lseek(in, 0, SEEK_SET) == 0);
	TAP_MUST(lseek(out, 0, SEEK_SET) == 0);
	na = read(in, a, sizeof(a));
	nb = read(out, b, sizeof(b));
	TAP_CHECK(na == nb && na > 0 && memcmp(a, b, (size_t)na) == 0);
	close(in);
	close(out);
	return 0;
}

int
main(void)
{
	TAP_PLAN(10);
	TAP_RUN(test_round_trip_verified);
	TAP_RUN(test_digest_mismatch);
	TAP_RUN(test_size_mismatch);
	TAP_RUN(test_media_type_mismatch);
	TAP_RUN(test_missing_end_marker);
	TAP_RUN(test_truncated_mid_chunk);
	TAP_RUN(test_concatenation);
	TAP_RUN(test_error_entry_and_empty);
	TAP_RUN(test_not_a_stream);
	TAP_RUN(test_copy_is_exact);
	return tap_done();
}
