/* SPDX-License-Identifier: MIT */
/*
 * Registry references as skopeo writes them: docker://HOST[:PORT]/REPO[:TAG]
 * or [@sha256:HEX], and the same without "docker://".  The grammar is the
 * distribution project's: a host is the first path component when it holds
 * a '.' or a ':' or is "localhost" ([IPv6]:PORT too); repository components
 * are lowercase alphanumerics joined by '.', '_', '__' or runs of '-'; a
 * tag is 1 to 128 of [A-Za-z0-9_.-], not starting with '.' or '-'.  There
 * is no default registry: a reference without a host is refused, so a
 * push never goes somewhere the command line does not name.
 */
#ifndef OCISTREAM_REFPARSE_H
#define OCISTREAM_REFPARSE_H

#include <ocistream/error.h>

struct ocis_image_ref {
	char *host;	/* "host[:port]", as given (lowercased) */
	char *repo;	/* "ns/name", at least one component */
	char *tag;	/* the tag; "latest" when neither tag nor digest was given */
	char *digest;	/* "sha256:<hex>" or NULL */
};

/* Parse s into *out (all strings owned by *out).  A tag together with a
 * digest is refused, as skopeo refuses it for a destination.  On failure
 * *out is left zeroed and *err says what is wrong with s. */
int ocis_image_ref_parse(const char *s, struct ocis_image_ref *out, ocis_error_t **err);
void ocis_image_ref_release(struct ocis_image_ref *r);

/* 1 when s is a valid tag (the grammar above), else 0. */
int ocis_image_tag_valid(const char *s);

#endif
