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

/* The attributes of one of a segment's inodes. */
void
fs_seg_stat(struct stat *st, const struct fnode *n, int kind,
    const struct segment *s)
{
	uint64_t ino = FS_INO(n->id, kind);

	if (kind == FS_KIND_DIR)
		fs_stat_init(st, ino, dir_mode(s->mode), s->uid, s->gid, 0);
	else
		fs_stat_init(st, ino, S_IFREG | (s->mode & 0666), s->uid, s->gid,
		    kind == FS_KIND_DATA ? s->len : 0);
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
