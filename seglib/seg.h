/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * seg.h: libseg, long-lived memory segments served by segd.
 *
 * Every call returns -1 (or NULL) on error with errno set; seg_errstr()
 * gives the message of this thread's last error.  The library never prints
 * and never exits.  It finds segd's socket in $SEGD_SOCKET, else
 * /run/segd/segd.sock for root, else $XDG_RUNTIME_DIR/segd.sock.
 */
#ifndef SEG_H
#define SEG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* seg_attach attributes (segattach(2)'s SG_RONLY, SG_CEXEC) */
#define SEG_RONLY 0x1
#define SEG_CEXEC 0x2

#define SEG_NAMELEN 64

int         seg_create(const char *name, unsigned mode);
int         seg_ctl(const char *name, const char *msg);
int         seg_ctl_read(const char *name, char *buf, size_t size);
ssize_t     seg_pread(const char *name, void *buf, size_t n, uint64_t off);
ssize_t     seg_pwrite(const char *name, const void *buf, size_t n,
                uint64_t off);
/* the data's descriptor (O_RDONLY, O_WRONLY, O_RDWR); close() it */
int         seg_open(const char *name, int flags);
int         seg_remove(const char *name);
void       *seg_attach(int attr, const char *class, void *va, size_t len);
int         seg_detach(void *addr);
int         seg_free(void *va, size_t len);
const char *seg_errstr(void);

/* What segd knows of a segment (segctl ls and stat). */
struct seg_info {
	char     name[SEG_NAMELEN + 1];
	char     verb[8];      /* "va", "addr", "umsg", "kmsg"; "-" unallocated */
	uint64_t va, len;
	unsigned uid, gid, mode, nattach;
};

int         seg_stat(const char *name, struct seg_info *info);
/* All named segments: *list is malloc'd, free() it; returns the count. */
int         seg_list(struct seg_info **list);

/*
 * Export and import over RDMA (Solaris RSM's publish, connect, get, put).
 * An access list is "NODE:r,NODE:rw,..."; empty or NULL grants every peer
 * read-write.  A reference is "NODE[:PORT]/NAME", NODE a host name or an
 * address, PORT segd's (default SEG_PORT).
 */
#define SEG_PORT 7450

typedef struct seg_import seg_import_t;

struct seg_iov {
	uint64_t off;	/* in the imported segment */
	void    *buf;	/* local memory */
	size_t   len;
};

/*
 * An export's flags (RSM's publish permissions): SEG_ALLOW_REBIND lets
 * seg_rebind move it to other memory; SEG_DONTWAIT fails with EAGAIN when
 * the segment's pages are not all resident instead of faulting them in;
 * SEG_LOCK_OPS lets writing importers use RDMA atomics on it.
 */
#define SEG_ALLOW_REBIND 0x1
#define SEG_DONTWAIT     0x2
#define SEG_LOCK_OPS     0x4

int           seg_export(const char *name, const char *acl);	/* flags 0 */
int           seg_export_flags(const char *name, const char *acl,
                  unsigned flags);
int           seg_unexport(const char *name);
/* bind export name to len bytes at va, in another segment of its owner's */
int           seg_rebind(const char *name, void *va, size_t len);
seg_import_t *seg_import(const char *ref);
ssize_t       seg_get(seg_import_t *, uint64_t off, void *buf, size_t len);
ssize_t       seg_put(seg_import_t *, uint64_t off, const void *buf,
                  size_t len);
int           seg_getv(seg_import_t *, const struct seg_iov *iov, int n);
int           seg_putv(seg_import_t *, const struct seg_iov *iov, int n);
int           seg_barrier(seg_import_t *);
int           seg_unimport(seg_import_t *);

/*
 * Atomics on an 8-byte word of an import exported with SEG_LOCK_OPS (off
 * 8-byte aligned): compare-and-swap and fetch-and-add, the old value into
 * *old (may be NULL).  A lock is such a word: 0 free, else its holder's
 * id; seg_lock spins, then sleeps, until it takes it or its deadline
 * ($SEG_LOCK_TIMEOUT_MS, default 30 s) passes, and breaks a lock whose
 * holder's import no longer exists at the exporter.  Processes on the
 * exporter's node use the word through an import too, never in memory:
 * RDMA atomics are not atomic against the CPU's.  See seg_lock(3).
 */
