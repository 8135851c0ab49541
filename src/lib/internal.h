/* SPDX-License-Identifier: MIT */
/*
 * The small helpers every library module may use (util.c): names safe to
 * show in messages, growing arrays, key=value sorting, arrays indexed by
 * digest, secrets wiped, warnings formatted.  Never included by the
 * programs.  A module's own private declarations are in its
 * <module>-private.h (tar blocks: tarhdr-private.h).
 */
#ifndef OCISTREAM_INTERNAL_H
#define OCISTREAM_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct ocis_error;
/* A name as it may be shown in a one-line message: control characters
 * become '?', other bytes are kept; truncated to fit buf.  Returns buf. */
const char *ocis__safe_name(const char *name, char *buf, size_t size);
/* *dst = copy of src, or NULL when src is NULL.  0, or -1 (out of memory). */
int ocis__strdup_opt(char **dst, const char *src, struct ocis_error **err);
/* Make room for need elements of size bytes in *v (capacity *cap). */
int ocis__grow(void **v, size_t *cap, size_t need, size_t size, struct ocis_error **err);
/* Sorting "key=value" (or "key") strings by key, stable: fill s, klen
 * (key length) and idx (original position), qsort with ocis__kv_cmp; equal
 * keys stay in input order, so "the last one wins" is the last of a run. */
struct ocis__kv_item {
	const char *s;
	size_t klen;
	size_t idx;
};
int ocis__kv_cmp(const void *a, const void *b);
/* An array whose elements start with a digest string ("sha256:<hex>"),
 * indexed by it: a hash table of positions (slots hold index + 1, 0 is
 * free; n_slots a power of two), zero-initialised, free(slots) to drop.
 * Linear lookups made hostile inputs with many blobs quadratic. */
struct ocis__digest_index {
	size_t *slots;
	size_t n_slots;
};
/* The element of base (stride bytes each) with this digest, or NULL. */
const void *ocis__dix_find(const struct ocis__digest_index *x, const void *base, size_t stride,
			   const char *digest);
/* Index element k of base (0..k-1 are indexed already; base may have
 * moved); of elements with the same digest the last one is found. */
int ocis__dix_add(struct ocis__digest_index *x, const void *base, size_t stride, size_t k,
		  struct ocis_error **err);
/* Overwrite a secret string (password, token, Authorization header)
 * before freeing it; NULL is fine. */
void ocis__free_secret(char *s);
/* The first component of the name p[0..n) that starts with ".wh." (a
 * whiteout name, or below one), or NULL: one memchr() a '.', where a
 * search for the whole string went a few bytes a step through names of
 * thousands of bytes. */
const char *ocis__wh_component(const char *p, size_t n);
/* Format a warning and pass it to warn(ctx, msg) when warn is set. */
void ocis__warnf(void (*warn)(void *ctx, const char *msg), void *ctx, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The first failure among a group of threads (compress.c, blockpool.c),
 * under the group's lock: *kept takes *e (or a `what` error when there is
 * none) unless it holds one already; *e is freed either way. */
void ocis__error_keep_first(struct ocis_error **kept, struct ocis_error **e, const char *what);
/* A copy of the kept failure for a caller, so that every later call fails
 * the same way: its message and its errno (EPIPE from a closed output),
 * or `what`.  Returns -1. */
int ocis__error_copy_kept(const struct ocis_error *kept, struct ocis_error **err,
			  const char *what);

/* Start a library thread with every signal blocked (a write to a closed
 * pipe then fails with EPIPE instead of raising SIGPIPE there). */
int ocis__thread_start(pthread_t *tid, void *(*fn)(void *), void *arg, struct ocis_error **err);

/* A zeroed buffer of len bytes in huge pages where the kernel gives them
 * (transparent huge pages, "madvise" or "always"); NULL (and *err) on
 * failure.  For the few big buffers that every byte of a layer passes
 * through and that are filled whole: 4 KiB pages touched one by one cost
 * a fault each, 13 us in the benchmark machine's VM (0.07 s a run), a
 * huge page one fault per 2 MiB.  Free with ocis__big_free and the same
 * len. */
void *ocis__big_alloc(size_t len, struct ocis_error **err);
void ocis__big_free(void *p, size_t len);

#endif
