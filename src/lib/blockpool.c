/* SPDX-License-Identifier: MIT */
/*
 * The compressor pool of split layers: see ocistream/blockpool.h and
 * docs/split.md.
 *
 * Design.  As in compress.c, blocks live in a ring of `nslots` slots, block
 * `seq` (counted over all layers, in the order the caller cut them) in slot
 * seq % nslots, so the ring is also the bound on blocks in flight:
 *
 *	caller   layer's pending block --swap--> slot --submit-->
 *	workers  (`threads`) take the next slot, compress it with their own
 *		 codec state (gzip member, zstd frame) into the slot's output
 *	writer   (1 thread) in seq order: the layer's diff_id and digest
 *		 hashes, its out function, then the slot is free
 *
 * Blocks of one layer are submitted in its order, and the writer goes in
 * seq order, so every layer gets its output in order; what a block becomes
 * depends on its bytes alone, so no layer depends on the thread count.
 *
 * Memory.  Block buffers are anonymous mappings of BLOCK_SIZE bytes: a
 * new one costs the pages a layer fills.  A layer that cuts a block takes
 * the buffer its slot held before, resident: reusing it keeps page faults
 * off the hot path (dropping every buffer's pages after its block cost a
 * quarter more CPU in gzip, measured).  A layer that stops writing would
 * then pin a whole resident 1 MiB for a few bytes, so every SWEEP_EVERY
 * cuts the caller drops the pages beyond the fill of layers that have
 * not written for STALE cuts (MADV_DONTNEED): an idle layer costs the
 * pages of its pending bytes, a busy one at most its 1 MiB buffer.
 *
 * One mutex guards the counters and flags; a slot's bytes are touched
 * without it by whoever the counters say owns the slot.  The first failure
 * is kept and wakes everybody; every later call returns it.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <zstd.h>

#include <ocistream/blockcache.h>
#include <ocistream/blockpool.h>
#include <ocistream/chunker.h>
#include <ocistream/gzmember.h>
#include <ocistream/hash.h>

#include "internal.h"

#define BLOCK_SIZE ((size_t)OCIS_COMPRESS_BLOCK_SIZE)
#define WORKERS_MAX 64
#define AUTO_WORKERS_MAX 8
/* cuts between sweeps, and cuts without a write that make a layer idle */
#define SWEEP_EVERY 8
#define STALE 16
/* none: blocks of this size; its bytes do not depend on them, and a
 * smaller pending block is less to hold per open layer */
#define NONE_BLOCK ((size_t)256 * 1024)

struct slot {
	struct ocis_blockpool_layer *l;
	unsigned char *in;	/* a block buffer (mapping), or NULL */
	size_t in_len;
	size_t in_resident;	/* bytes of in known to be resident */
	unsigned char *out;	/* gzip, zstd: malloc'd on first use */
	size_t out_len, out_cap;
	int first;		/* the layer's first block: a member even if empty */
	int compressed;
};

struct worker {
	struct ocis_blockpool *p;
	pthread_t tid;
	int started;
	struct ocis_gzmember *gz;
	ZSTD_CCtx *zc;
};

struct ocis_blockpool {
	enum ocis_compression alg;
	int level;
	struct ocis_blockcache *cache;

	pthread_mutex_t lock;
	pthread_cond_t cond_caller;	/* a slot written */
	pthread_cond_t cond_work;	/* a slot submitted */
	pthread_cond_t cond_writer;	/* a slot compressed */
	struct slot *slots;
	size_t nslots;
	uint64_t n_submitted, n_taken, n_released;
	int stop, failed;
	ocis_error_t *error;

	int serial;			/* threads == 1: no threads */
	struct worker *workers;		/* serial: one, for its codec state */
	size_t nworkers;
	pthread_t writer;
	int writer_started;

	/* the caller's: every layer, for the sweep */
	struct ocis_blockpool_layer **layers;
	size_t n_layers, layers_cap;
	uint64_t n_cut;			/* blocks cut so far */
	size_t page;
};

