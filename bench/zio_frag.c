/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * zio_frag.c: fragmentation of the zero-copy buffer allocator
 * (segd/zio_pool.c) under a few workloads.  Figures, not a test.
 *
 *   make bench-frag, or build/bench/zio_frag [POOL_MIB [OPS [SEED]]]
 *
 * Each workload churns a pool (no memory behind it: buffers are numbers to
 * the allocator): it allocates until the allocator refuses, then frees a
 * random half, OPS operations in all.  Printed per workload:
 *   internal  1 - requested / class bytes of the live buffers (mean)
 *   external  free bytes in slabs serving a class / those slabs (mean)
 *   full      requested bytes live / pool when a request is refused (mean,
 *             and the lowest): how much of the pool a client can use
 *   slabs     slabs serving a class / all slabs when refused (mean)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "zio_pool.h"

#define MIB (1ULL << 20)

/* rnd(): the RDMA tier's seeded generator (tests/rdma/testlib) */
static uint64_t
below(uint64_t n)
{
	return rnd() % n;
}

/* log-uniform in [lo, hi] */
static size_t
logu(uint64_t lo, uint64_t hi)
{
	int a = 63 - __builtin_clzll(lo), b = 63 - __builtin_clzll(hi), e;
	uint64_t v;

	e = a + (int)below((uint64_t)(b - a + 1));
	v = (1ULL << e) + below(1ULL << e);
	return (size_t)(v < lo ? lo : v > hi ? hi : v);
}

static size_t
w_mixed(void)	/* the unit suite's mix */
{
	uint64_t r = below(100);

	return r < 50 ? logu(1, 256) : r < 80 ? logu(1, 16384) :
	    r < 95 ? logu(1, 262144) : logu(1, MIB);
}

static size_t
w_small(void)	/* message buffers */
{
	return logu(64, 4096);
}

static size_t
w_mtu(void)	/* packets of up to 1500 bytes */
{
	return (size_t)(64 + below(1500 - 64 + 1));
}

static size_t
w_bimodal(void)	/* headers and payloads */
{
	return below(4) ? (size_t)(128 + below(128)) : (size_t)65536;
}

static size_t
w_pow2(void)	/* exact classes: no internal waste */
{
	return (size_t)64 << below(11);
}

struct buf {
	uint64_t addr, req;
};

static void
run(const char *name, size_t (*len)(void), uint64_t pool, long ops)
{
	size_t shsize = zpool_shared_size(pool);
	struct zpool_shared *sh = malloc(shsize);
	struct buf *b = malloc(sizeof *b * (pool / 64));
	double in = 0, ex = 0, full = 0, slabs = 0, low = 1;
	long op, samples = 0, refusals = 0;
	uint64_t live_req = 0;
	struct zpool *p;
	size_t n = 0;

	if (sh == NULL || b == NULL || zpool_shared_init(sh, 1ULL << 40,
	    pool) < 0 || (p = zpool_open(sh)) == NULL) {
		perror("zio_frag");
		exit(1);
	}
	for (op = 0; op < ops; op++) {
		struct zpool_stats st;
		size_t l = len();
		uint64_t a = zpool_alloc(p, l);

		zpool_stats(p, &st);
		if (a != 0) {
			b[n++] = (struct buf){ a, l };
			live_req += l;
			in += 1.0 - (double)live_req /
			    (double)(st.live_bytes);
			ex += (double)(st.slab_bytes - st.live_bytes) /
			    (double)st.slab_bytes;
			samples++;
			continue;
		}
		if (errno != ENOMEM) {
			perror("zpool_alloc");
			exit(1);
		}
		refusals++;
		full += (double)live_req / (double)pool;
		slabs += (double)st.slab_bytes / (double)st.total_bytes;
		if ((double)live_req / (double)pool < low)
			low = (double)live_req / (double)pool;
		for (size_t k = n / 2; k > 0; k--) {
			size_t i = (size_t)below(n);
			zpool_free(p, b[i].addr);
			live_req -= b[i].req;
			b[i] = b[--n];
		}
	}
	printf("%-9s %8.1f%% %8.1f%% %8.1f%% %8.1f%% %8.1f%% %9ld\n", name,
	    100 * in / (double)samples, 100 * ex / (double)samples,
	    refusals ? 100 * full / (double)refusals : 0.0,
	    refusals ? 100 * low : 0.0,
	    refusals ? 100 * slabs / (double)refusals : 0.0, refusals);
	zpool_close(p);
	free(sh);
	free(b);
}

int
main(int argc, char *argv[])
{
	uint64_t pool = (argc > 1 ? strtoull(argv[1], NULL, 0) : 64) * MIB;
	long ops = argc > 2 ? strtol(argv[2], NULL, 0) : 200000;
	uint64_t seed = argc > 3 ? strtoull(argv[3], NULL, 0) : 1;

	printf("pool %llu MiB, slabs of 1 MiB, %ld operations, seed %llu\n",
	    (unsigned long long)(pool / MIB), ops, (unsigned long long)seed);
	printf("%-9s %9s %9s %9s %9s %9s %9s\n", "workload", "internal",
	    "external", "full", "full min", "slabs", "refusals");
	rng = seed * 0x9e3779b97f4a7c15ULL + 1;
	run("mixed", w_mixed, pool, ops);
	run("small", w_small, pool, ops);
	run("mtu", w_mtu, pool, ops);
	run("bimodal", w_bimodal, pool, ops);
	run("pow2", w_pow2, pool, ops);
	return 0;
}
