/* SPDX-License-Identifier: MIT */
/*
 * The OCI image config: model, defaults, setters, JSON in and out.  See
 * ocistream/imageconfig.h.
 *
 * Design notes.
 * - Bytes are a function of the model: keys in one fixed order, maps
 *   (ExposedPorts, Volumes, Labels) sorted by key in byte order (what Go's
 *   encoding/json does), duplicates folded (last one wins), empty optional
 *   fields omitted, integers only.  ocis_config_from_json followed by
 *   ocis_config_to_json is therefore byte-identical on our own output.
 * - Reading is tolerant where configs vary in the wild (unknown keys are
 *   ignored, JSON null counts as absent, as Docker writes "Cmd": null) and
 *   strict on types: a known key of the wrong type is an error naming it.
 * - Labels live in the model as "k=v" strings, so a label key cannot
 *   contain '='; such a key is refused when reading.
 * - Architecture names are mapped with one table (below); the default is
 *   the running machine's uname -m, mapped the same way.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include <ocistream/arch.h>
#include <ocistream/imageconfig.h>
#include <ocistream/json.h>
#include <ocistream/layerdesc.h>
#include <ocistream/rfc3339.h>
#include <ocistream/strv.h>

#include "internal.h"

#define WHAT "image config"

/* --- model -------------------------------------------------------------- */

void
ocis_config_init(struct ocis_config *c)
{
	memset(c, 0, sizeof(*c));
}

static void
history_entry_release(struct ocis_history_entry *h)
{
	free(h->created);
	free(h->created_by);
	free(h->author);
	free(h->comment);
	memset(h, 0, sizeof(*h));
}

void
ocis_config_clear_layers(struct ocis_config *c)
{
	size_t i;

	ocis_strv_clear(&c->diff_ids);
	for (i = 0; i < c->n_history; i++)
		history_entry_release(&c->history[i]);
	free(c->history);
	c->history = NULL;
	c->n_history = 0;
}

void
ocis_config_release(struct ocis_config *c)
{
	free(c->created);
	free(c->author);
	free(c->architecture);
	free(c->variant);
	free(c->os);
	free(c->user);
	ocis_strv_clear(&c->exposed_ports);
	ocis_strv_clear(&c->env);
	ocis_strv_clear(&c->entrypoint);
	ocis_strv_clear(&c->cmd);
	ocis_strv_clear(&c->volumes);
	free(c->working_dir);
	ocis_strv_clear(&c->labels);
	free(c->stop_signal);
	ocis_config_clear_layers(c);
	ocis_config_init(c);
}

int
ocis_config_set_str(char **field, const char *value, ocis_error_t **err)
{
	char *n = NULL;

	if (value != NULL && *value != 0) {
		n = strdup(value);
		if (n == NULL)
			return ocis_error_oom(err);
	}
	free(*field);
	*field = n;
	return 0;
}

int
ocis_config_add_history(struct ocis_config *c, const struct ocis_history_entry *h,
			ocis_error_t **err)
{
	struct ocis_history_entry n, *v;

	memset(&n, 0, sizeof(n));
	if (ocis__strdup_opt(&n.created, h->created, err) < 0 ||
	    ocis__strdup_opt(&n.created_by, h->created_by, err) < 0 ||
	    ocis__strdup_opt(&n.author, h->author, err) < 0 ||
	    ocis__strdup_opt(&n.comment, h->comment, err) < 0)
		goto fail;
	n.empty_layer = h->empty_layer ? 1 : 0;
	v = realloc(c->history, (c->n_history + 1) * sizeof(*v));
	if (v == NULL) {
		ocis_error_oom(err);
		goto fail;
	}
	v[c->n_history++] = n;
	c->history = v;
	return 0;
fail:
	history_entry_release(&n);
	return -1;
}

/* --- platform ----------------------------------------------------------- */


