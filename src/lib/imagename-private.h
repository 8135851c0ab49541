/* SPDX-License-Identifier: MIT */
/*
 * The member names that tell an image archive from a rootfs tar: those of
 * an OCI image-layout tarball and those of a docker-archive.  Pure string
 * checks, no I/O; the stream reader, the rootfs tar reader (tarin) and
 * oci-flatten each recognise images by these, so that one rule decides.
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

#endif
