/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * fs.h: the segment file system's internals, shared by its files:
 *
 *   fs.c        the mount and the FUSE session, the operation table
 *   fs_node.c   the node table, segments' nodes, directory listings
 *   fs_reply.c  the caller's credentials, attributes, entry and error replies
 *   fs_ops.c    the operations on names: lookup, attributes, mkdir, rmdir,
 *               directories, statfs, access
 *   fs_io.c     open files: open, read, write, release
 *   fs_free.c   the free file: blocking reads and writes of addresses
 *   fsnet.c     the remote view under net/: peers, listings, imports, opens
 *   fs_netio.c  the remote view's open files: data, ctl and free
 *
 * Nothing here is seen by the rest of segd; its entry points are in segd.h.
 *
 * Inode numbers: 1 is the top directory, 2 is net/.  Every other inode
 * belongs to a node (one a segment directory, or a peer or remote
 * segment directory under net/) and is FS_INO(node id, kind): the
 * directory itself, or the file ctl, data or free in it.  Node ids are
 * never reused, so an inode number names one node for segd's lifetime.
 */
#ifndef SEGD_FS_H
#define SEGD_FS_H

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>

#include "segd.h"

#define FS_ROOT_INO   1
#define FS_NET_INO    2
#define FS_KIND_DIR   0
#define FS_KIND_CTL   1
#define FS_KIND_DATA  2
#define FS_KIND_FREE  3
#define FS_INO(id, kind) (((uint64_t)(id) << 2) | (uint64_t)(kind))
#define FS_INO_ID(ino)   ((ino) >> 2)
#define FS_INO_KIND(ino) ((int)((ino) & 3))
#define FS_NAMEMAX    127	/* a peer's name under net/: ADDR:PORT or node */
#define FS_MAXIO      (1u << 20)	/* max_write, and the reads' limit */
#define FS_WHATMAX    (2 * FS_NAMEMAX + 64)	/* "op net/NODE/NAME/file" */
#define FS_UNKNOWN_INO 0xffffffffULL	/* d_ino of an entry not looked up */

enum fn_type {
	FN_SEG = 1,	/* a segment of this node: /NAME */
	FN_PEER,	/* a peer: /net/NODE */
	FN_RSEG		/* a segment a peer exports to us: /net/NODE/NAME */
};

struct fs_peer;
struct fs_rseg;

/*
 * A node lives while the kernel holds lookups of any of its inodes
 * (nlookup) or anything pins it (open files, directory listings, children
 * of a peer, operations in flight).
 */
struct fnode {
	uint64_t        id;
	enum fn_type    type;
	struct fnode   *parent;	/* FN_RSEG: its FN_PEER (pinned) */
	char            name[FS_NAMEMAX + 1];
	uint64_t        nlookup;
	unsigned        pins;
	int             retired;	/* out of the name table: a stale name */
	struct segment *seg;	/* FN_SEG: the one it was made for;
				 * compared, and used only while nopen > 0 */
	unsigned        nopen;	/* FN_SEG: open files, each holding seg */
	struct fnode   *idnext, *namenext;	/* hash chains */
	union {
		struct fs_peer *peer;	/* FN_PEER */
		struct fs_rseg *rseg;	/* FN_RSEG */
	} u;
};

/* One entry of a directory listing, taken at opendir. */
struct fs_dirent {
	char     name[FS_NAMEMAX + 1];
	uint64_t ino;
	mode_t   type;	/* S_IFDIR or S_IFREG */
};
struct fs_dir {
	struct fnode     *node;	/* pinned; NULL for the top and net/ */
	size_t            n, cap;
	struct fs_dirent *ents;
};

/*
 * The file system's own layers: fs.c (mount, session) on fs_ops.c and
 * fs_io.c (the operations), on fs_free.c (the free file) and fsnet.c (the
 * remote view), on fs_netio.c (the remote view's open files), on
 * fs_reply.c (attributes, replies, the free files' parser), on fs_node.c
 * (nodes, listings).  Calls run downward; fs_node.c reaches fsnet.c's node
 * data through the free hook fs.c registers, and fsnet.c answers an open
 * through the callback fs_io.c passes.
 *
 * For fsnet.c and the others: fs_node.c (fs_sd, nodes, listings),
 * fs_reply.c (attributes, replies, fs_want).
 */
extern struct segd *fs_sd;	/* fs_node.c; set by fs_init() */
void fs_node_free_hook(void (*)(struct fnode *));
struct fnode *fs_node_find(enum fn_type, const struct fnode *parent,
    const char *name);
struct fnode *fs_node_get(enum fn_type, struct fnode *parent,
    const char *name);	/* found, or made; NULL: out of memory */
void fs_node_pin(struct fnode *);
void fs_node_unpin(struct fnode *);	/* may free it */
void fs_entry(fuse_req_t, struct fnode *, int kind, const struct stat *,
    double timeout);		/* replies, counting the lookup */
void fs_stat_init(struct stat *, uint64_t ino, mode_t mode, uid_t, gid_t,
    uint64_t size);
int  fs_dir_add(struct fs_dir *, const char *name, uint64_t ino, mode_t type);
void fs_dir_free(struct fs_dir *);
void fs_reply_err(fuse_req_t, const char *what, const struct segerr *);
/* Replies to an opendir with listing d (taken over). */
void fs_dir_reply(fuse_req_t, struct fs_dir *d, struct fuse_file_info *);
/* Answers an open of a net/ file with fsnet's handle (taken over). */
typedef void (*fs_open_cb)(fuse_req_t, struct fnode *, int kind,
    struct fuse_file_info *, void *nfh);
