/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the images module: what a destination's sink receives
 * for the images of a stream, in which order, and what is refused.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ocistream/hash.h>
#include <ocistream/images.h>
#include <ocistream/imageconfig.h>
#include <ocistream/layerdesc.h>
#include <ocistream/stream.h>

#include "../tap.h"

static const char *ABC_SHA = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

/* A sink that records what it was given: "b" begin, "w<n>" bytes,
 * "c" commit, "p:<kind>" small blobs. */
struct record {
	char log[4096];
	size_t bytes;
};

static void
logf_(struct record *r, const char *s)
{
	strncat(r->log, s, sizeof(r->log) - strlen(r->log) - 1);
	strncat(r->log, " ", sizeof(r->log) - strlen(r->log) - 1);
}

static int
rec_begin(void *ctx, ocis_error_t **err)
{
	(void)err;
	logf_(ctx, "b");
	return 0;
}

static int
rec_write(void *ctx, const void *data, size_t len, ocis_error_t **err)
{
	(void)data;
	(void)err;
	((struct record *)ctx)->bytes += len;
	return 0;
}

static int
rec_commit(void *ctx, const char *digest, uint64_t size, ocis_error_t **err)
{
	(void)err;
	logf_(ctx, strcmp(digest, ABC_SHA) == 0 && size == 3 ? "c" : "c?");
	return 0;
}

static int
rec_put(void *ctx, const char *media_type, const void *data, size_t len,
	char digest[OCIS_DIGEST_STR_SIZE], ocis_error_t **err)
{
	logf_(ctx, strcmp(media_type, OCIS_MT_CONFIG) == 0 ? "p:config" :
		   strcmp(media_type, OCIS_MT_MANIFEST) == 0 ? "p:manifest" :
		   strcmp(media_type, OCIS_MT_INDEX) == 0 ? "p:index" : "p:?");
	return ocis_hash_buffer(data, len, digest, err);
}

/* An image of one uncompressed layer "abc", with this config (JSON)
 * when not NULL; rewound. */
static int
make_stream(const char *config)
{
	struct ocis_stream_writer *w;
	struct ocis_layer_desc d;
	int fd = tap_tmpfd();

	TAP_MUST(ocis_stream_writer_new(&w, fd, NULL) == 0);
	TAP_MUST(ocis_stream_write_chunk(w, "abc", 3, NULL) == 0);
	memset(&d, 0, sizeof(d));
	strcpy(d.media_type, OCIS_MT_LAYER);
	strcpy(d.digest, ABC_SHA);
	strcpy(d.diff_id, ABC_SHA);
	d.size = d.uncompressed_size = 3;
	TAP_MUST(ocis_stream_write_layer(w, &d, NULL) == 0);
	if (config)
		TAP_MUST(ocis_stream_write_entry(w, "config.json", config, strlen(config),
						 NULL) == 0);
	TAP_MUST(ocis_stream_finish(w, NULL) == 0);
	ocis_stream_writer_free(w);
	TAP_MUST(lseek(fd, 0, SEEK_SET) == 0);
	return fd;
}

static int
read_set(int fd, struct record *rec, const struct ocis_images_opts *o, struct ocis_image_set *s,
	 ocis_error_t **err)
{
	struct ocis_blob_sink sink = { rec_begin, rec_write, rec_commit, rec_put, rec, NULL };
	struct ocis_stream_reader *r;
	int ret;

	memset(rec, 0, sizeof(*rec));
	TAP_MUST(ocis_stream_reader_new(&r, fd, 1, NULL) == 0);
	ret = ocis_images_read(r, &sink, o, s, err);
	ocis_stream_reader_free(r);
	return ret;
}

static int
test_default_config(void)
{
	struct ocis_images_opts o = { .arch = "arm64", .os = "linux", .variant = "v8",
				      .created = 5 };
	struct ocis_image_set s;
	struct record rec;
	ocis_error_t *err = NULL;
	int fd = make_stream(NULL);

	TAP_CHECK(read_set(fd, &rec, &o, &s, &err) == 0);
	/* the layer streamed and committed, then config, then manifest */
	TAP_CHECK(strcmp(rec.log, "b c p:config p:manifest ") == 0);
	TAP_CHECK(rec.bytes == 3);
	TAP_CHECK(s.images.n == 1 && s.layers == 1 && s.n_blobs == 1);
	TAP_CHECK(strcmp(s.images.v[0].arch, "arm64") == 0);
	TAP_CHECK(strcmp(s.images.v[0].variant, "v8") == 0);
	TAP_CHECK(strcmp(s.images.v[0].ref.media_type, OCIS_MT_MANIFEST) == 0);
	TAP_CHECK(s.blobs[0].n_layers == 1 && strcmp(s.blobs[0].layers[0], ABC_SHA) == 0);
	ocis_image_set_release(&s);
	close(fd);
	return 0;
}

#define CONFIG_AMD64 "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":" \
	"\"layers\",\"diff_ids\":[\"sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"]}}"

