/* SPDX-License-Identifier: MIT */
/* OCI image-layout writer: see ocistream/layout.h for the contract. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ocistream/json.h>
#include <ocistream/layout.h>

#include "internal.h"
#include "layout-private.h"
#include "tarhdr-private.h"

#define OCI_LAYOUT_JSON "{\"imageLayoutVersion\":\"1.0.0\"}"
/* index.json of a layout directory is read whole: a cap keeps a hostile
 * one from taking all memory (64 MiB is some 200 000 tags). */
#define INDEX_MAX (64 * 1024 * 1024)

enum mode { MODE_SEEKABLE, MODE_PIPE, MODE_DIR };

struct ocis_layout {
	enum mode mode;
	int fd;			/* tar output */
	int64_t mtime;
	off_t start;		/* where our output began (seekable) */
	off_t pos;		/* current output offset (seekable) */
	off_t hdr_pos;		/* reserved header of the open blob */
	int spool;		/* pipe mode spool file */
	uint64_t open_bytes;	/* bytes of the open blob */
	int blob_open;

	int dirfd, blobsfd, locked;	/* directory mode */
	char tmpname[64];
	int tmpfd;
	unsigned tmpseq;

	char (*done)[OCIS_DIGEST_STR_SIZE];	/* blobs written (tar) / added (dir) */
	size_t n_done, cap_done;
	struct ocis__digest_index done_index;
	int finished;
};

static int
remember(struct ocis_layout *l, const char *digest, ocis_error_t **err)
{
	if (ocis__grow((void **)&l->done, &l->cap_done, l->n_done + 1, sizeof(*l->done), err) < 0)
		return -1;
	memcpy(l->done[l->n_done], digest, OCIS_DIGEST_STR_SIZE);
	if (ocis__dix_add(&l->done_index, l->done, sizeof(*l->done), l->n_done, err) < 0)
		return -1;
	l->n_done++;
	return 0;
}

/* (hashed: an image of 200 000 blobs took a minute of comparisons) */
static int
seen(const struct ocis_layout *l, const char *digest)
{
	return ocis__dix_find(&l->done_index, l->done, sizeof(*l->done), digest) != NULL;
}

int
ocis__layout_version_check(const void *data, size_t len, const char *what, ocis_error_t **err)
{
	yajl_val root = NULL;
	const char *v;
	char shown[64];
	int r = 0;

	if (ocis_json_parse(data ? data : "", len, what, &root, err) < 0)
		return -1;
	v = ocis_json_get_str(root, "imageLayoutVersion");
	/* 1.0.0 is the only version there is; a later 1.x may add to the
	 * layout but, by semantic versioning, not change what we read and
	 * write.  Another major version is a layout we cannot know. */
	if (v == NULL)
		r = ocis_error_set(err, 0, "%s is not an OCI layout marker (no imageLayoutVersion)",
				   what);
	else if (strncmp(v, "1.", 2) != 0)
		r = ocis_error_set(err, 0, "%s: imageLayoutVersion '%s' is not supported (1.x "
				   "is)", what, ocis__safe_name(v, shown, sizeof(shown)));
	yajl_tree_free(root);
	return r;
}

/* --- tarball --------------------------------------------------------- */

static void
tar_header(unsigned char h[OCIS_BLOCK], const char *name, char type, uint64_t size,
	   int64_t mtime)
{
	memset(h, 0, OCIS_BLOCK);
	memcpy(h + TH_NAME, name, strlen(name));
	ocis__tar_octal(h + TH_MODE, 8, type == '5' ? 0755 : 0644);
	ocis__tar_octal(h + TH_UID, 8, 0);
	ocis__tar_octal(h + TH_GID, 8, 0);
	if (ocis__tar_octal(h + TH_SIZE, 12, size) < 0)
		ocis__tar_base256(h + TH_SIZE, 12, size);
	ocis__tar_octal(h + TH_MTIME, 12, mtime > 0 ? (uint64_t)mtime : 0);
	h[TH_TYPE] = (unsigned char)type;
	ocis__tar_octal(h + TH_DEVMAJOR, 8, 0);
	ocis__tar_octal(h + TH_DEVMINOR, 8, 0);
	ocis__tar_finish_header(h);
}

static int
out_write(struct ocis_layout *l, const void *data, size_t len, ocis_error_t **err)
{
	if (ocis_write_full(l->fd, data, len, err) < 0)
		return ocis_error_wrap(err, "writing output");
	l->pos += (off_t)len;
	return 0;
}