int
ocis_config_set_platform(struct ocis_config *c, const char *arch, const char *variant,
			 ocis_error_t **err)
{
	const char *a, *v;
	char *na = NULL, *nv = NULL;

	if (arch == NULL || *arch == 0)
		return ocis_error_set(err, 0, "architecture: empty value");
	if (!ocis_arch_lookup(arch, &a, &v))
		return ocis_error_set(err, 0, "unknown architecture '%s'", arch);
	if (variant != NULL)
		v = *variant ? variant : NULL;
	if (ocis__strdup_opt(&na, a, err) < 0 || ocis__strdup_opt(&nv, v, err) < 0) {
		free(na);
		return -1;
	}
	free(c->architecture);
	free(c->variant);
	c->architecture = na;
	c->variant = nv;
	return 0;
}

/* --- defaults and layers ------------------------------------------------ */

int
ocis_config_set_defaults(struct ocis_config *c, int64_t created_epoch, ocis_error_t **err)
{
	const char *arch, *variant;
	char ts[32];

	if (c->os == NULL && ocis_config_set_str(&c->os, "linux", err) < 0)
		return -1;
	if (c->architecture == NULL) {
		ocis_arch_host(&arch, &variant);
		if (ocis_config_set_str(&c->architecture, arch, err) < 0)
			return -1;
		if (c->variant == NULL && ocis_config_set_str(&c->variant, variant, err) < 0)
			return -1;
	}
	if (c->created == NULL) {
		if (ocis_rfc3339(created_epoch, ts) < 0)
			return ocis_error_set(err, 0, "creation time %" PRId64
					      " out of range", created_epoch);
		if (ocis_config_set_str(&c->created, ts, err) < 0)
			return -1;
	}
	return 0;
}

static size_t
nonempty_history(const struct ocis_config *c)
{
	size_t i, n = 0;

	for (i = 0; i < c->n_history; i++)
		if (!c->history[i].empty_layer)
			n++;
	return n;
}

int
ocis_config_add_layer(struct ocis_config *c, const struct ocis_layer_desc *d,
		      ocis_error_t **err)
{
	struct ocis_history_entry h;
	int with_history;

	if (!ocis_digest_valid(d->diff_id))
		return ocis_error_set(err, 0, "layer '%s': malformed diff_id", d->digest);
	with_history = nonempty_history(c) == c->diff_ids.n;
	if (ocis_strv_push(&c->diff_ids, d->diff_id, err) < 0)
		return -1;
	if (!with_history)
		return 0;
	memset(&h, 0, sizeof(h));
	h.created = d->history.created ? d->history.created : c->created;
	h.created_by = d->history.created_by;
	h.comment = d->history.comment;
	if (ocis_config_add_history(c, &h, err) < 0) {
		free(c->diff_ids.v[--c->diff_ids.n]);
		c->diff_ids.v[c->diff_ids.n] = NULL;
		return -1;
	}
	return 0;
}

int
ocis_config_sync_layers(struct ocis_config *c, const struct ocis_layer_desc *layers,
			size_t n_layers, ocis_error_t **err)
{
	size_t i, k = c->diff_ids.n;

	for (i = 0; i < k; i++) {
		if (i >= n_layers)
			return ocis_error_set(err, 0, "image config lists %zu layers but the "
					      "stream has %zu", k, n_layers);
		if (strcmp(c->diff_ids.v[i], layers[i].diff_id) != 0)
			return ocis_error_set(err, 0, "image config does not match the "
					      "stream's layers: layer %zu has diff_id %s in the "
					      "config, %s in the stream", i + 1,
					      c->diff_ids.v[i], layers[i].diff_id);
	}
	for (i = k; i < n_layers; i++)
		if (ocis_config_add_layer(c, &layers[i], err) < 0)
			return -1;
	c->diff_ids.set = 1;
	return 0;
}

/* --- setters ------------------------------------------------------------ */

