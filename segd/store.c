/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * store.c: backing memory and metadata in segd's state directory (tmpfs).
 *
 *   NAME.seg    the segment's bytes, once its address is set
 *   NAME.meta   one line: "segd1 UID GID MODE VERB VA LEN"
 *
 * Metadata is replaced atomically (write NAME.meta.tmp, rename), so a
 * restarted segd finds every segment as it was.  Files read back are
 * untrusted: every field is parsed with bounds and checked again by the
 * namespace before use.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/vfs.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/magic.h>

#include "segd.h"

#define META_MAX 256

static int
mkdirs(const char *path, mode_t mode)
{
	char buf[256], *p;

	if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

int
store_open(struct store *st, const char *dir, struct segerr *e)
{
	struct statfs sfs;

	if (snprintf(st->dir, sizeof st->dir, "%s", dir) >= (int)sizeof st->dir)
		return seterr(e, ENAMETOOLONG, "state directory name too long");
	if (mkdirs(dir, 0700) < 0)
		return seterr(e, errno, "mkdir %s: %s", dir, strerror(errno));
	st->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->dirfd < 0)
		return seterr(e, errno, "open %s: %s", dir, strerror(errno));
	if (fstatfs(st->dirfd, &sfs) == 0 && sfs.f_type != TMPFS_MAGIC)
		log_warnx("%s: %s is not on tmpfs; segment memory will be "
		    "written back to disk", __func__, dir);
	return 0;
}

void
store_close(struct store *st)
{
	if (st->dirfd >= 0)
		close(st->dirfd);
	st->dirfd = -1;
}

