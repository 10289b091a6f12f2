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
 * WRITEs that segd posts between the exporter's memory and registered
 * buffers of its own, then copies to or from the kernel's request.  This
 * is the same traffic as segctl ls/get/put (import.c) with the answer going
 * to a FUSE request instead of a client.
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
#define WR_CHUNK      (256u << 10)	/* bytes in one work request */
#define REVOKED_MAX   256

/* One segment in a peer's listing. */
struct rent {
	char     name[SEG_NAMEMAX + 1];
	uint64_t len;
	uint8_t  perm, verb;
};

struct fs_peer {
	char         node[SEGP_NODEMAX + 1];	/* the peer's node name */
	struct rent *ents;
	unsigned     n;
	long         stamp;	/* ms, when listed */
};

/* An import made for the file system: shared by a node and its files. */
struct fimp {
	LIST_ENTRY(fimp) entry;
	unsigned      refs;
	struct peer  *peer;	/* held */
	char          name[SEG_NAMEMAX + 1];
	char          node[SEGP_NODEMAX + 1];
	char          label[FS_NAMEMAX + 1];
	uint64_t      id, rva, len, gen;
	uint32_t      rkey, perm;
	int           revoked;
};

struct fs_rseg {
	uint64_t     len;
	uint8_t      perm, verb;
	struct fimp *imp;	/* held; NULL until opened */
};

/* An open net/NODE/NAME/data. */
struct nfh {
	struct fimp *imp;	/* held */
	int          dirty;	/* written since the last flush */
};

struct nbuf {
	LIST_ENTRY(nbuf) entry;
	void            *mem;
	struct ibv_mr   *mr;
};

enum { IO_READ, IO_WRITE, IO_BARRIER };

struct ioop {
	struct rop          rop;
	TAILQ_ENTRY(ioop)   wentry;	/* waiting for a buffer */
	fuse_req_t          req;
	struct nfh         *fh;	/* for dirty; NULL if it was released */
	struct fimp        *imp;	/* held */
	int                 kind, posted;
	uint64_t            off;
	size_t              len;
	struct nbuf        *buf;
	void               *copy;	/* a write's bytes until a buffer frees */
};

static LIST_HEAD(, fimp) fimps = LIST_HEAD_INITIALIZER(fimps);
static LIST_HEAD(, nbuf) nbufs_free = LIST_HEAD_INITIALIZER(nbufs_free);
static LIST_HEAD(, nbuf) nbufs_used = LIST_HEAD_INITIALIZER(nbufs_used);
static unsigned nbufs;
static TAILQ_HEAD(, ioop) bufwait = TAILQ_HEAD_INITIALIZER(bufwait);
static struct {
	char node[SEGP_NODEMAX + 1];
	char name[SEG_NAMEMAX + 1];
} revoked[REVOKED_MAX];
static unsigned nrevoked, revoked_next;

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* ---- revoked names ---- */

static int
revoked_find(const char *node, const char *name)
{
	unsigned i;

	for (i = 0; i < nrevoked; i++)
		if (strcmp(revoked[i].node, node) == 0 &&
		    strcmp(revoked[i].name, name) == 0)
			return (int)i;
	return -1;
}

static void
revoked_add(const char *node, const char *name)
{
	unsigned i;

	if (revoked_find(node, name) >= 0)
		return;
	if (nrevoked < REVOKED_MAX)
		i = nrevoked++;
	else
		i = revoked_next++ % REVOKED_MAX;	/* the oldest goes */
	snprintf(revoked[i].node, sizeof revoked[i].node, "%s", node);
	snprintf(revoked[i].name, sizeof revoked[i].name, "%s", name);
}

static void
revoked_clear(const char *node, const char *name)
{
	int i = revoked_find(node, name);

	if (i >= 0)
		revoked[i] = revoked[--nrevoked];
}

static int
revoked_err(struct segerr *e, const char *node, const char *name)
{
	return seterr(e, EACCES, "segment revoked: '%s' on node %s was "
	    "unexported", name, node);
}

/* ---- peers ---- */