int
ocis_config_set_env(struct ocis_config *c, const char *kv, ocis_error_t **err)
{
	const char *eq = strchr(kv, '=');

	if (eq == NULL)
		return ocis_error_set(err, 0, "invalid environment variable '%s': "
				      "expected NAME=VALUE", kv);
	if (eq == kv)
		return ocis_error_set(err, 0, "invalid environment variable '%s': "
				      "empty name", kv);
	return ocis_strv_set_kv(&c->env, kv, err);
}

int
ocis_config_set_label(struct ocis_config *c, const char *kv, ocis_error_t **err)
{
	const char *eq = strchr(kv, '=');

	if (eq == NULL)
		return ocis_error_set(err, 0, "invalid label '%s': expected key=value", kv);
	if (eq == kv)
		return ocis_error_set(err, 0, "invalid label '%s': empty key", kv);
	return ocis_strv_set_kv(&c->labels, kv, err);
}

static int
parse_port(const char *s, size_t len, unsigned *out)
{
	unsigned v = 0;
	size_t i;

	if (len == 0 || len > 5)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	*out = v;
	return 0;
}

int
ocis_config_add_port(struct ocis_config *c, const char *spec, ocis_error_t **err)
{
	const char *slash = strchr(spec, '/'), *proto = "tcp", *dash;
	size_t numlen = slash ? (size_t)(slash - spec) : strlen(spec);
	unsigned lo, hi, p;
	struct ocis_strv add = { NULL, 0, 0 };
	char buf[32];

	if (slash != NULL) {
		proto = slash + 1;
		if (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0 &&
		    strcmp(proto, "sctp") != 0)
			return ocis_error_set(err, 0, "invalid port '%s': protocol must be "
					      "tcp, udp or sctp", spec);
	}
	dash = memchr(spec, '-', numlen);
	if (dash == NULL) {
		if (parse_port(spec, numlen, &lo) < 0)
			goto bad;
		hi = lo;
	} else {
		if (parse_port(spec, (size_t)(dash - spec), &lo) < 0 ||
		    parse_port(dash + 1, numlen - (size_t)(dash - spec) - 1, &hi) < 0 || hi < lo)
			goto bad;
		if (hi - lo >= 1024)
			return ocis_error_set(err, 0, "invalid port '%s': range longer than "
					      "1024 ports", spec);
	}
	for (p = lo; p <= hi; p++) {
		snprintf(buf, sizeof(buf), "%u/%s", p, proto);
		if (ocis_strv_find_key(&c->exposed_ports, buf, strlen(buf)) >= 0)
			continue;
		if (ocis_strv_push(&add, buf, err) < 0)
			goto fail;
	}
	for (p = 0; p < add.n; p++)
		if (ocis_strv_push(&c->exposed_ports, add.v[p], err) < 0)
			goto fail;
	c->exposed_ports.set = 1;
	ocis_strv_clear(&add);
	return 0;
bad:
	return ocis_error_set(err, 0, "invalid port '%s': expected <port>[/tcp|/udp] "
			      "with a port from 1 to 65535", spec);
fail:
	ocis_strv_clear(&add);
	return -1;
}

int
ocis_config_add_volume(struct ocis_config *c, const char *path, ocis_error_t **err)
{
	size_t i;

	if (path[0] != '/')
		return ocis_error_set(err, 0, "invalid volume '%s': expected an absolute "
				      "path", path);
	for (i = 0; i < c->volumes.n; i++)
		if (strcmp(c->volumes.v[i], path) == 0)
			return 0;
	return ocis_strv_push(&c->volumes, path, err);
}

/* --- JSON out ----------------------------------------------------------- */

/* Write a map from "k" or "k=v" strings sorted by key; the last of equal
 * keys wins.  With `kv`, values are strings; else each value is {}. */
static int
gen_sorted_map(yajl_gen g, const char *key, const struct ocis_strv *s, int kv, int *status,
	       ocis_error_t **err)
{
	*status |= ocis_json_key(g, key);
	return ocis_json_sorted_map(g, s->v, s->n, kv, status, err);
}