static int
fname(char *buf, size_t size, const char *name, const char *suffix)
{
	int n = snprintf(buf, size, "%s%s", name, suffix);

	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* A new backing file of len bytes (sparse: no page is touched). */
int
store_alloc(struct store *st, const char *name, uint64_t len,
    struct segerr *e)
{
	char f[SEG_NAMEMAX + 16];
	int fd;

	if (fname(f, sizeof f, name, ".seg") < 0)
		return seterr(e, ENAMETOOLONG, "name too long");
	fd = openat(st->dirfd, f, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return seterr(e, errno, "create backing file: %s",
		    strerror(errno));
	if (ftruncate(fd, (off_t)len) < 0) {
		int err = errno;
		close(fd);
		unlinkat(st->dirfd, f, 0);
		return seterr(e, err, "size backing file: %s", strerror(err));
	}
	return fd;
}

int
store_save(struct store *st, const struct segment *s, struct segerr *e)
{
	char tmp[SEG_NAMEMAX + 16], f[SEG_NAMEMAX + 16], buf[META_MAX];
	int fd, n;
	ssize_t w;

	if (fname(tmp, sizeof tmp, s->name, ".meta.tmp") < 0 ||
	    fname(f, sizeof f, s->name, ".meta") < 0)
		return seterr(e, ENAMETOOLONG, "name too long");
	n = snprintf(buf, sizeof buf, "segd1 %u %u %o %u %llx %llx\n",
	    (unsigned)s->uid, (unsigned)s->gid, (unsigned)s->mode,
	    (unsigned)s->verb, (unsigned long long)s->va,
	    (unsigned long long)s->len);
	fd = openat(st->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600);
	if (fd < 0)
		return seterr(e, errno, "save metadata: %s", strerror(errno));
	w = write(fd, buf, (size_t)n);
	if (w != n || close(fd) < 0) {
		int err = w < 0 ? errno : EIO;
		unlinkat(st->dirfd, tmp, 0);
		return seterr(e, err, "save metadata: %s", strerror(err));
	}
	if (renameat(st->dirfd, tmp, st->dirfd, f) < 0) {
		int err = errno;
		unlinkat(st->dirfd, tmp, 0);
		return seterr(e, err, "save metadata: %s", strerror(err));
	}
	return 0;
}

static void
unlink_one(struct store *st, const char *name, const char *suffix)
{
	char f[SEG_NAMEMAX + 16];

	if (fname(f, sizeof f, name, suffix) == 0 &&
	    unlinkat(st->dirfd, f, 0) < 0 && errno != ENOENT)
		log_warn("%s: unlink %s", __func__, f);
}

/* The name is gone: memory already mapped stays until its last unmap. */
void
store_unlink(struct store *st, const char *name)
{
	unlink_one(st, name, ".meta");
	unlink_one(st, name, ".seg");
	unlink_one(st, name, ".zio");
}

/* NAME.zio, a zero-copy segment's pool state: opened, or made anew. */
int
store_zio_file(struct store *st, const char *name, size_t size, int *created)
{
	char f[SEG_NAMEMAX + 16];
	struct stat sb;
	int fd;

	if (fname(f, sizeof f, name, ".zio") < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	*created = 0;
	fd = openat(st->dirfd, f, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd >= 0 && (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) ||
	    (size_t)sb.st_size != size)) {
		close(fd);
		unlinkat(st->dirfd, f, 0);
		fd = -1;
	}
	if (fd < 0) {
		fd = openat(st->dirfd, f, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC |
		    O_NOFOLLOW, 0600);
		if (fd < 0)
			return -1;
		if (ftruncate(fd, (off_t)size) < 0) {
			int err = errno;
			close(fd);
			unlinkat(st->dirfd, f, 0);
			errno = err;
			return -1;
		}
		*created = 1;
	}
	return fd;
}

/* A new descriptor of a segment's memory, for a client. */
int
store_open_data(struct store *st, const char *name, int flags)
{
	char f[SEG_NAMEMAX + 16];

	if (fname(f, sizeof f, name, ".seg") < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return openat(st->dirfd, f, flags | O_CLOEXEC | O_NOFOLLOW);
}

/* Undo store_alloc() */
void
store_drop_data(struct store *st, const char *name)
{
	unlink_one(st, name, ".seg");
	unlink_one(st, name, ".zio");
}

static int
meta_parse(const char *buf, struct segment *s)
{
	unsigned uid, gid, mode, verb;
	unsigned long long va, len;
	char extra;

	if (sscanf(buf, "segd1 %u %u %o %u %llx %llx %c", &uid, &gid, &mode,
	    &verb, &va, &len, &extra) != 6)
		return -1;
	if (mode > 0777 || verb >= SEG_VERB_MAX)
		return -1;
	s->uid = uid;
	s->gid = gid;
	s->mode = mode;
	s->verb = verb;
	s->va = va;
	s->len = len;
	return 0;
}

/*
 * Find every segment again after a restart.  A file that does not parse,
 * or a segment the namespace refuses, is logged and left where it is.
 */
int
store_load(struct store *st, int (*restore)(void *, const struct segment *,
    struct segerr *), void *arg)
{
	DIR *d;
	struct dirent *de;
	int dfd, n = 0;

	if ((dfd = dup(st->dirfd)) < 0 || (d = fdopendir(dfd)) == NULL) {
		log_warn("%s: read %s", __func__, st->dir);
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		struct segment s;
		struct segerr e;
		char buf[META_MAX + 2], data[SEG_NAMEMAX + 16];
		size_t nl = strlen(de->d_name);
		ssize_t r;
		int fd;

		if (nl <= 5 || strcmp(de->d_name + nl - 5, ".meta") != 0)
			continue;
		memset(&s, 0, sizeof s);
		if (nl - 5 > SEG_NAMEMAX)
			continue;
		memcpy(s.name, de->d_name, nl - 5);
		s.name[nl - 5] = '\0';
		s.fd = -1;
		if (!seg_name_valid(s.name))
			continue;
		/* O_NONBLOCK: a FIFO planted here must not hang the restart */
		fd = openat(st->dirfd, de->d_name, O_RDONLY | O_CLOEXEC |
		    O_NOFOLLOW | O_NONBLOCK);
		if (fd < 0) {
			log_warn("%s: open %s", __func__, de->d_name);
			continue;
		}
		r = read(fd, buf, META_MAX + 1);	/* longer is malformed */
		close(fd);
		if (r <= 0 || r > META_MAX ||
		    (buf[r] = '\0', meta_parse(buf, &s) < 0)) {
			log_warnx("%s: %s: malformed metadata, ignored", __func__,
			    de->d_name);
			continue;
		}
		if (s.verb != SEG_VERB_NONE) {
			struct stat sb;
			if (fname(data, sizeof data, s.name, ".seg") < 0)
				continue;
			s.fd = openat(st->dirfd, data, O_RDWR | O_CLOEXEC |
			    O_NOFOLLOW);
			if (s.fd < 0 || fstat(s.fd, &sb) < 0 ||
			    !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size != s.len) {
				log_warnx("%s: %s: backing file missing or of the "
				    "wrong size, ignored", __func__, s.name);
				if (s.fd >= 0)
					close(s.fd);
				continue;
			}
		}
		if (restore(arg, &s, &e) < 0) {
			log_warnx("%s: %s: %s", __func__, s.name, e.msg);
			if (s.fd >= 0)
				close(s.fd);
			continue;
		}
		n++;
	}
	closedir(d);
	return n;
}
