/* SPDX-License-Identifier: MIT */
/*
 * oci-manifest: an image stream on stdin -> the same stream plus a manifest
 * closing the open image on stdout.
 *
 * A filter: every entry passes through unchanged.  The open image's config
 * is held back and written just before the new manifest: unchanged when its
 * rootfs.diff_ids already list the stream's layers, extended when they list
 * a prefix of them (layers added after oci-config), refused otherwise.  An
 * image without config gets the default one oci-config writes without
 * options.  The manifest points at the exact config bytes written and at the
 * layers in stream order (ocis_manifest_build).
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ocistream/filter.h>
#include <ocistream/imageconfig.h>
#include <ocistream/layerdesc.h>
#include <ocistream/manifest.h>
#include <ocistream/stream.h>
#include <ocistream/strv.h>

#include "tool.h"

#define STD_PREFIX "org.opencontainers.image."

struct manifest_args {
	struct ocis_strv annotations;	/* --annotation k=v (repeatable) */
	struct ocis_strv std;		/* --oci-annotation NAME[=VALUE] (repeatable) */
	int have_epoch;			/* --source-date-epoch or SOURCE_DATE_EPOCH */
	int64_t epoch;
	const char *base_ref;		/* --base-ref TAG: image of a base archive */
	enum ocis_media_types types;	/* --media-types oci|docker */
};

/* Standard annotation names (OCI image-spec annotations.md). */
static const char *const std_names[] = {
	"created", "authors", "url", "documentation", "source", "version", "revision",
	"vendor", "licenses", "ref.name", "title", "description", "base.digest",
	"base.name",
};

static void
usage(void)
{
	printf("usage: %s [options] < image-stream > image-stream\n"
	       "\n"
	       "Close the open image of the stream (the layers since the last manifest)\n"
	       "with an OCI image manifest.  Its config is the one in the stream, or the\n"
	       "default config (as oci-config writes it without options) when there is none.\n"
	       "\n"
	       "      --annotation=KEY=VALUE  add a manifest annotation (repeatable)\n"
	       "      --oci-annotation=NAME[=VALUE]\n"
	       "                            add org.opencontainers.image.NAME (repeatable);\n"
	       "                            without a value, 'created' and 'authors' come\n"
	       "                            from the config\n"
	       "      --media-types=TYPES   oci (default) or docker (Docker v2 schema 2;\n"
	       "                            gzip layers only, no annotations)\n"
	       "      --base-ref=TAG        the image to build on when a base image archive\n"
	       "                            in the stream holds several\n"
	       "      --source-date-epoch=N build time of a default config (default:\n"
	       "                            $SOURCE_DATE_EPOCH, else now)\n"
	       "  -q, --quiet               no warnings\n"
	       "  -v, --verbose             more messages\n"
	       "  -h, --help                show this help\n"
	       "  -V, --version             show version and library versions\n",
	       tool_progname);
	exit(tool_finish());
}

