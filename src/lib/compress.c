/* SPDX-License-Identifier: MIT */
/*
 * The layer compressor: see include/ocistream/compress.h and
 * docs/compression.md.
 *
 * Design.  The caller's bytes are cut into blocks of at most BLOCK_SIZE
 * (gzip: where the chunker says, content-defined and at entry starts the
 * caller reports, and at every mark of an estargz layer, after which the
 * chunker starts afresh; zstd, none: fixed BLOCK_SIZE; zstd:chunked: a
 * frame ends at every mark and BLOCK_SIZE after its start, and a block
 * holds as many whole frames as fit, a frame that outgrows the block
 * moving to the next one; never dependent on
 * the thread count or on how the caller slices its writes) held in a ring
 * of `nslots` slots.  Block number `seq` lives in slot seq % nslots, so
 * the ring is also the bounded queue: the caller waits when nslots blocks
 * are in flight, until a quarter of them are written (RING_*, below).
 * Around the ring run
 *
 *	caller   --copy-->  slot  --submit-->
 *	hasher   (1 thread)  in block order, once the block is compressed: the
 *		 sha256 of its input -> diff_id and of its output -> digest,
 *		 side by side (ocis_hash_update2: with the SHA extensions a
 *		 core hashes the two at 1.5 x the speed of one after the other;
 *		 with many workers the writer hashes the output, see
 *		 PAIR_MAX_WORKERS)
 *	workers  gzip: `threads` threads, each takes the next block and makes
 *		 it one complete gzip member (gzmember.c:
 *		 libdeflate, or ISA-L at level 1);
 *		 zstd: 1 feeder thread pushing blocks in order into a
 *		 ZSTD_CCtx that runs max(1, threads) libzstd workers;
 *		 zstd:chunked: as gzip, each frame of a block one zstd
 *		 frame
 *	writer   (1 thread)  in block order, once the block is hashed: `out`
 *		 (and the sha256 of the output when the hasher leaves it),
 *		 then frees the slot
 *
 * none has no workers and no hasher: the writer hashes and passes the
 * input through, and diff_id = digest.
 *
 * threads == 1 starts none of these threads: the ring is one slot, and the
 * caller compresses, hashes (input and output side by side) and writes
 * each block itself when it is full (zstd still hands the compression to libzstd's one worker, which
 * keeps the bytes the same as with more threads).  `--threads 1` then uses
 * one core, which is what running many builds side by side asks for, and
 * a small layer pays no thread start.
 *
 * One mutex guards the counters and the slot flags; a slot's bytes are
 * touched without the lock by whoever the counters say owns it.  Any
 * failure sets `failed` and the first error, wakes everybody, and every
 * thread leaves its loop; free() joins whatever still runs.
 *
 * Library threads block all signals, so a write to a closed pipe inside
 * `out` gives EPIPE (and an error) rather than a SIGPIPE in a worker.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>

#include <ocistream/blockcache.h>
#include <ocistream/chunker.h>
#include <ocistream/compress.h>
#include <ocistream/error.h>
#include <ocistream/gzmember.h>
#include <ocistream/hash.h>

#include "internal.h"

#define BLOCK_SIZE ((size_t)OCIS_COMPRESS_BLOCK_SIZE)

/* Input bytes per libzstd job (0 would be libzstd's default: 8 MiB at
 * level 3, 4 x the window).  libzstd holds about three jobs' input and
 * output per worker, so this bounds its memory: 2 MiB costs 0.35 % in size
 * at level 3 and halves the peak RSS.  Changing it changes the zstd output
 * bytes (never the thread count).  See docs/compression.md. */
#ifndef OCIS_ZSTD_JOB_SIZE
#define OCIS_ZSTD_JOB_SIZE (2 * 1024 * 1024)
#endif

#define MAX_THREADS 256

/* The ring (gzip, zstd:chunked: a worker per block).  Blocks leave it in
 * order, so one block slow to compress holds every slot behind it: with
 * 2 workers and the 6 slots of 2 a worker, the caller waited on a full
 * ring while a worker slept, and a 2-core host left 0.2 core seconds idle
 * in a 1.4 s level 1 run (bench/concurrency.sh).  At least RING_MIN_SLOTS
 * slots take up that slack (idle 0.01-0.03 s, and 12 did as well as 16);
 * each slot costs 1 MiB of input and its output bound (docs/performance.md,
 * "round five"). */
#define RING_MIN_SLOTS 12
/* A caller waiting for a free slot is woken when this fraction of the
 * ring is free: it then fills several blocks per wakeup instead of
 * sleeping again after each one, while the rest keeps the workers busy.
 * A quarter kept the workers fed better than half did (round five). */
#define RING_WAKE_DIV 4

/* Up to this many workers the hasher hashes a block's input and output
 * together; with more, the writer hashes the output.  Together is less
 * CPU (a core hashes the pair at 1.5 x the speed of one stream), but one
 * thread then does both: 0.52 s per 745 MB layer against 0.46 s for the
 * tar alone, measured.  A level 1 layer takes about 2.9 s of CPU for
 * those 745 MB, so from about six cores on the hasher would be the
 * slowest thread; the workers are as many as the cores by default. */
#define PAIR_MAX_WORKERS 4

/* zstd:chunked's frames a slot holds at most: with 8 bytes each, 4 KiB a
 * slot; at 4 KiB a frame or more, a slot is full before. */
#define ZFRAMES_MAX 512

