/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * fsnet.c: the remote view of the segment file system (beyond the spec).
 *
 *   MOUNTPOINT/net/                    the peers connected now, by node name
 *   MOUNTPOINT/net/NODE/               what peer NODE exports to this node
 *   MOUNTPOINT/net/NODE/NAME/data      its bytes, through RDMA
 *
 * NODE is a peer's address (ADDR, ADDR:PORT, [V6]:PORT; the default port
 * is SEGP_PORT) or the node name of a connected peer.  Looking NODE up or
 * listing it sends LIST; opening data imports the segment (IMPORT, under
 * the exporter's access list) and reads and writes are RDMA READs and
 * WRITEs between the exporter's memory and registered buffers of segd's
 * own, then a copy to or from the kernel's request.  All of it goes
 * through rseg.c, as segctl ls/get/put do (import.c): this file is only
 * the adapter that answers FUSE requests.
 *
 * A segment the exporter revokes (unexport, remove) gives EACCES to its
 * open files at once and to new opens until it is exported again.  A lost
 * connection fails what is in flight within the deadline (segd -t); the
 * file has to be opened again.  close (flush) after a write waits until
 * the writes are placed in the exporter's memory (a one-byte READ).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <infiniband/verbs.h>

#include "fs.h"

#define NET_TIMEOUT   1.0	/* seconds the kernel may cache net/ names */
#define LIST_FRESH_MS 1000	/* a listing answers lookups this long */
#define NBUF_MAX      32	/* registered 1 MiB buffers, at most */

struct fs_peer {
	char             node[SEGP_NODEMAX + 1];	/* the peer's node name */
	struct segp_ent *ents;
	unsigned         n;
	long long        stamp;	/* ms, when listed */
};

struct fs_rseg {
	uint64_t     len;
	uint8_t      perm, verb;
	struct rimp *imp;	/* a reference; NULL until opened */
};

/*
 * An open net/NODE/NAME/data: holds a reference to the import.  It lives
 * until it is released and no io of it is in flight.
 */
struct nfh {
	struct rimp *imp;
	int          dirty;	/* written since the last flush */
	int          released;
	unsigned     ios;	/* in flight */
};

struct nbuf {
	LIST_ENTRY(nbuf) entry;
	void            *mem;
	struct ibv_mr   *mr;
};

enum { IO_READ, IO_WRITE, IO_BARRIER };

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

static int
revoked_err(struct segerr *e, const char *node, const char *name)
{
	return seterr(e, EACCES, "segment revoked: '%s' on node %s was "
	    "unexported", name, node);
}

/* ---- peers ---- */

static void
add_peer(struct peer *p, void *arg)
{
	struct fs_dir *d = arg;
	struct fnode *n;
	size_t i;

	for (i = 0; i < d->n; i++)
		if (strcmp(d->ents[i].name, peer_node(p)) == 0)
			return;
	n = fs_node_find(FN_PEER, NULL, peer_node(p));
	fs_dir_add(d, peer_node(p), n ? FS_INO(n->id, FS_KIND_DIR) :
	    FS_UNKNOWN_INO, S_IFDIR);
}

void
fsnet_readdir_net(struct fs_dir *d)
{
	if (fs_sd->rdma != NULL)
		peer_foreach(fs_sd, 1, add_peer, d);
}

/* ---- listings ---- */

enum { LS_PEER, LS_OPENDIR, LS_RSEG };

struct lsop {
	int                    purpose;
	fuse_req_t             req;
	struct fnode          *node;	/* LS_OPENDIR, LS_RSEG: pinned */
	struct fuse_file_info  fi;	/* LS_OPENDIR */
	char                   name[FS_NAMEMAX + 1];
	const char            *node_name;	/* the peer's, during the callback */
	const struct segp_ent *ents;	/* likewise */
	unsigned               n;
};

static struct fs_peer *
peer_data(struct fnode *n)
{
	if (n->u.peer == NULL)
		n->u.peer = calloc(1, sizeof *n->u.peer);
	return n->u.peer;
}

/* Keep a copy of a listing on the peer's node. */
static void
keep_listing(struct fnode *pn, const struct lsop *o)
{
	struct fs_peer *fp = peer_data(pn);
	struct segp_ent *ents = NULL;

	if (fp == NULL || (o->n > 0 &&
	    (ents = malloc(o->n * sizeof *ents)) == NULL))
		return;
	if (o->n > 0)
		memcpy(ents, o->ents, o->n * sizeof *ents);
	free(fp->ents);
	fp->ents = ents;
	fp->n = o->n;
	fp->stamp = seg_now_ms();
	snprintf(fp->node, sizeof fp->node, "%s", o->node_name);
}

static void
stat_peer(struct stat *st, struct fnode *n)
{
	fs_stat_init(st, FS_INO(n->id, FS_KIND_DIR), S_IFDIR | 0555, geteuid(),
	    getegid(), 0);
}

static void
stat_rseg(struct stat *st, struct fnode *n, int kind)
{
	struct fs_rseg *r = n->u.rseg;

	if (kind == FS_KIND_DIR)
		fs_stat_init(st, FS_INO(n->id, kind), S_IFDIR | 0555, geteuid(),
		    getegid(), 0);
	else
		fs_stat_init(st, FS_INO(n->id, kind), S_IFREG |
		    (r->perm & SEGW_WR ? 0666 : 0444), geteuid(), getegid(),
		    r->len);
}

/* Answer a lookup of NAME in a peer's directory from its listing. */
static void
answer_rseg(fuse_req_t req, struct fnode *pn, const char *name)
{
	struct fs_peer *fp = pn->u.peer;
	struct segerr e;
	struct fnode *n;
	struct stat st;
	char what[FS_WHATMAX];
	unsigned i;

	snprintf(what, sizeof what, "lookup net/%s/%s", pn->name, name);
	for (i = 0; fp != NULL && i < fp->n; i++)
		if (strcmp(fp->ents[i].name, name) == 0)
			break;
	if (fp == NULL || i == fp->n) {
		if (fp != NULL && rseg_was_revoked(fp->node, name)) {
			revoked_err(&e, fp->node, name);
			fs_reply_err(req, what, &e);
			return;
		}
		fuse_reply_err(req, ENOENT);
		return;
	}
	if ((n = fs_node_get(FN_RSEG, pn, name)) == NULL ||
	    (n->u.rseg == NULL && (n->u.rseg = calloc(1, sizeof *n->u.rseg)) ==
	    NULL)) {
		if (n != NULL)
			fs_node_pin(n), fs_node_unpin(n);	/* frees it if unused */
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n->u.rseg->len = fp->ents[i].len;
	n->u.rseg->perm = fp->ents[i].perm;
	n->u.rseg->verb = fp->ents[i].verb;
	stat_rseg(&st, n, FS_KIND_DIR);
	fs_entry(req, n, FS_KIND_DIR, &st, NET_TIMEOUT);
}

static void
ls_finish(struct lsop *o, const struct segerr *err)
{
	struct fnode *n;
	struct fs_dir *d;
	struct stat st;
	char what[FS_WHATMAX];
	unsigned i;
	int bad = 0;

	switch (o->purpose) {
	case LS_PEER:
		snprintf(what, sizeof what, "lookup net/%s", o->name);
		if (err != NULL) {
			fs_reply_err(o->req, what, err);
			break;
		}
		if ((n = fs_node_get(FN_PEER, NULL, o->name)) == NULL ||
		    peer_data(n) == NULL) {
			if (n != NULL)
				fs_node_pin(n), fs_node_unpin(n);
			fuse_reply_err(o->req, ENOMEM);
			break;
		}
		keep_listing(n, o);
		stat_peer(&st, n);
		fs_entry(o->req, n, FS_KIND_DIR, &st, NET_TIMEOUT);
		break;
	case LS_OPENDIR:
		snprintf(what, sizeof what, "opendir net/%s", o->node->name);
		if (err != NULL) {
			fs_reply_err(o->req, what, err);
			fs_node_unpin(o->node);
			break;
		}
		if ((d = calloc(1, sizeof *d)) == NULL) {
			fuse_reply_err(o->req, ENOMEM);
			fs_node_unpin(o->node);
			break;
		}
		bad |= fs_dir_add(d, ".", FS_INO(o->node->id, FS_KIND_DIR),
		    S_IFDIR);
		bad |= fs_dir_add(d, "..", FS_NET_INO, S_IFDIR);
		for (i = 0; i < o->n; i++) {
			n = fs_node_find(FN_RSEG, o->node, o->ents[i].name);
			bad |= fs_dir_add(d, o->ents[i].name, n ? FS_INO(n->id,
			    FS_KIND_DIR) : FS_UNKNOWN_INO, S_IFDIR);
		}
		keep_listing(o->node, o);
		if (bad) {
			free(d->ents);
			free(d);
			fuse_reply_err(o->req, ENOMEM);
			fs_node_unpin(o->node);
			break;
		}
		d->node = o->node;	/* the listing keeps the pin */
		fs_dir_reply(o->req, d, &o->fi);
		break;
	case LS_RSEG:
		snprintf(what, sizeof what, "lookup net/%s/%s", o->node->name,
		    o->name);
		if (err != NULL)
			fs_reply_err(o->req, what, err);
		else {
			keep_listing(o->node, o);
			answer_rseg(o->req, o->node, o->name);
		}
		fs_node_unpin(o->node);
		break;
	}
	free(o);
}

static void
ls_done(void *arg, const char *node, const struct segp_ent *ents, unsigned n,
    const struct segerr *e)
{
	struct lsop *o = arg;

	o->node_name = node;
	o->ents = ents;
	o->n = n;
	ls_finish(o, e);
}

/* LIST the peer named by node (or name, for LS_PEER) for purpose. */
static void
list_peer(fuse_req_t req, int purpose, struct fnode *node, const char *name,
    struct fuse_file_info *fi)
{
	struct segerr e = { 0, "" };
	struct lsop *o;
	struct peer *p;
	char what[FS_WHATMAX];

	snprintf(what, sizeof what, "net/%s", node ? node->name : name);
	if ((p = peer_resolve(fs_sd, node ? node->name : name, &e)) == NULL) {
		fs_reply_err(req, what, &e);
		return;
	}
	if ((o = calloc(1, sizeof *o)) == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	o->purpose = purpose;
	o->req = req;
	o->node = node;
	if (node != NULL)
		fs_node_pin(node);
	if (fi != NULL)
		o->fi = *fi;	/* libfuse's lives only during the call */
	snprintf(o->name, sizeof o->name, "%s", name);
	rseg_list(fs_sd, p, node ? node->name : name, ls_done, o);
}

void
fsnet_lookup_peer(fuse_req_t req, const char *name)
{
	if (strlen(name) > FS_NAMEMAX) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	list_peer(req, LS_PEER, NULL, name, NULL);
}

void
fsnet_lookup_rseg(fuse_req_t req, struct fnode *pn, const char *name)
{
	struct fs_peer *fp = pn->u.peer;

	if (!seg_name_valid(name)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (fp != NULL && seg_now_ms() - fp->stamp < LIST_FRESH_MS) {
		answer_rseg(req, pn, name);
		return;
	}
	list_peer(req, LS_RSEG, pn, name, NULL);
}

void
fsnet_opendir(fuse_req_t req, struct fnode *n, struct fuse_file_info *fi)
{
	list_peer(req, LS_OPENDIR, n, n->name, fi);
}

void
fsnet_attr(fuse_req_t req, struct fnode *n, int kind, int entry)
{
	struct stat st;

	if (n->type == FN_PEER && kind == FS_KIND_DIR)
		stat_peer(&st, n);
	else if (n->type == FN_RSEG && n->u.rseg != NULL &&
	    (kind == FS_KIND_DIR || kind == FS_KIND_DATA))
		stat_rseg(&st, n, kind);
	else {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (entry)
		fs_entry(req, n, kind, &st, NET_TIMEOUT);
	else
		fuse_reply_attr(req, &st, NET_TIMEOUT);
}

/* ---- imports ---- */

static void
what_rseg(char *what, size_t size, const char *op, const struct rimp *imp)
{
	snprintf(what, size, "%s net/%s/%s/data", op, imp->label, imp->name);
}

static int
deny_write(const struct rimp *imp, struct segerr *e)
{
	return seterr(e, EACCES, "permission denied: segment '%s' on node %s "
	    "is exported read-only to this node", imp->name, imp->node);
}

struct impop {
	fs_open_cb             done;
	fuse_req_t             req;
	struct fnode          *node;	/* pinned */
	int                    kind;
	struct fuse_file_info  fi;
};

static void
open_with(fuse_req_t req, struct fnode *n, int kind,
    struct fuse_file_info *fi, struct rimp *imp, fs_open_cb done)
{
	struct nfh *h;
	struct segerr e;
	char what[FS_WHATMAX];

	if ((fs_want(fi->flags) & SEGW_WR) && !(imp->perm & SEGW_WR)) {
		what_rseg(what, sizeof what, "open", imp);
		deny_write(imp, &e);
		fs_reply_err(req, what, &e);
		return;
	}
	if ((h = calloc(1, sizeof *h)) == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	h->imp = imp;
	rseg_hold(imp);		/* the open file's */
	done(req, n, kind, fi, h);
}

static void
import_done(void *arg, struct rimp *imp, const struct segerr *err)
{
	struct impop *o = arg;
	struct fnode *n = o->node;
	struct fs_rseg *rs = n->u.rseg;
	struct segerr e;
	char what[FS_WHATMAX];

	if (err != NULL) {
		e = *err;
		if (e.code == ENOENT && rseg_was_revoked(n->parent->name, n->name))
			revoked_err(&e, n->parent->name, n->name);
		snprintf(what, sizeof what, "open net/%s/%s/data",
		    n->parent->name, n->name);
		fs_reply_err(o->req, what, &e);
	} else {
		rseg_put(rs->imp);	/* an older, unusable one */
		rs->imp = imp;		/* the node's reference */
		rs->len = imp->len;
		rs->perm = (uint8_t)imp->perm;
		open_with(o->req, n, o->kind, &o->fi, imp, o->done);
	}
	fs_node_unpin(n);
	free(o);
}

void
fsnet_open(fuse_req_t req, struct fnode *n, int kind,
    struct fuse_file_info *fi, fs_open_cb done)
{
	struct fs_rseg *rs = n->u.rseg;
	struct segerr e = { 0, "" };
	struct impop *o;
	struct peer *p;
	char what[FS_WHATMAX];

	if (n->type != FN_RSEG || kind != FS_KIND_DATA || rs == NULL) {
		fuse_reply_err(req, n->type == FN_RSEG ? ENOENT : EISDIR);
		return;
	}
	if (rs->imp != NULL && rseg_usable(rs->imp, &e) == 0) {
		open_with(req, n, kind, fi, rs->imp, done);
		return;
	}
	snprintf(what, sizeof what, "open net/%s/%s/data", n->parent->name,
	    n->name);
	if ((p = peer_resolve(fs_sd, n->parent->name, &e)) == NULL) {
		fs_reply_err(req, what, &e);
		return;
	}
	if ((o = calloc(1, sizeof *o)) == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	o->done = done;
	o->req = req;
	o->node = n;
	o->kind = kind;
	o->fi = *fi;	/* libfuse's lives only during the call */
	fs_node_pin(n);
	rseg_import(fs_sd, p, n->parent->name, n->name, import_done, o);
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

static const char *const io_names[] = { "read", "write", "flush" };

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
		what_rseg(what, sizeof what, io_names[o->kind], o->imp);
		fs_reply_err(o->req, what, e);
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

void
fsnet_read(fuse_req_t req, void *arg, size_t size, off_t off)
{
	struct nfh *h = arg;
	struct segerr e;
	struct ioop *o;
	char what[FS_WHATMAX];

	if (rseg_usable(h->imp, &e) < 0) {
		what_rseg(what, sizeof what, "read", h->imp);
		fs_reply_err(req, what, &e);
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
		return deny_write(imp, e);
	if (off < 0 || (uint64_t)off >= imp->len)
		return seterr(e, EFBIG, "write at 0x%llx starts at or past the "
		    "end of segment '%s' on node %s (length 0x%llx)",
		    (unsigned long long)off, imp->name, imp->node,
		    (unsigned long long)imp->len);
	return 0;
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

	if (write_check(h->imp, off, &e) < 0) {
		what_rseg(what, sizeof what, "write", h->imp);
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

void
fsnet_node_free(struct fnode *n)
{
	if (n->type == FN_PEER && n->u.peer != NULL) {
		free(n->u.peer->ents);
		free(n->u.peer);
	} else if (n->type == FN_RSEG && n->u.rseg != NULL) {
		rseg_put(n->u.rseg->imp);	/* the node's */
		free(n->u.rseg);
	}
	n->u.peer = NULL;
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
