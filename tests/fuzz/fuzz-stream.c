/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the image-stream reader (what oci-config, oci-manifest
 * and oci-pack read).
 *
 * The input is read from a memfd with ocis_stream_next until the end or an
 * error.  Chunk entries are consumed alternately with ocis_stream_read (in
 * odd-sized pieces) and ocis_stream_copy (into a writer on /dev/null), and
 * some entries are left unread so the reader's skipping is exercised too.
 * The reader verifies digests when the input length is even (oci-pack's
 * mode) and checks sizes only when it is odd (the filters' mode).  In
 * oci-pack's mode the chunk bytes read also go to the layer check
 * (src/lib/layercheck.c), blobs closed and layers expected as oci-pack
 * does; its verdict must be one line.
 */
#define _GNU_SOURCE
#include "config.h"

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ocistream/layercheck.h>
#include <ocistream/stream.h>

#include "fuzz-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int devnull = -1;
	static unsigned char buf[4099];
	struct ocis_stream_reader *r = NULL;
	struct ocis_stream_writer *w = NULL;
	struct ocis_stream_entry e;
	struct ocis_layercheck *chk = NULL;
	ocis_error_t *err = NULL;
	unsigned long n = 0;
	ssize_t got;
	int fd, rc;

	if (devnull < 0 && (devnull = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0)
		abort();
	fd = fuzz_memfd(data, size);
	if (ocis_stream_reader_new(&r, fd, (size & 1) == 0, &err) < 0 ||
	    ocis_stream_writer_new(&w, devnull, &err) < 0 ||
	    ((size & 1) == 0 && ocis_layercheck_new(&chk, &err) < 0))
		abort();
	while ((rc = ocis_stream_next(r, &e, &err)) == 1) {
		fuzz_check(e.name[sizeof(e.name) - 1] == '\0');
		if (e.kind == OCIS_ENTRY_LAYER)
			fuzz_check(e.layer != NULL && ocis_digest_valid(e.layer->digest));
		if (chk && (e.kind == OCIS_ENTRY_BLOB || (e.kind == OCIS_ENTRY_LAYER && !e.layer_ref)))
			ocis_layercheck_end_blob(chk, e.layer->digest, &err);
		if (chk && e.kind == OCIS_ENTRY_LAYER)
			ocis_layercheck_expect(chk, e.layer, n + 1, &err);
		if (e.kind != OCIS_ENTRY_CHUNK)
			fuzz_check(e.data != NULL || e.size == 0);
		switch (n++ % 3) {
		case 0:
			if (ocis_stream_copy(r, w, &err) < 0)
				goto done;
			break;
		case 1:
			if (e.kind != OCIS_ENTRY_CHUNK)
				break;
			while ((got = ocis_stream_read(r, buf, 1 + (n * 977) % sizeof(buf),
						       &err)) > 0)
				if (chk)
					ocis_layercheck_feed(chk, buf, (size_t)got, &err);
			if (got < 0)
				goto done;
			break;
		default:
			break;	/* leave it to ocis_stream_next to skip */
		}
	}
done:
	if (rc < 0 || err != NULL)
		fuzz_check(err != NULL && err->msg != NULL && err->msg[0] != '\0');
	ocis_error_free(&err);
	if (chk && rc == 0 && ocis_layercheck_finish(chk, &err) < 0)
		fuzz_check(err != NULL && err->msg[0] != '\0' && strchr(err->msg, '\n') == NULL);
	ocis_error_free(&err);
	ocis_layercheck_free(chk);
	ocis_stream_writer_free(w);
	ocis_stream_reader_free(r);
	close(fd);
	return 0;
}