struct slot {
	unsigned char *in;
	size_t in_len;
	/* The slot's frames (members): frame_end[i] is where frame i ends
	 * in `in` (the caller's), frame_out[i] where its output starts in
	 * `out` (the worker's); frame0 numbers the first (compressor-wide,
	 * as marks count).  One frame a slot but with zstd:chunked. */
	uint32_t *frame_end, *frame_out;
	size_t n_frames;
	uint64_t frame0;
	unsigned char *out;	/* gzip: fixed bound; zstd: grows; none: == in */
	size_t out_len;
	size_t out_cap;
	int compressed;		/* out is ready for the writer and the hasher */
	int hashed;		/* the hasher is done with in and out */
	int last;
};

struct worker {
	struct ocis_compressor *c;
	pthread_t tid;
	int started;
	struct ocis_gzmember *gz;
	ZSTD_CCtx *zc;		/* zstd:chunked: one frame a block */
};

struct ocis_compressor {
	enum ocis_compression alg;
	int level;
	int threads;
	int serial;		/* threads == 1: no threads of our own */
	int pair_hashes;	/* the hasher hashes the output too */
	ocis_compress_out_fn fn;
	void *ctx;

	pthread_mutex_t lock;
	pthread_cond_t cond_caller;	/* a quarter of the ring free, or everything written */
	pthread_cond_t cond_work;	/* block submitted (workers) */
	pthread_cond_t cond_hash;	/* block compressed, or eof (hasher) */
	pthread_cond_t cond_writer;	/* block hashed (none: submitted), or eof */

	struct slot *slots;
	size_t nslots;
	unsigned char *ring;	/* the slots' input buffers */
	unsigned char *out_ring;	/* gzip: their output buffers */
	size_t out_stride;	/* the bytes of out_ring per slot */
	uint32_t *frames;	/* the slots' frame_end and frame_out */
	uint64_t n_submitted;	/* blocks [0, n_submitted) are submitted */
	uint64_t n_taken;	/* next block for a worker */
	uint64_t n_hashed;	/* next block for the hasher (once compressed) */
	uint64_t n_released;	/* blocks [0, n_released) are written and free */
	int eof;		/* the last block is submitted */
	int stop;		/* free() wants the threads gone */
	int failed;
	ocis_error_t *error;	/* first failure */

	struct slot *cur;	/* slot the caller is filling, or NULL */
	size_t frame_start;	/* where the frame being filled starts in cur */
	uint64_t n_frames;	/* frames ended so far: the number of the next */
	size_t frames_max;	/* frames a slot holds */
	int finished;
	uint64_t in_total;
	uint64_t out_total;

	struct worker *workers;
	size_t nworkers;
	pthread_t hasher, writer;
	int hasher_started, writer_started;

	struct ocis_hash hin, hout;
	ZSTD_CCtx *zc;
	struct ocis_chunker *chunker;	/* gzip: where blocks end (chunker.h) */
	struct ocis_blockcache *cache;	/* gzip: members seen before, or NULL */

	/* Lazy-pull cut points (ocis_compressor_mark): marks[i] holds the
	 * number of the frame that starts at mark i until the writer reaches
	 * that frame, then its output offset.  n_marks grows on the caller's thread,
	 * n_marks_done on the writer's, both under the lock. */
	int marks_ok;
	uint64_t *marks;
	size_t n_marks, marks_cap, n_marks_done;
};

int
ocis_compression_from_name(const char *name, enum ocis_compression *out)
{
	if (name == NULL)
		return -1;
	if (strcmp(name, "gzip") == 0)
		*out = OCIS_COMPRESS_GZIP;
	else if (strcmp(name, "zstd") == 0)
		*out = OCIS_COMPRESS_ZSTD;
	else if (strcmp(name, "none") == 0)
		*out = OCIS_COMPRESS_NONE;
	else if (strcmp(name, "estargz") == 0)
		*out = OCIS_COMPRESS_ESTARGZ;
	else if (strcmp(name, "zstd:chunked") == 0)
		*out = OCIS_COMPRESS_ZCHUNKED;
	else
		return -1;
	return 0;
}

const char *
ocis_compression_name(enum ocis_compression c)
{
	switch (c) {
	case OCIS_COMPRESS_GZIP:
		return "gzip";
	case OCIS_COMPRESS_ZSTD:
		return "zstd";
	case OCIS_COMPRESS_NONE:
		return "none";
	case OCIS_COMPRESS_ESTARGZ:
		return "estargz";
	case OCIS_COMPRESS_ZCHUNKED:
		return "zstd:chunked";
	}
	return "unknown";
}

const char *
ocis_compression_suffix(enum ocis_compression c)
{
	switch (c) {
	case OCIS_COMPRESS_GZIP:
	case OCIS_COMPRESS_ESTARGZ:
		return "+gzip";
	case OCIS_COMPRESS_ZSTD:
	case OCIS_COMPRESS_ZCHUNKED:
		return "+zstd";
	case OCIS_COMPRESS_NONE:
		break;
	}
	return "";
}

int
ocis_compression_default_level(enum ocis_compression c)
{
	switch (c) {
	case OCIS_COMPRESS_GZIP:
	case OCIS_COMPRESS_ESTARGZ:
		return 6;
	case OCIS_COMPRESS_ZSTD:
	case OCIS_COMPRESS_ZCHUNKED:
		return 3;
	case OCIS_COMPRESS_NONE:
		break;
	}
	return 0;
}

/* gzip 1..12 (libdeflate), zstd 1..19 (20..22 need windows far beyond the
 * memory budget), none 0. */
int
ocis_compression_level_valid(enum ocis_compression c, int level)
{
	switch (c) {
	case OCIS_COMPRESS_GZIP:
	case OCIS_COMPRESS_ESTARGZ:
		return level >= 1 && level <= 12;
	case OCIS_COMPRESS_ZSTD:
	case OCIS_COMPRESS_ZCHUNKED:
		return level >= 1 && level <= 19;
	case OCIS_COMPRESS_NONE:
		return level == 0;
	}
	return 0;
}

