/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the image config and manifest modules: golden JSON for a
 * known model (the bytes are part of the reproducibility contract: when a
 * golden string changes, the commit must say why), byte-identical round
 * trips, the architecture table, RFC 3339, the parsers of front-end values
 * (ports, key=value, shell-like splitting), malformed input, and
 * oci-config's stage.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ocistream/arch.h>
#include <ocistream/configstage.h>
#include <ocistream/filter.h>
#include <ocistream/hash.h>
#include <ocistream/imageconfig.h>
#include <ocistream/layerdesc.h>
#include <ocistream/manifest.h>
#include <ocistream/manifeststage.h>
#include <ocistream/rfc3339.h>
#include <ocistream/shellsplit.h>
#include <ocistream/strv.h>

#include "../tap.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"
#define DA "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define DB "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static const char golden_config[] =
	"{\"created\":\"2023-11-14T22:13:20Z\",\"author\":\"Jane <jane@example.com>\","
	"\"architecture\":\"arm\",\"variant\":\"v7\",\"os\":\"linux\","
	"\"config\":{\"User\":\"1000:1000\","
	"\"ExposedPorts\":{\"443/tcp\":{},\"53/udp\":{},\"80/tcp\":{}},"
	"\"Env\":[\"PATH=/usr/bin:/bin\",\"LANG=C.UTF-8\"],"
	"\"Entrypoint\":[\"/bin/sh\",\"-c\"],\"Cmd\":[\"echo hi\"],"
	"\"Volumes\":{\"/data\":{},\"/var/log\":{}},"
	"\"WorkingDir\":\"/srv\","
	"\"Labels\":{\"a\":\"\",\"org.example.x\":\"1=2\",\"z\":\"last\"},"
	"\"StopSignal\":\"SIGTERM\"},"
	"\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1 "\",\"" D2 "\"]},"
	"\"history\":[{\"created\":\"2023-11-14T22:13:20Z\",\"created_by\":\"oci-layer\"},"
	"{\"created\":\"2023-11-14T22:13:20Z\",\"comment\":\"app\"},"
	"{\"created\":\"2023-11-14T22:13:20Z\",\"created_by\":\"oci-config\","
	"\"empty_layer\":true}]}";

static void
set_layer(struct ocis_layer_desc *d, const char *digest, const char *diff_id,
	  const char *created_by, const char *comment)
{
	memset(d, 0, sizeof(*d));
	strcpy(d->media_type, OCIS_MT_LAYER "+gzip");
	strcpy(d->digest, digest);
	strcpy(d->diff_id, diff_id);
	d->size = 1234;
	d->uncompressed_size = 10240;
	d->history.created_by = (char *)created_by;
	d->history.comment = (char *)comment;
}

/* The known model behind golden_config, built with the setters. */
static int
build_model(struct ocis_config *c)
{
	struct ocis_layer_desc l1, l2;
	struct ocis_history_entry h;
	ocis_error_t *err = NULL;

	ocis_config_init(c);
	set_layer(&l1, DA, D1, "oci-layer", NULL);
	set_layer(&l2, DB, D2, NULL, "app");
	if (ocis_config_set_platform(c, "armv7l", NULL, &err) < 0 ||
	    ocis_config_set_str(&c->author, "Jane <jane@example.com>", &err) < 0 ||
	    ocis_config_set_str(&c->user, "1000:1000", &err) < 0 ||
	    ocis_config_add_port(c, "80", &err) < 0 ||
	    ocis_config_add_port(c, "53/udp", &err) < 0 ||
	    ocis_config_add_port(c, "443/tcp", &err) < 0 ||
	    ocis_config_add_port(c, "80/tcp", &err) < 0 ||
	    ocis_config_set_env(c, "PATH=/bin", &err) < 0 ||
	    ocis_config_set_env(c, "LANG=C.UTF-8", &err) < 0 ||
	    ocis_config_set_env(c, "PATH=/usr/bin:/bin", &err) < 0 ||
	    ocis_strv_push(&c->entrypoint, "/bin/sh", &err) < 0 ||
	    ocis_strv_push(&c->entrypoint, "-c", &err) < 0 ||
	    ocis_strv_push(&c->cmd, "echo hi", &err) < 0 ||
	    ocis_config_add_volume(c, "/var/log", &err) < 0 ||
	    ocis_config_add_volume(c, "/data", &err) < 0 ||
	    ocis_config_add_volume(c, "/data", &err) < 0 ||
	    ocis_config_set_str(&c->working_dir, "/srv", &err) < 0 ||
	    ocis_config_set_label(c, "z=first", &err) < 0 ||
	    ocis_config_set_label(c, "org.example.x=1=2", &err) < 0 ||
	    ocis_config_set_label(c, "a=", &err) < 0 ||
	    ocis_config_set_label(c, "z=last", &err) < 0 ||
	    ocis_config_set_str(&c->stop_signal, "SIGTERM", &err) < 0 ||
	    ocis_config_set_defaults(c, 1700000000, &err) < 0 ||
	    ocis_config_add_layer(c, &l1, &err) < 0 ||
	    ocis_config_add_layer(c, &l2, &err) < 0)
		goto fail;
	memset(&h, 0, sizeof(h));
	h.created = c->created;
	h.created_by = "oci-config";
	h.empty_layer = 1;
	if (ocis_config_add_history(c, &h, &err) < 0)
		goto fail;
	return 0;
fail:
	printf("# %s\n", err->msg);
	ocis_error_free(&err);
	return -1;
}

