/* SPDX-License-Identifier: MIT */
/* OCI image index documents: see ocistream/index.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ocistream/index.h>
#include <ocistream/json.h>

static void
entry_release(struct ocis_index_entry *e)
{
	size_t i;

	for (i = 0; i < e->n_annotations; i++)
		free(e->annotations[i]);
	free(e->annotations);
	free(e->ref_name);
	free(e->arch);
	free(e->os);
	free(e->variant);
	memset(e, 0, sizeof(*e));
}

void
ocis_index_release(struct ocis_index *x)
{
	size_t i;

	for (i = 0; i < x->n; i++)
		entry_release(&x->v[i]);
	free(x->v);
	x->v = NULL;
	x->n = 0;
}

static int
dup_opt(char **dst, const char *src)
{
	*dst = NULL;
	if (src == NULL)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -1;
}

int
ocis_index_add(struct ocis_index *x, const struct ocis_index_entry *e, ocis_error_t **err)
{
	struct ocis_index_entry n, *v;

	memset(&n, 0, sizeof(n));
	n.ref = e->ref;
	if (dup_opt(&n.ref_name, e->ref_name) < 0 || dup_opt(&n.arch, e->arch) < 0 ||
	    dup_opt(&n.os, e->os) < 0 || dup_opt(&n.variant, e->variant) < 0) {
		entry_release(&n);
		return ocis_error_oom(err);
	}
	if (e->n_annotations > 0) {
		size_t i;
		n.annotations = calloc(e->n_annotations, sizeof(char *));
		if (n.annotations == NULL) {
			entry_release(&n);
			return ocis_error_oom(err);
		}
		for (i = 0; i < e->n_annotations; i++) {
			if (dup_opt(&n.annotations[i], e->annotations[i]) < 0) {
				entry_release(&n);
				return ocis_error_oom(err);
			}
			n.n_annotations++;
		}
	}
	v = realloc(x->v, (x->n + 1) * sizeof(*v));
	if (v == NULL) {
		entry_release(&n);
		return ocis_error_oom(err);
	}
	x->v = v;
	x->v[x->n++] = n;
	return 0;
}

void
ocis_index_remove_ref(struct ocis_index *x, const char *name)
{
	size_t i, j = 0;

	for (i = 0; i < x->n; i++) {
		if (x->v[i].ref_name && strcmp(x->v[i].ref_name, name) == 0)
			entry_release(&x->v[i]);
		else
			x->v[j++] = x->v[i];
	}
	x->n = j;
}

static int
ann_cmp(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	size_t lx = strcspn(x, "="), ly = strcspn(y, "=");
	int r = memcmp(x, y, lx < ly ? lx : ly);

	return r ? r : (lx > ly) - (lx < ly);
}

/* Whether gen_annotations writes anything (an empty map is left out). */
static int
has_annotations(const struct ocis_index_entry *e)
{
	size_t i;

	if (e->ref_name)
		return 1;
	for (i = 0; i < e->n_annotations; i++)
		if (strncmp(e->annotations[i], OCIS_ANNOTATION_REF_NAME "=",
			    strlen(OCIS_ANNOTATION_REF_NAME) + 1) != 0)
			return 1;
	return 0;
}

/* The annotations map: ref.name and the others, sorted by key. */
static int
gen_annotations(yajl_gen g, const struct ocis_index_entry *e)
{
	char *refkv = NULL;
	char **all = calloc(e->n_annotations + 1, sizeof(char *));
	size_t n = 0, i;
	int s = 0;

	if (all == NULL)
		return yajl_gen_in_error_state;
	if (e->ref_name) {
		if (asprintf(&refkv, "%s=%s", OCIS_ANNOTATION_REF_NAME, e->ref_name) < 0) {
			free(all);
			return yajl_gen_in_error_state;
		}
		all[n++] = refkv;
	}
	for (i = 0; i < e->n_annotations; i++)
		if (strncmp(e->annotations[i], OCIS_ANNOTATION_REF_NAME "=",
			    strlen(OCIS_ANNOTATION_REF_NAME) + 1) != 0)
			all[n++] = e->annotations[i];
	if (n > 1)
		qsort(all, n, sizeof(char *), ann_cmp);
	s |= ocis_json_open_map(g);
	for (i = 0; i < n; i++) {
		size_t k = strcspn(all[i], "=");
		if (i + 1 < n && strcspn(all[i + 1], "=") == k && !memcmp(all[i], all[i + 1], k))
			continue;
		s |= ocis_json_strn(g, all[i], k);
		s |= ocis_json_str(g, all[i][k] ? all[i] + k + 1 : "");
	}
	s |= ocis_json_close_map(g);
	free(refkv);
	free(all);
	return s;
}

int
ocis_index_to_json(const struct ocis_index *x, struct ocis_buf *out, ocis_error_t **err)
{
	return ocis_index_to_json_typed(x, OCIS_MT_INDEX, out, err);
}

int
ocis_index_to_json_typed(const struct ocis_index *x, const char *media_type,
			 struct ocis_buf *out, ocis_error_t **err)
{
	yajl_gen g = ocis_json_gen_new();
	size_t i;
	int s = 0;

