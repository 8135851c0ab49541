/* SPDX-License-Identifier: MIT */
/* Registry references: see ocistream/refparse.h. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ocistream/hash.h>
#include <ocistream/refparse.h>

#include "internal.h"

#define NAME_MAX_LEN 255	/* host/repo, as the distribution grammar bounds it */

static int
is_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* host[:port] or [ipv6][:port]; sets *hostish when it can only be a host
 * (a '.', a ':' or "localhost"). */
static int
host_valid(const char *h, size_t len, int *hostish)
{
	size_t i = 0, port_at = len;
	const char *colon;

	*hostish = 0;
	if (len == 0)
		return 0;
	if (h[0] == '[') {
		const char *end = memchr(h, ']', len);
		if (end == NULL || end == h + 1)
			return 0;
		for (i = 1; h + i < end; i++)
			if (!isxdigit((unsigned char)h[i]) && h[i] != ':' && h[i] != '.')
				return 0;
		i = (size_t)(end - h) + 1;
		if (i < len && h[i] != ':')
			return 0;
		port_at = i;
		*hostish = 1;
	} else {
		int label = 0;
		colon = memchr(h, ':', len);
		port_at = colon ? (size_t)(colon - h) : len;
		for (i = 0; i < port_at; i++) {
			char c = h[i];
			if (is_alnum(c)) {
				label++;
			} else if (c == '-' && label > 0 && i + 1 < port_at && h[i + 1] != '.') {
				label++;
			} else if (c == '.' && label > 0 && i + 1 < port_at) {
				label = 0;
				*hostish = 1;
			} else {
				return 0;
			}
		}
		if (port_at == 9 && strncmp(h, "localhost", 9) == 0)
			*hostish = 1;
	}
	if (port_at < len) {
		unsigned long port = 0;
		*hostish = 1;
		if (port_at + 1 == len || len - port_at - 1 > 5)
			return 0;
		for (i = port_at + 1; i < len; i++) {
			if (h[i] < '0' || h[i] > '9')
				return 0;
			port = port * 10 + (unsigned long)(h[i] - '0');
		}
		if (port == 0 || port > 65535)
			return 0;
	}
	return 1;
}

/* path-component ('/' path-component)*, each [a-z0-9]+ joined by '.', '_',
 * '__' or one or more '-'. */
static int
repo_valid(const char *r, size_t len)
{
	size_t i = 0;

	while (i < len) {
		if (!((r[i] >= 'a' && r[i] <= 'z') || (r[i] >= '0' && r[i] <= '9')))
			return 0;
		while (i < len && ((r[i] >= 'a' && r[i] <= 'z') || (r[i] >= '0' && r[i] <= '9')))
			i++;
		if (i == len)
			return 1;
		if (r[i] == '/') {
			i++;
			if (i == len)
				return 0;
			continue;
		}
		if (r[i] == '.')
			i++;
		else if (r[i] == '_')
			i += (i + 1 < len && r[i + 1] == '_') ? 2 : 1;
		else if (r[i] == '-')
			while (i < len && r[i] == '-')
				i++;
		else
			return 0;
		if (i == len)
			return 0;
	}
	return len > 0;
}

int
ocis_image_tag_valid(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 128 || s[0] == '.' || s[0] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
			return 0;
	return 1;
}

void
ocis_image_ref_release(struct ocis_image_ref *r)
{
	free(r->host);
	free(r->repo);
	free(r->tag);
	free(r->digest);
	memset(r, 0, sizeof(*r));
}

int
ocis_image_ref_parse(const char *s, struct ocis_image_ref *out, ocis_error_t **err)
{
	struct ocis_image_ref r;
	const char *p = s, *slash, *at, *name_end, *colon;
	char shown[160];
	int hostish;

	memset(out, 0, sizeof(*out));
	memset(&r, 0, sizeof(r));
	if (strncmp(p, "docker://", 9) == 0)
		p += 9;
	slash = strchr(p, '/');
	if (slash == NULL || !host_valid(p, (size_t)(slash - p), &hostish) || !hostish)
		return ocis_error_set(err, 0, "'%s' names no registry: expected "
				      "docker://HOST[:PORT]/REPO[:TAG]",
				      ocis__safe_name(s, shown, sizeof(shown)));
	at = strchr(slash + 1, '@');
	name_end = at ? at : slash + 1 + strlen(slash + 1);
	colon = memchr(slash + 1, ':', (size_t)(name_end - slash - 1));
	if (colon && memchr(colon, '/', (size_t)(name_end - colon)))
		colon = NULL;	/* a ':' before a '/' is no tag separator */
	if (colon == NULL)
		colon = name_end;
	if (!repo_valid(slash + 1, (size_t)(colon - slash - 1)))
		return ocis_error_set(err, 0, "'%s': invalid repository name (lowercase letters, "
				      "digits and separators . _ __ - /)",
				      ocis__safe_name(s, shown, sizeof(shown)));
	if ((size_t)(colon - p) > NAME_MAX_LEN)
		return ocis_error_set(err, 0, "'%s': repository name longer than %d bytes",
				      ocis__safe_name(s, shown, sizeof(shown)), NAME_MAX_LEN);
	if ((r.host = strndup(p, (size_t)(slash - p))) == NULL ||
	    (r.repo = strndup(slash + 1, (size_t)(colon - slash - 1))) == NULL)
		goto oom;
	for (char *h = r.host; *h; h++)
		*h = (char)tolower((unsigned char)*h);
	if (colon < name_end) {
		if ((r.tag = strndup(colon + 1, (size_t)(name_end - colon - 1))) == NULL)
			goto oom;
		if (!ocis_image_tag_valid(r.tag)) {
			ocis_error_set(err, 0, "'%s': invalid tag '%s'",
				       ocis__safe_name(s, shown, sizeof(shown)), r.tag);
			goto fail;
		}
	}
	if (at) {
		if (!ocis_digest_valid(at + 1)) {
			ocis_error_set(err, 0, "'%s': invalid digest (sha256:<64 hex digits>)",
				       ocis__safe_name(s, shown, sizeof(shown)));
			goto fail;
		}
		if (r.tag) {
			ocis_error_set(err, 0, "'%s': a destination with both a tag and a digest "
				       "is not supported", ocis__safe_name(s, shown, sizeof(shown)));
			goto fail;
		}
		if ((r.digest = strdup(at + 1)) == NULL)
			goto oom;
	} else if (r.tag == NULL && (r.tag = strdup("latest")) == NULL) {
		goto oom;
	}
	*out = r;
	return 0;
oom:
	ocis_error_oom(err);
fail:
	ocis_image_ref_release(&r);
	return -1;
}
