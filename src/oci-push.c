/* SPDX-License-Identifier: MIT */
/*
 * oci-push: an image stream on stdin -> a registry (OCI distribution
 * spec), no layout on disk.  Thin front end over ocis_push: the
 * destination parsed, the credentials found, the registry opened.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <ocistream/arch.h>
#include <ocistream/credentials.h>
#include <ocistream/push.h>
#include <ocistream/refparse.h>
#include <ocistream/registry.h>
#include <ocistream/stream.h>

#include "tool.h"

struct push_args {
	const char *dest;		/* DEST */
	char **tags;			/* the DEST tag, then --tag (repeatable) */
	size_t n_tags;
	const char *creds;		/* --creds USER[:PASSWORD] */
	const char *authfile;		/* --authfile FILE */
	const char **mount_from;	/* --mount-from REPO (repeatable), owned */
	const char *arch, *variant;	/* as given; o.arch and o.variant defaulted */
	const char *base_ref;		/* --base-ref TAG */
	/* The library's options, set while parsing: the registry's
	 * (--tls-verify, --cert-dir, --retry-*, --timeout, --mount-from) and
	 * the push's (--stream, --chunk-size, the default config, --media-types,
	 * --allow-same-platform).  What comes from DEST, the credentials and
	 * the callbacks main fills in. */
	struct ocis_registry_opts ro;
	struct ocis_push_opts o;
	int progress;			/* --progress 1, --no-progress 0, auto -1 */
	int summary;			/* --summary (or -v) */
	const char *descriptor_file;	/* --print-descriptor FILE */
};

static void
usage(void)
{
	printf("usage: %s [options] DEST < image-stream\n"
	       "\n"
	       "Push the images of an image stream to a registry: every blob, config,\n"
	       "manifest and, for several images, the index, then the tags.  Nothing is\n"
	       "uploaded that the registry has already; manifests and tags go last, once\n"
	       "every blob is there.  DEST is docker://HOST[:PORT]/REPO[:TAG] (default tag\n"
	       "latest) or [@sha256:DIGEST], \"docker://\" optional.\n"
	       "\n"
	       "  -t, --tag=TAG             also point TAG at the image (repeatable)\n"
	       "      --creds=USER[:PASSWORD]  credentials (asked for on the terminal when\n"
	       "                            the password is left out)\n"
	       "      --authfile=FILE       auth file (default: $REGISTRY_AUTH_FILE, else\n"
	       "                            $XDG_RUNTIME_DIR/containers/auth.json, then\n"
	       "                            ~/.config/containers/auth.json, ~/.docker/config.json)\n"
	       "      --tls-verify=BOOL     verify the registry's certificate (default true);\n"
	       "                            false also allows plain http\n"
	       "      --cert-dir=DIR        *.crt CAs, *.cert/*.key client certificate\n"
	       "                            (default: certs.d/HOST of containers or docker)\n"
	       "      --check-first         spool each layer once, upload it only when the\n"
	       "                            registry lacks it (default; for rebuild loops)\n"
	       "      --stream              upload each layer while it is read: nothing on\n"
	       "                            disk, but an unchanged layer goes up again\n"
	       "      --chunk-size=SIZE     bytes per upload request (and per resume step);\n"
	       "                            1M to 24M, default 16M\n"
	       "      --mount-from=REPO     mount blobs from REPO of the same registry when\n"
	       "                            the destination lacks them (repeatable)\n"
	       "      --retry-times=N       attempts after a fault (default 3)\n"
	       "      --retry-delay=DURATION  delay between attempts (5s, 500ms; default:\n"
	       "                            exponential from 1s)\n"
	       "      --timeout=SECONDS     a request that moves no byte for this long fails\n"
	       "                            (default 60)\n"
	       "      --arch=ARCH           architecture of a default config (default: this\n"
	       "                            machine's)\n"
	       "      --variant=VARIANT     variant of a default config\n"
	       "      --os=OS               os of a default config (default: linux)\n"
	       "      --source-date-epoch=N default created time\n"
	       "      --media-types=TYPES   oci (default) or docker, for manifests made here\n"
	       "      --allow-same-platform allow two images of one platform in an index\n"
	       "      --base-ref=TAG        the image of a base image archive to build on\n"
	       "      --progress, --no-progress  progress line on stderr (default: on a terminal)\n"
	       "      --summary             print a one-line summary at the end\n"
	       "      --print-descriptor=FILE  write the descriptor the tags point at (JSON)\n"
	       "                            to FILE ('-' = standard error)\n"
	       "  -q, --quiet               no warnings, no progress\n"
	       "  -v, --verbose             summary; twice: faults and retries; three times:\n"
	       "                            every request\n"
	       "  -h, --help                show this help\n"
	       "  -V, --version             show version and library versions\n",
	       tool_progname);
	exit(tool_finish());
}

