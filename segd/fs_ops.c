/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * fs_ops.c: the file system's operations on names: looking up, forgetting,
 * attributes and chmod, mkdir and rmdir of segments, directory listings,
 * statfs and access.  The local tree is a view of the namespace: each
 * operation finds the segment by name and goes through the namespace's own
 * rules; names under net/ go to fsnet.c.
 */
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs.h"

static int
net_shown(void)
{
	return fs_sd->rdma != NULL;
}

static int
file_kind(const char *name)
{
	if (strcmp(name, "ctl") == 0)
		return FS_KIND_CTL;
	if (strcmp(name, "data") == 0)
		return FS_KIND_DATA;
	if (strcmp(name, "free") == 0)
		return FS_KIND_FREE;
	return -1;
}

/* The entry of segment s's directory, as a lookup or mkdir answers. */
static void
seg_dir_entry(fuse_req_t req, struct segment *s)
{
	struct fnode *n;
	struct stat st;

	if ((n = fs_seg_node(s)) == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fs_seg_stat(&st, n, FS_KIND_DIR, s);
	fs_entry(req, n, FS_KIND_DIR, &st, 0.0);
}

static void
op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fnode *pn;
	struct segment *s;
	struct stat st;
	int kind;

	if (parent == FS_ROOT_INO) {
		if (net_shown() && strcmp(name, "net") == 0) {
			fs_net_stat(&st);
			fs_entry(req, NULL, FS_KIND_DIR, &st, 1.0);
			return;
		}
		if ((s = fs_seg_named(name)) == NULL) {
			fuse_reply_err(req, ENOENT);
			return;
		}
		seg_dir_entry(req, s);
		return;
	}
	if (parent == FS_NET_INO) {
		fsnet_lookup_peer(req, name);
		return;
	}
	if ((pn = fs_node_by_ino(parent)) == NULL ||
	    FS_INO_KIND(parent) != FS_KIND_DIR) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	switch (pn->type) {
	case FN_SEG:
		if ((s = fs_node_seg(pn)) == NULL || (kind = file_kind(name)) < 0) {
			fuse_reply_err(req, ENOENT);
			return;
		}
		fs_seg_stat(&st, pn, kind, s);
		fs_entry(req, pn, kind, &st, 0.0);
		return;
	case FN_PEER:
		fsnet_lookup_rseg(req, pn, name);
		return;
	case FN_RSEG:
		if ((kind = file_kind(name)) < 0) {
			fuse_reply_err(req, ENOENT);
			return;
		}
		fsnet_attr(req, pn, kind, 1);	/* ENOENT: not one of its files */
		return;
	}
	fuse_reply_err(req, ENOENT);
}

static void
forget_one(fuse_ino_t ino, uint64_t nlookup)
{
	struct fnode *n = fs_node_by_ino(ino);

	if (n == NULL)
		return;
	n->nlookup -= nlookup < n->nlookup ? nlookup : n->nlookup;
	fs_node_maybe_free(n);
}

static void
op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	forget_one(ino, nlookup);
	fuse_reply_none(req);
}

static void
op_forget_multi(fuse_req_t req, size_t count,
    struct fuse_forget_data *forgets)
{
	size_t i;