static int
out_padding(struct ocis_layout *l, uint64_t size, ocis_error_t **err)
{
	static const unsigned char zeros[OCIS_BLOCK];

	return out_write(l, zeros, (size_t)ocis__pad512(size), err);
}

static int
tar_entry(struct ocis_layout *l, const char *name, char type, const void *data, size_t len,
	  ocis_error_t **err)
{
	unsigned char h[OCIS_BLOCK];

	tar_header(h, name, type, len, l->mtime);
	if (out_write(l, h, sizeof(h), err) < 0 || out_write(l, data, len, err) < 0 ||
	    out_padding(l, len, err) < 0)
		return -1;
	return 0;
}

static void
blob_name(char *out, size_t size, const char *digest)
{
	snprintf(out, size, "blobs/sha256/%s", digest + 7);
}

int
ocis_layout_open_tar(struct ocis_layout **out, int fd, int64_t mtime, ocis_error_t **err)
{
	struct ocis_layout *l = calloc(1, sizeof(*l));
	struct stat st;
	off_t off;

	if (l == NULL)
		return ocis_error_oom(err);
	l->fd = fd;
	l->mtime = mtime;
	l->spool = l->dirfd = l->blobsfd = l->tmpfd = -1;
	off = lseek(fd, 0, SEEK_CUR);
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && off >= 0 &&
	    !(fcntl(fd, F_GETFL) & O_APPEND)) {
		l->mode = MODE_SEEKABLE;
		l->start = l->pos = off;
	} else {
		l->mode = MODE_PIPE;
	}
	if (tar_entry(l, "oci-layout", '0', OCI_LAYOUT_JSON, strlen(OCI_LAYOUT_JSON), err) < 0 ||
	    tar_entry(l, "blobs/", '5', NULL, 0, err) < 0 ||
	    tar_entry(l, "blobs/sha256/", '5', NULL, 0, err) < 0) {
		free(l);
		return -1;
	}
	*out = l;
	return 0;
}

static int
open_spool(struct ocis_layout *l, ocis_error_t **err)
{
	l->spool = ocis_tmpfile(err);
	return l->spool < 0 ? ocis_error_wrap(err, "spool") : 0;
}

/* --- directory -------------------------------------------------------- */

static int
mkdirat_open(int parent, const char *name, const char *shown, ocis_error_t **err)
{
	int fd;

	if (mkdirat(parent, name, 0755) < 0 && errno != EEXIST)
		return ocis_error_set(err, errno, "cannot create '%s'", shown);
	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return ocis_error_set(err, errno == ELOOP ? ENOTDIR : errno,
				      "cannot open '%s' (must be a real directory)", shown);
	return fd;
}

/* A regular file of the layout, whole into out (up to its cap_limit).
 * Never through a symlink, and never blocking: a FIFO planted as
 * index.json would hang the writer that holds the lock. */
static int
read_small_file(int dirfd, const char *name, struct ocis_buf *out, int *exists,
		ocis_error_t **err)
{
	char buf[65536];
	struct stat st;
	ssize_t n;
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	*exists = 0;
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		if (errno == ELOOP)
			return ocis_error_set(err, 0, "'%s' is a symlink (refused: nothing of the "
					      "layout is read or written through one)", name);
		return ocis_error_set(err, errno, "cannot open '%s'", name);
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return ocis_error_set(err, 0, "'%s' is not a regular file", name);
	}
	*exists = 1;
	while ((n = ocis_read_full(fd, buf, sizeof(buf), err)) > 0)
		if (ocis_buf_add(out, buf, (size_t)n, err) < 0) {
			close(fd);
			return ocis_error_wrap(err, "reading '%s'", name);
		}
	close(fd);
	return n < 0 ? ocis_error_wrap(err, "reading '%s'", name) : 0;
}

