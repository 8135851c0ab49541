/* SPDX-License-Identifier: MIT */
/*
 * String vectors: a NULL-terminated, owned list of owned strings, with an
 * "absent" state distinct from "empty" (the image config tells "Cmd"
 * missing from "Cmd": []), and "key=value" lookups for Env and Labels.
 */
#ifndef OCISTREAM_STRV_H
#define OCISTREAM_STRV_H

#include <stddef.h>
#include <sys/types.h>

#include <ocistream/error.h>

/* set == 0 means "absent"; an explicitly empty list is set == 1, n == 0. */
struct ocis_strv {
	char **v;
	size_t n;
	int set;
};

/* Append a copy of v (set becomes 1). */
int ocis_strv_push(struct ocis_strv *s, const char *v, ocis_error_t **err);
/* Free everything, back to absent (set = 0). */
void ocis_strv_clear(struct ocis_strv *s);
/* Replace dst by a copy of src (set flag included); dst unchanged on failure. */
int ocis_strv_copy(struct ocis_strv *dst, const struct ocis_strv *src, ocis_error_t **err);

/* Length of the key of "k=v" (the whole string when there is no '='). */
size_t ocis_strv_keylen(const char *s);
/* Index of the entry whose key equals key[0..len), or -1. */
ssize_t ocis_strv_find_key(const struct ocis_strv *s, const char *key, size_t len);
/* Set "k=v": replace the entry with the same key in place, else append. */
int ocis_strv_set_kv(struct ocis_strv *s, const char *kv, ocis_error_t **err);

#endif