	for (i = 0; i < count; i++)
		forget_one(forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static void
op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fnode *n;
	struct segment *s;
	struct stat st;

	if (ino == FS_ROOT_INO) {
		fs_root_stat(&st);
		fuse_reply_attr(req, &st, 0.0);
		return;
	}
	if (ino == FS_NET_INO) {
		fs_net_stat(&st);
		fuse_reply_attr(req, &st, 1.0);
		return;
	}
	if ((n = fs_node_by_ino(ino)) == NULL) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (n->type != FN_SEG) {
		fsnet_attr(req, n, FS_INO_KIND(ino), 0);
		return;
	}
	/* an open file (fstat) still has its segment after a remove */
	if (fi != NULL && fi->fh != 0 && FS_INO_KIND(ino) != FS_KIND_DIR)
		s = ((struct fh *)(uintptr_t)fi->fh)->seg;
	else
		s = fs_node_seg_held(n);
	if (s == NULL) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fs_seg_stat(&st, n, FS_INO_KIND(ino), s);
	fuse_reply_attr(req, &st, 0.0);
}

/* chown: only to the owner and group it has (tar restores them so). */
static int
chown_check(const struct segment *s, const struct stat *attr, int to_set,
    struct segerr *e)
{
	if (((to_set & FUSE_SET_ATTR_UID) && attr->st_uid != s->uid) ||
	    ((to_set & FUSE_SET_ATTR_GID) && attr->st_gid != s->gid))
		return seterr(e, EPERM, "permission denied: segment '%s' belongs "
		    "to uid %u gid %u, who made it; it cannot be given away",
		    s->name, (unsigned)s->uid, (unsigned)s->gid);
	return 0;
}

/* Whether a setattr sets a time other than now (libfuse sets X with X_NOW). */
static int
explicit_time(int to_set)
{
	return ((to_set & FUSE_SET_ATTR_MTIME) &&
	    !(to_set & FUSE_SET_ATTR_MTIME_NOW)) ||
	    ((to_set & FUSE_SET_ATTR_ATIME) && !(to_set & FUSE_SET_ATTR_ATIME_NOW));
}

/* chmod and utimensat's permission: the owner or root (or, for now, a writer). */
static int
owner_check(const struct segment *s, const struct cred *c, int writer_ok,
    const char *op, struct segerr *e)
{
	if (c->uid == 0 || c->uid == s->uid)
		return 0;
	if (writer_ok && perm_ok(c, s->uid, s->gid, s->mode, SEGW_WR))
		return 0;
	return seterr(e, writer_ok ? EACCES : EPERM, "permission denied: only "
	    "the owner (uid %u) or root may %s segment '%s'", (unsigned)s->uid,
	    op, s->name);
}

/*
 * chmod of a segment's directory or of any of its files changes the
 * segment's mode, for its owner or root (Plan 9's wstat of a segment); a
 * directory's x bits follow its r bits, so a chmod of it sets r and w.
 */
static int
set_mode(struct segment *s, int kind, mode_t mode, struct segerr *e)
{
	mode_t old = s->mode;

	if (!s->named)		/* an open file of a removed one: no .meta */
		return seterr(e, ENOENT, "segment '%s' was removed", s->name);
	s->mode = mode & (kind == FS_KIND_DIR ? 0666 : 0777);
	if (s->mode != old && store_save(fs_sd->ns.store, s, e) < 0) {
		s->mode = old;
		return -1;
	}
	return 0;
}

/*
 * Length is the segment's and is set by ctl: truncating (dd without
 * conv=notrunc, O_TRUNC) leaves it, as on Plan 9.  chown is accepted to the
 * owner and group the segment has; times are kept (fs_seg_settimes).
 */
static void
op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
    struct fuse_file_info *fi)
{
	struct segerr e = { 0, "" };
	struct fnode *n = fs_node_by_ino(ino);
	int kind = FS_INO_KIND(ino), times = to_set & (FUSE_SET_ATTR_MTIME |
	    FUSE_SET_ATTR_MTIME_NOW | FUSE_SET_ATTR_ATIME |
	    FUSE_SET_ATTR_ATIME_NOW);
	struct segment *s = NULL;
	struct cred c;
	char what[FS_WHATMAX];

	if (n != NULL && n->type == FN_SEG)
		s = fi != NULL && fi->fh != 0 && kind != FS_KIND_DIR ?
		    ((struct fh *)(uintptr_t)fi->fh)->seg : fs_node_seg_held(n);
	if (s == NULL) {
		if (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID |
		    FUSE_SET_ATTR_MODE))
			fuse_reply_err(req, n == NULL || n->type == FN_SEG ?
			    ENOENT : EPERM);
		else
			op_getattr(req, ino, fi);	/* net/: times, size ignored */
		return;
	}
	snprintf(what, sizeof what, "setattr %.64s%s%s", s->name,
	    kind == FS_KIND_DIR ? "" : "/", fs_kind_name(kind));
	fs_req_cred(req, &c);
	if (chown_check(s, attr, to_set, &e) < 0 ||
	    ((to_set & FUSE_SET_ATTR_MODE) && (owner_check(s, &c, 0,
	    "change the mode of", &e) < 0 || set_mode(s, kind, attr->st_mode,
	    &e) < 0)) ||
	    (times && (owner_check(s, &c, !explicit_time(to_set),
	    "set the times of", &e) < 0 ||
	    fs_seg_settimes(s, kind, attr, to_set, &e) < 0))) {
		fs_reply_err(req, what, &e);
		return;
	}
	op_getattr(req, ino, fi);
}

static void
op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct segerr e = { 0, "" };
	struct segment *s;
	struct cred c;
	char what[FS_WHATMAX];

	snprintf(what, sizeof what, "mkdir %.64s", name);
	if (parent != FS_ROOT_INO) {
		fs_reply_errf(req, what, EPERM, "segments are the directories at "
		    "the top of the tree; no directory can be made here");
		return;
	}
	if (net_shown() && strcmp(name, "net") == 0) {
		fs_reply_errf(req, what, EEXIST, "'net' is the remote view of "
		    "this file system");
		return;
	}
	fs_req_cred(req, &c);
	if ((s = ns_create(&fs_sd->ns, name, mode & 0777, &c, &e)) == NULL) {
		fs_reply_err(req, what, &e);
		return;
	}
	seg_dir_entry(req, s);
}