/* Write name atomically inside dirfd: temp file, fsync, rename. */
static int
replace_file(int dirfd, const char *name, const void *data, size_t len, ocis_error_t **err)
{
	char tmp[128];
	unsigned seq;
	int fd = -1;

	/* A run killed before its rename leaves its temporary file; in a
	 * container the next run often has the same pid (1, say), so a name
	 * made of the pid alone would be taken for good: a counter follows
	 * it, as for the blobs. */
	for (seq = 0; fd < 0 && seq < 1000; seq++) {
		snprintf(tmp, sizeof(tmp), ".%s.tmp-%ld-%u", name, (long)getpid(), seq);
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    0644);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0)
		return ocis_error_set(err, errno, "cannot create '%s'", tmp);
	if (ocis_write_full(fd, data, len, err) < 0 || fsync(fd) < 0) {
		if (err && *err == NULL)
			ocis_error_set(err, errno, "cannot write '%s'", tmp);
		close(fd);
		unlinkat(dirfd, tmp, 0);
		return -1;
	}
	close(fd);
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		int e = errno;
		unlinkat(dirfd, tmp, 0);
		return ocis_error_set(err, e, "cannot rename '%s' to '%s'", tmp, name);
	}
	return 0;
}

static int
lock_dir(struct ocis_layout *l, ocis_error_t **err)
{
	while (flock(l->dirfd, LOCK_EX) < 0)
		if (errno != EINTR)
			return ocis_error_set(err, errno, "cannot lock the layout directory");
	l->locked = 1;
	return 0;
}

/* name is "<prefix><digits>-<digits>": a temporary file of this writer's
 * naming (prefix ".tmp-" in blobs/sha256, ".oci-layout.tmp-" and
 * ".index.json.tmp-" at the top). */
static int
our_tmp_name(const char *name, const char *prefix)
{
	size_t n = strlen(prefix), a, b;

	if (strncmp(name, prefix, n) != 0)
		return 0;
	name += n;
	a = strspn(name, "0123456789");
	if (a == 0 || name[a] != '-')
		return 0;
	b = strspn(name + a + 1, "0123456789");
	return b > 0 && name[a + 1 + b] == 0;
}

/*
 * Remove what killed runs left in dirfd: the regular files of our
 * temporary naming (prefixes, NULL-terminated), nothing else.  Called
 * under the directory lock.  A file that a live writer holds locked (a
 * blob being written: blob_begin locks it until its rename) is left;
 * the top-level temporaries are only ever made under the directory
 * lock, so none of those is live.  Best effort: a failure only leaves
 * garbage, as before.
 */
static void
remove_stale(int dirfd, const char *const *prefixes)
{
	struct dirent *de;
	struct stat a, b;
	DIR *d;
	size_t i;
	int fd = dup(dirfd);

	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		for (i = 0; prefixes[i] && !our_tmp_name(de->d_name, prefixes[i]); i++)
			;
		if (prefixes[i] == NULL)
			continue;
		fd = openat(dirfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		/* the name must still be the file we locked: a writer may
		 * have renamed it to its digest in between */
		if (fstat(fd, &a) == 0 && S_ISREG(a.st_mode) && flock(fd, LOCK_EX | LOCK_NB) == 0 &&
		    fstatat(dirfd, de->d_name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
		    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
			unlinkat(dirfd, de->d_name, 0);
		close(fd);
	}
	closedir(d);
}

int
ocis_layout_open_dir(struct ocis_layout **out, const char *path, ocis_error_t **err)
{
	static const char *const top_tmp[] = { ".oci-layout.tmp-", ".index.json.tmp-", NULL };
	static const char *const blob_tmp[] = { ".tmp-", NULL };
	struct ocis_layout *l = calloc(1, sizeof(*l));
	struct ocis_buf layout = OCIS_BUF_INIT;
	int exists, fd;

	if (l == NULL)
		return ocis_error_oom(err);
	l->mode = MODE_DIR;
	l->fd = l->spool = l->blobsfd = l->tmpfd = -1;
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		ocis_error_set(err, errno, "cannot create '%s'", path);
		goto fail;
	}
	l->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (l->dirfd < 0) {
		ocis_error_set(err, errno, "cannot open directory '%s'", path);
		goto fail;
	}
	/* Whether the directory is a layout, empty or something else is
	 * decided under the lock: a writer creating the same new layout at
	 * this moment has finished (we see its oci-layout) or not begun. */
	if (lock_dir(l, err) < 0)
		goto fail;
	remove_stale(l->dirfd, top_tmp);
	layout.cap_limit = 4096;
	if (read_small_file(l->dirfd, "oci-layout", &layout, &exists, err) < 0)
		goto fail;
	if (exists) {
		char what[4200];

		snprintf(what, sizeof(what), "'%s/oci-layout'", path);
		if (ocis__layout_version_check(layout.data, layout.len, what, err) < 0)
			goto fail;
	} else {
		/* Refuse to scatter a layout into an unrelated non-empty directory. */
		DIR *d;
		struct dirent *de;
		int other = 0;

		fd = dup(l->dirfd);
		d = fd >= 0 ? fdopendir(fd) : NULL;
		if (d == NULL) {
			if (fd >= 0)
				close(fd);
			ocis_error_set(err, errno, "cannot read directory '%s'", path);
			goto fail;
		}
		while ((de = readdir(d)) != NULL)
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
			    strcmp(de->d_name, "blobs") && strcmp(de->d_name, "index.json"))
				other = 1;
		closedir(d);
		if (other) {
			ocis_error_set(err, 0, "'%s' is not empty and not an OCI layout", path);
			goto fail;
		}
		if (replace_file(l->dirfd, "oci-layout", OCI_LAYOUT_JSON,
				 strlen(OCI_LAYOUT_JSON), err) < 0)
			goto fail;
	}
	fd = mkdirat_open(l->dirfd, "blobs", "blobs", err);
	if (fd < 0)
		goto fail;
	l->blobsfd = mkdirat_open(fd, "sha256", "blobs/sha256", err);
	close(fd);
	if (l->blobsfd < 0)
		goto fail;
	/* the blobs of killed runs (a 30-kill run left 97 MB) */
	remove_stale(l->blobsfd, blob_tmp);
	/* blobs are written unlocked, side by side with other writers; the
	 * lock is taken again for index.json */
	flock(l->dirfd, LOCK_UN);
	l->locked = 0;
	ocis_buf_release(&layout);
	*out = l;
	return 0;
fail:
	ocis_buf_release(&layout);
	ocis_layout_free(l);
	return -1;
}