static int
test_golden_config(void)
{
	struct ocis_config c;
	struct ocis_buf out = OCIS_BUF_INIT;
	ocis_error_t *err = NULL;

	TAP_CHECK(build_model(&c) == 0);
	TAP_CHECK(ocis_config_to_json(&c, &out, &err) == 0);
	if (strcmp((char *)out.data, golden_config) != 0)
		printf("# got: %s\n", (char *)out.data);
	TAP_CHECK(strcmp((char *)out.data, golden_config) == 0);
	ocis_config_release(&c);
	ocis_buf_release(&out);
	return 0;
}

static int
test_round_trip(void)
{
	struct ocis_config c;
	struct ocis_buf out = OCIS_BUF_INIT;
	ocis_error_t *err = NULL;

	ocis_config_init(&c);
	TAP_CHECK(ocis_config_from_json(&c, golden_config, strlen(golden_config), &err) == 0);
	TAP_CHECK(c.n_history == 3 && c.history[2].empty_layer == 1);
	TAP_CHECK(c.diff_ids.n == 2 && c.labels.n == 3 && c.exposed_ports.n == 3);
	TAP_CHECK(ocis_config_to_json(&c, &out, &err) == 0);
	TAP_CHECK(out.len == strlen(golden_config));
	TAP_CHECK(memcmp(out.data, golden_config, out.len) == 0);
	ocis_config_release(&c);

	/* A minimal config: no "config" object, empty rootfs still written. */
	ocis_config_init(&c);
	TAP_CHECK(ocis_config_set_defaults(&c, 0, &err) == 0);
	TAP_CHECK(ocis_config_set_platform(&c, "x86_64", NULL, &err) == 0);
	TAP_CHECK(ocis_config_to_json(&c, &out, &err) == 0);
	TAP_CHECK(strcmp((char *)out.data, "{\"created\":\"1970-01-01T00:00:00Z\","
			 "\"architecture\":\"amd64\",\"os\":\"linux\","
			 "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}") == 0);
	ocis_config_release(&c);
	ocis_buf_release(&out);
	return 0;
}

static int
test_from_json_tolerant(void)
{
	/* Docker-style: nulls, unknown keys, extra fields in history. */
	static const char doc[] =
		"{\"architecture\":\"amd64\",\"os\":\"linux\",\"docker_version\":\"24\","
		"\"container_config\":{\"Hostname\":\"x\"},\"os.version\":\"1\","
		"\"config\":{\"Hostname\":\"\",\"Cmd\":null,\"Entrypoint\":null,"
		"\"Env\":[\"PATH=/bin\"],\"Labels\":null,\"OnBuild\":null,"
		"\"ArgsEscaped\":true,\"Healthcheck\":{\"Test\":[\"NONE\"]},"
		"\"ExposedPorts\":{\"8080/tcp\":{}}},"
		"\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1 "\"]},"
		"\"history\":[{\"created\":\"2024-01-01T00:00:00.123456789Z\","
		"\"created_by\":\"/bin/sh -c #(nop) ADD\",\"empty_layer\":false,\"x\":1}]}";
	struct ocis_config c;
	ocis_error_t *err = NULL;

	ocis_config_init(&c);
	TAP_CHECK(ocis_config_from_json(&c, doc, strlen(doc), &err) == 0);
	TAP_CHECK(c.cmd.set == 0 && c.entrypoint.set == 0 && c.labels.set == 0);
	TAP_CHECK(c.env.n == 1 && strcmp(c.env.v[0], "PATH=/bin") == 0);
	TAP_CHECK(c.exposed_ports.n == 1 && strcmp(c.exposed_ports.v[0], "8080/tcp") == 0);
	TAP_CHECK(c.n_history == 1 && c.history[0].empty_layer == 0);
	TAP_CHECK(c.created == NULL && c.variant == NULL);
	ocis_config_release(&c);
	return 0;
}

static int
expect_config_error(const char *doc, const char *needle)
{
	struct ocis_config c;
	ocis_error_t *err = NULL;
	int ok;

	ocis_config_init(&c);
	if (ocis_config_from_json(&c, doc, strlen(doc), &err) == 0) {
		printf("# accepted: %s\n", doc);
		ocis_config_release(&c);
		return 0;
	}
	ok = strstr(err->msg, needle) != NULL;
	if (!ok)
		printf("# message '%s' lacks '%s'\n", err->msg, needle);
	ocis_error_free(&err);
	return ok;
}

