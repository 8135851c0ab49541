/* SPDX-License-Identifier: MIT */
/*
 * Registry credentials as skopeo finds them: --creds USER[:PASSWORD], or
 * an auth file (containers-auth.json(5), the same format as docker's
 * config.json "auths").
 *
 * The files read, in order, until one holds credentials for the registry:
 * the explicit one (--authfile, else $REGISTRY_AUTH_FILE, else
 * ${XDG_RUNTIME_DIR}/containers/auth.json), then
 * ${XDG_CONFIG_HOME:-~/.config}/containers/auth.json, then
 * ${DOCKER_CONFIG:-~/.docker}/config.json.  A missing file is skipped,
 * except an explicit one (--authfile or $REGISTRY_AUTH_FILE).  Within a
 * file the most specific key wins: "host/ns/repo", then "host/ns", then
 * "host"; docker's "https://host/v1/" style keys stand for "host".  Only
 * "auth" (base64 of "user:password") is read; credential helpers
 * (credHelpers, credsStore) and identity tokens are not used.
 */
#ifndef OCISTREAM_CREDENTIALS_H
#define OCISTREAM_CREDENTIALS_H

#include <stddef.h>

#include <ocistream/error.h>

struct ocis_creds {
	char *user;		/* owned; NULL = anonymous */
	char *password;		/* owned; wiped on release */
};

void ocis_creds_release(struct ocis_creds *c);

/* "USER[:PASSWORD]" (the first ':' splits); *has_password says whether
 * one was given.  An empty user is refused. */
int ocis_creds_parse(const char *s, struct ocis_creds *out, int *has_password,
		     ocis_error_t **err);

/* Credentials for host ("host[:port]") and repo in one auth file's text:
 * 1 and *out set when found, 0 when the file has none for it, -1 when the
 * file is malformed (the JSON, or an "auth" that is not base64 of
 * "user:password").  what names the file in messages. */
int ocis_authfile_lookup(const char *json, size_t len, const char *what, const char *host,
			 const char *repo, struct ocis_creds *out, ocis_error_t **err);

/* The search above; explicit may be NULL (then $REGISTRY_AUTH_FILE is the
 * explicit file when set).  1 and *out set (and *from, when not NULL, a
 * malloc'd copy of the file's path), 0 when no file has credentials. */
int ocis_authfile_find(const char *explicit_file, const char *host, const char *repo,
		       struct ocis_creds *out, char **from, ocis_error_t **err);

#endif
