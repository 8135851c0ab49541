/* SPDX-License-Identifier: MIT */
/*
 * Reading a tar archive of a rootfs (oci-layer's input, oci-diff's lower
 * and upper trees, the layers that oci-flatten merges), the same way
 * everywhere:
 *
 * - libarchive parses the tar formats; gzip, zstd, xz and bzip2 are
 *   decompressed here (gzip's CRC-32 and length of each member are
 *   checked, which libarchive does not do; zstd's frame checksums, xz's
 *   checks, bzip2's block CRCs), so that the raw tar is at hand for every
 *   common compression; rarer ones are left to libarchive;
 * - concatenated archives are read whole;
 * - libarchive's warnings mean it dropped or guessed something: they are
 *   errors (but for a name it cannot convert to the locale, kept as bytes);
 * - a tar that ends without an end-of-archive marker, an empty input, or
 *   an image (an image stream, an OCI image tarball: told at its end)
 *   where a rootfs tar was expected are errors;
 * - the mtime libarchive gives is corrected where libarchive misreads a
 *   pax record (a negative time with a fraction, see tarin.c), so
 *   archive_entry_mtime() and archive_entry_mtime_nsec() of an entry are
 *   the time floor()ed to the second plus the nanoseconds after it;
 * - a link target that libarchive drops (a pax linkpath record when the
 *   header's linkname field is empty) is read from the raw header;
 * - a pax global header that would change the entries after it (anything
 *   but comment, atime, ctime, charset, hdrcharset) is an error:
 *   libarchive ignores it, GNU tar and Python apply it.
 * - a pax record or ustar numeric field that tar readers read differently
 *   (junk after the digits, Python's float notation, out of the 64-bit
 *   range, an empty value) is an error, and so is a hardlink with a size
 *   whose "data" libarchive would take from the next tar header, where
 *   GNU tar, Go and Python extract that entry, and an entry with both a
 *   GNU long name or link and a pax path or linkpath (readers pick either),
 *   or a GNU header with a name prefix where its times belong (old Go).
 * These need the raw headers, which the reader keeps (see tarin.c).
 *
 * A layer blob of an image (opts.layer_blob) is read with the leniency
 * layers need: empty is an empty layer, the end marker is optional and
 * libarchive's warnings are warnings.
 */
#ifndef OCISTREAM_TARIN_H
#define OCISTREAM_TARIN_H

#include <stdint.h>
#include <sys/types.h>

#include <archive.h>
#include <archive_entry.h>

#include <ocistream/decompress.h>
#include <ocistream/error.h>
#include <ocistream/io.h>
#include <ocistream/pax.h>

struct ocis_tarin;

struct ocis_tarin_opts {
	const char *what;	/* the input in messages: "reading input tar" */
	int layer_blob;		/* a layer of an image: see above */
	void (*warn)(void *ctx, const char *msg);	/* layer_blob warnings */
	void *cb_ctx;
	/* Given every byte of the uncompressed tar, in order, to the end of
	 * the input: with a tap, the end of the archive is followed by
	 * reading what is left (the padding a diff_id covers). */
	void (*tap)(void *ctx, const void *buf, size_t len);
	void *tap_ctx;
};

/* A source of raw bytes: like read(2), -1 with errno set on error. */
typedef ocis_decompress_read_fn ocis_tarin_read_fn;

int ocis_tarin_open(struct ocis_tarin **out, ocis_tarin_read_fn read_fn, void *read_ctx,
		    const struct ocis_tarin_opts *o, ocis_error_t **err);
/* The same, reading a descriptor from its current offset. */
int ocis_tarin_open_fd(struct ocis_tarin **out, int fd, const struct ocis_tarin_opts *o,
		       ocis_error_t **err);
void ocis_tarin_free(struct ocis_tarin *t);

/* The next entry: 1 with *ae (valid until the next call), 0 at the
 * (checked) end, -1 on error. */
int ocis_tarin_next(struct ocis_tarin *t, struct archive_entry **ae, ocis_error_t **err);

/* The next data block of the current entry: 1 with the block at file
 * offset *off (sparse files leave holes between blocks), 0 at the end of
 * the data, -1 on error.  Blocks never reach beyond the entry's size. */
int ocis_tarin_data(struct ocis_tarin *t, const void **buf, size_t *len, uint64_t *off,
		    ocis_error_t **err);

/* Where ocis_tarin_copy_data() sends an entry's data: data blocks in
 * order, and runs of zeros (never 0 bytes). */
struct ocis_tarin_sink {
	int (*data)(void *ctx, const void *buf, size_t len, ocis_error_t **err);
	int (*zeros)(void *ctx, uint64_t n, ocis_error_t **err);
	void *ctx;
};

/* The current entry's data, all `size` bytes its header gives, into s:
 * its blocks, the sparse holes between them and what follows the last
 * one as zeros (a layer has no sparse entries).  The tar padding after it
 * is the caller's.  0, or -1. */
int ocis_tarin_copy_data(struct ocis_tarin *t, uint64_t size, const struct ocis_tarin_sink *s,
			 ocis_error_t **err);

/* The current entry's name, printable (for messages). */
const char *ocis_tarin_name(const struct ocis_tarin *t);
/* Raw (compressed) bytes read so far. */
uint64_t ocis_tarin_input_bytes(const struct ocis_tarin *t);

#endif