static int
test_from_json_errors(void)
{
	TAP_CHECK(expect_config_error("", "parsing image config"));
	TAP_CHECK(expect_config_error("{\"os\":", "parsing image config"));
	TAP_CHECK(expect_config_error("[]", "not a json object"));
	TAP_CHECK(expect_config_error("{\"os\":1}", "'os': expected a string"));
	TAP_CHECK(expect_config_error("{\"config\":[]}", "'config': expected an object"));
	TAP_CHECK(expect_config_error("{\"config\":{\"Env\":\"A=1\"}}",
				      "'config.Env': expected an array of strings"));
	TAP_CHECK(expect_config_error("{\"config\":{\"Cmd\":[1]}}",
				      "'config.Cmd': expected an array of strings"));
	TAP_CHECK(expect_config_error("{\"config\":{\"Labels\":{\"a\":1}}}",
				      "'config.Labels': expected an object of strings"));
	TAP_CHECK(expect_config_error("{\"config\":{\"Labels\":{\"a=b\":\"c\"}}}",
				      "unsupported key 'a=b'"));
	TAP_CHECK(expect_config_error("{\"config\":{\"ExposedPorts\":[\"80/tcp\"]}}",
				      "'config.ExposedPorts': expected an object"));
	TAP_CHECK(expect_config_error("{\"rootfs\":{\"type\":\"x\"}}", "'rootfs.type'"));
	TAP_CHECK(expect_config_error("{\"rootfs\":{\"diff_ids\":[\"sha256:12\"]}}",
				      "unsupported digest 'sha256:12'"));
	TAP_CHECK(expect_config_error("{\"history\":{}}", "'history'"));
	TAP_CHECK(expect_config_error("{\"history\":[{\"empty_layer\":1}]}",
				      "'history.empty_layer'"));
	TAP_CHECK(expect_config_error("{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
				      "[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]"
				      "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}", "nested"));
	return 0;
}

static int
test_rfc3339(void)
{
	static const struct { int64_t t; const char *s; } v[] = {
		{ 0, "1970-01-01T00:00:00Z" },
		{ 1700000000, "2023-11-14T22:13:20Z" },
		{ 2147483647, "2038-01-19T03:14:07Z" },
		{ 2147483648LL, "2038-01-19T03:14:08Z" },
		{ 4102444800LL, "2100-01-01T00:00:00Z" },
		{ 951782400, "2000-02-29T00:00:00Z" },
		{ 253402300799LL, "9999-12-31T23:59:59Z" },
		{ -1, "1969-12-31T23:59:59Z" },
		{ -62167219200LL, "0000-01-01T00:00:00Z" },
	};
	char out[32];
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		TAP_CHECK(ocis_rfc3339(v[i].t, out) == 0);
		if (strcmp(out, v[i].s) != 0)
			printf("# %lld: got %s\n", (long long)v[i].t, out);
		TAP_CHECK(strcmp(out, v[i].s) == 0);
		TAP_CHECK(ocis_rfc3339_valid(out));
	}
	TAP_CHECK(ocis_rfc3339(253402300800LL, out) < 0);
	TAP_CHECK(ocis_rfc3339(-62167219201LL, out) < 0);
	TAP_CHECK(ocis_rfc3339(INT64_MIN, out) < 0);
	TAP_CHECK(ocis_rfc3339(INT64_MAX, out) < 0);

	TAP_CHECK(ocis_rfc3339_valid("2024-01-31T12:00:00.5+02:00"));
	TAP_CHECK(ocis_rfc3339_valid("2024-02-29T00:00:00-05:30"));
	TAP_CHECK(ocis_rfc3339_valid("2016-12-31T23:59:60Z"));
	TAP_CHECK(!ocis_rfc3339_valid("2023-02-29T00:00:00Z"));
	TAP_CHECK(!ocis_rfc3339_valid("2024-13-01T00:00:00Z"));
	TAP_CHECK(!ocis_rfc3339_valid("2024-01-01 00:00:00Z"));
	TAP_CHECK(!ocis_rfc3339_valid("2024-01-01T00:00:00"));
	TAP_CHECK(!ocis_rfc3339_valid("2024-01-01T00:00:00.Z"));
	TAP_CHECK(!ocis_rfc3339_valid("2024-01-01T24:00:00Z"));
	TAP_CHECK(!ocis_rfc3339_valid("2024-01-01T00:00:00+2:00"));
	TAP_CHECK(!ocis_rfc3339_valid("1700000000"));
	TAP_CHECK(!ocis_rfc3339_valid(""));
	return 0;
}

