/*
 * fs.c: segment(3)'s file system, mounted with FUSE (segd -m MOUNTPOINT).
 *
 *   MOUNTPOINT/NAME/ctl     write: "va|addr|umsg|kmsg ADDR LEN"; read: the
 *                           segment's actual address and length
 *   MOUNTPOINT/NAME/data    the segment's bytes; its size is the length
 *   MOUNTPOINT/NAME/free    write: buffer addresses returned; read: the
 *                           returned addresses, one a line (blocks)
 *   MOUNTPOINT/net/...      the segments peers export to us (fsnet.c)
 *
 * With RDMA (-l), the top-level name net is the remote view; a segment
 * called net is then reached through libseg and segctl only.
 *
 * The tree is a view of segd's namespace, not a second store: every
 * operation looks the segment up by name and goes through the namespace's
 * own rules (ns_create, ns_setaddr, ns_remove, perm_check), so the mount,
 * libseg and segctl always agree.  mkdir makes a segment with mkdir's mode
 * and the caller's uid and gid (chmod changes the mode, for the owner or
 * root); rmdir (or rm -r) removes it: the name goes at once, while files
 * still open on it, like attachments, keep its memory.  Unlinking ctl, data
 * or free changes nothing, so that rm -r reaches that rmdir.
 *
 * The kernel's requests come through /dev/fuse, read in segd's one event
 * loop (the fd is non-blocking; nothing here waits).  Permissions are
 * decided here against the caller's uid, gid and groups, as for the socket,
 * so the mount needs no default_permissions; it is mounted allow_other when
 * segd runs as root, since #g serves every process.  Every file is opened
 * direct_io: a read always sees the memory as it is now, whoever wrote it.
 * data moves in requests of up to 1 MiB (max_write; reads likewise), copied
 * straight between the request and segd's own mapping of the segment.
 * libfuse's splice was measured slower here (reads 3x, writes 1.4x: the
 * kernel copies into or out of pipe pages anyway, for direct_io), so the
 * mount does not ask for it.
 */
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "fs.h"

#define FS_NHASH     4096
#define FS_BATCH     64		/* requests handled per wake-up */
#define FREE_LINE    19		/* "0x" + 16 hex digits + "\n" */
#define FREE_MAXADDR 4096	/* addresses taken by one read or write */

/* An open file of this node's tree (fi->fh); net files have nfh. */
struct fh {
	LIST_ENTRY(fh)   entry;
	struct fnode    *node;	/* pinned */
	int              kind;
	struct segment  *seg;	/* held: valid after a remove */
	int              nonblock;
	void            *nfh;	/* fsnet.c's handle, for net/ files */
};

/* A read of free waiting for an address. */
struct fwait {
	LIST_ENTRY(fwait) entry;
	fuse_req_t        req;
	struct segment   *seg;	/* held */
	size_t            size;
};

struct segd *fs_sd;

static void fh_free(struct fh *);

static struct {
	struct fuse_session *se;
	struct event        *ev;
	char                 mnt[PATH_MAX];
	struct fuse_buf      buf;
	struct fnode        *byid[FS_NHASH], *byname[FS_NHASH];
	uint64_t             next_id;
	LIST_HEAD(, fh)      files;
	LIST_HEAD(, fwait)   waits;
	struct fs_dir      **dirs;	/* open listings, for the shutdown */
	size_t               ndirs, cdirs;
	time_t               t0;
	size_t               maxread, maxwrite;	/* largest requests seen */
	uint64_t             reads, writes;
} fs;

/* ---- nodes ---- */

static size_t
hash_name(enum fn_type t, const struct fnode *parent, const char *name)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)t;

	h = (h ^ (parent ? parent->id : 0)) * 1099511628211ULL;
	while (*name)
		h = (h ^ (uint8_t)*name++) * 1099511628211ULL;
	return (size_t)(h % FS_NHASH);
}

static struct fnode *
node_by_id(uint64_t id)
{
	struct fnode *n;

	for (n = fs.byid[id % FS_NHASH]; n; n = n->idnext)
		if (n->id == id)
			return n;
	return NULL;
}

static struct fnode *
node_by_ino(fuse_ino_t ino)
{
	return ino > FS_NET_INO ? node_by_id(FS_INO_ID(ino)) : NULL;
}

struct fnode *
fs_node_find(enum fn_type t, const struct fnode *parent, const char *name)
{
	struct fnode *n;

	for (n = fs.byname[hash_name(t, parent, name)]; n; n = n->namenext)
		if (n->type == t && n->parent == parent &&
		    strcmp(n->name, name) == 0)
			return n;
	return NULL;
}

struct fnode *
fs_node_get(enum fn_type t, struct fnode *parent, const char *name)
{
	struct fnode *n = fs_node_find(t, parent, name);
	size_t h;

	if (n != NULL)
		return n;
	if (strlen(name) > FS_NAMEMAX || (n = calloc(1, sizeof *n)) == NULL)
		return NULL;
	n->id = fs.next_id++;
	n->type = t;
	n->parent = parent;
	strcpy(n->name, name);
	if (parent != NULL)
		fs_node_pin(parent);	/* the child's */
	n->idnext = fs.byid[n->id % FS_NHASH];
	fs.byid[n->id % FS_NHASH] = n;
	h = hash_name(t, parent, name);
	n->namenext = fs.byname[h];
	fs.byname[h] = n;
	return n;
}

