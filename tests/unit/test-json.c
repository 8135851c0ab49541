/* SPDX-License-Identifier: MIT */
/* Unit tests: JSON generation and parsing helpers. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <ocistream/json.h>

#include "../tap.h"

static int
test_generate_fixed_order(void)
{
	struct ocis_buf b = OCIS_BUF_INIT;
	yajl_gen g = ocis_json_gen_new();
	int s = 0;

	s |= ocis_json_open_map(g);
	s |= ocis_json_kv_str(g, "z", "1");
	s |= ocis_json_kv_u64(g, "a", 18446744073709551615ULL);
	s |= ocis_json_key(g, "l");
	s |= ocis_json_open_array(g);
	s |= ocis_json_str(g, "x\"y/\n");
	s |= ocis_json_close_array(g);
	s |= ocis_json_close_map(g);
	TAP_CHECK(ocis_json_gen_finish(g, s, "test", &b, NULL) == 0);
	TAP_CHECK(strcmp((char *)b.data,
			 "{\"z\":\"1\",\"a\":18446744073709551615,\"l\":[\"x\\\"y/\\n\"]}") == 0);
	ocis_buf_release(&b);
	return 0;
}

static int
test_invalid_utf8_refused(void)
{
	struct ocis_buf b = OCIS_BUF_INIT;
	ocis_error_t *err = NULL;
	yajl_gen g = ocis_json_gen_new();
	int s = ocis_json_str(g, "\xff\xfe");

	TAP_CHECK(ocis_json_gen_finish(g, s, "test", &b, &err) < 0);
	TAP_CHECK(err && strstr(err->msg, "UTF-8"));
	ocis_error_free(&err);
	ocis_buf_release(&b);
	return 0;
}

static int
test_parse_and_get(void)
{
	const char *j = "{\"a\":\"b\",\"n\":42,\"neg\":-1,\"o\":{\"k\":[1,2]}}";
	yajl_val v = NULL;
	uint64_t n;

	TAP_CHECK(ocis_json_parse(j, strlen(j), "t", &v, NULL) == 0);
	TAP_CHECK(strcmp(ocis_json_get_str(v, "a"), "b") == 0);
	TAP_CHECK(ocis_json_get_u64(v, "n", &n) == 0 && n == 42);
	TAP_CHECK(ocis_json_get_u64(v, "neg", &n) < 0);
	TAP_CHECK(ocis_json_get_str(v, "n") == NULL);
	TAP_CHECK(ocis_json_get(ocis_json_get(v, "o"), "k") != NULL);
	yajl_tree_free(v);
	return 0;
}

static int
test_parse_errors(void)
{
	ocis_error_t *err = NULL;
	yajl_val v = NULL;
	char *deep;
	size_t i;

	TAP_CHECK(ocis_json_parse("{\"a\":", 5, "doc", &v, &err) < 0);
	TAP_CHECK(err && strncmp(err->msg, "parsing doc: ", 13) == 0 && !strchr(err->msg, '\n'));
	ocis_error_free(&err);
	/* nesting beyond the limit is refused before yajl sees it */
	deep = malloc(200001);
	for (i = 0; i < 100000; i++)
		deep[i] = '[';
	for (i = 0; i < 100000; i++)
		deep[100000 + i] = ']';
	deep[200000] = 0;
	TAP_CHECK(ocis_json_parse(deep, 200000, "deep", &v, &err) < 0);
	TAP_CHECK(err && strstr(err->msg, "nested deeper"));
	ocis_error_free(&err);
	free(deep);
	/* an embedded NUL is refused */
	TAP_CHECK(ocis_json_parse("{}\0{}", 5, "nul", &v, &err) < 0);
	ocis_error_free(&err);
	return 0;
}

int
main(void)
{
	TAP_PLAN(4);
	TAP_RUN(test_generate_fixed_order);
	TAP_RUN(test_invalid_utf8_refused);
	TAP_RUN(test_parse_and_get);
	TAP_RUN(test_parse_errors);
	return tap_done();
}
