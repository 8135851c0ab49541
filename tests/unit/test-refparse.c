/* SPDX-License-Identifier: MIT */
/* Unit tests: registry references as skopeo writes them (refparse). */
#include "config.h"

#include <string.h>

#include <ocistream/refparse.h>

#include "../tap.h"

#define D64 "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* parse s and compare with host, repo, tag, digest (NULL = none) */
static int
parses(const char *s, const char *host, const char *repo, const char *tag, const char *digest)
{
	struct ocis_image_ref r;
	ocis_error_t *err = NULL;
	int ok;

	if (ocis_image_ref_parse(s, &r, &err) < 0) {
		printf("# '%s': %s\n", s, err->msg);
		ocis_error_free(&err);
		return 0;
	}
	ok = !strcmp(r.host, host) && !strcmp(r.repo, repo) &&
	     (tag ? r.tag && !strcmp(r.tag, tag) : r.tag == NULL) &&
	     (digest ? r.digest && !strcmp(r.digest, digest) : r.digest == NULL);
	if (!ok)
		printf("# '%s' -> %s %s %s %s\n", s, r.host, r.repo, r.tag ? r.tag : "-",
		       r.digest ? r.digest : "-");
	ocis_image_ref_release(&r);
	return ok;
}

static int
refused(const char *s)
{
	struct ocis_image_ref r;
	ocis_error_t *err = NULL;

	if (ocis_image_ref_parse(s, &r, &err) == 0) {
		printf("# '%s' was accepted\n", s);
		ocis_image_ref_release(&r);
		return 0;
	}
	/* a one-line message, *out left empty */
	TAP_MUST(err && err->msg && strchr(err->msg, '\n') == NULL);
	TAP_MUST(r.host == NULL && r.repo == NULL && r.tag == NULL);
	ocis_error_free(&err);
	return 1;
}

static int
test_forms(void)
{
	TAP_CHECK(parses("docker://reg.example:5000/app:1.0", "reg.example:5000", "app", "1.0", NULL));
	TAP_CHECK(parses("reg.example/ns/app", "reg.example", "ns/app", "latest", NULL));
	TAP_CHECK(parses("localhost/a/b/c:v1.2-rc_3", "localhost", "a/b/c", "v1.2-rc_3", NULL));
	TAP_CHECK(parses("127.0.0.1:5000/x@" D64, "127.0.0.1:5000", "x", NULL, D64));
	TAP_CHECK(parses("[::1]:5000/x:t", "[::1]:5000", "x", "t", NULL));
	TAP_CHECK(parses("REG.Example/x", "reg.example", "x", "latest", NULL));
	TAP_CHECK(parses("h.io/a.b/c__d/e-f---g", "h.io", "a.b/c__d/e-f---g", "latest", NULL));
	return 0;
}

static int
test_refused(void)
{
	TAP_CHECK(refused("app:1.0"));			/* no registry */
	TAP_CHECK(refused("ns/app"));			/* "ns" is no host */
	TAP_CHECK(refused("docker://"));
	TAP_CHECK(refused("oci:dir:tag"));
	TAP_CHECK(refused("h.io/"));
	TAP_CHECK(refused("h.io/App"));			/* uppercase repository */
	TAP_CHECK(refused("h.io/a//b"));
	TAP_CHECK(refused("h.io/a/"));
	TAP_CHECK(refused("h.io/-a"));
	TAP_CHECK(refused("h.io/a-"));
	TAP_CHECK(refused("h.io/a___b"));
	TAP_CHECK(refused("h.io/a:"));
	TAP_CHECK(refused("h.io/a:.t"));
	TAP_CHECK(refused("h.io/a:t@" D64));		/* tag and digest */
	TAP_CHECK(refused("h.io/a@sha256:abc"));
	TAP_CHECK(refused("h.io:0/a"));
	TAP_CHECK(refused("h.io:65536/a"));
	TAP_CHECK(refused("h.io:/a"));
	TAP_CHECK(refused("-h.io/a"));
	TAP_CHECK(refused("h..io/a"));
	TAP_CHECK(refused("[::1/a"));
	return 0;
}

static int
test_tags(void)
{
	char t[130];

	TAP_CHECK(ocis_image_tag_valid("latest"));
	TAP_CHECK(ocis_image_tag_valid("_x"));
	TAP_CHECK(!ocis_image_tag_valid(""));
	TAP_CHECK(!ocis_image_tag_valid("-x"));
	TAP_CHECK(!ocis_image_tag_valid("a/b"));
	memset(t, 'a', 128);
	t[128] = 0;
	TAP_CHECK(ocis_image_tag_valid(t));
	t[128] = 'a';
	t[129] = 0;
	TAP_CHECK(!ocis_image_tag_valid(t));
	return 0;
}

int
main(void)
{
	TAP_PLAN(3);
	TAP_RUN(test_forms);
	TAP_RUN(test_refused);
	TAP_RUN(test_tags);
	return tap_done();
}