static void
node_free(struct fnode *n)
{
	struct fnode **p;

	for (p = &fs.byid[n->id % FS_NHASH]; *p; p = &(*p)->idnext)
		if (*p == n) {
			*p = n->idnext;
			break;
		}
	for (p = &fs.byname[hash_name(n->type, n->parent, n->name)];
	    !n->retired && *p; p = &(*p)->namenext)
		if (*p == n) {
			*p = n->namenext;
			break;
		}
	if (n->type != FN_SEG)
		fsnet_node_free(n);
	if (n->parent != NULL)
		fs_node_unpin(n->parent);
	free(n);
}

static void
node_maybe_free(struct fnode *n)
{
	if (n->nlookup == 0 && n->pins == 0)
		node_free(n);
}

/*
 * The name no longer means this node's segment (it was removed, perhaps
 * made again): the node leaves the name table, so the name gets a new
 * node and inode, while the kernel's references to the old one last.
 */
static void
node_retire(struct fnode *n)
{
	struct fnode **p;

	if (n->retired)
		return;
	for (p = &fs.byname[hash_name(n->type, n->parent, n->name)]; *p;
	    p = &(*p)->namenext)
		if (*p == n) {
			*p = n->namenext;
			break;
		}
	n->retired = 1;
	node_maybe_free(n);
}

void
fs_node_pin(struct fnode *n)
{
	n->pins++;
}

void
fs_node_unpin(struct fnode *n)
{
	if (n->pins > 0)
		n->pins--;
	node_maybe_free(n);
}

/* ---- replies ---- */

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
	st->st_blocks = (blkcnt_t)((size + 511) / 512);
	st->st_blksize = FS_MAXIO;	/* cat and cp then move 1 MiB at a time */
	st->st_atim.tv_sec = st->st_mtim.tv_sec = st->st_ctim.tv_sec = fs.t0;
}

void
fs_entry(fuse_req_t req, struct fnode *n, int kind, const struct stat *st,
    double timeout)
{
	struct fuse_entry_param e;

	memset(&e, 0, sizeof e);
	e.ino = st->st_ino;
	e.generation = 1;
	e.attr = *st;
	e.attr_timeout = timeout;
	e.entry_timeout = timeout;
	(void)kind;
	if (fuse_reply_entry(req, &e) == 0 && n != NULL)
		n->nlookup++;	/* the kernel holds one more lookup */
	else if (n != NULL)
		node_maybe_free(n);
}

void
fs_reply_err(fuse_req_t req, const char *what, const struct segerr *e)
{
	int code = e->code > 0 && e->code < 512 ? e->code : EIO;

	log_info("fs: %s: %s", what, e->msg);
	fuse_reply_err(req, code);
}