static void
op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct segerr e = { 0, "" };
	struct segment *s;
	struct fnode *n;
	struct cred c;
	char what[FS_WHATMAX];

	snprintf(what, sizeof what, "rmdir %.64s", name);
	if (parent != FS_ROOT_INO || (net_shown() && strcmp(name, "net") == 0)) {
		fs_reply_errf(req, what, EPERM, "only segments (the directories at "
		    "the top of the tree) can be removed");
		return;
	}
	if ((s = fs_seg_named(name)) == NULL) {
		fs_reply_errf(req, what, ENOENT, "segment '%.64s' does not exist",
		    name);
		return;
	}
	fs_req_cred(req, &c);
	if (ns_remove(&fs_sd->ns, s, &c, &e) < 0) {
		fs_reply_err(req, what, &e);
		return;
	}
	if ((n = fs_node_find(FN_SEG, NULL, name)) != NULL)
		fs_node_retire(n);
	fuse_reply_err(req, 0);
}

/*
 * A segment's files go only with the segment: unlinking one is refused,
 * never answered with a success that removes nothing (tar would unlink and
 * create again forever).  rmdir removes the segment.
 */
static void
op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fnode *pn = fs_node_by_ino(parent);
	char what[FS_WHATMAX];

	if (pn != NULL && pn->type == FN_SEG && (file_kind(name) < 0 ||
	    fs_node_seg(pn) == NULL)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	snprintf(what, sizeof what, "unlink %.64s/%.16s", pn != NULL ?
	    pn->name : "", name);
	if (pn != NULL && pn->type == FN_SEG)
		fs_reply_errf(req, what, EPERM, "permission denied: a segment's "
		    "files go only with the segment: rmdir %s removes it",
		    pn->name);
	else
		fs_reply_errf(req, what, EPERM, "permission denied: only segments "
		    "(with rmdir) can be removed here");
}

static void
op_refuse(fuse_req_t req, const char *what)
{
	fs_reply_errf(req, what, EPERM, "not supported: segments are made with "
	    "mkdir and their files by segd");
}

static void
op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
    dev_t rdev)
{
	(void)parent;
	(void)name;
	(void)mode;
	(void)rdev;
	op_refuse(req, "mknod");
}

static void
op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
    struct fuse_file_info *fi)
{
	(void)parent;
	(void)name;
	(void)mode;
	(void)fi;
	op_refuse(req, "create");
}

static void
op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
    const char *name)
{
	(void)link;
	(void)parent;
	(void)name;
	op_refuse(req, "symlink");
}

static void
op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char *name)
{
	(void)ino;
	(void)parent;
	(void)name;
	op_refuse(req, "link");
}

static void
op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
    fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	(void)parent;
	(void)name;
	(void)newparent;
	(void)newname;
	(void)flags;
	op_refuse(req, "rename");
}

/* ---- directories ---- */

/* The entries of directory ino (n: its node, NULL for the top and net/). */
static int
dir_fill(struct fs_dir *d, fuse_ino_t ino, const struct fnode *n)
{
	struct segment *s;
	struct fnode *sn;
	int ok = 0;

	ok |= fs_dir_add(d, ".", ino, S_IFDIR);
	ok |= fs_dir_add(d, "..", n != NULL && n->parent != NULL ?
	    FS_INO(n->parent->id, FS_KIND_DIR) : n != NULL && n->type == FN_PEER ?
	    FS_NET_INO : FS_ROOT_INO, S_IFDIR);
	if (ino == FS_ROOT_INO) {
		if (net_shown())
			ok |= fs_dir_add(d, "net", FS_NET_INO, S_IFDIR);
		TAILQ_FOREACH(s, &fs_sd->ns.all, entry) {
			if (!s->named || (net_shown() && strcmp(s->name, "net") == 0))
				continue;
			sn = fs_node_find(FN_SEG, NULL, s->name);
			ok |= fs_dir_add(d, s->name, sn && sn->seg == s ? FS_INO(sn->id,
			    FS_KIND_DIR) : FS_UNKNOWN_INO, S_IFDIR);
		}
	} else if (ino == FS_NET_INO) {
		fsnet_readdir_net(d);
	} else if (n->type == FN_SEG) {
		if (fs_node_seg(n) == NULL)
			return ENOENT;
		ok |= fs_dir_add(d, "ctl", FS_INO(n->id, FS_KIND_CTL), S_IFREG);
		ok |= fs_dir_add(d, "data", FS_INO(n->id, FS_KIND_DATA), S_IFREG);
		ok |= fs_dir_add(d, "free", FS_INO(n->id, FS_KIND_FREE), S_IFREG);
	} else {		/* FN_RSEG */
		ok |= fsnet_readdir_rseg(d, n);
	}
	return ok < 0 ? ENOMEM : 0;
}

