/* SPDX-License-Identifier: MIT */
/*
 * The table of contents of a lazy-pull layer: see ocistream/toc.h.
 *
 * The whole-file digest and the chunk digest are two sha256 passes over a
 * file's data from its second chunk on: when the first chunk ends with
 * data left, the file's hash starts as a copy of that chunk's.  A file of
 * one chunk (most of them) is hashed once and both digests are the same.
 * From the second chunk on the two passes go side by side
 * (ocis_hash_update2: with the SHA extensions one core does the pair at
 * about 1.5 x the speed of one pass after the other).  The hashing runs
 * on the thread that writes the tar, beside the compressor's.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include <ocistream/toc.h>

#include "internal.h"
#include "toc-private.h"

/* Runs of zeros in content-defined chunks: see "Runs of zeros" below. */
#define HOLE_MIN 1024	/* upstream's holesThreshold */

enum {
	TOC_ZEROS_OPEN,		/* zpend zeros: a run that may still grow */
	TOC_ZEROS_PLAIN,	/* zpend zeros: plain data, to hand over */
	TOC_ZEROS_HOLE,		/* in a hole; zpend of its zeros to hand over */
};

static const unsigned char zeros[HOLE_MIN];

int
ocis_toc_init(struct ocis_toc *t, uint64_t chunk_size, ocis_error_t **err)
{
	memset(t, 0, sizeof(*t));
	t->chunk_size = chunk_size;
	if (ocis_hash_init(&t->file_hash, err) < 0)
		return -1;
	if (ocis_hash_init(&t->chunk_hash, err) < 0) {
		ocis_hash_release(&t->file_hash);
		return -1;
	}
	t->hashes_ready = 1;
	return 0;
}

static void
entry_release(struct ocis_toc_entry *e)
{
	size_t i;

	free(e->name);
	free(e->linkname);
	free(e->uname);
	free(e->gname);
	for (i = 0; i < e->n_xattrs; i++) {
		free(e->xattr_names[i]);
		free(e->xattr_values[i]);
	}
	free(e->xattr_names);
	free(e->xattr_values);
	free(e->xattr_sizes);
}

void
ocis_toc_release(struct ocis_toc *t)
{
	size_t i;

	for (i = 0; i < t->n_entries; i++)
		entry_release(&t->entries[i]);
	free(t->entries);
	free(t->chunks);
	if (t->hashes_ready) {
		ocis_hash_release(&t->file_hash);
		ocis_hash_release(&t->chunk_hash);
	}
	memset(t, 0, sizeof(*t));
}

static int
copy_xattrs(struct ocis_toc_entry *e, const struct ocis_pax_entry *pe, ocis_error_t **err)
{
	size_t i, n = pe->n_xattrs;

	if (n == 0)
		return 0;
	e->xattr_names = calloc(n, sizeof(*e->xattr_names));
	e->xattr_values = calloc(n, sizeof(*e->xattr_values));
	e->xattr_sizes = calloc(n, sizeof(*e->xattr_sizes));
	if (e->xattr_names == NULL || e->xattr_values == NULL || e->xattr_sizes == NULL)
		return ocis_error_oom(err);
	for (; e->n_xattrs < n; e->n_xattrs++) {
		i = e->n_xattrs;
		e->xattr_names[i] = strdup(pe->xattrs[i].name);
		e->xattr_values[i] = malloc(pe->xattrs[i].size ? pe->xattrs[i].size : 1);
		if (e->xattr_names[i] == NULL || e->xattr_values[i] == NULL) {
			e->n_xattrs++;	/* so that release frees what was made */
			return ocis_error_oom(err);
		}
		memcpy(e->xattr_values[i], pe->xattrs[i].value, pe->xattrs[i].size);
		e->xattr_sizes[i] = pe->xattrs[i].size;
	}
	return 0;
}

static int
utf8_or_null(const char *s)
{
	return s == NULL || ocis_utf8_valid(s, strlen(s));
}

