/* SPDX-License-Identifier: MIT */
/*
 * zstd:chunked's tar-split and the end of the layer: see
 * ocistream/zchunked.h.
 *
 * The manifest's fields are containers/storage's FileMetadata
 * (pkg/chunked/internal/minimal), in its order and with its omit-if-empty
 * rules: type, name, linkName, mode, size, uid, gid, modtime (RFC 3339
 * with the tar's nanoseconds, UTC), devMajor, devMinor, xattrs (base64),
 * digest, offset, endOffset, chunkSize, chunkOffset, chunkDigest,
 * chunkType.  A regular file of one chunk has digest, offset and
 * endOffset; one of several chunks also the first chunk's chunkSize,
 * chunkDigest and chunkType ("zeros" for a run of zeros, else none), and a
 * "chunk" entry (name, offset, chunkSize, chunkOffset, chunkDigest,
 * chunkType) for every other chunk, as upstream writes them.  Upstream's reader checks
 * every entry's metadata against the tar-split's header, so these are the
 * fields the tar holds (mode as the header's 12 bits; no user or group
 * names, which FileMetadata has not).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <zstd.h>

#include <ocistream/crc64.h>
#include <ocistream/hash.h>
#include <ocistream/json.h>
#include <ocistream/pathtab.h>
#include <ocistream/zchunked.h>

#include "internal.h"
#include "toc-private.h"

/* zstd's skippable frame: magic 0x184D2A50 and a 32-bit length, LE */
#define SKIP_HDR 8
/* containers/storage's ManifestTypeCRFS */
#define MANIFEST_TYPE_CRFS 1

struct ocis_zchunked {
	ZSTD_CCtx *zc;		/* the tar-split, as one zstd stream */
	struct ocis_buf ts;	/* the compressed tar-split */
	uint64_t ts_usize;	/* its uncompressed bytes */
	struct ocis_buf meta;	/* header bytes (and padding) not yet in a segment */
	struct ocis_buf line;	/* one JSON line */
	unsigned long position;	/* tar-split entries so far */
	char *name;		/* the entry whose data is being written */
	uint64_t size, left;
	uint64_t crc;
	struct ocis_pathtab names;	/* every entry's name, once */
};

/* A node of `names` that is an entry's name (not only an ancestor's). */
#define NAME_ENTRY 1
/* The most header bytes one tar-split segment takes. */
#define META_MAX ((size_t)256 << 20)

static int
zstd_fail(size_t r, const char *what, ocis_error_t **err)
{
	return ocis_error_set(err, 0, "zstd:chunked %s: %s", what, ZSTD_getErrorName(r));
}

int
ocis_zchunked_new(struct ocis_zchunked **out, int level, ocis_error_t **err)
{
	struct ocis_zchunked *z = calloc(1, sizeof(*z));
	size_t r;

	if (z == NULL)
		return ocis_error_oom(err);
	z->zc = ZSTD_createCCtx();
	if (z->zc == NULL) {
		free(z);
		return ocis_error_oom(err);
	}
	r = ZSTD_CCtx_setParameter(z->zc, ZSTD_c_compressionLevel, level);
	if (!ZSTD_isError(r))
		r = ZSTD_CCtx_setParameter(z->zc, ZSTD_c_checksumFlag, 1);
	if (ZSTD_isError(r)) {
		ocis_zchunked_free(z);
		return zstd_fail(r, "tar-split", err);
	}
	if (ocis_pathtab_init(&z->names, err) < 0) {
		ocis_zchunked_free(z);
		return -1;
	}
	/* one entry's header blocks (names up to 64 KiB, xattrs as the
	 * intake allows) and padding: far below this, and its base64 fits
	 * the int EVP_EncodeBlock takes */
	z->meta.cap_limit = META_MAX;
	*out = z;
	return 0;
}

void
ocis_zchunked_free(struct ocis_zchunked *z)
{
	if (z == NULL)
		return;
	ZSTD_freeCCtx(z->zc);
	ocis_buf_release(&z->ts);
	ocis_buf_release(&z->meta);
	ocis_buf_release(&z->line);
	ocis_pathtab_release(&z->names);
	free(z->name);
	free(z);
}

/* containers/storage refuses a layer whose TOC or tar-split names a path
 * twice (its tar-split packer compares names cleaned: "etc/" is "etc"),
 * so such a layer cannot be zstd:chunked. */
