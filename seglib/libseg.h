/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * libseg.h: libseg's internal header; prototypes grouped by file.
 */
#ifndef LIBSEG_H
#define LIBSEG_H

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

/* import.c: for lock.c */
int  seg_imp_holder(seg_import_t *, uint64_t *id);
int  seg_imp_alive(seg_import_t *, uint64_t holder);	/* 1, 0; -1 */
const char *seg_imp_name(const seg_import_t *);

/* attach.c */
/* 1 if [va, va+len) lies inside one attached named segment */
int  seg_att_contains(uintptr_t va, size_t len);
int  seg_att_range(uintptr_t va, size_t len, uintptr_t *base, size_t *alen);

/* dpath.c: the direct data path */
struct dpconn;
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
