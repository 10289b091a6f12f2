/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * fsnet.c: the remote view of the segment file system (beyond the spec).
 *
 *   MOUNTPOINT/net/                    the peers connected now, by node name
 *   MOUNTPOINT/net/NODE/               what peer NODE exports to this node
 *   MOUNTPOINT/net/NODE/NAME/ctl       the exporter's "VERB 0xADDR 0xLEN"
 *   MOUNTPOINT/net/NODE/NAME/data      its bytes, through RDMA
 *   MOUNTPOINT/net/NODE/NAME/free      (umsg, kmsg) write: remote frees
 *
 * NODE is a peer's address (ADDR, ADDR:PORT, [V6]:PORT; the default port
 * is SEGP_PORT) or the node name of a connected peer.  Looking NODE up or
 * listing it sends LIST; opening a segment's file imports the segment
 * (IMPORT, under the exporter's access list; the node keeps the import for
 * the next opens), and fs_netio.c serves the open file: ctl from the
 * import's reply, data by RDMA, free by remote frees.  All of it goes
 * through rseg.c, as segctl ls/get/put/free do (import.c): this file and
 * fs_netio.c are only the adapter that answers FUSE requests.
 *
 * A segment the exporter revokes (unexport, remove) gives EACCES to its
 * open files at once and to new opens until it is exported again.  A lost
 * connection fails what is in flight within the deadline (segd -t); the
 * file has to be opened again.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"

#define NET_TIMEOUT   1.0	/* seconds the kernel may cache net/ names */
#define LIST_FRESH_MS 1000	/* a listing answers lookups this long */

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

static int
zero_copy(const struct fs_rseg *r)
{
	return r->verb == SEG_VERB_UMSG || r->verb == SEG_VERB_KMSG;
}

/* ctl's size: its text's length once the import gave the address, else 0. */
static uint64_t
ctl_size(const struct fs_rseg *r)
{
	char text[SEGW_MAXTEXT];
	int len;

	if (r->imp == NULL)
		return 0;
	len = ctl_format(text, sizeof text, (enum seg_verb)r->verb,
	    r->imp->rva, r->imp->len);
	return len > 0 ? (uint64_t)len : 0;
}

static void
stat_rseg(struct stat *st, struct fnode *n, int kind)
{
	struct fs_rseg *r = n->u.rseg;
	uint64_t ino = FS_INO(n->id, kind);

	if (kind == FS_KIND_DIR)
		fs_stat_init(st, ino, S_IFDIR | 0555, geteuid(), getegid(), 0);
	else if (kind == FS_KIND_CTL)
		fs_stat_init(st, ino, S_IFREG | 0444, geteuid(), getegid(),
		    ctl_size(r));
	else if (kind == FS_KIND_FREE)
		fs_stat_init(st, ino, S_IFREG | 0666, geteuid(), getegid(), 0);
	else
		fs_stat_init(st, ino, S_IFREG |
		    (r->perm & SEGW_WR ? 0666 : 0444), geteuid(), getegid(),
		    r->len);
}

/* A remote segment's files: ctl, data, and free for zero-copy ones. */
static int
rseg_has(const struct fs_rseg *r, int kind)
{
	return kind == FS_KIND_DIR || kind == FS_KIND_CTL ||
	    kind == FS_KIND_DATA || (kind == FS_KIND_FREE && zero_copy(r));
}

