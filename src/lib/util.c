/* SPDX-License-Identifier: MIT */
/*
 * Small helpers the library modules share (declared in internal.h): names
 * for messages, optional string copies, growing arrays, warnings, arrays
 * indexed by digest.
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ocistream/error.h>

#include "internal.h"

const char *
ocis__safe_name(const char *name, char *buf, size_t size)
{
	size_t i, j = 0;

	for (i = 0; name && name[i] && j + 1 < size; i++)
		buf[j++] = ((unsigned char)name[i] < 0x20 || name[i] == 0x7f) ? '?' : name[i];
	buf[j] = 0;
	return buf;
}

int
ocis__strdup_opt(char **dst, const char *src, ocis_error_t **err)
{
	*dst = NULL;
	if (src == NULL)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : ocis_error_oom(err);
}

int
ocis__grow(void **v, size_t *cap, size_t need, size_t size, ocis_error_t **err)
{
	size_t ncap;
	void *nv;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 64;
	while (ncap < need)
		ncap *= 2;
	nv = realloc(*v, ncap * size);
	if (nv == NULL)
		return ocis_error_oom(err);
	*v = nv;
	*cap = ncap;
	return 0;
}

void
ocis__free_secret(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

const char *
ocis__wh_component(const char *p, size_t n)
{
	const char *c = p, *end = p + n;

	for (; (c = memchr(c, '.', (size_t)(end - c))) != NULL; c++)
		if ((c == p || c[-1] == '/') && end - c >= 4 && memcmp(c, ".wh.", 4) == 0)
			return c;
	return NULL;
}

void
ocis__warnf(void (*warn)(void *ctx, const char *msg), void *ctx, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (warn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	warn(ctx, msg);
}

int
ocis__kv_cmp(const void *a, const void *b)
{
	const struct ocis__kv_item *x = a, *y = b;
	size_t n = x->klen < y->klen ? x->klen : y->klen;
	int r = memcmp(x->s, y->s, n);

	if (r != 0)
		return r;
	if (x->klen != y->klen)
		return x->klen < y->klen ? -1 : 1;
	return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

/* --- arrays indexed by digest ------------------------------------------- */

/* A digest is a hash already: its first hex digits are the slot. */
static size_t
digest_slot(const char *digest, size_t n_slots)
{
	uint64_t h = 0;
	size_t i;

	for (i = 7; i < 7 + 16 && digest[i]; i++)
		h = h * 16 + (uint64_t)(digest[i] <= '9' ? digest[i] - '0' : digest[i] - 'a' + 10);
	return (size_t)h & (n_slots - 1);
}

#define DIGEST_AT(base, stride, k) ((const char *)(base) + (stride) * (k))

const void *
ocis__dix_find(const struct ocis__digest_index *x, const void *base, size_t stride,
	       const char *digest)
{
	size_t i;

	if (x->n_slots == 0)
		return NULL;
	for (i = digest_slot(digest, x->n_slots); x->slots[i]; i = (i + 1) & (x->n_slots - 1))
		if (strcmp(DIGEST_AT(base, stride, x->slots[i] - 1), digest) == 0)
			return DIGEST_AT(base, stride, x->slots[i] - 1);
	return NULL;
}

/* Slot of element j: a free one, or the one of an element with the same
 * digest, which j replaces (the last one wins). */
static void
dix_put(struct ocis__digest_index *x, const void *base, size_t stride, size_t j)
{
	const char *d = DIGEST_AT(base, stride, j);
	size_t i;

	for (i = digest_slot(d, x->n_slots); x->slots[i]; i = (i + 1) & (x->n_slots - 1))
		if (strcmp(DIGEST_AT(base, stride, x->slots[i] - 1), d) == 0)
			break;
	x->slots[i] = j + 1;
}

int
ocis__dix_add(struct ocis__digest_index *x, const void *base, size_t stride, size_t k,
	      ocis_error_t **err)
{
	size_t j;

	if ((k + 1) * 2 > x->n_slots) {
		size_t n = x->n_slots ? x->n_slots * 2 : 64;
		size_t *v = calloc(n, sizeof(*v));

		if (v == NULL)
			return ocis_error_oom(err);
		free(x->slots);
		x->slots = v;
		x->n_slots = n;
		for (j = 0; j < k; j++)
			dix_put(x, base, stride, j);
	}
	dix_put(x, base, stride, k);
	return 0;
}

int
ocis__thread_start(pthread_t *tid, void *(*fn)(void *), void *arg, ocis_error_t **err)
{
	sigset_t all, old;
	int r;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(tid, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		return ocis_error_set(err, r, "cannot start a thread");
	return 0;
}
