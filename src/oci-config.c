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
 * least once wins over its environment variable.  The model and every check
 * live in the library (src/lib/config.c); this file only gathers values.
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

#include <ocistream/filter.h>
#include <ocistream/imageconfig.h>
#include <ocistream/io.h>
#include <ocistream/rfc3339.h>
#include <ocistream/shellsplit.h>
#include <ocistream/stream.h>
#include <ocistream/strv.h>

#include "tool.h"

struct config_args {
	struct ocis_strv entrypoint;	/* --entrypoint (repeatable), OCI_IMAGE_ENTRYPOINT */
	struct ocis_strv cmd;		/* --cmd (repeatable), OCI_IMAGE_CMD,
					 * OCI_IMAGE_ENTRYPOINT_ARGS */
	struct ocis_strv env;		/* --env K=V (repeatable), OCI_IMAGE_ENV_VARS */
	struct ocis_strv labels;	/* --label k=v (repeatable), OCI_IMAGE_LABELS */
	struct ocis_strv ports;		/* --port P[/proto] (repeatable), OCI_IMAGE_PORTS */
	struct ocis_strv volumes;	/* --volume PATH (repeatable), OCI_IMAGE_VOLUMES */
	const char *arch;		/* --arch, OCI_IMAGE_ARCH */
	const char *variant;		/* --variant, OCI_IMAGE_SUBARCH */
	const char *os;			/* --os, OCI_IMAGE_OS */
	const char *user;		/* --user, OCI_IMAGE_RUNTIME_UID */
	const char *workdir;		/* --workdir, OCI_IMAGE_WORKINGDIR */
	const char *stop_signal;	/* --stop-signal, OCI_IMAGE_STOPSIGNAL */
	const char *author;		/* --author, OCI_IMAGE_AUTHOR */
	const char *author_email;	/* --author-email, OCI_IMAGE_AUTHOR_EMAIL */
	char *author_full;		/* "Name <email>" built from the two above */
	const char *created;		/* --created RFC3339 */
	int have_epoch;			/* --source-date-epoch or SOURCE_DATE_EPOCH */
	int64_t epoch;
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
 * given.  Returns 1 when the variable is set. */
static int
env_split(const char *name, struct ocis_strv *dst)
{
	const char *v = getenv(name);
	ocis_error_t *err = NULL;

	if (dst->set || v == NULL)
		return 0;
	if (ocis_shell_split(v, dst, &err) < 0)
		tool_usage_error("invalid %s \"%s\": %s", name, v, err->msg);
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
		case OPT_ENTRYPOINT: tool_strv_push(&a->entrypoint, optarg); break;
		case OPT_CMD: tool_strv_push(&a->cmd, optarg); break;
		case 'e': tool_strv_push(&a->env, optarg); break;
		case 'l': tool_strv_push(&a->labels, optarg); break;
		case 'p': tool_strv_push(&a->ports, optarg); break;
		case OPT_VOLUME: tool_strv_push(&a->volumes, optarg); break;
		case 'a': a->arch = optarg; break;
		case OPT_VARIANT: a->variant = optarg; break;
		case OPT_OS: a->os = optarg; break;
		case 'u': a->user = optarg; break;
		case 'w': a->workdir = optarg; break;
		case OPT_STOP: a->stop_signal = optarg; break;
		case OPT_AUTHOR: a->author = optarg; break;
		case OPT_EMAIL: a->author_email = optarg; break;
		case OPT_CREATED:
			if (!ocis_rfc3339_valid(optarg))
				tool_usage_error("invalid --created '%s': expected an RFC 3339 "
						 "time such as 2024-01-31T12:00:00Z", optarg);
			a->created = optarg;
			break;
		case OPT_EPOCH:
			a->epoch = tool_epoch_arg(optarg);
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
	env_split("OCI_IMAGE_ENTRYPOINT", &a->entrypoint);
	if (!env_split("OCI_IMAGE_CMD", &a->cmd))
		env_split("OCI_IMAGE_ENTRYPOINT_ARGS", &a->cmd);
	env_split("OCI_IMAGE_ENV_VARS", &a->env);
	env_split("OCI_IMAGE_LABELS", &a->labels);
	env_split("OCI_IMAGE_PORTS", &a->ports);
	env_split("OCI_IMAGE_VOLUMES", &a->volumes);
	env_str("OCI_IMAGE_ARCH", &a->arch);
	env_str("OCI_IMAGE_SUBARCH", &a->variant);
	env_str("OCI_IMAGE_OS", &a->os);
	env_str("OCI_IMAGE_RUNTIME_UID", &a->user);
	env_str("OCI_IMAGE_WORKINGDIR", &a->workdir);
	env_str("OCI_IMAGE_STOPSIGNAL", &a->stop_signal);
	if (a->author == NULL && a->author_email == NULL) {
		env_str("OCI_IMAGE_AUTHOR", &a->author);
		env_str("OCI_IMAGE_AUTHOR_EMAIL", &a->author_email);
	}
	argv_clear_if_empty(&a->entrypoint);
	argv_clear_if_empty(&a->cmd);

	if (a->author && *a->author && a->author_email && *a->author_email) {
		if (asprintf(&a->author_full, "%s <%s>", a->author, a->author_email) < 0)
			tool_die("out of memory");
	} else if (a->author_email && *a->author_email) {
		a->author_full = strdup(a->author_email);
	} else if (a->author) {
		a->author_full = strdup(a->author);
	}
	if (!a->have_epoch)
		a->have_epoch = tool_env_epoch(&a->epoch);
}

static void
release_args(struct config_args *a)
{
	ocis_strv_clear(&a->entrypoint);
	ocis_strv_clear(&a->cmd);
	ocis_strv_clear(&a->env);
	ocis_strv_clear(&a->labels);
	ocis_strv_clear(&a->ports);
	ocis_strv_clear(&a->volumes);
	free(a->author_full);
	free(a->history);
}

/* Apply the options to c (a base or an empty config). */
static int
apply_args(struct ocis_config *c, const struct config_args *a, ocis_error_t **err)
{
	size_t i;

	if (a->arch != NULL) {
		if (ocis_config_set_platform(c, a->arch, a->variant, err) < 0)
			return -1;
	} else if (a->variant != NULL) {
		if (ocis_config_set_str(&c->variant, a->variant, err) < 0)
			return -1;
	}
	if (a->os != NULL && *a->os == 0)
		return ocis_error_set(err, 0, "invalid --os: empty value");
	if ((a->os && ocis_config_set_str(&c->os, a->os, err) < 0) ||
	    (a->author_full && ocis_config_set_str(&c->author, a->author_full, err) < 0) ||
	    (a->user && ocis_config_set_str(&c->user, a->user, err) < 0) ||
	    (a->workdir && ocis_config_set_str(&c->working_dir, a->workdir, err) < 0) ||
	    (a->stop_signal && ocis_config_set_str(&c->stop_signal, a->stop_signal, err) < 0))
		return -1;
	if (a->workdir && *a->workdir && *a->workdir != '/')
		return ocis_error_set(err, 0, "invalid working directory '%s': expected an "
				      "absolute path", a->workdir);
	if (a->entrypoint.set && ocis_strv_copy(&c->entrypoint, &a->entrypoint, err) < 0)
		return -1;
	if (a->cmd.set && ocis_strv_copy(&c->cmd, &a->cmd, err) < 0)
		return -1;
	for (i = 0; i < a->env.n; i++)
		if (ocis_config_set_env(c, a->env.v[i], err) < 0)
			return -1;
	for (i = 0; i < a->labels.n; i++)
		if (ocis_config_set_label(c, a->labels.v[i], err) < 0)
			return -1;
	for (i = 0; i < a->ports.n; i++)
		if (ocis_config_add_port(c, a->ports.v[i], err) < 0)
			return -1;
	for (i = 0; i < a->volumes.n; i++)
		if (ocis_config_add_volume(c, a->volumes.v[i], err) < 0)
			return -1;
	return 0;
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
	int base = 0;
	int64_t epoch;

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
	if (apply_args(&probe, &args, &err) < 0)
		tool_usage_error("%s", err->msg);
	ocis_config_release(&probe);

	if (isatty(STDIN_FILENO))
		tool_die("refusing to read an image stream from a terminal (pipe oci-layer in)");
	if (ocis_stream_reader_new(&r, STDIN_FILENO, 0, &err) < 0 ||
	    ocis_stream_writer_new(&w, STDOUT_FILENO, &err) < 0)
		tool_die_error(err);
	tool_set_error_stream(w);
	if (tool_set_base(r, args.base_ref, args.arch ? args.arch : getenv("OCI_IMAGE_ARCH"),
			  args.os ? args.os : getenv("OCI_IMAGE_OS"),
			  args.variant ? args.variant : getenv("OCI_IMAGE_SUBARCH"), &err) < 0)
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

	/* The base: --from wins over a config in the stream. */
	ocis_config_init(&c);
	if (args.from != NULL) {
		if (ocis_config_from_json(&c, (const char *)from.data, from.len, &err) < 0)
			tool_die_error(err);
		if (im.have_config)
			tool_msg(2, "using --from '%s' instead of the config in the stream",
				 args.from);
		base = 1;
	} else if (im.have_config) {
		if (ocis_config_from_json(&c, (const char *)im.config.data, im.config.len, &err) < 0) {
			ocis_error_wrap(&err, "config in the stream");
			tool_die_error(err);
		}
		base = 1;
	}
	if (apply_args(&c, &args, &err) < 0)
		tool_die_error(err);

	/* created: --created, else the source date epoch, else now. */
	epoch = args.have_epoch ? args.epoch : (int64_t)time(NULL);
	if (args.created != NULL) {
		if (ocis_config_set_str(&c.created, args.created, &err) < 0)
			tool_die_error(err);
	} else {
		char ts[32];
		if (ocis_rfc3339(epoch, ts) < 0 || ocis_config_set_str(&c.created, ts, &err) < 0)
			tool_die("cannot format the creation time");
	}
	if (ocis_config_set_defaults(&c, epoch, &err) < 0)
		tool_die_error(err);

	if (ocis_config_sync_layers(&c, im.layers.v, im.layers.n, &err) < 0) {
		if (args.from == NULL)
			tool_die_error(err);
		tool_warn("--from '%s': its rootfs does not match the stream; rebuilding "
			  "diff_ids and history from the stream's layers", args.from);
		ocis_error_free(&err);
		ocis_config_clear_layers(&c);
		if (ocis_config_sync_layers(&c, im.layers.v, im.layers.n, &err) < 0)
			tool_die_error(err);
	}
	if (base) {
		/* A metadata-only step over a base: one history entry. */
		struct ocis_history_entry h;
		memset(&h, 0, sizeof(h));
		h.created = c.created;
		h.created_by = args.history;
		h.empty_layer = 1;
		if (ocis_config_add_history(&c, &h, &err) < 0)
			tool_die_error(err);
	}

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
