/* SPDX-License-Identifier: MIT */
/*
 * oci-pack: an image stream on stdin -> an OCI image layout, as a tarball
 * on stdout or a directory (-o DIR).  Thin front end over ocis_pack.
 */
#include "config.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ocistream/arch.h>
#include <ocistream/index.h>
#include <ocistream/layout.h>
#include <ocistream/manifest.h>
#include <ocistream/pack.h>
#include <ocistream/stream.h>

#include "tool.h"

struct pack_args {
	char **tags;			/* --tag, repeatable (default "latest") */
	size_t n_tags;
	const char *output_dir;		/* -o DIR; NULL or "-" = tarball on stdout */
	const char *arch;		/* --arch for a default config */
	const char *os;			/* --os for a default config */
	const char *variant;		/* --variant for a default config */
	int have_epoch;			/* --source-date-epoch or SOURCE_DATE_EPOCH */
	int64_t epoch;
	int allow_same_platform;	/* --allow-same-platform */
	int add_platform;		/* --add-platform (with -o DIR) */
	const char *base_ref;		/* --base-ref TAG: image of a base archive */
	int docker_archive;		/* --docker: also manifest.json, repositories */
	const char *docker_name;	/* --name REPO for RepoTags */
	enum ocis_media_types types;	/* --media-types oci|docker */
	const char **annotations;	/* --annotation k=v (repeatable) */
	size_t n_annotations;
	int progress;			/* --progress 1, --no-progress 0, auto -1 */
	int summary;			/* --summary (or -v) */
	const char *descriptor_file;	/* --print-descriptor=FILE */
};

static void
usage(void)
{
	printf("usage: %s [options] < image-stream > image.tar\n"
	       "       %s [options] -o DIR < image-stream\n"
	       "\n"
	       "Write the images of an image stream as an OCI image layout: a tarball on\n"
	       "standard output (an oci-archive) or a layout directory.  Missing configs\n"
	       "and manifests are made with defaults.\n"
	       "\n"
	       "  -t, --tag=NAME            tag (org.opencontainers.image.ref.name); repeatable;\n"
	       "                            default: latest, or $OCI_IMAGE_TAG\n"
	       "  -o, --output=DIR          write (or update) the layout directory DIR\n"
	       "      --arch=ARCH           architecture of a default config (default: this\n"
	       "                            machine's); x86_64, aarch64, armv7... are mapped\n"
	       "      --variant=VARIANT     variant of a default config\n"
	       "      --os=OS               os of a default config (default: linux)\n"
	       "      --source-date-epoch=N default created time and tar mtimes\n"
	       "                            (default: $SOURCE_DATE_EPOCH, else now / 0)\n"
	       "      --annotation=KEY=VALUE annotation of the index.json entries (repeatable)\n"
	       "      --docker              also write manifest.json and repositories, so the\n"
	       "                            tarball loads with docker load, podman load and\n"
	       "                            skopeo docker-archive: (one image)\n"
	       "      --name=REPO           repository of the docker RepoTags (default:\n"
	       "                            ocipipe); tags holding a ':' are used as they are\n"
	       "      --media-types=TYPES   oci (default) or docker (Docker v2 schema 2\n"
	       "                            manifests; gzip layers only)\n"
	       "      --allow-same-platform allow two images of one platform in an index\n"
	       "      --add-platform        with -o DIR: add the stream's images to those the\n"
	       "                            (first) tag points at, replacing the same platform\n"
	       "      --base-ref=TAG        the image to build on when a base image archive\n"
	       "                            in the stream holds several (also chosen by\n"
	       "                            --arch/--os/--variant)\n"
	       "      --progress            show a progress line on stderr even when it is\n"
	       "                            not a terminal (default: only on a terminal)\n"
	       "      --no-progress         never show the progress line\n"
	       "      --summary             print a one-line summary at the end\n"
	       "      --print-descriptor=FILE  write the descriptor the tags point at (JSON)\n"
	       "                            to FILE ('-' = standard error)\n"
	       "  -q, --quiet               no warnings, no progress\n"
	       "  -v, --verbose             print a summary\n"
	       "  -h, --help                show this help\n"
	       "  -V, --version             show version and library versions\n",
	       tool_progname, tool_progname);
	exit(tool_finish());
}