/* NODE of net/NODE: an address, or the node name of a connected peer. */
static struct peer *
resolve(const char *name, struct segerr *e)
{
	struct sockaddr_storage ss;
	struct segerr ign;
	char host[INET6_ADDRSTRLEN + 1];
	uint16_t port;
	struct peer *p;

	if (fs_sd->rdma == NULL) {
		seterr(e, ENOTSUP, "segd has no RDMA: start it with -l ADDR");
		return NULL;
	}
	if (rdma_parse_hostport(name, host, sizeof host, &port, &ign) == 0 &&
	    rdma_sockaddr(host, port, &ss, &ign) == 0)
		return peer_get(fs_sd, host, port, name, e);
	if ((p = peer_find_node(fs_sd, name)) != NULL)
		return p;
	seterr(e, ENOENT, "no peer '%s': name it by address (ADDR or "
	    "ADDR:PORT) or by the node name of a connected peer", name);
	return NULL;
}

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
		peer_foreach(fs_sd, add_peer, d);
}

/* ---- listings ---- */

enum { LS_PEER, LS_OPENDIR, LS_RSEG };

struct lsop {
	struct rop             rop;
	int                    purpose;
	fuse_req_t             req;
	struct fnode          *node;	/* LS_OPENDIR, LS_RSEG: pinned */
	struct fuse_file_info  fi;	/* LS_OPENDIR */
	char                   name[FS_NAMEMAX + 1];
	char                   node_name[SEGP_NODEMAX + 1];
	uint32_t               cursor;
	struct rent           *ents;
	unsigned               n, cap;
};

static struct fs_peer *
peer_data(struct fnode *n)
{
	if (n->u.peer == NULL)
		n->u.peer = calloc(1, sizeof *n->u.peer);
	return n->u.peer;
}

