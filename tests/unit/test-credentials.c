/* SPDX-License-Identifier: MIT */
/* Unit tests: --creds and auth files (credentials). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <ocistream/credentials.h>

#include "../tap.h"

/* "alice:s3cret", "bob:x:y", "nocolon" in base64 */
#define ALICE "YWxpY2U6czNjcmV0"
#define BOB "Ym9iOng6eQ=="
#define NOCOLON "bm9jb2xvbg=="

static int
lookup(const char *json, const char *host, const char *repo, struct ocis_creds *c)
{
	ocis_error_t *err = NULL;
	int r = ocis_authfile_lookup(json, strlen(json), "test.json", host, repo, c, &err);

	if (r < 0) {
		TAP_MUST(err && strchr(err->msg, '\n') == NULL);
		ocis_error_free(&err);
	}
	return r;
}

static int
test_creds_option(void)
{
	struct ocis_creds c;
	int has;
	ocis_error_t *err = NULL;

	TAP_CHECK(ocis_creds_parse("alice:s3:cret", &c, &has, NULL) == 0);
	TAP_CHECK(has && !strcmp(c.user, "alice") && !strcmp(c.password, "s3:cret"));
	ocis_creds_release(&c);
	TAP_CHECK(ocis_creds_parse("alice", &c, &has, NULL) == 0);
	TAP_CHECK(!has && !strcmp(c.user, "alice") && !strcmp(c.password, ""));
	ocis_creds_release(&c);
	TAP_CHECK(ocis_creds_parse("alice:", &c, &has, NULL) == 0 && has);
	ocis_creds_release(&c);
	TAP_CHECK(ocis_creds_parse(":pw", &c, &has, &err) < 0);
	ocis_error_free(&err);
	return 0;
}

static int
test_most_specific_key(void)
{
	struct ocis_creds c;
	const char *json = "{\"auths\":{"
		"\"reg.example:5000\":{\"auth\":\"" BOB "\"},"
		"\"reg.example:5000/team\":{\"auth\":\"" ALICE "\"},"
		"\"reg.example:5000/team/app/x\":{\"auth\":\"" NOCOLON "\"},"
		"\"reg.example:5000/te\":{\"auth\":\"" NOCOLON "\"},"
		"\"other.example\":{\"auth\":\"" NOCOLON "\"}}}";

	TAP_CHECK(lookup(json, "reg.example:5000", "team/app", &c) == 1);
	TAP_CHECK(!strcmp(c.user, "alice") && !strcmp(c.password, "s3cret"));
	ocis_creds_release(&c);
	TAP_CHECK(lookup(json, "reg.example:5000", "solo", &c) == 1);
	TAP_CHECK(!strcmp(c.user, "bob") && !strcmp(c.password, "x:y"));
	ocis_creds_release(&c);
	TAP_CHECK(lookup(json, "reg.example", "team/app", &c) == 0);
	TAP_CHECK(lookup(json, "nowhere.example", "a", &c) == 0);
	return 0;
}

static int
test_docker_keys(void)
{
	struct ocis_creds c;
	const char *json = "{\"auths\":{\"https://reg.example/v1/\":{\"auth\":\"" ALICE "\"},"
			   "\"http://plain.example:80\":{\"auth\":\"" BOB "\"},"
			   "\"empty.example\":{\"auth\":\"\"},"
			   "\"helper.example\":{}},"
			   "\"credHelpers\":{\"helper.example\":\"x\"}}";

	TAP_CHECK(lookup(json, "reg.example", "a/b", &c) == 1 && !strcmp(c.user, "alice"));
	ocis_creds_release(&c);
	TAP_CHECK(lookup(json, "plain.example:80", "a", &c) == 1 && !strcmp(c.user, "bob"));
	ocis_creds_release(&c);
	TAP_CHECK(lookup(json, "empty.example", "a", &c) == 0);
	TAP_CHECK(lookup(json, "helper.example", "a", &c) == 0);
	TAP_CHECK(lookup("{}", "reg.example", "a", &c) == 0);
	return 0;
}

