/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * fs_netio.c: the open files of the remote view (net/NODE/NAME/...), under
 * fsnet.c, which finds and imports the segments and opens them here.
 *
 *   data   reads and writes: RDMA READs and WRITEs (rseg_io) between the
 *          exporter's memory and registered 1 MiB buffers of segd's own,
 *          then a copy to or from the kernel's request; close (flush) after
 *          a write waits until the writes are placed (a one-byte READ)
 *   ctl    reads as the exporter's "VERB 0xADDR 0xLEN", from the import's
 *          reply (its address and length)
 *   free   of a zero-copy segment: a write of addresses, one a line, is one
 *          remote free (rseg_free) to the owner, all or nothing; reads end
 *          at once, since nothing comes back to an importer
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <infiniband/verbs.h>

#include "fs.h"

#define NBUF_MAX      32	/* registered 1 MiB buffers, at most */
#define RFREE_LINE    19	/* "0x" + 16 hex digits + "\n" */
#define RFREE_TEXTMAX (SEGP_FREE_MAX * RFREE_LINE + 1)

struct nbuf {
	LIST_ENTRY(nbuf) entry;
	void            *mem;
	struct ibv_mr   *mr;
};

enum { IO_READ, IO_WRITE, IO_BARRIER, IO_FREE };

struct ioop {
	TAILQ_ENTRY(ioop)   wentry;	/* waiting for a buffer */
	fuse_req_t          req;
	struct nfh         *fh;	/* counted in fh->ios */
	struct rimp        *imp;	/* a reference */
	int                 kind;
	uint64_t            off;
	size_t              len;
	struct nbuf        *buf;
	void               *copy;	/* a write's bytes until a buffer frees */
};

static LIST_HEAD(, nbuf) nbufs_free = LIST_HEAD_INITIALIZER(nbufs_free);
static LIST_HEAD(, nbuf) nbufs_used = LIST_HEAD_INITIALIZER(nbufs_used);
static unsigned nbufs;
static TAILQ_HEAD(, ioop) bufwait = TAILQ_HEAD_INITIALIZER(bufwait);

void
fsnet_what(char *what, size_t size, const char *op, const struct rimp *imp,
    int kind)
{
	snprintf(what, size, "%s net/%s/%s/%s", op, imp->label, imp->name,
	    fs_kind_name(kind));
}

int
fsnet_deny_write(const struct rimp *imp, struct segerr *e)
{
	return seterr(e, EACCES, "permission denied: segment '%s' on node %s "
	    "is exported read-only to this node", imp->name, imp->node);
}

/* A new open file of kind on imp (of a segment of kind verb). */
struct nfh *
fsnet_nfh_new(struct rimp *imp, int kind, int verb)
{
	struct nfh *h = calloc(1, sizeof *h);

	if (h == NULL)
		return NULL;
	h->imp = imp;
	h->kind = kind;
	h->verb = verb;
	rseg_hold(imp);		/* the open file's */
	return h;
}

static void
nfh_maybe_free(struct nfh *h)
{
	if (!h->released || h->ios > 0)
		return;
	rseg_put(h->imp);	/* the open file's */
	free(h);
}

void
fsnet_release(void *arg)
{
	struct nfh *h = arg;

	h->released = 1;
	nfh_maybe_free(h);
}

/* ---- registered buffers ---- */

static struct nbuf *
nbuf_get(void)
{
	struct nbuf *b = LIST_FIRST(&nbufs_free);
	struct segerr e;

	if (b != NULL) {
		LIST_REMOVE(b, entry);
		LIST_INSERT_HEAD(&nbufs_used, b, entry);
		return b;
	}
	if (nbufs >= NBUF_MAX || (b = calloc(1, sizeof *b)) == NULL)
		return NULL;
	if ((b->mem = aligned_alloc(4096, FS_MAXIO)) == NULL) {
		free(b);
		return NULL;
	}
	/* zeroed once: what RDMA READs into it is then defined to checkers */
	memset(b->mem, 0, FS_MAXIO);
	if ((b->mr = rdma_reg(fs_sd, b->mem, FS_MAXIO, IBV_ACCESS_LOCAL_WRITE,
	    &e)) == NULL) {
		log_warnx("%s: %s", __func__, e.msg);
		free(b->mem);
		free(b);
		return NULL;
	}
	nbufs++;
	LIST_INSERT_HEAD(&nbufs_used, b, entry);
	return b;
}

static void io_go(struct ioop *);

