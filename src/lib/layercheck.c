/* SPDX-License-Identifier: MIT */
/*
 * Layer blobs against their diff_ids: see ocistream/layercheck.h.
 *
 * Two threads, two rings.  The caller fills fixed-size slots of the input
 * ring and hands each over when it is full or its blob ends; the decoder
 * takes them in order and decompresses into the buffers of the output
 * ring; the hasher hashes those in order and records one result per blob
 * (its uncompressed digest and size, or why it could not be
 * decompressed), told by a last buffer that marks the blob's end.  One
 * thread doing both fell behind a stream that came faster than it could
 * inflate and hash one after the other (oci-pack on a stream read from a
 * file, oci-layer on more cores): split, each part runs at its own speed.
 * Nothing is compared until finish: a blob's result may be asked for long
 * after it passed (a base image's layers are named at the end of its
 * archive).
 *
 * gzip: oci-layer writes one gzip member per MiB of tar, so the fast path
 * gathers whole members and inflates each one in a single libdeflate call
 * (about 7 % less CPU than ISA-L's streaming inflate, two to three times
 * zlib's speed; docs/performance.md).  A member is complete once more
 * bytes are buffered than a MiB of data can compress to; a member that
 * does not fit (another tool's single member, data that would not
 * compress), that libdeflate refuses, or whose header has a CRC (which
 * libdeflate skips unchecked) goes to the gunzip module, streaming (ISA-L
 * when the build has it, zlib otherwise), for the rest of the blob, which
 * also words the error.  After the last member nothing but another member
 * may follow, as for a client's reader (Go's gzip reader fails on any
 * trailing byte).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libdeflate.h>
#include <zstd.h>
#include <zstd_errors.h>

#include <ocistream/gunzip.h>
#include <ocistream/hash.h>
#include <ocistream/layercheck.h>

#include "internal.h"

#define SLOT_SIZE (256 * 1024)
#define N_SLOTS 8
/* an oci-layer gzip member holds 1 MiB of tar: an output buffer takes one */
#define GOUT_CAP (1024 * 1024)
/* output buffers: one filled, the others hashed or waiting */
#define N_OUT 4
/* more than a 1 MiB member can compress to (libdeflate's bound is a few
 * hundred bytes over): with this much buffered, a member is whole */
#define GIN_WHOLE (GOUT_CAP + 64 * 1024)
/* room for four: the bytes left after the whole members (less than
 * GIN_WHOLE) move to the front only when the buffer is full, about once
 * every three members, where moving them after each member copied three
 * times the compressed size */
#define GIN_CAP (4 * GIN_WHOLE)
/* the gzip header flag of a header CRC */
#define GZ_FHCRC 0x02
#define ZOUT_SIZE (256 * 1024)
/* 128 MiB, as the tar reader allows (libzstd's default limit) */
#define ZSTD_WINDOW_LOG_MAX 27

/* n buffers handed from one thread to the next, in order */
struct ring {
	pthread_mutex_t mu;
	pthread_cond_t work, space;
	size_t n, tail, count;		/* handed over: tail .. tail+count-1 */
	int closing;
	/* the filling side's */
	int filling;
	size_t fill;			/* the buffer being filled */
};

struct slot {
	unsigned char *data;
	size_t len;
	int end;			/* the blob ends with this slot */
	char digest[OCIS_DIGEST_STR_SIZE];
};

/* Decompressed bytes for the hasher, or (end) the blob's end. */
struct outbuf {
	unsigned char *data;		/* GOUT_CAP bytes */
	size_t len;
	int end;
	int plain;			/* end: not compressed, its own content */
	uint64_t usize;			/* end: the blob's uncompressed size */
	char *why;			/* end: could not be decompressed: why */
	char digest[OCIS_DIGEST_STR_SIZE];
};

/* One blob seen; found by digest (the first member). */
struct result {
	char digest[OCIS_DIGEST_STR_SIZE];
	char *diff_id;			/* NULL: not compressed, the digest itself */
	char *why;			/* could not be decompressed: why */
	uint64_t usize;
};