struct ocis_blockpool_layer {
	struct ocis_blockpool *p;
	ocis_compress_out_fn fn;
	void *ctx;
	struct ocis_chunker ch;
	unsigned char *block;	/* the pending block (a mapping), or NULL */
	size_t len;
	size_t resident;	/* bytes of block known to be resident */
	uint64_t last_write;	/* n_cut at the last write */
	size_t index;		/* in the pool's layers */
	uint64_t n_blocks;	/* handed on */
	uint64_t in_flight;	/* handed on, not yet written (lock) */
	int ended;
	struct ocis_hash hin, hout;	/* touched by the writer only */
	uint64_t in_total, out_total;
};

static unsigned char *
block_new(void)
{
	void *p = mmap(NULL, BLOCK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		       0);

	return p == MAP_FAILED ? NULL : p;
}

static void
block_free(unsigned char *b)
{
	if (b != NULL)
		munmap(b, BLOCK_SIZE);
}

/* First failure kept (taking *e), everybody woken.  Lock held. */
static void
fail_locked(struct ocis_blockpool *p, ocis_error_t **e)
{
	ocis__error_keep_first(&p->error, e, "split layers: compressor failed");
	__atomic_store_n(&p->failed, 1, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&p->cond_caller);
	pthread_cond_broadcast(&p->cond_work);
	pthread_cond_broadcast(&p->cond_writer);
}

/* A copy of the kept failure for the caller.  Lock held.  Returns -1. */
static int
report_locked(struct ocis_blockpool *p, ocis_error_t **err)
{
	return ocis__error_copy_kept(p->error, err, "split layers: compressor failed");
}

static int
zstd_error(size_t r, ocis_error_t **err)
{
	return ocis_error_set(err, 0, "compressing with zstd: %s", ZSTD_getErrorName(r));
}

/* One zstd frame of its own, checksummed: a function of the block and the
 * level (ZSTD_compress2 starts a new frame with the context's parameters). */
static int
zstd_frame(struct worker *w, struct slot *s, ocis_error_t **err)
{
	size_t r;

	if (w->zc == NULL) {
		if ((w->zc = ZSTD_createCCtx()) == NULL)
			return ocis_error_oom(err);
		r = ZSTD_CCtx_setParameter(w->zc, ZSTD_c_compressionLevel, w->p->level);
		if (!ZSTD_isError(r))
			r = ZSTD_CCtx_setParameter(w->zc, ZSTD_c_checksumFlag, 1);
		if (ZSTD_isError(r))
			return zstd_error(r, err);
	}
	r = ZSTD_compress2(w->zc, s->out, s->out_cap, s->in, s->in_len);
	if (ZSTD_isError(r))
		return zstd_error(r, err);
	s->out_len = r;
	return 0;
}

/* A slot's block into its output, with worker w's codec state. */
static int
compress_slot(struct worker *w, struct slot *s, ocis_error_t **err)
{
	struct ocis_blockpool *p = w->p;

	s->out_len = 0;
	if (p->alg == OCIS_COMPRESS_NONE) {
		s->out_len = s->in_len;
		return 0;
	}
	/* as compress.c: an empty block adds nothing, but the first one */
	if (s->in_len == 0 && !s->first)
		return 0;
	if (s->out == NULL) {
		s->out_cap = p->alg == OCIS_COMPRESS_GZIP ? ocis_gzmember_bound(BLOCK_SIZE) :
							    ZSTD_compressBound(BLOCK_SIZE);
		if ((s->out = malloc(s->out_cap)) == NULL)
			return ocis_error_oom(err);
	}
	if (p->alg == OCIS_COMPRESS_ZSTD)
		return zstd_frame(w, s, err);
	return ocis_gzmember_block(w->gz, p->cache, s->in, s->in_len, s->out, s->out_cap,
				   &s->out_len, err);
}

/* A compressed slot into its layer: hashes, out function; then its pages
 * go (see the top). */