static void
reply_errf(fuse_req_t req, const char *what, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
reply_errf(fuse_req_t req, const char *what, int code, const char *fmt, ...)
{
	struct segerr e;
	va_list ap;

	e.code = code;
	va_start(ap, fmt);
	vsnprintf(e.msg, sizeof e.msg, fmt, ap);
	va_end(ap);
	fs_reply_err(req, what, &e);
}

/* The caller, from the request: uid, gid, pid and supplementary groups. */
static void
req_cred(fuse_req_t req, struct cred *c)
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

static const char *
kind_name(int kind)
{
	static const char *names[] = { "", "ctl", "data", "free" };

	return names[kind & 3];
}

/* ---- directory listings ---- */

int
fs_dir_add(struct fs_dir *d, const char *name, uint64_t ino, mode_t type)
{
	if (strlen(name) > FS_NAMEMAX)
		return 0;
	if (d->n == d->cap) {
		size_t c = d->cap ? d->cap * 2 : 16;
		struct fs_dirent *p = realloc(d->ents, c * sizeof *p);
		if (p == NULL)
			return -1;
		d->ents = p;
		d->cap = c;
	}
	strcpy(d->ents[d->n].name, name);
	d->ents[d->n].ino = ino;
	d->ents[d->n].type = type;
	d->n++;
	return 0;
}

static int
dir_track(struct fs_dir *d)
{
	if (fs.ndirs == fs.cdirs) {
		size_t c = fs.cdirs ? fs.cdirs * 2 : 16;
		struct fs_dir **p = realloc(fs.dirs, c * sizeof *p);
		if (p == NULL)
			return -1;
		fs.dirs = p;
		fs.cdirs = c;
	}
	fs.dirs[fs.ndirs++] = d;
	return 0;
}

void
fs_dir_free(struct fs_dir *d)
{
	size_t i;

	for (i = 0; i < fs.ndirs; i++)
		if (fs.dirs[i] == d) {
			fs.dirs[i] = fs.dirs[--fs.ndirs];
			break;
		}
	if (d->node != NULL)
		fs_node_unpin(d->node);
	free(d->ents);
	free(d);
}

/* Hand a listing to the kernel as the open directory's handle. */
static void
dir_open(fuse_req_t req, struct fs_dir *d, struct fuse_file_info *fi)
{
	if (dir_track(d) < 0) {
		d->node = NULL;
		free(d->ents);
		free(d);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fi->fh = (uintptr_t)d;
	if (fuse_reply_open(req, fi) != 0)
		fs_dir_free(d);	/* interrupted: no releasedir will come */
}

/* ---- the local tree ---- */

static struct segment *
seg_named(const char *name)
{
	return ns_lookup(&fs_sd->ns, name);
}

/* The node of segment s's directory: its own, or a new one. */
static struct fnode *
seg_node(const struct segment *s)
{
	struct fnode *n = fs_node_find(FN_SEG, NULL, s->name);

	if (n != NULL && n->seg != s) {
		node_retire(n);		/* another segment of that name */
		n = NULL;
	}
	if (n == NULL && (n = fs_node_get(FN_SEG, NULL, s->name)) != NULL)
		n->seg = s;
	return n;
}

/* The segment a node stands for, if its name still names it. */
static struct segment *
node_seg(const struct fnode *n)
{
	struct segment *s = seg_named(n->name);

	return s != NULL && !n->retired && s == n->seg ? s : NULL;
}

static mode_t
dir_mode(mode_t m)
{
	m &= 0777;
	return S_IFDIR | m | ((m & 0444) >> 2);	/* r gives x: cd where readable */
}

/* The attributes of one of a segment's inodes. */
static void
seg_stat(struct stat *st, struct fnode *n, int kind, const struct segment *s)
{
	uint64_t ino = FS_INO(n->id, kind);

	if (kind == FS_KIND_DIR)
		fs_stat_init(st, ino, dir_mode(s->mode), s->uid, s->gid, 0);
	else
		fs_stat_init(st, ino, S_IFREG | (s->mode & 0666), s->uid, s->gid,
		    kind == FS_KIND_DATA ? s->len : 0);
}

static void
root_stat(struct stat *st)
{
	/* everyone may create; only a segment's owner (or root) removes it */
	fs_stat_init(st, FS_ROOT_INO, S_IFDIR | 01777, geteuid(), getegid(), 0);
}

static void
net_stat(struct stat *st)
{
	fs_stat_init(st, FS_NET_INO, S_IFDIR | 0555, geteuid(), getegid(), 0);
}

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

static void
op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fnode *pn, *n;
	struct segment *s;
	struct stat st;
	int kind;

	if (parent == FS_ROOT_INO) {
		if (net_shown() && strcmp(name, "net") == 0) {
			net_stat(&st);
			fs_entry(req, NULL, FS_KIND_DIR, &st, 1.0);
			return;
		}
		if ((s = seg_named(name)) == NULL) {
			fuse_reply_err(req, ENOENT);
			return;
		}
		if ((n = seg_node(s)) == NULL) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
		seg_stat(&st, n, FS_KIND_DIR, s);
		fs_entry(req, n, FS_KIND_DIR, &st, 0.0);
		return;
	}
	if (parent == FS_NET_INO) {
		fsnet_lookup_peer(req, name);
		return;
	}
	if ((pn = node_by_ino(parent)) == NULL ||
	    FS_INO_KIND(parent) != FS_KIND_DIR) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	switch (pn->type) {
	case FN_SEG:
		if ((s = node_seg(pn)) == NULL || (kind = file_kind(name)) < 0) {
			fuse_reply_err(req, ENOENT);
			return;
		}
		seg_stat(&st, pn, kind, s);
		fs_entry(req, pn, kind, &st, 0.0);
		return;
	case FN_PEER:
		fsnet_lookup_rseg(req, pn, name);
		return;
	case FN_RSEG:
		if (strcmp(name, "data") != 0) {
			fuse_reply_err(req, ENOENT);
			return;
		}
		fsnet_attr(req, pn, FS_KIND_DATA, 1);
		return;
	}
	fuse_reply_err(req, ENOENT);
}

static void
forget_one(fuse_ino_t ino, uint64_t nlookup)
{
	struct fnode *n = node_by_ino(ino);

	if (n == NULL)
		return;
	n->nlookup -= nlookup < n->nlookup ? nlookup : n->nlookup;
	node_maybe_free(n);
}

static void
op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	forget_one(ino, nlookup);
	fuse_reply_none(req);
}

static void
op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *fd)
{
	size_t i;

	for (i = 0; i < count; i++)
		forget_one(fd[i].ino, fd[i].nlookup);
	fuse_reply_none(req);
}

static void
op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fnode *n;
	struct segment *s;
	struct stat st;

	if (ino == FS_ROOT_INO) {
		root_stat(&st);
		fuse_reply_attr(req, &st, 0.0);
		return;
	}
	if (ino == FS_NET_INO) {
		net_stat(&st);
		fuse_reply_attr(req, &st, 1.0);
		return;
	}
	if ((n = node_by_ino(ino)) == NULL) {
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
		s = node_seg(n);
	if (s == NULL) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	seg_stat(&st, n, FS_INO_KIND(ino), s);
	fuse_reply_attr(req, &st, 0.0);
}

