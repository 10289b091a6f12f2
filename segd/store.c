/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * store.c: backing memory and metadata in segd's state directory (tmpfs).
 *
 *   NAME.seg    the segment's bytes, once its address is set
 *   NAME.meta   one line: "segd1 UID GID MODE VERB VA LEN"
 *   NAME.export one line while the segment is exported: "segx1 GEN FLAGS
 *               BIND OFF ACL", so a restarted segd exports it again as it
 *               was, bound where it was
 *
 * Records are replaced atomically (write NAME.SUFFIX.tmp, rename), so a
 * restarted segd finds every segment as it was.  Files read back are
 * untrusted: every field is parsed with bounds and checked again by the
 * namespace before use.  Every file is opened relative to the directory's
 * descriptor with O_NOFOLLOW, and files segd makes are made anew
 * (O_EXCL), so nothing planted there is followed or truncated; the
 * directory and each one above it must be writable by segd's user only
 * (store_dir_safe).
 *
 * Clients hold writable descriptors of NAME.seg (and a umsg pool's holder
 * of NAME.zio): store_fit() finds what they did to the file's size and
 * pages and puts it back.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/vfs.h>
#include <dirent.h>
#include <libgen.h>
#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/magic.h>

#include "segd.h"

#define META_MAX 256
#define EXPREC_MAX 4096	/* "segx1 ", 3 numbers, a name, a full access list */

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

/*
 * Whether path and every directory above it are safe to keep segd's files
 * in (OpenSSH's safe_path): owned by root or segd's user and writable by
 * no one else.  Above path, a root-owned directory with the sticky bit
 * (/tmp) is accepted too.  what names the directory in the message.
 */
int
store_dir_safe(const char *what, const char *path, struct segerr *e)
{
	char buf[PATH_MAX], up[PATH_MAX];
	uid_t me = geteuid();
	struct stat sb;
	int top = 1;

	if (realpath(path, buf) == NULL)
		return seterr(e, errno, "%s %s: %s", what, path, strerror(errno));
	for (;;) {
		if (stat(buf, &sb) < 0)
			return seterr(e, errno, "%s %s: stat %s: %s", what, path,
			    buf, strerror(errno));
		if (!S_ISDIR(sb.st_mode))
			return seterr(e, ENOTDIR, "%s %s: %s is not a directory",
			    what, path, buf);
		if ((sb.st_uid != 0 && sb.st_uid != me) || ((sb.st_mode & 022) &&
		    (top || sb.st_uid != 0 || !(sb.st_mode & S_ISVTX))))
			return seterr(e, EPERM, "%s %s: bad ownership or modes "
			    "for directory %s (uid %u, mode %04o): it must be owned "
			    "by root or uid %u and writable by no other user",
			    what, path, buf, (unsigned)sb.st_uid,
			    (unsigned)(sb.st_mode & 07777), (unsigned)me);
		if (strcmp(buf, "/") == 0)
			return 0;
		snprintf(up, sizeof up, "%s", buf);
		snprintf(buf, sizeof buf, "%s", dirname(up));
		top = 0;
	}
}

