/* SPDX-License-Identifier: MIT */
/*
 * The member names that tell an image archive from a rootfs tar: those of
 * an OCI image-layout tarball and those of a docker-archive.  Pure string
 * checks, no I/O; the stream reader, the rootfs tar reader (tarin) and
 * oci-flatten each recognise images by these, so that one rule decides;
 * the rootfs tar reader also tells a whole archive by them (sniff).
 */
#ifndef OCISTREAM_IMAGENAME_PRIVATE_H
#define OCISTREAM_IMAGENAME_PRIVATE_H

/* The name of an OCI image-layout tarball member (oci-layout, index.json,
 * blobs/sha256/<hex>, their directories, the root, docker-archive files)
 * without leading "./"; NULL for any other name. */
const char *ocis__layout_member_name(const char *name);
/* 1 when name is one of a docker-archive (docker save, podman save): the
 * first entries of one start with a 64-hex id. */
int ocis__docker_archive_name(const char *name);

/* What the member names of an archive, given one by one, say it is: a
 * rootfs tar is anything with a name no image has; an OCI image tarball
 * has oci-layout and index.json (a site may hold just index.json) and
 * nothing else; a docker-archive (docker save) has manifest.json and
 * <id> members.  Zero-initialised. */
struct ocis__image_sniff {
	int not_image;		/* a name no image archive has */
	int layout_files;	/* 1: oci-layout seen, 2: index.json, 4: manifest.json */
	int docker_files;	/* <id>/..., <id>.json, <id>.tar seen */
};
enum ocis__image_kind {
	OCIS__IMAGE_NONE,		/* a rootfs tar, or too little to tell */
	OCIS__IMAGE_OCI_LAYOUT,
	OCIS__IMAGE_DOCKER_ARCHIVE,
};
void ocis__image_sniff_name(struct ocis__image_sniff *s, const char *name);
/* What the names so far make the archive: for its end. */
enum ocis__image_kind ocis__image_sniff_kind(const struct ocis__image_sniff *s);

#endif
