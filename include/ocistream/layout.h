/* SPDX-License-Identifier: MIT */
/*
 * The OCI image-layout writer behind oci-pack: a tarball on a descriptor or
 * a layout directory, fed blob by blob.
 *
 * Disk at most once: a blob's tar header needs its name (the digest) and
 * size, known only after its bytes.  On a seekable regular file the writer
 * reserves the header block, streams the bytes, then patches the header in
 * place (a duplicate blob is rewound and overwritten).  On a pipe it spools
 * the blob once to an unlinked temporary file, then copies it out.  In a
 * directory it writes blobs/sha256/.tmp-* and renames it to the digest.
 *
 * Tarball bytes: "oci-layout", "blobs/", "blobs/sha256/", the blobs in the
 * order they were committed (each once), then "index.json"; ustar headers
 * with mode 0644 (0755 for directories), owner 0:0, no user names and the
 * caller's mtime.  Sizes above 8 GiB use GNU base-256 in the size field.
 * The same input gives the same bytes whether the output is a file or a pipe.
 *
 * Directory updates are atomic: blobs first (fsync'd), index.json last by
 * rename under an flock(2) on the layout directory; ocis_layout_abort
 * removes the blobs this run added.  Nothing inside the layout is opened
 * through a symlink.
 */
#ifndef OCISTREAM_LAYOUT_H
#define OCISTREAM_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include <ocistream/error.h>
#include <ocistream/hash.h>
#include <ocistream/io.h>

struct ocis_layout;

/* Tarball on fd (stdout). */
int ocis_layout_open_tar(struct ocis_layout **out, int fd, int64_t mtime, ocis_error_t **err);
/* Layout directory (created when missing; must be empty or a layout). */
int ocis_layout_open_dir(struct ocis_layout **out, const char *path, ocis_error_t **err);

/* Stream one blob: begin, write..., commit with its digest and size (the
 * caller has verified them). */
int ocis_layout_blob_begin(struct ocis_layout *l, ocis_error_t **err);
int ocis_layout_blob_write(struct ocis_layout *l, const void *data, size_t len,
			   ocis_error_t **err);
int ocis_layout_blob_commit(struct ocis_layout *l, const char *digest, uint64_t size,
			    ocis_error_t **err);
/* A whole small blob; its digest is returned in digest_out. */
int ocis_layout_put_blob(struct ocis_layout *l, const void *data, size_t len,
			 char digest_out[OCIS_DIGEST_STR_SIZE], ocis_error_t **err);

/* Directory only: lock and read the current index.json into out (empty when
 * there is none).  The lock is held until finish or abort. */
int ocis_layout_lock_read_index(struct ocis_layout *l, struct ocis_buf *out, ocis_error_t **err);

/* Directory only: read a blob of the layout (at most cap bytes), checking
 * its digest. */
int ocis_layout_read_blob(struct ocis_layout *l, const char *digest, struct ocis_buf *out,
			  size_t cap, ocis_error_t **err);

/* Tarball only: a plain file at the top of the layout (manifest.json and
 * repositories of a docker-archive), written before index.json. */
int ocis_layout_add_file(struct ocis_layout *l, const char *name, const void *data, size_t len,
			 ocis_error_t **err);

/* Write index.json (and the end of the tarball).  Frees nothing; call
 * ocis_layout_free after. */
int ocis_layout_finish(struct ocis_layout *l, const void *index, size_t len, ocis_error_t **err);
/* Undo what can be undone: truncate a regular output file to where it
 * started, remove blobs a directory run added. */
void ocis_layout_abort(struct ocis_layout *l);
void ocis_layout_free(struct ocis_layout *l);

#endif