struct expect {
	char digest[OCIS_DIGEST_STR_SIZE];
	char diff_id[OCIS_DIGEST_STR_SIZE];
	uint64_t usize;
	size_t n;
};

enum codec { K_UNKNOWN, K_PLAIN, K_GZIP, K_ZSTD };

struct ocis_layercheck {
	pthread_t thread, hasher;
	int started, hasher_started;
	struct ring in, outr;
	struct slot slots[N_SLOTS];
	struct outbuf outs[N_OUT];

	/* caller side */
	struct expect *expects;
	size_t n_expects, cap_expects;

	/* decoder side */
	char *fail;			/* the decoder could not go on (out of memory) */
	enum codec codec;
	uint64_t usize;
	char *why;
	/* gzip */
	struct libdeflate_decompressor *ld;
	unsigned char *gin;
	size_t gin_pos, gin_len;	/* the bytes not inflated yet: [pos, len) */
	int gz_stream;			/* gunzip for the rest of the blob */
	int gz_between;			/* gunzip: a member ended, the next one not begun */
	struct ocis_gunzip *gz;
	/* zstd */
	ZSTD_DCtx *zd;
	size_t zs_hint;			/* 0: between frames */

	/* hasher side */
	char *hfail;			/* the hasher could not go on (out of memory) */
	struct ocis_hash hash;
	int hash_live;
	struct result *results;
	size_t n_results, cap_results;
	struct ocis__digest_index result_index;
};

/* --- the rings -------------------------------------------------------------- */

static void
ring_init(struct ring *r, size_t n)
{
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->work, NULL);
	pthread_cond_init(&r->space, NULL);
	r->n = n;
}

static void
ring_destroy(struct ring *r)
{
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->work);
	pthread_cond_destroy(&r->space);
}

/* The buffer being filled, the next free one (waiting while every one is
 * handed over) when none is: *fresh says so. */
static size_t
ring_to_fill(struct ring *r, int *fresh)
{
	*fresh = !r->filling;
	if (r->filling)
		return r->fill;
	pthread_mutex_lock(&r->mu);
	while (r->count == r->n)
		pthread_cond_wait(&r->space, &r->mu);
	r->fill = (r->tail + r->count) % r->n;
	pthread_mutex_unlock(&r->mu);
	r->filling = 1;
	return r->fill;
}

/* The buffer being filled is handed over. */
static void
ring_put(struct ring *r)
{
	pthread_mutex_lock(&r->mu);
	r->count++;
	pthread_cond_signal(&r->work);
	pthread_mutex_unlock(&r->mu);
	r->filling = 0;
}

/* The oldest buffer handed over, waiting for one; 0 once the ring is
 * closed and empty. */
static int
ring_take(struct ring *r, size_t *i)
{
	int got;

	pthread_mutex_lock(&r->mu);
	while (r->count == 0 && !r->closing)
		pthread_cond_wait(&r->work, &r->mu);
	got = r->count > 0;
	*i = r->tail;
	pthread_mutex_unlock(&r->mu);
	return got;
}

/* The buffer ring_take gave is free again. */
static void
ring_done(struct ring *r)
{
	pthread_mutex_lock(&r->mu);
	r->tail = (r->tail + 1) % r->n;
	r->count--;
	pthread_cond_signal(&r->space);
	pthread_mutex_unlock(&r->mu);
}

/* Nothing more will be handed over. */
static void
ring_close(struct ring *r)
{
	pthread_mutex_lock(&r->mu);
	r->closing = 1;
	pthread_cond_signal(&r->work);
	pthread_mutex_unlock(&r->mu);
}

/* --- the decoder ---------------------------------------------------------- */

/* The blob's error (the first one counts). */
static void
blob_fail(struct ocis_layercheck *c, const char *fmt, ...)
{
	va_list ap;
	char buf[256];

	if (c->why)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	c->why = strdup(buf);
	if (c->why == NULL && c->fail == NULL)
		c->fail = strdup("out of memory");
}

/* The output buffer to decompress into (GOUT_CAP bytes), waiting while
 * the hasher has them all. */
