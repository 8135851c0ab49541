/* SPDX-License-Identifier: MIT */
/* oci-layermap's map from a package database: see ocistream/layermap.h. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ocistream/json.h>
#include <ocistream/layermap.h>
#include <ocistream/pathtab.h>
#include <ocistream/splitmap.h>

#include "internal.h"

#define OWNER_NONE (-1)
#define OWNER_SHARED (-2)
#define SYMLINK_HOPS_MAX 40
#define OWN_CLASS_MIN 20	/* 1 MiB: smaller packages are always grouped */

struct pkg {
	char *name;
	uint64_t size;		/* bytes of its regular files */
	uint64_t found, missing;
	int rank;		/* its layer's place in the map */
};

struct mapper {
	const struct ocis_layermap_opts *o;
	int rootfd;
	struct pkg *pkgs;
	size_t n_pkgs, pkgs_cap;
	struct ocis_pathtab paths;	/* the listed paths found, canonical */
	int32_t *owner;			/* by node: a package, OWNER_NONE or _SHARED */
	size_t owner_cap;
	struct ocis_buf canon, todo, link, file;
	int k_own, groups;
	int *own;			/* the packages with a layer of their own */
};

static int
pkg_index(struct mapper *m, const char *name, size_t len, ocis_error_t **err)
{
	size_t i;

	for (i = 0; i < m->n_pkgs; i++)
		if (strlen(m->pkgs[i].name) == len && memcmp(m->pkgs[i].name, name, len) == 0)
			return (int)i;
	if (m->n_pkgs >= INT32_MAX)
		return ocis_error_set(err, 0, "too many packages");
	if (ocis__grow((void **)&m->pkgs, &m->pkgs_cap, m->n_pkgs + 1, sizeof(*m->pkgs), err) < 0)
		return -1;
	memset(&m->pkgs[m->n_pkgs], 0, sizeof(m->pkgs[0]));
	if ((m->pkgs[m->n_pkgs].name = strndup(name, len)) == NULL)
		return ocis_error_oom(err);
	return (int)m->n_pkgs++;
}

/* Append component c[0..n) to the relative path in b. */
static int
path_push(struct ocis_buf *b, const char *c, size_t n, ocis_error_t **err)
{
	if (b->len > 0 && ocis_buf_add(b, "/", 1, err) < 0)
		return -1;
	return ocis_buf_add(b, c, n, err);
}

static void
path_pop(struct ocis_buf *b)
{
	while (b->len > 0 && b->data[b->len - 1] != '/')
		b->len--;
	if (b->len > 0)
		b->len--;
	if (b->data)
		b->data[b->len] = 0;
}

/*
 * The canonical name of p (relative) inside the rootfs into m->canon: the
 * directories above its last component resolved, symlinks followed inside
 * the rootfs ("/" is the rootfs, ".." stops at it).  1 when it is there,
 * 0 when not (missing, a loop, a bad name), -1 with *err.
 */