/*
 * Length is the segment's and is set by ctl: truncating (dd without
 * conv=notrunc, O_TRUNC) leaves it, as on Plan 9.  Times are not kept.
 * chmod of a segment's directory or files changes the segment's mode, for
 * its owner or root (Plan 9's wstat of a segment); the owner stays.
 */
static void
op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
    struct fuse_file_info *fi)
{
	struct segerr e = { 0, "" };
	struct fnode *n = node_by_ino(ino);
	struct segment *s;
	struct cred c;
	mode_t old;
	char what[96];

	if (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		reply_errf(req, "setattr", EPERM, "permission denied: a "
		    "segment's owner is the one who made it");
		return;
	}
	if (to_set & FUSE_SET_ATTR_MODE) {
		if (n == NULL || n->type != FN_SEG || (s = node_seg(n)) == NULL) {
			fuse_reply_err(req, n == NULL || n->type == FN_SEG ? ENOENT :
			    EPERM);
			return;
		}
		snprintf(what, sizeof what, "chmod %.64s", s->name);
		req_cred(req, &c);
		if (c.uid != 0 && c.uid != s->uid) {
			reply_errf(req, what, EPERM, "permission denied: only the "
			    "owner (uid %u) or root may change the mode of segment "
			    "'%s'", (unsigned)s->uid, s->name);
			return;
		}
		old = s->mode;
		s->mode = attr->st_mode & 0777;
		if (store_save(fs_sd->ns.store, s, &e) < 0) {
			s->mode = old;
			fs_reply_err(req, what, &e);
			return;
		}
	}
	op_getattr(req, ino, fi);
}

static void
op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct segerr e = { 0, "" };
	struct segment *s;
	struct fnode *n;
	struct cred c;
	struct stat st;
	char what[96];

	snprintf(what, sizeof what, "mkdir %.64s", name);
	if (parent != FS_ROOT_INO) {
		reply_errf(req, what, EPERM, "segments are the directories at "
		    "the top of the tree; no directory can be made here");
		return;
	}
	if (net_shown() && strcmp(name, "net") == 0) {
		reply_errf(req, what, EEXIST, "'net' is the remote view of "
		    "this file system");
		return;
	}
	req_cred(req, &c);
	if ((s = ns_create(&fs_sd->ns, name, mode & 0777, &c, &e)) == NULL) {
		fs_reply_err(req, what, &e);
		return;
	}
	if ((n = seg_node(s)) == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	seg_stat(&st, n, FS_KIND_DIR, s);
	fs_entry(req, n, FS_KIND_DIR, &st, 0.0);
}

static void
op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct segerr e = { 0, "" };
	struct segment *s;
	struct fnode *n;
	struct cred c;
	char what[96];

	snprintf(what, sizeof what, "rmdir %.64s", name);
	if (parent != FS_ROOT_INO || (net_shown() && strcmp(name, "net") == 0)) {
		reply_errf(req, what, EPERM, "only segments (the directories at "
		    "the top of the tree) can be removed");
		return;
	}
	if ((s = seg_named(name)) == NULL) {
		reply_errf(req, what, ENOENT, "segment '%.64s' does not exist",
		    name);
		return;
	}
	req_cred(req, &c);
	if (ns_remove(&fs_sd->ns, s, &c, &e) < 0) {
		fs_reply_err(req, what, &e);
		return;
	}
	if ((n = fs_node_find(FN_SEG, NULL, name)) != NULL)
		node_retire(n);
	fuse_reply_err(req, 0);
}

/*
 * A segment's files go with the segment: unlinking one changes nothing
 * (so that rm -r reaches the rmdir that removes the segment).
 */
static void
op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fnode *pn = node_by_ino(parent);

	if (pn != NULL && pn->type == FN_SEG && file_kind(name) >= 0 &&
	    node_seg(pn) != NULL) {
		fuse_reply_err(req, 0);
		return;
	}
	if (pn != NULL && pn->type == FN_SEG)
		fuse_reply_err(req, ENOENT);
	else
		reply_errf(req, "unlink", EPERM, "only a segment's files can be "
		    "unlinked, and they go with the segment's directory");
}