static int
gen_strv(yajl_gen g, const char *key, const struct ocis_strv *s)
{
	int st = 0;
	size_t i;

	st |= ocis_json_key(g, key);
	st |= ocis_json_open_array(g);
	for (i = 0; i < s->n; i++)
		st |= ocis_json_str(g, s->v[i]);
	st |= ocis_json_close_array(g);
	return st;
}

static int
has_container_config(const struct ocis_config *c)
{
	return c->user || c->exposed_ports.n || c->env.n || c->entrypoint.n || c->cmd.n ||
	       c->volumes.n || c->working_dir || c->labels.n || c->stop_signal;
}

int
ocis_config_to_json(const struct ocis_config *c, struct ocis_buf *out, ocis_error_t **err)
{
	yajl_gen g = ocis_json_gen_new();
	int s = 0;
	size_t i;

	if (g == NULL)
		return ocis_error_oom(err);
	s |= ocis_json_open_map(g);
	if (c->created)
		s |= ocis_json_kv_str(g, "created", c->created);
	if (c->author)
		s |= ocis_json_kv_str(g, "author", c->author);
	if (c->architecture)
		s |= ocis_json_kv_str(g, "architecture", c->architecture);
	if (c->variant)
		s |= ocis_json_kv_str(g, "variant", c->variant);
	if (c->os)
		s |= ocis_json_kv_str(g, "os", c->os);
	if (has_container_config(c)) {
		s |= ocis_json_key(g, "config");
		s |= ocis_json_open_map(g);
		if (c->user)
			s |= ocis_json_kv_str(g, "User", c->user);
		if (c->exposed_ports.n &&
		    gen_sorted_map(g, "ExposedPorts", &c->exposed_ports, 0, &s, err) < 0)
			goto fail;
		if (c->env.n)
			s |= gen_strv(g, "Env", &c->env);
		if (c->entrypoint.n)
			s |= gen_strv(g, "Entrypoint", &c->entrypoint);
		if (c->cmd.n)
			s |= gen_strv(g, "Cmd", &c->cmd);
		if (c->volumes.n && gen_sorted_map(g, "Volumes", &c->volumes, 0, &s, err) < 0)
			goto fail;
		if (c->working_dir)
			s |= ocis_json_kv_str(g, "WorkingDir", c->working_dir);
		if (c->labels.n && gen_sorted_map(g, "Labels", &c->labels, 1, &s, err) < 0)
			goto fail;
		if (c->stop_signal)
			s |= ocis_json_kv_str(g, "StopSignal", c->stop_signal);
		s |= ocis_json_close_map(g);
	}
	/* rootfs is required, even for an image without layers. */
	s |= ocis_json_key(g, "rootfs");
	s |= ocis_json_open_map(g);
	s |= ocis_json_kv_str(g, "type", "layers");
	s |= gen_strv(g, "diff_ids", &c->diff_ids);
	s |= ocis_json_close_map(g);
	if (c->n_history) {
		s |= ocis_json_key(g, "history");
		s |= ocis_json_open_array(g);
		for (i = 0; i < c->n_history; i++) {
			const struct ocis_history_entry *h = &c->history[i];
			s |= ocis_json_open_map(g);
			if (h->created)
				s |= ocis_json_kv_str(g, "created", h->created);
			if (h->created_by)
				s |= ocis_json_kv_str(g, "created_by", h->created_by);
			if (h->author)
				s |= ocis_json_kv_str(g, "author", h->author);
			if (h->comment)
				s |= ocis_json_kv_str(g, "comment", h->comment);
			if (h->empty_layer) {
				s |= ocis_json_key(g, "empty_layer");
				s |= ocis_json_bool(g, 1);
			}
			s |= ocis_json_close_map(g);
		}
		s |= ocis_json_close_array(g);
	}
	s |= ocis_json_close_map(g);
	return ocis_json_gen_finish(g, s, WHAT, out, err);
fail:
	yajl_gen_free(g);
	return -1;
}