static int
check_once(struct ocis_zchunked *z, const char *name, ocis_error_t **err)
{
	size_t len = strlen(name);
	uint8_t *flags;
	uint32_t id;

	if (strcmp(name, "./") == 0)
		len = 0;	/* the root */
	while (len > 0 && name[len - 1] == '/')
		len--;
	if (ocis_pathtab_add(&z->names, name, len, &id, err) < 0)
		return -1;
	flags = ocis_pathtab_flags(&z->names, id);
	if (*flags & NAME_ENTRY)
		return ocis_error_set(err, 0, "a zstd:chunked layer names a path once "
				      "(containers/storage refuses it twice; use "
				      "--compress=zstd)");
	*flags |= NAME_ENTRY;
	return 0;
}

/* Bytes into the zstd frame being made in *out (end: the frame's end);
 * the tar-split's, then the manifest's, one after the other. */
static int
zstream(struct ocis_zchunked *z, struct ocis_buf *out, const void *p, size_t n, int end,
	ocis_error_t **err)
{
	ZSTD_inBuffer in = { p, n, 0 };

	for (;;) {
		ZSTD_outBuffer ob;
		size_t r;

		if (ocis_buf_grow(out, ZSTD_CStreamOutSize(), err) < 0)
			return -1;
		ob.dst = out->data;
		ob.size = out->alloc - 1;
		ob.pos = out->len;
		r = ZSTD_compressStream2(z->zc, &ob, &in, end ? ZSTD_e_end : ZSTD_e_continue);
		if (ZSTD_isError(r))
			return zstd_fail(r, out == &z->ts ? "tar-split" : "TOC", err);
		out->len = ob.pos;
		if (end ? r == 0 : in.pos == in.size)
			return 0;
	}
}

/* One tar-split line as Go's json.Encoder writes storage.Entry (its
 * fields in order, omitempty on name and size; a payload is base64, null
 * for a file without data). */
static int
ts_line(struct ocis_zchunked *z, int type, const char *name, uint64_t size,
	const unsigned char *payload, size_t plen, ocis_error_t **err)
{
	yajl_gen g = ocis_json_gen_new();
	int s = 0;

	if (g == NULL)
		return ocis_error_oom(err);
	s |= ocis_json_open_map(g);
	s |= ocis_json_kv_u64(g, "type", (uint64_t)type);
	if (name != NULL)
		s |= ocis_json_kv_str(g, "name", name);
	if (size > 0)
		s |= ocis_json_kv_u64(g, "size", size);
	s |= ocis_json_key(g, "payload");
	if (payload == NULL) {
		s |= yajl_gen_null(g);
	} else {
		unsigned char *b64 = malloc(4 * ((plen + 2) / 3) + 1);

		if (b64 == NULL) {
			yajl_gen_free(g);
			return ocis_error_oom(err);
		}
		EVP_EncodeBlock(b64, payload, (int)plen);
		s |= ocis_json_str(g, (const char *)b64);
		free(b64);
	}
	s |= ocis_json_kv_u64(g, "position", z->position++);
	s |= ocis_json_close_map(g);
	ocis_buf_reset(&z->line);
	if (ocis_json_gen_finish(g, s, "zstd:chunked tar-split", &z->line, err) < 0 ||
	    ocis_buf_add(&z->line, "\n", 1, err) < 0)
		return -1;
	z->ts_usize += z->line.len;
	return zstream(z, &z->ts, z->line.data, z->line.len, 0, err);
}

/* The bytes held since the last entry as a segment (tar-split's type 2). */
static int
ts_segment(struct ocis_zchunked *z, ocis_error_t **err)
{
	int r;

	if (z->meta.len == 0)
		return 0;
	r = ts_line(z, 2, NULL, 0, z->meta.data, z->meta.len, err);
	ocis_buf_reset(&z->meta);
	return r;
}

/* The file entry (type 1): the CRC-64 as Go's Sum writes it, big-endian. */
static int
ts_file(struct ocis_zchunked *z, ocis_error_t **err)
{
	unsigned char sum[8];
	int i, r;

	for (i = 0; i < 8; i++)
		sum[i] = (unsigned char)(z->crc >> (56 - 8 * i));
	r = ts_line(z, 1, z->name, z->size, z->size ? sum : NULL, sizeof(sum), err);
	free(z->name);
	z->name = NULL;
	return r;
}

int
ocis_zchunked_meta(struct ocis_zchunked *z, const void *p, size_t n, ocis_error_t **err)
{
	if (z->left > 0)
		return ocis_error_set(err, EINVAL, "internal: tar-split header inside file data");
	return ocis_buf_add(&z->meta, p, n, err);
}