/* Keep a listing on the peer's node (taking o's entries). */
static void
keep_listing(struct fnode *pn, struct lsop *o)
{
	struct fs_peer *fp = peer_data(pn);
	unsigned i;

	for (i = 0; i < o->n; i++)
		revoked_clear(o->node_name, o->ents[i].name);	/* exported again */
	if (fp == NULL)
		return;
	free(fp->ents);
	fp->ents = o->ents;
	fp->n = o->n;
	fp->stamp = now_ms();
	snprintf(fp->node, sizeof fp->node, "%s", o->node_name);
	o->ents = NULL;
	o->n = o->cap = 0;
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
		if (fp != NULL && revoked_find(fp->node, name) >= 0) {
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
	free(o->ents);
	free(o);
}

static int
ls_start(struct rop *r)
{
	struct lsop *o = (struct lsop *)r;
	struct segp_list req = { htole32(o->cursor), 0 };

	rop_send(r, SEGP_LIST, &req, sizeof req);
	return 0;
}

static void
ls_fail(struct rop *r, int code, const char *msg)
{
	struct segerr e;

	seterr(&e, code, "%s", msg);
	ls_finish((struct lsop *)r, &e);
}

static void
ls_reply(struct rop *r, uint16_t type, const uint8_t *pl, size_t len)
{
	struct lsop *o = (struct lsop *)r;
	struct segp_list_rep rep;
	struct segerr e;
	uint32_t i, n;

	if (type != SEGP_LIST_REP) {
		if (type == SEGP_ERROR)
			peer_error_decode(&e, pl, len);
		else
			seterr(&e, EPROTO, "peer %s: unexpected reply", o->name);
		goto fail;
	}
	if (len < sizeof rep)
		goto bad;
	memcpy(&rep, pl, sizeof rep);
	n = le32toh(rep.n);
	if (n > SEGP_LIST_MAX || len != sizeof rep + n * sizeof(struct segp_ent))
		goto bad;
	for (i = 0; i < n; i++) {
		struct segp_ent ent;
		struct rent *x;
		unsigned nl;

		memcpy(&ent, pl + sizeof rep + i * sizeof ent, sizeof ent);
		nl = le16toh(ent.namelen);
		if (nl == 0 || nl > SEG_NAMEMAX || ent.verb >= SEG_VERB_MAX)
			goto bad;
		if (o->n == o->cap) {
			unsigned c = o->cap ? o->cap * 2 : 64;
			struct rent *p = realloc(o->ents, c * sizeof *p);
			if (p == NULL) {
				seterr(&e, ENOMEM, "out of memory");
				goto fail;
			}
			o->ents = p;
			o->cap = c;
		}
		x = &o->ents[o->n];
		memset(x, 0, sizeof *x);
		memcpy(x->name, ent.name, nl);
		if (!seg_name_valid(x->name))
			goto bad;
		x->len = le64toh(ent.len);
		x->perm = ent.perm & (SEGW_RD | SEGW_WR);
		x->verb = ent.verb;
		o->n++;
	}
	o->cursor = le32toh(rep.next);
	if (o->cursor != 0) {
		struct segp_list req = { htole32(o->cursor), 0 };
		rop_send(r, SEGP_LIST, &req, sizeof req);
		return;
	}
	snprintf(o->node_name, sizeof o->node_name, "%s", peer_node(r->peer));
	rop_done(r);
	ls_finish(o, NULL);
	return;
bad:
	seterr(&e, EPROTO, "peer %s sent a malformed list", o->name);
fail:
	rop_done(r);
	ls_finish(o, &e);
}

static const struct rop_ops ls_ops = { ls_start, ls_reply, ls_fail };

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
	if ((p = resolve(node ? node->name : name, &e)) == NULL) {
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
	rop_submit(p, &o->rop, &ls_ops);
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
	if (fp != NULL && now_ms() - fp->stamp < LIST_FRESH_MS) {
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
imp_put(struct fimp *imp)
{
	if (imp == NULL || --imp->refs > 0)
		return;
	if (!imp->revoked && peer_alive(imp->peer)) {
		uint64_t id = htole64(imp->id);
		peer_send(imp->peer, SEGP_UNIMPORT, 0, &id, sizeof id);
	}
	peer_put(imp->peer);	/* the import's reference */
	LIST_REMOVE(imp, entry);
	free(imp);
}

static int
imp_usable(const struct fimp *imp, struct segerr *e)
{
	if (imp->revoked)
		return revoked_err(e, imp->node, imp->name);
	if (!peer_alive(imp->peer))
		return seterr(e, ENOTCONN, "connection to peer %s lost; open "
		    "net/%s/%s/data again", imp->label, imp->label, imp->name);
	return 0;
}

void
fsnet_on_revoke(struct segd *sd, struct peer *p, uint64_t id)
{
	struct fimp *imp;

	(void)sd;
	LIST_FOREACH(imp, &fimps, entry)
		if (imp->peer == p && imp->id == id && !imp->revoked) {
			imp->revoked = 1;
			revoked_add(imp->node, imp->name);
			log_info("fs: net/%s/%s: revoked by its exporter",
			    imp->label, imp->name);
		}
}

struct impop {
	struct rop             rop;
	fuse_req_t             req;
	struct fnode          *node;	/* pinned */
	int                    kind;
	struct fuse_file_info  fi;
	struct segp_name       msg;
};

static struct nfh *
nfh_new(struct fimp *imp)
{
	struct nfh *h = calloc(1, sizeof *h);

	if (h != NULL) {
		h->imp = imp;
		imp->refs++;	/* the open file's */
	}
	return h;
}

static void
open_with(fuse_req_t req, struct fnode *n, int kind,
    struct fuse_file_info *fi, struct fimp *imp)
{
	struct nfh *h = nfh_new(imp);

	if (h == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fs_open_reply(req, n, kind, fi, h);
}

static int
imp_start(struct rop *r)
{
	struct impop *o = (struct impop *)r;

	rop_send(r, SEGP_IMPORT, &o->msg, sizeof o->msg);
	return 0;
}

static void
imp_fail(struct rop *r, int code, const char *msg)
{
	struct impop *o = (struct impop *)r;
	struct segerr e;
	char what[FS_WHATMAX];

	snprintf(what, sizeof what, "open net/%s/%s/data",
	    o->node->parent->name, o->node->name);
	seterr(&e, code, "%s", msg);
	fs_reply_err(o->req, what, &e);
	fs_node_unpin(o->node);
	free(o);
}

static void
imp_reply(struct rop *r, uint16_t type, const uint8_t *pl, size_t len)
{
	struct impop *o = (struct impop *)r;
	struct peer *p = r->peer;
	struct fnode *n = o->node;
	struct fs_rseg *rs = n->u.rseg;
	struct segp_import_rep rep;
	struct fimp *imp;
	struct segerr e;
	char what[FS_WHATMAX];

	snprintf(what, sizeof what, "open net/%s/%s/data", n->parent->name,
	    n->name);
	if (type != SEGP_IMPORT_REP || len != sizeof rep) {
		if (type == SEGP_ERROR) {
			peer_error_decode(&e, pl, len);
			if (e.code == ENOENT && revoked_find(peer_node(p),
			    n->name) >= 0)
				revoked_err(&e, peer_node(p), n->name);
		} else
			seterr(&e, EPROTO, "peer %s: unexpected reply",
			    n->parent->name);
		goto fail;
	}
	memcpy(&rep, pl, sizeof rep);
	if ((imp = calloc(1, sizeof *imp)) == NULL) {
		uint64_t id = rep.id;
		peer_send(p, SEGP_UNIMPORT, 0, &id, sizeof id);
		seterr(&e, ENOMEM, "out of memory");
		goto fail;
	}
	imp->id = le64toh(rep.id);
	imp->rva = le64toh(rep.va);
	imp->len = le64toh(rep.len);
	imp->gen = le64toh(rep.gen);
	imp->rkey = le32toh(rep.rkey);
	imp->perm = le32toh(rep.perm);
	if (imp->len == 0 || imp->rva > UINT64_MAX - imp->len ||
	    (imp->perm != SEGW_RD && imp->perm != (SEGW_RD | SEGW_WR))) {
		uint64_t id = rep.id;
		peer_send(p, SEGP_UNIMPORT, 0, &id, sizeof id);
		free(imp);
		seterr(&e, EPROTO, "peer %s sent a malformed import reply",
		    n->parent->name);
		goto fail;
	}
	imp->peer = p;
	peer_hold(p);		/* the import's reference */
	snprintf(imp->name, sizeof imp->name, "%.64s", n->name);
	snprintf(imp->node, sizeof imp->node, "%s", peer_node(p));
	snprintf(imp->label, sizeof imp->label, "%s", n->parent->name);
	LIST_INSERT_HEAD(&fimps, imp, entry);
	imp->refs = 1;		/* the node's */
	revoked_clear(imp->node, imp->name);
	if (rs->imp != NULL)
		imp_put(rs->imp);	/* an older, unusable one */
	rs->imp = imp;
	rs->len = imp->len;
	rs->perm = (uint8_t)imp->perm;
	rop_done(r);
	if ((fs_want(o->fi.flags) & SEGW_WR) && !(imp->perm & SEGW_WR)) {
		seterr(&e, EACCES, "permission denied: segment '%s' on node %s "
		    "is exported read-only to this node", n->name, imp->node);
		fs_reply_err(o->req, what, &e);
	} else
		open_with(o->req, n, o->kind, &o->fi, imp);
	fs_node_unpin(n);
	free(o);
	return;
fail:
	rop_done(r);
	fs_reply_err(o->req, what, &e);
	fs_node_unpin(n);
	free(o);
}

static const struct rop_ops imp_ops = { imp_start, imp_reply, imp_fail };

void
fsnet_open(fuse_req_t req, struct fnode *n, int kind,
    struct fuse_file_info *fi)
{
	struct fs_rseg *rs = n->u.rseg;
	struct segerr e = { 0, "" };
	struct impop *o;
	struct peer *p;
	char what[FS_WHATMAX];
	size_t nl;

	if (n->type != FN_RSEG || kind != FS_KIND_DATA || rs == NULL) {
		fuse_reply_err(req, n->type == FN_RSEG ? ENOENT : EISDIR);
		return;
	}
	snprintf(what, sizeof what, "open net/%s/%s/data", n->parent->name,
	    n->name);
	if (rs->imp != NULL && imp_usable(rs->imp, &e) == 0) {
		if ((fs_want(fi->flags) & SEGW_WR) && !(rs->imp->perm & SEGW_WR)) {
			seterr(&e, EACCES, "permission denied: segment '%s' on "
			    "node %s is exported read-only to this node", n->name,
			    rs->imp->node);
			fs_reply_err(req, what, &e);
			return;
		}
		open_with(req, n, kind, fi, rs->imp);
		return;
	}
	if ((p = resolve(n->parent->name, &e)) == NULL) {
		fs_reply_err(req, what, &e);
		return;
	}
	if ((o = calloc(1, sizeof *o)) == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	o->req = req;
	o->node = n;
	o->kind = kind;
	o->fi = *fi;
	fs_node_pin(n);
	nl = strlen(n->name);
	o->msg.namelen = htole16((uint16_t)nl);
	memcpy(o->msg.name, n->name, nl);
	rop_submit(p, &o->rop, &imp_ops);
}

void
fsnet_release(void *arg)
{
	struct nfh *h = arg;

	imp_put(h->imp);	/* the open file's */
	free(h);
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
		log_warnx("fs: %s", e.msg);
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

/* ---- data: RDMA READ and WRITE ---- */

static void
io_free(struct ioop *o)
{
	nbuf_put(o->buf);
	free(o->copy);
	imp_put(o->imp);	/* the io's */
	free(o);
}

static void
io_error(struct ioop *o, const struct segerr *e)
{
	char what[FS_WHATMAX];

	snprintf(what, sizeof what, "%s net/%s/%s/data", o->kind == IO_READ ?
	    "read" : o->kind == IO_WRITE ? "write" : "flush", o->imp->label,
	    o->imp->name);
	fs_reply_err(o->req, what, e);
}

static int
io_start(struct rop *r)
{
	struct ioop *o = (struct ioop *)r;
	struct ibv_send_wr wr[FS_MAXIO / WR_CHUNK];
	struct ibv_sge sge[FS_MAXIO / WR_CHUNK];
	unsigned k = 0;
	size_t at;
	int rc;

	if (o->posted) {	/* the round completed */
		rop_done(r);
		if (o->kind == IO_READ)
			fuse_reply_buf(o->req, o->buf->mem, o->len);
		else if (o->kind == IO_WRITE) {
			if (o->fh != NULL)
				o->fh->dirty = 1;
			fuse_reply_write(o->req, o->len);
		} else
			fuse_reply_err(o->req, 0);
		if (o->kind != IO_BARRIER)	/* copied through our buffers */
			fs_sd->bounce_bytes += o->len;
		io_free(o);
		return 0;
	}
	if (o->imp->revoked) {	/* revoked while it waited: post nothing */
		struct segerr e;
		rop_done(r);
		revoked_err(&e, o->imp->node, o->imp->name);
		io_error(o, &e);
		io_free(o);
		return 0;
	}
	memset(wr, 0, sizeof wr);
	if (o->kind == IO_BARRIER) {
		sge[0].addr = (uintptr_t)fs_sd->rdma->scratch;
		sge[0].length = 1;
		sge[0].lkey = fs_sd->rdma->scratch_mr->lkey;
		wr[0].sg_list = &sge[0];
		wr[0].num_sge = 1;
		wr[0].opcode = IBV_WR_RDMA_READ;
		wr[0].wr.rdma.remote_addr = o->imp->rva;
		wr[0].wr.rdma.rkey = o->imp->rkey;
		k = 1;
	} else
		for (at = 0; at < o->len; at += WR_CHUNK, k++) {
			size_t n = o->len - at < WR_CHUNK ? o->len - at : WR_CHUNK;

			sge[k].addr = (uintptr_t)o->buf->mem + at;
			sge[k].length = (uint32_t)n;
			sge[k].lkey = o->buf->mr->lkey;
			wr[k].sg_list = &sge[k];
			wr[k].num_sge = 1;
			wr[k].opcode = o->kind == IO_READ ? IBV_WR_RDMA_READ :
			    IBV_WR_RDMA_WRITE;
			wr[k].wr.rdma.remote_addr = o->imp->rva + o->off + at;
			wr[k].wr.rdma.rkey = o->imp->rkey;
		}
	if ((rc = rop_post(r, wr, k)) != 0)
		return rc == 1 ? 1 : 0;	/* -1: failed, o is gone */
	o->posted = 1;
	return 0;
}

static void
io_fail(struct rop *r, int code, const char *msg)
{
	struct ioop *o = (struct ioop *)r;
	struct segerr e;

	seterr(&e, code, "%s", msg);
	io_error(o, &e);
	io_free(o);
}

static void
io_reply(struct rop *r, uint16_t type, const uint8_t *pl, size_t len)
{
	(void)r;
	(void)type;
	(void)pl;
	(void)len;	/* ios send no messages */
}

static const struct rop_ops io_ops = { io_start, io_reply, io_fail };

/* o has its buffer (or needs none): copy a write's bytes in, submit. */
static void
io_go(struct ioop *o)
{
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
	if (imp_usable(o->imp, &e) < 0) {
		io_error(o, &e);
		io_free(o);
		return;
	}
	rop_submit(o->imp->peer, &o->rop, &io_ops);
}

static struct ioop *
io_new(fuse_req_t req, struct nfh *h, int kind, uint64_t off, size_t len)
{
	struct ioop *o = calloc(1, sizeof *o);

	if (o == NULL)
		return NULL;
	o->req = req;
	o->fh = h;
	o->imp = h->imp;
	h->imp->refs++;		/* the io's */
	o->kind = kind;
	o->off = off;
	o->len = len;
	return o;
}

void
fsnet_read(fuse_req_t req, void *arg, size_t size, off_t off)
{
	struct nfh *h = arg;
	struct fimp *imp = h->imp;
	struct segerr e;
	struct ioop *o;
	uint64_t n;

	if (imp_usable(imp, &e) < 0) {
		char what[FS_WHATMAX];
		snprintf(what, sizeof what, "read net/%s/%s/data", imp->label,
		    imp->name);
		fs_reply_err(req, what, &e);
		return;
	}
	if (off < 0 || (uint64_t)off >= imp->len || size == 0) {
		fuse_reply_buf(req, NULL, 0);	/* reads stop at the end */
		return;
	}
	n = imp->len - (uint64_t)off;
	if (n > size)
		n = size;
	if (n > FS_MAXIO)
		n = FS_MAXIO;
	if ((o = io_new(req, h, IO_READ, (uint64_t)off, (size_t)n)) == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	o->buf = nbuf_get();
	io_go(o);
}

void
fsnet_write(fuse_req_t req, void *arg, struct fuse_bufvec *in, off_t off)
{
	struct nfh *h = arg;
	struct fimp *imp = h->imp;
	struct fuse_bufvec out;
	struct segerr e = { 0, "" };
	struct ioop *o;
	size_t size = fuse_buf_size(in);
	char what[FS_WHATMAX];
	uint64_t n;
	ssize_t r;

	snprintf(what, sizeof what, "write net/%s/%s/data", imp->label,
	    imp->name);
	if (imp_usable(imp, &e) < 0) {
		fs_reply_err(req, what, &e);
		return;
	}
	if (!(imp->perm & SEGW_WR)) {
		seterr(&e, EACCES, "permission denied: segment '%s' on node %s "
		    "is exported read-only to this node", imp->name, imp->node);
		fs_reply_err(req, what, &e);
		return;
	}
	if (off < 0 || (uint64_t)off >= imp->len) {
		seterr(&e, EFBIG, "write at 0x%llx starts at or past the end of "
		    "segment '%s' on node %s (length 0x%llx)",
		    (unsigned long long)off, imp->name, imp->node,
		    (unsigned long long)imp->len);
		fs_reply_err(req, what, &e);
		return;
	}
	n = imp->len - (uint64_t)off;	/* a longer write is cut at the end */
	if (n > size)
		n = size;
	if (n > FS_MAXIO)
		n = FS_MAXIO;
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
	struct segerr e;
	struct ioop *o;

	if (!h->dirty) {
		fuse_reply_err(req, 0);
		return;
	}
	h->dirty = 0;
	if (imp_usable(h->imp, &e) < 0) {
		char what[FS_WHATMAX];
		snprintf(what, sizeof what, "flush net/%s/%s/data",
		    h->imp->label, h->imp->name);
		fs_reply_err(req, what, &e);
		return;
	}
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
		imp_put(n->u.rseg->imp);	/* the node's */
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
		io_error(o, &e);
		io_free(o);
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