int
ocis_toc_add_entry(struct ocis_toc *t, const struct ocis_pax_entry *pe, ocis_error_t **err)
{
	struct ocis_toc_entry e;

	size_t i;

	if (t->data_left > 0)
		return ocis_error_set(err, EINVAL, "internal: TOC entry before the last one's data");
	/* The TOC is JSON: a name it cannot hold would be changed by every
	 * reader (Go writes U+FFFD), and the lazy tree would differ. */
	if (!utf8_or_null(pe->path) || !utf8_or_null(pe->linkname) ||
	    !utf8_or_null(pe->uname) || !utf8_or_null(pe->gname))
		return ocis_error_set(err, EILSEQ, "a lazy-pull layer's TOC is JSON, and this "
				      "entry's name, link target, user or group name is not "
				      "UTF-8 (use --compress=gzip or zstd)");
	for (i = 0; i < pe->n_xattrs; i++)
		if (!utf8_or_null(pe->xattrs[i].name))
			return ocis_error_set(err, EILSEQ, "a lazy-pull layer's TOC is JSON, "
					      "and an xattr name is not UTF-8");
	if (ocis__grow((void **)&t->entries, &t->entries_cap, t->n_entries + 1,
		       sizeof(*t->entries), err) < 0)
		return -1;
	memset(&e, 0, sizeof(e));
	e.type = pe->type;
	e.mode = pe->mode;
	e.uid = pe->uid;
	e.gid = pe->gid;
	e.mtime = pe->mtime;
	e.mtime_nsec = pe->mtime_nsec;
	e.size = pe->type == '0' ? pe->size : 0;
	e.devmajor = pe->devmajor;
	e.devminor = pe->devminor;
	e.chunk0 = t->n_chunks;
	if (ocis__strdup_opt(&e.name, pe->path, err) < 0 ||
	    ocis__strdup_opt(&e.linkname, pe->linkname, err) < 0 ||
	    ocis__strdup_opt(&e.uname, pe->uname && *pe->uname ? pe->uname : NULL, err) < 0 ||
	    ocis__strdup_opt(&e.gname, pe->gname && *pe->gname ? pe->gname : NULL, err) < 0 ||
	    copy_xattrs(&e, pe, err) < 0) {
		entry_release(&e);
		return -1;
	}
	t->entries[t->n_entries++] = e;
	t->data_left = e.size;
	t->chunk_left = 0;
	/* upstream's rolling checksum starts afresh for every file: a window
	 * of zeros, each counted with the 31 added to every byte */
	t->rs1 = 64 * 31;
	t->rs2 = 64 * 63 * 31;
	memset(t->rwindow, 0, sizeof(t->rwindow));
	t->rwofs = 0;
	t->cut = 0;
	t->zpend = 0;
	t->zmode = TOC_ZEROS_OPEN;
	return 0;
}

int
ocis_toc_begin_chunk(struct ocis_toc *t, uint64_t mark, ocis_error_t **err)
{
	struct ocis_toc_entry *e = &t->entries[t->n_entries - 1];
	struct ocis_toc_chunk *c;

	if (!ocis_toc_chunk_due(t))
		return ocis_error_set(err, EINVAL, "internal: TOC chunk where none is due");
	if (ocis__grow((void **)&t->chunks, &t->chunks_cap, t->n_chunks + 1, sizeof(*t->chunks),
		       err) < 0)
		return -1;
	c = &t->chunks[t->n_chunks++];
	memset(c, 0, sizeof(*c));
	c->mark = mark;
	c->zeros = t->zmode == TOC_ZEROS_HOLE;
	c->file_offset = e->size - t->data_left;
	/* a content-defined chunk grows until its cut (or the file's end) */
	c->size = t->chunk_size == 0 ? 0 :
		  t->data_left < t->chunk_size ? t->data_left : t->chunk_size;
	e->n_chunks++;
	t->chunk_left = t->chunk_size == 0 ? t->data_left : c->size;
	t->cut = 0;
	return 0;
}

/* One byte into the rolling sum (drop: the byte leaving the window);
 * 1 when a chunk ends after it. */
static inline int
roll(uint32_t *s1, uint32_t *s2, uint32_t drop, uint32_t add)
{
	*s1 += add - drop;
	*s2 += *s1 - 64 * (drop + 31);
	return (*s2 & 0xffff) == 0xffff;
}

/* b[i..n) rolled, i >= 64 (the byte leaving the window is in b itself):
 * the index after the first cut (*cut = 1), or n. */
static size_t
roll_scalar(const unsigned char *b, size_t i, size_t n, uint32_t *s1, uint32_t *s2, int *cut)
{
	for (; i < n; i++)
		if (roll(s1, s2, b[i - 64], b[i])) {
			*cut = 1;
			return i + 1;
		}
	return n;
}

#if defined(__x86_64__) && defined(__GNUC__)
#define ROLL_AVX2 1
#define AVX2 __attribute__((target("avx2")))

