/* SPDX-License-Identifier: MIT */
/*
 * Image stream -> registry: see ocistream/push.h.
 *
 * The caller's thread reads the stream (images.c) into the sink below;
 * one worker thread does every request of the blobs, one job at a time,
 * so that reading (and upstream, compressing) goes on while a chunk or a
 * spooled layer goes up.  One job may wait while one runs: a slow
 * registry holds the reader back (two chunk buffers, or two spool files
 * and the one being written), so memory and disk stay bounded.
 * Manifests are put by the caller's thread once the worker is idle and
 * nothing failed.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ocistream/images.h>
#include <ocistream/io.h>
#include <ocistream/layerdesc.h>
#include <ocistream/push.h>

#include "internal.h"

/* A run being streamed: its upload session (the worker's). */
struct streamed {
	struct ocis_upload *up;
};

enum job_kind {
	JOB_PIECE,	/* PATCH buffer bytes of a streamed run (session opened first) */
	JOB_FINISH,	/* the last bytes of a streamed run, then PUT ?digest= */
	JOB_WHOLE,	/* a whole blob from a spool or memory: HEAD, mount, upload */
	JOB_CHECK,	/* HEAD, then mount: does the registry have it now? */
};

struct job {
	enum job_kind kind;
	struct streamed *st;	/* PIECE, FINISH (FINISH frees it) */
	int buf;		/* chunk buffer (PIECE, FINISH, WHOLE), -1 none */
	uint64_t off;		/* blob offset of the buffer's first byte */
	size_t len;
	char digest[OCIS_DIGEST_STR_SIZE];
	uint64_t size;
	int fd;			/* WHOLE from a spool (closed after), -1 none */
	unsigned char *mem;	/* WHOLE from memory (freed after), NULL none */
	int *found;		/* CHECK: 1 when the registry has the blob */
};

struct held_manifest {
	char media_type[96];
	char digest[OCIS_DIGEST_STR_SIZE];
	unsigned char *data;
	size_t len;
};

enum run_state { RUN_NONE, RUN_SKIP, RUN_SPOOL, RUN_STREAM };

struct pusher {
	struct ocis_registry *reg;
	const struct ocis_push_opts *o;
	size_t chunk;

	pthread_t thread;
	int started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *pending;	/* waiting for the worker */
	int busy;		/* the worker runs a job */
	int stop;
	ocis_error_t *failed;	/* the worker's first error */
	unsigned char *buf[2];
	int buf_used[2];

	/* the run being read (caller's thread) */
	enum run_state state;
	int spool;
	struct streamed *st;
	int cur;		/* buffer being filled */
	size_t cur_len;
	uint64_t cur_off;	/* blob offset of its first byte */
	int pieces;		/* PIECE jobs sent for this run */

	struct held_manifest *man;
	size_t n_man, cap_man;
	struct ocis_push_stats stats;	/* counters under mu */
	double last_progress;
};

/* --- the worker ------------------------------------------------------------ */

static void
count(struct pusher *p, size_t *counter)
{
	pthread_mutex_lock(&p->mu);
	(*counter)++;
	pthread_mutex_unlock(&p->mu);
}

/* HEAD: 1 when the registry has the blob (counted), 0 when not. */
static int
have_blob(struct pusher *p, const char *digest, uint64_t size, ocis_error_t **err)
{
	int r = ocis_registry_blob_exists(p->reg, digest, size, err);

	if (r == 1)
		count(p, &p->stats.existing);
	return r;
}

static int
run_whole(struct pusher *p, struct job *j, ocis_error_t **err)
{
	struct ocis_blob_src src = { NULL, 0, 0, j->fd };
	int r = have_blob(p, j->digest, j->size, err);

	if (r != 0)
		return r < 0 ? -1 : 0;
	if (j->fd < 0) {
		src.mem = j->mem ? j->mem : p->buf[j->buf];
		src.mem_len = j->len;
	}
	r = ocis_registry_blob_upload(p->reg, j->digest, j->size, &src, p->chunk, err);
	if (r < 0)
		return ocis_error_wrap(err, "blob %s", j->digest);
	count(p, r == 1 ? &p->stats.mounted : &p->stats.uploaded);
	return 0;
}

static int
run_piece(struct pusher *p, struct job *j, ocis_error_t **err)
{
	struct ocis_blob_src src = { p->buf[j->buf], j->off, j->len, -1 };

	if (j->st->up == NULL && ocis_registry_upload_start(p->reg, NULL, &j->st->up, err) < 0)
		return -1;
	if (ocis_registry_upload_send(p->reg, j->st->up, &src, j->off + j->len, err) < 0) {
		if (err && *err && (*err)->code == ESTALE)
			ocis_error_wrap(err, "a streamed layer cannot be uploaded again (its "
					"bytes are gone; --check-first spools them)");
		return -1;
	}
	return 0;
}

