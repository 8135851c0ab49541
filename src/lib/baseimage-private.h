/* SPDX-License-Identifier: MIT */
/*
 * Base images in the image stream: an OCI image-layout tarball (or what
 * starts like one) read by the stream reader is turned into stream
 * entries: its blobs as chunk runs closed by blob.json (JSON blobs held
 * until the archive ends), then, when the archive ends, one image chosen
 * by --base-ref and platform and a layer.json reference per layer and its
 * config.json queued.  Every descriptor is checked against the blob it
 * names.  Only stream.c calls these; the reader's state is in
 * stream-private.h.
 */
#ifndef OCISTREAM_BASEIMAGE_PRIVATE_H
#define OCISTREAM_BASEIMAGE_PRIVATE_H

#include <stdint.h>

#include "stream-private.h"

/* One member of a layout archive (name joined from prefix and name):
 * 0 = consumed, 1 = *e filled, -1 = error. */
int ocis__base_image_member(struct ocis_stream_reader *r, struct ocis_stream_entry *e,
			    const char *name, uint64_t size, uint64_t hdr_offset,
			    ocis_error_t **err);
/* The layout archive has ended: choose its image, queue its layer
 * references and config (0), or -1.  The held blobs are dropped either
 * way. */
int ocis__base_image_resolve(struct ocis_stream_reader *r, ocis_error_t **err);
/* Next chunk of the large base-image blob being read, or its blob.json. */
int ocis__base_image_next_chunk(struct ocis_stream_reader *r, struct ocis_stream_entry *e,
				ocis_error_t **err);
/* Return a queued (synthesized) metadata entry; takes ownership of data. */
int ocis__base_image_deliver(struct ocis_stream_reader *r, struct ocis_stream_entry *e,
			     enum ocis_entry_kind kind, unsigned char *data, size_t len,
			     ocis_error_t **err);
/* Drop what the layout archive being read holds. */
void ocis__base_image_clear(struct ocis_stream_reader *r);

#endif
