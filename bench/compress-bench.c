/* SPDX-License-Identifier: MIT */
/*
 * compress-bench: the layer compressor alone, stdin to stdout.
 *
 *   compress-bench [-a gzip|zstd|none] [-l LEVEL] [-t THREADS] < in > out
 *
 * Prints "alg level threads in_bytes out_bytes wall_s MB/s diff_id digest"
 * on stderr.  Used to produce the numbers in docs/compression.md; build it
 * with -DOCIS_COMPRESS_BLOCK_SIZE=N (compiling src/lib/compress.c along) to
 * try other gzip block sizes.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <ocistream/compress.h>
#include <ocistream/io.h>

static int
out_fd(void *ctx, const void *data, size_t len, ocis_error_t **err)
{
	return ocis_write_full(*(int *)ctx, data, len, err);
}

int
main(int argc, char **argv)
{
	enum ocis_compression alg = OCIS_COMPRESS_GZIP;
	int level = -1, threads = 0, fd = 1, opt;
	struct ocis_compressor *c = NULL;
	struct ocis_compress_result res;
	ocis_error_t *err = NULL;
	struct timespec t0, t1;
	static unsigned char buf[256 * 1024];
	ssize_t n;
	double s;

	while ((opt = getopt(argc, argv, "a:l:t:")) != -1) {
		switch (opt) {
		case 'a':
			if (ocis_compression_from_name(optarg, &alg) < 0) {
				fprintf(stderr, "compress-bench: unknown compression %s\n", optarg);
				return 2;
			}
			break;
		case 'l':
			level = atoi(optarg);
			break;
		case 't':
			threads = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: compress-bench [-a gzip|zstd|none] [-l LEVEL] [-t THREADS]\n");
			return 2;
		}
	}
	if (level < 0)
		level = ocis_compression_default_level(alg);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (ocis_compressor_new(&c, alg, level, threads, out_fd, &fd, &err) < 0)
		goto fail;
	while ((n = ocis_read_full(0, buf, sizeof(buf), &err)) > 0)
		if (ocis_compressor_write(c, buf, (size_t)n, &err) < 0)
			goto fail;
	if (n < 0 || ocis_compressor_finish(c, &res, &err) < 0)
		goto fail;
	ocis_compressor_free(c);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	fprintf(stderr, "%s %d %d %llu %llu %.3f %.1f %s %s\n", ocis_compression_name(alg),
		level, threads, (unsigned long long)res.uncompressed_size,
		(unsigned long long)res.size, s, (double)res.uncompressed_size / s / 1e6,
		res.diff_id, res.digest);
	return 0;
fail:
	fprintf(stderr, "compress-bench: %s\n", err ? err->msg : "failed");
	ocis_error_free(&err);
	ocis_compressor_free(c);
	return 1;
}