static int
run_job(struct pusher *p, struct job *j, ocis_error_t **err)
{
	int r;

	switch (j->kind) {
	case JOB_PIECE:
		return run_piece(p, j, err);
	case JOB_FINISH:
		if (j->len > 0 && run_piece(p, j, err) < 0)
			return ocis_error_wrap(err, "layer %s", j->digest);
		r = ocis_registry_upload_finish(p->reg, j->st->up, j->digest, j->size, err);
		j->st->up = NULL;
		if (r < 0)
			return ocis_error_wrap(err, "layer %s", j->digest);
		count(p, &p->stats.uploaded);
		return 0;
	case JOB_WHOLE:
		return run_whole(p, j, err);
	case JOB_CHECK:
		r = have_blob(p, j->digest, j->size, err);
		if (r == 0) {
			r = ocis_registry_blob_mount(p->reg, j->digest, err);
			if (r == 1)
				count(p, &p->stats.mounted);
		}
		if (r < 0)
			return -1;
		*j->found = r;
		return 0;
	}
	return 0;
}

static void
job_free(struct pusher *p, struct job *j)
{
	if (j->fd >= 0)
		close(j->fd);
	free(j->mem);
	if (j->kind == JOB_FINISH && j->st) {
		/* the worker's: a session left open by a failure is given up */
		ocis_registry_upload_cancel(p->reg, j->st->up);
		free(j->st);
	}
	pthread_mutex_lock(&p->mu);
	if (j->buf >= 0)
		p->buf_used[j->buf] = 0;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	free(j);
}

static void *
worker(void *arg)
{
	struct pusher *p = arg;
	sigset_t all;

	/* Signals are the caller's thread's (SIGPIPE of a reset connection
	 * included: curl avoids it where it can). */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (;;) {
		struct job *j;
		ocis_error_t *e = NULL;
		int failed;

		pthread_mutex_lock(&p->mu);
		while (p->pending == NULL && !p->stop)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->pending == NULL) {
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		j = p->pending;
		p->pending = NULL;
		p->busy = 1;
		failed = p->failed != NULL;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);

		/* after a failure the remaining jobs are only cleaned up */
		if (!failed && run_job(p, j, &e) < 0) {
			pthread_mutex_lock(&p->mu);
			if (p->failed == NULL)
				p->failed = e;
			else
				ocis_error_free(&e);
			pthread_mutex_unlock(&p->mu);
		}
		job_free(p, j);
		pthread_mutex_lock(&p->mu);
		p->busy = 0;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
}

/* --- the caller's side ------------------------------------------------------ */

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void
report(struct pusher *p, int force)
{
	struct ocis_push_stats s;
	double t;

	if (p->o->progress == NULL)
		return;
	t = now();
	if (!force && t - p->last_progress < 0.25)
		return;
	p->last_progress = t;
	pthread_mutex_lock(&p->mu);
	s = p->stats;
	pthread_mutex_unlock(&p->mu);
	s.sent = ocis_registry_bytes_sent(p->reg);
	p->o->progress(p->o->cb_ctx, &s);
}

/* The worker's error as ours (a copy of its message). */
static int
worker_failed(struct pusher *p, ocis_error_t **err)
{
	ocis_error_set(err, 0, "%s", p->failed->msg);
	if (err && *err)
		(*err)->code = p->failed->code;
	return -1;
}

/* Wait (mu held) for cond, reporting progress; -1 when the worker failed. */
#define WAIT_UNTIL(p, cond) do { \
	while (!(cond) && (p)->failed == NULL) { \
		struct timespec ts_; \
		clock_gettime(CLOCK_REALTIME, &ts_); \
		ts_.tv_nsec += 250000000L; \
		if (ts_.tv_nsec >= 1000000000L) { ts_.tv_sec++; ts_.tv_nsec -= 1000000000L; } \
		pthread_cond_timedwait(&(p)->cv, &(p)->mu, &ts_); \
		pthread_mutex_unlock(&(p)->mu); \
		report((p), 0); \
		pthread_mutex_lock(&(p)->mu); \
	} \
} while (0)

