/* SPDX-License-Identifier: MIT */
/*
 * oci-config: an image stream on stdin -> the same stream plus an image
 * config on stdout.
 *
 * A filter: every entry passes through unchanged, except a config already
 * in the open image (the entries since the last manifest), which becomes the
 * base and is replaced by the new config written at the end of the input.
 * Options are checked (and --from read) before anything is written, so a bad
 * value gives one error and no output.  Each flag has an environment form
 * (OCI_IMAGE_*, the names of the Yocto image-oci class); a flag given at
 * least once wins over its environment variable.  The model, every check and
 * the stage itself live in the library (src/lib/configstage.c); this file
 * only gathers values.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ocistream/configstage.h>
#include <ocistream/filter.h>
#include <ocistream/imageconfig.h>
#include <ocistream/io.h>
#include <ocistream/rfc3339.h>
#include <ocistream/shellsplit.h>
#include <ocistream/stream.h>
#include <ocistream/strv.h>

#include "tool.h"

struct config_args {
	/* the library's options, filled from flags, then the environment:
	 * --entrypoint, OCI_IMAGE_ENTRYPOINT; --cmd, OCI_IMAGE_CMD,
	 * OCI_IMAGE_ENTRYPOINT_ARGS; --env, OCI_IMAGE_ENV_VARS; --label,
	 * OCI_IMAGE_LABELS; --port, OCI_IMAGE_PORTS; --volume,
	 * OCI_IMAGE_VOLUMES; --arch, OCI_IMAGE_ARCH; --variant,
	 * OCI_IMAGE_SUBARCH; --os, OCI_IMAGE_OS; --user,
	 * OCI_IMAGE_RUNTIME_UID; --workdir, OCI_IMAGE_WORKINGDIR;
	 * --stop-signal, OCI_IMAGE_STOPSIGNAL; --created */
	struct ocis_config_opts o;
	const char *author;		/* --author, OCI_IMAGE_AUTHOR */
	const char *author_email;	/* --author-email, OCI_IMAGE_AUTHOR_EMAIL */
	char *author_full;		/* "Name <email>" built from the two above */
	int have_epoch;			/* --source-date-epoch or SOURCE_DATE_EPOCH */
	const char *from;		/* --from FILE: base config JSON */
	const char *base_ref;		/* --base-ref TAG: image of a base archive */
	char *history;			/* created_by of the metadata history entry */
};

static void
usage(void)
{
	printf("usage: %s [options] < image-stream > image-stream\n"
	       "\n"
	       "Add an OCI image config to the open image of the stream (the layers since\n"
	       "the last manifest).  A config already in the open image, or --from FILE,\n"
	       "is the base: its fields are kept unless an option changes them.\n"
	       "Environment variables are read when the flag is not given.\n"
	       "\n"
	       "      --entrypoint=ARG      append ARG to Entrypoint (repeatable; a single\n"
	       "                            empty value clears it)     OCI_IMAGE_ENTRYPOINT\n"
	       "      --cmd=ARG             append ARG to Cmd (repeatable; likewise)\n"
	       "                            OCI_IMAGE_CMD, OCI_IMAGE_ENTRYPOINT_ARGS\n"
	       "  -e, --env=NAME=VALUE      set an environment variable (repeatable)\n"
	       "                                                       OCI_IMAGE_ENV_VARS\n"
	       "  -l, --label=KEY=VALUE     set a label (repeatable)   OCI_IMAGE_LABELS\n"
	       "  -p, --port=PORT[/PROTO]   expose a port: 80, 80/tcp, 53/udp, 8000-8010/tcp\n"
	       "                            (repeatable)               OCI_IMAGE_PORTS\n"
	       "      --volume=PATH         declare a volume (repeatable) OCI_IMAGE_VOLUMES\n"
	       "  -a, --arch=ARCH           architecture: x86_64, aarch64, armv7, i686, ...\n"
	       "                            or amd64, arm64, arm, 386, ... OCI_IMAGE_ARCH\n"
	       "      --variant=VARIANT     architecture variant (v7, v8) OCI_IMAGE_SUBARCH\n"
	       "      --os=OS               operating system (default linux) OCI_IMAGE_OS\n"
	       "  -u, --user=USER           user[:group] to run as      OCI_IMAGE_RUNTIME_UID\n"
	       "  -w, --workdir=DIR         working directory           OCI_IMAGE_WORKINGDIR\n"
	       "      --stop-signal=SIG     stop signal (SIGTERM, 15)   OCI_IMAGE_STOPSIGNAL\n"
	       "      --author=NAME         author                      OCI_IMAGE_AUTHOR\n"
	       "      --author-email=EMAIL  author e-mail ('NAME <EMAIL>') OCI_IMAGE_AUTHOR_EMAIL\n"
	       "      --created=TIME        creation time, RFC 3339 (default: the source date\n"
	       "                            epoch, else now)\n"
	       "      --source-date-epoch=N build time in seconds (default: $SOURCE_DATE_EPOCH)\n"
	       "      --from=FILE           start from this config JSON\n"
	       "      --base-ref=TAG        the image to build on when a base image archive\n"
	       "                            in the stream holds several (also chosen by\n"
	       "                            --arch/--os/--variant)\n"
	       "  -q, --quiet               no warnings\n"
	       "  -v, --verbose             more messages\n"
	       "  -h, --help                show this help\n"
	       "  -V, --version             show version and library versions\n"
	       "\n"
	       "Environment lists are split like a shell would split them (quotes respected).\n",
	       tool_progname);
	exit(tool_finish());
}

