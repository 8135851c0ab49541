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

#include <ocistream/error.h>

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

/* Flush and close stdout; on error print it and return 1, else 0. */
int tool_finish(void);

#endif
