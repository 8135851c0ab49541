/* SPDX-License-Identifier: MIT */
/* Registry credentials: see ocistream/credentials.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include <ocistream/credentials.h>
#include <ocistream/io.h>
#include <ocistream/json.h>

#include "internal.h"

#define AUTHFILE_MAX (4 * 1024 * 1024)

void
ocis_creds_release(struct ocis_creds *c)
{
	free(c->user);
	ocis__free_secret(c->password);
	c->user = c->password = NULL;
}

/* "user:password" (len bytes, no NUL needed) split at the first ':'. */
static int
split_pair(const char *s, size_t len, struct ocis_creds *out, int *has_password,
	   ocis_error_t **err)
{
	const char *colon = memchr(s, ':', len);
	size_t ulen = colon ? (size_t)(colon - s) : len;

	if (ulen == 0)
		return ocis_error_set(err, 0, "empty user name");
	if (memchr(s, 0, len) != NULL)
		return ocis_error_set(err, 0, "a NUL byte in the credentials");
	out->user = strndup(s, ulen);
	out->password = colon ? strndup(colon + 1, len - ulen - 1) : strdup("");
	if (out->user == NULL || out->password == NULL) {
		ocis_creds_release(out);
		return ocis_error_oom(err);
	}
	if (has_password)
		*has_password = colon != NULL;
	return 0;
}

int
ocis_creds_parse(const char *s, struct ocis_creds *out, int *has_password, ocis_error_t **err)
{
	memset(out, 0, sizeof(*out));
	return split_pair(s, strlen(s), out, has_password, err);
}

/* base64 of "user:password" into out. */
static int
decode_auth(const char *b64, struct ocis_creds *out, ocis_error_t **err)
{
	size_t len = strlen(b64), pad = 0;
	unsigned char *raw;
	int n, r;

	if (len == 0 || len % 4 != 0 || len > 65536)
		return ocis_error_set(err, 0, "\"auth\" is not base64");
	raw = malloc(len / 4 * 3 + 1);
	if (raw == NULL)
		return ocis_error_oom(err);
	n = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)len);
	if (n < 0) {
		free(raw);
		return ocis_error_set(err, 0, "\"auth\" is not base64");
	}
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	while (pad < 2 && b64[len - 1 - pad] == '=')
		pad++;
	n -= (int)pad;
	if (memchr(raw, ':', (size_t)n) == NULL)
		r = ocis_error_set(err, 0, "\"auth\" is not base64 of \"user:password\"");
	else
		r = split_pair((const char *)raw, (size_t)n, out, NULL, err);
	explicit_bzero(raw, len / 4 * 3 + 1);
	free(raw);
	return r;
}

/* "https://host/v1/" -> "host" (docker's legacy keys); other keys as
 * they are.  Returns the length of the normalised key at *start. */
static size_t
normalise_key(const char *key, const char **start)
{
	const char *k = key, *slash;

	if (strncasecmp(k, "https://", 8) == 0 || strncasecmp(k, "http://", 7) == 0) {
		k = strstr(k, "://") + 3;
		slash = strchr(k, '/');
		*start = k;
		return slash ? (size_t)(slash - k) : strlen(k);
	}
	*start = k;
	return strlen(k);
}

int
ocis_authfile_lookup(const char *json, size_t len, const char *what, const char *host,
		     const char *repo, struct ocis_creds *out, ocis_error_t **err)
{
	yajl_val root = NULL, auths;
	size_t i, best_len = 0, want_len;
	const char *best = NULL;
	char *want = NULL;
	int r = -1;

	memset(out, 0, sizeof(*out));
	if (ocis_json_parse(json, len, what, &root, err) < 0)
		return -1;
	if (!YAJL_IS_OBJECT(root)) {
		ocis_error_set(err, 0, "%s: not a JSON object", what);
		goto out;
	}
	auths = ocis_json_get(root, "auths");
	if (auths == NULL) {
		r = 0;
		goto out;
	}
	if (!YAJL_IS_OBJECT(auths)) {
		ocis_error_set(err, 0, "%s: \"auths\" is not an object", what);
		goto out;
	}
	if (asprintf(&want, "%s/%s", host, repo) < 0) {
		want = NULL;
		ocis_error_oom(err);
		goto out;
	}
	want_len = strlen(want);
	/* The longest key that is "host" or a path prefix of "host/repo" on a
	 * component boundary. */
	for (i = 0; i < auths->u.object.len; i++) {
		const char *k, *key = auths->u.object.keys[i];
		size_t klen = normalise_key(key, &k);
		yajl_val v = auths->u.object.values[i];

		if (klen < strlen(host) || klen > want_len || strncasecmp(k, want, strlen(host)) ||
		    memcmp(k + strlen(host), want + strlen(host), klen - strlen(host)) != 0 ||
		    (klen < want_len && want[klen] != '/'))
			continue;
		if (!YAJL_IS_OBJECT(v) || ocis_json_get_str(v, "auth") == NULL ||
		    *ocis_json_get_str(v, "auth") == 0)
			continue;
		if (best == NULL || klen > best_len) {
			best = ocis_json_get_str(v, "auth");
			best_len = klen;
		}
	}
	if (best == NULL) {
		r = 0;
		goto out;
	}
	if (decode_auth(best, out, err) < 0) {
		ocis_error_wrap(err, "%s: the credentials of '%.*s'", what, (int)best_len, want);
		goto out;
	}
	r = 1;
out:
	free(want);
	if (root)
		yajl_tree_free(root);
	return r;
}

/* path = dir + "/" + leaf, or NULL when dir is unset or empty. */
static char *
join(const char *dir, const char *leaf)
{
	char *p = NULL;

	if (dir == NULL || *dir == 0)
		return NULL;
	if (asprintf(&p, "%s/%s", dir, leaf) < 0)
		return NULL;
	return p;
}

int
ocis_authfile_find(const char *explicit_file, const char *host, const char *repo,
		   struct ocis_creds *out, char **from, ocis_error_t **err)
{
	const char *home = getenv("HOME"), *cfg = getenv("XDG_CONFIG_HOME"),
		   *docker = getenv("DOCKER_CONFIG");
	char *paths[3] = { NULL, NULL, NULL }, *home_cfg = NULL, *home_docker = NULL;
	struct ocis_buf text = OCIS_BUF_INIT;
	int explicit_given, r = 0;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (explicit_file == NULL || *explicit_file == 0)
		explicit_file = getenv("REGISTRY_AUTH_FILE");
	explicit_given = explicit_file != NULL && *explicit_file != 0;
	if (explicit_given)
		paths[0] = strdup(explicit_file);
	else
		paths[0] = join(getenv("XDG_RUNTIME_DIR"), "containers/auth.json");
	if (cfg == NULL || *cfg == 0)
		cfg = home_cfg = join(home, ".config");
	paths[1] = join(cfg, "containers/auth.json");
	if (docker == NULL || *docker == 0)
		docker = home_docker = join(home, ".docker");
	paths[2] = join(docker, "config.json");

	for (i = 0; i < 3 && r == 0; i++) {
		if (paths[i] == NULL)
			continue;
		ocis_error_t *e = NULL;

		if (ocis_read_file(paths[i], &text, AUTHFILE_MAX, &e) < 0) {
			if (e->code == ENOENT && !(i == 0 && explicit_given)) {
				ocis_error_free(&e);
				continue;
			}
			if (err != NULL && *err == NULL)
				*err = e;
			else
				ocis_error_free(&e);
			r = -1;
			break;
		}
		r = ocis_authfile_lookup((const char *)text.data, text.len, paths[i], host, repo,
					 out, err);
		if (r == 1 && from != NULL && (*from = strdup(paths[i])) == NULL) {
			ocis_creds_release(out);
			r = ocis_error_oom(err);
		}
	}
	for (i = 0; i < 3; i++)
		free(paths[i]);
	free(home_cfg);
	free(home_docker);
	ocis_buf_release(&text);
	return r;
}
