/* SPDX-License-Identifier: MIT */
/* JSON helpers: see ocistream/json.h. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ocistream/json.h>
#include <ocistream/strv.h>

#include "internal.h"

yajl_gen
ocis_json_gen_new(void)
{
	yajl_gen g = yajl_gen_alloc(NULL);

	if (g == NULL)
		return NULL;
	yajl_gen_config(g, yajl_gen_beautify, 0);
	yajl_gen_config(g, yajl_gen_validate_utf8, 1);
	return g;
}

int
ocis_json_key(yajl_gen g, const char *key)
{
	return yajl_gen_string(g, (const unsigned char *)key, strlen(key));
}

int
ocis_json_str(yajl_gen g, const char *s)
{
	return yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

int
ocis_json_strn(yajl_gen g, const char *s, size_t len)
{
	return yajl_gen_string(g, (const unsigned char *)s, len);
}

int
ocis_json_kv_str(yajl_gen g, const char *key, const char *value)
{
	return ocis_json_key(g, key) || ocis_json_str(g, value);
}

int
ocis_json_u64(yajl_gen g, uint64_t value)
{
	char num[32];
	int n = snprintf(num, sizeof(num), "%" PRIu64, value);

	/* yajl_gen_integer takes a long long; write the digits ourselves so
	 * values above 2^63 stay exact. */
	return yajl_gen_number(g, num, (size_t)n);
}

int
ocis_json_i64(yajl_gen g, int64_t value)
{
	return yajl_gen_integer(g, (long long)value);
}

int
ocis_json_kv_u64(yajl_gen g, const char *key, uint64_t value)
{
	return ocis_json_key(g, key) || ocis_json_u64(g, value);
}

int
ocis_json_bool(yajl_gen g, int v)
{
	return yajl_gen_bool(g, v);
}

int ocis_json_open_map(yajl_gen g) { return yajl_gen_map_open(g); }
int ocis_json_close_map(yajl_gen g) { return yajl_gen_map_close(g); }
int ocis_json_open_array(yajl_gen g) { return yajl_gen_array_open(g); }
int ocis_json_close_array(yajl_gen g) { return yajl_gen_array_close(g); }

int
ocis_json_sorted_map(yajl_gen g, char *const *v, size_t n, int kv, int *status,
		     ocis_error_t **err)
{
	struct ocis__kv_item *it;
	size_t i;
	int st = 0;

	it = calloc(n ? n : 1, sizeof(*it));
	if (it == NULL)
		return ocis_error_oom(err);
	for (i = 0; i < n; i++) {
		it[i].s = v[i];
		it[i].klen = kv ? ocis_strv_keylen(v[i]) : strlen(v[i]);
		it[i].idx = i;
	}
	if (n > 1)
		qsort(it, n, sizeof(*it), ocis__kv_cmp);
	st |= ocis_json_open_map(g);
	for (i = 0; i < n; i++) {
		if (i + 1 < n && it[i].klen == it[i + 1].klen &&
		    memcmp(it[i].s, it[i + 1].s, it[i].klen) == 0)
			continue;	/* a later duplicate follows */
		st |= ocis_json_strn(g, it[i].s, it[i].klen);
		if (kv) {
			const char *val = it[i].s + it[i].klen;
			st |= ocis_json_str(g, *val == '=' ? val + 1 : val);
		} else {
			st |= ocis_json_open_map(g);
			st |= ocis_json_close_map(g);
		}
	}
	st |= ocis_json_close_map(g);
	free(it);
	*status |= st;
	return 0;
}

int
ocis_json_gen_finish(yajl_gen g, int status, const char *what, struct ocis_buf *out,
		     ocis_error_t **err)
{
	const unsigned char *p;
	size_t len;
	int r = -1;

	if (g == NULL)
		return ocis_error_oom(err);
	if (status != 0) {
		if (status == yajl_gen_invalid_string)
			ocis_error_set(err, EINVAL, "writing %s: a value is not valid UTF-8", what);
		else
			ocis_error_set(err, EINVAL, "writing %s: json generator error %d", what, status);
		goto out;
	}
	if (yajl_gen_get_buf(g, &p, &len) != yajl_gen_status_ok) {
		ocis_error_set(err, EINVAL, "writing %s: json generator error", what);
		goto out;
	}
	ocis_buf_reset(out);
	r = ocis_buf_add(out, p, len, err);
out:
	yajl_gen_free(g);
	return r;
}

/* Nesting depth of a JSON text, counting brackets outside strings.  A
 * malformed text may give a wrong count; the parser rejects it anyway. */
static size_t
json_depth(const char *s, size_t len)
{
	size_t i, depth = 0, max = 0;
	int in_str = 0;

	for (i = 0; i < len; i++) {
		char c = s[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
			continue;
		}
		if (c == '"') {
			in_str = 1;
		} else if (c == '{' || c == '[') {
			if (++depth > max)
				max = depth;
		} else if ((c == '}' || c == ']') && depth > 0) {
			depth--;
		}
	}
	return max;
}

int
ocis_json_parse(const char *text, size_t len, const char *what, yajl_val *out,
		ocis_error_t **err)
{
	char errbuf[256];
	char *copy;
	yajl_val v;
	size_t i;

	if (json_depth(text, len) > OCIS_JSON_MAX_DEPTH)
		return ocis_error_set(err, EINVAL, "parsing %s: nested deeper than %d levels",
				      what, OCIS_JSON_MAX_DEPTH);
	if (memchr(text, 0, len) != NULL)
		return ocis_error_set(err, EINVAL, "parsing %s: contains a NUL byte", what);
	copy = malloc(len + 1);
	if (copy == NULL)
		return ocis_error_oom(err);
	memcpy(copy, text, len);
	copy[len] = 0;
	errbuf[0] = 0;
	v = yajl_tree_parse(copy, errbuf, sizeof(errbuf));
	free(copy);
	if (v == NULL) {
		/* yajl's message spans lines; keep the first one. */
		for (i = 0; errbuf[i]; i++)
			if (errbuf[i] == '\n') {
				errbuf[i] = 0;
				break;
			}
		return ocis_error_set(err, EINVAL, "parsing %s: %s", what,
				      errbuf[0] ? errbuf : "invalid json");
	}
	*out = v;
	return 0;
}

yajl_val
ocis_json_get(yajl_val obj, const char *key)
{
	size_t i;

	if (obj == NULL || !YAJL_IS_OBJECT(obj))
		return NULL;
	for (i = 0; i < obj->u.object.len; i++)
		if (strcmp(obj->u.object.keys[i], key) == 0)
			return obj->u.object.values[i];
	return NULL;
}

const char *
ocis_json_get_str(yajl_val obj, const char *key)
{
	yajl_val v = ocis_json_get(obj, key);

	return (v && YAJL_IS_STRING(v)) ? YAJL_GET_STRING(v) : NULL;
}

int
ocis_json_get_u64(yajl_val obj, const char *key, uint64_t *out)
{
	yajl_val v = ocis_json_get(obj, key);
	const char *s;
	char *end;
	unsigned long long n;

	if (v == NULL || !YAJL_IS_NUMBER(v))
		return -1;
	s = v->u.number.r;
	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno != 0 || *end != 0)
		return -1;
	*out = n;
	return 0;
}