static void
parse_args(int argc, char **argv, struct manifest_args *a)
{
	enum { OPT_ANNOTATION = 256, OPT_STD, OPT_EPOCH, OPT_BASE_REF, OPT_TYPES };
	static const struct option longopts[] = {
		{ "annotation", required_argument, NULL, OPT_ANNOTATION },
		{ "oci-annotation", required_argument, NULL, OPT_STD },
		{ "source-date-epoch", required_argument, NULL, OPT_EPOCH },
		{ "base-ref", required_argument, NULL, OPT_BASE_REF },
		{ "media-types", required_argument, NULL, OPT_TYPES },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *eq;
	size_t i, len;
	int c;

	while ((c = getopt_long(argc, argv, "qvhV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_ANNOTATION:
			eq = strchr(optarg, '=');
			if (eq == NULL || eq == optarg)
				tool_usage_error("invalid annotation '%s': expected key=value",
						 optarg);
			tool_strv_push(&a->annotations, optarg);
			break;
		case OPT_STD:
			len = strcspn(optarg, "=");
			for (i = 0; i < sizeof(std_names) / sizeof(std_names[0]); i++)
				if (strlen(std_names[i]) == len &&
				    strncmp(optarg, std_names[i], len) == 0)
					break;
			if (i == sizeof(std_names) / sizeof(std_names[0]))
				tool_usage_error("unknown standard annotation '%.*s'", (int)len,
						 optarg);
			if (optarg[len] == 0 && strcmp(optarg, "created") != 0 &&
			    strcmp(optarg, "authors") != 0)
				tool_usage_error("--oci-annotation %s needs a value (%s=VALUE)",
						 optarg, optarg);
			tool_strv_push(&a->std, optarg);
			break;
		case OPT_BASE_REF: a->base_ref = optarg; break;
		case OPT_TYPES: a->types = tool_media_types_arg(optarg); break;
		case OPT_EPOCH:
			a->epoch = tool_epoch_arg(optarg);
			a->have_epoch = 1;
			break;
		default: tool_common_option(c, usage);
		}
	}
	if (optind < argc)
		tool_usage_error("unexpected argument '%s' (the image stream is read from stdin)",
				 argv[optind]);
	if (!a->have_epoch)
		a->have_epoch = tool_env_epoch(&a->epoch);
}

/* The annotations of the manifest: the standard ones first, so an explicit
 * --annotation of the same key wins (the last of equal keys wins). */
static void
build_annotations(const struct manifest_args *a, const struct ocis_config *c,
		  struct ocis_strv *out)
{
	size_t i;
	char *s;

	for (i = 0; i < a->std.n; i++) {
		const char *name = a->std.v[i], *value = NULL;
		if (strchr(name, '=') != NULL) {
			s = NULL;
			if (asprintf(&s, STD_PREFIX "%s", name) < 0)
				tool_die("out of memory");
			tool_strv_push(out, s);
			free(s);
			continue;
		}
		value = strcmp(name, "created") == 0 ? c->created : c->author;
		if (value == NULL) {
			tool_warn("--oci-annotation %s: the config has no %s; not added", name,
				  strcmp(name, "created") == 0 ? "created time" : "author");
			continue;
		}
		if (asprintf(&s, STD_PREFIX "%s=%s", name, value) < 0)
			tool_die("out of memory");
		tool_strv_push(out, s);
		free(s);
	}
	for (i = 0; i < a->annotations.n; i++)
		tool_strv_push(out, a->annotations.v[i]);
}

/* 1 when the config's diff_ids are exactly the layers' diffIDs. */
static int
config_matches(const struct ocis_config *c, const struct ocis_layer_list *l)
{
	size_t i;

	if (c->diff_ids.n != l->n)
		return 0;
	for (i = 0; i < l->n; i++)
		if (strcmp(c->diff_ids.v[i], l->v[i].diff_id) != 0)
			return 0;
	return 1;
}

int
main(int argc, char **argv)
{
	struct manifest_args args;
	struct ocis_config c;
	struct ocis_stream_reader *r = NULL;
	struct ocis_stream_writer *w = NULL;
	struct ocis_open_image im;
	struct ocis_buf config = OCIS_BUF_INIT, manifest = OCIS_BUF_INIT;
	struct ocis_strv ann = { NULL, 0, 0 };
	ocis_error_t *err = NULL;

	memset(&args, 0, sizeof(args));
	ocis_open_image_init(&im);
	tool_init("oci-manifest");
	parse_args(argc, argv, &args);

	if (isatty(STDIN_FILENO))
		tool_die("refusing to read an image stream from a terminal (pipe oci-layer in)");
	if (ocis_stream_reader_new(&r, STDIN_FILENO, 0, &err) < 0 ||
	    ocis_stream_writer_new(&w, STDOUT_FILENO, &err) < 0)
		tool_die_error(err);
	tool_set_error_stream(w);
	if (tool_set_base(r, args.base_ref, NULL, NULL, NULL, &err) < 0)
		tool_die_error(err);

	if (ocis_filter_pass(r, w, &im, &err) < 0) {
		if (im.upstream_failed)
			tool_set_error_stream(NULL);	/* already passed on */
		tool_die_error(err);
	}
	if (im.several_configs)
		tool_warn("the open image has several configs; using the last");
	if (!im.open)
		tool_die("no image to finish: the input %s (pipe oci-layer output in)",
			 im.entries == 0 ? "is empty" : "ends with a complete image (a manifest)");

	ocis_config_init(&c);
	if (im.have_config) {
		if (ocis_config_from_json(&c, (const char *)im.config.data, im.config.len, &err) < 0) {
			ocis_error_wrap(&err, "config in the stream");
			tool_die_error(err);
		}
		if (config_matches(&c, &im.layers)) {
			/* Keep the exact bytes the stream carried. */
			if (ocis_buf_add(&config, im.config.data, im.config.len, &err) < 0)
				tool_die_error(err);
		} else {
			if (ocis_config_sync_layers(&c, im.layers.v, im.layers.n, &err) < 0)
				tool_die_error(err);
			tool_msg(2, "config extended with the layers added after it");
			if (ocis_config_to_json(&c, &config, &err) < 0)
				tool_die_error(err);
		}
	} else {
		/* What oci-config writes without options. */
		int64_t epoch = args.have_epoch ? args.epoch : (int64_t)time(NULL);
		if (ocis_config_set_defaults(&c, epoch, &err) < 0 ||
		    ocis_config_sync_layers(&c, im.layers.v, im.layers.n, &err) < 0 ||
		    ocis_config_to_json(&c, &config, &err) < 0)
			tool_die_error(err);
	}
	build_annotations(&args, &c, &ann);

	if (ocis_manifest_build_typed(args.types, config.data, config.len, im.layers.v, im.layers.n,
				      ann.v, ann.n, &manifest, &err) < 0 ||
	    ocis_stream_write_entry(w, "config.json", config.data, config.len, &err) < 0 ||
	    ocis_stream_write_entry(w, "manifest.json", manifest.data, manifest.len, &err) < 0 ||
	    ocis_stream_finish(w, &err) < 0)
		tool_die_error(err);
	tool_msg(2, "manifest: %zu layers, %zu annotations", im.layers.n, ann.n);

	ocis_strv_clear(&ann);
	ocis_strv_clear(&args.annotations);
	ocis_strv_clear(&args.std);
	ocis_config_release(&c);
	ocis_open_image_release(&im);
	ocis_buf_release(&config);
	ocis_buf_release(&manifest);
	ocis_stream_reader_free(r);
	ocis_stream_writer_free(w);
	return tool_finish();
}