/* The UTC date of an mtime, when Go can write it in RFC 3339 (years 0 to
 * 9999); NULL otherwise. */
static struct tm *
go_date(int64_t sec, struct tm *tm)
{
	time_t t = (time_t)sec;

	if ((int64_t)t != sec || gmtime_r(&t, tm) == NULL || tm->tm_year + 1900 < 0 ||
	    tm->tm_year + 1900 > 9999)
		return NULL;
	return tm;
}

int
ocis_zchunked_entry(struct ocis_zchunked *z, const struct ocis_pax_entry *pe,
		    ocis_error_t **err)
{
	const char *name = pe->path;
	uint64_t size = pe->type == '0' ? pe->size : 0;
	struct tm tm;

	if (z->left > 0)
		return ocis_error_set(err, EINVAL, "internal: tar-split entry inside file data");
	if (go_date(pe->mtime, &tm) == NULL)
		return ocis_error_set(err, 0, "a zstd:chunked TOC holds mtimes of the years 0 "
				      "to 9999 only (use --compress=zstd)");
	if (check_once(z, name, err) < 0 || ts_segment(z, err) < 0)
		return -1;
	free(z->name);
	z->name = strdup(name);
	if (z->name == NULL)
		return ocis_error_oom(err);
	z->size = z->left = size;
	z->crc = 0;
	return size == 0 ? ts_file(z, err) : 0;
}

int
ocis_zchunked_data(struct ocis_zchunked *z, const void *p, size_t n, ocis_error_t **err)
{
	if (n > z->left)
		return ocis_error_set(err, EINVAL, "internal: tar-split data past the file");
	z->crc = ocis_crc64_iso(z->crc, p, n);
	z->left -= n;
	return z->left == 0 && n > 0 ? ts_file(z, err) : 0;
}

/*
 * The manifest
 */

/* modtime as Go's time.Time marshals (RFC 3339, nanoseconds without
 * trailing zeros), in UTC. */
static int
gen_modtime(yajl_gen g, const char *key, const struct ocis_toc_entry *e, ocis_error_t **err)
{
	char buf[80], frac[16] = "";
	struct tm tm;
	long ns = e->mtime_nsec;

	if (go_date(e->mtime, &tm) == NULL)	/* refused at its entry */
		return ocis_error_set(err, EINVAL, "internal: '%.200s' has mtime %" PRId64,
				      e->name, e->mtime);
	if (ns > 0 && ns < 1000000000) {
		int i = 9;

		snprintf(frac, sizeof(frac), ".%09ld", ns);
		while (frac[i] == '0')
			frac[i--] = 0;
	}
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
	return ocis_json_kv_str(g, key, buf);
}

static int
kv_nonzero(yajl_gen g, const char *key, uint64_t v)
{
	return v ? ocis_json_kv_u64(g, key, v) : 0;
}

static int
kv_digest(yajl_gen g, const char *key, const unsigned char md[OCIS_DIGEST_LEN])
{
	char d[OCIS_DIGEST_STR_SIZE];

	ocis_digest_format(md, d);
	return ocis_json_kv_str(g, key, d);
}

/* A chunk's own fields; for the first one of a file, the entry's. */
static int
gen_chunk(yajl_gen g, const struct ocis_toc_chunk *ch)
{
	int s = 0;

	s |= ocis_json_kv_u64(g, "chunkSize", ch->size);
	s |= kv_nonzero(g, "chunkOffset", ch->file_offset);
	s |= kv_digest(g, "chunkDigest", ch->digest);
	if (ch->zeros)
		s |= ocis_json_kv_str(g, "chunkType", "zeros");
	return s;
}

