/* SPDX-License-Identifier: MIT */
/*
 * JSON generation and parsing over yajl.
 *
 * Generation: compact (no beautify), UTF-8 validated, keys written in the
 * order the caller writes them (callers keep a fixed order: it is part of
 * the reproducibility contract), integers only, never floating point.
 * Parsing: yajl_tree, after a pre-scan that refuses nesting deeper than
 * OCIS_JSON_MAX_DEPTH (yajl_tree_free recurses) and documents larger than
 * the caller's cap.
 */
#ifndef OCISTREAM_JSON_H
#define OCISTREAM_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include <ocistream/error.h>
#include <ocistream/io.h>

#define OCIS_JSON_MAX_DEPTH 64

/* New generator with the project's settings, or NULL (out of memory). */
yajl_gen ocis_json_gen_new(void);

/* Emitters; each returns the yajl_gen_status (0 = ok) so callers can chain
 * with `||` and check once at the end. */
int ocis_json_key(yajl_gen g, const char *key);
int ocis_json_str(yajl_gen g, const char *s);
int ocis_json_strn(yajl_gen g, const char *s, size_t len);
int ocis_json_kv_str(yajl_gen g, const char *key, const char *value);
int ocis_json_kv_u64(yajl_gen g, const char *key, uint64_t value);
int ocis_json_u64(yajl_gen g, uint64_t value);
int ocis_json_i64(yajl_gen g, int64_t value);
int ocis_json_bool(yajl_gen g, int v);
int ocis_json_open_map(yajl_gen g);
int ocis_json_close_map(yajl_gen g);
int ocis_json_open_array(yajl_gen g);
int ocis_json_close_array(yajl_gen g);

/* A map of the strings v[0..n) sorted by key (bytewise; the last of equal
 * keys wins): with `kv`, each string is "key=value" and the value is a
 * string; without, each string is a key whose value is {}.  The emitters'
 * status is ORed into *status; -1 only when out of memory. */
int ocis_json_sorted_map(yajl_gen g, char *const *v, size_t n, int kv, int *status,
			 ocis_error_t **err);

/* Copy the generated document into out (replacing its contents) and free g.
 * `status` is the OR of the emitters' results; non-zero gives an error
 * naming `what`.  g is freed in every case. */
int ocis_json_gen_finish(yajl_gen g, int status, const char *what, struct ocis_buf *out,
			 ocis_error_t **err);

/* Parse text[0..len) (need not be NUL-terminated).  `what` names the
 * document in messages.  On success *out owns the tree (yajl_tree_free). */
int ocis_json_parse(const char *text, size_t len, const char *what, yajl_val *out,
		    ocis_error_t **err);

/* Lookups in a parsed object; NULL when missing or of another type. */
yajl_val ocis_json_get(yajl_val obj, const char *key);
const char *ocis_json_get_str(yajl_val obj, const char *key);
/* Non-negative integer member: 0 on success, -1 missing/wrong type. */
int ocis_json_get_u64(yajl_val obj, const char *key, uint64_t *out);

#endif
