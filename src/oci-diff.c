/* SPDX-License-Identifier: MIT */
/*
 * oci-diff: the lower rootfs (a tar file, or an image: its merged rootfs)
 * and the upper rootfs (a tar stream on stdin) -> one layer with what
 * changed, in the image stream on stdout (after the lower image, when the
 * lower is one).  Thin front end over ocis_diff_build (src/lib/diff.c) and,
 * for an image lower, ocis_flatten_src (src/lib/flatten.c).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ocistream/diff.h>
#include <ocistream/flatten.h>
#include <ocistream/layerdesc.h>
#include <ocistream/locale.h>
#include <ocistream/stream.h>

#include "tool.h"

/* Bytes of a compared upper file held in memory; the rest of a larger
 * one goes to a temporary file (src/lib/spill.c). */
#define CHECKSUM_MAX_DEFAULT (4ULL * 1024 * 1024)

struct diff_args {
	const char *lower;			/* --lower FILE */
	struct tool_image_args im;		/* the image of an image lower */
	int no_lower_image;			/* --no-lower-image */
	struct tool_layer_args l;		/* compression, history, output */
	struct ocis_diff_opts o;		/* the diff's options, set here */
};

static void
usage(void)
{
	printf("usage: %s --lower=LOWER [options] < upper.tar > image-stream\n"
	       "\n"
	       "Compare the upper rootfs tar stream on standard input with the lower\n"
	       "rootfs LOWER and write one OCI layer into the image stream that holds\n"
	       "only what changed: new and modified entries, whiteouts for what was\n"
	       "removed.  The lower layer plus this layer is the upper tree.\n"
	       "\n"
	       "LOWER is a rootfs tar, or an image: an image stream saved to a file\n"
	       "(its first entry is ocipipe/...) or an OCI image tarball (oci-layout,\n"
	       "index.json, blobs/...), told apart by their content.  The lower tree of\n"
	       "an image is its merged rootfs (what oci-flatten writes), and the output\n"
	       "starts with that image, its layers unchanged and its config, so the\n"
	       "diff layer goes on top of it and oci-config builds on its config.\n"
	       "\n"
	       "  -L, --lower=FILE          the lower rootfs tar (any tar libarchive reads,\n"
	       "                            compressed or not; a named pipe works unless a\n"
	       "                            new hardlink to an unchanged file needs it\n"
	       "                            twice) or image (a file, not a pipe)\n"
	       "  -t, --ref=TAG             image of a lower tarball with several tags\n"
	       "  -a, --arch=ARCH           image of this architecture in a lower with\n"
	       "                            several images (x86_64, aarch64, amd64, ...)\n"
	       "      --variant=VARIANT     image of this architecture variant (v7, v8)\n"
	       "      --os=OS               image of this operating system (linux)\n"
	       "      --no-lower-image      write only the diff layer, not the lower image\n"
	       "                            before it\n"
	       "      --trust-mtime         do not compare the content of files whose\n"
	       "                            metadata match: size and mtime decide (misses\n"
	       "                            changes under clamped or whole-second mtimes)\n"
	       "      --checksum            compare content (the default; for old scripts)\n"
	       "      --strip-absolute      store absolute names of either tree relative\n"
	       "                            instead of failing (as oci-layer does)\n"
	       "      --checksum-max=BYTES  bytes of a compared file held in memory; the\n"
	       "                            rest goes to a temporary file in $TMPDIR\n"
	       "                            (default 4 MiB)\n"
	       "  -c, --compress=ALG        gzip (default), zstd or none\n"
	       "      --gzip, --zstd        short for --compress=gzip / zstd\n"
	       "  -l, --level=N             compression level (gzip 1-12, default 6;\n"
	       "                            zstd 1-19, default 3)\n"
	       "  -T, --threads=N           compression threads (default: all CPUs;\n"
	       "                            1: one core, no threads)\n"
	       TOOL_CACHE_HELP
	       "      --source-date-epoch=N build time in seconds (default: $SOURCE_DATE_EPOCH)\n"
	       "      --created-by=TEXT     history text for this layer\n"
	       "      --comment=TEXT        history comment for this layer\n"
	       "      --summary             print a one-line summary at the end\n"
	       "      --print-descriptor=FILE  write the layer descriptor (JSON) to FILE\n"
	       "                            ('-' = standard error)\n"
	       "  -q, --quiet               no warnings\n"
	       "  -v, --verbose             list written entries on stderr; summary\n"
	       "  -h, --help                show this help\n"
	       "  -V, --version             show version and library versions\n",
	       tool_progname);
	exit(tool_finish());
}