static void
nbuf_put(struct nbuf *b)
{
	struct ioop *o;

	if (b == NULL)
		return;
	LIST_REMOVE(b, entry);
	LIST_INSERT_HEAD(&nbufs_free, b, entry);
	if ((o = TAILQ_FIRST(&bufwait)) != NULL) {
		TAILQ_REMOVE(&bufwait, o, wentry);
		o->buf = nbuf_get();
		io_go(o);
	}
}

/* ---- data: through rseg_io() ---- */

static const char *const io_names[] = { "read", "write", "flush", "write" };

static void
io_free(struct ioop *o)
{
	nbuf_put(o->buf);
	free(o->copy);
	rseg_put(o->imp);	/* the io's */
	o->fh->ios--;
	nfh_maybe_free(o->fh);
	free(o);
}

static void
io_done(void *arg, const struct segerr *e)
{
	struct ioop *o = arg;
	char what[FS_WHATMAX];

	if (e != NULL) {
		fsnet_what(what, sizeof what, io_names[o->kind], o->imp,
		    o->fh->kind);
		fs_reply_err(o->req, what, e);
	} else if (o->kind == IO_FREE) {
		fuse_reply_write(o->req, o->len);
		io_free(o);
		return;
	} else if (o->kind == IO_READ)
		fuse_reply_buf(o->req, o->buf->mem, o->len);
	else if (o->kind == IO_WRITE) {
		o->fh->dirty = 1;
		fuse_reply_write(o->req, o->len);
	} else
		fuse_reply_err(o->req, 0);
	if (e == NULL && o->kind != IO_BARRIER)	/* copied through our buffers */
		fs_sd->bounce_bytes += o->len;
	io_free(o);
}

/* o has its buffer (or needs none): copy a write's bytes in, submit. */
static void
io_go(struct ioop *o)
{
	static const int kinds[] = { SEGW_IO_GET, SEGW_IO_PUT, SEGW_IO_BARRIER };
	struct rseg_sge v;
	struct segerr e;

	if (o->kind != IO_BARRIER && o->buf == NULL) {
		TAILQ_INSERT_TAIL(&bufwait, o, wentry);
		return;
	}
	if (o->copy != NULL) {
		memcpy(o->buf->mem, o->copy, o->len);
		free(o->copy);
		o->copy = NULL;
	}
	if (o->buf != NULL) {
		v.off = o->off;
		v.len = o->len;
		v.addr = (uintptr_t)o->buf->mem;
		v.lkey = o->buf->mr->lkey;
	}
	if (rseg_io(fs_sd, o->imp, kinds[o->kind], &v, o->buf != NULL, io_done,
	    o, &e) < 0)
		io_done(o, &e);
}

static struct ioop *
io_new(fuse_req_t req, struct nfh *h, int kind, uint64_t off, size_t len)
{
	struct ioop *o = calloc(1, sizeof *o);

	if (o == NULL)
		return NULL;
	o->req = req;
	o->fh = h;
	h->ios++;
	o->imp = h->imp;
	rseg_hold(h->imp);	/* the io's */
	o->kind = kind;
	o->off = off;
	o->len = len;
	return o;
}

/* The bytes of [off, off+size) inside imp, at most one request's worth. */
static uint64_t
io_span(const struct rimp *imp, off_t off, size_t size)
{
	uint64_t n = imp->len - (uint64_t)off;

	if (n > size)
		n = size;
	return n > FS_MAXIO ? FS_MAXIO : n;
}

/* The exporter's ctl message, from the import's address and length. */
static void
read_ctl(fuse_req_t req, const struct nfh *h, size_t size, off_t off)
{
	char text[SEGW_MAXTEXT];
	int len = ctl_format(text, sizeof text, (enum seg_verb)h->verb,
	    h->imp->rva, h->imp->len);

	if (len <= 0 || off < 0 || off >= len) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	fuse_reply_buf(req, text + off, (size_t)(len - off) < size ?
	    (size_t)(len - off) : size);
}

