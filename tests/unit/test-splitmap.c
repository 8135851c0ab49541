/* SPDX-License-Identifier: MIT */
/* Unit tests: the split map of oci-layer --split (longest prefix on whole
 * components, layer order, the rest layer, what is refused). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ocistream/splitmap.h>

#include "../tap.h"

static int
layer_of(struct ocis_splitmap *m, const char *path)
{
	return ocis_splitmap_lookup(m, path, strlen(path), NULL);
}

static int
parse(struct ocis_splitmap *m, const char *text, ocis_error_t **err)
{
	return ocis_splitmap_parse(m, text, strlen(text), "rest", err);
}

/* Longest prefix, whole components, whatever the order of the lines. */
static int
test_lookup(void)
{
	static const char *const texts[] = {
		"a\tusr/lib\nb\tusr/lib/x/y\nc\tetc\na\tusr/share\n",
		"a\tusr/share\nb\tusr/lib/x/y\nc\tetc\na\tusr/lib\n",
	};
	size_t i;

	for (i = 0; i < 2; i++) {
		struct ocis_splitmap m;
		int a, b, c;

		TAP_CHECK(parse(&m, texts[i], NULL) == 0);
		TAP_CHECK(m.n_layers == 4);
		TAP_CHECK(strcmp(m.names[3], "rest") == 0);
		a = layer_of(&m, "usr/lib");
		b = layer_of(&m, "usr/lib/x/y");
		c = layer_of(&m, "etc/passwd");
		TAP_CHECK(strcmp(m.names[a], "a") == 0);
		TAP_CHECK(strcmp(m.names[b], "b") == 0);
		TAP_CHECK(strcmp(m.names[c], "c") == 0);
		TAP_CHECK(layer_of(&m, "usr/lib/libc.so") == a);
		TAP_CHECK(layer_of(&m, "usr/lib/x") == a);
		TAP_CHECK(layer_of(&m, "usr/lib/x/y/z/w") == b);
		TAP_CHECK(layer_of(&m, "usr/lib/x/yy") == a);
		TAP_CHECK(layer_of(&m, "usr/libexec/x") == 3);
		TAP_CHECK(layer_of(&m, "usr") == 3);
		TAP_CHECK(layer_of(&m, "") == 3);
		TAP_CHECK(layer_of(&m, "etcetera") == 3);
		TAP_CHECK(layer_of(&m, "usr/share/doc") == a);
		/* a path after a longer one shares the walk's components */
		TAP_CHECK(layer_of(&m, "usr/lib/x/y/z") == b);
		TAP_CHECK(layer_of(&m, "usr/lib/q") == a);
		ocis_splitmap_release(&m);
	}
	return 0;
}

/* The first line naming a layer fixes its place; the rest is last. */
static int
test_order(void)
{
	struct ocis_splitmap m;

	TAP_CHECK(parse(&m, "z\tb\na\tc\nz\ta\n", NULL) == 0);
	TAP_CHECK(m.n_layers == 3);
	TAP_CHECK(strcmp(m.names[0], "z") == 0);
	TAP_CHECK(strcmp(m.names[1], "a") == 0);
	TAP_CHECK(strcmp(m.names[2], "rest") == 0);
	ocis_splitmap_release(&m);
	TAP_CHECK(parse(&m, "", NULL) == 0);
	TAP_CHECK(m.n_layers == 1 && layer_of(&m, "x") == 0);
	ocis_splitmap_release(&m);
	return 0;
}

static int
refused(const char *text, const char *why)
{
	struct ocis_splitmap m;
	ocis_error_t *err = NULL;
	int ok;

	if (parse(&m, text, &err) == 0) {
		ocis_splitmap_release(&m);
		printf("# accepted: %s\n", why);
		return 0;
	}
	ok = err != NULL && strstr(err->msg, why) != NULL;
	if (!ok)
		printf("# '%s' is not '%s'\n", err ? err->msg : "(none)", why);
	ocis_error_free(&err);
	return ok;
}

static int
test_refused(void)
{
	char big[400];
	int i;

	TAP_CHECK(refused("a\t/usr\n", "line 1: absolute path"));
	TAP_CHECK(refused("a\tusr\nb\tusr\n", "line 2: path given twice (first on line 1)"));
	TAP_CHECK(refused("a\tusr/./x\n", "line 1: '.' or '..' component"));
	TAP_CHECK(refused("a\tusr/\n", "path ending with '/'"));
	TAP_CHECK(refused("a\tusr//x\n", "empty component"));
	TAP_CHECK(refused("rest\tusr\n", "the rest layer's"));
	TAP_CHECK(refused("a\tusr", "no newline at the end"));
	TAP_CHECK(refused("a\tusr\r\n", "carriage return"));
	snprintf(big, sizeof(big), "a\t%0300d\n", 0);
	TAP_CHECK(refused(big, "component over 255 bytes"));
	{
		/* 127 named layers and the rest: one too many */
		char *text = calloc(127, 16);
		size_t off = 0;
		TAP_MUST(text != NULL);
		for (i = 0; i < 127; i++)
			off += (size_t)sprintf(text + off, "l%d\td%d\n", i, i);
		TAP_CHECK(refused(text, "line 127: more than 127 layers"));
		text[off - 1 - strlen("l126\td126")] = 0;
		{
			struct ocis_splitmap m;
			TAP_CHECK(parse(&m, text, NULL) == 0);
			TAP_CHECK(m.n_layers == 127);
			ocis_splitmap_release(&m);
		}
		free(text);
	}
	return 0;
}

int
main(void)
{
	TAP_PLAN(3);
	TAP_RUN(test_lookup);
	TAP_RUN(test_order);
	TAP_RUN(test_refused);
	return tap_done();
}
