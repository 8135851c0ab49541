/* SPDX-License-Identifier: MIT */
/*
 * String vectors: see ocistream/strv.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <ocistream/strv.h>

int
ocis_strv_push(struct ocis_strv *s, const char *v, ocis_error_t **err)
{
	char **nv, *copy;

	copy = strdup(v);
	if (copy == NULL)
		return ocis_error_oom(err);
	nv = realloc(s->v, (s->n + 2) * sizeof(*nv));
	if (nv == NULL) {
		free(copy);
		return ocis_error_oom(err);
	}
	nv[s->n++] = copy;
	nv[s->n] = NULL;
	s->v = nv;
	s->set = 1;
	return 0;
}

void
ocis_strv_clear(struct ocis_strv *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
	s->set = 0;
}

int
ocis_strv_copy(struct ocis_strv *dst, const struct ocis_strv *src, ocis_error_t **err)
{
	struct ocis_strv n = { NULL, 0, 0 };
	size_t i;

	for (i = 0; i < src->n; i++)
		if (ocis_strv_push(&n, src->v[i], err) < 0) {
			ocis_strv_clear(&n);
			return -1;
		}
	n.set = src->set;
	ocis_strv_clear(dst);
	*dst = n;
	return 0;
}

/* Length of the key of "k=v" (the whole string when there is no '='). */
size_t
ocis_strv_keylen(const char *s)
{
	return strcspn(s, "=");
}

/* Index of the entry whose key equals key[0..len), or -1. */
ssize_t
ocis_strv_find_key(const struct ocis_strv *s, const char *key, size_t len)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (ocis_strv_keylen(s->v[i]) == len && memcmp(s->v[i], key, len) == 0)
			return (ssize_t)i;
	return -1;
}

/* Set "k=v": replace the entry with the same key in place, else append. */
int
ocis_strv_set_kv(struct ocis_strv *s, const char *kv, ocis_error_t **err)
{
	ssize_t i = ocis_strv_find_key(s, kv, ocis_strv_keylen(kv));
	char *copy;

	if (i < 0)
		return ocis_strv_push(s, kv, err);
	copy = strdup(kv);
	if (copy == NULL)
		return ocis_error_oom(err);
	free(s->v[i]);
	s->v[i] = copy;
	return 0;
}
