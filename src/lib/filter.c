/* SPDX-License-Identifier: MIT */
/* Pass-through loop of the metadata stages: see ocistream/filter.h. */
#include "config.h"

#include <string.h>

#include <ocistream/filter.h>
#include <ocistream/layerdesc.h>

void
ocis_open_image_init(struct ocis_open_image *im)
{
	memset(im, 0, sizeof(*im));
	im->config.cap_limit = OCIS_META_MAX;
}

void
ocis_open_image_release(struct ocis_open_image *im)
{
	ocis_layer_list_clear(&im->layers);
	ocis_buf_release(&im->config);
	ocis_open_image_init(im);
}

static int
upstream_error(struct ocis_open_image *im, const struct ocis_stream_entry *e, ocis_error_t **err)
{
	size_t len = (size_t)e->size;

	while (len > 0 && (e->data[len - 1] == '\n' || e->data[len - 1] == 0))
		len--;
	im->upstream_failed = 1;
	return ocis_error_set(err, 0, "upstream stage failed: %.*s", (int)(len > 1000 ? 1000 : len),
			      (const char *)e->data);
}

int
ocis_filter_pass(struct ocis_stream_reader *r, struct ocis_stream_writer *w,
		 struct ocis_open_image *im, ocis_error_t **err)
{
	struct ocis_stream_entry e;
	int rc;

	while ((rc = ocis_stream_next(r, &e, err)) > 0) {
		im->entries++;
		switch (e.kind) {
		case OCIS_ENTRY_ERROR:
			/* Best effort: pass the message on (a failure to write
			 * it changes nothing), then fail. */
			(void)ocis_stream_copy(r, w, NULL);
			return upstream_error(im, &e, err);
		case OCIS_ENTRY_CONFIG:
			if (im->have_config)
				im->several_configs = 1;
			ocis_buf_reset(&im->config);
			if (ocis_buf_add(&im->config, e.data, (size_t)e.size, err) < 0)
				return -1;
			im->have_config = im->open = 1;
			break;
		case OCIS_ENTRY_MANIFEST:
			/* A complete image: pass it on as it came. */
			if (im->have_config &&
			    ocis_stream_write_entry(w, "config.json", im->config.data,
						    im->config.len, err) < 0)
				return -1;
			if (ocis_stream_copy(r, w, err) < 0)
				return -1;
			ocis_layer_list_clear(&im->layers);
			ocis_buf_reset(&im->config);
			im->have_config = im->open = im->several_configs = 0;
			break;
		case OCIS_ENTRY_LAYER:
			if (ocis_layer_list_push(&im->layers, e.layer, err) < 0)
				return -1;
			/* fall through */
		case OCIS_ENTRY_CHUNK:
		case OCIS_ENTRY_BLOB:
			if (ocis_stream_copy(r, w, err) < 0)
				return -1;
			im->open = 1;
			break;
		}
	}
	return rc < 0 ? -1 : 0;
}