static void
op_refuse(fuse_req_t req, const char *what)
{
	reply_errf(req, what, EPERM, "not supported: segments are made with "
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

static void
op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct segerr e = { 0, "" };
	int kind = FS_INO_KIND(ino), want = fs_want(fi->flags);
	struct fnode *n = node_by_ino(ino);
	struct segment *s;
	struct cred c;
	struct fh *h;
	char what[96];

	if (ino <= FS_NET_INO || kind == FS_KIND_DIR) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	if (n == NULL) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (n->type == FN_RSEG) {
		fsnet_open(req, n, kind, fi);
		return;
	}
	snprintf(what, sizeof what, "open %.64s/%s", n->name, kind_name(kind));
	if ((s = node_seg(n)) == NULL) {
		reply_errf(req, what, ENOENT, "segment '%s' does not exist",
		    n->name);
		return;
	}
	req_cred(req, &c);
	if (kind == FS_KIND_DATA && s->verb == SEG_VERB_NONE) {
		reply_errf(req, what, ENXIO, "segment not yet allocated");
		return;
	}
	if (perm_check(&c, s, want, &e) < 0) {
		fs_reply_err(req, what, &e);
		return;
	}
	if ((h = calloc(1, sizeof *h)) == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	h->node = n;
	h->kind = kind;
	h->seg = s;
	h->nonblock = (fi->flags & O_NONBLOCK) != 0;
	seg_hold(s);		/* the open file's reference */
	fs_node_pin(n);
	LIST_INSERT_HEAD(&fs.files, h, entry);
	fi->fh = (uintptr_t)h;
	fi->direct_io = 1;
	fi->keep_cache = 0;
	if (kind == FS_KIND_FREE)
		fi->nonseekable = 1;
	fi->noflush = 1;
	if (fuse_reply_open(req, fi) != 0) {
		/* interrupted: the kernel will not release it */
		LIST_REMOVE(h, entry);
		seg_put(&fs_sd->ns, s);
		fs_node_unpin(n);
		free(h);
	}
}

void
fs_open_reply(fuse_req_t req, struct fnode *n, int kind,
    struct fuse_file_info *fi, void *nfh)
{
	struct fh *h = calloc(1, sizeof *h);

	if (h == NULL) {
		fsnet_release(nfh);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	h->node = n;
	h->kind = kind;
	h->nfh = nfh;
	fs_node_pin(n);
	LIST_INSERT_HEAD(&fs.files, h, entry);
	fi->fh = (uintptr_t)h;
	fi->direct_io = 1;
	fi->keep_cache = 0;
	if (fuse_reply_open(req, fi) != 0)
		fh_free(h);
}

static void
fh_free(struct fh *h)
{
	LIST_REMOVE(h, entry);
	if (h->nfh != NULL)
		fsnet_release(h->nfh);
	if (h->seg != NULL)
		seg_put(&fs_sd->ns, h->seg);
	fs_node_unpin(h->node);
	free(h);
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

/* --- free: returned buffer addresses --- */

static int
zero_copy(const struct segment *s)
{
	return s->verb == SEG_VERB_UMSG || s->verb == SEG_VERB_KMSG;
}

/* Take what fits in size bytes and reply; 0 if there was nothing. */
static int
free_take_reply(fuse_req_t req, struct segment *s, size_t size)
{
	static uint64_t addrs[FREE_MAXADDR];
	static char text[FREE_MAXADDR * FREE_LINE + 1];
	size_t max = size / FREE_LINE, len = 0;
	int n, i;

	if (max > FREE_MAXADDR)
		max = FREE_MAXADDR;
	if ((n = zio_free_take(s, addrs, (int)max)) <= 0)
		return 0;
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, sizeof text - len,
		    "0x%llx\n", (unsigned long long)addrs[i]);
	fuse_reply_buf(req, text, len);
	return 1;
}

static void
fwait_free(struct fwait *w)
{
	LIST_REMOVE(w, entry);
	seg_put(&fs_sd->ns, w->seg);
	free(w);
}

static void free_ready(void *);

static void
free_ready(void *arg)
{
	struct fwait *w = arg;

	if (!free_take_reply(w->req, w->seg, w->size)) {
		if (zio_free_wait(w->seg, free_ready, w) == 0)
			return;		/* another took them: wait again */
		fuse_reply_err(w->req, errno);
	}
	fwait_free(w);
}

static void
free_interrupted(fuse_req_t req, void *arg)
{
	struct fwait *w = arg;

	zio_free_unwait(w->seg, free_ready, w);
	fuse_reply_err(req, EINTR);
	fwait_free(w);
}

static void
free_read(fuse_req_t req, struct fh *h, size_t size)
{
	struct segment *s = h->seg;
	struct fwait *w;
	char what[96];

	snprintf(what, sizeof what, "read %.64s/free", s->name);
	if (s->verb == SEG_VERB_NONE) {
		reply_errf(req, what, ENXIO, "segment not yet allocated");
		return;
	}
	if (!zero_copy(s)) {
		reply_errf(req, what, EINVAL, "segment '%s' is not a zero-copy "
		    "(umsg or kmsg) segment", s->name);
		return;
	}
	if (size < FREE_LINE) {
		reply_errf(req, what, EINVAL, "read free with room for at least "
		    "one address (%d bytes)", FREE_LINE);
		return;
	}
	if (free_take_reply(req, s, size))
		return;
	if (h->nonblock) {
		fuse_reply_err(req, EAGAIN);
		return;
	}
	if ((w = calloc(1, sizeof *w)) == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	w->req = req;
	w->seg = s;
	w->size = size;
	seg_hold(s);		/* the waiting read's */
	LIST_INSERT_HEAD(&fs.waits, w, entry);
	if (zio_free_wait(s, free_ready, w) < 0) {
		fuse_reply_err(req, errno);	/* never a reader left hanging */
		fwait_free(w);
		return;
	}
	/* last: if the read was already interrupted this replies and frees w */
	fuse_req_interrupt_func(req, free_interrupted, w);
}

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
			    "addresses in hex, one a line", (int)(j - i > 24 ? 24 :
			    j - i), text + i);
		n++;
		i = j;
	}
	if (n == 0)
		return seterr(e, EINVAL, "no address: write buffer addresses in "
		    "hex, one a line");
	return n;
}

static void
free_write(fuse_req_t req, struct fh *h, const char *text, size_t len)
{
	static uint64_t addrs[FREE_MAXADDR];
	struct segerr e = { 0, "" };
	struct cred c;
	int n;
	char what[96];

	snprintf(what, sizeof what, "write %.64s/free", h->seg->name);
	if ((n = fs_parse_addrs(text, len, addrs, FREE_MAXADDR, &e)) < 0) {
		fs_reply_err(req, what, &e);
		return;
	}
	req_cred(req, &c);
	if (zio_free_local(fs_sd, h->seg, addrs, n, &c, &e) < 0) {
		fs_reply_err(req, what, &e);
		return;
	}
	fuse_reply_write(req, len);
}

/* --- read and write --- */

static void
op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct fh *h = (struct fh *)(uintptr_t)fi->fh;
	struct segment *s = h->seg;
	char text[SEGW_MAXTEXT], what[96];
	uint64_t n;
	int len;

	(void)ino;
	if (size > fs.maxread)
		fs.maxread = size;
	fs.reads++;
	if (h->nfh != NULL) {
		fsnet_read(req, h->nfh, size, off);
		return;
	}
	switch (h->kind) {
	case FS_KIND_CTL:
		if (s->verb == SEG_VERB_NONE) {
			snprintf(what, sizeof what, "read %.64s/ctl", s->name);
			reply_errf(req, what, ENXIO, "segment not yet allocated");
			return;
		}
		len = ctl_format(text, sizeof text, s->verb, s->va, s->len);
		if (off < 0 || (uint64_t)off >= (uint64_t)len) {
			fuse_reply_buf(req, NULL, 0);
			return;
		}
		n = (uint64_t)len - (uint64_t)off;
		fuse_reply_buf(req, text + off, n < size ? n : size);
		return;
	case FS_KIND_DATA:
		if (off < 0 || (uint64_t)off >= s->len) {
			fuse_reply_buf(req, NULL, 0);	/* reads stop at the end */
			return;
		}
		n = s->len - (uint64_t)off;
		if (n > size)
			n = size;
		/* one copy, by the kernel, from segd's mapping to the reader */
		fuse_reply_buf(req, (const char *)s->map + off, n);
		return;
	case FS_KIND_FREE:
		h->nonblock = (fi->flags & O_NONBLOCK) != 0;	/* now, not at open */
		free_read(req, h, size);
		return;
	}
	fuse_reply_err(req, EINVAL);
}

