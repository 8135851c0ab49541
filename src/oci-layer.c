/* SPDX-License-Identifier: MIT */
/*
 * oci-layer: a rootfs tar stream on stdin -> one layer in the image stream
 * on stdout.  Thin front end over ocis_layer_build (src/lib/layer.c).
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ocistream/layer.h>
#include <ocistream/layerdesc.h>
#include <ocistream/locale.h>
#include <ocistream/stream.h>

#include "tool.h"

struct layer_args {
	struct tool_layer_args l;		/* compression, history, output */
	struct ocis_layer_opts o;		/* the builder's options, set here */
	const char **exclude;			/* --exclude (repeatable): o.exclude */
	int progress;				/* --progress 1, --no-progress 0, auto -1 */
	const char *split;			/* --split=MAP, or NULL */
	const char *split_rest;			/* --split-rest=NAME */
};

static void
usage(void)
{
	printf("usage: %s [options] < rootfs.tar > image-stream\n"
	       "\n"
	       "Read a rootfs tar stream (ustar, pax, gnu or v7; gzip, zstd, xz or bzip2\n"
	       "compressed or not) and write one OCI layer into the image stream.\n"
	       "\n"
	       "  -c, --compress=ALG        gzip (default), zstd, none, estargz (gzip\n"
	       "                            with a TOC for lazy pulling) or zstd:chunked\n"
	       "                            (zstd frames with a TOC, for podman)\n"
	       "      --gzip, --zstd        short for --compress=gzip / zstd\n"
	       "  -l, --level=N             compression level (gzip, estargz 1-12, default 6;\n"
	       "                            zstd, zstd:chunked 1-19, default 3)\n"
	       "  -T, --threads=N           compression threads (default: all CPUs;\n"
	       "                            1: one core, no threads)\n"
	       TOOL_CACHE_HELP
	       "      --strip-absolute      store absolute names relative instead of failing\n"
	       "      --whiteouts           the input is a prepared layer: keep its OCI\n"
	       "                            whiteouts (.wh.NAME, .wh..wh..opq) instead of\n"
	       "                            refusing them\n"
	       "      --source-date-epoch=N build time in seconds (default: $SOURCE_DATE_EPOCH)\n"
	       "      --clamp-mtime         clamp entry mtimes to the source date epoch\n"
	       "      --owner=UID[:NAME]    store every entry with this owner (and user\n"
	       "                            name; none without NAME)\n"
	       "      --group=GID[:NAME]    store every entry with this group (and name)\n"
	       "      --exclude=PATTERN     leave out entries matching PATTERN and all below\n"
	       "                            them (repeatable; as tar --exclude: matched on the\n"
	       "                            name and each tail after a '/', '*' matches '/';\n"
	       "                            a leading '/' anchors it at the layer root)\n"
	       "      --split=MAP           several layers, by MAP: NAME<TAB>PATH lines; a\n"
	       "                            path goes to the layer of the longest PATH above\n"
	       "                            it (oci-layermap(1) writes one from a package\n"
	       "                            database; see oci-layer(1))\n"
	       "      --split-rest=NAME     the last layer, of what MAP does not cover\n"
	       "                            (default: rest)\n"
	       "      --created-by=TEXT     history text for this layer\n"
	       "      --comment=TEXT        history comment for this layer\n"
	       "      --progress            show a progress line on stderr even when it is\n"
	       "                            not a terminal (default: only on a terminal)\n"
	       "      --no-progress         never show the progress line\n"
	       "      --summary             print a one-line summary at the end\n"
	       "      --print-descriptor=FILE  write the layer descriptor (JSON) to FILE\n"
	       "                            ('-' = standard error)\n"
	       "  -q, --quiet               no warnings, no progress\n"
	       "  -v, --verbose             list entries on stderr as they pass; summary\n"
	       "  -h, --help                show this help\n"
	       "  -V, --version             show version and library versions\n",
	       tool_progname);
	exit(tool_finish());
}

/* --owner/--group value: "ID" or "ID:NAME" (NAME may be empty, at most
 * 255 bytes, no newline).  *name points into arg or at "". */
static int
parse_id(char *arg, uint64_t *id, const char **name)
{
	char *colon = strchr(arg, ':');
	long long v;

	*name = "";
	if (colon != NULL) {
		*colon = 0;
		*name = colon + 1;
		if (strlen(*name) > 255 || strchr(*name, '\n') != NULL)
			return -1;
	}
	if (tool_parse_int(arg, 0, 4294967294LL, &v) < 0) {
		if (colon != NULL)
			*colon = ':';
		return -1;
	}
	*id = (uint64_t)v;
	return 0;
}

