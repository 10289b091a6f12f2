/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * libseg.h: libseg's internal header; prototypes grouped by file.
 */
#ifndef LIBSEG_H
#define LIBSEG_H

#include <sys/types.h>
#include <pthread.h>

#include "seg.h"
#include "segwire.h"

#define SEG_CALL_TIMEOUT_S 30	/* a local segd answers long before this */

/* err.c */
int  seg_seterr(int err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int  seg_seterr_text(int err, const char *text, size_t len);

/* client.c */
/* One request frame, one reply frame: its body copied to rsp. */
int  seg_call_raw(uint16_t op, const void *req, size_t reqlen, void *rsp,
         size_t rspsize, size_t *rsplen, int *fdp);
/*
 * One request, one reply.  On success the reply's info (if info is not
 * NULL), text (copied to text, at most *textlen bytes; *textlen set to its
 * length) and descriptor (*fdp, -1 if none; if fdp is NULL one that came is
 * closed) are returned.
 */
int  seg_call(uint16_t op, const struct segw_req *req, struct segw_info *info,
         char *text, size_t *textlen, int *fdp);
/* A listing (LIST, PEERLS, PEERS): fn for each entry, with its text. */
int  seg_call_list(uint16_t op, const struct segw_req *req,
         int (*fn)(const struct segw_info *, const char *, size_t, void *),
         void *arg);
/*
 * A listing of text (PEERS, METRICS) into buf, NUL-terminated: add appends
 * each entry's text to a struct seg_textacc.  Returns the text's length.
 */
struct seg_textacc {
	char  *buf;
	size_t size, len;
};
ssize_t seg_call_text(uint16_t op, char *buf, size_t size,
         int (*add)(const struct segw_info *, const char *, size_t, void *));
/* t appended to a's buffer, NUL-terminated; -1 (errno untouched) if it does
 * not fit. */
int  seg_text_append(struct seg_textacc *a, const char *t, size_t tl);
int  seg_req_name(struct segw_req *, const char *name);
/* A request that names nothing but a number (an address, a handle). */
int  seg_call_a(uint16_t op, uint64_t a);
/* A request that names a segment and nothing else (REMOVE, UNEXPORT). */
int  seg_call_name(uint16_t op, const char *name);
/*
 * Changes each time libseg connects to segd anew (segd restarted, a fork,
 * a broken connection): what segd tied to the old connection (a umsg pool
 * held, descriptors it sent) is gone with it.
 */
unsigned seg_conn_gen(void);
/* 1 if segd closed the connection (it is let go: the next call makes a
 * new one), else 0 */
int  seg_conn_lost(void);

/* zring.c: n local buffers returned through the free ring: 0, -1 (error
 * set), or 1 when there is no ring and the socket is to be used */
int  seg_zring_free(const uint64_t *addrs, int n);

/* zread.c: returned addresses of a umsg segment through its read ring,
 * waiting for one: the count, -1 (error set), or 0 when there is no ring
 * and the socket is to be used; the ring's eventfd, or -1 if none */
int  seg_zread(const char *name, uint64_t *addrs, int max);
int  seg_zread_fd(const char *name);

/* seg.c */
void seg_info_export(const struct segw_info *, struct seg_info *);
int  seg_list_collect(uint16_t op, const struct segw_req *, struct seg_info **);

/*
 * import.c: an import, and the one request on it that is made again on a
 * new import when the connection to the exporter was lost; for
 * import_io.c and import_ops.c (and lock.c: its name)
 */
struct dpconn;
struct seg_import {
	pthread_mutex_t lock;	/* one operation at a time per import */
	char     ref[256];
	char     name[SEG_NAMEMAX + 1];
	char     peertext[SEGW_MAXTEXT];	/* "ADDR PORT NODE" */
	struct segw_imp m;
	pid_t    pid;		/* the process that made it */
	unsigned gen;		/* ... over this connection to segd */
	struct dpconn *dp;	/* the direct path's connection, once made */
	int      dp_off;	/* the direct path cannot be had: why */
	char     dp_why[SEGW_MAXTEXT];
	char     label[SEGW_ADDRLEN + 8];	/* the exporter's ADDR:PORT */
	int      err;		/* direct path: the first failed put since */
	char     errmsg[SEGW_MAXTEXT];	/* the last barrier */
	uint64_t holder;	/* lock holder id (the exporter's import id) */
	uint64_t holder_of;	/* ... of this handle; 0: not asked yet */
};
/* A request on an import: an io, a remote free, a signal, an atomic. */
struct imp_op {
	uint16_t         op;		/* SEGW_IO, _RFREE, _RSIGNAL, _ATOMIC */
	uint16_t         kind, flags;	/* SEGW_IO, SEGW_ATOMIC (kind) */
	struct segw_iov *iov;		/* SEGW_IO */
	const uint64_t  *addrs;		/* SEGW_RFREE */
	uint32_t         n;
	uint64_t         off, a, b;	/* SEGW_ATOMIC */
	uint64_t         result;	/* SEGW_ATOMIC: the reply's va */
};
int  seg_imp_call(seg_import_t *, struct imp_op *, uint64_t *done);
/* when an operation on imp starting now must be done (seg_now_us()) */
long long seg_imp_end(const seg_import_t *);
/* a forked child, or a new connection to segd: the import made again */
int  seg_imp_fresh(seg_import_t *);
int  seg_imp_lock(seg_import_t *);	/* imp's lock, taken; -1 if no import */
/* whether imp's operations go on this process's own queue pair */
int  seg_imp_dp_want(const seg_import_t *);
/* its data connection, by end; 1: the segd path serves the import */
int  seg_imp_dp_open(seg_import_t *, long long end);
/* a new ticket from the exporter (through segd) for imp */
int  seg_imp_dp_ticket(seg_import_t *);
const char *seg_imp_name(const seg_import_t *);

/* import_ops.c: for lock.c */
int  seg_imp_holder(seg_import_t *, uint64_t *id);
int  seg_imp_alive(seg_import_t *, uint64_t holder);	/* 1, 0; -1 */
/* ... for zring.c: imp's handle on this connection to segd; 0: none now */
uint64_t seg_import_handle(seg_import_t *);

/* attach.c */
/* 1 if [va, va+len) lies inside one attached named segment */
int  seg_att_contains(uintptr_t va, size_t len);
int  seg_att_range(uintptr_t va, size_t len, uintptr_t *base, size_t *alen);

/* dpath.c: the direct data path */
struct seg_dpstats {
	uint64_t ops, zerocopy_bytes, bounce_bytes, connects, reg_refused;
	uint64_t segd_ops, segd_bytes;	/* on the segd path instead */
	uint64_t atomics, segd_atomics;	/* RDMA atomics: direct, segd path */
};
struct dpconn *dp_connect(const struct segw_imp *, const char *label,
         long long end);
void dp_close(struct dpconn *);
int  dp_io(struct dpconn *, const struct segw_imp *, int kind,
         const struct seg_iov *iov, int n, const char *label, long long end);
int  dp_atomic(struct dpconn *, const struct segw_imp *, int kind,
         uint64_t off, uint64_t a, uint64_t b, uint64_t *old,
         const char *label, long long end);
void dp_att_gone(uintptr_t base, size_t len);
void dp_stats(struct seg_dpstats *, char *note, size_t size);
void dp_count_segd(uint64_t bytes);
void dp_count_segd_atomic(void);

#endif
