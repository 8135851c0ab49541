/* SPDX-License-Identifier: MIT */
/* The split map of oci-layer --split: see ocistream/splitmap.h. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ocistream/io.h>
#include <ocistream/splitmap.h>

#include "internal.h"

void
ocis_splitmap_release(struct ocis_splitmap *m)
{
	size_t i;

	for (i = 0; i < m->n_layers; i++)
		free(m->names[i]);
	free(m->names);
	free(m->layer_of);
	ocis_pathtab_walk_release(&m->walk);
	ocis_pathtab_release(&m->paths);
	memset(m, 0, sizeof(*m));
}

/* Why a layer name is not one, or NULL. */
static const char *
bad_name(const char *s, size_t len)
{
	size_t i;

	if (len == 0)
		return "empty layer name";
	if (len > OCIS_SPLITMAP_NAME_MAX)
		return "layer name over 128 bytes";
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return "control character in the layer name";
	return NULL;
}

/* Why a PATH is not a layer path, or NULL. */
static const char *
bad_path(const char *p, size_t len)
{
	size_t i = 0, k;

	if (len == 0)
		return "empty path";
	if (p[0] == '/')
		return "absolute path (write it as in a layer: no leading '/')";
	while (i <= len) {
		for (k = 0; i + k < len && p[i + k] != '/'; k++)
			if (p[i + k] == 0)
				return "NUL byte in the path";
		if (k == 0)
			return i == len ? "path ending with '/'" : "empty component ('//')";
		if ((k == 1 && p[i] == '.') || (k == 2 && p[i] == '.' && p[i + 1] == '.'))
			return "'.' or '..' component";
		if (k > OCIS_PATHTAB_COMPONENT_MAX)
			return "component over 255 bytes";
		i += k + 1;
	}
	return NULL;
}

/* The layer named s[0..len): its number, made when new (-1 with *err). */
static int
layer_number(struct ocis_splitmap *m, const char *s, size_t len, ocis_error_t **err)
{
	size_t i, cap;

	for (i = 0; i < m->n_layers; i++)
		if (strlen(m->names[i]) == len && memcmp(m->names[i], s, len) == 0)
			return (int)i;
	if (m->n_layers + 1 >= OCIS_SPLITMAP_LAYERS_MAX)
		return ocis_error_set(err, 0, "more than %d layers (the rest layer included)",
				      OCIS_SPLITMAP_LAYERS_MAX);
	cap = m->n_layers;
	if (ocis__grow((void **)&m->names, &cap, m->n_layers + 2, sizeof(*m->names), err) < 0)
		return -1;
	if ((m->names[m->n_layers] = strndup(s, len)) == NULL)
		return ocis_error_oom(err);
	return (int)m->n_layers++;
}

/* One line: its layer's number and the node of its PATH in *layer, *id. */
static int
parse_line(struct ocis_splitmap *m, const char *line, size_t len, const char *rest, int *layer,
	   uint32_t *id, ocis_error_t **err)
{
	const char *tab = memchr(line, '\t', len), *why, *path;
	size_t nlen, plen;

	if (memchr(line, '\r', len) != NULL)
		return ocis_error_set(err, 0, "carriage return (the map is NAME<TAB>PATH lines "
				      "ending with LF)");
	if (memchr(line, 0, len) != NULL)
		return ocis_error_set(err, 0, "NUL byte");
	if (tab == NULL)
		return ocis_error_set(err, 0, "no TAB (a line is NAME<TAB>PATH)");
	nlen = (size_t)(tab - line);
	path = tab + 1;
	plen = len - nlen - 1;
	if ((why = bad_name(line, nlen)) != NULL || (why = bad_path(path, plen)) != NULL)
		return ocis_error_set(err, 0, "%s", why);
	if (strlen(rest) == nlen && memcmp(rest, line, nlen) == 0)
		return ocis_error_set(err, 0, "layer name '%s' is the rest layer's "
				      "(--split-rest)", rest);
	if ((*layer = layer_number(m, line, nlen, err)) < 0)
		return -1;
	return ocis_pathtab_add(&m->paths, path, plen, id, err);
}

int
ocis_splitmap_parse(struct ocis_splitmap *m, const char *text, size_t len, const char *rest,
		    ocis_error_t **err)
{
	uint32_t *line_of = NULL;	/* by node id: the line that gave it */
	size_t off = 0, lineno = 0, cap;
	const char *why;

	memset(m, 0, sizeof(*m));
	if ((why = bad_name(rest, strlen(rest))) != NULL)
		return ocis_error_set(err, 0, "invalid rest layer name: %s", why);
	if (ocis_pathtab_init(&m->paths, err) < 0)
		return -1;
	while (off < len) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (text + off)) : len - off, need, old;
		uint32_t id = 0;	/* both set by parse_line */
		int layer = 0;

		lineno++;
		if (nl == NULL) {
			ocis_error_set(err, 0, "no newline at the end");
			goto fail;
		}
		if (parse_line(m, text + off, n, rest, &layer, &id, err) < 0)
			goto fail;
		need = ocis_pathtab_count(&m->paths);
		if (need > m->layer_of_cap) {
			old = cap = m->layer_of_cap;
			if (ocis__grow((void **)&m->layer_of, &cap, need, sizeof(*m->layer_of),
				       err) < 0)
				goto fail;
			memset(m->layer_of + old, 0, (cap - old) * sizeof(*m->layer_of));
			old = cap = m->layer_of_cap;
			if (ocis__grow((void **)&line_of, &cap, need, sizeof(*line_of), err) < 0)
				goto fail;
			m->layer_of_cap = cap;
		}
		if (m->layer_of[id] != 0) {
			ocis_error_set(err, 0, "path given twice (first on line %u)", line_of[id]);
			goto fail;
		}
		m->layer_of[id] = (uint16_t)(layer + 1);
		line_of[id] = (uint32_t)lineno;
		off += n + 1;
	}
	free(line_of);
	line_of = NULL;
	cap = m->n_layers;
	if (ocis__grow((void **)&m->names, &cap, m->n_layers + 1, sizeof(*m->names), err) < 0)
		goto fail_nl;
	if ((m->names[m->n_layers] = strdup(rest)) == NULL) {
		ocis_error_oom(err);
		goto fail_nl;
	}
	m->n_layers++;
	return 0;
fail:
	free(line_of);
	ocis_splitmap_release(m);
	return ocis_error_wrap(err, "line %zu", lineno);
fail_nl:
	ocis_splitmap_release(m);
	return -1;
}

int
ocis_splitmap_load(struct ocis_splitmap *m, const char *path, const char *rest,
		   ocis_error_t **err)
{
	struct ocis_buf b = OCIS_BUF_INIT;
	int r;

	if (ocis_read_file(path, &b, OCIS_SPLITMAP_TEXT_MAX, err) < 0)
		return ocis_error_wrap(err, "split map '%s'", path);
	r = ocis_splitmap_parse(m, (const char *)b.data, b.len, rest, err);
	ocis_buf_release(&b);
	if (r < 0)
		return ocis_error_wrap(err, "split map '%s'", path);
	return 0;
}

int
ocis_splitmap_lookup(struct ocis_splitmap *m, const char *path, size_t len, ocis_error_t **err)
{
	size_t i;

	if (ocis_pathtab_walk(&m->paths, &m->walk, path, len, 0, err) < 0)
		return -1;
	for (i = m->walk.n; i-- > 0;) {
		uint32_t id = m->walk.ids[i];
		if (id < m->layer_of_cap && m->layer_of[id] != 0)
			return m->layer_of[id] - 1;
	}
	return (int)m->n_layers - 1;
}
