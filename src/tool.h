/* SPDX-License-Identifier: MIT */
/*
 * Shared front-end helpers of the ocipipe programs (the libarchive_fe role):
 * program name, diagnostics, usage errors, --version, the stdout check at
 * exit, SOURCE_DATE_EPOCH.  Never part of the library.
 *
 * Exit codes: 0 success, 1 failure, 2 usage error.
 */
#ifndef OCIPIPE_TOOL_H
#define OCIPIPE_TOOL_H

#include <stdint.h>
#include <stdnoreturn.h>

#include <ocistream/blockcache.h>
#include <ocistream/compress.h>
#include <ocistream/error.h>
#include <ocistream/layerdesc.h>
#include <ocistream/stream.h>
#include <ocistream/strv.h>

struct ocis_stream_writer;
struct ocis_stream_reader;

extern const char *tool_progname;
/* 0 = quiet, 1 = normal (default), 2+ = verbose. */
extern int tool_verbosity;

void tool_init(const char *progname);

/* When set, tool_die and tool_die_error first write an "ocipipe/error"
 * entry carrying the message into this stream, so later stages fail even
 * when the shell ignores our exit status. */
void tool_set_error_stream(struct ocis_stream_writer *w);

/* "prog: msg" on stderr, exit 1. */
noreturn void tool_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
noreturn void tool_die_error(ocis_error_t *err);
/* "prog: warning: msg" on stderr (unless quiet). */
void tool_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "prog: msg" at verbosity >= level. */
void tool_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "prog: msg" and "Try 'prog --help'." on stderr, exit 2. */
noreturn void tool_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The options every program has, for the default branch of its option
 * switch: -q/--quiet, -v/--verbose, -h/--help (usage() prints and exits
 * 0), -V/--version; anything else is a usage error. */
void tool_common_option(int c, void (*usage)(void));

/* Print "prog (ocipipe) X.Y.Z" and the library versions in use; exit 0. */
noreturn void tool_version(void);

/* Parse a decimal integer in [min, max]; 0 ok, -1 bad. */
int tool_parse_int(const char *s, long long min, long long max, long long *out);

/* --source-date-epoch N: seconds, 0 to year 9999; exits 2 when invalid. */
int64_t tool_epoch_arg(const char *arg);
/* --media-types oci|docker; exits 2 when unknown. */
int tool_media_types_arg(const char *arg);

/* SOURCE_DATE_EPOCH from the environment: 1 and *out set when present,
 * 0 when unset or empty; a malformed value is a fatal error. */
int tool_env_epoch(int64_t *out);

/* The platform of a default config from --arch and --variant: the OCI
 * name of a build-system architecture (which may bring a variant); an
 * explicit variant wins.  NULLs stay NULL. */
void tool_default_platform(const char *arch, const char *variant, const char **oci_arch,
			   const char **oci_variant);

/* Online CPUs (at least 1). */
int tool_cpus(void);

/* Choose the image of a base-image archive in the stream by tag and
 * platform (build-system architecture names are mapped); any may be NULL
 * or empty. */
int tool_set_base(struct ocis_stream_reader *r, const char *ref, const char *arch,
		  const char *os, const char *variant, ocis_error_t **err);

/*
 * Progress: one line on stderr, redrawn in place at most 4 times a second
 * when stderr is a terminal; with --progress on a non-terminal, a plain
 * line every 2 seconds.  mode: -1 auto (terminal, not quiet, not listing
 * entries), 0 off, 1 on.
 */