/* Hand j to the worker (it owns j from here, also on failure). */
static int
submit(struct pusher *p, struct job *j, ocis_error_t **err)
{
	int r = 0;

	pthread_mutex_lock(&p->mu);
	WAIT_UNTIL(p, p->pending == NULL);
	if (p->failed == NULL) {
		p->pending = j;
		pthread_cond_broadcast(&p->cv);
		j = NULL;
	} else {
		r = worker_failed(p, err);
	}
	pthread_mutex_unlock(&p->mu);
	if (j) {
		/* not taken: its session, if any, is given up after the worker
		 * stopped (this thread must not use the registry meanwhile) */
		if (j->kind == JOB_FINISH) {
			p->st = j->st;
			j->st = NULL;
		}
		job_free(p, j);
	}
	return r;
}

static int
wait_idle(struct pusher *p, ocis_error_t **err)
{
	int r = 0;

	pthread_mutex_lock(&p->mu);
	WAIT_UNTIL(p, p->pending == NULL && !p->busy);
	if (p->failed)
		r = worker_failed(p, err);
	pthread_mutex_unlock(&p->mu);
	return r;
}

static struct job *
new_job(enum job_kind kind, ocis_error_t **err)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		ocis_error_oom(err);
		return NULL;
	}
	j->kind = kind;
	j->buf = -1;
	j->fd = -1;
	return j;
}

/* A free chunk buffer, allocated on first use. */
static int
take_buffer(struct pusher *p, ocis_error_t **err)
{
	int i, r = -1;

	pthread_mutex_lock(&p->mu);
	WAIT_UNTIL(p, !p->buf_used[0] || !p->buf_used[1]);
	if (p->failed) {
		worker_failed(p, err);
		goto out;
	}
	i = p->buf_used[0] ? 1 : 0;
	if (p->buf[i] == NULL && (p->buf[i] = malloc(p->chunk)) == NULL) {
		ocis_error_oom(err);
		goto out;
	}
	p->buf_used[i] = 1;
	r = i;
out:
	pthread_mutex_unlock(&p->mu);
	return r;
}

static int
run_open(struct pusher *p, ocis_error_t **err)
{
	p->pieces = 0;
	p->cur_len = 0;
	p->cur_off = 0;
	if (p->o->mode == OCIS_PUSH_CHECK_FIRST) {
		p->spool = ocis_tmpfile(err);
		if (p->spool < 0)
			return -1;
		p->state = RUN_SPOOL;
		return 0;
	}
	if ((p->st = calloc(1, sizeof(*p->st))) == NULL)
		return ocis_error_oom(err);
	p->cur = take_buffer(p, err);
	if (p->cur < 0)
		return -1;
	p->state = RUN_STREAM;
	return 0;
}

static int
sink_begin(void *ctx, ocis_error_t **err)
{
	return run_open(ctx, err);
}

static int
sink_begin_known(void *ctx, const char *digest, uint64_t size, ocis_error_t **err)
{
	struct pusher *p = ctx;
	struct job *j = new_job(JOB_CHECK, err);
	int found = 0;

	if (j == NULL)
		return -1;
	snprintf(j->digest, sizeof(j->digest), "%s", digest);
	j->size = size;
	j->found = &found;
	if (submit(p, j, err) < 0 || wait_idle(p, err) < 0)
		return -1;
	if (found) {
		pthread_mutex_lock(&p->mu);
		p->stats.blobs++;
		pthread_mutex_unlock(&p->mu);
		p->state = RUN_SKIP;
		return 0;
	}
	return run_open(p, err);
}

/* The filled buffer goes up as a PATCH of the streamed run. */
static int
send_piece(struct pusher *p, ocis_error_t **err)
{
	struct job *j = new_job(JOB_PIECE, err);

	if (j == NULL)
		return -1;
	j->st = p->st;
	j->buf = p->cur;
	j->off = p->cur_off;
	j->len = p->cur_len;
	p->cur = -1;
	p->pieces++;
	if (submit(p, j, err) < 0)
		return -1;
	p->cur_off += p->cur_len;
	p->cur_len = 0;
	p->cur = take_buffer(p, err);
	return p->cur < 0 ? -1 : 0;
}

static int
sink_write(void *ctx, const void *data, size_t len, ocis_error_t **err)
{
	struct pusher *p = ctx;
	const unsigned char *d = data;

	switch (p->state) {
	case RUN_SKIP:
		return 0;
	case RUN_SPOOL:
		if (ocis_write_full(p->spool, data, len, err) < 0)
			return ocis_error_wrap(err, "writing the spool");
		return 0;
	case RUN_STREAM:
		while (len > 0) {
			size_t n = p->chunk - p->cur_len;
			if (n > len)
				n = len;
			memcpy(p->buf[p->cur] + p->cur_len, d, n);
			p->cur_len += n;
			d += n;
			len -= n;
			if (p->cur_len == p->chunk && send_piece(p, err) < 0)
				return -1;
		}
		return 0;
	case RUN_NONE:
		break;
	}
	return ocis_error_set(err, 0, "push: bytes outside a blob");
}