static int
resolve(struct mapper *m, const char *p, size_t len, ocis_error_t **err)
{
	struct stat st;
	int hops = 0;

	ocis_buf_reset(&m->canon);
	ocis_buf_reset(&m->todo);
	if (ocis_buf_add(&m->todo, p, len, err) < 0 || ocis_buf_add(&m->canon, "", 0, err) < 0)
		return -1;
	for (;;) {
		char *t = (char *)m->todo.data, *slash;
		size_t n;

		while (m->todo.len > 0 && t[0] == '/') {
			memmove(t, t + 1, m->todo.len--);
		}
		if (m->todo.len == 0)
			break;
		slash = memchr(t, '/', m->todo.len);
		n = slash ? (size_t)(slash - t) : m->todo.len;
		if (n > OCIS_PATHTAB_COMPONENT_MAX)
			return 0;
		if (n == 1 && t[0] == '.') {
		} else if (n == 2 && t[0] == '.' && t[1] == '.') {
			path_pop(&m->canon);
		} else {
			if (path_push(&m->canon, t, n, err) < 0)
				return -1;
			if (slash != NULL) {
				ssize_t l;
				if (fstatat(m->rootfd, (char *)m->canon.data, &st,
					    AT_SYMLINK_NOFOLLOW) < 0)
					return 0;
				if (S_ISLNK(st.st_mode)) {
					if (++hops > SYMLINK_HOPS_MAX || st.st_size <= 0 ||
					    st.st_size > 4096)
						return 0;
					ocis_buf_reset(&m->link);
					if (ocis_buf_grow(&m->link, (size_t)st.st_size + 1, err) < 0)
						return -1;
					l = readlinkat(m->rootfd, (char *)m->canon.data,
						       (char *)m->link.data, (size_t)st.st_size + 1);
					if (l <= 0 || l > st.st_size)
						return 0;
					m->link.len = (size_t)l;
					/* the rest after the link's target */
					if (ocis_buf_add(&m->link, slash, m->todo.len - n, err) < 0)
						return -1;
					path_pop(&m->canon);
					if (m->link.data[0] == '/')
						ocis_buf_reset(&m->canon);
					ocis_buf_reset(&m->todo);
					if (ocis_buf_add(&m->todo, m->link.data, m->link.len, err) < 0)
						return -1;
					continue;
				} else if (!S_ISDIR(st.st_mode)) {
					return 0;
				}
			}
		}
		memmove(t, t + n, m->todo.len - n + 1);
		m->todo.len -= n;
	}
	if (m->canon.len == 0)
		return 0;
	return fstatat(m->rootfd, (char *)m->canon.data, &st, AT_SYMLINK_NOFOLLOW) == 0 ? 1 : 0;
}

/* One listed path of package k. */
static int
add_path(struct mapper *m, int k, const char *p, size_t len, ocis_error_t **err)
{
	struct pkg *pk = &m->pkgs[k];
	struct stat st;
	size_t i, old;
	uint32_t id;
	int r;

	while (len > 0 && *p == '/')
		p++, len--;
	if (len == 0 || (len == 1 && *p == '.'))
		return 0;
	for (i = 0; i < len; i++)
		if (p[i] == 0 || p[i] == '\t' || p[i] == '\r' || p[i] == '\n')
			break;
	if (i < len || (r = resolve(m, p, len, err)) == 0) {
		pk->missing++;
		return 0;
	}
	if (r < 0)
		return -1;
	if (ocis_pathtab_add(&m->paths, (char *)m->canon.data, m->canon.len, &id, err) < 0)
		return -1;
	if ((size_t)id >= m->owner_cap) {
		old = m->owner_cap;
		if (ocis__grow((void **)&m->owner, &m->owner_cap, (size_t)id + 1,
			       sizeof(*m->owner), err) < 0)
			return -1;
		for (i = old; i < m->owner_cap; i++)
			m->owner[i] = OWNER_NONE;
	}
	pk->found++;
	if (m->owner[id] == k)
		return 0;
	if (m->owner[id] != OWNER_NONE) {
		m->owner[id] = OWNER_SHARED;
		return 0;
	}
	m->owner[id] = k;
	if (fstatat(m->rootfd, (char *)m->canon.data, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode))
		pk->size += (uint64_t)st.st_size;
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of a directory's entries ending with suffix, sorted; *n of
 * them (0 when the directory is missing). */
static int
list_dir(const char *dir, const char *suffix, const char *skip, char ***out, size_t *n,
	 ocis_error_t **err)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t cap = 0, sl = strlen(suffix);
	char **v = NULL;

	*out = NULL;
	*n = 0;
	if (d == NULL)
		return errno == ENOENT || errno == ENOTDIR ? 0 :
		       ocis_error_set(err, errno, "cannot read '%s'", dir);
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		if (de->d_name[0] == '.' || l <= sl || strcmp(de->d_name + l - sl, suffix) != 0)
			continue;
		if (skip != NULL && l > strlen(skip) &&
		    strcmp(de->d_name + l - strlen(skip), skip) == 0)
			continue;
		if (ocis__grow((void **)&v, &cap, *n + 1, sizeof(*v), err) < 0 ||
		    (v[*n] = strdup(de->d_name)) == NULL)
			goto fail;
		(*n)++;
	}
	closedir(d);
	qsort(v, *n, sizeof(*v), cmp_str);
	*out = v;
	return 0;