static int
test_config_checked(void)
{
	struct ocis_images_opts o = { .created = 5 };
	struct ocis_image_set s;
	struct record rec;
	ocis_error_t *err = NULL;
	int fd;

	/* the stream's config, kept as it is */
	fd = make_stream(CONFIG_AMD64);
	TAP_CHECK(read_set(fd, &rec, &o, &s, &err) == 0);
	TAP_CHECK(strcmp(s.images.v[0].arch, "amd64") == 0);
	ocis_image_set_release(&s);
	close(fd);

	/* a config of other layers is refused, naming the diff_id */
	fd = make_stream("{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{"
			    "\"type\":\"layers\",\"diff_ids\":[\"sha256:"
			    "0000000000000000000000000000000000000000000000000000000000000000\"]}}");
	TAP_CHECK(read_set(fd, &rec, &o, &s, &err) < 0);
	TAP_CHECK(strstr(err->msg, "diff_id 1") != NULL);
	ocis_error_free(&err);
	close(fd);

	/* no platform: refused */
	fd = make_stream("{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:"
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"]}}");
	TAP_CHECK(read_set(fd, &rec, &o, &s, &err) < 0);
	TAP_CHECK(strstr(err->msg, "architecture or os") != NULL);
	ocis_error_free(&err);
	close(fd);
	return 0;
}

static int
test_platforms_and_target(void)
{
	struct ocis_images_opts o = { .created = 5 };
	struct ocis_blob_sink sink = { rec_begin, rec_write, rec_commit, rec_put, NULL, NULL };
	struct ocis_index_entry t;
	struct ocis_image_set s;
	struct ocis_index two = { NULL, 0, NULL };
	struct record rec;
	ocis_error_t *err = NULL;
	int fd = make_stream(CONFIG_AMD64);

	TAP_CHECK(read_set(fd, &rec, &o, &s, &err) == 0);
	/* one image: the target is its manifest, with its platform */
	sink.ctx = &rec;
	memset(&rec, 0, sizeof(rec));
	TAP_CHECK(ocis_images_target(&s.images, OCIS_TYPES_OCI, &sink, &t, &err) == 0);
	TAP_CHECK(strcmp(t.ref.digest, s.images.v[0].ref.digest) == 0);
	TAP_CHECK(strcmp(t.arch, "amd64") == 0 && rec.log[0] == 0);
	ocis_index_entry_release(&t);

	/* two of one platform: refused unless allowed */
	TAP_CHECK(ocis_index_add(&two, &s.images.v[0], &err) == 0);
	TAP_CHECK(ocis_index_add(&two, &s.images.v[0], &err) == 0);
	TAP_CHECK(ocis_images_check_platforms(&two, 0, &err) < 0);
	TAP_CHECK(strstr(err->msg, "images 1 and 2") != NULL);
	ocis_error_free(&err);
	TAP_CHECK(ocis_images_check_platforms(&two, 1, &err) == 0);
	/* two images: an index stored through the sink */
	TAP_CHECK(ocis_images_target(&two, OCIS_TYPES_OCI, &sink, &t, &err) == 0);
	TAP_CHECK(strcmp(rec.log, "p:index ") == 0);
	TAP_CHECK(strcmp(t.ref.media_type, OCIS_MT_INDEX) == 0 && t.arch == NULL);
	ocis_index_entry_release(&t);
	ocis_index_release(&two);
	ocis_image_set_release(&s);
	close(fd);
	return 0;
}

static int
test_refused_streams(void)
{
	struct ocis_images_opts o = { .created = 5 };
	struct ocis_stream_writer *w;
	struct ocis_image_set s;
	struct record rec;
	ocis_error_t *err = NULL;
	int fd = tap_tmpfd();

	/* an upstream failure is an error naming it */
	TAP_MUST(ocis_stream_writer_new(&w, fd, NULL) == 0);
	ocis_stream_write_error(w, "oci-layer: boom");
	TAP_MUST(ocis_stream_finish(w, NULL) == 0);
	ocis_stream_writer_free(w);
	TAP_MUST(lseek(fd, 0, SEEK_SET) == 0);
	TAP_CHECK(read_set(fd, &rec, &o, &s, &err) < 0);
	TAP_CHECK(strstr(err->msg, "boom") != NULL);
	ocis_error_free(&err);
	close(fd);

	/* a stream with no image */
	fd = tap_tmpfd();
	TAP_MUST(ocis_stream_writer_new(&w, fd, NULL) == 0);
	TAP_MUST(ocis_stream_finish(w, NULL) == 0);
	ocis_stream_writer_free(w);
	TAP_MUST(lseek(fd, 0, SEEK_SET) == 0);
	TAP_CHECK(read_set(fd, &rec, &o, &s, &err) < 0);
	ocis_error_free(&err);
	close(fd);
	return 0;
}

int
main(void)
{
	TAP_PLAN(4);
	TAP_RUN(test_default_config);
	TAP_RUN(test_config_checked);
	TAP_RUN(test_platforms_and_target);
	TAP_RUN(test_refused_streams);
	return tap_done();
}