static int
test_arch_table(void)
{
	static const struct { const char *in, *arch, *variant; } v[] = {
		{ "x86_64", "amd64", NULL }, { "amd64", "amd64", NULL },
		{ "aarch64", "arm64", "v8" }, { "arm64", "arm64", "v8" },
		{ "armv7", "arm", "v7" }, { "armv7l", "arm", "v7" }, { "armv7a", "arm", "v7" },
		{ "armv7ve", "arm", "v7" }, { "arm", "arm", "v7" }, { "armhf", "arm", "v7" },
		{ "armv6", "arm", "v6" }, { "armv6l", "arm", "v6" },
		{ "armv5", "arm", "v5" }, { "armv5te", "arm", "v5" }, { "armel", "arm", "v5" },
		{ "i386", "386", NULL }, { "i486", "386", NULL }, { "i586", "386", NULL },
		{ "i686", "386", NULL }, { "x86", "386", NULL }, { "386", "386", NULL },
		{ "riscv64", "riscv64", NULL },
		{ "ppc64le", "ppc64le", NULL }, { "powerpc64le", "ppc64le", NULL },
		{ "ppc64", "ppc64", NULL }, { "powerpc64", "ppc64", NULL },
		{ "mips", "mips", NULL }, { "mipsel", "mipsle", NULL },
		{ "mips64", "mips64", NULL }, { "mips64el", "mips64le", NULL },
		{ "s390x", "s390x", NULL }, { "loong64", "loong64", NULL },
		{ "loongarch64", "loong64", NULL },
	};
	const char *a, *var;
	struct ocis_config c;
	ocis_error_t *err = NULL;
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		TAP_CHECK(ocis_arch_lookup(v[i].in, &a, &var) == 1);
		if (strcmp(a, v[i].arch) != 0 || (var == NULL) != (v[i].variant == NULL) ||
		    (var && strcmp(var, v[i].variant) != 0))
			printf("# %s -> %s/%s\n", v[i].in, a, var ? var : "-");
		TAP_CHECK(strcmp(a, v[i].arch) == 0);
		TAP_CHECK((var == NULL) == (v[i].variant == NULL));
		TAP_CHECK(var == NULL || strcmp(var, v[i].variant) == 0);
	}
	TAP_CHECK(ocis_arch_lookup("sparc64", &a, &var) == 0);
	TAP_CHECK(strcmp(a, "sparc64") == 0 && var == NULL);
	(void)ocis_arch_lookup("pdp11", &a, &var);
	TAP_CHECK(strcmp(a, "pdp11") == 0 && var == NULL);
	TAP_CHECK(ocis_arch_lookup("X86_64", &a, &var) == 0);

	ocis_config_init(&c);
	TAP_CHECK(ocis_config_set_platform(&c, "aarch64", NULL, &err) == 0);
	TAP_CHECK(strcmp(c.architecture, "arm64") == 0 && strcmp(c.variant, "v8") == 0);
	TAP_CHECK(ocis_config_set_platform(&c, "arm", "v6", &err) == 0);
	TAP_CHECK(strcmp(c.architecture, "arm") == 0 && strcmp(c.variant, "v6") == 0);
	TAP_CHECK(ocis_config_set_platform(&c, "aarch64", "", &err) == 0);
	TAP_CHECK(c.variant == NULL);
	TAP_CHECK(ocis_config_set_platform(&c, "x86_64", NULL, &err) == 0);
	TAP_CHECK(strcmp(c.architecture, "amd64") == 0 && c.variant == NULL);
	TAP_CHECK(ocis_config_set_platform(&c, "vax", NULL, &err) < 0);
	TAP_CHECK(strstr(err->msg, "unknown architecture 'vax'") != NULL);
	ocis_error_free(&err);
	TAP_CHECK(strcmp(c.architecture, "amd64") == 0);
	ocis_config_release(&c);

	/* Defaults: the host's architecture, known to the table. */
	ocis_config_init(&c);
	TAP_CHECK(ocis_config_set_defaults(&c, 0, &err) == 0);
	TAP_CHECK(c.architecture && strcmp(c.os, "linux") == 0);
	TAP_CHECK(ocis_arch_lookup(c.architecture, &a, &var) == 1);
	ocis_config_release(&c);
	return 0;
}

static int
test_setters(void)
{
	static const char *const bad_ports[] = {
		"0", "65536", "70000", "80/tcpx", "80/", "/tcp", "", "-1", "8080-80",
		"1-2000", "80 ", "+80", "80/TCP", "a",
	};
	struct ocis_config c;
	ocis_error_t *err = NULL;
	size_t i;

	ocis_config_init(&c);
	TAP_CHECK(ocis_config_add_port(&c, "8000-8002/udp", &err) == 0);
	TAP_CHECK(ocis_config_add_port(&c, "8001/udp", &err) == 0);
	TAP_CHECK(ocis_config_add_port(&c, "65535", &err) == 0);
	TAP_CHECK(ocis_config_add_port(&c, "1/sctp", &err) == 0);
	TAP_CHECK(c.exposed_ports.n == 5);
	TAP_CHECK(strcmp(c.exposed_ports.v[0], "8000/udp") == 0);
	TAP_CHECK(strcmp(c.exposed_ports.v[3], "65535/tcp") == 0);
	for (i = 0; i < sizeof(bad_ports) / sizeof(bad_ports[0]); i++) {
		if (ocis_config_add_port(&c, bad_ports[i], &err) == 0)
			printf("# accepted port '%s'\n", bad_ports[i]);
		TAP_CHECK(err != NULL);
		TAP_CHECK(strstr(err->msg, "invalid port") != NULL);
		ocis_error_free(&err);
	}
	TAP_CHECK(c.exposed_ports.n == 5);

	TAP_CHECK(ocis_config_set_env(&c, "NOEQUALS", &err) < 0);
	TAP_CHECK(strstr(err->msg, "'NOEQUALS'") != NULL);
	ocis_error_free(&err);
	TAP_CHECK(ocis_config_set_env(&c, "=x", &err) < 0);
	ocis_error_free(&err);
	TAP_CHECK(ocis_config_set_env(&c, "A=1", &err) == 0);
	TAP_CHECK(ocis_config_set_env(&c, "B=", &err) == 0);
	TAP_CHECK(ocis_config_set_env(&c, "A=2=3", &err) == 0);
	TAP_CHECK(c.env.n == 2 && strcmp(c.env.v[0], "A=2=3") == 0);

	TAP_CHECK(ocis_config_set_label(&c, "=v", &err) < 0);
	TAP_CHECK(strstr(err->msg, "empty key") != NULL);
	ocis_error_free(&err);
	TAP_CHECK(ocis_config_set_label(&c, "k", &err) < 0);
	ocis_error_free(&err);
	TAP_CHECK(ocis_config_add_volume(&c, "data", &err) < 0);
	ocis_error_free(&err);
	TAP_CHECK(ocis_config_add_volume(&c, "/data", &err) == 0);
	TAP_CHECK(ocis_config_set_str(&c.user, "", &err) == 0 && c.user == NULL);
	ocis_config_release(&c);
	return 0;
}