int
store_open(struct store *st, const char *dir, struct segerr *e)
{
	struct statfs sfs;

	if (snprintf(st->dir, sizeof st->dir, "%s", dir) >= (int)sizeof st->dir)
		return seterr(e, ENAMETOOLONG, "state directory name too long");
	if (mkdirs(dir, 0700) < 0)
		return seterr(e, errno, "mkdir %s: %s", dir, strerror(errno));
	if (store_dir_safe("state directory", dir, e) < 0)
		return -1;
	st->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
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

static void
unlink_one(struct store *st, const char *name, const char *suffix)
{
	char f[SEG_NAMEMAX + 16];

	if (fname(f, sizeof f, name, suffix) == 0 &&
	    unlinkat(st->dirfd, f, 0) < 0 && errno != ENOENT)
		log_warn("%s: unlink %s", __func__, f);
}

static int fill_works = 1;	/* fallocate is supported here */

/* Give every page of the file its memory now; -1 (errno) if there is none. */
static int
fill(int fd, uint64_t len)
{
	int r;

	if (!fill_works)
		return 0;
	while ((r = fallocate(fd, 0, 0, (off_t)len)) < 0 && errno == EINTR)
		;
	if (r < 0 && (errno == EOPNOTSUPP || errno == ENOSYS)) {
		fill_works = 0;	/* sparse then: holes cannot be told from cuts */
		return 0;
	}
	return r;
}

/*
 * A new backing file of len bytes, its memory allocated now (so a write
 * into the segment never needs memory the file system does not have),
 * made anew: whatever was at NAME.seg (or NAME.zio, a pool state of an
 * earlier segment of the name) is unlinked first, never truncated.
 */
int
store_alloc(struct store *st, const char *name, uint64_t len,
    struct segerr *e)
{
	char f[SEG_NAMEMAX + 16];
	int fd, err;

	if (fname(f, sizeof f, name, ".seg") < 0)
		return seterr(e, ENAMETOOLONG, "name too long");
	unlinkat(st->dirfd, f, 0);
	unlink_one(st, name, ".zio");
	fd = openat(st->dirfd, f, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd < 0)
		return seterr(e, errno, "create backing file: %s",
		    strerror(errno));
	if (ftruncate(fd, (off_t)len) < 0) {
		err = errno;
		close(fd);
		unlinkat(st->dirfd, f, 0);
		return seterr(e, err, "size backing file: %s", strerror(err));
	}
	if (fill(fd, len) < 0) {
		err = errno;
		close(fd);
		unlinkat(st->dirfd, f, 0);
		if (err == ENOSPC)
			return seterr(e, ENOSPC, "no memory for %llu bytes: the "
			    "state directory's file system is full",
			    (unsigned long long)len);
		return seterr(e, err, "allocate backing file: %s",
		    strerror(err));
	}
	return fd;
}

/*
 * What a client did to a backing file of len bytes, undone: 0 if nothing;
 * STORE_GROWN if it had grown (cut back to len, so -M holds); STORE_CUT if
 * pages were cut away (truncated or holes punched: the size is restored
 * and the pages allocated again, zero).  -1 with errno if it cannot be
 * checked or restored (ENOSPC: the pages cannot be had now).
 */
int
store_fit(int fd, uint64_t len)
{
	struct stat sb;
	int r = 0;

	if (fstat(fd, &sb) < 0)
		return -1;
	if ((uint64_t)sb.st_size > len) {
		if (ftruncate(fd, (off_t)len) < 0 || fstat(fd, &sb) < 0)
			return -1;
		r |= STORE_GROWN;
	}
	if ((uint64_t)sb.st_size < len || (fill_works &&
	    (uint64_t)sb.st_blocks * 512 < len)) {
		r |= STORE_CUT;
		if ((uint64_t)sb.st_size < len && ftruncate(fd, (off_t)len) < 0)
			return -1;
		if (fill(fd, len) < 0)
			return -1;
	}
	return r;
}

/* NAME.SUFFIX replaced by n bytes of buf at once (NAME.SUFFIX.tmp, rename). */
static int
save_atomic(struct store *st, const char *name, const char *suffix,
    const char *buf, size_t n, struct segerr *e)
{
	char tmp[SEG_NAMEMAX + 16], f[SEG_NAMEMAX + 16], sfx[16];
	int fd;
	ssize_t w;

	if (fname(f, sizeof f, name, suffix) < 0 ||
	    snprintf(sfx, sizeof sfx, "%s.tmp", suffix) >= (int)sizeof sfx ||
	    fname(tmp, sizeof tmp, name, sfx) < 0)
		return seterr(e, ENAMETOOLONG, "name too long");
	unlinkat(st->dirfd, tmp, 0);
	fd = openat(st->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd < 0)
		return seterr(e, errno, "save %s: %s", f, strerror(errno));
	w = write(fd, buf, n);
	if (w != (ssize_t)n || close(fd) < 0) {
		int err = w < 0 ? errno : EIO;
		unlinkat(st->dirfd, tmp, 0);
		return seterr(e, err, "save %s: %s", f, strerror(err));
	}
	if (renameat(st->dirfd, tmp, st->dirfd, f) < 0) {
		int err = errno;
		unlinkat(st->dirfd, tmp, 0);
		return seterr(e, err, "save %s: %s", f, strerror(err));
	}
	return 0;
}

int
store_save(struct store *st, const struct segment *s, struct segerr *e)
{
	char buf[META_MAX];
	int n;

	n = snprintf(buf, sizeof buf, "segd1 %u %u %o %u %llx %llx\n",
	    (unsigned)s->uid, (unsigned)s->gid, (unsigned)s->mode,
	    (unsigned)s->verb, (unsigned long long)s->va,
	    (unsigned long long)s->len);
	return save_atomic(st, s->name, ".meta", buf, (size_t)n, e);
}

/* The name is gone: memory already mapped stays until its last unmap. */
void
store_unlink(struct store *st, const char *name)
{
	unlink_one(st, name, ".export");
	unlink_one(st, name, ".meta");
	unlink_one(st, name, ".seg");
	unlink_one(st, name, ".zio");
}

/*
 * NAME.zio, a zero-copy segment's pool state of size bytes: the one found
 * (after a restart), or a new one if there is none.  One that is not a
 * regular file of that size is refused, never made anew over what may be
 * live buffers' state: the segment is then skipped, its files left.
 */
int
store_zio_file(struct store *st, const char *name, size_t size, int *created,
    struct segerr *e)
{
	char f[SEG_NAMEMAX + 16];
	struct stat sb;
	int fd, err;

	if (fname(f, sizeof f, name, ".zio") < 0)
		return seterr(e, ENAMETOOLONG, "name too long");
	*created = 0;
	fd = openat(st->dirfd, f, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd >= 0) {
		if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) ||
		    (uint64_t)sb.st_size != size) {
			close(fd);
			return seterr(e, EINVAL, "pool state %s is not a file of "
			    "%zu bytes: left as it is", f, size);
		}
		return fd;
	}
	if (errno != ENOENT)
		return seterr(e, errno, "pool state %s: %s", f, strerror(errno));
	fd = openat(st->dirfd, f, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd < 0)
		return seterr(e, errno, "create pool state %s: %s", f,
		    strerror(errno));
	if (ftruncate(fd, (off_t)size) < 0 || fill(fd, size) < 0) {
		err = errno;
		close(fd);
		unlinkat(st->dirfd, f, 0);
		return seterr(e, err, "size pool state %s: %s", f, strerror(err));
	}
	*created = 1;
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

