/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * zread.h: the read ring, shared memory through which segd hands the
 * returned addresses of a umsg segment (its free) to a local reader
 * (seg_free_read) without a socket round trip per address: the free
 * ring's (zring.h) counterpart in the other direction.
 *
 * segd makes it: a sealed memfd of ZREAD_SIZE bytes, one per client
 * connection and segment read.  Every field is little-endian and is read
 * and written only through proto/zread.c.  Counters run free modulo 2^32;
 * slot i holds entry number i mod ZREAD_NSLOTS.
 *
 *   header, 256 bytes (each counter on its own 64-byte line)
 *     0  le32 magic (ZREAD_MAGIC)      4  le32 nslots (ZREAD_NSLOTS)
 *     8  le32 broken: 0, or the errno for which segd stopped filling it
 *    12  le32 armed: 1 while segd puts addresses in as they are returned;
 *        0 once it found the ring full (the reader asks for a fill)
 *    64  le32 prod: entries segd has put in (segd writes)
 *   128  le32 cons: entries the reader has taken (the reader writes)
 *   192  le32 want: entries the reader asks for: segd puts in none past
 *        it, so what the reader does not read stays with the others
 *        (the reader writes)
 *   entries, ZREAD_NSLOTS x 8 bytes
 *     0  le64 addr
 */
#ifndef ZREAD_H
#define ZREAD_H

#include <stddef.h>
#include <stdint.h>

#define ZREAD_MAGIC  0x3144525au	/* "ZRD1" */
#define ZREAD_NSLOTS 4096u		/* a power of two */
#define ZREAD_HDRLEN 256
#define ZREAD_ENTLEN 8
#define ZREAD_SIZE   (ZREAD_HDRLEN + ZREAD_NSLOTS * ZREAD_ENTLEN)

/* the header's words, by their offset / 4 */
enum zread_word {
	ZREAD_BROKEN = 2,	/* 0, or the errno for which segd stopped */
	ZREAD_ARMED = 3,	/* segd fills it as addresses are returned */
	ZREAD_PROD = 16,	/* segd writes */
	ZREAD_CONS = 32,	/* the reader writes */
	ZREAD_WANT = 48,	/* the reader writes */
};

void     zread_init(void *ring);			/* segd: a new ring */
int      zread_valid(const void *ring, size_t size);	/* 1 if so */
uint32_t zread_word(const void *ring, enum zread_word);	/* seq_cst */
void     zread_set_word(void *ring, enum zread_word, uint32_t); /* seq_cst */
uint64_t zread_get(const void *ring, uint32_t i);
void     zread_put(void *ring, uint32_t i, uint64_t addr);
/*
 * segd's bound on what the reader wrote: the free slots after entry prod
 * (segd's own count), or -1 if the reader's consumer index is not within
 * the ring behind prod (a lie: ahead of prod, or more than the ring behind).
 */
int      zread_room(const void *ring, uint32_t prod);
/* how many entries after prod the reader asks for: 0 to ZREAD_NSLOTS (one
 * behind prod, or past the ring, asks for none) */
int      zread_asked(const void *ring, uint32_t prod);
/* the reader's: entries after its own count cons, or -1 if past the ring */
int      zread_avail(const void *ring, uint32_t cons);

#endif