static int
sink_commit(void *ctx, const char *digest, uint64_t size, ocis_error_t **err)
{
	struct pusher *p = ctx;
	enum run_state s = p->state;
	struct job *j;

	p->state = RUN_NONE;
	if (s == RUN_SKIP)
		return 0;
	if (s == RUN_NONE)
		return ocis_error_set(err, 0, "push: blob %s has no bytes", digest);
	pthread_mutex_lock(&p->mu);
	p->stats.blobs++;
	pthread_mutex_unlock(&p->mu);
	j = new_job(s == RUN_STREAM && p->pieces > 0 ? JOB_FINISH : JOB_WHOLE, err);
	if (j == NULL)
		return -1;
	snprintf(j->digest, sizeof(j->digest), "%s", digest);
	j->size = size;
	if (s == RUN_SPOOL) {
		j->fd = p->spool;
		p->spool = -1;
		free(p->st);
		p->st = NULL;
	} else {
		j->buf = p->cur;
		j->off = p->cur_off;
		j->len = p->cur_len;
		p->cur = -1;
		if (j->kind == JOB_FINISH)
			j->st = p->st;	/* the job frees it */
		else
			free(p->st);
		p->st = NULL;
	}
	return submit(p, j, err);
}

static int
is_manifest_type(const char *mt)
{
	return !strcmp(mt, OCIS_MT_MANIFEST) || !strcmp(mt, OCIS_MT_INDEX) ||
	       !strcmp(mt, OCIS_MT_DOCKER_MANIFEST) || !strcmp(mt, OCIS_MT_DOCKER_LIST);
}

static int
sink_put(void *ctx, const char *media_type, const void *data, size_t len,
	 char digest[OCIS_DIGEST_STR_SIZE], ocis_error_t **err)
{
	struct pusher *p = ctx;
	struct held_manifest *m;
	struct job *j;

	if (ocis_hash_buffer(data, len, digest, err) < 0)
		return -1;
	if (is_manifest_type(media_type)) {
		/* held until every blob is confirmed */
		if (ocis__grow((void **)&p->man, &p->cap_man, p->n_man + 1, sizeof(*p->man),
			       err) < 0)
			return -1;
		m = &p->man[p->n_man];
		memset(m, 0, sizeof(*m));
		snprintf(m->media_type, sizeof(m->media_type), "%s", media_type);
		memcpy(m->digest, digest, OCIS_DIGEST_STR_SIZE);
		if ((m->data = malloc(len ? len : 1)) == NULL)
			return ocis_error_oom(err);
		memcpy(m->data, data, len);
		m->len = len;
		p->n_man++;
		return 0;
	}
	if ((j = new_job(JOB_WHOLE, err)) == NULL)
		return -1;
	if ((j->mem = malloc(len ? len : 1)) == NULL) {
		free(j);
		return ocis_error_oom(err);
	}
	memcpy(j->mem, data, len);
	j->len = len;
	j->size = len;
	memcpy(j->digest, digest, OCIS_DIGEST_STR_SIZE);
	pthread_mutex_lock(&p->mu);
	p->stats.blobs++;
	pthread_mutex_unlock(&p->mu);
	return submit(p, j, err);
}

static void
on_read_progress(void *ctx, uint64_t stream_bytes, size_t layers)
{
	struct pusher *p = ctx;

	pthread_mutex_lock(&p->mu);
	p->stats.stream_bytes = stream_bytes;
	p->stats.layers = layers;
	pthread_mutex_unlock(&p->mu);
	report(p, 0);
}

/* --- manifests and tags -------------------------------------------------- */

static const struct held_manifest *
find_manifest(const struct pusher *p, const char *digest)
{
	size_t i;

	for (i = 0; i < p->n_man; i++)
		if (strcmp(p->man[i].digest, digest) == 0)
			return &p->man[i];
	return NULL;
}

/* Every manifest but the target by its digest (an index's children
 * before it), then the target under each tag (or its digest). */
