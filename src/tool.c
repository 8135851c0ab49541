/* SPDX-License-Identifier: MIT */
/* Shared front-end helpers: see tool.h. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <libdeflate.h>
#include <openssl/opensslv.h>
#include <xxhash.h>
#include <yajl/yajl_version.h>
#include <zlib.h>
#include <zstd.h>

#include <ocistream/arch.h>
#include <ocistream/gzmember.h>
#include <ocistream/layerdesc.h>
#include <ocistream/manifest.h>
#include <ocistream/rfc3339.h>
#include <ocistream/stream.h>
#include <ocistream/strv.h>

#include "tool.h"

const char *tool_progname = "ocipipe";
int tool_verbosity = 1;
static struct ocis_stream_writer *error_stream;

static struct timespec start_time;
static int progress_mode;		/* 0 off, 1 terminal, 2 plain lines */
static double progress_last = -1;
static int progress_drawn;

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

void
tool_init(const char *progname)
{
	tool_progname = progname;
	clock_gettime(CLOCK_MONOTONIC, &start_time);
}

double
tool_elapsed(void)
{
	return now() - ((double)start_time.tv_sec + (double)start_time.tv_nsec / 1e9);
}

void
tool_progress_init(int mode)
{
	int tty = isatty(STDERR_FILENO);

	if (mode < 0)
		progress_mode = (tty && tool_verbosity == 1) ? 1 : 0;
	else
		progress_mode = mode ? (tty ? 1 : 2) : 0;
}

int
tool_progress_enabled(void)
{
	return progress_mode != 0;
}

void
tool_progress(int force, const char *fmt, ...)
{
	double t;
	va_list ap;

	if (progress_mode == 0)
		return;
	t = tool_elapsed();
	if (!force && progress_last >= 0 && t - progress_last < (progress_mode == 1 ? 0.25 : 2.0))
		return;
	progress_last = t;
	if (progress_mode == 1)
		fputc('\r', stderr);
	fprintf(stderr, "%s: ", tool_progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(progress_mode == 1 ? "\033[K" : "\n", stderr);
	fflush(stderr);
	progress_drawn = progress_mode == 1;
}

void
tool_progress_clear(void)
{
	if (progress_drawn) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		progress_drawn = 0;
	}
}

const char *
tool_bytes(uint64_t n, char buf[16])
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, 16, "%llu B", (unsigned long long)n);
	else
		snprintf(buf, 16, "%.1f %s", v, units[u]);
	return buf;
}

void
tool_write_text_file(const char *path, const char *text)
{
	FILE *f;

	if (strcmp(path, "-") == 0) {
		tool_progress_clear();
		fprintf(stderr, "%s\n", text);
		return;
	}
	f = fopen(path, "w");
	if (f == NULL)
		tool_die("cannot write '%s': %s", path, strerror(errno));
	fprintf(f, "%s\n", text);
	if (fclose(f) != 0)
		tool_die("cannot write '%s': %s", path, strerror(errno));
}

void
tool_write_descriptor(const char *path, const char *media_type, const char *digest,
		      uint64_t size)
{
	char *json = NULL;

	if (asprintf(&json, "{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%llu}",
		     media_type, digest, (unsigned long long)size) < 0)
		tool_die("out of memory");
	tool_write_text_file(path, json);
	free(json);
}

void
tool_set_error_stream(struct ocis_stream_writer *w)
{
	error_stream = w;
}

