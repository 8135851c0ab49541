/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of a layout directory's index.json update (ocis_pack into
 * ocis_layout_open_dir): a tag given again is pointed at the new image
 * and the entries of other tags stay, with what another tool put in
 * them; the file is replaced whole (no temporary left behind), and a run
 * that fails leaves it as it was, byte for byte.
 */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ocistream/hash.h>
#include <ocistream/index.h>
#include <ocistream/layerdesc.h>
#include <ocistream/layout.h>
#include <ocistream/pack.h>
#include <ocistream/stream.h>

#include "../tap.h"

static char dir[] = "/tmp/ocipipe-test-layout-XXXXXX";

/* An image stream of one uncompressed layer of these bytes, rewound;
 * cut (no end marker) when broken. */
static int
make_stream(const char *bytes, int broken)
{
	struct ocis_stream_writer *w;
	struct ocis_layer_desc d;
	size_t len = strlen(bytes);
	int fd = tap_tmpfd();

	TAP_MUST(ocis_stream_writer_new(&w, fd, NULL) == 0);
	TAP_MUST(ocis_stream_write_chunk(w, bytes, len, NULL) == 0);
	memset(&d, 0, sizeof(d));
	strcpy(d.media_type, OCIS_MT_LAYER);
	TAP_MUST(ocis_hash_buffer(bytes, len, d.digest, NULL) == 0);
	strcpy(d.diff_id, d.digest);
	d.size = d.uncompressed_size = len;
	if (!broken) {
		TAP_MUST(ocis_stream_write_layer(w, &d, NULL) == 0);
		TAP_MUST(ocis_stream_finish(w, NULL) == 0);
	}
	ocis_stream_writer_free(w);
	TAP_MUST(lseek(fd, 0, SEEK_SET) == 0);
	return fd;
}

/* oci-pack -o dir -t tag of that stream: 0, or -1 (layout aborted). */
static int
pack(const char *bytes, const char *tag, int broken, char digest[OCIS_DIGEST_STR_SIZE])
{
	struct ocis_stream_reader *r;
	struct ocis_layout *l;
	struct ocis_pack_opts o;
	struct ocis_pack_stats st;
	char *tags[1];
	ocis_error_t *err = NULL;
	int fd = make_stream(bytes, broken), rc;

	tags[0] = (char *)tag;
	memset(&o, 0, sizeof(o));
	o.tags = tags;
	o.n_tags = 1;
	o.arch = "amd64";
	o.os = "linux";
	memset(&st, 0, sizeof(st));
	TAP_MUST(ocis_stream_reader_new(&r, fd, 1, NULL) == 0);
	TAP_MUST(ocis_layout_open_dir(&l, dir, NULL) == 0);
	rc = ocis_pack(r, l, &o, &st, &err);
	if (rc < 0)
		ocis_layout_abort(l);
	else if (digest)
		memcpy(digest, st.top_digest, OCIS_DIGEST_STR_SIZE);
	ocis_layout_free(l);
	ocis_stream_reader_free(r);
	ocis_error_free(&err);
	close(fd);
	return rc;
}

/* The layout's index.json, whole, into a new string. */
static char *
read_index(size_t *len)
{
	char path[sizeof(dir) + 16], *s;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/index.json", dir);
	f = fopen(path, "rb");
	TAP_MUST(f != NULL && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0);
	s = malloc((size_t)n + 1);
	TAP_MUST(s != NULL && fseek(f, 0, SEEK_SET) == 0 && fread(s, 1, (size_t)n, f) == (size_t)n);
	s[n] = 0;
	fclose(f);
	*len = (size_t)n;
	return s;
}

static void
write_index(const char *s)
{
	char path[sizeof(dir) + 16];
	FILE *f;

	snprintf(path, sizeof(path), "%s/index.json", dir);
	f = fopen(path, "wb");
	TAP_MUST(f != NULL && fputs(s, f) >= 0 && fclose(f) == 0);
}