/* Record the first failure (taking ownership of *e) and wake everybody.
 * Called with the lock held. */
static void
fail_locked(struct ocis_compressor *c, ocis_error_t **e)
{
	ocis__error_keep_first(&c->error, e, "compressor failed");
	__atomic_store_n(&c->failed, 1, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&c->cond_caller);
	pthread_cond_broadcast(&c->cond_work);
	pthread_cond_broadcast(&c->cond_hash);
	pthread_cond_broadcast(&c->cond_writer);
}

static void
fail(struct ocis_compressor *c, ocis_error_t **e)
{
	pthread_mutex_lock(&c->lock);
	fail_locked(c, e);
	pthread_mutex_unlock(&c->lock);
}

/* Give the caller a copy of the recorded failure (the compressor keeps its
 * own, so every later call fails the same way).  Returns -1. */
static int
report(struct ocis_compressor *c, ocis_error_t **err)
{
	pthread_mutex_lock(&c->lock);
	ocis__error_copy_kept(c->error, err, "compressor failed");
	pthread_mutex_unlock(&c->lock);
	return -1;
}

static inline int
is_failed(struct ocis_compressor *c)
{
	return __atomic_load_n(&c->failed, __ATOMIC_ACQUIRE);
}

static inline struct slot *
slot_of(struct ocis_compressor *c, uint64_t seq)
{
	return &c->slots[seq % c->nslots];
}

/*
 * gzip
 */

/* One block as one gzip member (gzmember.c).  Only the last block can be
 * short (or one ended by a mark); an empty one adds nothing, except that
 * an empty input still gets one (empty) member: not with marks, whose
 * layer always ends with a tail member (an empty member first would move
 * the TOC from where the footer, drained before, says it is). */
static int
gzip_block(struct worker *w, struct slot *s, uint64_t seq, ocis_error_t **err)
{
	s->out_len = 0;
	s->frame_out[0] = 0;
	if (s->in_len == 0 && (seq != 0 || w->c->marks_ok))
		return 0;
	return ocis_gzmember_block(w->gz, w->c->cache, s->in, s->in_len, s->out, s->out_cap,
				   &s->out_len, err);
}

/* Marks at the frames of slot s, about to be written, get their output
 * offsets; with s NULL, every mark left (one with no frame after it yet
 * starts where the next output goes).  Lock held, or no threads. */
static void
resolve_marks(struct ocis_compressor *c, const struct slot *s)
{
	while (c->n_marks_done < c->n_marks) {
		uint64_t f = c->marks[c->n_marks_done];
		uint64_t at = 0;

		if (s != NULL && f >= s->frame0 + s->n_frames)
			break;
		if (s != NULL && f >= s->frame0)
			at = s->frame_out[f - s->frame0];
		c->marks[c->n_marks_done++] = c->out_total + at;
	}
}

/*
 * zstd
 */

static int
zstd_error(size_t r, ocis_error_t **err)
{
	return ocis_error_set(err, 0, "compressing with zstd: %s", ZSTD_getErrorName(r));
}

static int
zstd_setup(struct ocis_compressor *c, ocis_error_t **err)
{
	size_t r;
	int nb = c->threads < 1 ? 1 : c->threads;

	c->zc = ZSTD_createCCtx();
	if (c->zc == NULL)
		return ocis_error_oom(err);
	r = ZSTD_CCtx_setParameter(c->zc, ZSTD_c_compressionLevel, c->level);
	if (!ZSTD_isError(r))
		r = ZSTD_CCtx_setParameter(c->zc, ZSTD_c_checksumFlag, 1);
	if (!ZSTD_isError(r))
		r = ZSTD_CCtx_setParameter(c->zc, ZSTD_c_nbWorkers, nb);
	if (!ZSTD_isError(r) && OCIS_ZSTD_JOB_SIZE > 0)
		r = ZSTD_CCtx_setParameter(c->zc, ZSTD_c_jobSize, OCIS_ZSTD_JOB_SIZE);
	if (ZSTD_isError(r))
		return zstd_error(r, err);
	return 0;
}

/* Push one block into the stream; whatever libzstd flushes meanwhile
 * (output of earlier jobs, possibly nothing) becomes this slot's output. */
static int
zstd_block(struct ocis_compressor *c, struct slot *s, ocis_error_t **err)
{
	ZSTD_inBuffer in = { s->in, s->in_len, 0 };
	ZSTD_EndDirective mode = s->last ? ZSTD_e_end : ZSTD_e_continue;
	size_t want = ZSTD_CStreamOutSize();

	s->out_len = 0;
	for (;;) {
		ZSTD_outBuffer ob;
		size_t r;

		if (s->out_cap - s->out_len < want) {
			size_t ncap = s->out_cap ? s->out_cap * 2 : BLOCK_SIZE;
			unsigned char *p;

			while (ncap - s->out_len < want)
				ncap *= 2;
			p = realloc(s->out, ncap);
			if (p == NULL)
				return ocis_error_oom(err);
			s->out = p;
			s->out_cap = ncap;
		}
		ob.dst = s->out;
		ob.size = s->out_cap;
		ob.pos = s->out_len;
		r = ZSTD_compressStream2(c->zc, &ob, &in, mode);
		if (ZSTD_isError(r))
			return zstd_error(r, err);
		s->out_len = ob.pos;
		if (mode == ZSTD_e_end ? r == 0 : in.pos == in.size)
			return 0;
	}
}

/* zstd:chunked: each frame of the slot as one complete zstd frame (with
 * its checksum), independent of every other, so that a reader can fetch
 * and decompress any run of frames between two marks on its own.  A slot
 * without frames adds nothing, except that an empty input still gets one
 * (empty) frame, as with gzip. */