fail:
	closedir(d);
	while (*n > 0)
		free(v[--*n]);
	free(v);
	return ocis_error_oom(err);
}

/* A file list (dpkg, opkg): a path a line, up to a TAB. */
static int
read_list(struct mapper *m, int k, const char *path, ocis_error_t **err)
{
	const char *p, *end;

	if (ocis_read_file(path, &m->file, OCIS_LAYERMAP_LIST_MAX, err) < 0)
		return -1;
	p = (const char *)m->file.data;
	end = p + m->file.len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end, *tab = memchr(p, '\t', (size_t)(e - p));
		if (add_path(m, k, p, (size_t)((tab ? tab : e) - p), err) < 0)
			return -1;
		p = e + 1;
	}
	return 0;
}

/* Yocto pkgdata runtime/NAME: the keys of the FILES_INFO object. */
static int
read_pkgdata(struct mapper *m, int k, const char *path, ocis_error_t **err)
{
	const char *p, *end, *brace;
	yajl_val v;
	size_t i;
	int r = 0;

	if (ocis_read_file(path, &m->file, OCIS_LAYERMAP_LIST_MAX, err) < 0)
		return -1;
	p = (const char *)m->file.data;
	end = p + m->file.len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *e = nl ? nl : end;
		if ((size_t)(e - p) > 10 && memcmp(p, "FILES_INFO", 10) == 0 &&
		    (brace = memchr(p, '{', (size_t)(e - p))) != NULL) {
			if (ocis_json_parse(brace, (size_t)(e - brace), "FILES_INFO", &v, err) < 0)
				return ocis_error_wrap(err, "'%s'", path);
			if (!YAJL_IS_OBJECT(v)) {
				yajl_tree_free(v);
				return ocis_error_set(err, 0, "'%s': FILES_INFO is not an object",
						      path);
			}
			for (i = 0; r == 0 && i < v->u.object.len; i++)
				r = add_path(m, k, v->u.object.keys[i],
					     strlen(v->u.object.keys[i]), err);
			yajl_tree_free(v);
			if (r < 0)
				return -1;
		}
		p = e + 1;
	}
	return 0;
}