static void
parse_args(int argc, char **argv, struct diff_args *a)
{
	enum { OPT_CHECKSUM = 256, OPT_CHECKSUM_MAX, OPT_NO_LOWER_IMAGE, OPT_TRUST_MTIME,
	       OPT_STRIP };
	static const struct option longopts[] = {
		{ "lower", required_argument, NULL, 'L' },
		TOOL_IMAGE_LONGOPTS,
		{ "no-lower-image", no_argument, NULL, OPT_NO_LOWER_IMAGE },
		{ "trust-mtime", no_argument, NULL, OPT_TRUST_MTIME },
		{ "strip-absolute", no_argument, NULL, OPT_STRIP },
		{ "checksum", no_argument, NULL, OPT_CHECKSUM },
		{ "checksum-max", required_argument, NULL, OPT_CHECKSUM_MAX },
		TOOL_LAYER_LONGOPTS,
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	long long v;
	int c;

	while ((c = getopt_long(argc, argv, "L:" TOOL_IMAGE_SHORTOPTS TOOL_LAYER_SHORTOPTS "qvhV",
				longopts, NULL)) != -1) {
		if (tool_layer_option(&a->l, c, optarg) || tool_image_option(&a->im, c, optarg))
			continue;
		switch (c) {
		case 'L':
			if (*optarg == 0)
				tool_usage_error("empty --lower");
			a->lower = optarg;
			break;
		case OPT_NO_LOWER_IMAGE: a->no_lower_image = 1; break;
		case OPT_TRUST_MTIME: a->o.trust_mtime = 1; break;
		case OPT_STRIP: a->o.strip_absolute = 1; break;
		case OPT_CHECKSUM: a->o.trust_mtime = 0; break;	/* the default */
		case OPT_CHECKSUM_MAX:
			if (tool_parse_int(optarg, 0, 1LL << 40, &v) < 0)
				tool_usage_error("invalid --checksum-max '%s' (bytes, 0-2^40)", optarg);
			a->o.hold_max = (uint64_t)v;
			break;
		default: tool_common_option(c, usage);
		}
	}
	if (optind < argc)
		tool_usage_error("unexpected argument '%s' (the upper tar is read from stdin, "
				 "the lower given with --lower)", argv[optind]);
	if (a->lower == NULL)
		tool_usage_error("--lower FILE is required (the lower rootfs tar or image)");
	tool_layer_args_done(&a->l);
	/* the diff's writer (held-back parents, spooled headers) does not
	 * record its entries for a lazy-pull TOC (docs/lazy-pull.md) */
	if (a->l.compression == OCIS_COMPRESS_ESTARGZ ||
	    a->l.compression == OCIS_COMPRESS_ZCHUNKED)
		tool_usage_error("--compress=%s: oci-diff writes gzip, zstd or plain layers",
				 ocis_compression_name(a->l.compression));
	TOOL_LAYER_ARGS_APPLY(&a->l, &a->o);
}

/* Pass 3 with an image lower: flatten it again (args.o.reopen_lower). */
static int
reopen_lower(void *ctx, int *fd, ocis_error_t **err)
{
	return ocis_flatten_src_start(ctx, fd, err);
}

/* Pass 1 with an image lower: its entries, flattened on this thread
 * (args.o.lower_each). */
struct lower_image {
	struct ocis_flatten_src *src;
	const char *name;
};

static int
lower_each(void *ctx, ocis_flatten_entry_fn fn, void *fn_ctx, ocis_error_t **err)
{
	const struct lower_image *li = ctx;

	if (ocis_flatten_src_each(li->src, fn, fn_ctx, err) < 0)
		return ocis_error_wrap(err, "--lower '%s'", li->name);
	return 0;
}

/* The lower an image: check it and choose its image (before any output),
 * or NULL for a rootfs tar. */
static struct ocis_flatten_src *
open_lower_image(const struct diff_args *a, int lfd, struct ocis_flatten_opts *fo)
{
	struct ocis_flatten_src *src = NULL;
	enum ocis_input_kind kind;
	ocis_error_t *err = NULL;

	if (ocis_flatten_sniff(lfd, &kind, &err) < 0) {
		ocis_error_wrap(&err, "--lower '%s'", a->lower);
		tool_die_error(err);
	}
	if (kind == OCIS_INPUT_ROOTFS) {
		if (a->im.ref || a->im.arch || a->im.os || a->im.variant)
			tool_usage_error("--ref, --arch, --os and --variant choose the image of "
					 "an image lower, and '%s' is a rootfs tar", a->lower);
		return NULL;
	}
	memset(fo, 0, sizeof(*fo));
	fo->ref = a->im.ref;
	fo->arch = a->im.arch;
	fo->os = a->im.os;
	fo->variant = a->im.variant;
	fo->warn = tool_on_warn;
	if (ocis_flatten_src_new(&src, lfd, fo, &err) < 0) {
		ocis_error_wrap(&err, "--lower '%s' (an image %s)", a->lower,
				kind == OCIS_INPUT_IMAGE_STREAM ? "stream" : "tarball");
		tool_die_error(err);
	}
	tool_msg(2, "lower: an image %s, %zu layers",
		 kind == OCIS_INPUT_IMAGE_STREAM ? "stream" : "tarball",
		 ocis_flatten_src_layers(src));
	return src;
}

int
main(int argc, char **argv)
{
	struct diff_args args;
	struct ocis_stream_writer *w = NULL;
	struct ocis_layer_desc desc;
	struct ocis_diff_stats st;
	struct ocis_flatten_opts fo;
	struct ocis_flatten_src *src;
	struct lower_image li;
	ocis_error_t *err = NULL;
	int lfd, dfd;

	/* Names are bytes (locale.h). */
	ocis_locale_init();
	tool_init("oci-diff");
	memset(&args, 0, sizeof(args));
	tool_layer_args_init(&args.l);
	args.o.hold_max = CHECKSUM_MAX_DEFAULT;
	parse_args(argc, argv, &args);

	if (isatty(STDIN_FILENO))
		tool_die("refusing to read a tar stream from a terminal (pipe the upper rootfs "
			 "tar in)");
	if (isatty(STDOUT_FILENO))
		tool_die("refusing to write an image stream to a terminal (pipe it to oci-pack)");
	lfd = open(args.lower, O_RDONLY | O_CLOEXEC);
	if (lfd < 0)
		tool_die("cannot open '%s': %s", args.lower, strerror(errno));
	src = open_lower_image(&args, lfd, &fo);
	dfd = lfd;

	args.o.warn = tool_on_warn;
	args.o.on_entry = tool_on_entry;

	if (ocis_stream_writer_new(&w, STDOUT_FILENO, &err) < 0)
		tool_die_error(err);
	tool_set_error_stream(w);
	if (src != NULL) {
		/* The lower image first: the diff layer goes on top of it. */
		if (!args.no_lower_image && ocis_flatten_src_copy_image(src, w, &err) < 0) {
			ocis_error_wrap(&err, "--lower '%s'", args.lower);
			tool_die_error(err);
		}
		dfd = -1;
		li.src = src;
		li.name = args.lower;
		args.o.lower_each = lower_each;
		args.o.lower_each_ctx = &li;
		args.o.reopen_lower = reopen_lower;
		args.o.reopen_ctx = src;
	}
	if (ocis_diff_build(dfd, args.lower, STDIN_FILENO, w, &args.o, &desc, &st, &err) < 0) {
		/* A flattening that failed cut the lower tar short: its error
		 * says why, the diff's only that the tar ended. */
		ocis_error_t *ferr = NULL;
		if (ocis_flatten_src_free(src, &ferr) < 0) {
			ocis_error_free(&err);
			err = ferr;
			ocis_error_wrap(&err, "--lower '%s'", args.lower);
		}
		tool_die_error(err);
	}
	if (ocis_flatten_src_free(src, &err) < 0) {
		ocis_error_wrap(&err, "--lower '%s'", args.lower);
		tool_die_error(err);
	}
	if (ocis_stream_finish(w, &err) < 0)
		tool_die_error(err);
	close(lfd);
	if (args.l.summary || tool_verbosity >= 2) {
		char size[16], cache[128];
		fprintf(stderr, "%s: %s %s %s, %llu lower and %llu upper entries, %llu "
			"written (%llu whiteouts), %llu unchanged%s%s, %llu name lookups, %.2f s\n",
			tool_progname,
			desc.digest, tool_bytes(desc.size, size),
			ocis_compression_name(args.l.compression),
			(unsigned long long)st.lower_entries, (unsigned long long)st.upper_entries,
			(unsigned long long)st.written, (unsigned long long)st.whiteouts,
			(unsigned long long)st.unchanged,
			st.lower_reread ? ", lower read twice" : "",
			tool_cache_summary(st.cache_used, &st.cache, cache, sizeof(cache)),
			(unsigned long long)st.lookups,
			tool_elapsed());
	}
	tool_layer_print_descriptor(&args.l, &desc);
	ocis_layer_desc_release(&desc);
	ocis_stream_writer_free(w);
	return tool_finish();
}