static void
add_tag(struct push_args *a, const char *tag)
{
	char **v;

	if (!ocis_image_tag_valid(tag))
		tool_usage_error("invalid tag '%s'", tag);
	v = realloc(a->tags, (a->n_tags + 1) * sizeof(*v));
	if (v == NULL || (v[a->n_tags] = strdup(tag)) == NULL)
		tool_die("out of memory");
	a->tags = v;
	a->n_tags++;
}

/* "true"/"false" (and 1/0, yes/no) as skopeo's boolean flags */
static int
bool_arg(const char *opt, const char *v)
{
	if (v == NULL || !strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes"))
		return 1;
	if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no"))
		return 0;
	tool_usage_error("invalid %s '%s' (true or false)", opt, v);
}

/* N, NK, NM (KiB, MiB) */
static size_t
size_arg(const char *v)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno == 0 && end != v) {
		if (*end == 'K' || *end == 'k')
			n <<= 10, end++;
		else if (*end == 'M' || *end == 'm')
			n <<= 20, end++;
		if ((*end == 'i' || *end == 'B') && end[1] == 0)
			end++;
	}
	if (errno || end == v || *end != 0 || n < OCIS_PUSH_CHUNK_MIN || n > OCIS_PUSH_CHUNK_MAX)
		tool_usage_error("invalid --chunk-size '%s' (1M to 24M)", v);
	return (size_t)n;
}

/* 5, 5s, 500ms, 1m */
static double
duration_arg(const char *v)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	if (errno == 0 && end != v) {
		if (!strcmp(end, "ms"))
			d /= 1000, end += 2;
		else if (!strcmp(end, "s"))
			end++;
		else if (!strcmp(end, "m"))
			d *= 60, end++;
	}
	if (errno || end == v || *end != 0 || !(d >= 0 && d <= 3600))
		tool_usage_error("invalid --retry-delay '%s' (like 5s or 500ms)", v);
	return d;
}