static int
zframe_block(struct worker *w, struct slot *s, uint64_t seq, ocis_error_t **err)
{
	static const uint32_t none = 0;
	const uint32_t *end = s->n_frames > 0 ? s->frame_end : &none;
	size_t i, n = s->n_frames > 0 ? s->n_frames : seq == 0;

	s->out_len = 0;
	for (i = 0; i < n; i++) {
		size_t from = i > 0 ? end[i - 1] : 0;
		size_t r = ZSTD_compress2(w->zc, s->out + s->out_len, s->out_cap - s->out_len,
					  s->in + from, end[i] - from);

		if (ZSTD_isError(r))
			return zstd_error(r, err);
		s->frame_out[i] = (uint32_t)s->out_len;
		s->out_len += r;
	}
	return 0;
}

static int
zframe_setup(struct worker *w, int level, ocis_error_t **err)
{
	size_t r;

	w->zc = ZSTD_createCCtx();
	if (w->zc == NULL)
		return ocis_error_oom(err);
	r = ZSTD_CCtx_setParameter(w->zc, ZSTD_c_compressionLevel, level);
	if (!ZSTD_isError(r))
		r = ZSTD_CCtx_setParameter(w->zc, ZSTD_c_checksumFlag, 1);
	return ZSTD_isError(r) ? zstd_error(r, err) : 0;
}

/* A block's compression, by whichever thread does it. */
static int
compress_block(struct worker *w, struct slot *s, uint64_t seq, ocis_error_t **err)
{
	switch (w->c->alg) {
	case OCIS_COMPRESS_GZIP:
		return gzip_block(w, s, seq, err);
	case OCIS_COMPRESS_ZCHUNKED:
		return zframe_block(w, s, seq, err);
	default:
		return zstd_block(w->c, s, err);
	}
}

/*
 * Threads
 */

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct ocis_compressor *c = w->c;

	for (;;) {
		struct slot *s;
		uint64_t seq;
		ocis_error_t *e = NULL;
		int r;

		pthread_mutex_lock(&c->lock);
		while (!c->stop && !c->failed && !c->eof && c->n_taken == c->n_submitted)
			pthread_cond_wait(&c->cond_work, &c->lock);
		if (c->stop || c->failed || c->n_taken == c->n_submitted) {
			pthread_mutex_unlock(&c->lock);
			return NULL;
		}
		seq = c->n_taken++;
		s = slot_of(c, seq);
		pthread_mutex_unlock(&c->lock);

		r = compress_block(w, s, seq, &e);

		pthread_mutex_lock(&c->lock);
		if (r < 0) {
			fail_locked(c, &e);
			pthread_mutex_unlock(&c->lock);
			return NULL;
		}
		s->compressed = 1;
		/* the writer waits for the hasher, which waits for this */
		if (seq == c->n_hashed)
			pthread_cond_signal(&c->cond_hash);
		pthread_mutex_unlock(&c->lock);
	}
}

static void *
hasher_main(void *arg)
{
	struct ocis_compressor *c = arg;

	for (;;) {
		struct slot *s;
		uint64_t seq;

		pthread_mutex_lock(&c->lock);
		for (;;) {
			if (c->stop || c->failed || (c->eof && c->n_hashed == c->n_submitted)) {
				pthread_mutex_unlock(&c->lock);
				return NULL;
			}
			if (c->n_hashed < c->n_submitted && slot_of(c, c->n_hashed)->compressed)
				break;
			pthread_cond_wait(&c->cond_hash, &c->lock);
		}
		seq = c->n_hashed;
		s = slot_of(c, seq);
		pthread_mutex_unlock(&c->lock);

		if (c->pair_hashes)
			ocis_hash_update2(&c->hin, s->in, s->in_len, &c->hout, s->out,
					  s->out_len);
		else
			ocis_hash_update(&c->hin, s->in, s->in_len);

		pthread_mutex_lock(&c->lock);
		s->hashed = 1;
		c->n_hashed++;
		if (seq == c->n_released)
			pthread_cond_signal(&c->cond_writer);
		pthread_mutex_unlock(&c->lock);
	}
}