/*
 * One number of a record: digits of base only (at least one, no sign, no
 * blank), at most max, then the separator sep.  Advances *p past sep.
 */
static int
meta_num(const char **p, int base, uint64_t max, char sep, uint64_t *v)
{
	const char *s = *p;
	uint64_t n = 0;
	int d, any = 0;

	for (;; s++) {
		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else
			break;
		if (d >= base || (uint64_t)d > max || n > max / (uint64_t)base ||
		    n * (uint64_t)base > max - (uint64_t)d)
			return -1;	/* not this base, or above max */
		n = n * (uint64_t)base + (uint64_t)d;
		any = 1;
	}
	if (!any || *s != sep)
		return -1;
	*p = s + 1;
	*v = n;
	return 0;
}

/*
 * A record of len bytes (not NUL-terminated, at most max) copied into text
 * (max + 1 bytes) and terminated: what follows its magic ("segd1 "), or
 * NULL if it is empty, too long, holds a NUL or does not start so.
 */
static const char *
rec_text(char *text, size_t max, const char *buf, size_t len,
    const char *magic)
{
	size_t ml = strlen(magic);

	if (len == 0 || len > max || memchr(buf, '\0', len) != NULL)
		return NULL;
	memcpy(text, buf, len);
	text[len] = '\0';
	return strncmp(text, magic, ml) == 0 ? text + ml : NULL;
}