/* --- JSON in ------------------------------------------------------------ */

/* Absent and JSON null both mean "not there". */
static yajl_val
get(yajl_val obj, const char *key)
{
	yajl_val v = ocis_json_get(obj, key);

	return (v && YAJL_IS_NULL(v)) ? NULL : v;
}

static int
type_error(ocis_error_t **err, const char *path, const char *expected)
{
	return ocis_error_set(err, 0, "parsing " WHAT ": '%s': expected %s", path,
			      expected);
}

static int
read_str(yajl_val obj, const char *key, const char *path, char **dst, ocis_error_t **err)
{
	yajl_val v = get(obj, key);

	if (v == NULL)
		return 0;
	if (!YAJL_IS_STRING(v))
		return type_error(err, path, "a string");
	return ocis_config_set_str(dst, YAJL_GET_STRING(v), err);
}

static int
read_strv(yajl_val obj, const char *key, const char *path, struct ocis_strv *dst,
	  ocis_error_t **err)
{
	yajl_val v = get(obj, key);
	size_t i;

	if (v == NULL)
		return 0;
	if (!YAJL_IS_ARRAY(v))
		return type_error(err, path, "an array of strings");
	dst->set = 1;
	for (i = 0; i < v->u.array.len; i++) {
		yajl_val e = v->u.array.values[i];
		if (!YAJL_IS_STRING(e))
			return type_error(err, path, "an array of strings");
		if (ocis_strv_push(dst, YAJL_GET_STRING(e), err) < 0)
			return -1;
	}
	return 0;
}

/* A map whose keys are the items ({"80/tcp": {}}); or, with kv, a map of
 * strings stored as "k=v". */
static int
read_map(yajl_val obj, const char *key, const char *path, struct ocis_strv *dst, int kv,
	 ocis_error_t **err)
{
	yajl_val v = get(obj, key);
	struct ocis_buf b = OCIS_BUF_INIT;
	size_t i;
	int r = -1;

	if (v == NULL)
		return 0;
	if (!YAJL_IS_OBJECT(v))
		return type_error(err, path, kv ? "an object of strings" : "an object");
	dst->set = 1;
	for (i = 0; i < v->u.object.len; i++) {
		const char *k = v->u.object.keys[i];
		yajl_val e = v->u.object.values[i];
		if (!kv) {
			if (ocis_strv_push(dst, k, err) < 0)
				goto out;
			continue;
		}
		if (!YAJL_IS_STRING(e)) {
			type_error(err, path, "an object of strings");
			goto out;
		}
		if (*k == 0 || strchr(k, '=') != NULL) {
			ocis_error_set(err, 0, "parsing " WHAT ": '%s': unsupported key '%s'",
				       path, k);
			goto out;
		}
		ocis_buf_reset(&b);
		if (ocis_buf_addf(&b, err, "%s=%s", k, YAJL_GET_STRING(e)) < 0 ||
		    ocis_strv_set_kv(dst, (char *)b.data, err) < 0)
			goto out;
	}
	r = 0;
out:
	ocis_buf_release(&b);
	return r;
}

static int
read_history(struct ocis_config *c, yajl_val v, ocis_error_t **err)
{
	struct ocis_history_entry h;
	size_t i;
	int r;

	if (v == NULL)
		return 0;
	if (!YAJL_IS_ARRAY(v))
		return type_error(err, "history", "an array of objects");
	for (i = 0; i < v->u.array.len; i++) {
		yajl_val e = v->u.array.values[i], el;
		if (!YAJL_IS_OBJECT(e))
			return type_error(err, "history", "an array of objects");
		memset(&h, 0, sizeof(h));
		r = read_str(e, "created", "history.created", &h.created, err);
		if (r == 0)
			r = read_str(e, "created_by", "history.created_by", &h.created_by, err);
		if (r == 0)
			r = read_str(e, "author", "history.author", &h.author, err);
		if (r == 0)
			r = read_str(e, "comment", "history.comment", &h.comment, err);
		el = get(e, "empty_layer");
		if (r == 0 && el != NULL) {
			if (YAJL_IS_TRUE(el))
				h.empty_layer = 1;
			else if (!YAJL_IS_FALSE(el))
				r = type_error(err, "history.empty_layer", "true or false");
		}
		if (r == 0)
			r = ocis_config_add_history(c, &h, err);
		history_entry_release(&h);
		if (r < 0)
			return -1;
	}
	return 0;
}

