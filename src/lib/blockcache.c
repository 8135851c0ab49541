/* SPDX-License-Identifier: MIT */
/*
 * The block cache: see include/ocistream/blockcache.h and docs/cache.md.
 *
 * Entries are whole files named by their key, replaced only by rename, so
 * no lock is needed: concurrent writers of one key write the same bytes
 * (the key decides them), and the last rename wins.  Use is recorded in the
 * mtime (futimens on a hit) because atime is often off (noatime,
 * relatime); trim removes the oldest first.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>

#include <ocistream/blockcache.h>
#include <ocistream/io.h>

#include "internal.h"

/* The directory keeps format 1's name (the Yocto backend and users know
 * it); format 1's entries, named by 64 hex digits, are removed by trim. */
#define FORMAT_DIR "ocipipe-blocks-1"
#define MAGIC "OCISBC2\n"
#define MAGIC_LEN 8
#define KEY_LEN OCIS_BLOCKCACHE_KEY_LEN
#define SUM_LEN 16		/* XXH3-128 of the payload */
#define HEADER_LEN (MAGIC_LEN + KEY_LEN + 8 + SUM_LEN)
#define FORMAT1_NAME_LEN 64
/* a temporary file older than this is a killed writer's */
#define STALE_TMP_SECONDS 3600

struct ocis_blockcache {
	char *root;		/* DIR/ocipipe-blocks-1 */
	XXH64_hash_t seed;	/* of the format and the codec */
	uint64_t max;
	struct ocis_blockcache_stats st;	/* updated atomically */
};

static void
count(uint64_t *field)
{
	__atomic_fetch_add(field, 1, __ATOMIC_RELAXED);
}

/* mkdir -p: a bitbake task names a DIR under a build tree that may not
 * exist yet. */
static int
mkdir_parents(const char *path, ocis_error_t **err)
{
	char *p = strdup(path), *q;
	int r = 0;

	if (p == NULL)
		return ocis_error_oom(err);
	for (q = p + 1; r == 0; q++) {
		if (*q != '/' && *q != 0)
			continue;
		char c = *q;
		*q = 0;
		if (mkdir(p, 0777) < 0 && errno != EEXIST)
			r = ocis_error_set(err, errno, "cannot create cache directory '%s'", p);
		*q = c;
		if (c == 0)
			break;
	}
	free(p);
	return r;
}

int
ocis_blockcache_open(struct ocis_blockcache **out, const char *dir, const char *codec,
		     uint64_t max, ocis_error_t **err)
{
	struct ocis_blockcache *bc;
	struct ocis_buf b = OCIS_BUF_INIT;

	*out = NULL;
	if (dir == NULL || *dir == 0)
		return ocis_error_set(err, EINVAL, "empty cache directory name");
	bc = calloc(1, sizeof(*bc));
	if (bc == NULL)
		return ocis_error_oom(err);
	bc->max = max;
	if (ocis_buf_addf(&b, err, "%s/%s", dir, FORMAT_DIR) < 0)
		goto fail;
	bc->root = (char *)b.data;
	b = (struct ocis_buf)OCIS_BUF_INIT;
	/* the key's seed: the format and the codec (the NUL keeps "a" + "bc"
	 * apart from "ab" + "c") */
	if (ocis_buf_addf(&b, err, "ocipipe block cache 2%c%s", 0, codec) < 0)
		goto fail;
	bc->seed = XXH3_64bits(b.data, b.len);
	ocis_buf_release(&b);
	if (mkdir_parents(bc->root, err) < 0)
		goto fail;
	*out = bc;
	return 0;
fail:
	ocis_blockcache_close(bc);
	return -1;
}

/* XXH3-128 in its canonical (big-endian) bytes: the same names and
 * headers on every host */
static void
xxh128(const void *data, size_t len, XXH64_hash_t seed, unsigned char out[16])
{
	XXH128_canonical_t c;

	XXH128_canonicalFromHash(&c, XXH3_128bits_withSeed(data, len, seed));
	memcpy(out, c.digest, 16);
}

void
ocis_blockcache_key(const struct ocis_blockcache *bc, const void *block, size_t len,
		    unsigned char key[OCIS_BLOCKCACHE_KEY_LEN])
{
	xxh128(block, len, bc->seed, key);
}

/* DIR/ocipipe-blocks-1/ab/ab...: path of the entry, or of its directory
 * when `file` is 0. */
static void
entry_path(const struct ocis_blockcache *bc, const unsigned char key[KEY_LEN], int file,
	   struct ocis_buf *b, ocis_error_t **err)
{
	static const char hex[] = "0123456789abcdef";
	char name[2 * KEY_LEN + 1];
	size_t i;