static int
gen_entry(yajl_gen g, const struct ocis_toc *toc, const struct ocis_toc_entry *e,
	  const struct ocis_compressor *c, ocis_error_t **err)
{
	const char *type = ocis__toc_type_name(e->type);
	size_t i;
	int s = 0;

	if (type == NULL)
		return ocis_error_set(err, 0, "writing the zstd:chunked TOC: entry type '%c'",
				      e->type);
	s |= ocis_json_open_map(g);
	s |= ocis_json_kv_str(g, "type", type);
	s |= ocis_json_kv_str(g, "name", e->name);
	if (e->linkname)
		s |= ocis_json_kv_str(g, "linkName", e->linkname);
	s |= kv_nonzero(g, "mode", e->mode & 07777);
	s |= kv_nonzero(g, "size", e->size);
	s |= kv_nonzero(g, "uid", e->uid);
	s |= kv_nonzero(g, "gid", e->gid);
	if (gen_modtime(g, "modtime", e, err) < 0)
		goto fail;
	/* containers/storage up to 1.45 (Debian 12's podman) reads these
	 * three under Go's field names only; today's reader takes keys in
	 * any case, so the twins agree (docs/lazy-pull.md) */
	s |= kv_nonzero(g, "UID", e->uid);
	s |= kv_nonzero(g, "GID", e->gid);
	if (gen_modtime(g, "ModTime", e, err) < 0)
		goto fail;
	if (e->type == '3' || e->type == '4') {
		s |= kv_nonzero(g, "devMajor", e->devmajor);
		s |= kv_nonzero(g, "devMinor", e->devminor);
	}
	if (ocis__toc_gen_xattrs(g, e, err) < 0)
		goto fail;
	if (e->n_chunks > 0) {
		s |= kv_digest(g, "digest", e->digest);
		s |= ocis_json_kv_u64(g, "offset",
				      ocis_compressor_mark_offset(c, toc->chunks[e->chunk0].mark));
		s |= ocis_json_kv_u64(g, "endOffset", ocis_compressor_mark_offset(c, e->end_mark));
		if (e->n_chunks > 1)
			s |= gen_chunk(g, &toc->chunks[e->chunk0]);
	}
	s |= ocis_json_close_map(g);
	for (i = 1; i < e->n_chunks; i++) {
		const struct ocis_toc_chunk *ch = &toc->chunks[e->chunk0 + i];

		s |= ocis_json_open_map(g);
		s |= ocis_json_kv_str(g, "type", "chunk");
		s |= ocis_json_kv_str(g, "name", e->name);
		s |= ocis_json_kv_u64(g, "offset", ocis_compressor_mark_offset(c, ch->mark));
		s |= gen_chunk(g, ch);
		s |= ocis_json_close_map(g);
	}
	if (s == 0)
		return 0;
	ocis_error_set(err, 0, "writing the zstd:chunked TOC: entry '%.200s'", e->name);
fail:
	return -1;
}

/* What the JSON generator holds so far into the manifest's zstd frame
 * (*ulen counts it): the JSON never stands whole in memory. */
static int
flush_json(struct ocis_zchunked *z, yajl_gen g, int status, struct ocis_buf *mz,
	   uint64_t *ulen, ocis_error_t **err)
{
	const unsigned char *p;
	size_t len;

	if (status != 0 || yajl_gen_get_buf(g, &p, &len) != yajl_gen_status_ok)
		return ocis_error_set(err, EINVAL, "writing the zstd:chunked TOC: json generator "
				      "error %d", status);
	*ulen += len;
	if (zstream(z, mz, p, len, 0, err) < 0)
		return -1;
	yajl_gen_clear(g);
	return 0;
}

/* The manifest, compressed as it is generated, into *mz; its JSON's
 * length into *ulen.  The tar-split's digest in it. */
static int
gen_manifest(struct ocis_zchunked *z, const struct ocis_toc *toc,
	     const struct ocis_compressor *c, const char *ts_digest, struct ocis_buf *mz,
	     uint64_t *ulen, ocis_error_t **err)
{
	yajl_gen g = ocis_json_gen_new();
	size_t i;
	int s = 0, r = -1;

	if (g == NULL)
		return ocis_error_oom(err);
	*ulen = 0;
	s |= ocis_json_open_map(g);
	s |= ocis_json_kv_u64(g, "version", 1);
	s |= ocis_json_key(g, "entries");
	s |= ocis_json_open_array(g);
	for (i = 0; i < toc->n_entries; i++)
		if (gen_entry(g, toc, &toc->entries[i], c, err) < 0 ||
		    (i % 64 == 63 && flush_json(z, g, s, mz, ulen, err) < 0))
			goto out;
	s |= ocis_json_close_array(g);
	s |= ocis_json_kv_str(g, "tarSplitDigest", ts_digest);
	s |= ocis_json_close_map(g);
	if (flush_json(z, g, s, mz, ulen, err) < 0 || zstream(z, mz, NULL, 0, 1, err) < 0)
		goto out;
	r = 0;
out:
	yajl_gen_free(g);
	return r;
}