int
ocis_config_from_json(struct ocis_config *c, const char *json, size_t len, ocis_error_t **err)
{
	struct ocis_config n;
	yajl_val root = NULL, cc, rootfs;
	const char *type;
	size_t i;
	int r = -1;

	ocis_config_init(&n);
	if (ocis_json_parse(json, len, WHAT, &root, err) < 0)
		return -1;
	if (!YAJL_IS_OBJECT(root)) {
		ocis_error_set(err, 0, "parsing " WHAT ": not a json object");
		goto out;
	}
	if (read_str(root, "created", "created", &n.created, err) < 0 ||
	    read_str(root, "author", "author", &n.author, err) < 0 ||
	    read_str(root, "architecture", "architecture", &n.architecture, err) < 0 ||
	    read_str(root, "variant", "variant", &n.variant, err) < 0 ||
	    read_str(root, "os", "os", &n.os, err) < 0)
		goto out;
	cc = get(root, "config");
	if (cc != NULL && !YAJL_IS_OBJECT(cc)) {
		type_error(err, "config", "an object");
		goto out;
	}
	if (cc != NULL &&
	    (read_str(cc, "User", "config.User", &n.user, err) < 0 ||
	     read_map(cc, "ExposedPorts", "config.ExposedPorts", &n.exposed_ports, 0, err) < 0 ||
	     read_strv(cc, "Env", "config.Env", &n.env, err) < 0 ||
	     read_strv(cc, "Entrypoint", "config.Entrypoint", &n.entrypoint, err) < 0 ||
	     read_strv(cc, "Cmd", "config.Cmd", &n.cmd, err) < 0 ||
	     read_map(cc, "Volumes", "config.Volumes", &n.volumes, 0, err) < 0 ||
	     read_str(cc, "WorkingDir", "config.WorkingDir", &n.working_dir, err) < 0 ||
	     read_map(cc, "Labels", "config.Labels", &n.labels, 1, err) < 0 ||
	     read_str(cc, "StopSignal", "config.StopSignal", &n.stop_signal, err) < 0))
		goto out;
	rootfs = get(root, "rootfs");
	if (rootfs != NULL) {
		if (!YAJL_IS_OBJECT(rootfs)) {
			type_error(err, "rootfs", "an object");
			goto out;
		}
		type = ocis_json_get_str(rootfs, "type");
		if (get(rootfs, "type") != NULL && (type == NULL || strcmp(type, "layers") != 0)) {
			type_error(err, "rootfs.type", "\"layers\"");
			goto out;
		}
		if (read_strv(rootfs, "diff_ids", "rootfs.diff_ids", &n.diff_ids, err) < 0)
			goto out;
		for (i = 0; i < n.diff_ids.n; i++)
			if (!ocis_digest_valid(n.diff_ids.v[i])) {
				ocis_error_set(err, 0, "parsing " WHAT ": 'rootfs.diff_ids': "
					       "unsupported digest '%s'", n.diff_ids.v[i]);
				goto out;
			}
	}
	if (read_history(&n, get(root, "history"), err) < 0)
		goto out;
	*c = n;
	ocis_config_init(&n);
	r = 0;
out:
	ocis_config_release(&n);
	yajl_tree_free(root);
	return r;
}