	for (i = 0; i < KEY_LEN; i++) {
		name[2 * i] = hex[key[i] >> 4];
		name[2 * i + 1] = hex[key[i] & 15];
	}
	name[2 * KEY_LEN] = 0;
	if (file)
		(void)ocis_buf_addf(b, err, "%s/%.2s/%s", bc->root, name, name);
	else
		(void)ocis_buf_addf(b, err, "%s/%.2s", bc->root, name);
}

static uint64_t
get_le64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void
put_le64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++, v >>= 8)
		p[i] = (unsigned char)v;
}

/* The checks of the header comment, on an open entry. */
static int
read_entry(int fd, const unsigned char key[KEY_LEN], void *out, size_t cap, size_t *len)
{
	unsigned char hdr[HEADER_LEN], sum[SUM_LEN];
	struct stat st;
	uint64_t n;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < HEADER_LEN)
		return 0;
	if (ocis_read_full(fd, hdr, HEADER_LEN, NULL) != HEADER_LEN)
		return 0;
	n = get_le64(hdr + MAGIC_LEN + KEY_LEN);
	/* bound n before any arithmetic with it */
	if (memcmp(hdr, MAGIC, MAGIC_LEN) != 0 || memcmp(hdr + MAGIC_LEN, key, KEY_LEN) != 0 ||
	    n > cap || (uint64_t)st.st_size != HEADER_LEN + n)
		return 0;
	if (ocis_read_full(fd, out, (size_t)n, NULL) != (ssize_t)n)
		return 0;
	xxh128(out, (size_t)n, 0, sum);
	if (memcmp(sum, hdr + MAGIC_LEN + KEY_LEN + 8, SUM_LEN) != 0)
		return 0;
	*len = (size_t)n;
	return 1;
}

