/* SPDX-License-Identifier: MIT */
/*
 * oci-flatten: an image (image stream or OCI image tarball, in a file) ->
 * the merged rootfs tar on stdout.  Thin front end over ocis_flatten
 * (src/lib/flatten.c).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ocistream/flatten.h>
#include <ocistream/locale.h>

#include "tool.h"

struct flatten_args {
	const char *input;	/* FILE or -i FILE; NULL = stdin */
	struct tool_image_args im;	/* --ref, --arch, --variant, --os */
	int summary;		/* --summary */
};

static void
usage(void)
{
	printf("usage: %s [options] [IMAGE] > rootfs.tar\n"
	       "\n"
	       "Merge the layers of an image into one rootfs tar on standard output:\n"
	       "whiteouts applied, the last layer wins.  IMAGE is an OCI image tarball\n"
	       "(oci-pack, skopeo oci-archive:) or an image stream saved to a file; it is\n"
	       "read more than once, so it must be a file (standard input too, when no\n"
	       "IMAGE is given: '< image.tar', not a pipe).\n"
	       "\n"
	       "  -i, --input=FILE          the image (same as the IMAGE argument)\n"
	       "  -t, --ref=TAG             image of a tarball with several tags\n"
	       "                            (org.opencontainers.image.ref.name)\n"
	       "  -a, --arch=ARCH           image of this architecture (x86_64, aarch64,\n"
	       "                            amd64, arm64, ...)\n"
	       "      --variant=VARIANT     image of this architecture variant (v7, v8)\n"
	       "      --os=OS               image of this operating system (linux)\n"
	       "      --summary             print a one-line summary at the end\n"
	       "  -q, --quiet               no warnings\n"
	       "  -v, --verbose             list entries on stderr as they are written\n"
	       "  -h, --help                show this help\n"
	       "  -V, --version             show version and library versions\n",
	       tool_progname);
	exit(tool_finish());
}

static void
parse_args(int argc, char **argv, struct flatten_args *a)
{
	enum { OPT_SUMMARY = 256 };
	static const struct option longopts[] = {
		{ "input", required_argument, NULL, 'i' },
		TOOL_IMAGE_LONGOPTS,
		{ "summary", no_argument, NULL, OPT_SUMMARY },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "i:" TOOL_IMAGE_SHORTOPTS "qvhV", longopts,
				NULL)) != -1) {
		if (tool_image_option(&a->im, c, optarg))
			continue;
		switch (c) {
		case 'i': a->input = optarg; break;
		case OPT_SUMMARY: a->summary = 1; break;
		default: tool_common_option(c, usage);
		}
	}
	if (optind < argc) {
		if (a->input != NULL)
			tool_usage_error("the image is given twice ('%s' and '%s')", a->input,
					 argv[optind]);
		a->input = argv[optind++];
	}
	if (optind < argc)
		tool_usage_error("unexpected argument '%s' (one image at a time)", argv[optind]);
}

int
main(int argc, char **argv)
{
	struct flatten_args args;
	struct ocis_flatten_opts o;
	struct ocis_flatten_stats st;
	ocis_error_t *err = NULL;
	int fd = STDIN_FILENO;

	/* Names are bytes (locale.h). */
	ocis_locale_init();
	tool_init("oci-flatten");
	memset(&args, 0, sizeof(args));
	parse_args(argc, argv, &args);

	if (args.input != NULL && strcmp(args.input, "-") != 0) {
		fd = open(args.input, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			tool_die("cannot open '%s': %s", args.input, strerror(errno));
	} else if (isatty(STDIN_FILENO)) {
		tool_die("refusing to read an image from a terminal (give IMAGE or redirect "
			 "a file)");
	}
	if (isatty(STDOUT_FILENO))
		tool_die("refusing to write a tar to a terminal (redirect it or pipe it to tar)");

	memset(&o, 0, sizeof(o));
	o.ref = args.im.ref;
	o.arch = args.im.arch;
	o.os = args.im.os;
	o.variant = args.im.variant;
	o.warn = tool_on_warn;
	o.on_entry = tool_on_entry;
	if (ocis_flatten(fd, STDOUT_FILENO, &o, &st, &err) < 0)
		tool_die_error(err);
	if (args.summary || tool_verbosity >= 2) {
		char out[16];
		fprintf(stderr, "%s: %llu layers, %llu entries read, %llu written (%s), "
			"%llu paths, %llu name lookups, %.2f s\n", tool_progname,
			(unsigned long long)st.layers, (unsigned long long)st.entries_in,
			(unsigned long long)st.entries_out, tool_bytes(st.bytes_out, out),
			(unsigned long long)st.paths, (unsigned long long)st.lookups, tool_elapsed());
	}
	if (fd != STDIN_FILENO)
		close(fd);
	return tool_finish();
}