void
fsnet_read(fuse_req_t req, void *arg, size_t size, off_t off)
{
	struct nfh *h = arg;
	struct segerr e;
	struct ioop *o;
	char what[FS_WHATMAX];

	if (rseg_usable(h->imp, &e) < 0) {
		fsnet_what(what, sizeof what, "read", h->imp, h->kind);
		fs_reply_err(req, what, &e);
		return;
	}
	if (h->kind == FS_KIND_CTL) {
		read_ctl(req, h, size, off);
		return;
	}
	if (h->kind == FS_KIND_FREE) {
		fuse_reply_buf(req, NULL, 0);	/* nothing comes back to us */
		return;
	}
	if (off < 0 || (uint64_t)off >= h->imp->len || size == 0) {
		fuse_reply_buf(req, NULL, 0);	/* reads stop at the end */
		return;
	}
	if ((o = io_new(req, h, IO_READ, (uint64_t)off,
	    (size_t)io_span(h->imp, off, size))) == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	o->buf = nbuf_get();
	io_go(o);
}

/* A write's checks; -1 with e. */
static int
write_check(const struct rimp *imp, off_t off, struct segerr *e)
{
	if (rseg_usable(imp, e) < 0)
		return -1;
	if (!(imp->perm & SEGW_WR))
		return fsnet_deny_write(imp, e);
	if (off < 0 || (uint64_t)off >= imp->len)
		return seterr(e, EFBIG, "write at 0x%llx starts at or past the "
		    "end of segment '%s' on node %s (length 0x%llx)",
		    (unsigned long long)off, imp->name, imp->node,
		    (unsigned long long)imp->len);
	return 0;
}

/* Addresses written to a zero-copy segment's free: one remote free. */
static void
write_free(fuse_req_t req, struct nfh *h, struct fuse_bufvec *in)
{
	static char text[RFREE_TEXTMAX];
	static uint64_t addrs[SEGP_FREE_MAX];	/* rseg_free() copies them */
	struct segerr e = { 0, "" };
	struct ioop *o;
	char what[FS_WHATMAX];
	size_t len;
	int n;

	fsnet_what(what, sizeof what, "write", h->imp, h->kind);
	if ((n = fs_write_addrs(req, in, what, text, sizeof text, addrs,
	    SEGP_FREE_MAX, &len)) < 0)
		return;
	if (rseg_usable(h->imp, &e) < 0) {
		fs_reply_err(req, what, &e);
		return;
	}
	if ((o = io_new(req, h, IO_FREE, 0, len)) == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (rseg_free(h->imp, addrs, (uint32_t)n, io_done, o, &e) < 0)
		io_done(o, &e);
}

void
fsnet_write(fuse_req_t req, void *arg, struct fuse_bufvec *in, off_t off)
{
	struct nfh *h = arg;
	struct fuse_bufvec out;
	struct segerr e = { 0, "" };
	struct ioop *o;
	char what[FS_WHATMAX];
	uint64_t n;
	ssize_t r;

	if (h->kind == FS_KIND_FREE) {
		write_free(req, h, in);
		return;
	}
	if (write_check(h->imp, off, &e) < 0) {
		fsnet_what(what, sizeof what, "write", h->imp, h->kind);
		fs_reply_err(req, what, &e);
		return;
	}
	n = io_span(h->imp, off, fuse_buf_size(in));	/* cut at the end */
	if ((o = io_new(req, h, IO_WRITE, (uint64_t)off, (size_t)n)) == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	/* the request's bytes are libfuse's only until we return */
	o->buf = nbuf_get();
	out = (struct fuse_bufvec)FUSE_BUFVEC_INIT(n);
	if (o->buf != NULL)
		out.buf[0].mem = o->buf->mem;
	else if ((out.buf[0].mem = o->copy = malloc(n)) == NULL) {
		io_free(o);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if ((r = fuse_buf_copy(&out, in, 0)) < 0 || (uint64_t)r != n) {
		io_free(o);
		fuse_reply_err(req, r < 0 ? (int)-r : EIO);
		return;
	}
	io_go(o);
}

void
fsnet_flush(fuse_req_t req, void *arg)
{
	struct nfh *h = arg;
	struct ioop *o;

	if (!h->dirty) {
		fuse_reply_err(req, 0);
		return;
	}
	h->dirty = 0;
	if ((o = io_new(req, h, IO_BARRIER, 0, 0)) == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	io_go(o);
}

/*
 * After the peers are closed (every operation on them has failed and
 * answered its request): what still waits for a buffer, and the buffers.
 */
void
fsnet_shutdown(void)
{
	struct ioop *o;
	struct nbuf *b;

	while ((o = TAILQ_FIRST(&bufwait)) != NULL) {
		struct segerr e;
		TAILQ_REMOVE(&bufwait, o, wentry);
		seterr(&e, ESHUTDOWN, "segd is shutting down");
		io_done(o, &e);
	}
	while ((b = LIST_FIRST(&nbufs_free)) != NULL ||
	    (b = LIST_FIRST(&nbufs_used)) != NULL) {
		LIST_REMOVE(b, entry);
		rdma_dereg(b->mr);
		free(b->mem);
		free(b);
	}
	nbufs = 0;
}