static struct outbuf *
out_buf(struct ocis_layercheck *c)
{
	int fresh;
	struct outbuf *o = &c->outs[ring_to_fill(&c->outr, &fresh)];

	if (fresh)
		o->end = 0;
	return o;
}

/* n bytes were decompressed into out_buf: to the hasher (none: the
 * buffer stays). */
static void
out(struct ocis_layercheck *c, size_t n)
{
	if (n == 0)
		return;
	c->outs[c->outr.fill].len = n;
	c->usize += n;
	ring_put(&c->outr);
}

static void
stream_feed(struct ocis_layercheck *c, const unsigned char *p, size_t n)
{
	while (n > 0 && c->why == NULL) {
		enum ocis_gunzip_status st;
		const char *why = NULL;
		size_t used, k;

		if (c->gz_between) {
			/* only another member may follow (the header's second
			 * byte and the rest are the inflater's to check) */
			if (p[0] != 0x1f) {
				blob_fail(c, "garbage after its gzip data");
				break;
			}
			ocis_gunzip_reset(c->gz);
			c->gz_between = 0;
		}
		st = ocis_gunzip_inflate(c->gz, p, n, &used, out_buf(c)->data, GOUT_CAP, &k,
					 &why);
		out(c, k);
		p += used;
		n -= used;
		if (st == OCIS_GUNZIP_ERROR)
			blob_fail(c, "its gzip data is damaged (%s)", why);
		else if (st == OCIS_GUNZIP_END)
			c->gz_between = 1;
	}
}

static void
to_stream(struct ocis_layercheck *c, const unsigned char *p, size_t n)
{
	ocis_error_t *e = NULL;

	if (c->gz == NULL && ocis_gunzip_new(&c->gz, &e) < 0) {
		blob_fail(c, "%s", e->msg);
		ocis_error_free(&e);
		return;
	}
	ocis_gunzip_reset(c->gz);
	c->gz_stream = 1;
	c->gz_between = 0;
	stream_feed(c, p, n);
}

/* Inflate the whole members buffered (all of them at the end). */
static void
gz_fast(struct ocis_layercheck *c, int final)
{
	size_t pos = c->gin_pos;

	while (c->why == NULL && !c->gz_stream &&
	       (c->gin_len - pos >= GIN_WHOLE || (final && pos < c->gin_len))) {
		size_t in_used, out_n;
		enum libdeflate_result r;

		if (c->gin[pos] != 0x1f || (c->gin_len - pos >= 2 && c->gin[pos + 1] != 0x8b)) {
			blob_fail(c, "garbage after its gzip data");
			break;
		}
		r = LIBDEFLATE_BAD_DATA;
		if (c->gin_len - pos < 4 || !(c->gin[pos + 3] & GZ_FHCRC))
			r = libdeflate_gzip_decompress_ex(c->ld, c->gin + pos, c->gin_len - pos,
							  out_buf(c)->data, GOUT_CAP, &in_used,
							  &out_n);
		if (r == LIBDEFLATE_SUCCESS) {
			out(c, out_n);
			pos += in_used;
			continue;
		}
		/* a member over 1 MiB, or damaged: gunzip says which */
		to_stream(c, c->gin + pos, c->gin_len - pos);
		pos = c->gin_len;
	}
	c->gin_pos = pos;
	if (pos == c->gin_len)
		c->gin_pos = c->gin_len = 0;
}

static void
gz_data(struct ocis_layercheck *c, const unsigned char *p, size_t n)
{
	while (n > 0 && c->why == NULL) {
		size_t k;

		if (c->gz_stream) {
			stream_feed(c, p, n);
			return;
		}
		/* full: what gz_fast left (less than GIN_WHOLE) to the front */
		if (c->gin_len == GIN_CAP) {
			memmove(c->gin, c->gin + c->gin_pos, c->gin_len - c->gin_pos);
			c->gin_len -= c->gin_pos;
			c->gin_pos = 0;
		}
		k = GIN_CAP - c->gin_len < n ? GIN_CAP - c->gin_len : n;
		memcpy(c->gin + c->gin_len, p, k);
		c->gin_len += k;
		p += k;
		n -= k;
		gz_fast(c, 0);
	}
}

