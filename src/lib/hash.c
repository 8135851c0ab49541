/* SPDX-License-Identifier: MIT */
/* SHA-256 digests: see ocistream/hash.h. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include <ocistream/hash.h>

#include "sha256ni-private.h"

static int
openssl_error(ocis_error_t **err, const char *what)
{
	char buf[256];
	unsigned long e = ERR_get_error();

	if (e == 0)
		return ocis_error_set(err, 0, "%s: openssl error", what);
	ERR_error_string_n(e, buf, sizeof(buf));
	return ocis_error_set(err, 0, "%s: %s", what, buf);
}

int
ocis_hash_init(struct ocis_hash *h, ocis_error_t **err)
{
	EVP_MD_CTX *c;

	h->ctx = NULL;
	h->ni = 0;
#if OCIS_SHA256NI
	if (ocis__sha256ni_usable()) {
		struct ocis__sha256 *s = malloc(sizeof(*s));

		if (s == NULL)
			return ocis_error_oom(err);
		ocis__sha256_init(s);
		h->ctx = s;
		h->ni = 1;
		return 0;
	}
#endif
	c = EVP_MD_CTX_new();
	if (c == NULL)
		return ocis_error_oom(err);
	if (EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(c);
		return openssl_error(err, "sha256 init");
	}
	h->ctx = c;
	return 0;
}

void
ocis_hash_update(struct ocis_hash *h, const void *data, size_t len)
{
	if (len == 0)
		return;
#if OCIS_SHA256NI
	if (h->ni) {
		ocis__sha256_update(h->ctx, data, len);
		return;
	}
#endif
	/* EVP_DigestUpdate on an initialised SHA-256 context cannot fail. */
	EVP_DigestUpdate(h->ctx, data, len);
}

void
ocis_hash_update2(struct ocis_hash *a, const void *pa, size_t na, struct ocis_hash *b,
		  const void *pb, size_t nb)
{
#if OCIS_SHA256NI
	if (a->ni && b->ni) {
		ocis__sha256_update2(a->ctx, pa, na, b->ctx, pb, nb);
		return;
	}
#endif
	ocis_hash_update(a, pa, na);
	ocis_hash_update(b, pb, nb);
}

int
ocis_hash_final_raw(struct ocis_hash *h, unsigned char out[OCIS_DIGEST_LEN], ocis_error_t **err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

#if OCIS_SHA256NI
	if (h->ni) {
		ocis__sha256_final(h->ctx, out);
		return 0;
	}
#endif
	if (EVP_DigestFinal_ex(h->ctx, md, &n) != 1 || n != OCIS_DIGEST_LEN)
		return openssl_error(err, "sha256 final");
	memcpy(out, md, OCIS_DIGEST_LEN);
	return 0;
}

void
ocis_digest_format(const unsigned char md[OCIS_DIGEST_LEN], char out[OCIS_DIGEST_STR_SIZE])
{
	static const char hex[] = "0123456789abcdef";
	unsigned int i;

	memcpy(out, "sha256:", 7);
	for (i = 0; i < OCIS_DIGEST_LEN; i++) {
		out[7 + 2 * i] = hex[md[i] >> 4];
		out[7 + 2 * i + 1] = hex[md[i] & 15];
	}
	out[7 + 64] = 0;
}

int
ocis_hash_final(struct ocis_hash *h, char out[OCIS_DIGEST_STR_SIZE], ocis_error_t **err)
{
	unsigned char md[OCIS_DIGEST_LEN];

	if (ocis_hash_final_raw(h, md, err) < 0)
		return -1;
	ocis_digest_format(md, out);
	return 0;
}

int
ocis_hash_reset(struct ocis_hash *h, ocis_error_t **err)
{
#if OCIS_SHA256NI
	if (h->ni) {
		ocis__sha256_init(h->ctx);
		return 0;
	}
#endif
	if (EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1)
		return openssl_error(err, "sha256 init");
	return 0;
}

int
ocis_hash_copy(struct ocis_hash *dst, const struct ocis_hash *src, ocis_error_t **err)
{
#if OCIS_SHA256NI
	/* both made by ocis_hash_init in this process: the same kind */
	if (dst->ni && src->ni) {
		memcpy(dst->ctx, src->ctx, sizeof(struct ocis__sha256));
		return 0;
	}
#endif
	if (EVP_MD_CTX_copy_ex(dst->ctx, src->ctx) != 1)
		return openssl_error(err, "sha256 copy");
	return 0;
}

void
ocis_hash_release(struct ocis_hash *h)
{
	if (h->ctx == NULL)
		return;
	if (h->ni)
		free(h->ctx);
	else
		EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

/* One-shot digests: as a string (raw == NULL) or as 32 bytes. */
static int
hash_buffer(const void *data, size_t len, char *out, unsigned char *raw, ocis_error_t **err)
{
	struct ocis_hash h;
	int r;

	if (ocis_hash_init(&h, err) < 0)
		return -1;
	ocis_hash_update(&h, data, len);
	r = raw ? ocis_hash_final_raw(&h, raw, err) : ocis_hash_final(&h, out, err);
	ocis_hash_release(&h);
	return r;
}

int
ocis_hash_buffer(const void *data, size_t len, char out[OCIS_DIGEST_STR_SIZE], ocis_error_t **err)
{
	return hash_buffer(data, len, out, NULL, err);
}

int
ocis_hash_buffer_raw(const void *data, size_t len, unsigned char out[OCIS_DIGEST_LEN],
		     ocis_error_t **err)
{
	return hash_buffer(data, len, NULL, out, err);
}

int
ocis_digest_valid(const char *s)
{
	size_t i;

	if (s == NULL || strncmp(s, "sha256:", 7) != 0 || strlen(s) != 71)
		return 0;
	for (i = 7; i < 71; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}