/* The environment form of a list or argv: split when the flag was not
 * given.  A value without a word counts as unset, as an empty one does:
 * bitbake exports the class's empty defaults, and OCI_IMAGE_ENTRYPOINT=""
 * must leave a base image's entrypoint alone, not clear it ("--entrypoint
 * ''" clears).  Returns 1 when the variable gave words. */
static int
env_split(const char *name, struct ocis_strv *dst)
{
	const char *v = getenv(name);
	struct ocis_strv words = { NULL, 0, 0 };
	ocis_error_t *err = NULL;

	if (dst->set || v == NULL)
		return 0;
	if (ocis_shell_split(v, &words, &err) < 0)
		tool_usage_error("invalid %s \"%s\": %s", name, v, err->msg);
	if (words.n == 0) {
		ocis_strv_clear(&words);
		return 0;
	}
	ocis_strv_clear(dst);
	*dst = words;
	return 1;
}

/* The environment form of a single value; empty counts as unset. */
static void
env_str(const char *name, const char **dst)
{
	const char *v = getenv(name);

	if (*dst == NULL && v != NULL && *v != 0)
		*dst = v;
}

/* "--entrypoint ''" alone (or an empty environment value) clears. */
static void
argv_clear_if_empty(struct ocis_strv *s)
{
	if (s->set && s->n == 1 && s->v[0][0] == 0) {
		ocis_strv_clear(s);
		s->set = 1;
	}
}

/* Append " arg", quoted for a POSIX shell when it needs it. */
static int
add_quoted(struct ocis_buf *b, const char *arg, ocis_error_t **err)
{
	static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				   "0123456789_./:=,@%+-";
	const char *p;

	if (*arg != 0 && arg[strspn(arg, safe)] == 0)
		return ocis_buf_addf(b, err, " %s", arg);
	if (ocis_buf_addstr(b, " '", err) < 0)
		return -1;
	for (p = arg; *p; p++)
		if ((*p == '\'' ? ocis_buf_addstr(b, "'\\''", err)
				: ocis_buf_add(b, p, 1, err)) < 0)
			return -1;
	return ocis_buf_addstr(b, "'", err);
}

