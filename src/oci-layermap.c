/* SPDX-License-Identifier: MIT */
/*
 * oci-layermap: the package database of a rootfs directory -> a split map
 * for oci-layer --split on stdout.  Thin front end over
 * ocis_layermap_build (src/lib/layermap.c).
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ocistream/io.h>
#include <ocistream/layermap.h>
#include <ocistream/locale.h>
#include <ocistream/splitmap.h>

#include "tool.h"

struct layermap_args {
	const char *rootfs;	/* ROOTFS */
	const char *pkgdata;	/* --pkgdata=DIR */
	const char *rest;	/* --split-rest=NAME */
	long long max_layers;	/* --max-layers=N */
	int summary;		/* --summary */
};

static void
usage(void)
{
	printf("usage: %s [options] ROOTFS > map\n"
	       "\n"
	       "Write a split map for oci-layer --split from the package database of the\n"
	       "rootfs directory ROOTFS (dpkg: var/lib/dpkg/info/*.list; opkg:\n"
	       "var/lib/opkg/info/*.list, usr/lib/opkg/info/*.list; Yocto pkgdata with\n"
	       "--pkgdata): the biggest packages get layers of their own, the others go\n"
	       "to groups fixed by their names (see oci-layermap(1)).\n"
	       "\n"
	       "  -n, --max-layers=N        layers at most, the rest layer included\n"
	       "                            (2-127, default 50)\n"
	       "      --pkgdata=DIR         Yocto PKGDATA_DIR: the file lists of\n"
	       "                            DIR/runtime/* (FILES_INFO) too\n"
	       "      --split-rest=NAME     the name oci-layer --split-rest gets (default:\n"
	       "                            rest): no package layer is named so\n"
	       "      --summary             print a one-line summary at the end\n"
	       "  -q, --quiet               no warnings\n"
	       "  -v, --verbose             summary\n"
	       "  -h, --help                show this help\n"
	       "  -V, --version             show version and library versions\n",
	       tool_progname);
	exit(tool_finish());
}

static void
parse_args(int argc, char **argv, struct layermap_args *a)
{
	enum { OPT_PKGDATA = 256, OPT_REST, OPT_SUMMARY };
	static const struct option longopts[] = {
		{ "max-layers", required_argument, NULL, 'n' },
		{ "pkgdata", required_argument, NULL, OPT_PKGDATA },
		{ "split-rest", required_argument, NULL, OPT_REST },
		{ "summary", no_argument, NULL, OPT_SUMMARY },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "n:qvhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (tool_parse_int(optarg, 2, OCIS_SPLITMAP_LAYERS_MAX, &a->max_layers) < 0)
				tool_usage_error("invalid --max-layers '%s' (2-%d)", optarg,
						 OCIS_SPLITMAP_LAYERS_MAX);
			break;
		case OPT_PKGDATA: a->pkgdata = optarg; break;
		case OPT_REST: a->rest = optarg; break;
		case OPT_SUMMARY: a->summary = 1; break;
		default: tool_common_option(c, usage);
		}
	}
	if (optind >= argc)
		tool_usage_error("no ROOTFS directory given");
	a->rootfs = argv[optind++];
	if (optind < argc)
		tool_usage_error("unexpected argument '%s' (one ROOTFS)", argv[optind]);
}

int
main(int argc, char **argv)
{
	struct layermap_args args;
	struct ocis_layermap_opts o;
	struct ocis_layermap_stats st;
	struct ocis_buf map = OCIS_BUF_INIT;
	ocis_error_t *err = NULL;

	/* Names are bytes (locale.h). */
	ocis_locale_init();
	tool_init("oci-layermap");
	memset(&args, 0, sizeof(args));
	args.max_layers = OCIS_LAYERMAP_DEFAULT_LAYERS;
	args.rest = "rest";
	parse_args(argc, argv, &args);

	memset(&o, 0, sizeof(o));
	o.max_layers = (int)args.max_layers;
	o.pkgdata = args.pkgdata;
	o.rest = args.rest;
	o.warn = tool_on_warn;
	if (ocis_layermap_build(args.rootfs, &o, &map, &st, &err) < 0)
		tool_die_error(err);
	if (ocis_write_full(STDOUT_FILENO, map.data, map.len, &err) < 0)
		tool_die_error(err);
	if (args.summary || tool_verbosity >= 2)
		fprintf(stderr, "%s: %llu packages, %llu paths (%llu left out), %llu layers "
			"and the rest, %llu lines\n", tool_progname,
			(unsigned long long)st.packages, (unsigned long long)st.paths,
			(unsigned long long)st.missing, (unsigned long long)st.layers,
			(unsigned long long)st.lines);
	ocis_buf_release(&map);
	return tool_finish();
}