	if (g == NULL)
		return ocis_error_oom(err);
	s |= ocis_json_open_map(g);
	s |= ocis_json_key(g, "schemaVersion") || ocis_json_u64(g, 2);
	s |= ocis_json_kv_str(g, "mediaType", media_type);
	s |= ocis_json_key(g, "manifests");
	s |= ocis_json_open_array(g);
	for (i = 0; i < x->n; i++) {
		const struct ocis_index_entry *e = &x->v[i];
		s |= ocis_json_open_map(g);
		s |= ocis_json_kv_str(g, "mediaType", e->ref.media_type);
		s |= ocis_json_kv_str(g, "digest", e->ref.digest);
		s |= ocis_json_kv_u64(g, "size", e->ref.size);
		if (e->arch && e->os) {
			s |= ocis_json_key(g, "platform");
			s |= ocis_json_open_map(g);
			s |= ocis_json_kv_str(g, "architecture", e->arch);
			s |= ocis_json_kv_str(g, "os", e->os);
			if (e->variant)
				s |= ocis_json_kv_str(g, "variant", e->variant);
			s |= ocis_json_close_map(g);
		}
		if (has_annotations(e)) {
			s |= ocis_json_key(g, "annotations");
			s |= gen_annotations(g, e);
		}
		s |= ocis_json_close_map(g);
	}
	s |= ocis_json_close_array(g);
	s |= ocis_json_close_map(g);
	return ocis_json_gen_finish(g, s, "image index", out, err);
}

int
ocis_index_from_json(struct ocis_index *x, const char *json, size_t len, ocis_error_t **err)
{
	yajl_val root = NULL, list;
	uint64_t ver;
	size_t i;
	int r = -1;

	if (ocis_json_parse(json, len, "index.json", &root, err) < 0)
		return -1;
	if (ocis_json_get_u64(root, "schemaVersion", &ver) < 0 || ver != 2) {
		ocis_error_set(err, EINVAL, "index.json: schemaVersion is not 2");
		goto out;
	}
	list = ocis_json_get(root, "manifests");
	if (list == NULL || !YAJL_IS_ARRAY(list)) {
		ocis_error_set(err, EINVAL, "index.json: no manifests array");
		goto out;
	}
	for (i = 0; i < list->u.array.len; i++) {
		yajl_val m = list->u.array.values[i];
		yajl_val plat = ocis_json_get(m, "platform");
		yajl_val ann = ocis_json_get(m, "annotations");
		const char *mt = ocis_json_get_str(m, "mediaType");
		const char *dg = ocis_json_get_str(m, "digest");
		struct ocis_index_entry e;

		memset(&e, 0, sizeof(e));
		if (mt == NULL || strlen(mt) >= sizeof(e.ref.media_type) || !ocis_digest_valid(dg) ||
		    ocis_json_get_u64(m, "size", &e.ref.size) < 0) {
			ocis_error_set(err, EINVAL, "index.json: manifest %zu is malformed", i);
			goto out;
		}
		strcpy(e.ref.media_type, mt);
		strcpy(e.ref.digest, dg);
		e.ref_name = (char *)ocis_json_get_str(ann, OCIS_ANNOTATION_REF_NAME);
		e.arch = (char *)ocis_json_get_str(plat, "architecture");
		e.os = (char *)ocis_json_get_str(plat, "os");
		e.variant = (char *)ocis_json_get_str(plat, "variant");
		if (ann && YAJL_IS_OBJECT(ann) && ann->u.object.len > 0) {
			size_t k;
			char **kv = calloc(ann->u.object.len, sizeof(char *));
			int bad = kv == NULL;
			for (k = 0; !bad && k < ann->u.object.len; k++) {
				const char *v = YAJL_GET_STRING(ann->u.object.values[k]);
				/* Kept as "key=value": a key holding '=' cannot be
				 * told apart, so it is dropped. */
				if (v == NULL || strchr(ann->u.object.keys[k], '=') != NULL ||
				    strcmp(ann->u.object.keys[k], OCIS_ANNOTATION_REF_NAME) == 0)
					continue;
				if (asprintf(&kv[e.n_annotations], "%s=%s", ann->u.object.keys[k], v) < 0)
					bad = 1;
				else
					e.n_annotations++;
			}
			e.annotations = kv;
			if (!bad && ocis_index_add(x, &e, err) < 0)
				bad = 2;
			for (k = 0; k < e.n_annotations; k++)
				free(kv[k]);
			free(kv);
			if (bad) {
				if (bad == 1)
					ocis_error_oom(err);
				goto out;
			}
			continue;
		}
		if (ocis_index_add(x, &e, err) < 0)
			goto out;
	}
	r = 0;
out:
	yajl_tree_free(root);
	return r;
}

/*
 * The ref-name grammar of the image-spec (annotations.md):
 *   ref       ::= component ("/" component)*
 *   component ::= alphanum (separator alphanum)*
 *   alphanum  ::= [A-Za-z0-9]+
 *   separator ::= [-._:@+] | "--"
 */
int
ocis_ref_name_valid(const char *s)
{
	size_t i, n = strlen(s);
	int prev_alnum = 0;	/* the previous character was alphanumeric */

	if (n == 0 || n > 255)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
			prev_alnum = 1;
			continue;
		}
		if (!prev_alnum)
			return 0;	/* a component or separator cannot start here */
		if (c == '-' && s[i + 1] == '-')
			i++;		/* "--" is one separator */
		else if (c != '/' && !strchr("-._:@+", c))
			return 0;
		prev_alnum = 0;
	}
	return prev_alnum;	/* ends with an alphanumeric */
}
