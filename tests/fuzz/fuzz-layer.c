/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the rootfs tar reader behind oci-layer.
 *
 * The input is written to a memfd and given to ocis_layer_build as its
 * input descriptor, exactly as oci-layer passes standard input: libarchive
 * sees any tar format and any compression filter it knows.  The layer goes
 * uncompressed (OCIS_COMPRESS_NONE, one thread) into an image stream on
 * /dev/null, so the fuzzer spends its time in the reader, the name checks
 * (absolute, "..", hardlink targets, paths through symlinks) and the pax
 * encoder.  Failing is fine; crashing, leaking or undefined behaviour is
 * not.
 */
#define _GNU_SOURCE
#include "config.h"

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <ocistream/layer.h>
#include <ocistream/layerdesc.h>
#include <ocistream/stream.h>

#include "fuzz-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int devnull = -1;
	struct ocis_layer_opts o;
	struct ocis_layer_desc desc;
	struct ocis_stream_writer *w = NULL;
	ocis_error_t *err = NULL;
	int fd;

	if (devnull < 0 && (devnull = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0)
		abort();
	fd = fuzz_memfd(data, size);
	memset(&o, 0, sizeof(o));
	o.compression = OCIS_COMPRESS_NONE;
	o.level = 0;
	o.threads = 1;
	o.strip_absolute = size & 1;	/* both policies for absolute names */
	o.whiteouts = (size >> 9) & 1;	/* and for whiteout names (per 512-byte block) */
	memset(&desc, 0, sizeof(desc));
	if (ocis_stream_writer_new(&w, devnull, &err) < 0)
		abort();
	if (ocis_layer_build(fd, w, &o, &desc, NULL, &err) == 0) {
		fuzz_check(err == NULL);
		fuzz_check(ocis_digest_valid(desc.digest) && ocis_digest_valid(desc.diff_id));
		/* Uncompressed: the blob is the layer tar itself. */
		fuzz_check(strcmp(desc.digest, desc.diff_id) == 0);
		fuzz_check(desc.size == desc.uncompressed_size);
		fuzz_check(desc.size % 512 == 0);
		ocis_layer_desc_release(&desc);
	} else {
		fuzz_check(err != NULL && err->msg != NULL && err->msg[0] != '\0');
		fuzz_check(strchr(err->msg, '\n') == NULL);
	}
	ocis_error_free(&err);
	ocis_stream_writer_free(w);
	close(fd);
	return 0;
}