static int
split_is(const char *in, int n, const char *const *want)
{
	struct ocis_strv s = { NULL, 0, 0 };
	ocis_error_t *err = NULL;
	int i, ok = 1;

	if (ocis_shell_split(in, &s, &err) < 0) {
		printf("# split '%s': %s\n", in, err->msg);
		ocis_error_free(&err);
		return 0;
	}
	if (!s.set || (int)s.n != n)
		ok = 0;
	for (i = 0; ok && i < n; i++)
		if (strcmp(s.v[i], want[i]) != 0)
			ok = 0;
	if (!ok)
		printf("# split '%s' gave %zu words\n", in, s.n);
	ocis_strv_clear(&s);
	return ok;
}

static int
test_shell_split(void)
{
	static const char *const w1[] = { "sh", "-c", "echo 'hi' $X" };
	static const char *const w2[] = { "a b", "c\"d", "e f", "" };
	static const char *const w3[] = { "A=1", "B=two words", "C=x" };
	static const char *const w4[] = { "a\\b", "$y" };
	struct ocis_strv s = { NULL, 0, 0 };
	ocis_error_t *err = NULL;

	TAP_CHECK(split_is("sh -c \"echo 'hi' \\$X\"", 3, w1));
	TAP_CHECK(split_is("  a\\ b 'c\"d' e\" \"f ''  ", 4, w2));
	TAP_CHECK(split_is("A=1 B=\"two words\"\tC=x\n", 3, w3));
	TAP_CHECK(split_is("\"a\\b\" '$y'", 2, w4));
	TAP_CHECK(split_is("", 0, NULL));
	TAP_CHECK(split_is("   ", 0, NULL));
	TAP_CHECK(ocis_shell_split("'open", &s, &err) < 0);
	TAP_CHECK(strstr(err->msg, "unterminated single quote") != NULL);
	ocis_error_free(&err);
	TAP_CHECK(ocis_shell_split("\"open", &s, &err) < 0);
	ocis_error_free(&err);
	TAP_CHECK(ocis_shell_split("x\\", &s, &err) < 0);
	ocis_error_free(&err);
	TAP_CHECK(s.n == 0);
	return 0;
}

static int
test_sync_layers(void)
{
	struct ocis_layer_desc l[3];
	struct ocis_config c;
	ocis_error_t *err = NULL;

	set_layer(&l[0], DA, D1, "base", NULL);
	set_layer(&l[1], DB, D2, NULL, NULL);
	set_layer(&l[2], DA, D3, NULL, NULL);
	l[2].history.created = "2001-01-01T00:00:00Z";

	/* Fresh config: every layer with a history entry. */
	ocis_config_init(&c);
	TAP_CHECK(ocis_config_set_defaults(&c, 5, &err) == 0);
	TAP_CHECK(ocis_config_sync_layers(&c, l, 3, &err) == 0);
	TAP_CHECK(c.diff_ids.n == 3 && c.n_history == 3);
	TAP_CHECK(strcmp(c.history[0].created, "1970-01-01T00:00:05Z") == 0);
	TAP_CHECK(strcmp(c.history[2].created, "2001-01-01T00:00:00Z") == 0);
	/* Idempotent. */
	TAP_CHECK(ocis_config_sync_layers(&c, l, 3, &err) == 0);
	TAP_CHECK(c.diff_ids.n == 3 && c.n_history == 3);
	/* Fewer layers in the stream than in the config. */
	TAP_CHECK(ocis_config_sync_layers(&c, l, 2, &err) < 0);
	ocis_error_free(&err);
	ocis_config_release(&c);

	/* Base with a prefix of the layers but no history: diff_ids only. */
	ocis_config_init(&c);
	TAP_CHECK(ocis_strv_push(&c.diff_ids, D1, &err) == 0);
	TAP_CHECK(ocis_config_sync_layers(&c, l, 3, &err) == 0);
	TAP_CHECK(c.diff_ids.n == 3 && c.n_history == 0);
	ocis_config_release(&c);

	/* Mismatch names the layer. */
	ocis_config_init(&c);
	TAP_CHECK(ocis_strv_push(&c.diff_ids, D2, &err) == 0);
	TAP_CHECK(ocis_config_sync_layers(&c, l, 3, &err) < 0);
	TAP_CHECK(strstr(err->msg, "layer 1") != NULL);
	ocis_error_free(&err);
	ocis_config_clear_layers(&c);
	TAP_CHECK(ocis_config_sync_layers(&c, l, 3, &err) == 0);
	TAP_CHECK(c.diff_ids.n == 3);
	ocis_config_release(&c);
	return 0;
}

static int
test_layer_list(void)
{
	struct ocis_layer_list ll = OCIS_LAYER_LIST_INIT;
	struct ocis_layer_desc d;
	ocis_error_t *err = NULL;
	char by[32];
	int i;

	for (i = 0; i < 20; i++) {
		snprintf(by, sizeof(by), "step %d", i);
		set_layer(&d, DA, D1, by, i % 2 ? "c" : NULL);
		TAP_CHECK(ocis_layer_list_push(&ll, &d, &err) == 0);
	}
	TAP_CHECK(ll.n == 20 && strcmp(ll.v[19].history.created_by, "step 19") == 0);
	TAP_CHECK(ll.v[19].history.created_by != d.history.created_by);
	ocis_layer_list_clear(&ll);
	TAP_CHECK(ll.n == 0 && ll.v == NULL);
	return 0;
}