int
ocis_blockcache_get(struct ocis_blockcache *bc, const unsigned char key[KEY_LEN],
		    void *out, size_t cap, size_t *len)
{
	struct ocis_buf path = OCIS_BUF_INIT;
	int fd, r;

	entry_path(bc, key, 1, &path, NULL);
	if (path.data == NULL) {
		count(&bc->st.misses);
		return 0;
	}
	fd = open((const char *)path.data, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	ocis_buf_release(&path);
	if (fd < 0) {
		count(&bc->st.misses);
		return 0;
	}
	r = read_entry(fd, key, out, cap, len);
	if (r)
		(void)futimens(fd, NULL);	/* used now: trimmed last */
	close(fd);
	count(r ? &bc->st.hits : &bc->st.rejected);
	return r;
}

void
ocis_blockcache_reject(struct ocis_blockcache *bc)
{
	__atomic_fetch_sub(&bc->st.hits, 1, __ATOMIC_RELAXED);
	count(&bc->st.rejected);
}

/* Write the entry into a new temporary file of dir; its name in *tmp. */
static int
write_tmp(const char *dir, const unsigned char *hdr, const void *data, size_t len,
	  struct ocis_buf *tmp)
{
	int fd;

	if (ocis_buf_addf(tmp, NULL, "%s/.tmp.XXXXXX", dir) < 0)
		return -1;
	fd = mkstemp((char *)tmp->data);
	if (fd < 0)
		return -1;
	if (ocis_write_full(fd, hdr, HEADER_LEN, NULL) < 0 ||
	    ocis_write_full(fd, data, len, NULL) < 0) {
		close(fd);
		unlink((const char *)tmp->data);
		return -1;
	}
	if (close(fd) < 0) {
		unlink((const char *)tmp->data);
		return -1;
	}
	return 0;
}

void
ocis_blockcache_put(struct ocis_blockcache *bc, const unsigned char key[KEY_LEN],
		    const void *data, size_t len)
{
	unsigned char hdr[HEADER_LEN];
	struct ocis_buf dir = OCIS_BUF_INIT, path = OCIS_BUF_INIT, tmp = OCIS_BUF_INIT;
	int ok = 0;

	memcpy(hdr, MAGIC, MAGIC_LEN);
	memcpy(hdr + MAGIC_LEN, key, KEY_LEN);
	put_le64(hdr + MAGIC_LEN + KEY_LEN, len);
	xxh128(data, len, 0, hdr + MAGIC_LEN + KEY_LEN + 8);
	entry_path(bc, key, 0, &dir, NULL);
	entry_path(bc, key, 1, &path, NULL);
	if (dir.data == NULL || path.data == NULL)
		goto out;
	if (mkdir((const char *)dir.data, 0777) < 0 && errno != EEXIST)
		goto out;
	if (write_tmp((const char *)dir.data, hdr, data, len, &tmp) < 0)
		goto out;
	if (rename((const char *)tmp.data, (const char *)path.data) < 0) {
		unlink((const char *)tmp.data);
		goto out;
	}
	ok = 1;
out:
	count(ok ? &bc->st.stored : &bc->st.store_failed);
	ocis_buf_release(&dir);
	ocis_buf_release(&path);
	ocis_buf_release(&tmp);
}

/*
 * Trim
 */

struct trim_entry {
	struct timespec mtime;
	uint64_t size;
	char name[2 + 1 + 2 * KEY_LEN + 1];	/* "ab/ab..." */
};

struct trim_list {
	struct trim_entry *v;
	size_t n, cap;
	uint64_t total;
};

static int
is_hex_name(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[len] == 0;
}

static int
by_mtime(const void *a, const void *b)
{
	const struct trim_entry *x = a, *y = b;

	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* The entries of one "ab" directory into the list; stale temporaries
 * and format 1's entries (no build reads them) removed. */
static int
scan_subdir(struct ocis_blockcache *bc, int rootfd, const char *sub, struct trim_list *l,
	    time_t now, ocis_error_t **err)
{
	size_t name_len;

	int fd = openat(rootfd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct dirent *de;
	DIR *d;

	if (fd < 0)
		return 0;
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		struct trim_entry *e;

		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (strncmp(de->d_name, ".tmp.", 5) == 0) {
			if (now - st.st_mtime > STALE_TMP_SECONDS)
				(void)unlinkat(fd, de->d_name, 0);
			continue;
		}
		name_len = strlen(de->d_name);
		if (name_len == FORMAT1_NAME_LEN && is_hex_name(de->d_name, FORMAT1_NAME_LEN)) {
			if (unlinkat(fd, de->d_name, 0) == 0)
				count(&bc->st.trimmed);
			continue;
		}
		if (name_len != 2 * KEY_LEN || !is_hex_name(de->d_name, 2 * KEY_LEN))
			continue;
		if (ocis__grow((void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v), err) < 0) {
			closedir(d);
			return -1;
		}
		e = &l->v[l->n++];
		e->mtime = st.st_mtim;
		e->size = (uint64_t)st.st_size;
		snprintf(e->name, sizeof(e->name), "%s/%s", sub, de->d_name);
		l->total += e->size;
	}
	closedir(d);
	return 0;
}

int
ocis_blockcache_trim(struct ocis_blockcache *bc, ocis_error_t **err)
{
	struct trim_list l = { NULL, 0, 0, 0 };
	time_t now = time(NULL);
	struct dirent *de;
	size_t i;
	DIR *d;
	int rootfd, r = 0;

	rootfd = open(bc->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return ocis_error_set(err, errno, "cannot open cache directory '%s'", bc->root);
	d = fdopendir(dup(rootfd));
	if (d == NULL) {
		close(rootfd);
		return ocis_error_set(err, errno, "cannot read cache directory '%s'", bc->root);
	}
	while (r == 0 && (de = readdir(d)) != NULL)
		if (strlen(de->d_name) == 2 && is_hex_name(de->d_name, 2))
			r = scan_subdir(bc, rootfd, de->d_name, &l, now, err);
	closedir(d);
	if (r == 0 && bc->max > 0 && l.total > bc->max) {
		qsort(l.v, l.n, sizeof(*l.v), by_mtime);
		for (i = 0; i < l.n && l.total > bc->max; i++) {
			if (unlinkat(rootfd, l.v[i].name, 0) == 0 || errno == ENOENT) {
				l.total -= l.v[i].size;
				count(&bc->st.trimmed);
			}
		}
	}
	close(rootfd);
	free(l.v);
	return r;
}

void
ocis_blockcache_stats(struct ocis_blockcache *bc, struct ocis_blockcache_stats *st)
{
	st->hits = __atomic_load_n(&bc->st.hits, __ATOMIC_RELAXED);
	st->misses = __atomic_load_n(&bc->st.misses, __ATOMIC_RELAXED);
	st->rejected = __atomic_load_n(&bc->st.rejected, __ATOMIC_RELAXED);
	st->stored = __atomic_load_n(&bc->st.stored, __ATOMIC_RELAXED);
	st->store_failed = __atomic_load_n(&bc->st.store_failed, __ATOMIC_RELAXED);
	st->trimmed = __atomic_load_n(&bc->st.trimmed, __ATOMIC_RELAXED);
}

void
ocis_blockcache_close(struct ocis_blockcache *bc)
{
	if (bc == NULL)
		return;
	free(bc->root);
	free(bc);
}