static void
gz_end(struct ocis_layercheck *c)
{
	if (!c->gz_stream)
		gz_fast(c, 1);
	if (c->gz_stream && !c->gz_between)
		blob_fail(c, "its gzip data is truncated");
}

static void
zs_data(struct ocis_layercheck *c, const unsigned char *p, size_t n)
{
	ZSTD_inBuffer in = { p, n, 0 };
	ZSTD_outBuffer o;

	do {
		size_t r;

		o.dst = out_buf(c)->data;
		o.size = ZOUT_SIZE;
		o.pos = 0;
		r = ZSTD_decompressStream(c->zd, &o, &in);
		if (ZSTD_isError(r)) {
			if (ZSTD_getErrorCode(r) == ZSTD_error_frameParameter_windowTooLarge)
				blob_fail(c, "its zstd data needs a window of more than %d MiB, "
					  "over what ocipipe decompresses", 1 << (ZSTD_WINDOW_LOG_MAX - 20));
			else
				blob_fail(c, "its zstd data is damaged (%s)", ZSTD_getErrorName(r));
			return;
		}
		out(c, o.pos);
		c->zs_hint = r;
		/* a full buffer may hold back more of the frame, unless the
		 * frame ended with it (0): called again without input, libzstd
		 * would start on the next frame's header and ask for it, and
		 * the blob would pass for truncated (a layer of a multiple of
		 * 256 KiB, one frame) */
	} while (in.pos < in.size || (o.pos == o.size && c->zs_hint != 0));
}

/* A new blob starts: its codec from its first bytes (the first slot of a
 * blob holds them all, unless the blob is shorter). */
static int
blob_start(struct ocis_layercheck *c, const unsigned char *p, size_t n)
{
	c->usize = 0;
	free(c->why);
	c->why = NULL;
	if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b) {
		c->codec = K_GZIP;
		c->gin_pos = c->gin_len = 0;
		c->gz_stream = 0;
		if (c->ld == NULL && (c->ld = libdeflate_alloc_decompressor()) == NULL)
			return -1;
		if (c->gin == NULL && (c->gin = malloc(GIN_CAP)) == NULL)
			return -1;
	} else if (n >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd) {
		c->codec = K_ZSTD;
		if (c->zd == NULL) {
			if ((c->zd = ZSTD_createDCtx()) == NULL ||
			    ZSTD_isError(ZSTD_DCtx_setParameter(c->zd, ZSTD_d_windowLogMax,
								ZSTD_WINDOW_LOG_MAX)))
				return -1;
		} else {
			ZSTD_DCtx_reset(c->zd, ZSTD_reset_session_only);
		}
		c->zs_hint = 0;
	} else {
		c->codec = K_PLAIN;
	}
	return 0;
}

/* The blob ends: its size and its error, if any, to the hasher. */
static void
blob_end(struct ocis_layercheck *c, const char *digest)
{
	struct outbuf *o;

	if (c->codec == K_GZIP)
		gz_end(c);
	else if (c->codec == K_ZSTD && c->why == NULL && c->zs_hint != 0)
		blob_fail(c, "its zstd data is truncated");
	o = out_buf(c);
	o->len = 0;
	o->end = 1;
	o->plain = c->codec == K_PLAIN;
	o->usize = c->usize;
	o->why = c->why;
	c->why = NULL;
	memcpy(o->digest, digest, sizeof(o->digest));
	ring_put(&c->outr);
	c->codec = K_UNKNOWN;
}

static int
take_slot(struct ocis_layercheck *c, struct slot *s)
{
	if (c->codec == K_UNKNOWN && blob_start(c, s->data, s->len) < 0)
		return -1;
	if (c->why == NULL) {
		switch (c->codec) {
		case K_PLAIN:
			c->usize += s->len;
			break;
		case K_GZIP:
			gz_data(c, s->data, s->len);
			break;
		case K_ZSTD:
			zs_data(c, s->data, s->len);
			break;
		case K_UNKNOWN:
			break;
		}
	}
	if (s->end)
		blob_end(c, s->digest);
	return 0;
}

