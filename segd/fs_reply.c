/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * fs_reply.c: what every operation of the file system shares: the
 * caller's credentials, the attributes of its inodes, and the replies
 * that carry an entry or an error (logged, with segd's message).
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"

#define FS_ERRNO_MAX 512	/* a code at or above this is no errno: EIO */
#define FREE_QUOTE   24		/* characters of a bad address quoted back */

static time_t t0;	/* every inode's times: the mount's */

void
fs_reply_init(void)
{
	t0 = time(NULL);
}

void
fs_stat_init(struct stat *st, uint64_t ino, mode_t mode, uid_t uid, gid_t gid,
    uint64_t size)
{
	memset(st, 0, sizeof *st);
	st->st_ino = ino;
	st->st_mode = mode;
	st->st_nlink = S_ISDIR(mode) ? 2 : 1;
	st->st_uid = uid;
	st->st_gid = gid;
	st->st_size = (off_t)size;
	st->st_blocks = (blkcnt_t)((size + S_BLKSIZE - 1) / S_BLKSIZE);
	st->st_blksize = FS_MAXIO;	/* cat and cp then move 1 MiB at a time */
	st->st_atim.tv_sec = st->st_mtim.tv_sec = st->st_ctim.tv_sec = t0;
}

static mode_t
dir_mode(mode_t m)
{
	m &= 0777;
	return S_IFDIR | m | ((m & 0444) >> 2);	/* r gives x: cd where readable */
}

/* Data written through the mount: its time (the backing file's) is now. */
void
fs_seg_stamp(struct segment *s)
{
	if (!s->fs_written)
		return;
	s->fs_written = 0;
	seg_touch(s);
}

static void
now_ts(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

/*
 * The modification time of one of s's files.  data's is its backing
 * file's: writes through a descriptor (seg_pwrite) move it by themselves,
 * writes through the mount are stamped here, and while a writable
 * attachment may write behind segd's back it is now.  ctl's is when its
 * text was set (first seen, if segctl set it); free's, its last write.
 */
static void
seg_mtime(struct segment *s, int kind, struct timespec *mt)
{
	struct stat bst;

	mt->tv_sec = t0;
	mt->tv_nsec = 0;
	switch (kind) {
	case FS_KIND_DATA:
		if (s->nwriters > 0) {
			now_ts(mt);
			break;
		}
		fs_seg_stamp(s);
		if (s->fd >= 0 && fstat(s->fd, &bst) == 0)
			*mt = bst.st_mtim;
		break;
	case FS_KIND_CTL:
		if (s->verb == SEG_VERB_NONE)
			break;
		if (s->ctl_mtime.tv_sec == 0)
			now_ts(&s->ctl_mtime);	/* no later than now */
		*mt = s->ctl_mtime;
		break;
	case FS_KIND_FREE:
		if (s->free_mtime.tv_sec != 0)
			*mt = s->free_mtime;
		break;
	}
}

/*
 * The attributes of one of a segment's inodes.  ctl's size is the length
 * of its text, so that tar and cp read it whole; data's is the segment's.
 */
void
fs_seg_stat(struct stat *st, const struct fnode *n, int kind,
    struct segment *s)
{
	uint64_t ino = FS_INO(n->id, kind), size = 0;
	char text[SEGW_MAXTEXT];
	int len;

	if (kind == FS_KIND_DIR) {
		fs_stat_init(st, ino, dir_mode(s->mode), s->uid, s->gid, 0);
		return;
	}
	if (kind == FS_KIND_DATA)
		size = s->len;
	else if (kind == FS_KIND_CTL && s->verb != SEG_VERB_NONE &&
	    (len = ctl_format(text, sizeof text, s->verb, s->va, s->len)) > 0)
		size = (uint64_t)len;
	fs_stat_init(st, ino, S_IFREG | (s->mode & 0666), s->uid, s->gid, size);
	seg_mtime(s, kind, &st->st_mtim);
	st->st_ctim = st->st_mtim;
}

/*
 * utimensat on one of s's files: an explicit time for the owner or root, the
 * time now for them or a writer too (utimensat(2)'s rules).  data's goes to
 * its backing file, ctl's and free's are kept while segd runs; the
 * directory's is accepted and not kept.
 */
int
fs_seg_settimes(struct segment *s, int kind, const struct stat *attr,
    int to_set, struct segerr *e)
{
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { 0, UTIME_OMIT } }, now;

	if (!(to_set & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW)))
		return 0;	/* atime alone: not kept */
	now_ts(&now);
	ts[1] = to_set & FUSE_SET_ATTR_MTIME_NOW ? now : attr->st_mtim;
	switch (kind) {
	case FS_KIND_DATA:
		s->fs_written = 0;	/* the time set covers what was written */
		if (s->fd >= 0 && futimens(s->fd, ts) < 0)
			return seterr(e, errno, "futimens: %s", strerror(errno));
		break;
	case FS_KIND_CTL:
		s->ctl_mtime = ts[1];
		break;
	case FS_KIND_FREE:
		s->free_mtime = ts[1];
		break;
	}
	return 0;
}