static void *
writer_main(void *arg)
{
	struct ocis_compressor *c = arg;

	for (;;) {
		struct slot *s = NULL;
		ocis_error_t *e = NULL;

		/* a block is written once hashed (which is after compressed):
		 * one wakeup a block, from the hasher */
		pthread_mutex_lock(&c->lock);
		for (;;) {
			if (c->stop || c->failed)
				goto out_unlock;
			if (c->n_released == c->n_submitted) {
				if (c->eof)
					goto out_unlock;
			} else {
				s = slot_of(c, c->n_released);
				if (s->hashed)
					break;
			}
			pthread_cond_wait(&c->cond_writer, &c->lock);
		}
		resolve_marks(c, s);
		pthread_mutex_unlock(&c->lock);

		if (s->out_len > 0) {
			/* none has no hasher: the output is the input */
			if (c->alg == OCIS_COMPRESS_NONE || !c->pair_hashes)
				ocis_hash_update(&c->hout, s->out, s->out_len);
			c->out_total += s->out_len;
			if (c->fn(c->ctx, s->out, s->out_len, &e) < 0) {
				if (e == NULL)
					ocis_error_set(&e, 0, "writing compressed data failed");
				fail(c, &e);
				return NULL;
			}
		}

		pthread_mutex_lock(&c->lock);
		s->compressed = 0;
		s->hashed = 0;
		c->n_released++;
		/* RING_WAKE_DIV.  finish() waits for an empty ring, so the last
		 * releases wake it too. */
		if (c->n_submitted - c->n_released <= c->nslots - c->nslots / RING_WAKE_DIV)
			pthread_cond_signal(&c->cond_caller);
		pthread_mutex_unlock(&c->lock);
	}
out_unlock:
	pthread_cond_signal(&c->cond_caller);
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* Start a thread with every signal blocked, named (at most 15 bytes) so
 * that top -H, perf report --sort comm and /proc/PID/task/ tell which
 * thread does what (bench/threads.sh). */
static int
start_thread(pthread_t *tid, void *(*fn)(void *), void *arg, const char *name,
	     ocis_error_t **err)
{
	if (ocis__thread_start(tid, fn, arg, err) < 0)
		return ocis_error_wrap(err, "compressor");
#ifdef __GLIBC__
	(void)pthread_setname_np(*tid, name);
#else
	(void)name;
#endif
	return 0;
}

static void
join_threads(struct ocis_compressor *c)
{
	size_t i;

	for (i = 0; i < c->nworkers; i++) {
		if (c->workers[i].started)
			pthread_join(c->workers[i].tid, NULL);
		c->workers[i].started = 0;
	}
	if (c->hasher_started)
		pthread_join(c->hasher, NULL);
	c->hasher_started = 0;
	if (c->writer_started)
		pthread_join(c->writer, NULL);
	c->writer_started = 0;
}

static void
stop_threads(struct ocis_compressor *c)
{
	pthread_mutex_lock(&c->lock);
	c->stop = 1;
	pthread_cond_broadcast(&c->cond_caller);
	pthread_cond_broadcast(&c->cond_work);
	pthread_cond_broadcast(&c->cond_hash);
	pthread_cond_broadcast(&c->cond_writer);
	pthread_mutex_unlock(&c->lock);
	join_threads(c);
}

/*
 * Caller side
 */

static int
online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > MAX_THREADS ? MAX_THREADS : (int)n;
}

int
ocis_compressor_new(struct ocis_compressor **out, enum ocis_compression alg, int level,
		    int threads, ocis_compress_out_fn fn, void *ctx, ocis_error_t **err)
{
	struct ocis_compressor *c;
	size_t i, out_cap = 0;

	*out = NULL;
	if (alg != OCIS_COMPRESS_NONE && alg != OCIS_COMPRESS_GZIP && alg != OCIS_COMPRESS_ZSTD &&
	    alg != OCIS_COMPRESS_ESTARGZ && alg != OCIS_COMPRESS_ZCHUNKED)
		return ocis_error_set(err, EINVAL, "unknown compression %d", (int)alg);
	if (alg == OCIS_COMPRESS_NONE)
		level = 0;
	if (!ocis_compression_level_valid(alg, level))
		return ocis_error_set(err, 0, "invalid %s compression level %d",
				      ocis_compression_name(alg), level);
	if (fn == NULL)
		return ocis_error_set(err, EINVAL, "compressor without output");
	if (threads <= 0)
		threads = online_cpus();
	if (threads > MAX_THREADS)
		threads = MAX_THREADS;

	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return ocis_error_oom(err);
	/* eStargz is gzip members, with cut points */
	c->marks_ok = alg == OCIS_COMPRESS_ESTARGZ || alg == OCIS_COMPRESS_ZCHUNKED;
	if (alg == OCIS_COMPRESS_ESTARGZ)
		alg = OCIS_COMPRESS_GZIP;
	c->alg = alg;
	c->level = level;
	c->threads = threads;
	c->fn = fn;
	c->ctx = ctx;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond_caller, NULL);
	pthread_cond_init(&c->cond_work, NULL);
	pthread_cond_init(&c->cond_hash, NULL);
	pthread_cond_init(&c->cond_writer, NULL);

	/* gzip, zstd:chunked: a worker per thread; zstd: one feeder (libzstd
	 * has its own workers); none: the writer alone. */
	c->nworkers = alg == OCIS_COMPRESS_GZIP || alg == OCIS_COMPRESS_ZCHUNKED ? (size_t)threads :
		      alg == OCIS_COMPRESS_ZSTD ? 1 : 0;
	c->serial = threads == 1;
	c->pair_hashes = c->nworkers <= PAIR_MAX_WORKERS;
	c->nslots = c->serial ? 1 : 2 * (c->nworkers ? c->nworkers : 1) + 2;
	if (!c->serial && c->nworkers > 0 && alg != OCIS_COMPRESS_ZSTD && c->nslots < RING_MIN_SLOTS)
		c->nslots = RING_MIN_SLOTS;

	if (ocis_hash_init(&c->hout, err) < 0)
		goto fail;
	if (alg != OCIS_COMPRESS_NONE && ocis_hash_init(&c->hin, err) < 0)
		goto fail;
	if (alg == OCIS_COMPRESS_ZSTD && zstd_setup(c, err) < 0)
		goto fail;

	if (c->nworkers) {
		c->workers = calloc(c->nworkers, sizeof(*c->workers));
		if (c->workers == NULL)
			goto oom;
	}
	for (i = 0; i < c->nworkers; i++) {
		c->workers[i].c = c;
		if (alg == OCIS_COMPRESS_ZCHUNKED && zframe_setup(&c->workers[i], level, err) < 0)
			goto fail;
		if (alg != OCIS_COMPRESS_GZIP)
			continue;
		if (ocis_gzmember_new(&c->workers[i].gz, level, err) < 0)
			goto fail;
	}
	c->frames_max = alg == OCIS_COMPRESS_ZCHUNKED ? ZFRAMES_MAX : 1;
	/* the frames' bounds together: ZSTD_compressBound(n) is n + n/256 +
	 * at most 64, plus rounding */
	if (alg == OCIS_COMPRESS_ZCHUNKED)
		out_cap = ZSTD_compressBound(BLOCK_SIZE) + ZFRAMES_MAX * 128;
	if (alg == OCIS_COMPRESS_GZIP) {
		out_cap = ocis_gzmember_bound(BLOCK_SIZE);
		c->chunker = malloc(sizeof(*c->chunker));
		if (c->chunker == NULL)
			goto oom;
		ocis_chunker_init(c->chunker, BLOCK_SIZE);
	}

	/* Every byte of the layer is copied into the ring's input buffers:
	 * one mapping in huge pages (ocis__big_alloc) rather than a page
	 * fault per 4 KiB (13 us each in a VM).  gzip's output buffers are
	 * another such mapping: as malloc's they took 2 300 of a level 1
	 * run's 3 600 faults, each slot's pages touched one by one as its
	 * members grew.  The whole of that mapping is then resident (1 MiB a
	 * slot): zstd:chunked, whose workers hold more memory of their own,
	 * keeps malloc's for its fixed bound; zstd's grow (zstd_block). */
	c->slots = calloc(c->nslots, sizeof(*c->slots));
	c->frames = calloc(c->nslots * c->frames_max * 2, sizeof(*c->frames));
	if (c->slots == NULL || c->frames == NULL)
		goto oom;
	if ((c->ring = ocis__big_alloc(c->nslots * BLOCK_SIZE, err)) == NULL)
		goto fail;
	if (alg == OCIS_COMPRESS_GZIP) {
		c->out_stride = (out_cap + 63) & ~(size_t)63;
		if ((c->out_ring = ocis__big_alloc(c->nslots * c->out_stride, err)) == NULL)
			goto fail;
	}
	for (i = 0; i < c->nslots; i++) {
		c->slots[i].in = c->ring + i * BLOCK_SIZE;
		c->slots[i].frame_end = c->frames + 2 * i * c->frames_max;
		c->slots[i].frame_out = c->slots[i].frame_end + c->frames_max;
		if (c->out_ring != NULL)
			c->slots[i].out = c->out_ring + i * c->out_stride;
		else if (out_cap && (c->slots[i].out = malloc(out_cap)) == NULL)
			goto oom;
		c->slots[i].out_cap = out_cap;
	}

	if (c->serial) {
		*out = c;
		return 0;
	}
	if (start_thread(&c->writer, writer_main, c, "ocis-writer", err) < 0)
		goto fail;
	c->writer_started = 1;
	if (alg != OCIS_COMPRESS_NONE) {
		if (start_thread(&c->hasher, hasher_main, c, "ocis-hasher", err) < 0)
			goto fail;
		c->hasher_started = 1;
	}
	for (i = 0; i < c->nworkers; i++) {
		char name[16];

		/* i < MAX_THREADS: 3 digits */
		snprintf(name, sizeof(name), "ocis-%s%u", alg == OCIS_COMPRESS_GZIP ? "gzip" : "zstd",
			 (unsigned)(i % 1000));
		if (start_thread(&c->workers[i].tid, worker_main, &c->workers[i], name, err) < 0)
			goto fail;
		c->workers[i].started = 1;
	}
	*out = c;
	return 0;