static int
test_manifest(void)
{
	static const char cfg[] = "{}";
	static const char golden[] =
		"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
		"\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
		"\"digest\":\"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\","
		"\"size\":2},"
		"\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\","
		"\"digest\":\"" DA "\",\"size\":1234},"
		"{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+zstd\","
		"\"digest\":\"" DB "\",\"size\":99}],"
		"\"annotations\":{\"a\":\"x=y\",\"org.opencontainers.image.version\":\"2\"}}";
	char *ann[] = { "org.opencontainers.image.version=1", "a=x=y",
			"org.opencontainers.image.version=2" };
	struct ocis_layer_desc l[2];
	struct ocis_buf out = OCIS_BUF_INIT;
	struct ocis_manifest_info m;
	ocis_error_t *err = NULL;

	set_layer(&l[0], DA, D1, NULL, NULL);
	set_layer(&l[1], DB, D2, NULL, NULL);
	strcpy(l[1].media_type, OCIS_MT_LAYER "+zstd");
	l[1].size = 99;
	TAP_CHECK(ocis_manifest_build(cfg, 2, l, 2, ann, 3, &out, &err) == 0);
	if (strcmp((char *)out.data, golden) != 0)
		printf("# got: %s\n", (char *)out.data);
	TAP_CHECK(strcmp((char *)out.data, golden) == 0);

	memset(&m, 0, sizeof(m));
	TAP_CHECK(ocis_manifest_parse(&m, (char *)out.data, out.len, &err) == 0);
	TAP_CHECK(m.n_layers == 2 && m.config.size == 2);
	TAP_CHECK(strcmp(m.config.media_type, OCIS_MT_CONFIG) == 0);
	TAP_CHECK(strcmp(m.layers[1].digest, DB) == 0 && m.layers[1].size == 99);
	TAP_CHECK(strcmp(m.layers[1].media_type, OCIS_MT_LAYER "+zstd") == 0);
	ocis_manifest_info_release(&m);

	/* No layers, no annotations. */
	TAP_CHECK(ocis_manifest_build(cfg, 2, NULL, 0, NULL, 0, &out, &err) == 0);
	TAP_CHECK(strstr((char *)out.data, "\"layers\":[]}") != NULL);
	TAP_CHECK(strstr((char *)out.data, "annotations") == NULL);
	TAP_CHECK(ocis_manifest_parse(&m, (char *)out.data, out.len, &err) == 0);
	TAP_CHECK(m.n_layers == 0 && m.layers == NULL);
	ocis_manifest_info_release(&m);

	ann[0] = "novalue";
	TAP_CHECK(ocis_manifest_build(cfg, 2, l, 2, ann, 1, &out, &err) < 0);
	TAP_CHECK(strstr(err->msg, "'novalue'") != NULL);
	ocis_error_free(&err);
	ocis_buf_release(&out);
	return 0;
}

static int
expect_manifest_error(const char *doc, const char *needle)
{
	struct ocis_manifest_info m;
	ocis_error_t *err = NULL;
	int ok;

	memset(&m, 0, sizeof(m));
	if (ocis_manifest_parse(&m, doc, strlen(doc), &err) == 0) {
		printf("# accepted: %s\n", doc);
		ocis_manifest_info_release(&m);
		return 0;
	}
	ok = strstr(err->msg, needle) != NULL;
	if (!ok)
		printf("# message '%s' lacks '%s'\n", err->msg, needle);
	ocis_error_free(&err);
	return ok;
}

#define CFG_OK "\"config\":{\"mediaType\":\"m\",\"digest\":\"" DA "\",\"size\":2}"

static int
test_manifest_errors(void)
{
	TAP_CHECK(expect_manifest_error("nope", "parsing image manifest"));
	TAP_CHECK(expect_manifest_error("{}", "schemaVersion"));
	TAP_CHECK(expect_manifest_error("{\"schemaVersion\":1}", "schemaVersion"));
	TAP_CHECK(expect_manifest_error("{\"schemaVersion\":\"2\"}", "schemaVersion"));
	TAP_CHECK(expect_manifest_error("{\"schemaVersion\":2,\"mediaType\":"
					"\"application/vnd.oci.image.index.v1+json\"}",
					"unsupported mediaType"));
	TAP_CHECK(expect_manifest_error("{\"schemaVersion\":2,\"layers\":[]}", "'config'"));
	TAP_CHECK(expect_manifest_error("{\"schemaVersion\":2," CFG_OK "}", "'layers'"));
	TAP_CHECK(expect_manifest_error("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"m\","
					"\"digest\":\"sha256:ABC\",\"size\":2},\"layers\":[]}",
					"malformed digest 'sha256:ABC'"));
	TAP_CHECK(expect_manifest_error("{\"schemaVersion\":2," CFG_OK ",\"layers\":"
					"[{\"mediaType\":\"m\",\"digest\":\"" DB "\","
					"\"size\":-1}]}", "'layers[0]': missing or invalid size"));
	TAP_CHECK(expect_manifest_error("{\"schemaVersion\":2," CFG_OK ",\"layers\":"
					"[{\"digest\":\"" DB "\",\"size\":1}]}",
					"'layers[0]': missing or invalid mediaType"));
	TAP_CHECK(expect_manifest_error("{\"schemaVersion\":2," CFG_OK ",\"layers\":"
					"[{\"mediaType\":\"m\",\"digest\":\"" DB "\","
					"\"size\":1.5}]}", "invalid size"));
	return 0;
}