int  fs_want(int flags);	/* SEGW_RD|SEGW_WR of open flags */
/* parsers, for the unit suite too (fs_reply.c, fs.c) */
int  fs_parse_addrs(const char *text, size_t len, uint64_t *addrs, int max,
    struct segerr *);
void fs_unescape(char *);

/* fsnet.c, for fs.c */
void fsnet_readdir_net(struct fs_dir *);
void fsnet_lookup_peer(fuse_req_t, const char *name);
void fsnet_lookup_rseg(fuse_req_t, struct fnode *peer, const char *name);
void fsnet_attr(fuse_req_t, struct fnode *, int kind, int entry);
void fsnet_opendir(fuse_req_t, struct fnode *, struct fuse_file_info *);
int  fsnet_readdir_rseg(struct fs_dir *, const struct fnode *);	/* its files */
void fsnet_open(fuse_req_t, struct fnode *, int kind, struct fuse_file_info *,
    fs_open_cb);

/*
 * fs_netio.c, for fs_io.c and fsnet.c: an open net/NODE/NAME/ctl, data or
 * free holds a reference to the import.  It lives until it is released and
 * no io of it is in flight.
 */
struct nfh {
	struct rimp *imp;
	int          kind;	/* FS_KIND_CTL, _DATA or _FREE */
	int          verb;	/* the segment's (enum seg_verb), for ctl */
	int          dirty;	/* written since the last flush */
	int          released;
	unsigned     ios;	/* in flight */
};
struct nfh *fsnet_nfh_new(struct rimp *, int kind, int verb);	/* holds imp */
void fsnet_what(char *what, size_t size, const char *op, const struct rimp *,
    int kind);		/* "op net/NODE/NAME/file" */
int  fsnet_deny_write(const struct rimp *, struct segerr *);
void fsnet_read(fuse_req_t, void *fh, size_t size, off_t off);
void fsnet_write(fuse_req_t, void *fh, struct fuse_bufvec *, off_t off);
void fsnet_flush(fuse_req_t, void *fh);
void fsnet_release(void *fh);
void fsnet_node_free(struct fnode *);
void fsnet_shutdown(void);

/* An open file of the tree (fi->fh); net/ files have nfh. */
struct fh {
	LIST_ENTRY(fh)   entry;
	struct fnode    *node;	/* pinned */
	int              kind;
	struct segment  *seg;	/* held: valid after a remove */
	int              nonblock;
	void            *nfh;	/* fsnet.c's handle, for net/ files */
};

/* Reads and writes served, for the unmount's log line. */
struct fs_iocount {
	uint64_t reads, writes;
	size_t   maxread, maxwrite;	/* largest requests seen */
};

/* fs_node.c */
void fs_nodes_init(void);
void fs_nodes_free_all(void);	/* at the shutdown */
struct fnode *fs_node_by_ino(fuse_ino_t);	/* NULL: none, or top or net/ */
void fs_node_maybe_free(struct fnode *);	/* if unlooked-up and unpinned */
void fs_node_retire(struct fnode *);	/* its name now means another node */
struct segment *fs_seg_named(const char *name);
struct fnode *fs_seg_node(struct segment *);	/* NULL: no memory */
struct segment *fs_node_seg(const struct fnode *);	/* NULL: removed */
/* The same, or a removed segment that open files of n still hold. */
struct segment *fs_node_seg_held(const struct fnode *);
void fs_dirs_free_all(void);	/* at the shutdown */

/* fs_reply.c */
void fs_reply_init(void);
void fs_reply_errf(fuse_req_t, const char *what, int code, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));
void fs_req_cred(fuse_req_t, struct cred *);
const char *fs_kind_name(int kind);
void fs_seg_stat(struct stat *, const struct fnode *, int kind,
    struct segment *);	/* may stamp data's time (written through us) */
void fs_seg_stamp(struct segment *);	/* data written: its time is now */
/* utimensat's part of a setattr on one of s's files; 0 or -1 with e. */
int  fs_seg_settimes(struct segment *, int kind, const struct stat *,
    int to_set, struct segerr *);
void fs_root_stat(struct stat *);
/* A small write (ctl, free) into text; -1 if it is longer than size. */
ssize_t fs_copy_small(struct fuse_bufvec *, char *text, size_t size);
/* A write to a free file: into text (size bytes), its addresses into
 * addrs (at most max); their count and *len the bytes written, or -1 with
 * the request answered (what names the write). */
int  fs_write_addrs(fuse_req_t, struct fuse_bufvec *, const char *what,
    char *text, size_t size, uint64_t *addrs, int max, size_t *len);
void fs_net_stat(struct stat *);

/* fs_ops.c: fills in the operations on names and directories */
void fs_ops_names(struct fuse_lowlevel_ops *);

/* fs_io.c: fills in the operations on open files */
void fs_ops_files(struct fuse_lowlevel_ops *);
void fs_files_close(void);	/* at the shutdown */
const struct fs_iocount *fs_io_count(void);

/* fs_free.c */
void fs_free_read(fuse_req_t, struct fh *, size_t size);
void fs_free_write(fuse_req_t, struct fh *, struct fuse_bufvec *);
void fs_free_shutdown(void);	/* answers the waiting reads */

#endif
