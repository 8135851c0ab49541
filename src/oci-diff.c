/* SPDX-License-Identifier: MIT */
/*
 * oci-diff: the lower rootfs (a tar file) and the upper rootfs (a tar
 * stream on stdin) -> one layer with what changed, in the image stream on
 * stdout.  Thin front end over ocis_diff_build (src/lib/diff.c).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ocistream/config.h>
#include <ocistream/diff.h>
#include <ocistream/stream.h>

#include "tool.h"

#define CHECKSUM_MAX_DEFAULT (64ULL * 1024 * 1024)

struct diff_args {
	const char *lower;			/* --lower FILE */
	enum ocis_compression compression;	/* --compress, --gzip, --zstd */
	int level;				/* --level, -1 = default */
	int threads;				/* --threads, 0 = all CPUs */
	int have_epoch;				/* --source-date-epoch or env */
	int64_t epoch;
	const char *created_by;			/* --created-by */
	const char *comment;			/* --comment */
	int checksum;				/* --checksum */
	uint64_t checksum_max;			/* --checksum-max */
	int summary;				/* --summary (or -v) */
	const char *descriptor_file;		/* --print-descriptor=FILE */
};

static void
usage(void)
{
	printf("usage: %s --lower=LOWER.tar [options] < upper.tar > image-stream\n"
	       "\n"
	       "Compare the upper rootfs tar stream on standard input with the lower\n"
	       "rootfs tar LOWER.tar and write one OCI layer into the image stream that\n"
	       "holds only what changed: new and modified entries, whiteouts for what was\n"
	       "removed.  The lower layer plus this layer is the upper tree.\n"
	       "\n"
	       "  -L, --lower=FILE          the lower rootfs tar (any tar libarchive reads,\n"
	       "                            compressed or not; a named pipe works unless a\n"
	       "                            new hardlink to an unchanged file needs it twice)\n"
	       "      --checksum            also compare the content of files whose\n"
	       "                            metadata match (default: size and mtime decide)\n"
	       "      --checksum-max=BYTES  largest file --checksum holds in memory\n"
	       "                            (default 64 MiB; larger ones are an error)\n"
	       "  -c, --compress=ALG        gzip (default), zstd or none\n"
	       "      --gzip, --zstd        short for --compress=gzip / zstd\n"
	       "  -l, --level=N             compression level (gzip 1-12, default 6;\n"
	       "                            zstd 1-19, default 3)\n"
	       "  -T, --threads=N           compression threads (default: all CPUs)\n"
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
	enum { OPT_GZIP = 256, OPT_ZSTD, OPT_EPOCH, OPT_CREATED_BY, OPT_COMMENT, OPT_SUMMARY,
	       OPT_DESCRIPTOR, OPT_CHECKSUM, OPT_CHECKSUM_MAX };
	static const struct option longopts[] = {
		{ "lower", required_argument, NULL, 'L' },
		{ "checksum", no_argument, NULL, OPT_CHECKSUM },
		{ "checksum-max", required_argument, NULL, OPT_CHECKSUM_MAX },
		{ "compress", required_argument, NULL, 'c' },
		{ "gzip", no_argument, NULL, OPT_GZIP },
		{ "zstd", no_argument, NULL, OPT_ZSTD },
		{ "level", required_argument, NULL, 'l' },
		{ "threads", required_argument, NULL, 'T' },
		{ "source-date-epoch", required_argument, NULL, OPT_EPOCH },
		{ "created-by", required_argument, NULL, OPT_CREATED_BY },
		{ "comment", required_argument, NULL, OPT_COMMENT },
		{ "summary", no_argument, NULL, OPT_SUMMARY },
		{ "print-descriptor", required_argument, NULL, OPT_DESCRIPTOR },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	long long v;
	int c;

	while ((c = getopt_long(argc, argv, "L:c:l:T:qvhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'L':
			if (*optarg == 0)
				tool_usage_error("empty --lower");
			a->lower = optarg;
			break;
		case OPT_CHECKSUM: a->checksum = 1; break;
		case OPT_CHECKSUM_MAX:
			if (tool_parse_int(optarg, 0, 1LL << 40, &v) < 0)
				tool_usage_error("invalid --checksum-max '%s' (bytes, 0-2^40)", optarg);
			a->checksum_max = (uint64_t)v;
			break;
		case 'c':
			if (ocis_compression_from_name(optarg, &a->compression) < 0)
				tool_usage_error("unknown compression '%s' (gzip, zstd or none)",
						 optarg);
			break;
		case OPT_GZIP: a->compression = OCIS_COMPRESS_GZIP; break;
		case OPT_ZSTD: a->compression = OCIS_COMPRESS_ZSTD; break;
		case 'l':
			if (tool_parse_int(optarg, 0, 22, &v) < 0)
				tool_usage_error("invalid level '%s'", optarg);
			a->level = (int)v;
			break;
		case 'T':
			if (tool_parse_int(optarg, 0, 256, &v) < 0)
				tool_usage_error("invalid thread count '%s' (0-256)", optarg);
			a->threads = (int)v;
			break;
		case OPT_EPOCH:
			a->epoch = tool_epoch_arg(optarg);
			a->have_epoch = 1;
			break;
		case OPT_CREATED_BY: a->created_by = optarg; break;
		case OPT_COMMENT: a->comment = optarg; break;
		case OPT_SUMMARY: a->summary = 1; break;
		case OPT_DESCRIPTOR: a->descriptor_file = optarg; break;
		case 'q': tool_verbosity = 0; break;
		case 'v': tool_verbosity++; break;
		case 'h': usage(); break;
		case 'V': tool_version(); break;
		default: tool_usage_error("invalid option");
		}
	}
	if (optind < argc)
		tool_usage_error("unexpected argument '%s' (the upper tar is read from stdin, "
				 "the lower given with --lower)", argv[optind]);
	if (a->lower == NULL)
		tool_usage_error("--lower FILE is required (the lower rootfs tar)");
	if (a->level < 0)
		a->level = ocis_compression_default_level(a->compression);
	else if (!ocis_compression_level_valid(a->compression, a->level))
		tool_usage_error("level %d is out of range for %s", a->level,
				 ocis_compression_name(a->compression));
	if (!a->have_epoch)
		a->have_epoch = tool_env_epoch(&a->epoch);
}

static void
on_warn(void *ctx, const char *msg)
{
	(void)ctx;
	tool_warn("%s", msg);
}

static void
on_entry(void *ctx, const char *name)
{
	(void)ctx;
	if (tool_verbosity >= 2)
		fprintf(stderr, "%s\n", name);
}

int
main(int argc, char **argv)
{
	struct diff_args args;
	struct ocis_diff_opts o;
	struct ocis_stream_writer *w = NULL;
	struct ocis_layer_desc desc;
	struct ocis_diff_stats st;
	ocis_error_t *err = NULL;
	char created[32];
	int lfd;

	/* Names are bytes (see oci-layer). */
	if (setlocale(LC_CTYPE, "C.UTF-8") == NULL)
		setlocale(LC_CTYPE, "");
	tool_init("oci-diff");
	memset(&args, 0, sizeof(args));
	args.compression = OCIS_COMPRESS_GZIP;
	args.level = -1;
	args.checksum_max = CHECKSUM_MAX_DEFAULT;
	parse_args(argc, argv, &args);

	if (isatty(STDIN_FILENO))
		tool_die("refusing to read a tar stream from a terminal (pipe the upper rootfs "
			 "tar in)");
	if (isatty(STDOUT_FILENO))
		tool_die("refusing to write an image stream to a terminal (pipe it to oci-pack)");
	lfd = open(args.lower, O_RDONLY | O_CLOEXEC);
	if (lfd < 0)
		tool_die("cannot open '%s': %s", args.lower, strerror(errno));

	memset(&o, 0, sizeof(o));
	o.compression = args.compression;
	o.level = args.level;
	o.threads = args.threads;
	o.checksum = args.checksum;
	o.checksum_max = args.checksum_max;
	if (args.have_epoch && ocis_rfc3339(args.epoch, created) == 0)
		o.created = created;
	o.created_by = args.created_by;
	o.comment = args.comment;
	o.warn = on_warn;
	o.on_entry = on_entry;

	if (ocis_stream_writer_new(&w, STDOUT_FILENO, &err) < 0)
		tool_die_error(err);
	tool_set_error_stream(w);
	if (ocis_diff_build(lfd, args.lower, STDIN_FILENO, w, &o, &desc, &st, &err) < 0)
		tool_die_error(err);
	if (ocis_stream_finish(w, &err) < 0)
		tool_die_error(err);
	close(lfd);
	if (args.summary || tool_verbosity >= 2) {
		char size[16];
		fprintf(stderr, "%s: %s %s %s, %llu lower and %llu upper entries, %llu "
			"written (%llu whiteouts), %llu unchanged%s, %.2f s\n", tool_progname,
			desc.digest, tool_bytes(desc.size, size),
			ocis_compression_name(args.compression),
			(unsigned long long)st.lower_entries, (unsigned long long)st.upper_entries,
			(unsigned long long)st.written, (unsigned long long)st.whiteouts,
			(unsigned long long)st.unchanged,
			st.lower_reread ? ", lower read twice" : "", tool_elapsed());
	}
	if (args.descriptor_file) {
		struct ocis_buf json = OCIS_BUF_INIT;
		if (ocis_layer_desc_to_json(&desc, &json, &err) < 0)
			tool_die_error(err);
		tool_write_text_file(args.descriptor_file, (const char *)json.data);
		ocis_buf_release(&json);
	}
	ocis_layer_desc_release(&desc);
	ocis_stream_writer_free(w);
	return tool_finish();
}