void
fs_root_stat(struct stat *st)
{
	/* everyone may create; only a segment's owner (or root) removes it */
	fs_stat_init(st, FS_ROOT_INO, S_IFDIR | 01777, geteuid(), getegid(), 0);
}

void
fs_net_stat(struct stat *st)
{
	fs_stat_init(st, FS_NET_INO, S_IFDIR | 0555, geteuid(), getegid(), 0);
}

void
fs_entry(fuse_req_t req, struct fnode *n, int kind, const struct stat *st,
    double timeout)
{
	struct fuse_entry_param e;

	(void)kind;	/* the inode number in st says it */
	memset(&e, 0, sizeof e);
	e.ino = st->st_ino;
	e.generation = 1;
	e.attr = *st;
	e.attr_timeout = timeout;
	e.entry_timeout = timeout;
	if (fuse_reply_entry(req, &e) == 0 && n != NULL)
		n->nlookup++;	/* the kernel holds one more lookup */
	else if (n != NULL)
		fs_node_maybe_free(n);
}

void
fs_reply_err(fuse_req_t req, const char *what, const struct segerr *e)
{
	int code = e->code > 0 && e->code < FS_ERRNO_MAX ? e->code : EIO;

	log_info("fs: %s: %s", what, e->msg);
	fuse_reply_err(req, code);
}

void
fs_reply_errf(fuse_req_t req, const char *what, int code, const char *fmt, ...)
{
	struct segerr e;
	va_list ap;

	va_start(ap, fmt);
	vseterr(&e, code, fmt, ap);
	va_end(ap);
	fs_reply_err(req, what, &e);
}

/* The caller, from the request: uid, gid, pid and supplementary groups. */
void
fs_req_cred(fuse_req_t req, struct cred *c)
{
	const struct fuse_ctx *x = fuse_req_ctx(req);
	int n;

	memset(c, 0, sizeof *c);
	c->pid = x->pid;
	c->uid = x->uid;
	c->gid = x->gid;
	n = fuse_req_getgroups(req, SEGD_MAXGROUPS, c->groups);
	c->ngroups = n < 0 ? 0 : n > SEGD_MAXGROUPS ? SEGD_MAXGROUPS : n;
}

int
fs_want(int flags)
{
	switch (flags & O_ACCMODE) {
	case O_RDONLY:
		return SEGW_RD;
	case O_WRONLY:
		return SEGW_WR;
	default:
		return SEGW_RD | SEGW_WR;
	}
}

const char *
fs_kind_name(int kind)
{
	static const char *names[] = { "", "ctl", "data", "free" };

	return names[kind & 3];
}

/* A small write (ctl, free) copied out of the request; -1 if too long. */
ssize_t
fs_copy_small(struct fuse_bufvec *in, char *text, size_t size)
{
	size_t n = fuse_buf_size(in);
	struct fuse_bufvec out = FUSE_BUFVEC_INIT(n);
	ssize_t r;

	if (n > size)
		return -1;
	out.buf[0].mem = text;
	r = fuse_buf_copy(&out, in, 0);
	return r < 0 ? r : (ssize_t)n == r ? r : -EIO;
}

int
fs_write_addrs(fuse_req_t req, struct fuse_bufvec *in, const char *what,
    char *text, size_t size, uint64_t *addrs, int max, size_t *len)
{
	struct segerr e = { 0, "" };
	ssize_t got;
	int n;

	if ((got = fs_copy_small(in, text, size - 1)) == -1) {
		fs_reply_errf(req, what, EINVAL, "more than %d addresses in one "
		    "write", max);
		return -1;
	}
	if (got < 0) {
		fuse_reply_err(req, (int)-got);
		return -1;
	}
	if ((n = fs_parse_addrs(text, (size_t)got, addrs, max, &e)) < 0) {
		fs_reply_err(req, what, &e);
		return -1;
	}
	*len = (size_t)got;
	return n;
}

/* ---- the free files' parser (fs_free.c, fs_netio.c) ---- */

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * What a write to free says: addresses (0x hex, or decimal) separated by
 * blanks or newlines, at least one and at most max.  The count, or -1 with
 * e set (addrs may be partly written then).
 */
int
fs_parse_addrs(const char *text, size_t len, uint64_t *addrs, int max,
    struct segerr *e)
{
	size_t i = 0, j;
	int n = 0;

	while (i < len) {
		while (i < len && is_space(text[i]))
			i++;
		if (i == len)
			break;
		for (j = i; j < len && !is_space(text[j]); j++)
			;
		if (n == max)
			return seterr(e, EINVAL, "more than %d addresses in one "
			    "write", max);
		if (seg_parse_u64(text + i, j - i, &addrs[n]) < 0)
			return seterr(e, EINVAL, "bad address '%.*s': write buffer "
			    "addresses in hex, one a line", (int)(j - i > FREE_QUOTE ?
			    FREE_QUOTE : j - i), text + i);
		n++;
		i = j;
	}
	if (n == 0)
		return seterr(e, EINVAL, "no address: write buffer addresses in "
		    "hex, one a line");
	return n;
}