static void
parse_args(int argc, char **argv, struct layer_args *a)
{
	enum { OPT_STRIP = 256, OPT_CLAMP, OPT_OWNER, OPT_GROUP, OPT_EXCLUDE, OPT_PROGRESS,
	       OPT_NO_PROGRESS, OPT_WHITEOUTS, OPT_SPLIT, OPT_SPLIT_REST };
	static const struct option longopts[] = {
		TOOL_LAYER_LONGOPTS,
		{ "strip-absolute", no_argument, NULL, OPT_STRIP },
		{ "whiteouts", no_argument, NULL, OPT_WHITEOUTS },
		{ "clamp-mtime", no_argument, NULL, OPT_CLAMP },
		{ "progress", no_argument, NULL, OPT_PROGRESS },
		{ "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
		{ "owner", required_argument, NULL, OPT_OWNER },
		{ "group", required_argument, NULL, OPT_GROUP },
		{ "exclude", required_argument, NULL, OPT_EXCLUDE },
		{ "split", required_argument, NULL, OPT_SPLIT },
		{ "split-rest", required_argument, NULL, OPT_SPLIT_REST },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, TOOL_LAYER_SHORTOPTS "qvhV", longopts, NULL)) != -1) {
		if (tool_layer_option(&a->l, c, optarg))
			continue;
		switch (c) {
		case OPT_STRIP: a->o.strip_absolute = 1; break;
		case OPT_WHITEOUTS: a->o.whiteouts = 1; break;
		case OPT_CLAMP: a->o.clamp_mtime = 1; break;
		case OPT_PROGRESS: a->progress = 1; break;
		case OPT_SPLIT: a->split = optarg; break;
		case OPT_SPLIT_REST: a->split_rest = optarg; break;
		case OPT_NO_PROGRESS: a->progress = 0; break;
		case OPT_OWNER:
			if (parse_id(optarg, &a->o.uid, &a->o.uname) < 0)
				tool_usage_error("invalid --owner '%s' (UID or UID:NAME, UID "
						 "0-4294967294)", optarg);
			a->o.set_uid = 1;
			break;
		case OPT_GROUP:
			if (parse_id(optarg, &a->o.gid, &a->o.gname) < 0)
				tool_usage_error("invalid --group '%s' (GID or GID:NAME, GID "
						 "0-4294967294)", optarg);
			a->o.set_gid = 1;
			break;
		case OPT_EXCLUDE: {
			const char **n;
			if (*optarg == 0)
				tool_usage_error("empty --exclude pattern");
			n = realloc(a->exclude, (a->o.n_exclude + 1) * sizeof(*n));
			if (n == NULL)
				tool_die("out of memory");
			a->exclude = n;
			a->exclude[a->o.n_exclude++] = optarg;
			break;
		}
		default: tool_common_option(c, usage);
		}
	}
	if (optind < argc)
		tool_usage_error("unexpected argument '%s' (the rootfs tar is read from stdin)",
				 argv[optind]);
	tool_layer_args_done(&a->l);
	if (a->split_rest != NULL && a->split == NULL)
		tool_usage_error("--split-rest needs --split");
	if (a->split != NULL && a->o.whiteouts)
		tool_usage_error("--whiteouts with --split: a whiteout in one layer would hide "
				 "what the split put in the layers below it");
	/* the split's layers are spooled, and a spooled layer records no
	 * entries for a TOC (docs/lazy-pull.md) */
	if (a->split != NULL && (a->l.compression == OCIS_COMPRESS_ESTARGZ ||
				 a->l.compression == OCIS_COMPRESS_ZCHUNKED))
		tool_usage_error("--split with --compress=%s: split layers carry no TOC; "
				 "use gzip or zstd", ocis_compression_name(a->l.compression));
	if (a->split != NULL && a->l.descriptor_file != NULL)
		tool_usage_error("--print-descriptor writes one layer's descriptor; with --split "
				 "use --summary, or read the layer.json entries of the stream");
	if (a->o.clamp_mtime && !a->l.have_epoch)
		tool_usage_error("--clamp-mtime needs --source-date-epoch or SOURCE_DATE_EPOCH");
	TOOL_LAYER_ARGS_APPLY(&a->l, &a->o);
	a->o.clamp_epoch = a->l.epoch;
	a->o.exclude = a->exclude;
}