/* Every package of one source directory: lists by suffix, read by fn. */
static int
read_source(struct mapper *m, const char *dir, const char *suffix, const char *skip,
	    int (*fn)(struct mapper *, int, const char *, ocis_error_t **), int *seen,
	    ocis_error_t **err)
{
	struct ocis_buf path = OCIS_BUF_INIT;
	char **names;
	size_t n, i;
	int r = 0, k;

	if (list_dir(dir, suffix, skip, &names, &n, err) < 0)
		return -1;
	*seen |= n > 0;
	for (i = 0; r == 0 && i < n; i++) {
		size_t nl = strlen(names[i]) - strlen(suffix);
		struct stat st;

		ocis_buf_reset(&path);
		if (ocis_buf_addf(&path, err, "%s/%s", dir, names[i]) < 0 ||
		    (k = pkg_index(m, names[i], nl, err)) < 0) {
			r = -1;
			break;
		}
		if (stat((char *)path.data, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		r = fn(m, k, (char *)path.data, err);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	ocis_buf_release(&path);
	return r;
}

/* FNV-1a, 64 bits: the group of a package, fixed by its name alone. */
static uint64_t
fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static int
size_class(uint64_t size)
{
	int c = 0;

	if (size < ((uint64_t)1 << OWN_CLASS_MIN))
		return -1;
	while (size >>= 1)
		c++;
	return c;
}

static struct mapper *sort_ctx;	/* qsort has no context argument */

static int
cmp_own(const void *a, const void *b)
{
	const struct pkg *x = &sort_ctx->pkgs[*(const int *)a];
	const struct pkg *y = &sort_ctx->pkgs[*(const int *)b];
	int cx = size_class(x->size), cy = size_class(y->size);

	if (cx != cy)
		return cx > cy ? -1 : 1;
	return strcmp(x->name, y->name);
}

static void
group_name(int g, char *buf, size_t size)
{
	snprintf(buf, size, "group-%02d", g);
}

/* May package k have a layer named after it? */
static int
own_name_ok(struct mapper *m, const struct pkg *pk)
{
	char g[32];
	int i;

	if (strcmp(pk->name, m->o->rest) == 0 || strlen(pk->name) > OCIS_SPLITMAP_NAME_MAX)
		return 0;
	for (i = 0; i < m->groups; i++) {
		group_name(i, g, sizeof(g));
		if (strcmp(pk->name, g) == 0)
			return 0;
	}
	for (i = 0; pk->name[i]; i++)
		if ((unsigned char)pk->name[i] < 0x20 || pk->name[i] == 0x7f)
			return 0;
	return 1;
}

/* Ranks: own layers 0 .. k_own - 1 by class then name, group g k_own + g. */
static int
assign_layers(struct mapper *m, ocis_error_t **err)
{
	int *cand = NULL, n = 0, want;
	size_t i;

	m->groups = (m->o->max_layers - 1) / 2;
	if (m->groups < 1)
		m->groups = 1;
	want = m->o->max_layers - 1 - m->groups;
	if (m->n_pkgs > 0 && (cand = calloc(m->n_pkgs, sizeof(*cand))) == NULL)
		return ocis_error_oom(err);
	for (i = 0; i < m->n_pkgs; i++)
		if (m->pkgs[i].found > 0 && size_class(m->pkgs[i].size) >= 0 &&
		    own_name_ok(m, &m->pkgs[i]))
			cand[n++] = (int)i;
	sort_ctx = m;
	qsort(cand, (size_t)n, sizeof(*cand), cmp_own);
	m->k_own = n < want ? n : want;
	m->own = cand;
	for (i = 0; i < m->n_pkgs; i++)
		m->pkgs[i].rank = m->k_own + (int)(fnv1a(m->pkgs[i].name) % (uint64_t)m->groups);
	for (n = 0; n < m->k_own; n++)
		m->pkgs[cand[n]].rank = n;
	return 0;
}

/* Paths sorted by bytes with '/' before every other byte, so that a
 * directory's subtree follows it without a gap. */
static int
cmp_path(const void *a, const void *b)
{
	const unsigned char *x = *(const unsigned char *const *)a;
	const unsigned char *y = *(const unsigned char *const *)b;

	for (; *x && *x == *y; x++, y++)
		;
	if (*x == *y)
		return 0;
	if (*x == '/' || *y == '/')
		return *x == '/' ? (*y ? -1 : 1) : (*x ? 1 : -1);
	return *x < *y ? -1 : 1;
}

struct listed {
	char *path;		/* first: cmp_path sorts these too */
	int32_t rank;		/* the layer it should be in */
};

#define AGG_NONE (-1)		/* nothing owned below */
#define AGG_MIXED (-2)		/* owned paths of several layers below */

static int32_t
agg_join(int32_t a, int32_t b)
{
	if (a == AGG_NONE)
		return b;
	if (b == AGG_NONE || a == b)
		return a;
	return AGG_MIXED;
}

/*
 * By node: the one layer of every owned path at or below it, AGG_NONE or
 * AGG_MIXED.  A parent's id is smaller than its children's, so one pass
 * from the last id down sees every child before its parent.  Shared
 * paths (directories) count for nothing: a directory whose owned paths
 * are all of one layer is one line, whoever else lists it.
 */
static int
subtree_layers(struct mapper *m, int32_t **out, ocis_error_t **err)
{
	size_t n = ocis_pathtab_count(&m->paths), i;
	int32_t *agg = malloc(n * sizeof(*agg));

	if (agg == NULL)
		return ocis_error_oom(err);
	for (i = 0; i < n; i++)
		agg[i] = AGG_NONE;
	for (i = n; i-- > 1;) {
		uint32_t p = ocis_pathtab_parent(&m->paths, (uint32_t)i);
		if (i < m->owner_cap && m->owner[i] >= 0)
			agg[i] = agg_join(agg[i], m->pkgs[m->owner[i]].rank);
		agg[p] = agg_join(agg[p], agg[i]);
	}
	*out = agg;
	return 0;
}

struct line {
	int rank;
	size_t seq;
	const char *path;
};

static int
cmp_line(const void *a, const void *b)
{
	const struct line *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * The lines: in path order, a path whose layer is not the one the nearest
 * line above it gives (the rest at the top) gets a line.  A path's layer:
 * the one layer of all owned paths at and below it, else its owner's.
 * The stack holds the lines above the current path.  Written to out
 * grouped by layer.
 */
static int
write_lines(struct mapper *m, struct ocis_buf *out, struct ocis_layermap_stats *st,
	    ocis_error_t **err)
{
	struct ocis_buf name = OCIS_BUF_INIT;
	struct listed *paths = NULL;
	int32_t *agg = NULL;
	char g[32];
	struct line *lines = NULL;
	size_t *stack = NULL, n = 0, cap = 0, n_lines = 0, depth = 0, i;
	int r = -1, last_rank = -1;

	if (subtree_layers(m, &agg, err) < 0)
		goto out;
	for (i = 1; i < ocis_pathtab_count(&m->paths); i++) {
		int32_t want = agg[i] >= 0 ? agg[i] :
			       i < m->owner_cap && m->owner[i] >= 0 ? m->pkgs[m->owner[i]].rank : -1;
		if (want < 0)
			continue;
		if (ocis__grow((void **)&paths, &cap, n + 1, sizeof(*paths), err) < 0 ||
		    ocis_pathtab_name(&m->paths, (uint32_t)i, &name, err) < 0)
			goto out;
		paths[n].rank = want;
		paths[n++].path = ocis_buf_detach(&name, NULL);
	}
	qsort(paths, n, sizeof(*paths), cmp_path);
	if (n > 0 && ((lines = calloc(n, sizeof(*lines))) == NULL ||
		      (stack = calloc(n, sizeof(*stack))) == NULL)) {
		ocis_error_oom(err);
		goto out;
	}
	for (i = 0; i < n; i++) {
		const char *p = paths[i].path;
		size_t pl = strlen(p);
		int rank, above;

		while (depth > 0) {
			const char *t = lines[stack[depth - 1]].path;
			size_t tl = strlen(t);
			if (tl < pl && memcmp(t, p, tl) == 0 && p[tl] == '/')
				break;
			depth--;
		}
		above = depth > 0 ? lines[stack[depth - 1]].rank : -1;
		rank = paths[i].rank;
		if (rank == above)
			continue;
		lines[n_lines].rank = rank;
		lines[n_lines].seq = n_lines;
		lines[n_lines].path = p;
		stack[depth++] = n_lines++;
	}
	qsort(lines, n_lines, sizeof(*lines), cmp_line);
	ocis_buf_reset(out);
	for (i = 0; i < n_lines; i++) {
		const char *lname = g;
		if (lines[i].rank < m->k_own)
			lname = m->pkgs[m->own[lines[i].rank]].name;
		else
			group_name(lines[i].rank - m->k_own, g, sizeof(g));
		if (ocis_buf_addf(out, err, "%s\t%s\n", lname, lines[i].path) < 0)
			goto out;
		if (lines[i].rank != last_rank)
			st->layers++;
		last_rank = lines[i].rank;
	}
	if (ocis_buf_add(out, "", 0, err) < 0)
		goto out;
	st->lines = n_lines;
	st->paths = n;
	r = 0;
out:
	for (i = 0; i < n; i++)
		free(paths[i].path);
	free(paths);
	free(lines);
	free(stack);
	free(agg);
	ocis_buf_release(&name);
	return r;
}

int
ocis_layermap_build(const char *rootfs, const struct ocis_layermap_opts *o,
		    struct ocis_buf *out, struct ocis_layermap_stats *stats, ocis_error_t **err)
{
	static const char *const lists[] = {
		"var/lib/dpkg/info", "var/lib/opkg/info", "usr/lib/opkg/info",
	};
	struct ocis_layermap_stats st;
	struct ocis_buf dir = OCIS_BUF_INIT;
	struct mapper m;
	size_t i;
	int seen = 0, r = -1;

	memset(&st, 0, sizeof(st));
	memset(&m, 0, sizeof(m));
	m.o = o;
	if (o->max_layers < 2 || o->max_layers > OCIS_SPLITMAP_LAYERS_MAX)
		return ocis_error_set(err, EINVAL, "max layers %d out of 2..%d", o->max_layers,
				      OCIS_SPLITMAP_LAYERS_MAX);
	if ((m.rootfd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return ocis_error_set(err, errno, "cannot open the rootfs '%s'", rootfs);
	if (ocis_pathtab_init(&m.paths, err) < 0)
		goto out;
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		ocis_buf_reset(&dir);
		if (ocis_buf_addf(&dir, err, "%s/%s", rootfs, lists[i]) < 0 ||
		    read_source(&m, (char *)dir.data, ".list", NULL, read_list, &seen, err) < 0)
			goto out;
	}
	if (o->pkgdata != NULL) {
		int any = 0;
		ocis_buf_reset(&dir);
		if (ocis_buf_addf(&dir, err, "%s/runtime", o->pkgdata) < 0 ||
		    read_source(&m, (char *)dir.data, "", ".packaged", read_pkgdata, &any,
				err) < 0)
			goto out;
		if (!any) {
			ocis_error_set(err, ENOENT, "no package in the pkgdata '%s' (runtime/*)",
				       o->pkgdata);
			goto out;
		}
		seen = 1;
	}
	if (!seen) {
		ocis_error_set(err, ENOENT, "no package database in '%s' (var/lib/dpkg/info, "
			       "var/lib/opkg/info or usr/lib/opkg/info; or give --pkgdata)",
			       rootfs);
		goto out;
	}
	for (i = 0; i < m.n_pkgs; i++)
		if (m.pkgs[i].found > 0) {
			st.packages++;
			st.missing += m.pkgs[i].missing;
		}
	if (assign_layers(&m, err) < 0 || write_lines(&m, out, &st, err) < 0)
		goto out;
	if (st.missing > 0)
		ocis__warnf(o->warn, o->cb_ctx, "%llu listed paths are not in the rootfs (or "
			    "cannot be named in a map): left to the rest layer",
			    (unsigned long long)st.missing);
	if (stats)
		*stats = st;
	r = 0;
out:
	for (i = 0; i < m.n_pkgs; i++)
		free(m.pkgs[i].name);
	free(m.pkgs);
	free(m.owner);
	free(m.own);
	ocis_pathtab_release(&m.paths);
	ocis_buf_release(&m.canon);
	ocis_buf_release(&m.todo);
	ocis_buf_release(&m.link);
	ocis_buf_release(&m.file);
	ocis_buf_release(&dir);
	close(m.rootfd);
	return r;
}
