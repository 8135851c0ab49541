/* SPDX-License-Identifier: MIT */
/*
 * Shell-like word splitting for values such as OCI_IMAGE_ENTRYPOINT that
 * build systems pass as one string.
 */
#ifndef OCISTREAM_SHELLSPLIT_H
#define OCISTREAM_SHELLSPLIT_H

#include <ocistream/error.h>
#include <ocistream/strv.h>

/* Split like a POSIX shell would, with no expansion: blanks separate
 * words, '...' is literal, "..." honours \\ \" \$ \`, a backslash outside
 * quotes escapes the next character.  Words are appended to out (out->set
 * = 1); on failure (an unterminated quote, a trailing backslash) out is
 * unchanged. */
int ocis_shell_split(const char *s, struct ocis_strv *out, ocis_error_t **err);

#endif