static int
write_slot(struct ocis_blockpool *p, struct slot *s, ocis_error_t **err)
{
	struct ocis_blockpool_layer *l = s->l;
	const unsigned char *out = p->alg == OCIS_COMPRESS_NONE ? s->in : s->out;
	int r = 0;

	/* both hashes side by side (hash.h: cheaper than in turn) */
	if (p->alg != OCIS_COMPRESS_NONE)
		ocis_hash_update2(&l->hin, s->in, s->in_len, &l->hout, out, s->out_len);
	else
		ocis_hash_update(&l->hout, out, s->out_len);
	if (s->out_len > 0) {
		l->out_total += s->out_len;
		if ((r = l->fn(l->ctx, out, s->out_len, err)) < 0 && *err == NULL)
			ocis_error_set(err, 0, "writing compressed data failed");
	}
	return r;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct ocis_blockpool *p = w->p;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		ocis_error_t *e = NULL;
		struct slot *s;
		uint64_t seq;
		int r;

		while (!p->stop && !p->failed && p->n_taken == p->n_submitted)
			pthread_cond_wait(&p->cond_work, &p->lock);
		if (p->stop || p->failed)
			break;
		seq = p->n_taken++;
		s = &p->slots[seq % p->nslots];
		pthread_mutex_unlock(&p->lock);
		r = compress_slot(w, s, &e);
		pthread_mutex_lock(&p->lock);
		if (r < 0) {
			fail_locked(p, &e);
			break;
		}
		s->compressed = 1;
		if (seq == p->n_released)
			pthread_cond_signal(&p->cond_writer);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static void *
writer_main(void *arg)
{
	struct ocis_blockpool *p = arg;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		ocis_error_t *e = NULL;
		struct slot *s = &p->slots[p->n_released % p->nslots];

		while (!p->stop && !p->failed &&
		       (p->n_released == p->n_submitted || !s->compressed))
			pthread_cond_wait(&p->cond_writer, &p->lock);
		if (p->stop || p->failed)
			break;
		pthread_mutex_unlock(&p->lock);
		if (write_slot(p, s, &e) < 0) {
			pthread_mutex_lock(&p->lock);
			fail_locked(p, &e);
			break;
		}
		pthread_mutex_lock(&p->lock);
		s->compressed = 0;
		s->l->in_flight--;
		p->n_released++;
		pthread_cond_broadcast(&p->cond_caller);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static void
stop_threads(struct ocis_blockpool *p)
{
	size_t i;

	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_cond_broadcast(&p->cond_caller);
	pthread_cond_broadcast(&p->cond_work);
	pthread_cond_broadcast(&p->cond_writer);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < p->nworkers; i++) {
		if (p->workers[i].started)
			pthread_join(p->workers[i].tid, NULL);
		p->workers[i].started = 0;
	}
	if (p->writer_started)
		pthread_join(p->writer, NULL);
	p->writer_started = 0;
}

static int
start_threads(struct ocis_blockpool *p, ocis_error_t **err)
{
	size_t i;

	if (ocis__thread_start(&p->writer, writer_main, p, err) < 0)
		return ocis_error_wrap(err, "split layers");
	p->writer_started = 1;
	for (i = 0; i < p->nworkers; i++) {
		if (ocis__thread_start(&p->workers[i].tid, worker_main, &p->workers[i], err) < 0)
			return ocis_error_wrap(err, "split layers");
		p->workers[i].started = 1;
	}
	return 0;
}

int
ocis_blockpool_new(struct ocis_blockpool **out, enum ocis_compression alg, int level,
		   int threads, ocis_error_t **err)
{
	struct ocis_blockpool *p;
	size_t i;

	*out = NULL;
	if (alg != OCIS_COMPRESS_GZIP && alg != OCIS_COMPRESS_ZSTD && alg != OCIS_COMPRESS_NONE)
		return ocis_error_set(err, EINVAL, "internal: a block pool for %s",
				      ocis_compression_name(alg));
	if (alg == OCIS_COMPRESS_NONE)
		level = 0;
	if (!ocis_compression_level_valid(alg, level))
		return ocis_error_set(err, 0, "invalid %s compression level %d",
				      ocis_compression_name(alg), level);
	/* Unasked, the pool takes at most AUTO_WORKERS_MAX of the CPUs: its
	 * memory grows with the workers (about 4.7 MiB each at gzip -6), and
	 * 64 open layers must stay under 128 MiB on any host (docs/split.md);
	 * the bytes are the same for any count. */
	if (threads <= 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		threads = n < 1 ? 1 : n > AUTO_WORKERS_MAX ? AUTO_WORKERS_MAX : (int)n;
	}
	if (threads > WORKERS_MAX)
		threads = WORKERS_MAX;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return ocis_error_oom(err);
	p->alg = alg;
	p->level = level;
	p->serial = threads == 1;
	p->nworkers = (size_t)threads;
	/* as compress.c: two blocks a worker and two more keep every worker
	 * busy while the writer waits for the oldest */
	p->nslots = p->serial ? 1 : 2 * p->nworkers + 2;
	p->page = (size_t)sysconf(_SC_PAGESIZE);
	if (p->page == 0 || p->page > BLOCK_SIZE || (p->page & (p->page - 1)) != 0)
		p->page = 4096;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond_caller, NULL);
	pthread_cond_init(&p->cond_work, NULL);
	pthread_cond_init(&p->cond_writer, NULL);
	p->slots = calloc(p->nslots, sizeof(*p->slots));
	p->workers = calloc(p->nworkers, sizeof(*p->workers));
	if (p->slots == NULL || p->workers == NULL)
		goto oom;
	for (i = 0; i < p->nworkers; i++) {
		p->workers[i].p = p;
		if (alg == OCIS_COMPRESS_GZIP && ocis_gzmember_new(&p->workers[i].gz, level, err) < 0)
			goto fail;
	}
	if (!p->serial && start_threads(p, err) < 0)
		goto fail;
	*out = p;
	return 0;
oom:
	ocis_error_oom(err);
fail:
	ocis_blockpool_free(p);
	return -1;
}

