/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * zio_pool.h: the buffer allocator of zero-copy segments, shared by segd
 * (kmsg segments, and validation of returned umsg buffers) and libseg (the
 * creator's twin allocator of a umsg segment).  See zio_pool.c.
 */
#ifndef ZIO_POOL_H
#define ZIO_POOL_H

#include <stddef.h>
#include <stdint.h>

#define ZP_MAGIC    0x314f495au	/* "ZIO1" */
#define ZP_MINSHIFT 6		/* 64-byte buffers: the smallest class */
#define ZP_MAXSHIFT 20		/* 1 MiB: the largest class and slab */
#define ZP_NOCLASS  0xff

/* The validator's view; followed by cls[nslabs] and the live bitmap. */
struct zpool_shared {
	uint32_t magic;
	uint32_t slab_shift;
	uint32_t nslabs;
	uint32_t removed;	/* segd's mark: the segment was removed, so
				 * its creator forgets the pool (no fstat of
				 * the state file an allocation) */
	uint64_t base;
	uint64_t len;
};

struct zpool_stats {
	uint64_t nlive;
	uint64_t live_bytes;	/* class sizes of live buffers */
	uint64_t req_bytes;	/* bytes asked for, over the pool's life */
	uint64_t slab_bytes;	/* slabs serving a class */
	uint64_t total_bytes;
	uint64_t visits;	/* slab entries alloc/free looked at, ever: a
				 * debug count that shows their cost is O(1) */
};

struct zpool;

size_t        zpool_shared_size(uint64_t len);
int           zpool_shared_init(struct zpool_shared *, uint64_t base,
                  uint64_t len);
int           zpool_shared_valid(const struct zpool_shared *, size_t size);
/*
 * The validator's calls.  shsize is the size of the caller's mapping of the
 * state: the header may be rewritten at any time by the process holding a
 * umsg pool, so it is read once per call and checked against shsize; a bad
 * header makes every address invalid, never a read out of the state.
 */
int           zpool_check(struct zpool_shared *, size_t shsize, uint64_t addr,
                  uint64_t *size);
int           zpool_unlive(struct zpool_shared *, size_t shsize,
                  uint64_t addr);
void          zpool_relive(struct zpool_shared *, size_t shsize,
                  uint64_t addr);

struct zpool *zpool_open(struct zpool_shared *);
void          zpool_close(struct zpool *);
uint64_t      zpool_alloc(struct zpool *, size_t len);	/* 0, errno */
int           zpool_free(struct zpool *, uint64_t addr);
int           zpool_reclaim(struct zpool *, uint64_t addr);
void          zpool_stats(const struct zpool *, struct zpool_stats *);

#endif