oom:
	ocis_error_oom(err);
fail:
	ocis_compressor_free(c);
	return -1;
}

/* Get the slot for the next block, waiting while the ring is full. */
static int
acquire(struct ocis_compressor *c, ocis_error_t **err)
{
	if (c->serial) {
		c->cur = &c->slots[0];
	} else {
		pthread_mutex_lock(&c->lock);
		while (!c->failed && c->n_submitted - c->n_released >= c->nslots)
			pthread_cond_wait(&c->cond_caller, &c->lock);
		if (c->failed) {
			pthread_mutex_unlock(&c->lock);
			return report(c, err);
		}
		c->cur = slot_of(c, c->n_submitted);
		pthread_mutex_unlock(&c->lock);
	}
	c->cur->in_len = 0;
	c->cur->n_frames = 0;
	c->cur->frame0 = c->n_frames;
	c->frame_start = 0;
	return 0;
}

/* The frame being filled ends here (if it holds anything). */
static void
end_frame(struct ocis_compressor *c)
{
	struct slot *s = c->cur;

	if (s->in_len == c->frame_start)
		return;
	s->frame_end[s->n_frames++] = (uint32_t)s->in_len;
	c->frame_start = s->in_len;
	c->n_frames++;
}

/* threads == 1: the block's whole way, on the caller's thread, in the
 * order the threads would take it. */
static int
run_block(struct ocis_compressor *c, struct slot *s, ocis_error_t **err)
{
	ocis_error_t *e = NULL;
	uint64_t seq = c->n_submitted++;
	int r = 0;

	if (c->alg != OCIS_COMPRESS_NONE) {
		r = compress_block(&c->workers[0], s, seq, &e);
		if (r == 0)
			ocis_hash_update2(&c->hin, s->in, s->in_len, &c->hout, s->out, s->out_len);
	} else {
		s->out = s->in;
		s->out_len = s->in_len;
		ocis_hash_update(&c->hout, s->out, s->out_len);
	}
	if (r == 0)
		resolve_marks(c, s);
	if (r == 0 && s->out_len > 0) {
		c->out_total += s->out_len;
		r = c->fn(c->ctx, s->out, s->out_len, &e);
		if (r < 0 && e == NULL)
			ocis_error_set(&e, 0, "writing compressed data failed");
	}
	c->n_released = c->n_submitted;
	if (r < 0) {
		fail(c, &e);
		return report(c, err);
	}
	return 0;
}

/* Hand the filled slot on, its last frame ended: to the threads, or
 * through run_block. */