enum ocis_compression
ocis_blockpool_compression(const struct ocis_blockpool *p)
{
	return p->alg;
}

int
ocis_blockpool_use_cache(struct ocis_blockpool *p, const char *dir, uint64_t max,
			 ocis_error_t **err)
{
	char codec[64];

	if (p->alg != OCIS_COMPRESS_GZIP || p->cache != NULL)
		return 0;
	ocis_gzmember_codec(p->level, codec, sizeof(codec));
	if (ocis_blockcache_open(&p->cache, dir, codec, max, err) < 0)
		return ocis_error_wrap(err, "block cache");
	return 0;
}

int
ocis_blockpool_cache_stats(struct ocis_blockpool *p, struct ocis_blockcache_stats *st)
{
	if (p->cache == NULL)
		return 0;
	ocis_blockcache_stats(p->cache, st);
	return 1;
}

void
ocis_blockpool_trim_cache(struct ocis_blockpool *p)
{
	/* failing to trim (another builder trimming, a read-only DIR) costs
	 * disk, not the layers */
	if (p->cache != NULL)
		(void)ocis_blockcache_trim(p->cache, NULL);
}

void
ocis_blockpool_free(struct ocis_blockpool *p)
{
	size_t i;

	if (p == NULL)
		return;
	stop_threads(p);
	for (i = 0; p->workers != NULL && i < p->nworkers; i++) {
		ocis_gzmember_free(p->workers[i].gz);
		ZSTD_freeCCtx(p->workers[i].zc);
	}
	free(p->workers);
	for (i = 0; p->slots != NULL && i < p->nslots; i++) {
		block_free(p->slots[i].in);
		free(p->slots[i].out);
	}
	free(p->slots);
	free(p->layers);
	ocis_blockcache_close(p->cache);
	ocis_error_free(&p->error);
	pthread_cond_destroy(&p->cond_caller);
	pthread_cond_destroy(&p->cond_work);
	pthread_cond_destroy(&p->cond_writer);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

int
ocis_blockpool_layer_new(struct ocis_blockpool *p, struct ocis_blockpool_layer **out,
			 ocis_compress_out_fn fn, void *ctx, ocis_error_t **err)
{
	struct ocis_blockpool_layer *l = calloc(1, sizeof(*l));

	*out = NULL;
	if (l == NULL)
		return ocis_error_oom(err);
	if (p->n_layers == p->layers_cap &&
	    ocis__grow((void **)&p->layers, &p->layers_cap, p->n_layers + 1, sizeof(*p->layers),
		       err) < 0) {
		free(l);
		return -1;
	}
	l->index = p->n_layers;
	p->layers[p->n_layers++] = l;
	l->p = p;
	l->fn = fn;
	l->ctx = ctx;
	ocis_chunker_init(&l->ch, BLOCK_SIZE);
	if (ocis_hash_init(&l->hout, err) < 0 ||
	    (p->alg != OCIS_COMPRESS_NONE && ocis_hash_init(&l->hin, err) < 0)) {
		ocis_blockpool_layer_free(l);
		return -1;
	}
	*out = l;
	return 0;
}

/* Drop the resident pages beyond the fill of idle layers (see the top). */
static void
sweep(struct ocis_blockpool *p)
{
	size_t i;

	for (i = 0; i < p->n_layers; i++) {
		struct ocis_blockpool_layer *l = p->layers[i];
		size_t keep = (l->len + p->page - 1) & ~(p->page - 1);

		if (l->block == NULL || p->n_cut - l->last_write < STALE || l->resident <= keep)
			continue;
		(void)madvise(l->block + keep, l->resident - keep, MADV_DONTNEED);
		l->resident = keep;
	}
}

/* The pending block into the next free slot (waiting while the ring is
 * full); the slot's old buffer, resident as it is, becomes the pending
 * one.  Serial: compressed and written right here. */
static int
submit(struct ocis_blockpool_layer *l, ocis_error_t **err)
{
	struct ocis_blockpool *p = l->p;
	ocis_error_t *e = NULL;
	unsigned char *b;
	size_t resident;
	struct slot *s;

	ocis_chunker_next_block(&l->ch);
	if (++p->n_cut % SWEEP_EVERY == 0)
		sweep(p);
	pthread_mutex_lock(&p->lock);
	while (!p->failed && p->n_submitted - p->n_released >= p->nslots)
		pthread_cond_wait(&p->cond_caller, &p->lock);
	if (p->failed) {
		int r = report_locked(p, err);
		pthread_mutex_unlock(&p->lock);
		return r;
	}
	s = &p->slots[p->n_submitted % p->nslots];
	b = s->in;
	s->in = l->block;
	s->in_len = l->len;
	resident = s->in_resident;
	s->in_resident = l->resident;
	l->resident = resident;
	s->l = l;
	s->first = l->n_blocks == 0;
	s->compressed = 0;
	l->block = b;
	l->len = 0;
	l->n_blocks++;
	if (!p->serial) {
		l->in_flight++;
		p->n_submitted++;
		pthread_cond_signal(&p->cond_work);
		pthread_mutex_unlock(&p->lock);
		return 0;
	}
	pthread_mutex_unlock(&p->lock);
	if (compress_slot(&p->workers[0], s, &e) < 0 || write_slot(p, s, &e) < 0) {
		pthread_mutex_lock(&p->lock);
		fail_locked(p, &e);
		report_locked(p, err);
		pthread_mutex_unlock(&p->lock);
		return -1;
	}
	return 0;
}

static int
check_failed(struct ocis_blockpool_layer *l, ocis_error_t **err)
{
	int r = 0;

	pthread_mutex_lock(&l->p->lock);
	if (l->p->failed)
		r = report_locked(l->p, err);
	pthread_mutex_unlock(&l->p->lock);
	return r;
}

int
ocis_blockpool_write(struct ocis_blockpool_layer *l, const void *data, size_t len,
		     ocis_error_t **err)
{
	const unsigned char *p = data;

	if (l->ended)
		return ocis_error_set(err, EINVAL, "internal: a split layer written after its end");
	if (__atomic_load_n(&l->p->failed, __ATOMIC_ACQUIRE) && check_failed(l, err) < 0)
		return -1;
	while (len > 0) {
		size_t n = BLOCK_SIZE - l->len;
		int cut;

		if (l->block == NULL && (l->block = block_new()) == NULL)
			return ocis_error_oom(err);
		if (n > len)
			n = len;
		/* the chunker cuts as in compress.c: the same blocks; none's
		 * bytes do not depend on the blocks, so its scan is saved */
		if (l->p->alg == OCIS_COMPRESS_NONE) {
			if (n > NONE_BLOCK - l->len)
				n = NONE_BLOCK - l->len;
			cut = l->len + n == NONE_BLOCK;
		} else {
			n = ocis_chunker_scan(&l->ch, p, n, &cut);
		}
		memcpy(l->block + l->len, p, n);
		l->len += n;
		if (l->resident < l->len)
			l->resident = l->len;
		l->last_write = l->p->n_cut;
		l->in_total += n;
		p += n;
		len -= n;
		if (cut && submit(l, err) < 0)
			return -1;
	}
	return 0;
}

int
ocis_blockpool_entry(struct ocis_blockpool_layer *l, ocis_error_t **err)
{
	if (l->ended)
		return ocis_error_set(err, EINVAL, "internal: a split layer written after its end");
	if (l->p->alg != OCIS_COMPRESS_NONE && ocis_chunker_entry(&l->ch) && l->len > 0)
		return submit(l, err);
	return 0;
}

int
ocis_blockpool_end(struct ocis_blockpool_layer *l, ocis_error_t **err)
{
	if (l->ended)
		return 0;
	l->ended = 1;
	/* an empty layer is one empty member (frame), as in compress.c */
	if (l->len == 0 && l->n_blocks > 0)
		return 0;
	if (l->block == NULL && (l->block = block_new()) == NULL)
		return ocis_error_oom(err);
	return submit(l, err);
}

int
ocis_blockpool_finish(struct ocis_blockpool_layer *l, struct ocis_compress_result *res,
		      ocis_error_t **err)
{
	struct ocis_blockpool *p = l->p;

	if (ocis_blockpool_end(l, err) < 0)
		return -1;
	pthread_mutex_lock(&p->lock);
	while (!p->failed && l->in_flight > 0)
		pthread_cond_wait(&p->cond_caller, &p->lock);
	if (p->failed) {
		int r = report_locked(p, err);
		pthread_mutex_unlock(&p->lock);
		return r;
	}
	pthread_mutex_unlock(&p->lock);
	return ocis_compress_result_final(res, p->alg, &l->hin, &l->hout, l->in_total,
					  l->out_total, err);
}

void
ocis_blockpool_layer_free(struct ocis_blockpool_layer *l)
{
	int busy;

	if (l == NULL)
		return;
	pthread_mutex_lock(&l->p->lock);
	busy = l->in_flight > 0;
	if (busy) {
		ocis_error_t *e = NULL;
		ocis_error_set(&e, 0, "split layers: a layer freed while compressing");
		fail_locked(l->p, &e);
	}
	pthread_mutex_unlock(&l->p->lock);
	/* its blocks in the ring are never touched again once the threads
	 * are gone */
	if (busy)
		stop_threads(l->p);
	/* out of the sweep's list */
	l->p->layers[l->index] = l->p->layers[--l->p->n_layers];
	l->p->layers[l->index]->index = l->index;
	block_free(l->block);
	ocis_hash_release(&l->hin);
	ocis_hash_release(&l->hout);
	free(l);
}