/* The sums of a vector of 16 16-bit lanes up to each lane. */
static inline AVX2 __m256i
prefix16(__m256i v)
{
	__m256i low;

	v = _mm256_add_epi16(v, _mm256_slli_si256(v, 2));
	v = _mm256_add_epi16(v, _mm256_slli_si256(v, 4));
	v = _mm256_add_epi16(v, _mm256_slli_si256(v, 8));
	/* so far within each 128-bit half: the low half's sum to the high */
	low = _mm256_shufflehi_epi16(v, 0xff);
	low = _mm256_unpackhi_epi64(low, low);
	return _mm256_add_epi16(v, _mm256_permute2x128_si256(low, low, 0x08));
}

/* Lane 15 in every lane. */
static inline AVX2 __m256i
last16(__m256i v)
{
	return _mm256_permutevar8x32_epi32(_mm256_shufflehi_epi16(v, 0xff),
					   _mm256_set1_epi32(7));
}

/*
 * roll_scalar, 16 bytes a step.  Only the 16 low bits of the sums decide
 * a cut, and they depend only on the 16 low bits of both, so the lanes are
 * 16-bit.  Over the step's bytes k = 0..15, with d = added - dropped:
 *	s1[k] = s1 + (d[0] + ... + d[k])
 *	s2[k] = s2 + (k + 1) s1 + (e[0] + ... + e[k]),
 *	e[j]  = (d[0] + ... + d[j]) - 64 (dropped[j] + 31)
 * and a cut after byte k when s2[k] + 1 is 0 (s2 is kept plus one).
 * VEX-encoded (AVX2), never legacy SSE: on x86 an SSE instruction after
 * wider code that left the upper register halves in use (libraries on
 * this thread do) runs several times slower.
 */
