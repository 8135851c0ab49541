/* SPDX-License-Identifier: MIT */
/*
 * Small helpers the library modules share (declared in internal.h): names
 * for messages, optional string copies, growing arrays, warnings.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ocistream/error.h>

#include "internal.h"

const char *
ocis__shown(const char *name, char *buf, size_t size)
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
