/* SPDX-License-Identifier: MIT */
/* Error carrier: see include/ocistream/error.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ocistream/error.h>

#include "internal.h"

/* A static error used when allocating the error itself fails. */
static char oom_msg[] = "out of memory";
static ocis_error_t oom_error = { ENOMEM, oom_msg };

/* Messages are one line whatever they quote (names and values come from
 * untrusted input): control characters become '?'. */
static char *
one_line(char *s)
{
	char *p;

	for (p = s; p && *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return s;
}

static char *
vformat(const char *fmt, va_list ap)
{
	char *s = NULL;

	if (vasprintf(&s, fmt, ap) < 0)
		return NULL;
	return one_line(s);
}

int
ocis_error_set(ocis_error_t **err, int code, const char *fmt, ...)
{
	va_list ap;
	char *m, *full;
	ocis_error_t *e;

	if (err == NULL || *err != NULL)
		return -1;
	va_start(ap, fmt);
	m = vformat(fmt, ap);
	va_end(ap);
	if (m == NULL) {
		*err = &oom_error;
		return -1;
	}
	if (code != 0) {
		if (asprintf(&full, "%s: %s", m, strerror(code)) < 0)
			full = NULL;
		free(m);
		m = full;
		if (m == NULL) {
			*err = &oom_error;
			return -1;
		}
	}
	e = malloc(sizeof(*e));
	if (e == NULL) {
		free(m);
		*err = &oom_error;
		return -1;
	}
	e->code = code;
	e->msg = m;
	*err = e;
	return -1;
}

int
ocis_error_wrap(ocis_error_t **err, const char *fmt, ...)
{
	va_list ap;
	char *ctx, *full;

	if (err == NULL)
		return -1;
	if (*err == NULL)
		return ocis_error_set(err, 0, "unknown error");
	if (*err == &oom_error)
		return -1;
	va_start(ap, fmt);
	ctx = vformat(fmt, ap);
	va_end(ap);
	if (ctx == NULL)
		return -1;
	if (asprintf(&full, "%s: %s", ctx, (*err)->msg) >= 0) {
		free((*err)->msg);
		(*err)->msg = full;
	}
	free(ctx);
	return -1;
}

int
ocis_error_oom(ocis_error_t **err)
{
	if (err != NULL && *err == NULL)
		*err = &oom_error;
	return -1;
}

void
ocis_error_free(ocis_error_t **err)
{
	if (err == NULL || *err == NULL)
		return;
	if (*err != &oom_error) {
		free((*err)->msg);
		free(*err);
	}
	*err = NULL;
}

void
ocis__error_keep_first(ocis_error_t **kept, ocis_error_t **e, const char *what)
{
	if (*kept == NULL && e != NULL && *e != NULL) {
		*kept = *e;
		*e = NULL;
	}
	ocis_error_free(e);
	if (*kept == NULL)
		ocis_error_set(kept, 0, "%s", what);
}

int
ocis__error_copy_kept(const ocis_error_t *kept, ocis_error_t **err, const char *what)
{
	int was_unset = err != NULL && *err == NULL;

	ocis_error_set(err, 0, "%s", kept ? kept->msg : what);
	/* the static OOM error has a non-zero code and is never touched */
	if (was_unset && *err != NULL && (*err)->code == 0 && kept != NULL)
		(*err)->code = kept->code;
	return -1;
}
