/* SPDX-License-Identifier: MIT */
/*
 * Held bytes: see ocistream/spill.h.
 *
 * Layout of an item: the first `flen` bytes in the file (written with
 * pwrite at their offsets, so a hole is only a larger `flen`), the rest in
 * `mem`.  While the item fits in `limit`, all of it is in `mem`; once it
 * does not, `mem` is a write buffer in front of the file, flushed when the
 * next piece would take it past `limit`.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ocistream/spill.h>

#define RBUF_SIZE (256 * 1024)

void
ocis_spill_init(struct ocis_spill *s, size_t limit)
{
	memset(s, 0, sizeof(*s));
	s->limit = limit;
	s->fd = -1;
}

int
ocis_spill_reset(struct ocis_spill *s, ocis_error_t **err)
{
	ocis_buf_reset(&s->mem);
	if (s->in_file && ftruncate(s->fd, 0) < 0)
		return ocis_error_set(err, errno, "cannot truncate the temporary file");
	s->in_file = 0;
	s->flen = 0;
	return 0;
}

/* Write the memory part at its place in the file. */
static int
flush(struct ocis_spill *s, ocis_error_t **err)
{
	if (s->mem.len > 0 &&
	    ocis_pwrite_full(s->fd, s->mem.data, s->mem.len, (off_t)s->flen, err) < 0)
		return ocis_error_wrap(err, "temporary file");
	s->flen += s->mem.len;
	ocis_buf_reset(&s->mem);
	return 0;
}

/* Room for n more bytes: in memory when they fit, else in the file (made
 * at the first need), with what memory held written there first.
 * Returns 1 when the n bytes go into memory, 0 when at flen in the file. */
static int
make_room(struct ocis_spill *s, uint64_t n, ocis_error_t **err)
{
	if (n <= s->limit && s->mem.len + n <= s->limit)
		return 1;
	if (!s->in_file) {
		if (s->fd < 0 && (s->fd = ocis_tmpfile(err)) < 0)
			return -1;
		s->in_file = 1;
	}
	if (flush(s, err) < 0)
		return -1;
	return n <= s->limit;
}

int
ocis_spill_add(struct ocis_spill *s, const void *data, size_t len, ocis_error_t **err)
{
	int r = make_room(s, len, err);

	if (r < 0)
		return -1;
	if (r > 0)
		return ocis_buf_add(&s->mem, data, len, err);
	if (ocis_pwrite_full(s->fd, data, len, (off_t)s->flen, err) < 0)
		return ocis_error_wrap(err, "temporary file");
	s->flen += len;
	return 0;
}

int
ocis_spill_zeros(struct ocis_spill *s, uint64_t n, ocis_error_t **err)
{
	int r = make_room(s, n, err);

	if (r < 0)
		return -1;
	if (r == 0) {
		if (n > (uint64_t)INT64_MAX - s->flen)
			return ocis_error_set(err, EFBIG, "temporary file: too large");
		s->flen += n;	/* a hole */
		return 0;
	}
	if (ocis_buf_grow(&s->mem, (size_t)n, err) < 0)
		return -1;
	memset(s->mem.data + s->mem.len, 0, (size_t)n + 1);
	s->mem.len += (size_t)n;
	return 0;
}

uint64_t
ocis_spill_size(const struct ocis_spill *s)
{
	return s->flen + s->mem.len;
}

int
ocis_spill_in_file(const struct ocis_spill *s)
{
	return s->in_file;
}

int
ocis_spill_replay(struct ocis_spill *s,
		  int (*out)(void *ctx, const void *data, size_t len, ocis_error_t **err),
		  void *ctx, ocis_error_t **err)
{
	uint64_t at = 0;

	if (s->in_file) {
		/* a hole at the end has no byte written after it */
		if (ftruncate(s->fd, (off_t)s->flen) < 0)
			return ocis_error_set(err, errno, "cannot extend the temporary file");
		if (s->rbuf == NULL && (s->rbuf = malloc(RBUF_SIZE)) == NULL)
			return ocis_error_oom(err);
	}
	while (at < s->flen) {
		size_t want = s->flen - at < RBUF_SIZE ? (size_t)(s->flen - at) : RBUF_SIZE;
		ssize_t n = pread(s->fd, s->rbuf, want, (off_t)at);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return ocis_error_set(err, errno, "temporary file: read error");
		if (n == 0)
			return ocis_error_set(err, 0, "temporary file: shorter than written");
		if (out(ctx, s->rbuf, (size_t)n, err) < 0)
			return -1;
		at += (uint64_t)n;
	}
	return s->mem.len > 0 ? out(ctx, s->mem.data, s->mem.len, err) : 0;
}

void
ocis_spill_release(struct ocis_spill *s)
{
	ocis_buf_release(&s->mem);
	free(s->rbuf);
	if (s->fd >= 0)
		close(s->fd);
	ocis_spill_init(s, s->limit);
}
