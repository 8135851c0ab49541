/* SPDX-License-Identifier: MIT */
/* Unit tests: WWW-Authenticate challenges and token answers (wwwauth). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <ocistream/wwwauth.h>

#include "../tap.h"

static int
challenge(const char *h, struct ocis_challenge *c)
{
	ocis_error_t *err = NULL;
	int r = ocis_challenge_parse(h, strlen(h), c, &err);

	if (r < 0) {
		TAP_MUST(err && strchr(err->msg, '\n') == NULL);
		ocis_error_free(&err);
	}
	return r;
}

static int
str_is(const char *got, const char *want)
{
	return want == NULL ? got == NULL : got != NULL && strcmp(got, want) == 0;
}

static int
test_bearer(void)
{
	struct ocis_challenge c;

	TAP_CHECK(challenge("Bearer realm=\"https://auth.example/token\",service=\"reg\","
			    "scope=\"repository:a/b:pull,push\"", &c) == 0);
	TAP_CHECK(c.scheme == OCIS_AUTH_BEARER);
	TAP_CHECK(str_is(c.realm, "https://auth.example/token"));
	TAP_CHECK(str_is(c.service, "reg"));
	TAP_CHECK(str_is(c.scope, "repository:a/b:pull,push"));
	ocis_challenge_release(&c);
	/* case, spaces, token values, escapes, unknown and repeated parameters */
	TAP_CHECK(challenge("  bearer  Realm = \"h\\\"t\" , error=insufficient_scope,"
			    "scope=a, scope=\"b c\", service=s ", &c) == 0);
	TAP_CHECK(c.scheme == OCIS_AUTH_BEARER);
	TAP_CHECK(str_is(c.realm, "h\"t"));
	TAP_CHECK(str_is(c.service, "s"));
	TAP_CHECK(str_is(c.scope, "a b c"));
	ocis_challenge_release(&c);
	return 0;
}

static int
test_several(void)
{
	struct ocis_challenge c;

	/* Bearer wins over Basic, whatever the order */
	TAP_CHECK(challenge("Basic realm=\"x\", Bearer realm=\"y\", Newauth abc==", &c) == 0);
	TAP_CHECK(c.scheme == OCIS_AUTH_BEARER && str_is(c.realm, "y"));
	ocis_challenge_release(&c);
	TAP_CHECK(challenge("Newauth realm=\"z\", Basic realm=\"b\"", &c) == 0);
	TAP_CHECK(c.scheme == OCIS_AUTH_BASIC && str_is(c.realm, "b"));
	ocis_challenge_release(&c);
	TAP_CHECK(challenge("Negotiate, NTLM", &c) == 0);
	TAP_CHECK(c.scheme == OCIS_AUTH_NONE && c.realm == NULL);
	ocis_challenge_release(&c);
	TAP_CHECK(challenge("", &c) == 0 && c.scheme == OCIS_AUTH_NONE);
	TAP_CHECK(challenge("Basic", &c) == 0 && c.scheme == OCIS_AUTH_BASIC);
	ocis_challenge_release(&c);
	return 0;
}

static int
test_malformed(void)
{
	struct ocis_challenge c;
	char big[OCIS_WWWAUTH_MAX + 2];

	TAP_CHECK(challenge("Bearer realm=\"unterminated", &c) < 0);
	TAP_CHECK(challenge("Bearer service=\"s\"", &c) < 0);	/* no realm */
	TAP_CHECK(challenge("Bearer realm=", &c) < 0);	/* token68, so no realm */
	TAP_CHECK(challenge("Bearer realm=\"r\" x", &c) == 0);	/* "x": another scheme */
	TAP_CHECK(c.scheme == OCIS_AUTH_BEARER);
	ocis_challenge_release(&c);
	TAP_CHECK(challenge("Bearer realm=\"r\" ; x", &c) < 0);
	TAP_CHECK(challenge("=", &c) < 0);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	TAP_CHECK(challenge(big, &c) < 0);
	return 0;
}

static int
token(const char *json, char **t, long *exp)
{
	ocis_error_t *err = NULL;
	int r = ocis_token_response_parse(json, strlen(json), t, exp, &err);

	ocis_error_free(&err);
	return r;
}

static int
test_token_answer(void)
{
	char *t = NULL;
	long exp;

	TAP_CHECK(token("{\"token\":\"abc\",\"expires_in\":300}", &t, &exp) == 0);
	TAP_CHECK(strcmp(t, "abc") == 0 && exp == 300);
	free(t);
	TAP_CHECK(token("{\"access_token\":\"x.y\"}", &t, &exp) == 0);
	TAP_CHECK(strcmp(t, "x.y") == 0 && exp == 60);
	free(t);
	TAP_CHECK(token("{\"token\":\"\",\"access_token\":\"z\"}", &t, &exp) == 0);
	TAP_CHECK(strcmp(t, "z") == 0);
	free(t);
	TAP_CHECK(token("{\"token\":\"\"}", &t, &exp) < 0);
	TAP_CHECK(token("{\"token\":\"a b\"}", &t, &exp) < 0);
	TAP_CHECK(token("{\"token\":\"a\\r\\nX: y\"}", &t, &exp) < 0);
	TAP_CHECK(token("{\"token\":1}", &t, &exp) < 0);
	TAP_CHECK(token("[1]", &t, &exp) < 0);
	TAP_CHECK(token("not json", &t, &exp) < 0);
	return 0;
}

int
main(void)
{
	TAP_PLAN(4);
	TAP_RUN(test_bearer);
	TAP_RUN(test_several);
	TAP_RUN(test_malformed);
	TAP_RUN(test_token_answer);
	return tap_done();
}
