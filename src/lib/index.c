/* SPDX-License-Identifier: MIT */
/* OCI image index documents: see ocistream/index.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ocistream/index.h>
#include <ocistream/json.h>

int
ocis_index_same_platform(const struct ocis_index_entry *a, const struct ocis_index_entry *b)
{
	return strcmp(a->arch, b->arch) == 0 && strcmp(a->os, b->os) == 0 &&
	       strcmp(a->variant ? a->variant : "", b->variant ? b->variant : "") == 0;
}

void
ocis_index_entry_free_platform(struct ocis_index_entry *e)
{
	free(e->arch);
	free(e->os);
	free(e->variant);
	e->arch = e->os = e->variant = NULL;
}

void
ocis_index_entry_release(struct ocis_index_entry *e)
{
	size_t i;

	for (i = 0; i < e->n_annotations; i++)
		free(e->annotations[i]);
	free(e->annotations);
	free(e->ref_name);
	ocis_index_entry_free_platform(e);
	free(e->extra);
	free(e->platform_extra);
	memset(e, 0, sizeof(*e));
}

void
ocis_index_release(struct ocis_index *x)
{
	size_t i;

	for (i = 0; i < x->n; i++)
		ocis_index_entry_release(&x->v[i]);
	free(x->v);
	free(x->extra);
	x->v = NULL;
	x->n = 0;
	x->extra = NULL;
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
	    dup_opt(&n.os, e->os) < 0 || dup_opt(&n.variant, e->variant) < 0 ||
	    dup_opt(&n.extra, e->extra) < 0 || dup_opt(&n.platform_extra, e->platform_extra) < 0) {
		ocis_index_entry_release(&n);
		return ocis_error_oom(err);
	}
	if (e->n_annotations > 0) {
		size_t i;
		n.annotations = calloc(e->n_annotations, sizeof(char *));
		if (n.annotations == NULL) {
			ocis_index_entry_release(&n);
			return ocis_error_oom(err);
		}
		for (i = 0; i < e->n_annotations; i++) {
			if (dup_opt(&n.annotations[i], e->annotations[i]) < 0) {
				ocis_index_entry_release(&n);
				return ocis_error_oom(err);
			}
			n.n_annotations++;
		}
	}
	v = realloc(x->v, (x->n + 1) * sizeof(*v));
	if (v == NULL) {
		ocis_index_entry_release(&n);
		return ocis_error_oom(err);
	}
	x->v = v;
	x->v[x->n++] = n;
	return 0;
}

int
ocis_index_entry_set_annotations(struct ocis_index_entry *e, const char *const *kv, size_t n,
				 ocis_error_t **err)
{
	char **v = calloc(n ? n : 1, sizeof(*v));
	size_t i;

	if (v == NULL)
		return ocis_error_oom(err);
	for (i = 0; i < n; i++)
		if ((v[i] = strdup(kv[i])) == NULL) {
			while (i > 0)
				free(v[--i]);
			free(v);
			return ocis_error_oom(err);
		}
	for (i = 0; i < e->n_annotations; i++)
		free(e->annotations[i]);
	free(e->annotations);
	e->annotations = v;
	e->n_annotations = n;
	return 0;
}

void
ocis_index_remove_ref(struct ocis_index *x, const char *name)
{
	size_t i, j = 0;

	for (i = 0; i < x->n; i++) {
		if (x->v[i].ref_name && strcmp(x->v[i].ref_name, name) == 0)
			ocis_index_entry_release(&x->v[i]);
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

/* A parsed JSON value, written again (numbers as their text). */
static int
gen_value(yajl_gen g, yajl_val v)
{
	size_t i;
	int s = 0;

	if (YAJL_IS_STRING(v))
		return ocis_json_str(g, YAJL_GET_STRING(v));
	if (YAJL_IS_NUMBER(v))
		return yajl_gen_number(g, YAJL_GET_NUMBER(v), strlen(YAJL_GET_NUMBER(v)));
	if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v))
		return ocis_json_bool(g, YAJL_IS_TRUE(v));
	if (YAJL_IS_OBJECT(v)) {
		s |= ocis_json_open_map(g);
		for (i = 0; i < v->u.object.len; i++)
			s |= ocis_json_key(g, v->u.object.keys[i]) |
			     gen_value(g, v->u.object.values[i]);
		return s | ocis_json_close_map(g);
	}
	if (YAJL_IS_ARRAY(v)) {
		s |= ocis_json_open_array(g);
		for (i = 0; i < v->u.array.len; i++)
			s |= gen_value(g, v->u.array.values[i]);
		return s | ocis_json_close_array(g);
	}
	return yajl_gen_null(g);
}