static void
op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fnode *n = NULL;
	struct fs_dir *d;
	int err;

	if (ino > FS_NET_INO) {
		if ((n = fs_node_by_ino(ino)) == NULL ||
		    FS_INO_KIND(ino) != FS_KIND_DIR) {
			fuse_reply_err(req, n == NULL ? ENOENT : ENOTDIR);
			return;
		}
		if (n->type == FN_PEER) {
			fsnet_opendir(req, n, fi);
			return;
		}
	}
	if ((d = calloc(1, sizeof *d)) == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if ((err = dir_fill(d, ino, n)) != 0) {
		fs_dir_free(d);
		fuse_reply_err(req, err);
		return;
	}
	if (n != NULL) {
		d->node = n;
		fs_node_pin(n);
	}
	fs_dir_reply(req, d, fi);
}

static void
op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct fs_dir *d = (struct fs_dir *)(uintptr_t)fi->fh;
	char *buf;
	size_t used = 0;

	(void)ino;
	if ((buf = malloc(size)) == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (; off >= 0 && (size_t)off < d->n; off++) {
		struct stat st;
		size_t need;

		memset(&st, 0, sizeof st);
		st.st_ino = d->ents[off].ino;
		st.st_mode = d->ents[off].type;
		need = fuse_add_direntry(req, buf + used, size - used,
		    d->ents[off].name, &st, off + 1);
		if (need > size - used)
			break;
		used += need;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void
op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	fs_dir_free((struct fs_dir *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

static void
op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct ns *ns = &fs_sd->ns;
	struct statvfs sv;
	uint64_t ps = ns->pagesize;

	(void)ino;
	memset(&sv, 0, sizeof sv);
	sv.f_bsize = FS_MAXIO;
	sv.f_frsize = ps;
	sv.f_blocks = ns->lim.maxbytes / ps;
	sv.f_bfree = sv.f_bavail = ns->bytes < ns->lim.maxbytes ?
	    (ns->lim.maxbytes - ns->bytes) / ps : 0;
	sv.f_files = ns->lim.maxsegs;
	sv.f_ffree = sv.f_favail = ns->nsegs < ns->lim.maxsegs ?
	    ns->lim.maxsegs - ns->nsegs : 0;
	sv.f_namemax = SEG_NAMEMAX;
	fuse_reply_statfs(req, &sv);
}

/* access(2): the same rules as open; x only for directories. */
static void
op_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct fnode *n = fs_node_by_ino(ino);
	int kind = FS_INO_KIND(ino), want = 0;
	struct segment *s;
	struct cred c;

	if (ino == FS_ROOT_INO) {
		fuse_reply_err(req, 0);
		return;
	}
	if (ino == FS_NET_INO || (n != NULL && n->type != FN_SEG)) {
		fuse_reply_err(req, (mask & W_OK) && (ino == FS_NET_INO ||
		    kind == FS_KIND_DIR) ? EACCES : 0);
		return;
	}
	if (n == NULL || (s = fs_node_seg(n)) == NULL) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if ((mask & X_OK) && kind != FS_KIND_DIR) {
		fuse_reply_err(req, EACCES);
		return;
	}
	if (mask & R_OK)
		want |= SEGW_RD;
	if (mask & W_OK)
		want |= SEGW_WR;
	if ((mask & X_OK) && kind == FS_KIND_DIR)
		want |= SEGW_RD;
	fs_req_cred(req, &c);
	fuse_reply_err(req, want == 0 || perm_ok(&c, s->uid, s->gid, s->mode,
	    want) ? 0 : EACCES);
}

void
fs_ops_names(struct fuse_lowlevel_ops *o)
{
	o->lookup = op_lookup;
	o->forget = op_forget;
	o->forget_multi = op_forget_multi;
	o->getattr = op_getattr;
	o->setattr = op_setattr;
	o->mknod = op_mknod;
	o->mkdir = op_mkdir;
	o->unlink = op_unlink;
	o->rmdir = op_rmdir;
	o->symlink = op_symlink;
	o->rename = op_rename;
	o->link = op_link;
	o->create = op_create;
	o->opendir = op_opendir;
	o->readdir = op_readdir;
	o->releasedir = op_releasedir;
	o->statfs = op_statfs;
	o->access = op_access;
}
