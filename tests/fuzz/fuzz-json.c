/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer targets: the JSON readers.  One source, four programs, chosen
 * with -DFUZZ_READER=:
 *
 *   1 fuzz-layerdesc   ocis_layer_desc_from_json (ocipipe/layer.json)
 *   2 fuzz-config      ocis_config_from_json (ocipipe/config.json, --from)
 *   3 fuzz-manifest    ocis_manifest_parse (ocipipe/manifest.json)
 *   4 fuzz-index       ocis_index_from_json (index.json of a layout)
 *
 * Besides "no crash, no leak, no undefined behaviour", what a reader
 * accepts must survive a round trip where the library can write it back:
 * to_json must succeed and its output must parse again to the same bytes
 * (the writers use one fixed key order, so the second serialisation of a
 * parsed document is a fixed point).
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ocistream/imageconfig.h>
#include <ocistream/index.h>
#include <ocistream/io.h>
#include <ocistream/layerdesc.h>
#include <ocistream/manifest.h>
#include <ocistream/stream.h>

#include "fuzz-util.h"

#ifndef FUZZ_READER
#error "FUZZ_READER must be 1..4"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#if FUZZ_READER == 1
static void
one(const char *json, size_t len)
{
	struct ocis_layer_desc d, d2;
	struct ocis_buf a = OCIS_BUF_INIT, b = OCIS_BUF_INIT;
	ocis_error_t *err = NULL;

	memset(&d, 0, sizeof(d));
	memset(&d2, 0, sizeof(d2));
	if (ocis_layer_desc_from_json(&d, json, len, &err) < 0) {
		fuzz_check_error(&err);
		return;
	}
	fuzz_check(ocis_layer_desc_to_json(&d, &a, &err) == 0);
	fuzz_check(ocis_layer_desc_from_json(&d2, (char *)a.data, a.len, &err) == 0);
	fuzz_check(ocis_layer_desc_to_json(&d2, &b, &err) == 0);
	fuzz_check(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
	ocis_layer_desc_release(&d);
	ocis_layer_desc_release(&d2);
	ocis_buf_release(&a);
	ocis_buf_release(&b);
}
#elif FUZZ_READER == 2
static void
one(const char *json, size_t len)
{
	struct ocis_config c, c2;
	struct ocis_buf a = OCIS_BUF_INIT, b = OCIS_BUF_INIT;
	ocis_error_t *err = NULL;

	ocis_config_init(&c);
	ocis_config_init(&c2);
	if (ocis_config_from_json(&c, json, len, &err) < 0) {
		fuzz_check_error(&err);
		ocis_config_release(&c);
		return;
	}
	fuzz_check(ocis_config_to_json(&c, &a, &err) == 0);
	fuzz_check(ocis_config_from_json(&c2, (char *)a.data, a.len, &err) == 0);
	fuzz_check(ocis_config_to_json(&c2, &b, &err) == 0);
	fuzz_check(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
	ocis_config_release(&c);
	ocis_config_release(&c2);
	ocis_buf_release(&a);
	ocis_buf_release(&b);
}
#elif FUZZ_READER == 3
static void
one(const char *json, size_t len)
{
	struct ocis_manifest_info m;
	ocis_error_t *err = NULL;
	size_t i;

	memset(&m, 0, sizeof(m));
	if (ocis_manifest_parse(&m, json, len, &err) < 0) {
		fuzz_check_error(&err);
		return;
	}
	fuzz_check(ocis_digest_valid(m.config.digest));
	fuzz_check(memchr(m.config.media_type, '\0', sizeof(m.config.media_type)) != NULL);
	for (i = 0; i < m.n_layers; i++)
		fuzz_check(ocis_digest_valid(m.layers[i].digest));
	ocis_manifest_info_release(&m);
}
#elif FUZZ_READER == 4
static void
one(const char *json, size_t len)
{
	struct ocis_index x, y;
	struct ocis_buf a = OCIS_BUF_INIT, b = OCIS_BUF_INIT;
	ocis_error_t *err = NULL;

	memset(&x, 0, sizeof(x));
	memset(&y, 0, sizeof(y));
	if (ocis_index_from_json(&x, json, len, &err) < 0) {
		fuzz_check_error(&err);
		ocis_index_release(&x);
		return;
	}
	fuzz_check(ocis_index_to_json(&x, &a, &err) == 0);
	fuzz_check(ocis_index_from_json(&y, (char *)a.data, a.len, &err) == 0);
	fuzz_check(x.n == y.n);
	fuzz_check(ocis_index_to_json(&y, &b, &err) == 0);
	fuzz_check(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
	ocis_index_release(&x);
	ocis_index_release(&y);
	ocis_buf_release(&a);
	ocis_buf_release(&b);
}
#else
#error "FUZZ_READER must be 1..4"
#endif

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly `size` bytes, not NUL-terminated: the readers take
	 * a length and must not read past it (ASan sees an overread). */
	char *copy = malloc(size ? size : 1);

	if (copy == NULL)
		abort();
	memcpy(copy, data, size);
	one(copy, size);
	free(copy);
	return 0;
}
