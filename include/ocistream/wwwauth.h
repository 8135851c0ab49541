/* SPDX-License-Identifier: MIT */
/*
 * The text of registry authentication, parsed without any I/O (so it can
 * be unit tested and fuzzed): the WWW-Authenticate challenge of a 401
 * (RFC 7235 syntax: a scheme, then token68 or comma-separated name=value
 * parameters, values tokens or quoted strings with backslash escapes), and
 * the token server's answer of the docker token flow ({"token": ...} or
 * {"access_token": ...}, optional "expires_in" seconds).
 *
 * A header may carry several challenges; the first Bearer one is taken,
 * else the first Basic one.  Parameter names are case-insensitive; realm,
 * service and scope are kept (scope may repeat: the values are joined with
 * a space, as the token spec's scope list is).  Values are bounded
 * (OCIS_WWWAUTH_MAX bytes in all).
 */
#ifndef OCISTREAM_WWWAUTH_H
#define OCISTREAM_WWWAUTH_H

#include <stddef.h>

#include <ocistream/error.h>

#define OCIS_WWWAUTH_MAX 8192

enum ocis_auth_scheme {
	OCIS_AUTH_NONE,
	OCIS_AUTH_BASIC,
	OCIS_AUTH_BEARER,
};

struct ocis_challenge {
	enum ocis_auth_scheme scheme;
	char *realm;	/* owned, or NULL */
	char *service;	/* owned, or NULL */
	char *scope;	/* owned, or NULL; several scopes space-separated */
};

/* Parse header value h (len bytes).  0 with *out filled (scheme NONE when
 * it holds neither a Basic nor a Bearer challenge), -1 on a malformed or
 * oversized header.  A Bearer challenge without a realm is an error. */
int ocis_challenge_parse(const char *h, size_t len, struct ocis_challenge *out,
			 ocis_error_t **err);
void ocis_challenge_release(struct ocis_challenge *c);

/* The token of a token server's JSON answer: *token owned by the caller;
 * *expires_in the seconds it is valid (60 when absent, as the spec says). */
int ocis_token_response_parse(const char *json, size_t len, char **token, long *expires_in,
			      ocis_error_t **err);

#endif