static void
put_le(unsigned char *p, uint64_t v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* A skippable frame's header for len bytes into raw. */
static int
add_skippable(struct ocis_buf *raw, const void *data, size_t len, ocis_error_t **err)
{
	unsigned char h[SKIP_HDR] = { 0x50, 0x2a, 0x4d, 0x18 };

	if (len > UINT32_MAX)
		return ocis_error_set(err, EFBIG, "a zstd:chunked skippable frame holds at most "
				      "4 GiB (%zu bytes)", len);
	put_le(h + 4, len, 4);
	if (ocis_buf_add(raw, h, sizeof(h), err) < 0)
		return -1;
	return ocis_buf_add(raw, data, len, err);
}

/* The footer: manifest offset, length, uncompressed length and type,
 * tar-split offset, length and uncompressed length (64-bit LE), then
 * the magic "GNUlInUx". */
static void
footer(unsigned char f[OCIS_ZCHUNKED_FOOTER_SIZE], const uint64_t v[7])
{
	static const unsigned char magic[8] = { 0x47, 0x4e, 0x55, 0x6c, 0x49, 0x6e, 0x55, 0x78 };
	int i;

	for (i = 0; i < 7; i++)
		put_le(f + 8 * i, v[i], 8);
	memcpy(f + 56, magic, sizeof(magic));
}

static int
annotate(struct ocis_layer_desc *d, const char *mdigest, const uint64_t v[7],
	 ocis_error_t **err)
{
	char pos[128], ts[96];

	snprintf(pos, sizeof(pos), "%" PRIu64 ":%" PRIu64 ":%" PRIu64 ":%" PRIu64, v[0], v[1],
		 v[2], v[3]);
	snprintf(ts, sizeof(ts), "%" PRIu64 ":%" PRIu64 ":%" PRIu64, v[4], v[5], v[6]);
	if (ocis_layer_desc_annotate(d, OCIS_ZCHUNKED_MANIFEST_CHECKSUM, mdigest, err) < 0 ||
	    ocis_layer_desc_annotate(d, OCIS_ZCHUNKED_MANIFEST_POSITION, pos, err) < 0 ||
	    ocis_layer_desc_annotate(d, OCIS_ZCHUNKED_TARSPLIT_POSITION, ts, err) < 0 ||
	    ocis_layer_desc_annotate(d, OCIS_ZCHUNKED_OLD_MANIFEST_CHECKSUM, mdigest, err) < 0 ||
	    ocis_layer_desc_annotate(d, OCIS_ZCHUNKED_OLD_MANIFEST_POSITION, pos, err) < 0)
		return -1;
	return 0;
}

int
ocis_zchunked_tail(struct ocis_zchunked *z, const struct ocis_toc *toc,
		   const struct ocis_compressor *c, uint64_t offset, struct ocis_buf *raw,
		   struct ocis_layer_desc *d, ocis_error_t **err)
{
	unsigned char foot[OCIS_ZCHUNKED_FOOTER_SIZE];
	char ts_digest[OCIS_DIGEST_STR_SIZE], mdigest[OCIS_DIGEST_STR_SIZE];
	struct ocis_buf mz = OCIS_BUF_INIT;
	uint64_t v[7], ulen;
	int ret = -1;

	if (z->left > 0)
		return ocis_error_set(err, EINVAL, "internal: layer ends inside a file's data");
	if (ts_segment(z, err) < 0 || zstream(z, &z->ts, NULL, 0, 1, err) < 0 ||
	    ocis_hash_buffer(z->ts.data, z->ts.len, ts_digest, err) < 0 ||
	    gen_manifest(z, toc, c, ts_digest, &mz, &ulen, err) < 0 ||
	    ocis_hash_buffer(mz.data, mz.len, mdigest, err) < 0)
		goto out;
	v[0] = offset + SKIP_HDR;
	v[1] = mz.len;
	v[2] = ulen;
	v[3] = MANIFEST_TYPE_CRFS;
	v[4] = v[0] + mz.len + SKIP_HDR;
	v[5] = z->ts.len;
	v[6] = z->ts_usize;
	footer(foot, v);
	ocis_buf_reset(raw);
	if (add_skippable(raw, mz.data, mz.len, err) < 0 ||
	    add_skippable(raw, z->ts.data, z->ts.len, err) < 0 ||
	    add_skippable(raw, foot, sizeof(foot), err) < 0 || annotate(d, mdigest, v, err) < 0)
		goto out;
	ret = 0;
out:
	ocis_buf_release(&mz);
	return ret;
}