static int
submit(struct ocis_compressor *c, int last, ocis_error_t **err)
{
	struct slot *s = c->cur;

	end_frame(c);
	c->cur = NULL;
	if (c->serial) {
		s->last = last;
		if (last)
			c->eof = 1;
		return run_block(c, s, err);
	}
	pthread_mutex_lock(&c->lock);
	s->last = last;
	s->compressed = 0;
	s->hashed = 0;
	if (c->alg == OCIS_COMPRESS_NONE) {
		s->out = s->in;
		s->out_len = s->in_len;
		s->compressed = 1;
		s->hashed = 1;
	}
	/* none: the writer's block; the others reach it through the hasher */
	if (c->alg == OCIS_COMPRESS_NONE && c->n_submitted == c->n_released)
		pthread_cond_signal(&c->cond_writer);
	c->n_submitted++;
	if (last) {
		c->eof = 1;
		pthread_cond_broadcast(&c->cond_work);
		pthread_cond_broadcast(&c->cond_hash);
		pthread_cond_signal(&c->cond_writer);
	} else {
		/* the hasher waits for the block's compression instead */
		pthread_cond_signal(&c->cond_work);
	}
	pthread_mutex_unlock(&c->lock);
	return 0;
}

/* The current block is complete: hand it on; the next byte starts a new
 * block. */
static int
end_block(struct ocis_compressor *c, ocis_error_t **err)
{
	if (c->chunker)
		ocis_chunker_next_block(c->chunker);
	return submit(c, 0, err);
}

/* A full slot whose last frame started after its first byte (zstd:chunked,
 * several frames a slot): the frames before go; the last one, unfinished,
 * moves to the start of the next slot (a frame ends at BLOCK_SIZE from
 * its own start, never at a slot's end). */
static int
carry_frame(struct ocis_compressor *c, ocis_error_t **err)
{
	struct slot *s = c->cur;
	const unsigned char *from = s->in + c->frame_start;
	size_t n = s->in_len - c->frame_start;

	s->in_len = c->frame_start;	/* workers and hasher read no further */
	if (submit(c, 0, err) < 0 || acquire(c, err) < 0)
		return -1;
	/* the same slot with no threads: the bytes move down within it */
	memmove(c->cur->in, from, n);
	c->cur->in_len = n;
	return 0;
}

int
ocis_compressor_write(struct ocis_compressor *c, const void *data, size_t len,
		      ocis_error_t **err)
{
	const unsigned char *p = data;
	int cut;

	if (c->finished)
		return ocis_error_set(err, EINVAL, "compressor already finished");
	if (is_failed(c))
		return report(c, err);
	while (len > 0) {
		size_t n;

		if (c->cur == NULL && acquire(c, err) < 0)
			return -1;
		n = BLOCK_SIZE - c->cur->in_len;
		if (n > len)
			n = len;
		cut = c->cur->in_len + n == BLOCK_SIZE;
		if (c->chunker)
			n = ocis_chunker_scan(c->chunker, p, n, &cut);
		memcpy(c->cur->in + c->cur->in_len, p, n);
		c->cur->in_len += n;
		c->in_total += n;
		p += n;
		len -= n;
		if (cut && (c->frame_start > 0 ? carry_frame(c, err) : end_block(c, err)) < 0)
			return -1;
	}
	return 0;
}

/* End the current frame early (a mark or a drain): the next byte written
 * starts a new one.  A frame is a block of its own but with zstd:chunked,
 * whose slots take several (fewer hand-offs between threads: most chunks
 * and headers are far smaller than a slot), until one is full or `flush`
 * (a drain) says so. */
static int
cut(struct ocis_compressor *c, int flush, ocis_error_t **err)
{
	if (!c->marks_ok)
		return ocis_error_set(err, EINVAL, "internal: cut points on a %s compressor",
				      ocis_compression_name(c->alg));
	if (c->finished)
		return ocis_error_set(err, EINVAL, "compressor already finished");
	if (is_failed(c))
		return report(c, err);
	if (c->cur == NULL || c->cur->in_len == 0)
		return 0;
	if (c->frames_max > 1 && !flush) {
		end_frame(c);
		return c->cur->n_frames < c->frames_max ? 0 : submit(c, 0, err);
	}
	/* end_block: the chunker starts counting afresh, as at any block end
	 * (the boundaries after a mark follow the bytes, never the threads) */
	return end_block(c, err);
}

