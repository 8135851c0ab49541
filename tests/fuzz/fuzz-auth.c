/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: what oci-push reads from a registry, a token server
 * or the user, parsed without I/O.  The first byte chooses the reader:
 *
 *   0  ocis_challenge_parse        a WWW-Authenticate header
 *   1  ocis_token_response_parse   a token server's JSON answer
 *   2  ocis_authfile_lookup        an auth.json / docker config.json
 *   3  ocis_image_ref_parse        a destination reference
 *
 * Besides "no crash, no leak, no undefined behaviour": messages are one
 * non-empty line; a Bearer challenge has a realm; a token holds no space
 * or control character (it goes into a header); found credentials have a
 * user; a reference that parses, written back, parses to the same parts.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ocistream/credentials.h>
#include <ocistream/refparse.h>
#include <ocistream/wwwauth.h>

#include "fuzz-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
one_ref(const char *s)
{
	struct ocis_image_ref r, again;
	ocis_error_t *err = NULL;
	char *text = NULL;

	if (ocis_image_ref_parse(s, &r, &err) < 0) {
		fuzz_check_error(&err);
		return;
	}
	fuzz_check(r.host && r.host[0] && r.repo && r.repo[0] && (r.tag || r.digest));
	fuzz_check(!(r.tag && r.digest));
	if (asprintf(&text, "docker://%s/%s%s%s", r.host, r.repo, r.tag ? ":" : "@",
		     r.tag ? r.tag : r.digest) < 0)
		abort();
	fuzz_check(ocis_image_ref_parse(text, &again, NULL) == 0);
	fuzz_check(!strcmp(again.host, r.host) && !strcmp(again.repo, r.repo));
	fuzz_check(r.tag ? !strcmp(again.tag, r.tag) : !strcmp(again.digest, r.digest));
	ocis_image_ref_release(&again);
	ocis_image_ref_release(&r);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ocis_error_t *err = NULL;
	const char *text;
	char *copy;

	if (size < 1)
		return 0;
	text = (const char *)data + 1;
	size--;
	switch (data[0] % 4) {
	case 0: {
		struct ocis_challenge c;
		if (ocis_challenge_parse(text, size, &c, &err) < 0) {
			fuzz_check_error(&err);
			break;
		}
		fuzz_check(c.scheme != OCIS_AUTH_BEARER || (c.realm && c.realm[0]));
		ocis_challenge_release(&c);
		break;
	}
	case 1: {
		char *token = NULL;
		long expires;
		if (ocis_token_response_parse(text, size, &token, &expires, &err) < 0) {
			fuzz_check_error(&err);
			break;
		}
		fuzz_check(token[0] != 0 && expires > 0);
		for (const char *p = token; *p; p++)
			fuzz_check((unsigned char)*p > 0x20 && *p != 0x7f);
		free(token);
		break;
	}
	case 2: {
		struct ocis_creds c;
		int r = ocis_authfile_lookup(text, size, "auth.json", "h.io:5000", "ns/app", &c,
					     &err);
		if (r < 0) {
			fuzz_check_error(&err);
			break;
		}
		fuzz_check(r == 0 || (r == 1 && c.user && c.user[0] && c.password));
		if (r == 1)
			ocis_creds_release(&c);
		break;
	}
	case 3:
		if ((copy = malloc(size + 1)) == NULL)
			abort();
		memcpy(copy, text, size);
		copy[size] = 0;
		one_ref(copy);
		free(copy);
		break;
	}
	return 0;
}
