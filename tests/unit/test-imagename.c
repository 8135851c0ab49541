/* SPDX-License-Identifier: MIT */
/* Unit tests: the names that tell an image archive from a rootfs tar
 * (src/lib/imagename-private.h): layout members exactly, docker-archive
 * ids of 64 lowercase hex digits, and what a whole archive's names make
 * it (one name no image has makes it a rootfs tar). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "lib/imagename-private.h"

#include "../tap.h"

static const char hex64[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static int
test_layout_member_names(void)
{
	char blob[128];

	snprintf(blob, sizeof(blob), "./blobs/sha256/%s", hex64);
	TAP_CHECK(strcmp(ocis__layout_member_name("./index.json"), "index.json") == 0);
	TAP_CHECK(strcmp(ocis__layout_member_name("oci-layout"), "oci-layout") == 0);
	TAP_CHECK(strcmp(ocis__layout_member_name("././blobs/sha256/"), "blobs/sha256/") == 0);
	TAP_CHECK(strcmp(ocis__layout_member_name(blob), blob + 2) == 0);
	TAP_CHECK(ocis__layout_member_name("etc/index.json") == NULL);
	TAP_CHECK(ocis__layout_member_name("index.json/") == NULL);
	blob[20] = 'A';		/* uppercase hex is no digest */
	TAP_CHECK(ocis__layout_member_name(blob) == NULL);
	snprintf(blob, sizeof(blob), "blobs/sha256/%s0", hex64);	/* 65 digits */
	TAP_CHECK(ocis__layout_member_name(blob) == NULL);
	return 0;
}

static int
test_docker_archive_names(void)
{
	char n[128];

	snprintf(n, sizeof(n), "%s/layer.tar", hex64);
	TAP_CHECK(ocis__docker_archive_name(n));
	snprintf(n, sizeof(n), "%s.json", hex64);
	TAP_CHECK(ocis__docker_archive_name(n));
	snprintf(n, sizeof(n), "%s.tar", hex64);
	TAP_CHECK(ocis__docker_archive_name(n));
	snprintf(n, sizeof(n), "%s.txt", hex64);
	TAP_CHECK(!ocis__docker_archive_name(n));
	TAP_CHECK(!ocis__docker_archive_name("0123/layer.tar"));
	TAP_CHECK(!ocis__docker_archive_name(""));
	return 0;
}

/* The kind of an archive with these names. */
static enum ocis__image_kind
kind_of(const char *const *names)
{
	struct ocis__image_sniff s;

	memset(&s, 0, sizeof(s));
	for (; *names; names++)
		ocis__image_sniff_name(&s, *names);
	return ocis__image_sniff_kind(&s);
}

static int
test_sniff(void)
{
	char id_dir[80], id_json[80];
	const char *layout[] = { "./", "./oci-layout", "./index.json", "./blobs/", NULL };
	const char *index_only[] = { "index.json", NULL };
	const char *layout_and_file[] = { "oci-layout", "index.json", "etc/passwd", NULL };
	const char *docker[] = { id_dir, id_json, "manifest.json", "repositories", NULL };
	const char *docker_no_manifest[] = { id_dir, id_json, NULL };

	snprintf(id_dir, sizeof(id_dir), "%s/", hex64);
	snprintf(id_json, sizeof(id_json), "%s.json", hex64);
	TAP_CHECK(kind_of(layout) == OCIS__IMAGE_OCI_LAYOUT);
	TAP_CHECK(kind_of(index_only) == OCIS__IMAGE_NONE);
	TAP_CHECK(kind_of(layout_and_file) == OCIS__IMAGE_NONE);
	TAP_CHECK(kind_of(docker) == OCIS__IMAGE_DOCKER_ARCHIVE);
	TAP_CHECK(kind_of(docker_no_manifest) == OCIS__IMAGE_NONE);
	return 0;
}

int
main(void)
{
	TAP_PLAN(3);
	TAP_RUN(test_layout_member_names);
	TAP_RUN(test_docker_archive_names);
	TAP_RUN(test_sniff);
	return tap_done();
}