int
ocis_compressor_mark(struct ocis_compressor *c, uint64_t *id, ocis_error_t **err)
{
	if (cut(c, 0, err) < 0)
		return -1;
	pthread_mutex_lock(&c->lock);
	if (c->n_marks == c->marks_cap) {
		size_t ncap = c->marks_cap ? c->marks_cap * 2 : 1024;
		uint64_t *m = realloc(c->marks, ncap * sizeof(*m));

		if (m == NULL) {
			pthread_mutex_unlock(&c->lock);
			return ocis_error_oom(err);
		}
		c->marks = m;
		c->marks_cap = ncap;
	}
	*id = c->n_marks;
	c->marks[c->n_marks++] = c->n_frames;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

int
ocis_compressor_drain(struct ocis_compressor *c, uint64_t *out_bytes, ocis_error_t **err)
{
	int failed;

	if (cut(c, 1, err) < 0)
		return -1;
	pthread_mutex_lock(&c->lock);
	while (!c->failed && c->n_released < c->n_submitted)
		pthread_cond_wait(&c->cond_caller, &c->lock);
	failed = c->failed;
	resolve_marks(c, NULL);
	*out_bytes = c->out_total;
	pthread_mutex_unlock(&c->lock);
	return failed ? report(c, err) : 0;
}

uint64_t
ocis_compressor_mark_offset(const struct ocis_compressor *c, uint64_t id)
{
	return id < c->n_marks_done ? c->marks[id] : UINT64_MAX;
}

/* After the last block: the tail as one member of its own, then the raw
 * bytes, on the caller's thread (no other thread runs any more). */
static int
write_tail(struct ocis_compressor *c, const void *tail, size_t tail_len, const void *raw,
	   size_t raw_len, ocis_error_t **err)
{
	unsigned char *buf;
	size_t cap, n;
	int r;

	if (tail_len > 0) {
		cap = ocis_gzmember_bound(tail_len);
		buf = malloc(cap);
		if (buf == NULL)
			return ocis_error_oom(err);
		r = ocis_gzmember_compress(c->workers[0].gz, tail, tail_len, buf, cap, &n, err);
		if (r == 0) {
			ocis_hash_update(&c->hin, tail, tail_len);
			c->in_total += tail_len;
			ocis_hash_update(&c->hout, buf, n);
			c->out_total += n;
			r = c->fn(c->ctx, buf, n, err);
		}
		free(buf);
		if (r < 0)
			return -1;
	}
	if (raw_len > 0) {
		ocis_hash_update(&c->hout, raw, raw_len);
		c->out_total += raw_len;
		if (c->fn(c->ctx, raw, raw_len, err) < 0)
			return -1;
	}
	return 0;
}

int
ocis_compress_result_final(struct ocis_compress_result *res, enum ocis_compression alg,
			   struct ocis_hash *hin, struct ocis_hash *hout, uint64_t in_total,
			   uint64_t out_total, ocis_error_t **err)
{
	memset(res, 0, sizeof(*res));
	if (ocis_hash_final(hout, res->digest, err) < 0)
		return -1;
	if (alg == OCIS_COMPRESS_NONE)
		memcpy(res->diff_id, res->digest, sizeof(res->diff_id));
	else if (ocis_hash_final(hin, res->diff_id, err) < 0)
		return -1;
	res->uncompressed_size = in_total;
	res->size = out_total;
	return 0;
}

int
ocis_compressor_use_cache(struct ocis_compressor *c, struct ocis_blockcache *cache)
{
	if (c->alg != OCIS_COMPRESS_GZIP || c->in_total > 0 || c->cur != NULL)
		return 0;
	c->cache = cache;
	return 1;
}

int
ocis_compressor_entry(struct ocis_compressor *c, ocis_error_t **err)
{
	if (c->finished)
		return ocis_error_set(err, EINVAL, "compressor already finished");
	if (is_failed(c))
		return report(c, err);
	/* the chunker counts from every entry start; right after a cut (no
	 * current block) it never asks for one */
	if (c->chunker && ocis_chunker_entry(c->chunker) && c->cur)
		return end_block(c, err);
	return 0;
}

int
ocis_compressor_finish(struct ocis_compressor *c, struct ocis_compress_result *res,
		       ocis_error_t **err)
{
	return ocis_compressor_finish_tail(c, NULL, 0, NULL, 0, res, err);
}

int
ocis_compressor_finish_tail(struct ocis_compressor *c, const void *tail, size_t tail_len,
			    const void *raw, size_t raw_len, struct ocis_compress_result *res,
			    ocis_error_t **err)
{
	int failed;

	if (c->finished)
		return ocis_error_set(err, EINVAL, "compressor already finished");
	if (((tail_len > 0 || raw_len > 0) && !c->marks_ok) ||
	    (tail_len > 0 && c->alg != OCIS_COMPRESS_GZIP))
		return ocis_error_set(err, EINVAL, "internal: a tail on a %s compressor",
				      ocis_compression_name(c->alg));
	if (is_failed(c))
		return report(c, err);
	if (c->cur == NULL && acquire(c, err) < 0)
		return -1;
	if (submit(c, 1, err) < 0)
		return -1;

	pthread_mutex_lock(&c->lock);
	while (!c->failed && c->n_released < c->n_submitted)
		pthread_cond_wait(&c->cond_caller, &c->lock);
	failed = c->failed;
	pthread_mutex_unlock(&c->lock);
	if (failed)
		return report(c, err);

	/* Every thread leaves its loop at eof once its work is done. */
	join_threads(c);
	c->finished = 1;
	if (write_tail(c, tail, tail_len, raw, raw_len, err) < 0)
		return -1;

	return ocis_compress_result_final(res, c->alg, &c->hin, &c->hout, c->in_total,
					  c->out_total, err);
}

void
ocis_compressor_free(struct ocis_compressor *c)
{
	size_t i;

	if (c == NULL)
		return;
	stop_threads(c);
	for (i = 0; c->workers != NULL && i < c->nworkers; i++) {
		ocis_gzmember_free(c->workers[i].gz);
		ZSTD_freeCCtx(c->workers[i].zc);
	}
	free(c->workers);
	/* malloc's (zstd:chunked's, zstd's grown ones); none's out is its in */
	for (i = 0; c->out_ring == NULL && c->slots != NULL && i < c->nslots; i++)
		if (c->slots[i].out != c->slots[i].in)
			free(c->slots[i].out);
	free(c->slots);
	free(c->frames);
	ocis__big_free(c->ring, c->nslots * BLOCK_SIZE);
	ocis__big_free(c->out_ring, c->nslots * c->out_stride);
	free(c->marks);
	if (c->zc)
		ZSTD_freeCCtx(c->zc);
	free(c->chunker);
	ocis_hash_release(&c->hin);
	ocis_hash_release(&c->hout);
	ocis_error_free(&c->error);
	pthread_cond_destroy(&c->cond_caller);
	pthread_cond_destroy(&c->cond_work);
	pthread_cond_destroy(&c->cond_hash);
	pthread_cond_destroy(&c->cond_writer);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
