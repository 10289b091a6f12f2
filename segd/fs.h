/*
 * fs.h: the segment file system's internals, shared by fs.c (the mount,
 * the local tree) and fsnet.c (the remote view under net/).  Nothing here
 * is seen by the rest of segd; its entry points are in segd.h.
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
	const struct segment *seg;	/* FN_SEG: the one it was made for;
					 * compared, never used (not held) */
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

/* fs.c, for fsnet.c */
extern struct segd *fs_sd;
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
/* Replies to an open of a net/ file with fsnet's handle (taken over). */
void fs_open_reply(fuse_req_t, struct fnode *, int kind,
    struct fuse_file_info *, void *nfh);
int  fs_want(int flags);	/* SEGW_RD|SEGW_WR of open flags */
/* parsers, for the unit suite too */
int  fs_parse_addrs(const char *text, size_t len, uint64_t *addrs, int max,
    struct segerr *);
void fs_unescape(char *);

/* fsnet.c, for fs.c */
void fsnet_readdir_net(struct fs_dir *);
void fsnet_lookup_peer(fuse_req_t, const char *name);
void fsnet_lookup_rseg(fuse_req_t, struct fnode *peer, const char *name);
void fsnet_attr(fuse_req_t, struct fnode *, int kind, int entry);
void fsnet_opendir(fuse_req_t, struct fnode *, struct fuse_file_info *);
void fsnet_open(fuse_req_t, struct fnode *, int kind, struct fuse_file_info *);
void fsnet_read(fuse_req_t, void *fh, size_t size, off_t off);
void fsnet_write(fuse_req_t, void *fh, struct fuse_bufvec *, off_t off);
void fsnet_flush(fuse_req_t, void *fh);
void fsnet_release(void *fh);
void fsnet_node_free(struct fnode *);
void fsnet_shutdown(void);

#endif
