/* SPDX-License-Identifier: MIT */
/*
 * The pass-through loop of the metadata stages (oci-config, oci-manifest):
 * copy the image stream from a reader to a writer untouched, except the
 * config of the open image (the one at the end of the stream without a
 * manifest), which is held back for the stage to build on.  Images closed
 * by a manifest pass through whole, their config written back, exact
 * bytes, just before their manifest.
 */
#ifndef OCISTREAM_FILTER_H
#define OCISTREAM_FILTER_H

#include <stdint.h>

#include <ocistream/error.h>
#include <ocistream/io.h>
#include <ocistream/layerdesc.h>
#include <ocistream/stream.h>

struct ocis_open_image {
	struct ocis_layer_list layers;	/* layers of the open image, in order */
	struct ocis_buf config;		/* its config, exact bytes, if have_config */
	int have_config;
	int several_configs;		/* it had more than one; the last is kept */
	int open;			/* the stream ends with an open image */
	uint64_t entries;		/* entries read */
	int upstream_failed;		/* an ocipipe/error entry was passed on */
};

void ocis_open_image_init(struct ocis_open_image *im);
void ocis_open_image_release(struct ocis_open_image *im);

/* Run the loop to the end of the stream.  An upstream error entry is
 * written to w, then the loop fails with "upstream stage failed: <msg>"
 * and im->upstream_failed set (the caller must not add an error entry of
 * its own).  The writer is not finished: the caller adds its entries, then
 * calls ocis_stream_finish. */
int ocis_filter_pass(struct ocis_stream_reader *r, struct ocis_stream_writer *w,
		     struct ocis_open_image *im, ocis_error_t **err);

#endif