static void
parse_args(int argc, char **argv, struct push_args *a)
{
	enum { OPT_CREDS = 256, OPT_AUTHFILE, OPT_TLS, OPT_CERT_DIR, OPT_CHECK, OPT_STREAM,
	       OPT_CHUNK, OPT_MOUNT, OPT_RETRIES, OPT_DELAY, OPT_TIMEOUT, OPT_ARCH, OPT_OS,
	       OPT_VARIANT, OPT_EPOCH, OPT_TYPES, OPT_SAME, OPT_BASE_REF, OPT_PROGRESS,
	       OPT_NO_PROGRESS, OPT_SUMMARY, OPT_DESCRIPTOR };
	static const struct option longopts[] = {
		{ "tag", required_argument, NULL, 't' },
		{ "creds", required_argument, NULL, OPT_CREDS },
		{ "authfile", required_argument, NULL, OPT_AUTHFILE },
		{ "tls-verify", optional_argument, NULL, OPT_TLS },
		{ "cert-dir", required_argument, NULL, OPT_CERT_DIR },
		{ "check-first", no_argument, NULL, OPT_CHECK },
		{ "stream", no_argument, NULL, OPT_STREAM },
		{ "chunk-size", required_argument, NULL, OPT_CHUNK },
		{ "mount-from", required_argument, NULL, OPT_MOUNT },
		{ "retry-times", required_argument, NULL, OPT_RETRIES },
		{ "retry-delay", required_argument, NULL, OPT_DELAY },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "arch", required_argument, NULL, OPT_ARCH },
		{ "os", required_argument, NULL, OPT_OS },
		{ "variant", required_argument, NULL, OPT_VARIANT },
		{ "source-date-epoch", required_argument, NULL, OPT_EPOCH },
		{ "media-types", required_argument, NULL, OPT_TYPES },
		{ "allow-same-platform", no_argument, NULL, OPT_SAME },
		{ "base-ref", required_argument, NULL, OPT_BASE_REF },
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
	const char **extra_tags = NULL;
	size_t n_extra = 0, i;
	long long v;
	int c, have_epoch = 0;
	int64_t epoch = 0;

	while ((c = getopt_long(argc, argv, "t:qvhV", longopts, NULL)) != -1) {
		switch (c) {
		case 't': {
			const char **nv = realloc(extra_tags, (n_extra + 1) * sizeof(*nv));
			if (nv == NULL)
				tool_die("out of memory");
			extra_tags = nv;
			extra_tags[n_extra++] = optarg;
			break;
		}
		case OPT_CREDS: a->creds = optarg; break;
		case OPT_AUTHFILE: a->authfile = optarg; break;
		case OPT_TLS: a->ro.tls_verify = bool_arg("--tls-verify", optarg); break;
		case OPT_CERT_DIR: a->ro.cert_dir = optarg; break;
		case OPT_CHECK: a->o.mode = OCIS_PUSH_CHECK_FIRST; break;
		case OPT_STREAM: a->o.mode = OCIS_PUSH_STREAM; break;
		case OPT_CHUNK: a->o.chunk_size = size_arg(optarg); break;
		case OPT_MOUNT: {
			const char **nv = realloc(a->mount_from, (a->ro.n_mount_from + 1) * sizeof(*nv));
			struct ocis_image_ref ref;
			char *probe = NULL;
			ocis_error_t *err = NULL;

			/* a repository of the destination's registry */
			if (asprintf(&probe, "localhost/%s", optarg) < 0 || nv == NULL)
				tool_die("out of memory");
			if (strchr(optarg, ':') || strchr(optarg, '@') ||
			    ocis_image_ref_parse(probe, &ref, &err) < 0)
				tool_usage_error("invalid --mount-from '%s' (a repository of the "
						 "destination's registry, without tag)", optarg);
			ocis_image_ref_release(&ref);
			free(probe);
			a->mount_from = nv;
			a->mount_from[a->ro.n_mount_from++] = optarg;
			a->ro.mount_from = a->mount_from;
			break;
		}
		case OPT_RETRIES:
			if (tool_parse_int(optarg, 0, 100, &v) < 0)
				tool_usage_error("invalid --retry-times '%s' (0-100)", optarg);
			a->ro.retries = (int)v;
			break;
		case OPT_DELAY: a->ro.retry_delay = duration_arg(optarg); break;
		case OPT_TIMEOUT:
			if (tool_parse_int(optarg, 1, 86400, &v) < 0)
				tool_usage_error("invalid --timeout '%s' (seconds, 1-86400)", optarg);
			a->ro.timeout = (long)v;
			break;
		case OPT_ARCH: a->arch = optarg; break;
		case OPT_OS: a->o.os = optarg; break;
		case OPT_VARIANT: a->variant = optarg; break;
		case OPT_EPOCH:
			epoch = tool_epoch_arg(optarg);
			have_epoch = 1;
			break;
		case OPT_TYPES: a->o.types = tool_media_types_arg(optarg); break;
		case OPT_SAME: a->o.allow_same_platform = 1; break;
		case OPT_BASE_REF: a->base_ref = optarg; break;
		case OPT_PROGRESS: a->progress = 1; break;
		case OPT_NO_PROGRESS: a->progress = 0; break;
		case OPT_SUMMARY: a->summary = 1; break;
		case OPT_DESCRIPTOR: a->descriptor_file = optarg; break;
		default: tool_common_option(c, usage);
		}
	}
	if (optind >= argc)
		tool_usage_error("no destination (docker://HOST[:PORT]/REPO[:TAG])");
	if (optind + 1 < argc)
		tool_usage_error("unexpected argument '%s' (the image stream is read from stdin)",
				 argv[optind + 1]);
	a->dest = argv[optind];
	for (i = 0; i < n_extra; i++)
		add_tag(a, extra_tags[i]);
	free(extra_tags);
	if (!have_epoch)
		have_epoch = tool_env_epoch(&epoch);
	a->o.created = have_epoch ? epoch : (int64_t)time(NULL);
	tool_default_platform(a->arch, a->variant, &a->o.arch, &a->o.variant);
}

/* The password of --creds USER, asked for on the terminal. */
static char *
ask_password(const char *user)
{
	struct termios old, quiet;
	char line[1024];
	FILE *tty = fopen("/dev/tty", "r+");
	int echo_off;
	size_t n;

	if (tty == NULL)
		tool_die("--creds '%s' has no password and there is no terminal to ask for it",
			 user);
	fprintf(tty, "Password for %s: ", user);
	fflush(tty);
	echo_off = tcgetattr(fileno(tty), &old) == 0;
	if (echo_off) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
	}
	if (fgets(line, sizeof(line), tty) == NULL)
		line[0] = 0;
	if (echo_off)
		tcsetattr(fileno(tty), TCSAFLUSH, &old);
	fputc('\n', tty);
	fclose(tty);
	n = strcspn(line, "\r\n");
	line[n] = 0;
	return strdup(line);
}

