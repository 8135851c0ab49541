/* SPDX-License-Identifier: MIT */
/*
 * oci-manifest: an image stream on stdin -> the same stream plus a manifest
 * closing the open image on stdout.
 *
 * A filter: every entry passes through unchanged.  The open image's config
 * is held back and written just before the new manifest; which config and
 * which manifest is the stage's (ocistream/manifeststage.h).  This front
 * end gathers the options.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ocistream/filter.h>
#include <ocistream/manifeststage.h>
#include <ocistream/stream.h>

#include "tool.h"

struct manifest_args {
	struct ocis_manifest_opts o;	/* the stage's options */
	int have_epoch;			/* --source-date-epoch or SOURCE_DATE_EPOCH */
	const char *base_ref;		/* --base-ref TAG: image of a base archive */
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
	size_t len;
	int c;

	while ((c = getopt_long(argc, argv, "qvhV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_ANNOTATION:
			eq = strchr(optarg, '=');
			if (eq == NULL || eq == optarg)
				tool_usage_error("invalid annotation '%s': expected key=value",
						 optarg);
			tool_strv_push(&a->o.annotations, optarg);
			break;
		case OPT_STD:
			len = strcspn(optarg, "=");
			if (!ocis_std_annotation_known(optarg))
				tool_usage_error("unknown standard annotation '%.*s'", (int)len,
						 optarg);
			if (optarg[len] == 0 && strcmp(optarg, "created") != 0 &&
			    strcmp(optarg, "authors") != 0)
				tool_usage_error("--oci-annotation %s needs a value (%s=VALUE)",
						 optarg, optarg);
			tool_strv_push(&a->o.std, optarg);
			break;
		case OPT_BASE_REF: a->base_ref = optarg; break;
		case OPT_TYPES: a->o.types = tool_media_types_arg(optarg); break;
		case OPT_EPOCH:
			a->o.epoch = tool_epoch_arg(optarg);
			a->have_epoch = 1;
			break;
		default: tool_common_option(c, usage);
		}
	}
	if (optind < argc)
		tool_usage_error("unexpected argument '%s' (the image stream is read from stdin)",
				 argv[optind]);
	if (!a->have_epoch)
		a->have_epoch = tool_env_epoch(&a->o.epoch);
	a->o.warn = tool_on_warn;
	a->o.note = tool_on_note;
}

int
main(int argc, char **argv)
{
	struct manifest_args args;
	struct ocis_stream_reader *r = NULL;
	struct ocis_stream_writer *w = NULL;
	struct ocis_open_image im;
	struct ocis_buf config = OCIS_BUF_INIT, manifest = OCIS_BUF_INIT;
	size_t n_ann = 0;
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

	/* a default config's created time: the epoch, else now (what oci-config
	 * writes without options) */
	if (!args.have_epoch)
		args.o.epoch = (int64_t)time(NULL);
	if (ocis_manifest_stage(&args.o, &im, &config, &manifest, &n_ann, &err) < 0)
		tool_die_error(err);
	if (ocis_stream_write_entry(w, "config.json", config.data, config.len, &err) < 0 ||
	    ocis_stream_write_entry(w, "manifest.json", manifest.data, manifest.len, &err) < 0 ||
	    ocis_stream_finish(w, &err) < 0)
		tool_die_error(err);
	tool_msg(2, "manifest: %zu layers, %zu annotations", im.layers.n, n_ann);

	ocis_manifest_opts_release(&args.o);
	ocis_open_image_release(&im);
	ocis_buf_release(&config);
	ocis_buf_release(&manifest);
	ocis_stream_reader_free(r);
	ocis_stream_writer_free(w);
	return tool_finish();
}