/* A small write (ctl, free) into text; -1 if it does not fit. */
static ssize_t
copy_small(struct fuse_bufvec *in, char *text, size_t size)
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

static void
op_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in,
    off_t off, struct fuse_file_info *fi)
{
	static char small[FREE_MAXADDR * FREE_LINE + 1];
	struct fh *h = (struct fh *)(uintptr_t)fi->fh;
	struct segment *s = h->seg;
	struct segerr e = { 0, "" };
	struct ctlmsg m;
	size_t size = fuse_buf_size(in);
	char what[96];
	ssize_t r;

	(void)ino;
	if (size > fs.maxwrite)
		fs.maxwrite = size;
	fs.writes++;
	if (h->nfh != NULL) {
		fsnet_write(req, h->nfh, in, off);
		return;
	}
	snprintf(what, sizeof what, "write %.64s/%s", s->name, kind_name(h->kind));
	switch (h->kind) {
	case FS_KIND_CTL:
		if (!s->named) {
			reply_errf(req, what, ENOENT, "segment '%s' was removed",
			    s->name);
			return;
		}
		if ((r = copy_small(in, small, SEGW_MAXTEXT)) == -1) {
			reply_errf(req, what, EINVAL, "bad ctl message: too long");
			return;
		}
		if (r < 0) {
			fuse_reply_err(req, (int)-r);
			return;
		}
		if (ctl_parse(small, (size_t)r, fs_sd->ns.pagesize, &m, &e) < 0 ||
		    ns_setaddr(&fs_sd->ns, s, &m, &e) < 0) {
			fs_reply_err(req, what, &e);
			return;
		}
		fuse_reply_write(req, (size_t)r);
		return;
	case FS_KIND_DATA: {
		struct fuse_bufvec out;
		uint64_t n;

		if (off < 0 || (uint64_t)off >= s->len) {
			reply_errf(req, what, EFBIG, "write at 0x%llx starts at or "
			    "past the end of segment '%s' (length 0x%llx)",
			    (unsigned long long)off, s->name,
			    (unsigned long long)s->len);
			return;
		}
		n = s->len - (uint64_t)off;	/* a longer write is cut here */
		if (n > size)
			n = size;
		/* straight into segd's mapping of the segment */
		out = (struct fuse_bufvec)FUSE_BUFVEC_INIT(n);
		out.buf[0].mem = (char *)s->map + off;
		if ((r = fuse_buf_copy(&out, in, 0)) < 0) {
			reply_errf(req, what, (int)-r, "write: %s",
			    strerror((int)-r));
			return;
		}
		fuse_reply_write(req, (size_t)r);
		return;
	}
	case FS_KIND_FREE:
		if ((r = copy_small(in, small, sizeof small - 1)) == -1) {
			reply_errf(req, what, EINVAL, "more than %d addresses in "
			    "one write", FREE_MAXADDR);
			return;
		}
		if (r < 0) {
			fuse_reply_err(req, (int)-r);
			return;
		}
		free_write(req, h, small, (size_t)r);
		return;
	}
	fuse_reply_err(req, EINVAL);
}

