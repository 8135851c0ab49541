/* SPDX-License-Identifier: MIT */
/*
 * Image archive member names: see imagename-private.h.
 */
#include "config.h"

#include <string.h>

#include "imagename-private.h"

/* Layout member name without leading "./"; NULL when not a member.  Also
 * used by flatten.c to tell an image tarball from a rootfs tar. */
const char *
ocis__layout_member_name(const char *name)
{
	const char *n = name;
	size_t i;

	while (n[0] == '.' && n[1] == '/')
		n += 2;
	if (!strcmp(n, "oci-layout") || !strcmp(n, "index.json") || !strcmp(n, "blobs") ||
	    !strcmp(n, "blobs/") || !strcmp(n, "blobs/sha256") || !strcmp(n, "blobs/sha256/") ||
	    !strcmp(n, ".") || !strcmp(n, "./") || !strcmp(n, "") || !strcmp(n, "manifest.json") ||
	    !strcmp(n, "repositories"))
		return n;
	if (strncmp(n, "blobs/sha256/", 13) != 0 || strlen(n) != 13 + 64)
		return NULL;
	for (i = 13; i < 13 + 64; i++)
		if (!((n[i] >= '0' && n[i] <= '9') || (n[i] >= 'a' && n[i] <= 'f')))
			return NULL;
	return n;
}

int
ocis__docker_archive_name(const char *name)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
			return 0;
	/* <id>/ and what is in it (docker save), <id>.json (the config),
	 * <id>.tar (podman save, skopeo: the layers beside the <id>/ dirs) */
	return name[64] == '/' || !strcmp(name + 64, ".json") || !strcmp(name + 64, ".tar");
}

void
ocis__image_sniff_name(struct ocis__image_sniff *s, const char *p)
{
	const char *n;

	if (s->not_image)
		return;
	n = ocis__layout_member_name(p);
	while (p[0] == '.' && p[1] == '/')
		p += 2;
	if (n != NULL && !strcmp(n, "oci-layout"))
		s->layout_files |= 1;	/* both are required in a layout: */
	else if (n != NULL && !strcmp(n, "index.json"))
		s->layout_files |= 2;	/* a site may be just index.json */
	else if (n != NULL && !strcmp(n, "manifest.json"))
		s->layout_files |= 4;
	else if (n == NULL && ocis__docker_archive_name(p))
		s->docker_files = 1;
	else if (n == NULL)
		s->not_image = 1;
}

enum ocis__image_kind
ocis__image_sniff_kind(const struct ocis__image_sniff *s)
{
	if (s->not_image)
		return OCIS__IMAGE_NONE;
	if ((s->layout_files & 3) == 3)
		return OCIS__IMAGE_OCI_LAYOUT;
	/* docker save's archive: manifest.json and <id> members */
	if ((s->layout_files & 4) && s->docker_files)
		return OCIS__IMAGE_DOCKER_ARCHIVE;
	return OCIS__IMAGE_NONE;
}
