/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * fs_io.c: the file system's open files.  A local file holds its segment,
 * so it works on after a remove, like an attachment; net/ files carry
 * fsnet.c's handle and their reads and writes go there.  Every file is
 * direct_io: data is copied straight between the request and segd's own
 * mapping of the segment; ctl is text; free is fs_free.c's.  A client may
 * have cut that memory away (backing.c): the file is checked and restored
 * first, and the copy into it is made under the SIGBUS guard (guard.c); a
 * read's copy is the kernel's, which fails the request (EIO) instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs.h"

static struct {
	LIST_HEAD(, fh)   files;	/* open, for the shutdown */
	struct fs_iocount count;
} io;

/* A new open file of node n, as fi's handle. */
static struct fh *
fh_new(struct fnode *n, int kind, struct fuse_file_info *fi)
{
	struct fh *h = calloc(1, sizeof *h);

	if (h == NULL)
		return NULL;
	h->node = n;
	h->kind = kind;
	fs_node_pin(n);
	LIST_INSERT_HEAD(&io.files, h, entry);
	fi->fh = (uintptr_t)h;
	fi->direct_io = 1;
	fi->keep_cache = 0;
	return h;
}

static void
fh_free(struct fh *h)
{
	LIST_REMOVE(h, entry);
	if (h->nfh != NULL)
		fsnet_release(h->nfh);
	if (h->seg != NULL) {
		if (h->kind == FS_KIND_DATA)
			fs_seg_stamp(h->seg);	/* written through it: now */
		h->node->nopen--;
		seg_put(&fs_sd->ns, h->seg);
	}
	fs_node_unpin(h->node);
	free(h);
}

static void open_reply(fuse_req_t, struct fnode *, int, struct fuse_file_info *,
    void *);

static void
op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct segerr e = { 0, "" };
	int kind = FS_INO_KIND(ino), want = fs_want(fi->flags);
	struct fnode *n = fs_node_by_ino(ino);
	struct segment *s;
	struct cred c;
	struct fh *h;
	char what[FS_WHATMAX];

	if (ino <= FS_NET_INO || kind == FS_KIND_DIR) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	if (n == NULL) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (n->type == FN_RSEG) {
		fsnet_open(req, n, kind, fi, open_reply);
		return;
	}
	snprintf(what, sizeof what, "open %.64s/%s", n->name, fs_kind_name(kind));
	if ((s = fs_node_seg(n)) == NULL) {
		fs_reply_errf(req, what, ENOENT, "segment '%s' does not exist",
		    n->name);
		return;
	}
	fs_req_cred(req, &c);
	if (kind == FS_KIND_DATA && s->verb == SEG_VERB_NONE) {
		fs_reply_errf(req, what, ENXIO, "segment not yet allocated");
		return;
	}
	if (perm_check(&c, s, want, &e) < 0) {
		fs_reply_err(req, what, &e);
		return;
	}
	if ((h = fh_new(n, kind, fi)) == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	h->seg = s;
	h->nonblock = (fi->flags & O_NONBLOCK) != 0;
	seg_hold(s);		/* the open file's reference */
	n->nopen++;		/* so fstat finds s after a remove */
	if (kind == FS_KIND_FREE)
		fi->nonseekable = 1;
	fi->noflush = 1;
	if (fuse_reply_open(req, fi) != 0)
		fh_free(h);	/* interrupted: the kernel will not release it */
}

/* fsnet.c opened a net/ file (nfh, taken over): answer the open. */
static void
open_reply(fuse_req_t req, struct fnode *n, int kind,
    struct fuse_file_info *fi, void *nfh)
{
	struct fh *h = fh_new(n, kind, fi);

	if (h == NULL) {
		fsnet_release(nfh);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	h->nfh = nfh;
	if (fuse_reply_open(req, fi) != 0)
		fh_free(h);
}

static void
op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	fh_free((struct fh *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

static void
op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fh *h = (struct fh *)(uintptr_t)fi->fh;

	(void)ino;
	if (h->nfh != NULL)
		fsnet_flush(req, h->nfh);
	else
		fuse_reply_err(req, 0);
}

static void
op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
    struct fuse_file_info *fi)
{
	(void)datasync;
	op_flush(req, ino, fi);
}

/* What the kernel held, and will not release now. */
void
fs_files_close(void)
{
	struct fh *h;

	while ((h = LIST_FIRST(&io.files)) != NULL)
		fh_free(h);
}

const struct fs_iocount *
fs_io_count(void)
{
	return &io.count;
}

/* One more request of size bytes in *n, *max the largest. */
static void
count_req(uint64_t *n, size_t *max, size_t size)
{
	if (size > *max)
		*max = size;
	(*n)++;
}

/* ---- read ---- */

/* Up to size bytes of text (len long) from off. */
static void
reply_text(fuse_req_t req, const char *text, uint64_t len, size_t size,
    off_t off)
{
	uint64_t n;

	if (off < 0 || (uint64_t)off >= len) {
		fuse_reply_buf(req, NULL, 0);	/* reads stop at the end */
		return;
	}
	n = len - (uint64_t)off;
	fuse_reply_buf(req, text + off, n < size ? n : size);
}

static void
read_ctl(fuse_req_t req, const struct segment *s, size_t size, off_t off)
{
	char text[SEGW_MAXTEXT], what[FS_WHATMAX];
	int len;

	if (s->verb == SEG_VERB_NONE) {
		snprintf(what, sizeof what, "read %.64s/ctl", s->name);
		fs_reply_errf(req, what, ENXIO, "segment not yet allocated");
		return;
	}
	len = ctl_format(text, sizeof text, s->verb, s->va, s->len);
	reply_text(req, text, (uint64_t)len, size, off);
}

/*
 * The segment's memory as segd made it, before segd touches it: 0; or the
 * request answered with the error (EIO: a client had cut pages away;
 * ENOSPC: they cannot be had again now).
 */
static int
data_usable(fuse_req_t req, struct segment *s, const char *op)
{
	char what[FS_WHATMAX];
	int err;

	if (backing_check(fs_sd, s) == 0)
		return 0;
	err = errno;
	snprintf(what, sizeof what, "%s %.64s/data", op, s->name);
	if (err == EIO)
		fs_reply_errf(req, what, EIO, "a client cut pages away from the "
		    "memory of segment '%s': restored, they read as zeros",
		    s->name);
	else
		fs_reply_errf(req, what, err, "the memory of segment '%s': %s",
		    s->name, strerror(err));
	return -1;
}

static void
op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct fh *h = (struct fh *)(uintptr_t)fi->fh;
	struct segment *s = h->seg;