static void
on_log(void *ctx, int level, const char *msg)
{
	(void)ctx;
	tool_msg(level + 2, "%s", msg);
}

static void
on_progress(void *ctx, const struct ocis_push_stats *s)
{
	char in[16], up[16], rate[16];
	double t = tool_elapsed();

	(void)ctx;
	tool_progress(0, "%s read, %s uploaded, %s/s, %zu layer%s", tool_bytes(s->stream_bytes, in),
		      tool_bytes(s->sent, up),
		      tool_bytes(t > 0 ? (uint64_t)((double)s->sent / t) : 0, rate), s->layers,
		      s->layers == 1 ? "" : "s");
}

int
main(int argc, char **argv)
{
	struct push_args args;
	struct ocis_image_ref ref;
	struct ocis_creds creds = { NULL, NULL };
	struct ocis_push_stats stats;
	struct ocis_stream_reader *r = NULL;
	struct ocis_registry *reg = NULL;
	ocis_error_t *err = NULL;
	char up[16];
	size_t i;

	memset(&args, 0, sizeof(args));
	args.progress = -1;
	args.ro.tls_verify = 1;
	args.ro.retries = 3;
	args.ro.timeout = 60;
	tool_init("oci-push");
	parse_args(argc, argv, &args);
	tool_progress_init(args.progress);
	/* A reset connection must fail a request, not kill the program. */
	signal(SIGPIPE, SIG_IGN);

	if (ocis_image_ref_parse(args.dest, &ref, &err) < 0)
		tool_usage_error("%s", err->msg);
	if (ref.tag) {
		/* the destination's tag first */
		char **v = realloc(args.tags, (args.n_tags + 1) * sizeof(*v));
		if (v == NULL)
			tool_die("out of memory");
		memmove(v + 1, v, args.n_tags * sizeof(*v));
		if ((v[0] = strdup(ref.tag)) == NULL)
			tool_die("out of memory");
		args.tags = v;
		args.n_tags++;
	}
	if (isatty(STDIN_FILENO))
		tool_die("refusing to read an image stream from a terminal");

	if (args.creds) {
		int has_password;
		if (ocis_creds_parse(args.creds, &creds, &has_password, &err) < 0)
			tool_usage_error("invalid --creds: %s", err->msg);
		if (!has_password) {
			free(creds.password);
			if ((creds.password = ask_password(creds.user)) == NULL)
				tool_die("out of memory");
		}
	} else if (ocis_authfile_find(args.authfile, ref.host, ref.repo, &creds, NULL, &err) < 0) {
		tool_die_error(err);
	}

	args.ro.host = ref.host;
	args.ro.repo = ref.repo;
	args.ro.user = creds.user;
	args.ro.password = creds.password;
	args.ro.log = on_log;
	args.o.tags = args.tags;
	args.o.n_tags = args.n_tags;
	args.o.digest = ref.digest;
	if (tool_progress_enabled())
		args.o.progress = on_progress;

	if (ocis_stream_reader_new(&r, STDIN_FILENO, 1, &err) < 0 ||
	    tool_set_base(r, args.base_ref, args.arch, args.o.os, args.variant, &err) < 0 ||
	    ocis_registry_open(&reg, &args.ro, &err) < 0 ||
	    ocis_push(r, reg, &args.o, &stats, &err) < 0)
		tool_die_error(err);
	ocis_registry_free(reg);
	ocis_stream_reader_free(r);
	ocis_creds_release(&creds);
	tool_progress_clear();
	if (args.summary || tool_verbosity >= 2)
		fprintf(stderr, "%s: %zu image%s, %zu layer%s, %zu blob%s: %zu uploaded (%s sent), "
			"%zu already there, %zu mounted; %s pushed to %s/%s%s%s, %.2f s\n",
			tool_progname, stats.images, stats.images == 1 ? "" : "s", stats.layers,
			stats.layers == 1 ? "" : "s", stats.blobs, stats.blobs == 1 ? "" : "s",
			stats.uploaded, tool_bytes(stats.sent, up), stats.existing, stats.mounted,
			stats.top_digest, ref.host, ref.repo, args.n_tags ? ":" : "",
			args.n_tags ? args.tags[0] : "", tool_elapsed());
	if (args.descriptor_file)
		tool_write_descriptor(args.descriptor_file, stats.top_media_type, stats.top_digest,
				      stats.top_size);
	for (i = 0; i < args.n_tags; i++)
		free(args.tags[i]);
	free(args.tags);
	free(args.mount_from);
	ocis_image_ref_release(&ref);
	return tool_finish();
}