static int
put_manifests(struct pusher *p, const struct ocis_index_entry *target, ocis_error_t **err)
{
	const struct held_manifest *top = find_manifest(p, target->ref.digest);
	size_t i;

	if (top == NULL)
		return ocis_error_set(err, 0, "push: the target manifest %s was not made",
				      target->ref.digest);
	for (i = 0; i < p->n_man; i++) {
		const struct held_manifest *m = &p->man[i];
		if (m == top || find_manifest(p, m->digest) != m)
			continue;	/* the target, or the same manifest twice */
		if (ocis_registry_manifest_put(p->reg, m->digest, m->media_type, m->data, m->len,
					       err) < 0)
			return -1;
	}
	if (p->o->n_tags == 0)
		return ocis_registry_manifest_put(p->reg, top->digest, top->media_type, top->data,
						  top->len, err);
	for (i = 0; i < p->o->n_tags; i++)
		if (ocis_registry_manifest_put(p->reg, p->o->tags[i], top->media_type, top->data,
					       top->len, err) < 0)
			return -1;
	return 0;
}

/* --- the whole push ------------------------------------------------------ */

static void
pusher_release(struct pusher *p)
{
	size_t i;

	if (p->started) {
		pthread_mutex_lock(&p->mu);
		p->stop = 1;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->thread, NULL);
	}
	if (p->spool >= 0)
		close(p->spool);
	if (p->st) {
		ocis_registry_upload_cancel(p->reg, p->st->up);
		free(p->st);
	}
	for (i = 0; i < 2; i++)
		free(p->buf[i]);
	for (i = 0; i < p->n_man; i++)
		free(p->man[i].data);
	free(p->man);
	ocis_error_free(&p->failed);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
}

int
ocis_push(struct ocis_stream_reader *r, struct ocis_registry *reg, const struct ocis_push_opts *o,
	  struct ocis_push_stats *stats, ocis_error_t **err)
{
	struct pusher p;
	const struct ocis_blob_sink sink = { sink_begin, sink_write, sink_commit, sink_put, &p,
					     sink_begin_known };
	const struct ocis_images_opts io = {
		.arch = o->arch, .os = o->os, .variant = o->variant, .created = o->created,
		.types = o->types, .progress = on_read_progress, .cb_ctx = &p,
	};
	struct ocis_image_set set;
	struct ocis_index_entry target;
	int ret = -1, have_set = 0;

	memset(&p, 0, sizeof(p));
	memset(&target, 0, sizeof(target));
	p.reg = reg;
	p.o = o;
	p.spool = -1;
	p.cur = -1;
	p.chunk = o->chunk_size ? o->chunk_size : OCIS_PUSH_CHUNK_DEFAULT;
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.cv, NULL);
	if (ocis__thread_start(&p.thread, worker, &p, err) < 0)
		goto out;
	p.started = 1;

	if (ocis_images_read(r, &sink, &io, &set, err) < 0)
		goto out;
	have_set = 1;
	if (ocis_images_check_platforms(&set.images, o->allow_same_platform, err) < 0 ||
	    ocis_images_target(&set.images, o->types, &sink, &target, err) < 0)
		goto out;
	if (o->digest && strcmp(o->digest, target.ref.digest) != 0) {
		ocis_error_set(err, 0, "the image's digest is %s, not the destination's %s",
			       target.ref.digest, o->digest);
		goto out;
	}
	/* every blob confirmed, then the manifests, the tags last */
	if (wait_idle(&p, err) < 0 || put_manifests(&p, &target, err) < 0)
		goto out;
	p.stats.images = set.images.n;
	p.stats.layers = set.layers;
	memcpy(p.stats.top_digest, target.ref.digest, sizeof(p.stats.top_digest));
	memcpy(p.stats.top_media_type, target.ref.media_type, sizeof(p.stats.top_media_type));
	p.stats.top_size = target.ref.size;
	ret = 0;
out:
	if (p.started && ret < 0) {
		/* the upload under way stops, the jobs left are dropped, and
		 * the open sessions are given up (pusher_release) */
		ocis_error_t *ignored = NULL;
		pthread_mutex_lock(&p.mu);
		if (p.failed == NULL)
			ocis_error_set(&p.failed, 0, "stopped");
		pthread_mutex_unlock(&p.mu);
		ocis_registry_interrupt(reg, 1);
		(void)wait_idle(&p, &ignored);
		ocis_error_free(&ignored);
		ocis_registry_interrupt(reg, 0);
	}
	p.stats.sent = ocis_registry_bytes_sent(reg);
	if (stats)
		*stats = p.stats;
	report(&p, 1);
	ocis_index_entry_release(&target);
	if (have_set)
		ocis_image_set_release(&set);
	pusher_release(&p);
	return ret;
}