static void
add_tag(struct pack_args *a, char *tag)
{
	char **v;

	if (!ocis_ref_name_valid(tag))
		tool_usage_error("invalid tag '%s'", tag);
	v = realloc(a->tags, (a->n_tags + 1) * sizeof(*v));
	if (v == NULL)
		tool_die("out of memory");
	a->tags = v;
	a->tags[a->n_tags++] = tag;
}

static void
parse_args(int argc, char **argv, struct pack_args *a)
{
	enum { OPT_ARCH = 256, OPT_OS, OPT_VARIANT, OPT_EPOCH, OPT_SAME, OPT_BASE_REF,
	       OPT_DOCKER, OPT_NAME, OPT_TYPES, OPT_ANNOTATION, OPT_PROGRESS, OPT_NO_PROGRESS,
	       OPT_SUMMARY, OPT_DESCRIPTOR, OPT_ADD_PLATFORM };
	static const struct option longopts[] = {
		{ "tag", required_argument, NULL, 't' },
		{ "output", required_argument, NULL, 'o' },
		{ "arch", required_argument, NULL, OPT_ARCH },
		{ "os", required_argument, NULL, OPT_OS },
		{ "variant", required_argument, NULL, OPT_VARIANT },
		{ "source-date-epoch", required_argument, NULL, OPT_EPOCH },
		{ "allow-same-platform", no_argument, NULL, OPT_SAME },
		{ "add-platform", no_argument, NULL, OPT_ADD_PLATFORM },
		{ "base-ref", required_argument, NULL, OPT_BASE_REF },
		{ "docker", no_argument, NULL, OPT_DOCKER },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "media-types", required_argument, NULL, OPT_TYPES },
		{ "annotation", required_argument, NULL, OPT_ANNOTATION },
		{ "progress", no_argument, NULL, OPT_PROGRESS },
		{ "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
		{ "summary", no_argument, NULL, OPT_SUMMARY },
		{ "print-descriptor", required_argument, NULL, OPT_DESCRIPTOR },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "t:o:qvhV", longopts, NULL)) != -1) {
		switch (c) {
		case 't': add_tag(a, optarg); break;
		case 'o': a->output_dir = optarg; break;
		case OPT_ARCH: a->arch = optarg; break;
		case OPT_OS: a->os = optarg; break;
		case OPT_VARIANT: a->variant = optarg; break;
		case OPT_EPOCH:
			a->epoch = tool_epoch_arg(optarg);
			a->have_epoch = 1;
			break;
		case OPT_SAME: a->allow_same_platform = 1; break;
		case OPT_ADD_PLATFORM: a->add_platform = 1; break;
		case OPT_BASE_REF: a->base_ref = optarg; break;
		case OPT_DOCKER: a->docker_archive = 1; break;
		case OPT_PROGRESS: a->progress = 1; break;
		case OPT_NO_PROGRESS: a->progress = 0; break;
		case OPT_SUMMARY: a->summary = 1; break;
		case OPT_DESCRIPTOR: a->descriptor_file = optarg; break;
		case OPT_NAME: a->docker_name = optarg; break;
		case OPT_TYPES: a->types = tool_media_types_arg(optarg); break;
		case OPT_ANNOTATION: {
			const char **nv;
			const char *eq = strchr(optarg, '=');
			if (eq == NULL || eq == optarg)
				tool_usage_error("invalid annotation '%s': expected key=value", optarg);
			nv = realloc(a->annotations, (a->n_annotations + 1) * sizeof(*nv));
			if (nv == NULL)
				tool_die("out of memory");
			a->annotations = nv;
			a->annotations[a->n_annotations++] = optarg;
			break;
		}
		default: tool_common_option(c, usage);
		}
	}
	if (optind < argc)
		tool_usage_error("unexpected argument '%s' (the image stream is read from stdin)",
				 argv[optind]);
	if (a->n_tags == 0) {
		static char latest[] = "latest";
		char *env = getenv("OCI_IMAGE_TAG");
		add_tag(a, env && *env ? env : latest);
	}
	if (!a->have_epoch)
		a->have_epoch = tool_env_epoch(&a->epoch);
	if (a->output_dir && strcmp(a->output_dir, "-") == 0)
		a->output_dir = NULL;
	if (a->add_platform && !a->output_dir)
		tool_usage_error("--add-platform updates a layout directory: use it with -o DIR");
	if (a->docker_archive && a->output_dir)
		tool_usage_error("--docker writes a tarball: it cannot be used with -o DIR");
	if (a->docker_name && !a->docker_archive)
		tool_usage_error("--name only names the RepoTags of --docker");
	if (a->docker_name && (!ocis_ref_name_valid(a->docker_name) ||
			       strchr(a->docker_name, ':') || strchr(a->docker_name, '@')))
		tool_usage_error("invalid --name '%s' (a repository name without a tag)",
				 a->docker_name);
}

