/* SPDX-License-Identifier: MIT */
/*
 * Shell-like word splitting: see ocistream/shellsplit.h.
 */
#include "config.h"

#include <string.h>

#include <ocistream/io.h>
#include <ocistream/shellsplit.h>
#include <ocistream/strv.h>

int
ocis_shell_split(const char *s, struct ocis_strv *out, ocis_error_t **err)
{
	struct ocis_buf w = OCIS_BUF_INIT;
	struct ocis_strv n = { NULL, 0, 0 };
	const char *p = s;
	int in_word = 0;
	size_t i;

	for (;;) {
		char ch = *p;
		if (ch == 0 || ch == ' ' || ch == '\t' || ch == '\n') {
			if (in_word) {
				if (ocis_strv_push(&n, w.data ? (char *)w.data : "", err) < 0)
					goto fail;
				ocis_buf_reset(&w);
				in_word = 0;
			}
			if (ch == 0)
				break;
			p++;
			continue;
		}
		in_word = 1;
		if (ch == '\'') {
			const char *end = strchr(p + 1, '\'');
			if (end == NULL) {
				ocis_error_set(err, 0, "unterminated single quote");
				goto fail;
			}
			if (ocis_buf_add(&w, p + 1, (size_t)(end - p - 1), err) < 0)
				goto fail;
			p = end + 1;
		} else if (ch == '"') {
			p++;
			while (*p != '"') {
				if (*p == 0) {
					ocis_error_set(err, 0, "unterminated double quote");
					goto fail;
				}
				if (*p == '\\' && p[1] != 0 && strchr("\\\"$`", p[1]) != NULL)
					p++;
				if (ocis_buf_add(&w, p, 1, err) < 0)
					goto fail;
				p++;
			}
			p++;
		} else if (ch == '\\') {
			if (p[1] == 0) {
				ocis_error_set(err, 0, "trailing backslash");
				goto fail;
			}
			if (p[1] != '\n' && ocis_buf_add(&w, p + 1, 1, err) < 0)
				goto fail;
			p += 2;
		} else {
			if (ocis_buf_add(&w, p, 1, err) < 0)
				goto fail;
			p++;
		}
	}
	for (i = 0; i < n.n; i++)
		if (ocis_strv_push(out, n.v[i], err) < 0)
			goto fail;
	out->set = 1;
	ocis_strv_clear(&n);
	ocis_buf_release(&w);
	return 0;
fail:
	ocis_strv_clear(&n);
	ocis_buf_release(&w);
	return -1;
}