int           seg_cas(seg_import_t *, uint64_t off, uint64_t expect,
                  uint64_t desired, uint64_t *old);
int           seg_fadd(seg_import_t *, uint64_t off, uint64_t add,
                  uint64_t *old);
int           seg_lock(seg_import_t *, uint64_t off);
int           seg_unlock(seg_import_t *, uint64_t off);

/* What an import refers to (tools and tests). */
struct seg_import_info {
	uint64_t len;	/* the segment's length */
	uint64_t rva;	/* its address at the exporter */
	uint32_t rkey;	/* the remote key this node was granted */
	int      writable;
	uint64_t gen;	/* the export's generation */
};
int           seg_import_info(seg_import_t *, struct seg_import_info *);
/* the export's SEG_* flags as its exporter sent them (0: none, or an old
 * exporter that does not send them) */
int           seg_import_flags(seg_import_t *);
/*
 * Which path an import's get and put take: SEG_PATH_DIRECT (this process
 * posts on its own queue pair to the exporter) or SEG_PATH_SEGD (the local
 * segd posts them); why the direct path is not used, into why.
 */
#define SEG_PATH_DIRECT 1
#define SEG_PATH_SEGD   2
int           seg_import_path(seg_import_t *, char *why, size_t size);
/* This process's own counters of remote io ("key value" lines). */
ssize_t       seg_stats_local(char *buf, size_t size);

/*
 * Zero-copy buffer segments (NIX's umsg and kmsg).  seg_zalloc allocates a
 * buffer: in a kmsg segment segd does it; in a umsg segment this process
 * does, and must be the one holding the segment's pool (its owner's first
 * allocating process).  Writing a buffer's address to the segment's free
 * (seg_zfree, or seg_zfree_remote from another node) returns it; readers of
 * free (seg_free_read; in the pool's process it also puts the buffers back
 * into the pool) get returned umsg addresses in order.  kmsg buffers are
 * reclaimed by segd.
 */
void         *seg_zalloc(const char *name, size_t len);
int           seg_zfree(void *addr);
int           seg_zfree_remote(seg_import_t *, uint64_t addr);
/* n addresses, all or none returned (at most SEG_FREE_BATCH a message) */
int           seg_zfree_remotev(seg_import_t *, const uint64_t *addrs, int n);
/*
 * Asynchronous returns (seg_zfree_async(3)): imp NULL for a local buffer,
 * else one of imp's.  0 at once, or -1 for what is known at once (EAGAIN:
 * no room until outcomes are read); seg_zfree_asyncv returns how many of
 * its addresses it took (as many as there was room for), each with its
 * own outcome.  The outcome comes later: the
 * descriptor is readable while outcomes wait, seg_zfree_outcomes reads up
 * to max of them without waiting.
 */
struct seg_zoutcome {
	seg_import_t *imp;	/* as given; NULL: local */
	uint64_t      addr;
	int           err;	/* 0: applied; else refused, or in doubt */
	char          msg[256];	/* why, in segd's words */
};
int           seg_zfree_async(seg_import_t *, uint64_t addr);
int           seg_zfree_asyncv(seg_import_t *, const uint64_t *addrs, int n);
int           seg_zfree_async_fd(void);
int           seg_zfree_outcomes(struct seg_zoutcome *, int max);
int           seg_free_fd(const char *name);	/* poll only; do not read */
int           seg_free_read(const char *name, uint64_t *addrs, int max);
#define SEG_FREE_BATCH 500

/* Signals (RSM's rsm_intr_signal_post and wait); they may coalesce. */
int           seg_signal(seg_import_t *);
int           seg_signal_fd(const char *name);	/* readable: signals came */
int           seg_signal_wait(const char *name, int timeout_ms);

/*
 * A peer's exports visible to this node: name, len, va (its binding's),
 * mode 4 = r or 6 = rw, with the export's SEG_* flags above:
 * SEG_PEER_FLAGS(mode).
 */
#define SEG_PEER_FLAGS(mode) ((mode) >> 12)
int           seg_peer_list(const char *node, struct seg_info **list);
/* segd's connections, one line each, into buf; returns the length. */
ssize_t       seg_peers(char *buf, size_t size);
/* segd's counters ("key value" lines) into buf; returns the length. */
ssize_t       seg_stats(char *buf, size_t size);
/* every counter, per peer ones too, in Prometheus text format, into buf */
ssize_t       seg_metrics(char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif
