/* SPDX-License-Identifier: MIT */
/* Registry authentication text: see ocistream/wwwauth.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ocistream/io.h>
#include <ocistream/json.h>
#include <ocistream/wwwauth.h>

/* RFC 7230 tchar */
static int
is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

struct cursor {
	const char *s;
	size_t len, pos;
};

static void
skip_ws(struct cursor *c)
{
	while (c->pos < c->len && (c->s[c->pos] == ' ' || c->s[c->pos] == '\t'))
		c->pos++;
}

/* A token at the cursor: its length (0 when none). */
static size_t
token(struct cursor *c)
{
	size_t start = c->pos;

	while (c->pos < c->len && is_tchar(c->s[c->pos]))
		c->pos++;
	return c->pos - start;
}

/* A token or quoted string at the cursor, unescaped into out. */
static int
param_value(struct cursor *c, struct ocis_buf *out, ocis_error_t **err)
{
	ocis_buf_reset(out);
	if (c->pos < c->len && c->s[c->pos] == '"') {
		c->pos++;
		while (c->pos < c->len && c->s[c->pos] != '"') {
			if (c->s[c->pos] == '\\' && c->pos + 1 < c->len)
				c->pos++;
			if (ocis_buf_add(out, &c->s[c->pos], 1, err) < 0)
				return -1;
			c->pos++;
		}
		if (c->pos == c->len)
			return ocis_error_set(err, 0, "WWW-Authenticate: unterminated quoted string");
		c->pos++;
	} else {
		size_t start = c->pos, n = token(c);
		if (n == 0)
			return ocis_error_set(err, 0, "WWW-Authenticate: parameter without a value");
		if (ocis_buf_add(out, c->s + start, n, err) < 0)
			return -1;
	}
	return ocis_buf_add(out, "", 0, err);
}

/* Keep value v as *slot (scope values accumulate, space-separated). */
static int
keep(char **slot, const struct ocis_buf *v, int accumulate, ocis_error_t **err)
{
	char *n;

	if (*slot != NULL && accumulate) {
		if (asprintf(&n, "%s %s", *slot, (const char *)v->data) < 0)
			return ocis_error_oom(err);
	} else if ((n = strdup((const char *)v->data)) == NULL) {
		return ocis_error_oom(err);
	}
	free(*slot);
	*slot = n;
	return 0;
}

void
ocis_challenge_release(struct ocis_challenge *ch)
{
	free(ch->realm);
	free(ch->service);
	free(ch->scope);
	memset(ch, 0, sizeof(*ch));
}

/*
 * One challenge: a scheme, then token68 or "name=value" parameters.  A
 * token that is not followed by '=' after the first item is the next
 * challenge's scheme: the cursor is left on it.
 */
static int
one_challenge(struct cursor *c, struct ocis_challenge *ch, struct ocis_buf *v, ocis_error_t **err)
{
	size_t start = c->pos, n = token(c);
	int first = 1;

	if (n == 0)
		return ocis_error_set(err, 0, "WWW-Authenticate: expected an auth scheme at "
				      "byte %zu", c->pos);
	if (n == 5 && strncasecmp(c->s + start, "Basic", 5) == 0)
		ch->scheme = OCIS_AUTH_BASIC;
	else if (n == 6 && strncasecmp(c->s + start, "Bearer", 6) == 0)
		ch->scheme = OCIS_AUTH_BEARER;
	for (;; first = 0) {
		size_t name_at, nlen;
		const char *name;

		skip_ws(c);
		if (c->pos == c->len || (first && c->s[c->pos] == ','))
			return 0;	/* the end, or a challenge without parameters */
		name_at = c->pos;
		nlen = token(c);
		name = c->s + name_at;
		skip_ws(c);
		if (nlen == 0)
			return ocis_error_set(err, 0, "WWW-Authenticate: unexpected '%c' at byte %zu",
					      c->s[c->pos], c->pos);
		if (c->pos < c->len && c->s[c->pos] == '=') {
			size_t eq = c->pos;

			c->pos++;
			skip_ws(c);
			if (c->pos == c->len || c->s[c->pos] == ',' || c->s[c->pos] == '=') {
				/* token68 with '=' padding */
				c->pos = eq;
				while (c->pos < c->len && c->s[c->pos] == '=')
					c->pos++;
			} else {
				if (param_value(c, v, err) < 0)
					return -1;
				if (nlen == 5 && strncasecmp(name, "realm", 5) == 0) {
					if (keep(&ch->realm, v, 0, err) < 0)
						return -1;
				} else if (nlen == 7 && strncasecmp(name, "service", 7) == 0) {
					if (keep(&ch->service, v, 0, err) < 0)
						return -1;
				} else if (nlen == 5 && strncasecmp(name, "scope", 5) == 0) {
					if (keep(&ch->scope, v, 1, err) < 0)
						return -1;
				}
			}
		} else if (!first) {
			c->pos = name_at;	/* the next challenge */
			return 0;
		}
		skip_ws(c);
		if (c->pos == c->len)
			return 0;
		if (c->s[c->pos] != ',') {
			if (first && nlen > 0 && is_tchar(c->s[c->pos]))
				continue;	/* "Scheme token68 ..." is not valid, read on */
			return ocis_error_set(err, 0, "WWW-Authenticate: expected ',' at byte %zu",
					      c->pos);
		}
		while (c->pos < c->len && (c->s[c->pos] == ',' || c->s[c->pos] == ' ' ||
					   c->s[c->pos] == '\t'))
			c->pos++;
	}
}

int
ocis_challenge_parse(const char *h, size_t len, struct ocis_challenge *out, ocis_error_t **err)
{
	struct cursor c = { h, len, 0 };
	struct ocis_buf v = OCIS_BUF_INIT;
	int r = -1;

	memset(out, 0, sizeof(*out));
	if (len > OCIS_WWWAUTH_MAX)
		return ocis_error_set(err, 0, "WWW-Authenticate header longer than %d bytes",
				      OCIS_WWWAUTH_MAX);
	if (memchr(h, 0, len) != NULL)
		return ocis_error_set(err, 0, "WWW-Authenticate: a NUL byte");
	v.cap_limit = OCIS_WWWAUTH_MAX;
	for (;;) {
		struct ocis_challenge ch;

		while (c.pos < c.len && (h[c.pos] == ' ' || h[c.pos] == '\t' || h[c.pos] == ','))
			c.pos++;
		if (c.pos == c.len)
			break;
		memset(&ch, 0, sizeof(ch));
		if (one_challenge(&c, &ch, &v, err) < 0) {
			ocis_challenge_release(&ch);
			goto out;
		}
		if ((out->scheme == OCIS_AUTH_NONE && ch.scheme != OCIS_AUTH_NONE) ||
		    (out->scheme == OCIS_AUTH_BASIC && ch.scheme == OCIS_AUTH_BEARER)) {
			ocis_challenge_release(out);
			*out = ch;
		} else {
			ocis_challenge_release(&ch);
		}
	}
	if (out->scheme == OCIS_AUTH_BEARER && (out->realm == NULL || out->realm[0] == 0)) {
		ocis_error_set(err, 0, "WWW-Authenticate: a Bearer challenge without a realm");
		goto out;
	}
	r = 0;
out:
	if (r < 0)
		ocis_challenge_release(out);
	ocis_buf_release(&v);
	return r;
}

int
ocis_token_response_parse(const char *json, size_t len, char **token_out, long *expires_in,
			  ocis_error_t **err)
{
	yajl_val root = NULL, e;
	const char *t;
	char *copy;

	if (ocis_json_parse(json, len, "token server answer", &root, err) < 0)
		return -1;
	t = ocis_json_get_str(root, "token");
	if (t == NULL || *t == 0)
		t = ocis_json_get_str(root, "access_token");
	if (t == NULL || *t == 0) {
		yajl_tree_free(root);
		return ocis_error_set(err, 0, "token server answer holds no token");
	}
	for (const char *p = t; *p; p++)
		if ((unsigned char)*p < 0x21 || *p == 0x7f) {
			yajl_tree_free(root);
			return ocis_error_set(err, 0, "token server answer: the token holds "
					      "spaces or control characters");
		}
	*expires_in = 60;
	e = ocis_json_get(root, "expires_in");
	if (e != NULL && YAJL_IS_INTEGER(e) && YAJL_GET_INTEGER(e) > 0)
		*expires_in = (long)YAJL_GET_INTEGER(e);
	copy = strdup(t);
	yajl_tree_free(root);
	if (copy == NULL)
		return ocis_error_oom(err);
	*token_out = copy;
	return 0;
}
