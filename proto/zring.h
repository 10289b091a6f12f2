/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * zring.h: the free ring, shared memory between a local client (libseg)
 * and segd through which the client returns zero-copy buffers (seg_zfree)
 * without a socket round trip.  See proto/zring.c and docs/design.md.
 *
 * segd makes the ring: a sealed memfd of ZRING_SIZE bytes (it can be
 * neither shrunk nor grown, so no access to it can fault), one per client
 * connection.  Every field is little-endian and is read and written only
 * through proto/zring.c.  Counters run free modulo 2^32; slot i of the
 * entry array holds entry number i mod ZRING_NSLOTS.
 *
 *   header, 256 bytes (each counter on its own 64-byte line)
 *     0  le32 magic (ZRING_MAGIC)      4  le32 nslots (ZRING_NSLOTS)
 *     8  le32 broken: 0, or the errno for which segd stopped serving it
 *    64  le32 prod: entries the client has published (client writes)
 *   128  le32 cons: entries segd has answered (segd writes; a futex)
 *   192  le32 waiters: client threads waiting on cons (client writes)
 *   entries, ZRING_NSLOTS x 16 bytes
 *     0  le64 addr     8  le32 flags (ZRING_MORE, ZRING_ASYNC, ZRING_REMOTE)
 *    12  le32 status: written by segd before cons passes the entry: 0 if
 *        returned, else the errno for which its batch was refused (low 16
 *        bits) and 1 + the error record that words it (bits 16 to 23)
 *
 * An entry flagged ZRING_ASYNC is a batch of its own, and its caller does
 * not wait (seg_zfree_async): its status is its outcome once ZRING_DONE
 * is set in it, which may be after cons passed it (a remote return's
 * answer comes from the owner); segd then writes the ring's done eventfd
 * (SEGW_ZRING_DONE).  Before cons passes it segd writes its status 0 (in
 * flight) or its outcome.  An entry also flagged ZRING_REMOTE returns a
 * buffer of an import: the client writes the import's handle into its
 * status word when it publishes it, and segd reads it once.
 *   error records, ZRING_NERR x 256 bytes, reused in turn
 *     0  le32 end: the entry number after the refused batch
 *     4  the reason, NUL-terminated (segd's words, as over the socket)
 *
 * A batch is a run of entries each flagged ZRING_MORE but the last, at
 * most ZRING_BATCH_MAX long: all of it is returned, or none.
 */
#ifndef ZRING_H
#define ZRING_H

#include <stddef.h>
#include <stdint.h>

#define ZRING_MAGIC     0x474e525au	/* "ZRNG" */
#define ZRING_NSLOTS    4096u		/* a power of two */
#define ZRING_HDRLEN    256
#define ZRING_ENTLEN    16
#define ZRING_NERR      32
#define ZRING_ERRLEN    256
#define ZRING_SIZE      (ZRING_HDRLEN + ZRING_NSLOTS * ZRING_ENTLEN + \
                         ZRING_NERR * ZRING_ERRLEN)
#define ZRING_MORE      0x1u		/* the next entry is of this batch */
#define ZRING_BATCH_MAX 500		/* SEGW_ADDRS_MAX */
#define ZRING_ASYNC     0x2u		/* its caller does not wait */
#define ZRING_REMOTE    0x4u		/* a buffer of an import (handle in) */
#define ZRING_DONE      0x80000000u	/* status: the outcome is in it */

struct zring_ent {
	uint64_t addr;
	uint32_t flags;
};

void     zring_init(void *ring);			/* segd: a new ring */
int      zring_valid(const void *ring, size_t size);	/* 1 if so */
uint32_t zring_prod(const void *ring);			/* acquire */
void     zring_set_prod(void *ring, uint32_t);		/* seq_cst */
uint32_t zring_cons(const void *ring);			/* seq_cst */
void     zring_set_cons(void *ring, uint32_t);		/* seq_cst */
uint32_t *zring_cons_word(void *ring);			/* the futex */
uint32_t zring_broken(const void *ring);
void     zring_set_broken(void *ring, uint32_t err);
uint32_t zring_waiters(const void *ring);
void     zring_add_waiters(void *ring, int32_t d);
void     zring_get(const void *ring, uint32_t i, struct zring_ent *);
void     zring_put(void *ring, uint32_t i, const struct zring_ent *);
uint32_t zring_status(const void *ring, uint32_t i);	/* acquire */
void     zring_set_status(void *ring, uint32_t i, uint32_t st);
/* record k (< ZRING_NERR) words the refusal of the batch ending before end */
void     zring_set_error(void *ring, uint32_t k, uint32_t end,
             const char *text);
/* the words of record k into buf, if it is still end's: 1, else 0 */
int      zring_error(const void *ring, uint32_t k, uint32_t end, char *buf,
             size_t size);

#endif