void tool_progress_init(int mode);
int tool_progress_enabled(void);
/* Rate-limited; force = draw now (the last update). */
void tool_progress(int force, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Clear the line (terminal) before other output or at the end. */
void tool_progress_clear(void);
/* Seconds since tool_init. */
double tool_elapsed(void);
/* "12.3 MiB" into buf (16 bytes). */
const char *tool_bytes(uint64_t n, char buf[16]);
/* Open FILE for --print-descriptor ("-" = stderr); dies on error. */
void tool_write_text_file(const char *path, const char *text);
/* --print-descriptor of oci-pack and oci-push: what the tags point at,
 * {"mediaType","digest","size"}, into FILE. */
void tool_write_descriptor(const char *path, const char *media_type, const char *digest,
			   uint64_t size);

/*
 * Options shared by the programs that write a layer (oci-layer, oci-diff):
 * put TOOL_LAYER_LONGOPTS in the getopt_long table and TOOL_LAYER_SHORTOPTS
 * in the short option string, hand every option to tool_layer_option
 * first, and call tool_layer_args_done after the loop.
 */
struct tool_layer_args {
	enum ocis_compression compression;	/* --compress, --gzip, --zstd */
	int level;				/* --level, -1 = default */
	int threads;				/* --threads, 0 = all CPUs */
	int have_epoch;				/* --source-date-epoch or env */
	int64_t epoch;
	char created[32];			/* RFC 3339 of the epoch, or "" */
	const char *created_by;			/* --created-by */
	const char *comment;			/* --comment */
	int summary;				/* --summary (or -v) */
	const char *descriptor_file;		/* --print-descriptor=FILE */
	const char *cache_dir;			/* --cache, $OCI_LAYER_CACHE_DIR */
	uint64_t cache_max;			/* --cache-max, $OCI_LAYER_CACHE_MAX */
	int cache_set;				/* 1 --cache, -1 --no-cache, 0 neither */
	int cache_max_set;			/* --cache-max was given */
};
/* What the shared layer options say, into a library option struct o (a
 * struct ocis_layer_opts or ocis_diff_opts: the fields have the same
 * names): compression, level, threads and the history entry. */
#define TOOL_LAYER_ARGS_APPLY(l, o) do { \
	(o)->compression = (l)->compression; \
	(o)->level = (l)->level; \
	(o)->threads = (l)->threads; \
	(o)->cache_dir = (l)->cache_dir; \
	(o)->cache_max = (l)->cache_max; \
	(o)->created = (l)->created[0] ? (l)->created : NULL; \
	(o)->created_by = (l)->created_by; \
	(o)->comment = (l)->comment; \
} while (0)
enum {
	TOOL_OPT_GZIP = 0x1000, TOOL_OPT_ZSTD, TOOL_OPT_EPOCH, TOOL_OPT_CREATED_BY,
	TOOL_OPT_COMMENT, TOOL_OPT_SUMMARY, TOOL_OPT_DESCRIPTOR, TOOL_OPT_CACHE,
	TOOL_OPT_CACHE_MAX, TOOL_OPT_NO_CACHE,
};
#define TOOL_LAYER_SHORTOPTS "c:l:T:"
/* the --help lines of the cache options */
#define TOOL_CACHE_HELP \
	"      --cache=DIR           gzip: reuse compressed blocks kept in DIR from\n" \
	"                            earlier builds (same bytes; default:\n" \
	"                            $OCI_LAYER_CACHE_DIR; docs/cache.md)\n" \
	"      --cache-max=SIZE      keep DIR within SIZE bytes (K, M, G, T suffixes;\n" \
	"                            0: no bound; default $OCI_LAYER_CACHE_MAX or 2G)\n" \
	"      --no-cache            no cache, whatever $OCI_LAYER_CACHE_DIR says\n"
#define TOOL_LAYER_LONGOPTS \
	{ "compress", required_argument, NULL, 'c' }, \
	{ "gzip", no_argument, NULL, TOOL_OPT_GZIP }, \
	{ "zstd", no_argument, NULL, TOOL_OPT_ZSTD }, \
	{ "level", required_argument, NULL, 'l' }, \
	{ "threads", required_argument, NULL, 'T' }, \
	{ "source-date-epoch", required_argument, NULL, TOOL_OPT_EPOCH }, \
	{ "created-by", required_argument, NULL, TOOL_OPT_CREATED_BY }, \
	{ "comment", required_argument, NULL, TOOL_OPT_COMMENT }, \
	{ "summary", no_argument, NULL, TOOL_OPT_SUMMARY }, \
	{ "print-descriptor", required_argument, NULL, TOOL_OPT_DESCRIPTOR }, \
	{ "cache", required_argument, NULL, TOOL_OPT_CACHE }, \
	{ "cache-max", required_argument, NULL, TOOL_OPT_CACHE_MAX }, \
	{ "no-cache", no_argument, NULL, TOOL_OPT_NO_CACHE }

void tool_layer_args_init(struct tool_layer_args *a);
/* 1 when c was one of the shared options (handled), else 0. */
int tool_layer_option(struct tool_layer_args *a, int c, const char *arg);
/* Default level, level range, SOURCE_DATE_EPOCH, created. */
void tool_layer_args_done(struct tool_layer_args *a);
/* --summary's words on the block cache ("" without one) into buf. */
const char *tool_cache_summary(int used, const struct ocis_blockcache_stats *st, char *buf,
			       size_t size);
/* --print-descriptor: the layer descriptor as JSON. */
void tool_layer_print_descriptor(const struct tool_layer_args *a, const struct ocis_layer_desc *d);
/*
 * Options that choose one image of an input holding several (oci-flatten's
 * input, oci-diff's image lower): -t/--ref, -a/--arch (mapped to the OCI
 * name, which may set the variant too), --variant, --os.  Put
 * TOOL_IMAGE_LONGOPTS and TOOL_IMAGE_SHORTOPTS in the tables and hand
 * every option to tool_image_option.
 */
struct tool_image_args {
	const char *ref, *arch, *variant, *os;	/* NULL = any */
};
enum { TOOL_OPT_VARIANT = 0x1100, TOOL_OPT_OS };
#define TOOL_IMAGE_SHORTOPTS "t:a:"
#define TOOL_IMAGE_LONGOPTS \
	{ "ref", required_argument, NULL, 't' }, \
	{ "arch", required_argument, NULL, 'a' }, \
	{ "variant", required_argument, NULL, TOOL_OPT_VARIANT }, \
	{ "os", required_argument, NULL, TOOL_OPT_OS }
/* 1 when c was one of those options (handled), else 0. */
int tool_image_option(struct tool_image_args *a, int c, const char *arg);

/* Library callbacks: warnings through tool_warn, entry names with -v. */
void tool_on_warn(void *ctx, const char *msg);
/* Library callback: a message shown with -v. */
void tool_on_note(void *ctx, const char *msg);
void tool_on_entry(void *ctx, const char *name);

/* Append a copy of v to s; dies when out of memory. */
struct ocis_strv;
void tool_strv_push(struct ocis_strv *s, const char *v);

/* Flush and close stdout; on error print it and return 1, else 0. */
int tool_finish(void);

#endif