static int
test_malformed(void)
{
	struct ocis_creds c;

	TAP_CHECK(lookup("not json", "h.io", "a", &c) < 0);
	TAP_CHECK(lookup("[]", "h.io", "a", &c) < 0);
	TAP_CHECK(lookup("{\"auths\":[]}", "h.io", "a", &c) < 0);
	TAP_CHECK(lookup("{\"auths\":{\"h.io\":{\"auth\":\"" NOCOLON "\"}}}", "h.io", "a", &c) < 0);
	TAP_CHECK(lookup("{\"auths\":{\"h.io\":{\"auth\":\"!!!!\"}}}", "h.io", "a", &c) < 0);
	TAP_CHECK(lookup("{\"auths\":{\"h.io\":{\"auth\":\"abc\"}}}", "h.io", "a", &c) < 0);
	/* "user" with an empty name */
	TAP_CHECK(lookup("{\"auths\":{\"h.io\":{\"auth\":\"OnB3\"}}}", "h.io", "a", &c) < 0);
	return 0;
}

/* The search order: the explicit file, then the others; a missing explicit
 * file is an error, a missing default one is not. */
static int
test_search(void)
{
	char dir[] = "/tmp/ocipipe-test-credentials-XXXXXX", path[256];
	struct ocis_creds c;
	char *from = NULL;
	ocis_error_t *err = NULL;
	FILE *f;

	TAP_MUST(mkdtemp(dir) != NULL);
	setenv("HOME", dir, 1);
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("DOCKER_CONFIG");
	unsetenv("REGISTRY_AUTH_FILE");
	unsetenv("XDG_RUNTIME_DIR");
	TAP_CHECK(ocis_authfile_find(NULL, "h.io", "a", &c, NULL, NULL) == 0);

	snprintf(path, sizeof(path), "%s/.docker", dir);
	TAP_MUST(mkdir(path, 0700) == 0);
	snprintf(path, sizeof(path), "%s/.docker/config.json", dir);
	TAP_MUST((f = fopen(path, "w")) != NULL);
	fputs("{\"auths\":{\"h.io\":{\"auth\":\"" BOB "\"}}}", f);
	fclose(f);
	TAP_CHECK(ocis_authfile_find(NULL, "h.io", "a", &c, &from, NULL) == 1);
	TAP_CHECK(!strcmp(c.user, "bob") && !strcmp(from, path));
	ocis_creds_release(&c);
	free(from);

	snprintf(path, sizeof(path), "%s/explicit.json", dir);
	TAP_MUST((f = fopen(path, "w")) != NULL);
	fputs("{\"auths\":{\"h.io\":{\"auth\":\"" ALICE "\"}}}", f);
	fclose(f);
	setenv("REGISTRY_AUTH_FILE", path, 1);
	TAP_CHECK(ocis_authfile_find(NULL, "h.io", "a", &c, NULL, NULL) == 1);
	TAP_CHECK(!strcmp(c.user, "alice"));
	ocis_creds_release(&c);
	/* the explicit file lacks other.io: the search goes on (and finds nothing) */
	TAP_CHECK(ocis_authfile_find(NULL, "other.io", "a", &c, NULL, NULL) == 0);
	TAP_CHECK(ocis_authfile_find("/nonexistent/auth.json", "h.io", "a", &c, NULL, &err) < 0);
	ocis_error_free(&err);
	unsetenv("REGISTRY_AUTH_FILE");

	unlink(path);
	snprintf(path, sizeof(path), "%s/.docker/config.json", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/.docker", dir);
	rmdir(path);
	rmdir(dir);
	return 0;
}

int
main(void)
{
	TAP_PLAN(5);
	TAP_RUN(test_creds_option);
	TAP_RUN(test_most_specific_key);
	TAP_RUN(test_docker_keys);
	TAP_RUN(test_malformed);
	TAP_RUN(test_search);
	return tap_done();
}