	(void)ino;
	count_req(&io.count.reads, &io.count.maxread, size);
	if (h->nfh != NULL) {
		fsnet_read(req, h->nfh, size, off);
		return;
	}
	switch (h->kind) {
	case FS_KIND_CTL:
		read_ctl(req, s, size, off);
		return;
	case FS_KIND_DATA:
		if (data_usable(req, s, "read") < 0)
			return;
		/* one copy, by the kernel, from segd's mapping to the reader */
		reply_text(req, s->map, s->len, size, off);
		return;
	case FS_KIND_FREE:
		h->nonblock = (fi->flags & O_NONBLOCK) != 0;	/* now, not at open */
		fs_free_read(req, h, size);
		return;
	}
	fuse_reply_err(req, EINVAL);
}

/* ---- write ---- */


static void
write_ctl(fuse_req_t req, struct segment *s, struct fuse_bufvec *in,
    const char *what)
{
	static char text[SEGW_MAXTEXT];
	struct segerr e = { 0, "" };
	struct ctlmsg m;
	ssize_t r;

	if (!s->named) {
		fs_reply_errf(req, what, ENOENT, "segment '%s' was removed",
		    s->name);
		return;
	}
	if ((r = fs_copy_small(in, text, sizeof text)) == -1) {
		fs_reply_errf(req, what, EINVAL, "bad ctl message: too long");
		return;
	}
	if (r < 0) {
		fuse_reply_err(req, (int)-r);
		return;
	}
	if (ctl_parse(text, (size_t)r, fs_sd->ns.pagesize, &m, &e) < 0 ||
	    ns_setaddr(&fs_sd->ns, s, &m, &e) < 0) {
		fs_reply_err(req, what, &e);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &s->ctl_mtime);
	fuse_reply_write(req, (size_t)r);
}

struct copy_in {
	struct fuse_bufvec *out, *in;
	ssize_t             r;
};

static int
copy_in(void *arg)
{
	struct copy_in *c = arg;

	c->r = fuse_buf_copy(c->out, c->in, 0);
	return 0;
}

static void
write_data(fuse_req_t req, struct segment *s, struct fuse_bufvec *in,
    off_t off, const char *what)
{
	struct copy_in c;
	struct fuse_bufvec out;
	uint64_t n;
	ssize_t r;

	if (off < 0 || (uint64_t)off >= s->len) {
		fs_reply_errf(req, what, EFBIG, "write at 0x%llx starts at or "
		    "past the end of segment '%s' (length 0x%llx)",
		    (unsigned long long)off, s->name, (unsigned long long)s->len);
		return;
	}
	n = s->len - (uint64_t)off;	/* a longer write is cut here */
	if (n > fuse_buf_size(in))
		n = fuse_buf_size(in);
	if (data_usable(req, s, "write") < 0)
		return;
	/* straight into segd's mapping of the segment, under the guard */
	out = (struct fuse_bufvec)FUSE_BUFVEC_INIT(n);
	out.buf[0].mem = (char *)s->map + off;
	c.out = &out;
	c.in = in;
	if (guard_call(s->map, s->len, copy_in, &c) < 0) {
		if (data_usable(req, s, "write") == 0)	/* size intact: no page */
			fs_reply_errf(req, what, ENOSPC, "no memory for a page of "
			    "segment '%s'", s->name);
		return;
	}
	if ((r = c.r) < 0) {
		fs_reply_errf(req, what, (int)-r, "write: %s", strerror((int)-r));
		return;
	}
	s->fs_written = 1;	/* its time is stamped when next asked */
	fuse_reply_write(req, (size_t)r);
}

static void
op_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in,
    off_t off, struct fuse_file_info *fi)
{
	struct fh *h = (struct fh *)(uintptr_t)fi->fh;
	size_t size = fuse_buf_size(in);
	char what[FS_WHATMAX];

	(void)ino;
	count_req(&io.count.writes, &io.count.maxwrite, size);
	if (h->nfh != NULL) {
		fsnet_write(req, h->nfh, in, off);
		return;
	}
	snprintf(what, sizeof what, "write %.64s/%s", h->seg->name,
	    fs_kind_name(h->kind));
	switch (h->kind) {
	case FS_KIND_CTL:
		write_ctl(req, h->seg, in, what);
		return;
	case FS_KIND_DATA:
		write_data(req, h->seg, in, off, what);
		return;
	case FS_KIND_FREE:
		fs_free_write(req, h, in);
		return;
	}
	fuse_reply_err(req, EINVAL);
}

void
fs_ops_files(struct fuse_lowlevel_ops *o)
{
	o->open = op_open;
	o->read = op_read;
	o->write_buf = op_write_buf;
	o->flush = op_flush;
	o->release = op_release;
	o->fsync = op_fsync;
}
