/* SPDX-License-Identifier: MIT */
/*
 * eStargz TOC and footer: see ocistream/estargz.h.
 *
 * The TOC's fields are stargz-snapshotter's TOCEntry (estargz/types.go),
 * with its omit-if-empty rules: name, type, size, modtime (RFC 3339 UTC,
 * rounded to the second; none for time 0), linkName, mode, uid, gid,
 * userName, groupName, offset, devMajor, devMinor, xattrs (base64 values),
 * digest, chunkOffset, chunkSize, chunkDigest.  A file's first chunk is
 * its "reg" entry, the others "chunk" entries; chunkSize is written for a
 * full chunk only (a reader takes the rest of the file for the last), as
 * upstream does.  The JSON is compact, keys in that fixed order.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ocistream/estargz.h>
#include <ocistream/json.h>
#include <ocistream/pax.h>

#include "internal.h"
#include "tarhdr-private.h"
#include "toc-private.h"

static int
kv_nonzero(yajl_gen g, const char *key, uint64_t v)
{
	return v ? ocis_json_kv_u64(g, key, v) : 0;
}

/* modtime as Go's time.Round(time.Second).Format(RFC3339) in UTC. */
static int
gen_modtime(yajl_gen g, int64_t sec, long nsec)
{
	char buf[64];
	struct tm tm;
	time_t t;

	if (nsec >= 500000000)
		sec++;
	if (sec == 0)
		return 0;
	t = (time_t)sec;
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return 0;	/* out of range: left out, as an unknown time */
	return ocis_json_kv_str(g, "modtime", buf);
}

/* One chunk's fields (offset, chunkOffset, chunkSize, chunkDigest). */
static int
gen_chunk(yajl_gen g, const struct ocis_toc *toc, const struct ocis_toc_chunk *ch,
	  uint64_t offset)
{
	char digest[OCIS_DIGEST_STR_SIZE];
	int s = 0;

	ocis_digest_format(ch->digest, digest);
	s |= kv_nonzero(g, "offset", offset);
	s |= kv_nonzero(g, "chunkOffset", ch->file_offset);
	if (ch->size == toc->chunk_size)
		s |= ocis_json_kv_u64(g, "chunkSize", ch->size);
	s |= ocis_json_kv_str(g, "chunkDigest", digest);
	return s;
}

static int
gen_entry(yajl_gen g, const struct ocis_toc *toc, const struct ocis_toc_entry *e,
	  const struct ocis_compressor *c, ocis_error_t **err)
{
	const char *type = ocis__toc_type_name(e->type);
	char digest[OCIS_DIGEST_STR_SIZE];
	size_t i;
	int s = 0;

	if (type == NULL)
		return ocis_error_set(err, 0, "writing the eStargz TOC: entry type '%c'", e->type);
	s |= ocis_json_open_map(g);
	s |= ocis_json_kv_str(g, "name", e->name);
	s |= ocis_json_kv_str(g, "type", type);
	s |= kv_nonzero(g, "size", e->size);
	s |= gen_modtime(g, e->mtime, e->mtime_nsec);
	if (e->linkname)
		s |= ocis_json_kv_str(g, "linkName", e->linkname);
	s |= kv_nonzero(g, "mode", e->mode);
	s |= kv_nonzero(g, "uid", e->uid);
	s |= kv_nonzero(g, "gid", e->gid);
	if (e->uname)
		s |= ocis_json_kv_str(g, "userName", e->uname);
	if (e->gname)
		s |= ocis_json_kv_str(g, "groupName", e->gname);
	if (e->type == '3' || e->type == '4') {
		s |= kv_nonzero(g, "devMajor", e->devmajor);
		s |= kv_nonzero(g, "devMinor", e->devminor);
	}
	if (ocis__toc_gen_xattrs(g, e, err) < 0)
		return -1;
	if (e->type == '0' && e->size > 0) {
		ocis_digest_format(e->digest, digest);
		s |= ocis_json_kv_str(g, "digest", digest);
		s |= gen_chunk(g, toc, &toc->chunks[e->chunk0],
			       ocis_compressor_mark_offset(c, toc->chunks[e->chunk0].mark));
	}
	s |= ocis_json_close_map(g);
	for (i = 1; i < e->n_chunks; i++) {
		const struct ocis_toc_chunk *ch = &toc->chunks[e->chunk0 + i];

		s |= ocis_json_open_map(g);
		s |= ocis_json_kv_str(g, "name", e->name);
		s |= ocis_json_kv_str(g, "type", "chunk");
		s |= gen_chunk(g, toc, ch, ocis_compressor_mark_offset(c, ch->mark));
		s |= ocis_json_close_map(g);
	}
	return s ? ocis_error_set(err, 0, "writing the eStargz TOC: entry '%.200s'", e->name) : 0;
}

