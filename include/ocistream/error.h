/* SPDX-License-Identifier: MIT */
/*
 * Error carrier of libocistream.
 *
 * Every fallible library function returns int (>= 0 on success, -1 on
 * failure) and takes `ocis_error_t **err` as its last argument.  On failure
 * it allocates *err (if err is not NULL and *err is NULL) with a message of
 * the shape "what failed: why" (lowercase, no full stop).  The library never
 * prints and never exits; the tools print "prog: <msg>" and exit 1.
 */
#ifndef OCISTREAM_ERROR_H
#define OCISTREAM_ERROR_H

#include <stdarg.h>

typedef struct ocis_error {
	int code;	/* errno value, or 0 */
	char *msg;	/* owned; never NULL once set */
} ocis_error_t;

/* Set *err from a printf format; appends ": strerror(code)" when code != 0.
 * Keeps an error that is already set (the first cause wins).  Returns -1. */
int ocis_error_set(ocis_error_t **err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix the message of an existing error with context ("ctx: old").
 * Sets a generic error if none is set.  Returns -1. */
int ocis_error_wrap(ocis_error_t **err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* "out of memory" with ENOMEM.  Returns -1. */
int ocis_error_oom(ocis_error_t **err);

/* Free the error and set *err to NULL.  Safe on NULL. */
void ocis_error_free(ocis_error_t **err);

#endif