static void *
thread_main(void *arg)
{
	struct ocis_layercheck *c = arg;
	size_t i;

	while (ring_take(&c->in, &i)) {
		if (c->fail == NULL && take_slot(c, &c->slots[i]) < 0 && c->fail == NULL)
			c->fail = strdup("out of memory");
		ring_done(&c->in);
	}
	ring_close(&c->outr);
	return NULL;
}

/* --- the hasher ----------------------------------------------------------- */

/* The blob o ends: its result. */
static int
record(struct ocis_layercheck *c, struct outbuf *o)
{
	struct result *r;
	ocis_error_t *e = NULL;
	char diff[OCIS_DIGEST_STR_SIZE];

	if (ocis__grow((void **)&c->results, &c->cap_results, c->n_results + 1,
		       sizeof(*c->results), &e) < 0)
		goto fail;
	r = &c->results[c->n_results];
	memset(r, 0, sizeof(*r));
	memcpy(r->digest, o->digest, sizeof(r->digest));
	r->usize = o->usize;
	if (o->why) {
		r->why = o->why;
		o->why = NULL;
	} else if (!o->plain) {
		if (ocis_hash_final(&c->hash, diff, &e) < 0 || (r->diff_id = strdup(diff)) == NULL)
			goto fail;
	}
	if (ocis__dix_add(&c->result_index, c->results, sizeof(*c->results), c->n_results,
			  &e) < 0) {
		free(r->diff_id);
		free(r->why);
		goto fail;
	}
	c->n_results++;
	/* the next blob's hash starts from nothing, whatever this one was */
	if (ocis_hash_reset(&c->hash, &e) < 0)
		goto fail;
	return 0;
fail:
	ocis_error_free(&e);
	return -1;
}

static void *
hasher_main(void *arg)
{
	struct ocis_layercheck *c = arg;
	size_t i;

	while (ring_take(&c->outr, &i)) {
		struct outbuf *o = &c->outs[i];

		if (c->hfail == NULL) {
			ocis_hash_update(&c->hash, o->data, o->len);
			if (o->end && record(c, o) < 0 && c->hfail == NULL)
				c->hfail = strdup("out of memory");
		}
		free(o->why);
		o->why = NULL;
		ring_done(&c->outr);
	}
	return NULL;
}

/* --- the caller ------------------------------------------------------------ */

int
ocis_layercheck_new(struct ocis_layercheck **out, ocis_error_t **err)
{
	struct ocis_layercheck *c = calloc(1, sizeof(*c));
	size_t i;

	*out = NULL;
	if (c == NULL)
		return ocis_error_oom(err);
	ring_init(&c->in, N_SLOTS);
	ring_init(&c->outr, N_OUT);
	*out = c;
	for (i = 0; i < N_SLOTS; i++)
		if ((c->slots[i].data = malloc(SLOT_SIZE)) == NULL)
			return ocis_error_oom(err);
	for (i = 0; i < N_OUT; i++)
		if ((c->outs[i].data = malloc(GOUT_CAP)) == NULL)
			return ocis_error_oom(err);
	if (ocis_hash_init(&c->hash, err) < 0)
		return -1;
	c->hash_live = 1;
	if (ocis__thread_start(&c->hasher, hasher_main, c, err) < 0)
		return ocis_error_wrap(err, "cannot start the layer check's hasher");
	c->hasher_started = 1;
	if (ocis__thread_start(&c->thread, thread_main, c, err) < 0)
		return ocis_error_wrap(err, "cannot start the layer check's decoder");
	c->started = 1;
	return 0;
}

/* Stop the threads once they have taken every buffer handed over (the
 * decoder closes the hasher's ring when it ends). */
static void
stop(struct ocis_layercheck *c)
{
	if (c->started) {
		ring_close(&c->in);
		pthread_join(c->thread, NULL);
		c->started = 0;
	}
	if (c->hasher_started) {
		ring_close(&c->outr);
		pthread_join(c->hasher, NULL);
		c->hasher_started = 0;
	}
}