static void
parse_args(int argc, char **argv, struct config_args *a)
{
	enum { OPT_ENTRYPOINT = 256, OPT_CMD, OPT_VOLUME, OPT_VARIANT, OPT_OS, OPT_STOP,
	       OPT_AUTHOR, OPT_EMAIL, OPT_CREATED, OPT_EPOCH, OPT_FROM, OPT_BASE_REF };
	static const struct option longopts[] = {
		{ "entrypoint", required_argument, NULL, OPT_ENTRYPOINT },
		{ "cmd", required_argument, NULL, OPT_CMD },
		{ "env", required_argument, NULL, 'e' },
		{ "label", required_argument, NULL, 'l' },
		{ "port", required_argument, NULL, 'p' },
		{ "volume", required_argument, NULL, OPT_VOLUME },
		{ "arch", required_argument, NULL, 'a' },
		{ "variant", required_argument, NULL, OPT_VARIANT },
		{ "os", required_argument, NULL, OPT_OS },
		{ "user", required_argument, NULL, 'u' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "stop-signal", required_argument, NULL, OPT_STOP },
		{ "author", required_argument, NULL, OPT_AUTHOR },
		{ "author-email", required_argument, NULL, OPT_EMAIL },
		{ "created", required_argument, NULL, OPT_CREATED },
		{ "source-date-epoch", required_argument, NULL, OPT_EPOCH },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "base-ref", required_argument, NULL, OPT_BASE_REF },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct ocis_buf hist = OCIS_BUF_INIT;
	ocis_error_t *err = NULL;
	int c, i;

	while ((c = getopt_long(argc, argv, "e:l:p:a:u:w:qvhV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_ENTRYPOINT: tool_strv_push(&a->o.entrypoint, optarg); break;
		case OPT_CMD: tool_strv_push(&a->o.cmd, optarg); break;
		case 'e': tool_strv_push(&a->o.env, optarg); break;
		case 'l': tool_strv_push(&a->o.labels, optarg); break;
		case 'p': tool_strv_push(&a->o.ports, optarg); break;
		case OPT_VOLUME: tool_strv_push(&a->o.volumes, optarg); break;
		case 'a': a->o.arch = optarg; break;
		case OPT_VARIANT: a->o.variant = optarg; break;
		case OPT_OS: a->o.os = optarg; break;
		case 'u': a->o.user = optarg; break;
		case 'w': a->o.workdir = optarg; break;
		case OPT_STOP: a->o.stop_signal = optarg; break;
		case OPT_AUTHOR: a->author = optarg; break;
		case OPT_EMAIL: a->author_email = optarg; break;
		case OPT_CREATED:
			if (!ocis_rfc3339_valid(optarg))
				tool_usage_error("invalid --created '%s': expected an RFC 3339 "
						 "time such as 2024-01-31T12:00:00Z", optarg);
			a->o.created = optarg;
			break;
		case OPT_EPOCH:
			a->o.epoch = tool_epoch_arg(optarg);
			a->have_epoch = 1;
			break;
		case OPT_FROM: a->from = optarg; break;
		case OPT_BASE_REF: a->base_ref = optarg; break;
		default: tool_common_option(c, usage);
		}
	}
	if (optind < argc)
		tool_usage_error("unexpected argument '%s' (the image stream is read from stdin)",
				 argv[optind]);

	/* The metadata history entry records the command line, as umoci does. */
	if (ocis_buf_addstr(&hist, "oci-config", &err) < 0)
		tool_die_error(err);
	for (i = 1; i < argc; i++)
		if (add_quoted(&hist, argv[i], &err) < 0)
			tool_die_error(err);
	a->history = ocis_buf_detach(&hist, NULL);

	/* Environment forms, for what no flag gave. */
	env_split("OCI_IMAGE_ENTRYPOINT", &a->o.entrypoint);
	/* As the image-oci class: OCI_IMAGE_ENTRYPOINT_ARGS, when not empty,
	 * is the Cmd, OCI_IMAGE_CMD the fallback; an empty one (bitbake
	 * exports empty defaults) counts as unset. */
	if (!env_split("OCI_IMAGE_ENTRYPOINT_ARGS", &a->o.cmd))
		env_split("OCI_IMAGE_CMD", &a->o.cmd);
	env_split("OCI_IMAGE_ENV_VARS", &a->o.env);
	env_split("OCI_IMAGE_LABELS", &a->o.labels);
	env_split("OCI_IMAGE_PORTS", &a->o.ports);
	env_split("OCI_IMAGE_VOLUMES", &a->o.volumes);
	env_str("OCI_IMAGE_ARCH", &a->o.arch);
	env_str("OCI_IMAGE_SUBARCH", &a->o.variant);
	env_str("OCI_IMAGE_OS", &a->o.os);
	env_str("OCI_IMAGE_RUNTIME_UID", &a->o.user);
	env_str("OCI_IMAGE_WORKINGDIR", &a->o.workdir);
	env_str("OCI_IMAGE_STOPSIGNAL", &a->o.stop_signal);
	if (a->author == NULL && a->author_email == NULL) {
		env_str("OCI_IMAGE_AUTHOR", &a->author);
		env_str("OCI_IMAGE_AUTHOR_EMAIL", &a->author_email);
	}
	argv_clear_if_empty(&a->o.entrypoint);
	argv_clear_if_empty(&a->o.cmd);

	if (a->author && *a->author && a->author_email && *a->author_email) {
		if (asprintf(&a->author_full, "%s <%s>", a->author, a->author_email) < 0)
			tool_die("out of memory");
	} else if (a->author_email && *a->author_email) {
		a->author_full = strdup(a->author_email);
	} else if (a->author) {
		a->author_full = strdup(a->author);
	}
	a->o.author = a->author_full;
	a->o.history = a->history;
	/* created: --created, else the source date epoch, else now */
	if (!a->have_epoch && !tool_env_epoch(&a->o.epoch))
		a->o.epoch = (int64_t)time(NULL);
}

static void
release_args(struct config_args *a)
{
	ocis_config_opts_release(&a->o);
	free(a->author_full);
	free(a->history);
}
/* Read a whole (small) file. */
static int
read_file(const char *path, struct ocis_buf *out, ocis_error_t **err)
{
	char buf[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return ocis_error_set(err, errno, "cannot open '%s'", path);
	out->cap_limit = OCIS_META_MAX;
	while ((n = ocis_read_full(fd, buf, sizeof(buf), err)) > 0)
		if (ocis_buf_add(out, buf, (size_t)n, err) < 0)
			break;
	close(fd);
	if (n != 0)
		return ocis_error_wrap(err, "reading '%s'", path);
	return 0;
}

int
main(int argc, char **argv)
{
	struct config_args args;
	struct ocis_config c, probe;
	struct ocis_stream_reader *r = NULL;
	struct ocis_stream_writer *w = NULL;
	struct ocis_open_image im;
	struct ocis_buf from = OCIS_BUF_INIT, out = OCIS_BUF_INIT;
	ocis_error_t *err = NULL;

	memset(&args, 0, sizeof(args));
	ocis_open_image_init(&im);
	tool_init("oci-config");
	parse_args(argc, argv, &args);

	/* Check every value and the --from file before writing anything. */
	ocis_config_init(&probe);
	if (args.from != NULL) {
		if (read_file(args.from, &from, &err) < 0)
			tool_die_error(err);
		if (ocis_config_from_json(&probe, (const char *)from.data, from.len, &err) < 0) {
			ocis_error_wrap(&err, "--from '%s'", args.from);
			tool_die_error(err);
		}
	}
	if (ocis_config_apply(&probe, &args.o, &err) < 0)
		tool_usage_error("%s", err->msg);
	ocis_config_release(&probe);

	if (isatty(STDIN_FILENO))
		tool_die("refusing to read an image stream from a terminal (pipe oci-layer in)");
	if (ocis_stream_reader_new(&r, STDIN_FILENO, 0, &err) < 0 ||
	    ocis_stream_writer_new(&w, STDOUT_FILENO, &err) < 0)
		tool_die_error(err);
	tool_set_error_stream(w);
	if (tool_set_base(r, args.base_ref, args.o.arch ? args.o.arch : getenv("OCI_IMAGE_ARCH"),
			  args.o.os ? args.o.os : getenv("OCI_IMAGE_OS"),
			  args.o.variant ? args.o.variant : getenv("OCI_IMAGE_SUBARCH"), &err) < 0)
		tool_die_error(err);

	if (ocis_filter_pass(r, w, &im, &err) < 0) {
		if (im.upstream_failed)
			tool_set_error_stream(NULL);	/* already passed on */
		tool_die_error(err);
	}
	if (im.several_configs)
		tool_warn("the open image has several configs; using the last");
	if (!im.open)
		tool_die("no image to configure: the input %s (pipe oci-layer output in)",
			 im.entries == 0 ? "is empty" :
			 "ends with a complete image (a manifest)");
	if (args.from != NULL && im.have_config)
		tool_msg(2, "using --from '%s' instead of the config in the stream", args.from);

	if (ocis_config_stage(&args.o, args.from ? &from : NULL, &im, &c, tool_on_warn, NULL,
			      &err) < 0)
		tool_die_error(err);
	if (ocis_config_to_json(&c, &out, &err) < 0 ||
	    ocis_stream_write_entry(w, "config.json", out.data, out.len, &err) < 0 ||
	    ocis_stream_finish(w, &err) < 0)
		tool_die_error(err);
	tool_msg(2, "config: %zu layers, %s/%s%s%s", im.layers.n, c.os, c.architecture,
		 c.variant ? "/" : "", c.variant ? c.variant : "");

	ocis_config_release(&c);
	ocis_open_image_release(&im);
	ocis_buf_release(&from);
	ocis_buf_release(&out);
	ocis_stream_reader_free(r);
	ocis_stream_writer_free(w);
	release_args(&args);
	return tool_finish();
}