/* ---- directories ---- */

static void
op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fnode *n = NULL;
	struct fs_dir *d;
	struct segment *s;
	struct fnode *sn;
	int ok = 0;

	if (ino > FS_NET_INO) {
		if ((n = node_by_ino(ino)) == NULL ||
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
		if (node_seg(n) == NULL) {
			free(d->ents);
			free(d);
			fuse_reply_err(req, ENOENT);
			return;
		}
		ok |= fs_dir_add(d, "ctl", FS_INO(n->id, FS_KIND_CTL), S_IFREG);
		ok |= fs_dir_add(d, "data", FS_INO(n->id, FS_KIND_DATA), S_IFREG);
		ok |= fs_dir_add(d, "free", FS_INO(n->id, FS_KIND_FREE), S_IFREG);
	} else {		/* FN_RSEG */
		ok |= fs_dir_add(d, "data", FS_INO(n->id, FS_KIND_DATA), S_IFREG);
	}
	if (ok < 0) {
		free(d->ents);
		free(d);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (n != NULL) {
		d->node = n;
		fs_node_pin(n);
	}
	dir_open(req, d, fi);
}

/* Called by fsnet.c with a listing it made: the open's reply. */
void
fs_dir_reply(fuse_req_t req, struct fs_dir *d, struct fuse_file_info *fi)
{
	dir_open(req, d, fi);
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
	struct fnode *n = node_by_ino(ino);
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
	if (n == NULL || (s = node_seg(n)) == NULL) {
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
	req_cred(req, &c);
	fuse_reply_err(req, want == 0 || perm_ok(&c, s->uid, s->gid, s->mode,
	    want) ? 0 : EACCES);
}

static void
op_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	conn->max_write = FS_MAXIO;
	/* no splice: copying to and from segd's own mapping is faster */
	conn->want &= ~(unsigned)(FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE |
	    FUSE_CAP_SPLICE_MOVE);
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	conn->want &= ~(unsigned)FUSE_CAP_AUTO_INVAL_DATA;
	conn->max_background = 64;
	log_info("fs: %s mounted: max_write %u", fs.mnt, conn->max_write);
}

static const struct fuse_lowlevel_ops fs_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.symlink = op_symlink,
	.rename = op_rename,
	.link = op_link,
	.open = op_open,
	.read = op_read,
	.write_buf = op_write_buf,
	.flush = op_flush,
	.release = op_release,
	.fsync = op_fsync,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.releasedir = op_releasedir,
	.statfs = op_statfs,
	.access = op_access,
	.create = op_create,
};

/* ---- the mount ---- */

static void
fuse_log_cb(enum fuse_log_level level, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	vsnprintf(buf, sizeof buf, fmt, ap);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (level <= FUSE_LOG_WARNING)
		log_warnx("fs: libfuse: %s", buf);
	else
		log_debug("fs: libfuse: %s", buf);
}

static void
session_gone(void)
{
	log_warnx("fs: %s was unmounted; the file system is no longer served",
	    fs.mnt);
	event_del(fs.ev);
}

static void
fuse_cb(int fd, short ev, void *arg)
{
	int i, r;

	(void)fd;
	(void)ev;
	(void)arg;
	for (i = 0; i < FS_BATCH; i++) {
		r = fuse_session_receive_buf(fs.se, &fs.buf);
		if (r == -EINTR || r == -EAGAIN)
			return;
		if (r <= 0 || fuse_session_exited(fs.se)) {
			if (r < 0)
				log_warnx("fs: reading /dev/fuse: %s", strerror(-r));
			session_gone();
			return;
		}
		fuse_session_process_buf(fs.se, &fs.buf);
	}
}

/* A field of /proc/self/mountinfo, with its \NNN escapes undone. */
void
fs_unescape(char *s)
{
	char *d = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
			    (s[3] - '0'));
			s += 4;
		} else
			*d++ = *s++;
	}
	*d = '\0';
}

/* The file system type mounted at path ("" if none). */
static void
mounted_type(const char *path, char *type, size_t size)
{
	char line[4096], mp[PATH_MAX], *p;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	type[0] = '\0';
	if (f == NULL)
		return;
	while (fgets(line, sizeof line, f) != NULL) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS ... - TYPE SOURCE ... */
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
			continue;
		fs_unescape(mp);
		if (strcmp(mp, path) != 0 || (p = strstr(line, " - ")) == NULL)
			continue;
		if (sscanf(p + 3, "%63s", mp) == 1)
			snprintf(type, size, "%.63s", mp);	/* the last one counts */
	}
	fclose(f);
}