static void
on_progress(void *ctx, const struct ocis_layer_progress *p)
{
	char in[16], tar[16], out[16], rate[16];
	double t = tool_elapsed();

	(void)ctx;
	tool_progress(0, "%s read, %s tar, %s written (%.1f %%), %llu entries, %s/s",
		      tool_bytes(p->input_bytes, in), tool_bytes(p->tar_bytes, tar),
		      tool_bytes(p->output_bytes, out),
		      p->tar_bytes ? 100.0 * (double)p->output_bytes / (double)p->tar_bytes : 0.0,
		      (unsigned long long)p->entries,
		      tool_bytes(t > 0 ? (uint64_t)((double)p->tar_bytes / t) : 0, rate));
}

/* --split: a line per layer for --summary and -v. */
static void
on_split_layer(void *ctx, const char *name, const struct ocis_layer_desc *d)
{
	const struct layer_args *a = ctx;
	char size[16], usize[16];

	if (!a->l.summary && tool_verbosity < 2)
		return;
	tool_progress_clear();
	fprintf(stderr, "%s: layer %s: %s %s (%s uncompressed)\n", tool_progname, name,
		d->digest, tool_bytes(d->size, size), tool_bytes(d->uncompressed_size, usize));
}

int
main(int argc, char **argv)
{
	struct layer_args args;
	struct ocis_stream_writer *w = NULL;
	struct ocis_layer_desc desc;
	struct ocis_layer_stats stats;
	struct ocis_splitmap map;
	ocis_error_t *err = NULL;

	/* Names are bytes (locale.h). */
	ocis_locale_init();
	tool_init("oci-layer");
	memset(&args, 0, sizeof(args));
	tool_layer_args_init(&args.l);
	args.progress = -1;
	parse_args(argc, argv, &args);
	tool_progress_init(args.progress);

	if (isatty(STDIN_FILENO))
		tool_die("refusing to read a tar stream from a terminal (pipe a rootfs tar in)");
	if (isatty(STDOUT_FILENO))
		tool_die("refusing to write an image stream to a terminal (pipe it to oci-pack)");

	args.o.warn = tool_on_warn;
	args.o.on_entry = tool_on_entry;
	if (tool_progress_enabled())
		args.o.progress = on_progress;

	if (args.split != NULL) {
		if (ocis_splitmap_load(&map, args.split, args.split_rest ? args.split_rest : "rest",
				       &err) < 0)
			tool_die_error(err);
		args.o.split = &map;
		args.o.on_split_layer = on_split_layer;
		args.o.cb_ctx = &args;
	}

	if (ocis_stream_writer_new(&w, STDOUT_FILENO, &err) < 0)
		tool_die_error(err);
	tool_set_error_stream(w);
	if (ocis_layer_build(STDIN_FILENO, w, &args.o, &desc, &stats, &err) < 0)
		tool_die_error(err);
	if (ocis_stream_finish(w, &err) < 0)
		tool_die_error(err);
	tool_progress_clear();
	if (args.split == NULL && (args.l.summary || tool_verbosity >= 2)) {
		char size[16], usize[16], cache[128];
		double t = tool_elapsed();
		fprintf(stderr, "%s: %s %s %s (%.1f %% of %s), %llu entries%s, %.2f s\n",
			tool_progname, desc.digest, tool_bytes(desc.size, size),
			ocis_compression_name(args.l.compression),
			desc.uncompressed_size ? 100.0 * (double)desc.size /
						 (double)desc.uncompressed_size : 0.0,
			tool_bytes(desc.uncompressed_size, usize),
			(unsigned long long)stats.entries,
			tool_cache_summary(stats.cache_used, &stats.cache, cache, sizeof(cache)), t);
	}
	if (args.split != NULL && stats.cache_used && (args.l.summary || tool_verbosity >= 2)) {
		char cache[128];
		/* the split layers share one cache: one line for all */
		fprintf(stderr, "%s: split layers%s\n", tool_progname,
			tool_cache_summary(1, &stats.cache, cache, sizeof(cache)));
	}
	tool_layer_print_descriptor(&args.l, &desc);
	ocis_layer_desc_release(&desc);
	ocis_stream_writer_free(w);
	if (args.split != NULL)
		ocis_splitmap_release(&map);
	free(args.exclude);
	return tool_finish();
}