static AVX2 size_t
roll_avx2(const unsigned char *b, size_t i, size_t n, uint32_t *s1, uint32_t *s2, int *cut)
{
	const __m256i zero = _mm256_setzero_si256(), c = _mm256_set1_epi16(64 * 31);
	const __m256i k1 = _mm256_setr_epi16(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
	__m256i v1 = _mm256_set1_epi16((short)*s1), v2 = _mm256_set1_epi16((short)(*s2 + 1));

	for (; i + 16 <= n; i += 16) {
		__m256i add = _mm256_cvtepu8_epi16(_mm_loadu_si128((const void *)(b + i)));
		__m256i drop = _mm256_cvtepu8_epi16(_mm_loadu_si128((const void *)(b + i - 64)));
		__m256i d = prefix16(_mm256_sub_epi16(add, drop));
		__m256i e = prefix16(_mm256_sub_epi16(d, _mm256_add_epi16(_mm256_slli_epi16(drop, 6), c)));
		__m256i t2 = _mm256_add_epi16(_mm256_add_epi16(v2, _mm256_mullo_epi16(v1, k1)), e);
		unsigned m = (unsigned)_mm256_movemask_epi8(_mm256_cmpeq_epi16(t2, zero));

		if (m != 0) {
			uint16_t l1[16], l2[16];
			int j = __builtin_ctz(m) / 2;

			_mm256_storeu_si256((void *)l1, _mm256_add_epi16(v1, d));
			_mm256_storeu_si256((void *)l2, t2);
			*s1 = l1[j];
			*s2 = (uint16_t)(l2[j] - 1);
			*cut = 1;
			return i + (size_t)j + 1;
		}
		v2 = _mm256_add_epi16(_mm256_add_epi16(v2, _mm256_slli_epi16(v1, 4)), last16(e));
		v1 = _mm256_add_epi16(v1, last16(d));
	}
	*s1 = (uint16_t)_mm256_extract_epi16(v1, 0);
	*s2 = (uint16_t)(_mm256_extract_epi16(v2, 0) - 1);
	return roll_scalar(b, i, n, s1, s2, cut);
}
#endif

/* b[i..n) rolled (i >= 64), by the widest code this CPU runs. */
static size_t
roll_run(const unsigned char *b, size_t i, size_t n, uint32_t *s1, uint32_t *s2, int *cut)
{
#ifdef ROLL_AVX2
	if (__builtin_cpu_supports("avx2"))
		return roll_avx2(b, i, n, s1, s2, cut);
#endif
	return roll_scalar(b, i, n, s1, s2, cut);
}

/* b[0..n) rolled: the count up to and including the first cut
 * (t->cut = 1), or n. */
static size_t
roll_span(struct ocis_toc *t, const unsigned char *b, size_t n)
{
	uint32_t s1 = t->rs1, s2 = t->rs2;
	unsigned w = t->rwofs;
	size_t i, k;

	/* bup's rollsum as containers/storage's compressor/rollsum.go rolls
	 * it (window 64, 31 added to every byte); a cut after a byte whose
	 * sum has its 16 low bits set.  The first 64 bytes drop what the
	 * window holds; after them the byte 64 back is in b itself, so the
	 * loop reads it there and the window is refilled once at the end. */
	for (i = 0; i < n && i < 64; i++)
		if (roll(&s1, &s2, t->rwindow[(w + i) & 63], b[i])) {
			t->cut = 1;
			i++;
			goto out;
		}
	i = roll_run(b, i, n, &s1, &s2, &t->cut);
out:
	/* the window: the last 64 bytes rolled, oldest at the new offset */
	for (k = i > 64 ? i - 64 : 0; k < i; k++)
		t->rwindow[(w + k) & 63] = b[k];
	t->rs1 = s1;
	t->rs2 = s2;
	t->rwofs = (unsigned)((w + i) & 63);
	return i;
}

/*
 * Runs of zeros, as containers/storage's holesFinder finds them: a run of
 * HOLE_MIN or more zero bytes is a chunk of its own ("zeros"), ending the
 * chunk before it and ended by the first byte that is not zero.  Its
 * bytes are rolled without looking for a cut (upstream rolls them at
 * once; past the first 64 a zero changes nothing, the window being all
 * zeros).  A shorter run is plain data.  Zeros at the end of the bytes at
 * hand are held (zpend) until the next bytes decide.
 */
static inline uint64_t
load64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* The zero bytes at the start of p[0..n). */
static size_t
zeros_at(const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (n - i >= 8 && load64(p + i) == 0)
		i += 8;
	while (i < n && p[i] == 0)
		i++;
	return i;
}

/* The zero bytes at the end of p[0..n). */
static size_t
zeros_before(const unsigned char *p, size_t n)
{
	size_t i = n;

	while (i >= 8 && load64(p + i - 8) == 0)
		i -= 8;
	while (i > 0 && p[i - 1] == 0)
		i--;
	return n - i;
}

/* The bytes of p[0..n) that are plain data for certain: up to the first
 * run of HOLE_MIN zeros or, when more input follows, up to the run of
 * zeros that ends p.  A run of HOLE_MIN holds a whole 512-byte block
 * aligned in memory, so only those are looked at, most by a first word
 * that is not zero: one load every 512 bytes. */
static size_t
plain_prefix(const unsigned char *p, size_t n, int more)
{
	size_t end = more ? n - zeros_before(p, n) : n;
	size_t i = (size_t)(-(uintptr_t)p & 511), j, s, e;

	for (; i < end && end - i >= 512; i += 512) {
		if (load64(p + i) != 0)
			continue;
		for (j = 8; j < 512 && load64(p + i + j) == 0; j += 8)
			;
		if (j < 512)
			continue;
		s = i - zeros_before(p, i);
		e = i + 512 + zeros_at(p + i + 512, n - i - 512);
		if (e - s >= HOLE_MIN)
			return s;
	}
	return end;
}

/* Into a hole: the chunk before it ends here, or becomes the hole's when
 * it has no bytes yet. */
static void
enter_hole(struct ocis_toc *t)
{
	struct ocis_toc_chunk *c = &t->chunks[t->n_chunks - 1];

	t->zmode = TOC_ZEROS_HOLE;
	if (c->size == 0)
		c->zeros = 1;
	else
		t->cut = 1;
}

/* k zeros of a hole rolled: no cut in a hole. */
static void
roll_hole(struct ocis_toc *t, size_t k)
{
	int cut = t->cut;

	roll_span(t, zeros, k < 64 ? k : 64);
	t->cut = cut;
}

/* Content-defined chunks, with runs of zeros ("Runs of zeros" above). */
static void
span_content(struct ocis_toc *t, const unsigned char *p, size_t n, struct ocis_toc_span *s)
{
	uint64_t in_left = t->data_left - t->zpend;
	size_t z, q;

	if (n > in_left)
		n = (size_t)in_left;
	s->data = p;
	s->len = s->used = 0;
	if (t->zpend > 0 && t->zmode != TOC_ZEROS_OPEN) {
		/* zeros taken before, handed over now */
		s->data = zeros;
		s->len = t->zpend < HOLE_MIN ? (size_t)t->zpend : HOLE_MIN;
		if (t->zmode == TOC_ZEROS_HOLE)
			roll_hole(t, s->len);
		else
			s->len = roll_span(t, zeros, s->len);
		t->zpend -= s->len;
		if (t->zpend == 0 && t->zmode == TOC_ZEROS_PLAIN)
			t->zmode = TOC_ZEROS_OPEN;
	} else if (t->zmode == TOC_ZEROS_HOLE) {
		/* in the hole: its zeros at hand; a byte that is not zero ends
		 * it (as does the end of the file, with the chunk's room) */
		z = zeros_at(p, n);
		roll_hole(t, z);
		s->len = s->used = z;
		if (z < n) {
			t->cut = 1;
			t->zmode = TOC_ZEROS_OPEN;
		}
	} else if (t->zpend > 0 || (q = plain_prefix(p, n, in_left > n)) == 0) {
		/* a run of zeros that may be a hole: take it, up to HOLE_MIN */
		z = zeros_at(p, n < HOLE_MIN - t->zpend ? n : (size_t)(HOLE_MIN - t->zpend));
		t->zpend += z;
		s->used = z;
		if (t->zpend == HOLE_MIN)
			enter_hole(t);
		else if (z < n || z == in_left)
			t->zmode = TOC_ZEROS_PLAIN;
	} else {
		s->len = s->used = roll_span(t, p, q);
	}
}

int
ocis_toc_wants(const struct ocis_toc *t, size_t n)
{
	if (t->data_left == 0)
		return 0;
	return n > 0 || (t->zpend > 0 && t->zmode != TOC_ZEROS_OPEN);
}

void
ocis_toc_span(struct ocis_toc *t, const void *p, size_t n, struct ocis_toc_span *s)
{
	if (t->chunk_size == 0) {
		span_content(t, p, n, s);
		return;
	}
	s->data = p;
	s->len = s->used = n < t->chunk_left ? n : (size_t)t->chunk_left;
}

/* The current chunk is complete: its digest; the file's hash goes on from
 * a copy when this was the first chunk and data is left. */
static int
end_chunk(struct ocis_toc *t, struct ocis_toc_entry *e, ocis_error_t **err)
{
	struct ocis_toc_chunk *c = &t->chunks[t->n_chunks - 1];

	if (e->n_chunks == 1 && t->data_left > 0 &&
	    ocis_hash_copy(&t->file_hash, &t->chunk_hash, err) < 0)
		return -1;
	if (ocis_hash_final_raw(&t->chunk_hash, c->digest, err) < 0 ||
	    ocis_hash_reset(&t->chunk_hash, err) < 0)
		return -1;
	t->chunk_left = 0;
	if (e->n_chunks == 1 && t->data_left == 0)
		memcpy(e->digest, c->digest, sizeof(e->digest));
	return 0;
}

int
ocis_toc_data(struct ocis_toc *t, const void *p, size_t n, ocis_error_t **err)
{
	struct ocis_toc_entry *e = &t->entries[t->n_entries - 1];

	if (n > t->chunk_left)
		return ocis_error_set(err, EINVAL, "internal: TOC data past its chunk");
	if (e->n_chunks > 1)
		ocis_hash_update2(&t->chunk_hash, p, n, &t->file_hash, p, n);
	else
		ocis_hash_update(&t->chunk_hash, p, n);
	t->chunk_left -= n;
	t->data_left -= n;
	if (t->chunk_size == 0)
		t->chunks[t->n_chunks - 1].size += n;
	if ((t->chunk_left == 0 || t->cut) && end_chunk(t, e, err) < 0)
		return -1;
	if (t->data_left == 0 && e->n_chunks > 1 &&
	    (ocis_hash_final_raw(&t->file_hash, e->digest, err) < 0 ||
	     ocis_hash_reset(&t->file_hash, err) < 0))
		return -1;
	return 0;
}

const char *
ocis__toc_type_name(char t)
{
	switch (t) {
	case '0': return "reg";
	case '1': return "hardlink";
	case '2': return "symlink";
	case '3': return "char";
	case '4': return "block";
	case '5': return "dir";
	case '6': return "fifo";
	}
	return NULL;
}

int
ocis__toc_gen_xattrs(yajl_gen g, const struct ocis_toc_entry *e, ocis_error_t **err)
{
	size_t i;
	int s = 0;

	if (e->n_xattrs == 0)
		return 0;
	s |= ocis_json_key(g, "xattrs");
	s |= ocis_json_open_map(g);
	for (i = 0; i < e->n_xattrs; i++) {
		size_t n = e->xattr_sizes[i];
		unsigned char *b64 = malloc(4 * ((n + 2) / 3) + 1);

		if (b64 == NULL)
			return ocis_error_oom(err);
		EVP_EncodeBlock(b64, e->xattr_values[i], (int)n);
		s |= ocis_json_kv_str(g, e->xattr_names[i], (const char *)b64);
		free(b64);
	}
	s |= ocis_json_close_map(g);
	return s ? ocis_error_set(err, 0, "writing a lazy-pull TOC: xattrs") : 0;
}