static void
on_progress(void *ctx, uint64_t stream_bytes, size_t layers)
{
	char in[16], rate[16];
	double t = tool_elapsed();

	(void)ctx;
	tool_progress(0, "%s of image stream read, %zu layer%s done, %s/s",
		      tool_bytes(stream_bytes, in), layers, layers == 1 ? "" : "s",
		      tool_bytes(t > 0 ? (uint64_t)((double)stream_bytes / t) : 0, rate));
}

int
main(int argc, char **argv)
{
	struct pack_args args;
	struct ocis_pack_opts o;
	struct ocis_pack_stats stats;
	struct ocis_stream_reader *r = NULL;
	struct ocis_layout *l = NULL;
	ocis_error_t *err = NULL;

	memset(&args, 0, sizeof(args));
	args.progress = -1;
	tool_init("oci-pack");
	parse_args(argc, argv, &args);
	tool_progress_init(args.progress);

	if (isatty(STDIN_FILENO))
		tool_die("refusing to read an image stream from a terminal");
	if (args.output_dir == NULL && isatty(STDOUT_FILENO))
		tool_die("refusing to write an image tarball to a terminal (redirect it or use -o DIR)");

	memset(&o, 0, sizeof(o));
	o.tags = args.tags;
	o.n_tags = args.n_tags;
	tool_default_platform(args.arch, args.variant, &o.arch, &o.variant);
	o.os = args.os;
	o.created = args.have_epoch ? args.epoch : (int64_t)time(NULL);
	o.allow_same_platform = args.allow_same_platform;
	o.add_platform = args.add_platform;
	o.types = args.types;
	o.docker_archive = args.docker_archive;
	o.docker_name = args.docker_name;
	o.annotations = args.annotations;
	o.n_annotations = args.n_annotations;
	if (tool_progress_enabled())
		o.progress = on_progress;

	if (ocis_stream_reader_new(&r, STDIN_FILENO, 1, &err) < 0 ||
	    tool_set_base(r, args.base_ref, args.arch, args.os, args.variant, &err) < 0)
		tool_die_error(err);
	if (args.output_dir) {
		if (ocis_layout_open_dir(&l, args.output_dir, &err) < 0)
			tool_die_error(err);
	} else if (ocis_layout_open_tar(&l, STDOUT_FILENO, args.have_epoch ? args.epoch : 0,
					&err) < 0) {
		tool_die_error(err);
	}
	if (ocis_pack(r, l, &o, &stats, &err) < 0) {
		ocis_layout_abort(l);
		ocis_layout_free(l);
		tool_die_error(err);
	}
	ocis_layout_free(l);
	ocis_stream_reader_free(r);
	tool_progress_clear();
	if (args.summary || tool_verbosity >= 2)
		fprintf(stderr, "%s: %zu image%s, %zu layer%s, %s tagged %s, %.2f s\n",
			tool_progname, stats.images, stats.images == 1 ? "" : "s", stats.layers,
			stats.layers == 1 ? "" : "s", stats.top_digest, args.tags[0],
			tool_elapsed());
	if (args.descriptor_file)
		tool_write_descriptor(args.descriptor_file, stats.top_media_type, stats.top_digest,
				      stats.top_size);
	free(args.tags);
	free(args.annotations);
	return tool_finish();
}