int
ocis_layout_lock_read_index(struct ocis_layout *l, struct ocis_buf *out, ocis_error_t **err)
{
	int exists;

	ocis_buf_reset(out);
	if (l->mode != MODE_DIR)
		return 0;
	if (!l->locked && lock_dir(l, err) < 0)
		return -1;
	out->cap_limit = INDEX_MAX;
	return read_small_file(l->dirfd, "index.json", out, &exists, err);
}

/* --- blobs ------------------------------------------------------------ */

int
ocis_layout_blob_begin(struct ocis_layout *l, ocis_error_t **err)
{
	static const unsigned char zeros[OCIS_BLOCK];

	if (l->blob_open)
		return ocis_error_set(err, EINVAL, "internal: blob already open");
	l->open_bytes = 0;
	switch (l->mode) {
	case MODE_SEEKABLE:
		l->hdr_pos = l->pos;
		if (out_write(l, zeros, sizeof(zeros), err) < 0)
			return -1;
		break;
	case MODE_PIPE:
		if (l->spool < 0 && open_spool(l, err) < 0)
			return -1;
		if (ftruncate(l->spool, 0) < 0 || lseek(l->spool, 0, SEEK_SET) < 0)
			return ocis_error_set(err, errno, "cannot reset the spool file");
		break;
	case MODE_DIR:
		for (;;) {
			struct stat a, b;

			snprintf(l->tmpname, sizeof(l->tmpname), ".tmp-%ld-%u", (long)getpid(),
				 l->tmpseq++);
			l->tmpfd = openat(l->blobsfd, l->tmpname,
					  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
			if (l->tmpfd < 0) {
				if (errno != EEXIST)
					return ocis_error_set(err, errno,
							      "cannot create a blob in the layout");
				continue;
			}
			/* Locked until renamed: what another run's cleanup
			 * (remove_stale) takes for live.  Between the create
			 * and the lock that cleanup may have removed it: then
			 * the name is no longer this file, and another is made. */
			while (flock(l->tmpfd, LOCK_EX) < 0 && errno == EINTR)
				;
			if (fstat(l->tmpfd, &a) == 0 &&
			    fstatat(l->blobsfd, l->tmpname, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
			    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
				break;
			close(l->tmpfd);
			l->tmpfd = -1;
		}
		break;
	}
	l->blob_open = 1;
	return 0;
}

int
ocis_layout_blob_write(struct ocis_layout *l, const void *data, size_t len, ocis_error_t **err)
{
	l->open_bytes += len;
	switch (l->mode) {
	case MODE_SEEKABLE:
		return out_write(l, data, len, err);
	case MODE_PIPE:
		if (ocis_write_full(l->spool, data, len, err) < 0)
			return ocis_error_wrap(err, "writing the spool file");
		return 0;
	case MODE_DIR:
		if (ocis_write_full(l->tmpfd, data, len, err) < 0)
			return ocis_error_wrap(err, "writing a blob");
		return 0;
	}
	return 0;
}

static int
copy_spool(struct ocis_layout *l, uint64_t size, ocis_error_t **err)
{
	off_t off = 0;
	char buf[65536];

	while ((uint64_t)off < size) {
		size_t want = size - (uint64_t)off > (1 << 30) ? (1 << 30) : (size_t)(size - (uint64_t)off);
		ssize_t n = sendfile(l->fd, l->spool, &off, want);
		if (n > 0)
			continue;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EINVAL || errno == ENOSYS))
			break;	/* fall back to read/write below */
		if (n == 0)
			return ocis_error_set(err, EIO, "spool file shorter than its blob");
		return ocis_error_set(err, errno, "writing output");
	}
	while ((uint64_t)off < size) {
		ssize_t n = pread(l->spool, buf, sizeof(buf), off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return ocis_error_set(err, n < 0 ? errno : EIO, "reading the spool file");
		if (ocis_write_full(l->fd, buf, (size_t)n, err) < 0)
			return ocis_error_wrap(err, "writing output");
		off += n;
	}
	l->pos += (off_t)size;
	return 0;
}

/* Give up the open temporary blob: removed, then closed (so unlocked). */
static void
close_tmp(struct ocis_layout *l)
{
	if (l->tmpfd < 0)
		return;
	unlinkat(l->blobsfd, l->tmpname, 0);
	close(l->tmpfd);
	l->tmpfd = -1;
}

int
ocis_layout_blob_commit(struct ocis_layout *l, const char *digest, uint64_t size,
			ocis_error_t **err)
{
	unsigned char h[OCIS_BLOCK];
	char name[100];
	struct stat st;
	int exists;

	if (!l->blob_open)
		return ocis_error_set(err, EINVAL, "internal: no open blob");
	l->blob_open = 0;
	if (size != l->open_bytes)
		return ocis_error_set(err, EINVAL, "internal: blob size mismatch");
	blob_name(name, sizeof(name), digest);
	switch (l->mode) {
	case MODE_SEEKABLE:
		if (seen(l, digest)) {
			/* Already in the tarball: rewind over this copy. */
			if (lseek(l->fd, l->hdr_pos, SEEK_SET) < 0)
				return ocis_error_set(err, errno, "seeking in output");
			l->pos = l->hdr_pos;
			return 0;
		}
		tar_header(h, name, '0', size, l->mtime);
		if (ocis_pwrite_full(l->fd, h, sizeof(h), l->hdr_pos, err) < 0)
			return ocis_error_wrap(err, "writing output");
		if (out_padding(l, size, err) < 0)
			return -1;
		return remember(l, digest, err);
	case MODE_PIPE:
		if (seen(l, digest))
			return 0;
		tar_header(h, name, '0', size, l->mtime);
		if (out_write(l, h, sizeof(h), err) < 0 || copy_spool(l, size, err) < 0 ||
		    out_padding(l, size, err) < 0)
			return -1;
		return remember(l, digest, err);
	case MODE_DIR:
		if (fsync(l->tmpfd) < 0) {
			int e = errno;
			close_tmp(l);
			return ocis_error_set(err, e, "cannot write a blob");
		}
		/* (the file stays open, so locked, until it has its name) */
		/*
		 * A blob of that name may be there already.  Its name says
		 * nothing about its bytes (a disk error, a hand edit, an
		 * interrupted copy by another tool): keeping it would make the
		 * new index name a blob that fails every digest check.  The
		 * new bytes, checked, replace it (rename is atomic: a reader
		 * sees the old file or the new one, both complete).  It is not
		 * remembered, so a failure later does not remove a blob the
		 * old index.json may name.
		 */
		exists = fstatat(l->blobsfd, digest + 7, &st, AT_SYMLINK_NOFOLLOW) == 0;
		if (exists && S_ISDIR(st.st_mode)) {
			close_tmp(l);
			return ocis_error_set(err, 0, "'blobs/sha256/%s' exists and is a directory",
					      digest + 7);
		}
		if (renameat(l->blobsfd, l->tmpname, l->blobsfd, digest + 7) < 0) {
			int e = errno;
			close_tmp(l);
			return ocis_error_set(err, e, "cannot store blob %s", digest);
		}
		close(l->tmpfd);
		l->tmpfd = -1;
		return exists ? 0 : remember(l, digest, err);
	}
	return 0;
}

int
ocis_layout_put_blob(struct ocis_layout *l, const void *data, size_t len,
		     char digest_out[OCIS_DIGEST_STR_SIZE], ocis_error_t **err)
{
	char digest[OCIS_DIGEST_STR_SIZE];

	if (ocis_hash_buffer(data, len, digest, err) < 0)
		return -1;
	if (ocis_layout_blob_begin(l, err) < 0 || ocis_layout_blob_write(l, data, len, err) < 0 ||
	    ocis_layout_blob_commit(l, digest, len, err) < 0)
		return -1;
	if (digest_out)
		memcpy(digest_out, digest, sizeof(digest));
	return 0;
}

int
ocis_layout_read_blob(struct ocis_layout *l, const char *digest, struct ocis_buf *out, size_t cap,
		      ocis_error_t **err)
{
	char got[OCIS_DIGEST_STR_SIZE];
	int exists;

	if (l->mode != MODE_DIR)
		return ocis_error_set(err, 0, "reading blobs needs a layout directory");
	if (!ocis_digest_valid(digest))
		return ocis_error_set(err, 0, "malformed digest '%s'", digest);
	ocis_buf_reset(out);
	out->cap_limit = cap;
	if (read_small_file(l->blobsfd, digest + 7, out, &exists, err) < 0)
		return -1;
	if (!exists)
		return ocis_error_set(err, 0, "blob %s is missing from the layout", digest);
	if (ocis_hash_buffer(out->data, out->len, got, err) < 0)
		return -1;
	if (strcmp(got, digest) != 0)
		return ocis_error_set(err, 0, "blob %s in the layout has digest %s", digest, got);
	return 0;
}

int
ocis_layout_add_file(struct ocis_layout *l, const char *name, const void *data, size_t len,
		     ocis_error_t **err)
{
	if (l->mode == MODE_DIR)
		return ocis_error_set(err, 0, "'%s' can only be written into a tarball", name);
	return tar_entry(l, name, '0', data, len, err);
}

int
ocis_layout_finish(struct ocis_layout *l, const void *index, size_t len, ocis_error_t **err)
{
	static const unsigned char zeros[2 * OCIS_BLOCK];

	if (l->mode == MODE_DIR) {
		if (!l->locked) {
			struct ocis_buf tmp = OCIS_BUF_INIT;
			int r = ocis_layout_lock_read_index(l, &tmp, err);
			ocis_buf_release(&tmp);
			if (r < 0)
				return -1;
		}
		if (fsync(l->blobsfd) < 0)
			return ocis_error_set(err, errno, "cannot sync the blobs directory");
		if (replace_file(l->dirfd, "index.json", index, len, err) < 0)
			return -1;
		fsync(l->dirfd);
		l->finished = 1;
		return 0;
	}
	if (tar_entry(l, "index.json", '0', index, len, err) < 0 ||
	    out_write(l, zeros, sizeof(zeros), err) < 0)
		return -1;
	if (l->mode == MODE_SEEKABLE) {
		/* A rewound duplicate may have left bytes past the end. */
		if (ftruncate(l->fd, l->pos) < 0)
			return ocis_error_set(err, errno, "truncating output");
	}
	l->finished = 1;
	return 0;
}

void
ocis_layout_abort(struct ocis_layout *l)
{
	size_t i;

	if (l == NULL || l->finished)
		return;
	if (l->mode == MODE_SEEKABLE) {
		if (ftruncate(l->fd, l->start) == 0)
			lseek(l->fd, l->start, SEEK_SET);
	} else if (l->mode == MODE_DIR) {
		close_tmp(l);
		for (i = 0; i < l->n_done; i++)
			unlinkat(l->blobsfd, l->done[i] + 7, 0);
	}
}

void
ocis_layout_free(struct ocis_layout *l)
{
	if (l == NULL)
		return;
	if (l->spool >= 0)
		close(l->spool);
	close_tmp(l);
	if (l->blobsfd >= 0)
		close(l->blobsfd);
	if (l->dirfd >= 0)
		close(l->dirfd);	/* releases the flock */
	free(l->done);
	free(l->done_index.slots);
	free(l);
}