/* Every truncation of a valid document is refused cleanly. */
static int
test_truncated(void)
{
	struct ocis_config c;
	struct ocis_manifest_info m;
	struct ocis_buf man = OCIS_BUF_INIT;
	struct ocis_layer_desc l;
	ocis_error_t *err = NULL;
	size_t n;

	for (n = 0; n < strlen(golden_config); n++) {
		ocis_config_init(&c);
		TAP_CHECK(ocis_config_from_json(&c, golden_config, n, &err) < 0);
		TAP_CHECK(err != NULL && err->msg != NULL);
		ocis_error_free(&err);
	}
	set_layer(&l, DA, D1, NULL, NULL);
	TAP_CHECK(ocis_manifest_build("{}", 2, &l, 1, NULL, 0, &man, &err) == 0);
	for (n = 0; n < man.len; n++) {
		memset(&m, 0, sizeof(m));
		TAP_CHECK(ocis_manifest_parse(&m, (char *)man.data, n, &err) < 0);
		ocis_error_free(&err);
	}
	ocis_buf_release(&man);
	return 0;
}

static int warnings;
static void
count_warning(void *ctx, const char *msg)
{
	(void)ctx;
	(void)msg;
	warnings++;
}

/* oci-config's stage: the base it chooses, the options over it, the
 * rootfs rebuilt when a --from config describes other layers, and one
 * metadata history entry over a base only. */
static int
test_config_stage(void)
{
	struct ocis_layer_desc l[2];
	struct ocis_config_opts o;
	struct ocis_open_image im;
	struct ocis_config c;
	struct ocis_buf from = OCIS_BUF_INIT;
	ocis_error_t *err = NULL;

	set_layer(&l[0], DA, D1, "base", NULL);
	set_layer(&l[1], DB, D2, NULL, NULL);
	ocis_open_image_init(&im);
	TAP_CHECK(ocis_layer_list_push(&im.layers, &l[0], &err) == 0);
	TAP_CHECK(ocis_layer_list_push(&im.layers, &l[1], &err) == 0);
	memset(&o, 0, sizeof(o));
	o.epoch = 5;
	o.history = "oci-config --entrypoint /bin/sh";
	o.arch = "aarch64";
	TAP_CHECK(ocis_strv_push(&o.entrypoint, "/bin/sh", &err) == 0);

	/* No base: the layers' history only. */
	TAP_CHECK(ocis_config_stage(&o, NULL, &im, &c, count_warning, NULL, &err) == 0);
	TAP_CHECK(c.diff_ids.n == 2 && c.n_history == 2);
	TAP_CHECK(strcmp(c.created, "1970-01-01T00:00:05Z") == 0);
	TAP_CHECK(strcmp(c.architecture, "arm64") == 0 && strcmp(c.os, "linux") == 0);
	TAP_CHECK(c.entrypoint.n == 1 && strcmp(c.entrypoint.v[0], "/bin/sh") == 0);
	/* That config in the stream is the base of the next step: the
	 * options go over it and the step adds one empty-layer entry. */
	TAP_CHECK(ocis_config_to_json(&c, &im.config, &err) == 0);
	im.have_config = 1;
	ocis_config_release(&c);
	ocis_strv_clear(&o.entrypoint);
	o.arch = NULL;
	o.created = "2020-01-01T00:00:00Z";
	TAP_CHECK(ocis_strv_push(&o.env, "A=1", &err) == 0);
	TAP_CHECK(ocis_config_stage(&o, NULL, &im, &c, count_warning, NULL, &err) == 0);
	TAP_CHECK(c.n_history == 3 && c.history[2].empty_layer);
	TAP_CHECK(strcmp(c.history[2].created_by, o.history) == 0);
	TAP_CHECK(strcmp(c.architecture, "arm64") == 0);
	TAP_CHECK(c.entrypoint.n == 1 && c.env.n == 1);
	TAP_CHECK(strcmp(c.created, "2020-01-01T00:00:00Z") == 0);
	ocis_config_release(&c);
	TAP_CHECK(warnings == 0);

	/* A --from config of other layers wins over the stream's config,
	 * keeps its settings, and its rootfs is rebuilt, with a warning. */
	TAP_CHECK(ocis_buf_addstr(&from, "{\"architecture\":\"riscv64\",\"os\":\"linux\","
				  "\"config\":{\"User\":\"7\"},\"rootfs\":{\"type\":\"layers\","
				  "\"diff_ids\":[\"" D3 "\"]}}", &err) == 0);
	TAP_CHECK(ocis_config_stage(&o, &from, &im, &c, count_warning, NULL, &err) == 0);
	TAP_CHECK(warnings == 1);
	TAP_CHECK(strcmp(c.architecture, "riscv64") == 0 && strcmp(c.user, "7") == 0);
	TAP_CHECK(c.diff_ids.n == 2 && strcmp(c.diff_ids.v[0], D1) == 0);
	TAP_CHECK(c.n_history == 3 && c.history[2].empty_layer);
	ocis_config_release(&c);

	/* A bad value fails and leaves nothing to release. */
	o.workdir = "relative";
	TAP_CHECK(ocis_config_stage(&o, NULL, &im, &c, count_warning, NULL, &err) < 0);
	TAP_CHECK(strstr(err->msg, "relative") != NULL);
	ocis_error_free(&err);

	ocis_buf_release(&from);
	ocis_config_opts_release(&o);
	ocis_open_image_release(&im);
	return 0;
}

