/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * fs_node.c: the file system's nodes and directory listings.
 *
 * A node stands for a directory of the tree and its files (fs.h): found by
 * id (from an inode number) or by type, parent and name, in two hash
 * tables.  A segment's node remembers the segment it was made for, so a
 * name removed and made again gets a new node and new inode numbers.
 * Open directory listings are tracked here too, so that the shutdown can
 * free those the kernel still holds.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

struct segd *fs_sd;	/* set by fs_init() */
static void (*net_free)(struct fnode *);	/* fsnet.c's, for its nodes */

void
fs_node_free_hook(void (*fn)(struct fnode *))
{
	net_free = fn;
}

#define FS_NHASH   4096
#define FNV_OFFSET 1469598103934665603ULL	/* FNV-1a, 64 bits */
#define FNV_PRIME  1099511628211ULL
#define DIRS_FIRST 16	/* first allocation of a growing array */

static struct {
	struct fnode   *byid[FS_NHASH], *byname[FS_NHASH];
	uint64_t        next_id;
	struct fs_dir **dirs;	/* open listings, for the shutdown */
	size_t          ndirs, cdirs;
} nt;

void
fs_nodes_init(void)
{
	nt.next_id = 1;
}

static size_t
hash_name(enum fn_type t, const struct fnode *parent, const char *name)
{
	uint64_t h = FNV_OFFSET ^ (uint64_t)t;

	h = (h ^ (parent ? parent->id : 0)) * FNV_PRIME;
	while (*name)
		h = (h ^ (uint8_t)*name++) * FNV_PRIME;
	return (size_t)(h % FS_NHASH);
}

static struct fnode *
node_by_id(uint64_t id)
{
	struct fnode *n;

	for (n = nt.byid[id % FS_NHASH]; n; n = n->idnext)
		if (n->id == id)
			return n;
	return NULL;
}

struct fnode *
fs_node_by_ino(fuse_ino_t ino)
{
	return ino > FS_NET_INO ? node_by_id(FS_INO_ID(ino)) : NULL;
}

struct fnode *
fs_node_find(enum fn_type t, const struct fnode *parent, const char *name)
{
	struct fnode *n;

	for (n = nt.byname[hash_name(t, parent, name)]; n; n = n->namenext)
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
	n->id = nt.next_id++;
	n->type = t;
	n->parent = parent;
	strcpy(n->name, name);
	if (parent != NULL)
		fs_node_pin(parent);	/* the child's */
	n->idnext = nt.byid[n->id % FS_NHASH];
	nt.byid[n->id % FS_NHASH] = n;
	h = hash_name(t, parent, name);
	n->namenext = nt.byname[h];
	nt.byname[h] = n;
	return n;
}

/* Take n out of the name table (once). */
static void
name_unlink(struct fnode *n)
{
	struct fnode **p;

	if (n->retired)
		return;
	for (p = &nt.byname[hash_name(n->type, n->parent, n->name)]; *p;
	    p = &(*p)->namenext)
		if (*p == n) {
			*p = n->namenext;
			break;
		}
	n->retired = 1;
}

static void
node_free(struct fnode *n)
{
	struct fnode **p;

	for (p = &nt.byid[n->id % FS_NHASH]; *p; p = &(*p)->idnext)
		if (*p == n) {
			*p = n->idnext;
			break;
		}
	name_unlink(n);
	if (n->type != FN_SEG && net_free != NULL)
		net_free(n);
	if (n->parent != NULL)
		fs_node_unpin(n->parent);
	free(n);
}

void
fs_node_maybe_free(struct fnode *n)
{
	if (n->nlookup == 0 && n->pins == 0)
		node_free(n);
}

/*
 * The name no longer means this node's segment (it was removed, perhaps
 * made again): the node leaves the name table, so the name gets a new
 * node and inode, while the kernel's references to the old one last.
 */
void
fs_node_retire(struct fnode *n)
{
	if (n->retired)
		return;
	name_unlink(n);
	fs_node_maybe_free(n);
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
	fs_node_maybe_free(n);
}

/* Every node goes: remote segments first, since they pin peers. */
void
fs_nodes_free_all(void)
{
	struct fnode *n, *next;
	size_t i;
	int pass;

	for (i = 0; i < FS_NHASH; i++)
		for (n = nt.byid[i]; n; n = n->idnext)
			n->nlookup = 1;		/* no node frees another now */
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < FS_NHASH; i++)
			for (n = nt.byid[i]; n; n = next) {
				next = n->idnext;
				if (pass == 0 && n->type != FN_RSEG)
					continue;
				node_free(n);
			}
}

/* ---- this node's segments ---- */

struct segment *
fs_seg_named(const char *name)
{
	return ns_lookup(&fs_sd->ns, name);
}

/* The node of segment s's directory: its own, or a new one. */
struct fnode *
fs_seg_node(struct segment *s)
{
	struct fnode *n = fs_node_find(FN_SEG, NULL, s->name);

	if (n != NULL && n->seg != s) {
		fs_node_retire(n);	/* another segment of that name */
		n = NULL;
	}
	if (n == NULL && (n = fs_node_get(FN_SEG, NULL, s->name)) != NULL)
		n->seg = s;
	return n;
}

/* The segment a node stands for, if its name still names it. */
struct segment *
fs_node_seg(const struct fnode *n)
{
	struct segment *s = fs_seg_named(n->name);

	return s != NULL && !n->retired && s == n->seg ? s : NULL;
}

/* fstat of an open file of a removed segment still answers. */
struct segment *
fs_node_seg_held(const struct fnode *n)
{
	struct segment *s = fs_node_seg(n);

	if (s == NULL && n->type == FN_SEG && n->nopen > 0)
		s = n->seg;	/* held by each of those open files */
	return s;
}

/* ---- directory listings ---- */

int
fs_dir_add(struct fs_dir *d, const char *name, uint64_t ino, mode_t type)
{
	if (strlen(name) > FS_NAMEMAX)
		return 0;
	if (d->n == d->cap) {
		size_t c = d->cap ? d->cap * 2 : DIRS_FIRST;
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
	if (nt.ndirs == nt.cdirs) {
		size_t c = nt.cdirs ? nt.cdirs * 2 : DIRS_FIRST;
		struct fs_dir **p = realloc(nt.dirs, c * sizeof *p);
		if (p == NULL)
			return -1;
		nt.dirs = p;
		nt.cdirs = c;
	}
	nt.dirs[nt.ndirs++] = d;
	return 0;
}

void
fs_dir_free(struct fs_dir *d)
{
	size_t i;

	for (i = 0; i < nt.ndirs; i++)
		if (nt.dirs[i] == d) {
			nt.dirs[i] = nt.dirs[--nt.ndirs];
			break;
		}
	if (d->node != NULL)
		fs_node_unpin(d->node);
	free(d->ents);
	free(d);
}

/* Hand listing d to the kernel as the open directory's handle. */
void
fs_dir_reply(fuse_req_t req, struct fs_dir *d, struct fuse_file_info *fi)
{
	if (dir_track(d) < 0) {
		fs_dir_free(d);		/* and the listing's pin of its node */
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fi->fh = (uintptr_t)d;
	if (fuse_reply_open(req, fi) != 0)
		fs_dir_free(d);	/* interrupted: no releasedir will come */
}

/* What the kernel held, and will not release now. */
void
fs_dirs_free_all(void)
{
	while (nt.ndirs > 0)
		fs_dir_free(nt.dirs[nt.ndirs - 1]);
	free(nt.dirs);
	nt.dirs = NULL;
	nt.cdirs = 0;
}