/*
 * A NAME.meta record (len bytes, not NUL-terminated) into s's owner, mode,
 * kind, address and length: "segd1 UID GID MODE VERB VA LEN\n", as
 * store_save writes it.  Every field is range-checked: ids below 2^32 - 1,
 * mode within 0777, a known kind, and for an allocated segment a page-
 * aligned address outside page 0 and a length that ends in user space;
 * an unallocated one has address and length 0.  -1 if it is malformed.
 */
int
store_meta_parse(const char *buf, size_t len, uint64_t pagesize,
    struct segment *s)
{
	char text[META_MAX + 1];
	const char *p;
	uint64_t uid, gid, mode, verb, va, vlen;

	if (pagesize == 0 ||
	    (p = rec_text(text, META_MAX, buf, len, "segd1 ")) == NULL)
		return -1;
	if (meta_num(&p, 10, UINT32_MAX - 1, ' ', &uid) < 0 ||
	    meta_num(&p, 10, UINT32_MAX - 1, ' ', &gid) < 0 ||
	    meta_num(&p, 8, 0777, ' ', &mode) < 0 ||
	    meta_num(&p, 10, SEG_VERB_MAX - 1, ' ', &verb) < 0 ||
	    meta_num(&p, 16, UINT64_MAX, ' ', &va) < 0 ||
	    meta_num(&p, 16, UINT64_MAX, '\n', &vlen) < 0 || *p != '\0')
		return -1;
	if (verb == SEG_VERB_NONE ? va != 0 || vlen != 0 :
	    va < pagesize || va % pagesize || vlen == 0 || vlen % pagesize ||
	    va >= SEGD_USER_TOP || vlen > SEGD_USER_TOP - va)
		return -1;
	s->uid = (uid_t)uid;
	s->gid = (gid_t)gid;
	s->mode = (mode_t)mode;
	s->verb = (enum seg_verb)verb;
	s->va = va;
	s->len = vlen;
	return 0;
}

/*
 * The backing file of a segment found again, at its length: one a client
 * resized is restored (and said so), never dropped.  -1 (logged) if it
 * is missing or not a regular file.
 */