/* The members of the JSON object text `extra` (kept by keep_others), into
 * the open map of g. */
static int
gen_others(yajl_gen g, const char *extra)
{
	yajl_val v;
	size_t i;
	int s = 0;

	if (extra == NULL)
		return 0;
	v = yajl_tree_parse(extra, NULL, 0);
	if (v == NULL || !YAJL_IS_OBJECT(v)) {
		yajl_tree_free(v);
		return yajl_gen_in_error_state;
	}
	for (i = 0; i < v->u.object.len; i++)
		s |= ocis_json_key(g, v->u.object.keys[i]) | gen_value(g, v->u.object.values[i]);
	yajl_tree_free(v);
	return s;
}

/* The members of object obj whose keys are not in known (NULL-ended), as
 * the text of a JSON object in *out; *out NULL when there are none. */
static int
keep_others(yajl_val obj, const char *const *known, char **out, ocis_error_t **err)
{
	struct ocis_buf b = OCIS_BUF_INIT;
	yajl_gen g;
	size_t i, j;
	int s = 0, any = 0;

	*out = NULL;
	if (obj == NULL || !YAJL_IS_OBJECT(obj))
		return 0;
	if ((g = ocis_json_gen_new()) == NULL)
		return ocis_error_oom(err);
	s |= ocis_json_open_map(g);
	for (i = 0; i < obj->u.object.len; i++) {
		for (j = 0; known[j] && strcmp(known[j], obj->u.object.keys[i]); j++)
			;
		if (known[j])
			continue;
		s |= ocis_json_key(g, obj->u.object.keys[i]) | gen_value(g, obj->u.object.values[i]);
		any = 1;
	}
	s |= ocis_json_close_map(g);
	if (ocis_json_gen_finish(g, s, "index.json", &b, err) < 0)
		return -1;
	if (any)
		*out = ocis_buf_detach(&b, NULL);
	ocis_buf_release(&b);
	return 0;
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
			s |= gen_others(g, e->platform_extra);
			s |= ocis_json_close_map(g);
		}
		if (has_annotations(e)) {
			s |= ocis_json_key(g, "annotations");
			s |= gen_annotations(g, e);
		}
		s |= gen_others(g, e->extra);
		s |= ocis_json_close_map(g);
	}
	s |= ocis_json_close_array(g);
	s |= gen_others(g, x->extra);
	s |= ocis_json_close_map(g);
	return ocis_json_gen_finish(g, s, "image index", out, err);
}

/* The members the model reads; keep_others keeps the rest. */
static const char *const top_known[] = { "schemaVersion", "mediaType", "manifests", NULL };
static const char *const entry_known[] = {
	"mediaType", "digest", "size", "platform", "annotations", NULL
};
static const char *const entry_known_no_platform[] = {
	"mediaType", "digest", "size", "annotations", NULL
};
static const char *const platform_known[] = { "architecture", "os", "variant", NULL };

int
ocis_index_from_json(struct ocis_index *x, const char *json, size_t len, ocis_error_t **err)
{
	yajl_val root = NULL, list;
	char *extra = NULL, *pextra = NULL;
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
	free(x->extra);
	if (keep_others(root, top_known, &x->extra, err) < 0)
		goto out;
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
		/* A platform written as ours is (architecture and os strings)
		 * keeps its other members beside them; any other platform
		 * member is kept whole, among the entry's other members. */
		if (keep_others(m, e.arch && e.os ? entry_known : entry_known_no_platform,
				&extra, err) < 0 ||
		    (e.arch && e.os && keep_others(plat, platform_known, &pextra, err) < 0))
			goto out;
		e.extra = extra;
		e.platform_extra = pextra;
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
			free(extra);
			free(pextra);
			extra = pextra = NULL;
			if (bad) {
				if (bad == 1)
					ocis_error_oom(err);
				goto out;
			}
			continue;
		}
		r = ocis_index_add(x, &e, err);
		free(extra);
		free(pextra);
		extra = pextra = NULL;
		if (r < 0)
			goto out;
		r = -1;
	}
	r = 0;
out:
	free(extra);
	free(pextra);
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