static int
lazy_unmount(const char *path)
{
	pid_t pid;
	int st;

	if (geteuid() == 0)
		return umount2(path, MNT_DETACH);
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		execlp("fusermount3", "fusermount3", "-u", "-z", "-q", path,
		    (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/*
 * The mount point exists and is free: made if missing; a stale mount of
 * a segd that died (ENOTCONN) is detached lazily; a live one is refused.
 */
static int
prepare_mountpoint(const char *mnt, char *real, size_t size)
{
	char type[64];
	struct stat st;
	int tries;

	if (mkdir(mnt, 0755) < 0 && errno != EEXIST) {
		log_warn("fs: mkdir %s", mnt);
		return -1;
	}
	for (tries = 0; tries < 8; tries++) {
		if (stat(mnt, &st) == 0)
			break;
		if (errno != ENOTCONN && errno != ECONNABORTED) {
			log_warn("fs: %s", mnt);
			return -1;
		}
		log_warnx("fs: %s is a stale mount (its server is gone): "
		    "unmounting it", mnt);
		if (lazy_unmount(mnt) < 0) {
			log_warn("fs: unmount %s", mnt);
			return -1;
		}
	}
	if (!S_ISDIR(st.st_mode)) {
		log_warnx("fs: %s is not a directory", mnt);
		return -1;
	}
	if (realpath(mnt, real) == NULL || strlen(real) >= size) {
		log_warn("fs: realpath %s", mnt);
		return -1;
	}
	mounted_type(real, type, sizeof type);
	if (strncmp(type, "fuse", 4) == 0) {
		log_warnx("fs: %s is already mounted (%s): is another segd "
		    "serving it?", real, type);
		return -1;
	}
	return 0;
}

int
fs_init(struct segd *sd, const char *mountpoint)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	char real[PATH_MAX];
	int fd, fl;

	fs_sd = sd;
	fs.next_id = 1;
	fs.t0 = time(NULL);
	LIST_INIT(&fs.files);
	LIST_INIT(&fs.waits);
	fuse_set_log_func(fuse_log_cb);
	if (prepare_mountpoint(mountpoint, real, sizeof real) < 0)
		return -1;
	snprintf(fs.mnt, sizeof fs.mnt, "%s", real);
	if (fuse_opt_add_arg(&args, "segd") < 0 ||
	    fuse_opt_add_arg(&args, "-o") < 0 ||
	    fuse_opt_add_arg(&args, geteuid() == 0 ?
	    "fsname=segd,subtype=segment,allow_other" :
	    "fsname=segd,subtype=segment") < 0) {
		fuse_opt_free_args(&args);
		log_warnx("fs: out of memory");
		return -1;
	}
	fs.se = fuse_session_new(&args, &fs_ops, sizeof fs_ops, sd);
	fuse_opt_free_args(&args);
	if (fs.se == NULL) {
		log_warnx("fs: fuse_session_new failed");
		return -1;
	}
	if (fuse_session_mount(fs.se, fs.mnt) != 0) {
		log_warnx("fs: cannot mount %s (is /dev/fuse there, and may "
		    "this user mount?)", fs.mnt);
		fuse_session_destroy(fs.se);
		fs.se = NULL;
		return -1;
	}
	fd = fuse_session_fd(fs.se);
	if ((fl = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    (fs.ev = event_new(sd->base, fd, EV_READ | EV_PERSIST, fuse_cb,
	    NULL)) == NULL || event_add(fs.ev, NULL) < 0) {
		log_warnx("fs: cannot watch /dev/fuse");
		fs_shutdown(sd);
		return -1;
	}
	log_info("fs: serving the segment file system on %s", fs.mnt);
	return 0;
}

void
fs_shutdown(struct segd *sd)
{
	struct fnode *n, *next;
	struct fwait *w;
	struct fh *h;
	size_t i;
	int pass;

	(void)sd;
	if (fs.se == NULL)
		return;
	/* requests still waiting: answered while the session is there */
	while ((w = LIST_FIRST(&fs.waits)) != NULL) {
		zio_free_unwait(w->seg, free_ready, w);
		fuse_reply_err(w->req, ENOTCONN);
		fwait_free(w);
	}
	fsnet_shutdown();
	if (fs.ev != NULL)
		event_free(fs.ev);
	fs.ev = NULL;
	fuse_session_unmount(fs.se);
	fuse_session_destroy(fs.se);
	fs.se = NULL;
	free(fs.buf.mem);
	fs.buf.mem = NULL;
	/* what the kernel held, and will not release now */
	while ((h = LIST_FIRST(&fs.files)) != NULL)
		fh_free(h);
	while (fs.ndirs > 0)
		fs_dir_free(fs.dirs[fs.ndirs - 1]);
	free(fs.dirs);
	fs.dirs = NULL;
	fs.cdirs = 0;
	/* every node goes: remote segments first, since they pin peers */
	for (i = 0; i < FS_NHASH; i++)
		for (n = fs.byid[i]; n; n = n->idnext)
			n->nlookup = 1;		/* no node frees another now */
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < FS_NHASH; i++)
			for (n = fs.byid[i]; n; n = next) {
				next = n->idnext;
				if (pass == 0 && n->type != FN_RSEG)
					continue;
				node_free(n);
			}
	log_info("fs: %s unmounted (%llu reads, largest %zu bytes; %llu "
	    "writes, largest %zu bytes)", fs.mnt, (unsigned long long)fs.reads,
	    fs.maxread, (unsigned long long)fs.writes, fs.maxwrite);
}