static int
open_backing(struct store *st, const struct segment *s)
{
	char f[SEG_NAMEMAX + 16];
	struct stat sb;
	int fd, r;

	if (fname(f, sizeof f, s->name, ".seg") < 0)
		return -1;
	fd = openat(st->dirfd, f, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		log_warnx("%s: %s: backing file missing or not a regular file, "
		    "ignored", __func__, s->name);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if ((uint64_t)sb.st_size != s->len) {
		if ((r = store_fit(fd, s->len)) < 0) {
			log_warn("%s: %s: restore backing file to %llu bytes",
			    __func__, s->name, (unsigned long long)s->len);
			close(fd);
			return -1;
		}
		log_warnx("%s: %s: backing file was %llu bytes, restored to "
		    "%llu%s", __func__, s->name, (unsigned long long)sb.st_size,
		    (unsigned long long)s->len, r & STORE_CUT ? " (pages "
		    "cut away read as zeros)" : "");
	} else if (store_fit(fd, s->len) < 0)	/* holes: memory now */
		log_warn("%s: %s: allocate backing file", __func__, s->name);
	return fd;
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
	uint64_t pagesize = (uint64_t)sysconf(_SC_PAGESIZE);
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
		char buf[META_MAX + 1];
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
		if (r <= 0 || store_meta_parse(buf, (size_t)r, pagesize, &s) < 0) {
			log_warnx("%s: %s: malformed metadata, ignored", __func__,
			    de->d_name);
			continue;
		}
		if (s.verb != SEG_VERB_NONE && (s.fd = open_backing(st, &s)) < 0)
			continue;
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

/*
 * An export record (len bytes, not NUL-terminated) into r: "segx1 GEN
 * FLAGS BIND OFF ACL\n", as store_export_save writes it.  GEN is a nonzero
 * hex number, FLAGS hex with known bits only (SEGW_EXP_*), BIND the name
 * of the segment the export is bound to (its own until a rebind), OFF the
 * hex offset there, page-aligned and below SEGD_USER_TOP, ACL "-" for the
 * empty list or a list acl_parse takes.  -1 if it is malformed.
 */
int
store_export_parse(const char *buf, size_t len, uint64_t pagesize,
    struct exprec *r)
{
	char text[EXPREC_MAX + 1];
	const char *p;
	uint64_t gen, flags, off;
	struct segerr e;
	char *nl, *sp;
	int n;

	if ((p = rec_text(text, EXPREC_MAX, buf, len, "segx1 ")) == NULL)
		return -1;
	if (meta_num(&p, 16, UINT64_MAX, ' ', &gen) < 0 || gen == 0 ||
	    meta_num(&p, 16, UINT32_MAX, ' ', &flags) < 0 ||
	    (flags & ~(uint64_t)SEGW_EXP_ALL) != 0)
		return -1;
	if ((sp = strchr(p, ' ')) == NULL || sp == p ||
	    (size_t)(sp - p) > SEG_NAMEMAX)
		return -1;
	memcpy(r->bind, p, (size_t)(sp - p));
	r->bind[sp - p] = '\0';
	p = sp + 1;
	if (!seg_name_valid(r->bind) ||
	    meta_num(&p, 16, SEGD_USER_TOP - 1, ' ', &off) < 0 ||
	    off % pagesize != 0)
		return -1;
	if ((nl = strchr(p, '\n')) == NULL || nl[1] != '\0' || nl == p)
		return -1;
	*nl = '\0';
	if (strcmp(p, "-") == 0)
		n = 0;
	else if ((n = acl_parse(p, r->acl, ACL_MAX, &e)) <= 0)
		return -1;
	r->gen = gen;
	r->flags = (uint32_t)flags;
	r->off = off;
	r->nacl = n;
	return 0;
}

/* NAME.export: the record of a segment exported (replaced atomically). */
int
store_export_save(struct store *st, const char *name, const struct exprec *r,
    struct segerr *e)
{
	char buf[EXPREC_MAX];
	size_t n;
	int i, k;

	k = snprintf(buf, sizeof buf, "segx1 %llx %x %s %llx %s",
	    (unsigned long long)r->gen, (unsigned)r->flags, r->bind,
	    (unsigned long long)r->off, r->nacl == 0 ? "-" : "");
	if (k < 0 || (size_t)k >= sizeof buf)
		return seterr(e, ENAMETOOLONG, "export record too long");
	for (n = (size_t)k, i = 0; i < r->nacl; i++) {
		k = snprintf(buf + n, sizeof buf - n, "%s%s:%s", i ? "," : "",
		    r->acl[i].node, r->acl[i].perm & SEGW_WR ? "rw" : "r");
		if (k < 0 || (size_t)k >= sizeof buf - n)
			return seterr(e, ENAMETOOLONG, "export record too long");
		n += (size_t)k;
	}
	if (n + 1 >= sizeof buf)
		return seterr(e, ENAMETOOLONG, "export record too long");
	buf[n++] = '\n';
	return save_atomic(st, name, ".export", buf, n, e);
}

void
store_export_unlink(struct store *st, const char *name)
{
	unlink_one(st, name, ".export");
}

/*
 * NAME.export read back into r: 1, or 0 if there is none; -1 (logged) if
 * it cannot be read or is malformed, and is then left where it is.
 */
int
store_export_load(struct store *st, const char *name, struct exprec *r)
{
	char f[SEG_NAMEMAX + 16], buf[EXPREC_MAX + 1];
	ssize_t n;
	int fd;

	if (fname(f, sizeof f, name, ".export") < 0)
		return 0;
	/* O_NONBLOCK: a FIFO planted here must not hang the restart */
	fd = openat(st->dirfd, f, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		log_warn("%s: open %s", __func__, f);
		return -1;
	}
	n = read(fd, buf, sizeof buf);	/* longer is malformed */
	close(fd);
	if (n <= 0 || store_export_parse(buf, (size_t)n,
	    (uint64_t)sysconf(_SC_PAGESIZE), r) < 0) {
		log_warnx("%s: %s: malformed export record, ignored", __func__, f);
		return -1;
	}
	return 1;
}