/* The digest the entry tagged tag points at, "" when none; how many
 * entries carry that tag in *count. */
static const char *
tagged(const struct ocis_index *x, const char *tag, int *count)
{
	const char *d = "";
	size_t i;

	*count = 0;
	for (i = 0; i < x->n; i++)
		if (x->v[i].ref_name && !strcmp(x->v[i].ref_name, tag)) {
			d = x->v[i].ref.digest;
			++*count;
		}
	return d;
}

/* Only index.json, oci-layout and blobs at the top: no temporary left. */
static int
top_is_clean(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int clean = 1;

	TAP_MUST(d != NULL);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    strcmp(e->d_name, "index.json") && strcmp(e->d_name, "oci-layout") &&
		    strcmp(e->d_name, "blobs")) {
			printf("# left in the layout: %s\n", e->d_name);
			clean = 0;
		}
	closedir(d);
	return clean;
}

static int
test_tag_replaced_others_kept(void)
{
	char one[OCIS_DIGEST_STR_SIZE], two[OCIS_DIGEST_STR_SIZE], again[OCIS_DIGEST_STR_SIZE];
	struct ocis_index x = { NULL, 0, NULL };
	size_t len;
	char *json;
	int n1, n2, ok;

	TAP_CHECK(pack("first image", "one", 0, one) == 0);
	TAP_CHECK(pack("second image", "two", 0, two) == 0);
	TAP_CHECK(strcmp(one, two) != 0);
	TAP_CHECK(pack("third image", "one", 0, again) == 0);
	TAP_CHECK(strcmp(again, one) != 0 && strcmp(again, two) != 0);
	json = read_index(&len);
	TAP_MUST(ocis_index_from_json(&x, json, len, NULL) == 0);
	free(json);
	ok = x.n == 2 && !strcmp(tagged(&x, "one", &n1), again) && n1 == 1 &&
	     !strcmp(tagged(&x, "two", &n2), two) && n2 == 1;
	ocis_index_release(&x);
	TAP_CHECK(ok);
	TAP_CHECK(top_is_clean());
	return 0;
}

/* What another tool wrote in index.json (its own entry, members this
 * model does not know) survives a rewrite. */
static int
test_foreign_members_kept(void)
{
	static const char foreign[] =
		"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
		"\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
		"\"digest\":\"sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\","
		"\"size\":3,\"urls\":[\"u\"],\"annotations\":{\"org.opencontainers.image.ref.name\":"
		"\"other\"}}],\"annotations\":{\"by\":\"another tool\"}}";
	size_t len;
	char *json;
	int ok;

	write_index(foreign);
	TAP_CHECK(pack("fourth image", "mine", 0, NULL) == 0);
	json = read_index(&len);
	ok = strstr(json, "\"urls\":[\"u\"]") && strstr(json, "\"by\":\"another tool\"") &&
	     strstr(json, "\"other\"") && strstr(json, "\"mine\"");
	if (!ok)
		printf("# index.json: %s\n", json);
	free(json);
	TAP_CHECK(ok);
	return 0;
}

static int
test_failed_run_leaves_index(void)
{
	size_t before_len, after_len;
	char *before = read_index(&before_len), *after;
	int ok;

	TAP_CHECK(pack("cut image", "mine", 1, NULL) < 0);
	after = read_index(&after_len);
	ok = before_len == after_len && memcmp(before, after, before_len) == 0;
	free(before);
	free(after);
	TAP_CHECK(ok);
	TAP_CHECK(top_is_clean());
	return 0;
}

int
main(void)
{
	int rc;

	TAP_MUST(mkdtemp(dir) != NULL);
	TAP_PLAN(3);
	TAP_RUN(test_tag_replaced_others_kept);
	TAP_RUN(test_foreign_members_kept);
	TAP_RUN(test_failed_run_leaves_index);
	rc = tap_done();
	if (rc == 0) {
		char cmd[sizeof(dir) + 16];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		TAP_MUST(system(cmd) == 0);
	}
	return rc;
}
