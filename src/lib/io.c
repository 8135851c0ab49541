/* SPDX-License-Identifier: MIT */
/* Full-count descriptor I/O and the growable buffer: see ocistream/io.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <ocistream/io.h>

ssize_t
ocis_read_full(int fd, void *buf, size_t len, ocis_error_t **err)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return ocis_error_set(err, errno, "read error");
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int
ocis_write_full(int fd, const void *buf, size_t len, ocis_error_t **err)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return ocis_error_set(err, errno, "write error");
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
ocis_pwrite_full(int fd, const void *buf, size_t len, off_t off, ocis_error_t **err)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return ocis_error_set(err, errno, "write error");
		}
		p += n;
		off += n;
		len -= (size_t)n;
	}
	return 0;
}

int
ocis_tmpfile(ocis_error_t **err)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	int fd;

	if (dir == NULL || *dir == 0)
		dir = "/tmp";
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	if (snprintf(path, sizeof(path), "%s/ocipipe-XXXXXX", dir) >= (int)sizeof(path))
		return ocis_error_set(err, ENAMETOOLONG, "cannot create a temporary file in '%s'",
				      dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return ocis_error_set(err, errno, "cannot create a temporary file in '%s'", dir);
	unlink(path);
	return fd;
}

int
ocis_read_file(const char *path, struct ocis_buf *out, size_t cap, ocis_error_t **err)
{
	char buf[65536];
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC), r = -1;

	if (fd < 0)
		return ocis_error_set(err, errno, "cannot open '%s'", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		ocis_error_set(err, S_ISREG(st.st_mode) ? errno : EINVAL,
			       "'%s' is not a regular file", path);
		goto out;
	}
	ocis_buf_reset(out);
	while ((n = ocis_read_full(fd, buf, sizeof(buf), err)) > 0) {
		if (out->len + (size_t)n > cap) {
			ocis_error_set(err, EFBIG, "'%s' is larger than %zu bytes", path, cap);
			goto out;
		}
		if (ocis_buf_add(out, buf, (size_t)n, err) < 0)
			goto out;
	}
	if (n < 0) {
		ocis_error_wrap(err, "reading '%s'", path);
		goto out;
	}
	if (ocis_buf_add(out, "", 0, err) < 0)
		goto out;
	r = 0;
out:
	close(fd);
	return r;
}

int
ocis_buf_grow(struct ocis_buf *b, size_t extra, ocis_error_t **err)
{
	size_t need, n;
	unsigned char *p;

	if (extra > SIZE_MAX - b->len - 1)
		return ocis_error_oom(err);
	need = b->len + extra + 1;
	if (b->cap_limit != 0 && need - 1 > b->cap_limit)
		return ocis_error_set(err, EFBIG, "data larger than %zu bytes", b->cap_limit);
	if (need <= b->alloc)
		return 0;
	n = b->alloc ? b->alloc : 64;
	while (n < need)
		n = n > SIZE_MAX / 2 ? need : n * 2;
	p = realloc(b->data, n);
	if (p == NULL)
		return ocis_error_oom(err);
	b->data = p;
	b->alloc = n;
	return 0;
}

int
ocis_buf_add(struct ocis_buf *b, const void *data, size_t len, ocis_error_t **err)
{
	if (ocis_buf_grow(b, len, err) < 0)
		return -1;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = 0;
	return 0;
}

int
ocis_buf_addstr(struct ocis_buf *b, const char *s, ocis_error_t **err)
{
	return ocis_buf_add(b, s, strlen(s), err);
}

int
ocis_buf_addf(struct ocis_buf *b, ocis_error_t **err, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return ocis_error_set(err, EINVAL, "bad format");
	if (ocis_buf_grow(b, (size_t)n, err) < 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void
ocis_buf_reset(struct ocis_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = 0;
}

void
ocis_buf_release(struct ocis_buf *b)
{
	size_t cap = b->cap_limit;

	free(b->data);
	b->data = NULL;
	b->len = b->alloc = 0;
	b->cap_limit = cap;
}

char *
ocis_buf_detach(struct ocis_buf *b, size_t *len)
{
	char *s;

	if (b->data == NULL && ocis_buf_grow(b, 0, NULL) < 0)
		return NULL;
	b->data[b->len] = 0;
	s = (char *)b->data;
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = b->alloc = 0;
	return s;
}