/* oci-manifest's stage: a default config over the layers when the image
 * has none; the stream's exact config bytes when they describe its
 * layers; the config extended when they describe a prefix; standard
 * annotations from the config, before (and so overridden by) explicit
 * ones, a missing value warned about and left out. */
static int
test_manifest_stage(void)
{
	struct ocis_layer_desc l[2];
	struct ocis_manifest_opts o;
	struct ocis_open_image im;
	struct ocis_buf config = OCIS_BUF_INIT, manifest = OCIS_BUF_INIT, one = OCIS_BUF_INIT;
	struct ocis_manifest_info m;
	struct ocis_config c;
	ocis_error_t *err = NULL;
	size_t n_ann = 0;
	int w0 = warnings;

	set_layer(&l[0], DA, D1, NULL, NULL);
	set_layer(&l[1], DB, D2, NULL, NULL);
	ocis_open_image_init(&im);
	TAP_CHECK(ocis_layer_list_push(&im.layers, &l[0], &err) == 0);
	TAP_CHECK(ocis_layer_list_push(&im.layers, &l[1], &err) == 0);
	memset(&o, 0, sizeof(o));
	o.epoch = 7;
	o.warn = count_warning;
	TAP_CHECK(ocis_strv_push(&o.std, "created", &err) == 0);
	TAP_CHECK(ocis_strv_push(&o.std, "authors", &err) == 0);	/* no author: left out */
	TAP_CHECK(ocis_strv_push(&o.std, "title=t1", &err) == 0);
	TAP_CHECK(ocis_strv_push(&o.annotations, OCIS_STD_ANNOTATION_PREFIX "title=t2", &err) == 0);

	/* No config: the default one, created from the epoch. */
	TAP_CHECK(ocis_manifest_stage(&o, &im, &config, &manifest, &n_ann, &err) == 0);
	TAP_CHECK(warnings == w0 + 1 && n_ann == 3);
	ocis_config_init(&c);
	TAP_CHECK(ocis_config_from_json(&c, (const char *)config.data, config.len, &err) == 0);
	TAP_CHECK(c.diff_ids.n == 2 && strcmp(c.diff_ids.v[1], D2) == 0);
	TAP_CHECK(strcmp(c.created, "1970-01-01T00:00:07Z") == 0);
	ocis_config_release(&c);
	memset(&m, 0, sizeof(m));
	TAP_CHECK(ocis_manifest_parse(&m, (const char *)manifest.data, manifest.len, &err) == 0);
	TAP_CHECK(m.n_layers == 2 && strcmp(m.layers[0].digest, DA) == 0);
	TAP_CHECK(m.config.size == config.len);
	ocis_manifest_info_release(&m);
	TAP_CHECK(strstr((char *)manifest.data, "\"" OCIS_STD_ANNOTATION_PREFIX
			 "created\":\"1970-01-01T00:00:07Z\"") != NULL);
	TAP_CHECK(strstr((char *)manifest.data, "\"t2\"") != NULL);
	TAP_CHECK(strstr((char *)manifest.data, "t1") == NULL);

	/* The stream's config describes its layers: its exact bytes. */
	TAP_CHECK(ocis_buf_add(&im.config, config.data, config.len, &err) == 0);
	TAP_CHECK(ocis_buf_addstr(&im.config, "\n", &err) == 0);	/* not how we write it */
	im.have_config = 1;
	TAP_CHECK(ocis_manifest_stage(&o, &im, &config, &manifest, NULL, &err) == 0);
	TAP_CHECK(config.len == im.config.len &&
		  memcmp(config.data, im.config.data, config.len) == 0);

	/* It describes the first layer only: extended with the second. */
	ocis_config_init(&c);
	TAP_CHECK(ocis_config_set_defaults(&c, 7, &err) == 0);
	TAP_CHECK(ocis_config_sync_layers(&c, im.layers.v, 1, &err) == 0);
	TAP_CHECK(ocis_config_to_json(&c, &one, &err) == 0);
	ocis_config_release(&c);
	ocis_buf_reset(&im.config);
	TAP_CHECK(ocis_buf_add(&im.config, one.data, one.len, &err) == 0);
	TAP_CHECK(ocis_manifest_stage(&o, &im, &config, &manifest, NULL, &err) == 0);
	ocis_config_init(&c);
	TAP_CHECK(ocis_config_from_json(&c, (const char *)config.data, config.len, &err) == 0);
	TAP_CHECK(c.diff_ids.n == 2 && strcmp(c.diff_ids.v[1], D2) == 0);
	ocis_config_release(&c);

	ocis_manifest_opts_release(&o);
	ocis_open_image_release(&im);
	ocis_buf_release(&config);
	ocis_buf_release(&manifest);
	ocis_buf_release(&one);
	return 0;
}

int
main(void)
{
	TAP_PLAN(15);
	TAP_RUN(test_golden_config);
	TAP_RUN(test_round_trip);
	TAP_RUN(test_from_json_tolerant);
	TAP_RUN(test_from_json_errors);
	TAP_RUN(test_rfc3339);
	TAP_RUN(test_arch_table);
	TAP_RUN(test_setters);
	TAP_RUN(test_shell_split);
	TAP_RUN(test_sync_layers);
	TAP_RUN(test_layer_list);
	TAP_RUN(test_manifest);
	TAP_RUN(test_manifest_errors);
	TAP_RUN(test_truncated);
	TAP_RUN(test_config_stage);
	TAP_RUN(test_manifest_stage);
	return tap_done();
}
