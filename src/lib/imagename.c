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