void
ocis_layercheck_free(struct ocis_layercheck *c)
{
	size_t i;

	if (c == NULL)
		return;
	stop(c);
	for (i = 0; i < N_SLOTS; i++)
		free(c->slots[i].data);
	for (i = 0; i < N_OUT; i++) {
		free(c->outs[i].data);
		free(c->outs[i].why);
	}
	for (i = 0; i < c->n_results; i++) {
		free(c->results[i].diff_id);
		free(c->results[i].why);
	}
	free(c->results);
	free(c->result_index.slots);
	free(c->expects);
	free(c->fail);
	free(c->hfail);
	free(c->why);
	if (c->hash_live)
		ocis_hash_release(&c->hash);
	if (c->ld)
		libdeflate_free_decompressor(c->ld);
	free(c->gin);
	ocis_gunzip_free(c->gz);
	ZSTD_freeDCtx(c->zd);
	ring_destroy(&c->in);
	ring_destroy(&c->outr);
	free(c);
}

/* The slot to fill, waiting while the ring is full. */
static struct slot *
filling(struct ocis_layercheck *c)
{
	int fresh;
	struct slot *s = &c->slots[ring_to_fill(&c->in, &fresh)];

	if (fresh) {
		s->len = 0;
		s->end = 0;
	}
	return s;
}

int
ocis_layercheck_feed(struct ocis_layercheck *c, const void *data, size_t len,
		     ocis_error_t **err)
{
	const unsigned char *p = data;

	(void)err;
	while (len > 0) {
		struct slot *s = filling(c);
		size_t k = SLOT_SIZE - s->len < len ? SLOT_SIZE - s->len : len;

		memcpy(s->data + s->len, p, k);
		s->len += k;
		p += k;
		len -= k;
		if (s->len == SLOT_SIZE)
			ring_put(&c->in);
	}
	return 0;
}

int
ocis_layercheck_end_blob(struct ocis_layercheck *c, const char *digest, ocis_error_t **err)
{
	struct slot *s = filling(c);

	(void)err;
	s->end = 1;
	snprintf(s->digest, sizeof(s->digest), "%s", digest);
	ring_put(&c->in);
	return 0;
}

int
ocis_layercheck_expect(struct ocis_layercheck *c, const struct ocis_layer_desc *d, size_t n,
		       ocis_error_t **err)
{
	struct expect *x;

	if (ocis__grow((void **)&c->expects, &c->cap_expects, c->n_expects + 1,
		       sizeof(*c->expects), err) < 0)
		return -1;
	x = &c->expects[c->n_expects++];
	memcpy(x->digest, d->digest, sizeof(x->digest));
	memcpy(x->diff_id, d->diff_id, sizeof(x->diff_id));
	x->usize = d->uncompressed_size;
	x->n = n;
	return 0;
}

int
ocis_layercheck_finish(struct ocis_layercheck *c, ocis_error_t **err)
{
	size_t i;

	stop(c);
	if (c->fail || c->hfail)
		return ocis_error_set(err, 0, "checking the layers: %s",
				      c->fail ? c->fail : c->hfail);
	for (i = 0; i < c->n_expects; i++) {
		const struct expect *x = &c->expects[i];
		const struct result *r = ocis__dix_find(&c->result_index, c->results,
							sizeof(*c->results), x->digest);

		if (r == NULL)
			return ocis_error_set(err, EINVAL, "internal: layer %zu (%s) was not "
					      "checked", x->n, x->digest);
		if (r->why)
			return ocis_error_set(err, 0, "layer %zu (%s): %s", x->n, x->digest,
					      r->why);
		if (strcmp(r->diff_id ? r->diff_id : r->digest, x->diff_id) != 0)
			return ocis_error_set(err, 0, "layer %zu (%s): its uncompressed content "
					      "is %s, not the diffID %s its descriptor says",
					      x->n, x->digest, r->diff_id ? r->diff_id : r->digest,
					      x->diff_id);
		if (x->usize != 0 && r->usize != x->usize)
			return ocis_error_set(err, 0, "layer %zu (%s): %" PRIu64 " bytes "
					      "uncompressed, not the %" PRIu64 " its descriptor "
					      "says", x->n, x->digest, r->usize, x->usize);
	}
	return 0;
}