static noreturn void
die_msg(const char *msg)
{
	char *full = NULL, *line = strdup(msg), *p;

	/* One line whatever the message quotes (names and values come from
	 * the input): control characters are shown as '?'. */
	if (line != NULL) {
		for (p = line; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
		msg = line;
	}
	tool_progress_clear();
	fprintf(stderr, "%s: %s\n", tool_progname, msg);
	if (error_stream != NULL) {
		if (asprintf(&full, "%s: %s", tool_progname, msg) >= 0)
			ocis_stream_write_error(error_stream, full);
		free(full);
	}
	exit(1);
}

void
tool_die(const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	die_msg(msg ? msg : "out of memory");
}

void
tool_die_error(ocis_error_t *err)
{
	/* The reader of our output went away: end as a filter does when
	 * SIGPIPE kills it, quietly and with a failure status.  (The library's
	 * threads block signals, so the write there failed with EPIPE.) */
	if (err && err->code == EPIPE) {
		signal(SIGPIPE, SIG_DFL);
		raise(SIGPIPE);
		exit(1);
	}
	die_msg(err && err->msg ? err->msg : "unknown error");
}

void
tool_warn(const char *fmt, ...)
{
	va_list ap;

	if (tool_verbosity < 1)
		return;
	tool_progress_clear();
	fprintf(stderr, "%s: warning: ", tool_progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
tool_msg(int level, const char *fmt, ...)
{
	va_list ap;

	if (tool_verbosity < level)
		return;
	tool_progress_clear();
	fprintf(stderr, "%s: ", tool_progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
tool_usage_error(const char *fmt, ...)
{
	va_list ap;

	/* One line, as every error: the hint goes at its end. */
	fprintf(stderr, "%s: ", tool_progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see '%s --help')\n", tool_progname);
	exit(2);
}

void
tool_version(void)
{
	char codec[64];

	printf("%s (ocipipe) %s\n", tool_progname, PACKAGE_VERSION);
	printf("libarchive %s, zlib %s, libdeflate %s, libzstd %s, yajl %d.%d.%d, xxhash %u.%u.%u, %s\n",
	       archive_version_string() + strlen("libarchive "), zlibVersion(),
	       LIBDEFLATE_VERSION_STRING, ZSTD_versionString(),
	       YAJL_MAJOR, YAJL_MINOR, YAJL_MICRO, XXH_versionNumber() / 10000,
	       XXH_versionNumber() / 100 % 100, XXH_versionNumber() % 100, OPENSSL_VERSION_TEXT);
	/* level 1's bytes depend on whether this build has ISA-L */
	ocis_gzmember_codec(1, codec, sizeof(codec));
	printf("gzip level 1: %s\n", codec);
	exit(tool_finish());
}

void
tool_common_option(int c, void (*usage)(void))
{
	switch (c) {
	case 'q': tool_verbosity = 0; break;
	case 'v': tool_verbosity++; break;
	case 'h': usage(); break;
	case 'V': tool_version(); break;
	default: tool_usage_error("invalid option");
	}
}

int
tool_parse_int(const char *s, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	if (s == NULL || *s == 0)
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != 0 || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int64_t
tool_epoch_arg(const char *arg)
{
	long long v;

	if (tool_parse_int(arg, 0, 253402300799LL, &v) < 0)
		tool_usage_error("invalid --source-date-epoch '%s'", arg);
	return v;
}

int
tool_media_types_arg(const char *arg)
{
	if (strcmp(arg, "oci") == 0)
		return OCIS_TYPES_OCI;
	if (strcmp(arg, "docker") == 0)
		return OCIS_TYPES_DOCKER;
	tool_usage_error("unknown media types '%s' (oci or docker)", arg);
}

int
tool_env_epoch(int64_t *out)
{
	const char *s = getenv("SOURCE_DATE_EPOCH");
	long long v;

	if (s == NULL || *s == 0)
		return 0;
	/* Up to year 9999, so RFC 3339 stays four-digit. */
	if (tool_parse_int(s, 0, 253402300799LL, &v) < 0)
		tool_die("invalid SOURCE_DATE_EPOCH '%s': expected seconds since 1970", s);
	*out = v;
	return 1;
}

void
tool_default_platform(const char *arch, const char *variant, const char **oci_arch,
		      const char **oci_variant)
{
	const char *a = NULL, *v = NULL;

	if (arch)
		(void)ocis_arch_lookup(arch, &a, &v);
	*oci_arch = a;
	*oci_variant = variant ? variant : v;
}

int
tool_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : (n > 256 ? 256 : (int)n);
}

int
tool_finish(void)
{
	if (fflush(stdout) != 0 || ferror(stdout) || fclose(stdout) != 0) {
		if (errno == EPIPE)
			return 1;
		fprintf(stderr, "%s: writing standard output: %s\n", tool_progname,
			strerror(errno));
		return 1;
	}
	return 0;
}

int
tool_set_base(struct ocis_stream_reader *r, const char *ref, const char *arch, const char *os,
	      const char *variant, ocis_error_t **err)
{
	const char *a = NULL, *v = NULL;

	if (arch && *arch)
		(void)ocis_arch_lookup(arch, &a, &v);
	if (variant && *variant)
		v = variant;
	return ocis_stream_reader_set_base(r, ref && *ref ? ref : NULL, a,
					   os && *os ? os : NULL, v, err);
}

void
tool_layer_args_init(struct tool_layer_args *a)
{
	memset(a, 0, sizeof(*a));
	a->compression = OCIS_COMPRESS_GZIP;
	a->level = -1;
	a->cache_max = OCIS_BLOCKCACHE_DEFAULT_MAX;
}

/* --cache-max: bytes, or with a K, M, G or T suffix (powers of 1024); 0 is
 * no bound. */
static int
parse_cache_max(const char *arg, uint64_t *out)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	if (*arg < '0' || *arg > '9')
		return -1;
	errno = 0;
	v = strtoull(arg, &end, 10);
	if (errno != 0)
		return -1;
	switch (*end) {
	case 0: break;
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	case 'T': case 't': shift = 40; end++; break;
	default: return -1;
	}
	if (*end == 'i' && shift)
		end++;
	if ((*end == 'B' || *end == 'b') && shift)
		end++;
	if (*end != 0 || (shift && v > (UINT64_MAX >> shift)))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

int
tool_image_option(struct tool_image_args *a, int c, const char *arg)
{
	const char *arch = NULL, *variant = NULL;

	switch (c) {
	case 't':
		if (*arg == 0)
			tool_usage_error("empty --ref");
		a->ref = arg;
		return 1;
	case 'a':
		if (*arg == 0)
			tool_usage_error("empty --arch");
		(void)ocis_arch_lookup(arg, &arch, &variant);
		a->arch = arch;
		if (a->variant == NULL)
			a->variant = variant;
		return 1;
	case TOOL_OPT_VARIANT:
		if (*arg == 0)
			tool_usage_error("empty --variant");
		a->variant = arg;
		return 1;
	case TOOL_OPT_OS:
		if (*arg == 0)
			tool_usage_error("empty --os");
		a->os = arg;
		return 1;
	}
	return 0;
}

int
tool_layer_option(struct tool_layer_args *a, int c, const char *arg)
{
	long long v;

	switch (c) {
	case 'c':
		if (ocis_compression_from_name(arg, &a->compression) < 0)
			tool_usage_error("unknown compression '%s' (gzip, zstd, none, estargz "
					 "or zstd:chunked)",
					 arg);
		return 1;
	case TOOL_OPT_GZIP: a->compression = OCIS_COMPRESS_GZIP; return 1;
	case TOOL_OPT_ZSTD: a->compression = OCIS_COMPRESS_ZSTD; return 1;
	case 'l':
		if (tool_parse_int(arg, 0, 22, &v) < 0)
			tool_usage_error("invalid level '%s'", arg);
		a->level = (int)v;
		return 1;
	case 'T':
		if (tool_parse_int(arg, 0, 256, &v) < 0)
			tool_usage_error("invalid thread count '%s' (0-256)", arg);
		a->threads = (int)v;
		return 1;
	case TOOL_OPT_EPOCH:
		a->epoch = tool_epoch_arg(arg);
		a->have_epoch = 1;
		return 1;
	case TOOL_OPT_CREATED_BY: a->created_by = arg; return 1;
	case TOOL_OPT_COMMENT: a->comment = arg; return 1;
	case TOOL_OPT_SUMMARY: a->summary = 1; return 1;
	case TOOL_OPT_DESCRIPTOR: a->descriptor_file = arg; return 1;
	case TOOL_OPT_CACHE:
		if (*arg == 0)
			tool_usage_error("empty --cache");
		a->cache_dir = arg;
		a->cache_set = 1;
		return 1;
	case TOOL_OPT_NO_CACHE:
		a->cache_dir = NULL;
		a->cache_set = -1;
		return 1;
	case TOOL_OPT_CACHE_MAX:
		if (parse_cache_max(arg, &a->cache_max) < 0)
			tool_usage_error("invalid --cache-max '%s' (bytes, or with K, M, G, T)", arg);
		a->cache_max_set = 1;
		return 1;
	}
	return 0;
}

void
tool_layer_args_done(struct tool_layer_args *a)
{
	if (a->level < 0)
		a->level = ocis_compression_default_level(a->compression);
	else if (!ocis_compression_level_valid(a->compression, a->level))
		tool_usage_error("level %d is out of range for %s", a->level,
				 ocis_compression_name(a->compression));
	/* the cache from the environment (a bitbake task exports it), unless
	 * --cache or --no-cache said otherwise; --cache-max beats the
	 * environment's bound */
	if (a->cache_set == 0) {
		const char *env = getenv("OCI_LAYER_CACHE_DIR");
		if (env != NULL && *env != 0)
			a->cache_dir = env;
	}
	if (!a->cache_max_set && a->cache_dir != NULL) {
		const char *env = getenv("OCI_LAYER_CACHE_MAX");
		if (env != NULL && *env != 0 && parse_cache_max(env, &a->cache_max) < 0)
			tool_usage_error("invalid OCI_LAYER_CACHE_MAX '%s' (bytes, or with K, M, G, T)",
					 env);
	}
	if (a->cache_set == 1 && a->compression != OCIS_COMPRESS_GZIP &&
	    a->compression != OCIS_COMPRESS_ESTARGZ)
		tool_warn("--cache applies to gzip layers only (estargz too; docs/cache.md); "
			  "not used for %s",
			  ocis_compression_name(a->compression));
	if (!a->have_epoch)
		a->have_epoch = tool_env_epoch(&a->epoch);
	a->created[0] = 0;
	if (a->have_epoch && ocis_rfc3339(a->epoch, a->created) < 0)
		a->created[0] = 0;
}

const char *
tool_cache_summary(int used, const struct ocis_blockcache_stats *st, char *buf, size_t size)
{
	uint64_t blocks = st->hits + st->misses + st->rejected;

	if (!used)
		snprintf(buf, size, "%s", "");
	else
		snprintf(buf, size, ", cache: %llu of %llu blocks reused, %llu rejected, %llu stored",
			 (unsigned long long)st->hits, (unsigned long long)blocks,
			 (unsigned long long)st->rejected, (unsigned long long)st->stored);
	return buf;
}

void
tool_layer_print_descriptor(const struct tool_layer_args *a, const struct ocis_layer_desc *d)
{
	struct ocis_buf json = OCIS_BUF_INIT;
	ocis_error_t *err = NULL;

	if (a->descriptor_file == NULL)
		return;
	if (ocis_layer_desc_to_json(d, &json, &err) < 0)
		tool_die_error(err);
	tool_write_text_file(a->descriptor_file, (const char *)json.data);
	ocis_buf_release(&json);
}

void
tool_on_warn(void *ctx, const char *msg)
{
	(void)ctx;
	tool_warn("%s", msg);
}

void
tool_on_note(void *ctx, const char *msg)
{
	(void)ctx;
	tool_msg(2, "%s", msg);
}

void
tool_on_entry(void *ctx, const char *name)
{
	(void)ctx;
	if (tool_verbosity >= 2) {
		tool_progress_clear();
		fprintf(stderr, "%s\n", name);
	}
}

void
tool_strv_push(struct ocis_strv *s, const char *v)
{
	ocis_error_t *err = NULL;

	if (ocis_strv_push(s, v, &err) < 0)
		tool_die_error(err);
}
