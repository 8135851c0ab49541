/* SPDX-License-Identifier: MIT */
/*
 * Raw descriptor I/O and a growable byte buffer.
 *
 * Data goes through file descriptors with full-count loops that retry on
 * EINTR and continue after short writes (pigz's readn/writen idea); stdio is
 * for diagnostics only.
 */
#ifndef OCISTREAM_IO_H
#define OCISTREAM_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ocistream/error.h>

/* Read up to len bytes, stopping early only at end of file.  Returns the
 * number of bytes read (0 at EOF), -1 with *err set on error. */
ssize_t ocis_read_full(int fd, void *buf, size_t len, ocis_error_t **err);

/* Write all len bytes.  Returns 0, or -1 with *err set (EPIPE included). */
int ocis_write_full(int fd, const void *buf, size_t len, ocis_error_t **err);

/* pwrite all len bytes at off.  Returns 0 or -1. */
int ocis_pwrite_full(int fd, const void *buf, size_t len, off_t off, ocis_error_t **err);

/* A temporary file without a name, read-write, in $TMPDIR (default /tmp):
 * O_TMPFILE, or mkstemp and unlink where the file system lacks it, so
 * nothing is left behind whatever way the program ends.  Returns the
 * descriptor, or -1 with *err naming the directory. */
int ocis_tmpfile(ocis_error_t **err);

/*
 * Growable byte buffer.  Invariant: data is NUL-terminated (data[len] == 0)
 * once anything was added, so a JSON document can be used as a C string.
 * `cap_limit` (0 = none) makes appends that would exceed it fail, so a
 * hostile input cannot make a reader allocate without bound.
 */
struct ocis_buf {
	unsigned char *data;
	size_t len;
	size_t alloc;
	size_t cap_limit;
};
#define OCIS_BUF_INIT { NULL, 0, 0, 0 }

int ocis_buf_grow(struct ocis_buf *b, size_t extra, ocis_error_t **err);
int ocis_buf_add(struct ocis_buf *b, const void *data, size_t len, ocis_error_t **err);
int ocis_buf_addstr(struct ocis_buf *b, const char *s, ocis_error_t **err);
int ocis_buf_addf(struct ocis_buf *b, ocis_error_t **err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void ocis_buf_reset(struct ocis_buf *b);	/* len = 0, keeps memory */
void ocis_buf_release(struct ocis_buf *b);	/* frees memory, back to INIT */
/* Steal the contents as a NUL-terminated malloc'd string; buffer is reset to INIT. */
char *ocis_buf_detach(struct ocis_buf *b, size_t *len);

/* The whole regular file at path into out (replacing its contents), at
 * most cap bytes (a larger file is an error).  On failure *err->code is
 * the errno (ENOENT for a missing file). */
int ocis_read_file(const char *path, struct ocis_buf *out, size_t cap, ocis_error_t **err);

#endif