int
ocis_estargz_tail(const struct ocis_toc *toc, const struct ocis_compressor *c,
		  struct ocis_buf *tail, char toc_digest[OCIS_DIGEST_STR_SIZE],
		  ocis_error_t **err)
{
	struct ocis_buf json = OCIS_BUF_INIT;
	struct ocis_pax_entry pe;
	yajl_gen g = ocis_json_gen_new();
	size_t i;
	int s = 0, r = -1;

	if (g == NULL)
		return ocis_error_oom(err);
	s |= ocis_json_open_map(g);
	s |= ocis_json_key(g, "version");
	s |= ocis_json_u64(g, 1);
	s |= ocis_json_key(g, "entries");
	s |= ocis_json_open_array(g);
	for (i = 0; i < toc->n_entries; i++)
		if (gen_entry(g, toc, &toc->entries[i], c, err) < 0) {
			yajl_gen_free(g);
			return -1;
		}
	s |= ocis_json_close_array(g);
	s |= ocis_json_close_map(g);
	if (ocis_json_gen_finish(g, s, "eStargz TOC", &json, err) < 0)
		return -1;
	if (ocis_hash_buffer(json.data, json.len, toc_digest, err) < 0)
		goto out;

	/* the TOC as a plain regular file at the layer's root */
	memset(&pe, 0, sizeof(pe));
	pe.path = OCIS_ESTARGZ_TOC_NAME;
	pe.type = '0';
	pe.mode = 0644;
	pe.size = json.len;
	ocis_buf_reset(tail);
	if (ocis_pax_encode_header(&pe, tail, err) < 0 ||
	    ocis_buf_add(tail, json.data, json.len, err) < 0 ||
	    ocis_buf_grow(tail, ocis__pad512(json.len) + 2 * OCIS_BLOCK, err) < 0)
		goto out;
	memset(tail->data + tail->len, 0, ocis__pad512(json.len) + 2 * OCIS_BLOCK);
	tail->len += ocis__pad512(json.len) + 2 * OCIS_BLOCK;
	r = 0;
out:
	ocis_buf_release(&json);
	return r;
}

void
ocis_estargz_footer(uint64_t toc_offset, unsigned char out[OCIS_ESTARGZ_FOOTER_SIZE])
{
	/* gzip header with FEXTRA, mtime 0, XFL 0, OS 255 (as Go writes it),
	 * XLEN 26; subfield "SG", length 22; then an empty stored final
	 * block, CRC-32 0, ISIZE 0. */
	static const unsigned char head[] = {
		0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 255, 26, 0, 'S', 'G', 22, 0,
	};
	static const unsigned char end[] = {
		1, 0, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0,
	};
	char hex[17];

	snprintf(hex, sizeof(hex), "%016" PRIx64, toc_offset);
	memcpy(out, head, sizeof(head));
	memcpy(out + sizeof(head), hex, 16);
	memcpy(out + sizeof(head) + 16, "STARGZ", 6);
	memcpy(out + sizeof(head) + 22, end, sizeof(end));
}