int
fsnet_readdir_rseg(struct fs_dir *d, const struct fnode *n)
{
	int ok = 0, kind;

	for (kind = FS_KIND_CTL; kind <= FS_KIND_FREE; kind++)
		if (n->u.rseg != NULL && rseg_has(n->u.rseg, kind))
			ok |= fs_dir_add(d, fs_kind_name(kind), FS_INO(n->id, kind),
			    S_IFREG);
	return ok;
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

/*
 * The peer named peer (into *pp) and size zeroed bytes for an operation on
 * it; NULL, the request answered (what names it in an error), if either
 * fails.
 */
static void *
op_new(fuse_req_t req, const char *peer, const char *what, size_t size,
    struct peer **pp)
{
	struct segerr e = { 0, "" };
	void *o;

	if ((*pp = peer_resolve(fs_sd, peer, &e)) == NULL) {
		fs_reply_err(req, what, &e);
		return NULL;
	}
	if ((o = calloc(1, size)) == NULL)
		fuse_reply_err(req, ENOMEM);
	return o;
}

/* LIST the peer named by node (or name, for LS_PEER) for purpose. */
static void
list_peer(fuse_req_t req, int purpose, struct fnode *node, const char *name,
    struct fuse_file_info *fi)
{
	struct lsop *o;
	struct peer *p;
	char what[FS_WHATMAX];

	snprintf(what, sizeof what, "net/%s", node ? node->name : name);
	if ((o = op_new(req, node ? node->name : name, what, sizeof *o,
	    &p)) == NULL)
		return;
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
	    rseg_has(n->u.rseg, kind))
		stat_rseg(&st, n, kind);
	else {
		fuse_reply_err(req, ENOENT);
		return;
	}
	/* ctl's size changes when an open imports the segment: not cached */
	if (entry)
		fs_entry(req, n, kind, &st, kind == FS_KIND_CTL ? 0.0 : NET_TIMEOUT);
	else
		fuse_reply_attr(req, &st, kind == FS_KIND_CTL ? 0.0 : NET_TIMEOUT);
}

/* ---- imports ---- */

struct impop {
	fs_open_cb             done;
	fuse_req_t             req;
	struct fnode          *node;	/* pinned */
	int                    kind;
	struct fuse_file_info  fi;
};

/* Open the file of kind of n, with imp (a usable import of it). */
static void
open_with(fuse_req_t req, struct fnode *n, int kind,
    struct fuse_file_info *fi, struct rimp *imp, fs_open_cb done)
{
	struct nfh *h;
	struct segerr e;
	char what[FS_WHATMAX];

	fsnet_what(what, sizeof what, "open", imp, kind);
	if ((fs_want(fi->flags) & SEGW_WR) && kind == FS_KIND_CTL) {
		fs_reply_errf(req, what, EACCES, "permission denied: the ctl of "
		    "segment '%s' on node %s is its exporter's to write",
		    imp->name, imp->node);
		return;
	}
	if ((fs_want(fi->flags) & SEGW_WR) && kind == FS_KIND_DATA &&
	    !(imp->perm & SEGW_WR)) {
		fsnet_deny_write(imp, &e);
		fs_reply_err(req, what, &e);
		return;
	}
	if ((h = fsnet_nfh_new(imp, kind, n->u.rseg->verb)) == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (kind == FS_KIND_FREE)
		fi->nonseekable = 1;
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
		snprintf(what, sizeof what, "open net/%s/%s/%s",
		    n->parent->name, n->name, fs_kind_name(o->kind));
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

	if (n->type != FN_RSEG || rs == NULL || kind == FS_KIND_DIR ||
	    !rseg_has(rs, kind)) {
		fuse_reply_err(req, n->type == FN_RSEG ? ENOENT : EISDIR);
		return;
	}
	if (rs->imp != NULL && rseg_usable(rs->imp, &e) == 0) {
		open_with(req, n, kind, fi, rs->imp, done);
		return;
	}
	snprintf(what, sizeof what, "open net/%s/%s/%s", n->parent->name,
	    n->name, fs_kind_name(kind));
	if ((o = op_new(req, n->parent->name, what, sizeof *o, &p)) == NULL)
		return;
	o->done = done;
	o->req = req;
	o->node = n;
	o->kind = kind;
	o->fi = *fi;	/* libfuse's lives only during the call */
	fs_node_pin(n);
	rseg_import(fs_sd, p, n->parent->name, n->name, import_done, o);
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
