/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * check_zio_pool.c: the buffer allocator of zero-copy segments
 * (segd/zio_pool.c), its shared state in plain malloc'd memory of exactly
 * zpool_shared_size() bytes (so ASan sees any read past it).
 *
 * Buffer addresses are only numbers to the allocator: most tests use a base
 * that is not mapped at all, which is itself a check that no state lives in
 * the buffers.  Randomised tests run a pseudo-random workload (seed printed;
 * $ZIO_SEED picks another) against a model of the live buffers.  The
 * fragmentation test prints its figures on standard output.
 */
#include <sys/mman.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check_main.h"
#include "zio_pool.h"

/*
 * Check's ck_assert* report every passing assertion to the runner (a write
 * each); the model's loops make millions, so they use these, which only
 * report a failure.
 */
#define REQ(cond, ...) do {						\
	if (!(cond))							\
		ck_abort_msg(__VA_ARGS__);				\
} while (0)
#define REQ_T(cond) REQ(cond, "Assertion '%s' failed", #cond)
#define REQ_CMP(a, op, b) do {						\
	unsigned long long x_ = (unsigned long long)(a);		\
	unsigned long long y_ = (unsigned long long)(b);		\
	if (!(x_ op y_))						\
		ck_abort_msg("Assertion '%s %s %s' failed: 0x%llx, 0x%llx", \
		    #a, #op, #b, x_, y_);				\
} while (0)
#define REQ_EQ(a, b) REQ_CMP(a, ==, b)
#define REQ_NE(a, b) REQ_CMP(a, !=, b)
#define REQ_GE(a, b) REQ_CMP(a, >=, b)
#define REQ_NONNULL(p) REQ((p) != NULL, "%s is NULL", #p)

#define MIB    (1ULL << 20)
#define BASE   0x300000000000ULL	/* never mapped: buffers are numbers */
#define NOCLS  (-1)

/* ---- pseudo-random numbers ---- */

static uint64_t rng;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static uint64_t
rnd_below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static uint64_t
seed(uint64_t dflt)
{
	const char *e = getenv("ZIO_SEED");
	uint64_t s = e != NULL && *e != '\0' ? strtoull(e, NULL, 0) : dflt;

	rng = s * 0x9e3779b97f4a7c15ULL + 1;
	if (rng == 0)
		rng = 1;
	return s;
}

/* A requested length: mostly small, some large, a few whole slabs. */
static size_t
rnd_len(uint64_t max)
{
	uint64_t r = rnd_below(100), hi;

	if (r < 50)
		hi = 256;
	else if (r < 80)
		hi = 16384;
	else if (r < 95)
		hi = 256 * 1024;
	else
		hi = max;
	if (hi > max)
		hi = max;
	if (rnd_below(100) == 0)
		return (size_t)hi;
	/* log-uniform in [1, hi): an octave, then a point in it */
	{
		uint64_t e = rnd_below((uint64_t)(63 - __builtin_clzll(hi)) + 1);
		uint64_t v = (1ULL << e) + rnd_below(1ULL << e);
		return (size_t)(v > hi ? hi : v);
	}
}

/* ---- a pool over plain memory ---- */

struct pool {
	struct zpool_shared *sh;
	size_t               size;
	struct zpool        *p;
	uint64_t             base, len;
};

static void
pool_make(struct pool *t, uint64_t base, uint64_t len)
{
	t->base = base;
	t->len = len;
	t->size = zpool_shared_size(len);
	t->sh = malloc(t->size);
	REQ_NONNULL(t->sh);
	REQ_EQ(zpool_shared_init(t->sh, base, len), 0);
	REQ_T(zpool_shared_valid(t->sh, t->size));
	t->p = zpool_open(t->sh);
	REQ_NONNULL(t->p);
}

static void
pool_drop(struct pool *t)
{
	zpool_close(t->p);
	free(t->sh);
	t->p = NULL;
	t->sh = NULL;
}

static uint64_t
class_size(uint64_t len)
{
	uint64_t c = 64;

	while (c < len)
		c <<= 1;
	return c;
}

static uint64_t
live_size(struct pool *t, uint64_t a)
{
	uint64_t size = 0;

	REQ(zpool_check(t->sh, t->size, a, &size) == 0,
	    "0x%llx is not live", (unsigned long long)a);
	return size;
}

static int
is_live(struct pool *t, uint64_t a)
{
	return zpool_check(t->sh, t->size, a, NULL) == 0;
}

/* ---- the model: what must be true of the live buffers ---- */

struct mbuf {
	uint64_t addr, req, cls;
};

struct model {
	struct pool *t;
	uint32_t     shift, nslabs;
	uint64_t     ngran;
	uint8_t     *covered;	/* per 64-byte granule: inside a live buffer */
	uint32_t    *start;	/* per granule: index + 1 of the buffer there */
	int         *slabcls;	/* class size shift, or NOCLS */
	uint32_t    *slablive;
	struct mbuf *b;
	size_t       n, cap;
	uint64_t     live_req, live_cls, req_total;
	uint64_t     live_req64, live_cls64;	/* requests of 64 bytes or more */
};

static void
model_init(struct model *m, struct pool *t)
{
	uint32_t s;

	memset(m, 0, sizeof *m);
	m->t = t;
	m->shift = t->sh->slab_shift;
	m->nslabs = t->sh->nslabs;
	m->ngran = ((uint64_t)m->nslabs << m->shift) >> 6;
	m->covered = calloc(m->ngran, 1);
	m->start = calloc(m->ngran, sizeof *m->start);
	m->slabcls = malloc(m->nslabs * sizeof *m->slabcls);
	m->slablive = calloc(m->nslabs, sizeof *m->slablive);
	REQ_T(m->covered && m->start && m->slabcls && m->slablive);
	for (s = 0; s < m->nslabs; s++)
		m->slabcls[s] = NOCLS;
}

static void
model_free_all(struct model *m)
{
	free(m->covered);
	free(m->start);
	free(m->slabcls);
	free(m->slablive);
	free(m->b);
}

static int
log2u(uint64_t v)
{
	return 63 - __builtin_clzll(v);
}

/* Is there room for class c without a new slab (a partial slab of c)? */
static int
model_partial(const struct model *m, int c)
{
	uint32_t s;

	for (s = 0; s < m->nslabs; s++)
		if (m->slabcls[s] == c &&
		    m->slablive[s] < (1u << (m->shift - (uint32_t)c)))
			return 1;
	return 0;
}

static int
model_freeslab(const struct model *m)
{
	uint32_t s;

	for (s = 0; s < m->nslabs; s++)
		if (m->slabcls[s] == NOCLS)
			return 1;
	return 0;
}

/* The allocator answered alloc(req) with a: check it and record it. */
static void
model_alloc(struct model *m, uint64_t a, uint64_t req)
{
	struct pool *t = m->t;
	uint64_t cls = class_size(req), off, g, i;
	int c = log2u(cls), had_partial = model_partial(m, c);
	uint32_t s;

	REQ(a != 0, "alloc(%llu) failed: %s", (unsigned long long)req,
	    strerror(errno));
	REQ(a >= t->base && a - t->base < (uint64_t)m->nslabs <<
	    m->shift, "0x%llx outside the pool", (unsigned long long)a);
	off = a - t->base;
	REQ(off + cls <= (uint64_t)m->nslabs << m->shift,
	    "buffer 0x%llx+%llu runs past the pool", (unsigned long long)a,
	    (unsigned long long)cls);
	REQ(off % cls == 0 && a % cls == 0, "0x%llx not aligned to "
	    "its class %llu", (unsigned long long)a, (unsigned long long)cls);
	REQ_EQ(live_size(t, a), cls);	/* exact class size */
	REQ_GE(cls, req);
	REQ_T(cls == 64 || cls < 2 * req);
	for (g = off >> 6, i = 0; i < cls >> 6; i++)
		REQ(!m->covered[g + i], "0x%llx (%llu bytes) overlaps "
		    "a live buffer", (unsigned long long)a,
		    (unsigned long long)cls);
	s = (uint32_t)(off >> m->shift);
	if (m->slabcls[s] == NOCLS)
		/* a new slab only when no slab of the class had room */
		REQ(!had_partial, "took a new slab for class %llu "
		    "while one had room", (unsigned long long)cls);
	else
		REQ_EQ(m->slabcls[s], c);
	m->slabcls[s] = c;
	m->slablive[s]++;
	memset(m->covered + g, 1, cls >> 6);
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 1024;
		m->b = realloc(m->b, m->cap * sizeof *m->b);
		REQ_NONNULL(m->b);
	}
	m->b[m->n] = (struct mbuf){ a, req, cls };
	m->start[g] = (uint32_t)++m->n;
	m->live_req += req;
	m->live_cls += cls;
	m->req_total += req;
	if (req >= 64) {
		m->live_req64 += req;
		m->live_cls64 += cls;
	}
}

/* Buffer i of the model was freed. */
static void
model_forget(struct model *m, size_t i)
{
	struct mbuf b = m->b[i];
	uint64_t off = b.addr - m->t->base, g = off >> 6;
	uint32_t s = (uint32_t)(off >> m->shift);

	memset(m->covered + g, 0, b.cls >> 6);
	m->start[g] = 0;
	if (--m->slablive[s] == 0)
		m->slabcls[s] = NOCLS;
	m->live_req -= b.req;
	m->live_cls -= b.cls;
	if (b.req >= 64) {
		m->live_req64 -= b.req;
		m->live_cls64 -= b.cls;
	}
	m->b[i] = m->b[--m->n];
	if (i < m->n)
		m->start[(m->b[i].addr - m->t->base) >> 6] = (uint32_t)i + 1;
}

/* ENOMEM for req must be right: no free slab, no room in the class. */
static void
model_enomem(struct model *m, uint64_t req)
{
	int c = log2u(class_size(req));

	REQ_EQ(errno, ENOMEM);
	REQ(!model_freeslab(m), "ENOMEM with a free slab");
	REQ(!model_partial(m, c), "ENOMEM for %llu with room in a "
	    "slab of its class", (unsigned long long)req);
}

static uint64_t
used_slabs(const struct model *m)
{
	uint64_t n = 0;
	uint32_t s;

	for (s = 0; s < m->nslabs; s++)
		n += m->slabcls[s] != NOCLS;
	return n;
}

static void
model_stats(struct model *m)
{
	struct zpool_stats st;

	zpool_stats(m->t->p, &st);
	REQ_EQ(st.nlive, m->n);
	REQ_EQ(st.live_bytes, m->live_cls);
	REQ_EQ(st.req_bytes, m->req_total);
	REQ_EQ(st.slab_bytes, used_slabs(m) << m->shift);
	REQ_EQ(st.total_bytes, (uint64_t)m->nslabs << m->shift);
}

/* A random address in or near the pool agrees with the model. */
static void
model_probe(struct model *m)
{
	struct pool *t = m->t;
	uint64_t span = (uint64_t)m->nslabs << m->shift, a, g;
	int want;

	switch (rnd_below(4)) {
	case 0:		/* a live buffer's start, maybe shifted a little */
		if (m->n == 0)
			return;
		a = m->b[rnd_below(m->n)].addr;
		if (rnd_below(2))
			a += rnd_below(2) ? 64 * (1 + rnd_below(4)) :
			    1 + rnd_below(63);
		break;
	case 1:		/* anywhere, granule-aligned */
		a = t->base + (rnd_below(span) & ~63ULL);
		break;
	case 2:		/* anywhere */
		a = t->base + rnd_below(span);
		break;
	default:	/* around the ends */
		a = rnd_below(2) ? t->base - 64 * rnd_below(4) :
		    t->base + span + 64 * rnd_below(4) - 64;
		break;
	}
	want = a >= t->base && a - t->base < span && (a - t->base) % 64 == 0 &&
	    (g = (a - t->base) >> 6, m->start[g] != 0);
	REQ(is_live(t, a) == want, "zpool_check(0x%llx) says %s, the "
	    "model %s", (unsigned long long)a, want ? "not live" : "live",
	    want ? "live" : "not live");
}

/* Free model buffer i through the allocator. */
static void
model_free(struct model *m, size_t i)
{
	uint64_t a = m->b[i].addr;

	REQ(zpool_free(m->t->p, a) == 0, "free 0x%llx refused",
	    (unsigned long long)a);
	REQ_T(!is_live(m->t, a));
	model_forget(m, i);
}

/*
 * nops random operations; the chance to allocate swings between 30% and
 * 90% so the pool fills, drains and slabs change class.
 */
static void
workload(struct model *m, int nops, void (*sample)(struct model *, int))
{
	uint64_t maxlen = 1ULL << m->shift;
	int op;

	for (op = 0; op < nops; op++) {
		int phase = (op / 2000) % 2;
		int p_alloc = phase ? 30 : 90;

		if (m->n == 0 || (int)rnd_below(100) < p_alloc) {
			size_t len = rnd_len(maxlen);
			uint64_t a;

			errno = 0;
			a = zpool_alloc(m->t->p, len);
			if (a == 0) {
				model_enomem(m, len);
				if (sample)
					sample(m, 1);
			} else
				model_alloc(m, a, len);
		} else
			model_free(m, rnd_below(m->n));
		model_probe(m);
		if (op % 97 == 0)
			model_stats(m);
		if (sample)
			sample(m, 0);
	}
	model_stats(m);
}

static void
drain(struct model *m)
{
	while (m->n > 0)
		model_free(m, rnd_below(m->n));
	model_stats(m);
}

/* ---- geometry ---- */

START_TEST(geometry)
{
	static const struct { uint64_t len; uint32_t shift, nslabs; } g[] = {
		{ 64, 6, 1 }, { 100, 6, 1 }, { 128, 7, 1 }, { 1000, 9, 1 },
		{ 4096, 12, 1 }, { 65536 + 1, 16, 1 }, { MIB - 1, 19, 1 },
		{ MIB, 20, 1 }, { 3 * MIB + MIB / 2, 20, 3 }, { 64 * MIB, 20, 64 },
	};
	size_t i;

	for (i = 0; i < sizeof g / sizeof g[0]; i++) {
		struct pool t;

		pool_make(&t, BASE, g[i].len);
		REQ_EQ(t.sh->slab_shift, g[i].shift);
		REQ_EQ(t.sh->nslabs, g[i].nslabs);
		REQ_EQ(t.sh->base, BASE);
		REQ_EQ(t.sh->len, g[i].len);
		REQ_T(!zpool_shared_valid(t.sh, t.size - 1));
		REQ_T(!zpool_shared_valid(t.sh, t.size + 1));
		pool_drop(&t);
	}
}
END_TEST

START_TEST(init_refuses)
{
	struct zpool_shared *sh = malloc(zpool_shared_size(MIB));

	REQ_NONNULL(sh);
	errno = 0;
	REQ_EQ(zpool_shared_init(sh, BASE, 63), -1);
	REQ_EQ(errno, EINVAL);
	errno = 0;
	REQ_EQ(zpool_shared_init(sh, BASE + 32, MIB), -1);
	REQ_EQ(errno, EINVAL);
	REQ_EQ(zpool_shared_init(sh, BASE + 64, MIB), 0);
	free(sh);
}
END_TEST

/* zpool_alloc of len refused: 0, and errno err. */
static void
alloc_refused(struct pool *t, size_t len, int err)
{
	errno = 0;
	REQ_EQ(zpool_alloc(t->p, len), 0);
	REQ_EQ(errno, err);
}

/* Every length from 1 to the slab gets exactly its power-of-two class. */
START_TEST(class_sizes)
{
	struct pool t;
	uint64_t len, a;

	pool_make(&t, BASE, 64 * MIB);
	for (len = 1; len <= MIB; len = len < 4096 ? len + 1 : len * 3 / 2 + 1) {
		uint64_t want = class_size(len);

		a = zpool_alloc(t.p, len);
		REQ(a != 0, "alloc %llu: %s", (unsigned long long)len,
		    strerror(errno));
		REQ_EQ(live_size(&t, a), want);
		REQ_EQ((a - BASE) % want, 0);
		REQ_EQ(zpool_free(t.p, a), 0);
	}
	/* the edges: a class's size, one more */
	for (len = 64; len <= MIB; len *= 2) {
		a = zpool_alloc(t.p, len);
		REQ_EQ(live_size(&t, a), len);
		REQ_EQ(zpool_free(t.p, a), 0);
		if (len < MIB) {
			a = zpool_alloc(t.p, len + 1);
			REQ_EQ(live_size(&t, a), len * 2);
			REQ_EQ(zpool_free(t.p, a), 0);
		}
	}
	alloc_refused(&t, 0, EINVAL);
	alloc_refused(&t, MIB + 1, EINVAL);
	alloc_refused(&t, SIZE_MAX, EINVAL);
	pool_drop(&t);
}
END_TEST

/* A small segment: slabs (and the largest class) shrink to fit. */
START_TEST(small_segment)
{
	struct pool t;
	uint64_t a, b;

	pool_make(&t, BASE, 1000);	/* one slab of 512 */
	alloc_refused(&t, 513, EINVAL);
	a = zpool_alloc(t.p, 512);
	REQ_EQ(a, BASE);
	alloc_refused(&t, 1, ENOMEM);
	REQ_EQ(zpool_free(t.p, a), 0);
	a = zpool_alloc(t.p, 1);
	b = zpool_alloc(t.p, 64);
	REQ_T(a != 0 && b != 0 && a != b);
	REQ_T(a - BASE < 512 && b - BASE < 512);
	pool_drop(&t);

	pool_make(&t, BASE, 64);	/* one buffer */
	a = zpool_alloc(t.p, 10);
	REQ_EQ(a, BASE);
	alloc_refused(&t, 10, ENOMEM);
	REQ_EQ(zpool_free(t.p, a), 0);
	REQ_EQ(zpool_alloc(t.p, 64), BASE);
	pool_drop(&t);
}
END_TEST

/* The tail past the last whole slab is never handed out. */
START_TEST(tail_unused)
{
	struct model m;
	struct pool t;
	uint64_t a;
	int n = 0;

	pool_make(&t, BASE, 3 * MIB + MIB / 2);
	model_init(&m, &t);
	while ((a = zpool_alloc(t.p, 65536)) != 0) {
		model_alloc(&m, a, 65536);
		n++;
	}
	model_enomem(&m, 65536);
	REQ_EQ(n, 3 * 16);
	REQ_T(!is_live(&t, BASE + 3 * MIB));
	drain(&m);
	model_free_all(&m);
	pool_drop(&t);
}
END_TEST

/* ---- the model ---- */

START_TEST(random_model)
{
	uint64_t s = seed(1000 + (uint64_t)_i);
	struct model m;
	struct pool t;

	printf("zio_pool random_model: seed %llu\n", (unsigned long long)s);
	pool_make(&t, BASE, 32 * MIB);
	model_init(&m, &t);
	workload(&m, 20000, NULL);
	drain(&m);
	/* every slab came back: the whole pool in slab-sized buffers */
	{
		uint32_t i;
		for (i = 0; i < m.nslabs; i++)
			model_alloc(&m, zpool_alloc(t.p, MIB), MIB);
		errno = 0;
		REQ_EQ(zpool_alloc(t.p, 64), 0);
		model_enomem(&m, 64);
	}
	drain(&m);
	model_free_all(&m);
	pool_drop(&t);
}
END_TEST

/* No state in the buffers: the allocator never touches them, and
 * scribbling over every buffer (and past their ends) harms nothing. */
START_TEST(state_outside_buffers)
{
	uint64_t len = 8 * MIB, i;
	uint8_t *mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct model m;
	struct pool t;

	REQ_T(mem != MAP_FAILED);
	seed(7);
	for (i = 0; i < len; i++)
		mem[i] = (uint8_t)(i * 31 + 7);
	pool_make(&t, (uint64_t)(uintptr_t)mem, len);
	model_init(&m, &t);
	workload(&m, 5000, NULL);
	for (i = 0; i < len; i++)
		if (mem[i] != (uint8_t)(i * 31 + 7))
			ck_abort_msg("the allocator wrote byte %llu of the "
			    "segment", (unsigned long long)i);
	/* the owner writes everywhere, past every buffer's end */
	for (i = 0; i < len; i += 8)
		*(uint64_t *)(void *)(mem + i) = rnd();
	workload(&m, 5000, NULL);
	drain(&m);
	model_free_all(&m);
	pool_drop(&t);
	munmap(mem, len);
}
END_TEST

/* ---- refusals ---- */

/* A refused free changes nothing: the same stats, the same live set. */
static void
refused(struct model *m, uint64_t a, const char *what)
{
	struct zpool_stats before, after;
	size_t i;

	zpool_stats(m->t->p, &before);
	errno = 0;
	REQ(zpool_free(m->t->p, a) == -1, "free of %s 0x%llx "
	    "accepted", what, (unsigned long long)a);
	REQ_EQ(errno, EINVAL);
	REQ(zpool_unlive(m->t->sh, m->t->size, a) == -1,
	    "unlive of %s accepted", what);
	REQ(zpool_reclaim(m->t->p, a) == -1,
	    "reclaim of %s accepted", what);
	zpool_stats(m->t->p, &after);
	after.visits = before.visits;	/* a refusal may look; it changes nothing */
	REQ_T(memcmp(&before, &after, sizeof before) == 0);
	for (i = 0; i < m->n; i++)
		REQ_T(is_live(m->t, m->b[i].addr));
	model_stats(m);
}

START_TEST(double_free)
{
	struct model m;
	struct pool t;
	uint64_t a, b, c;

	pool_make(&t, BASE, 4 * MIB);
	model_init(&m, &t);
	model_alloc(&m, a = zpool_alloc(t.p, 100), 100);
	model_alloc(&m, b = zpool_alloc(t.p, 100), 100);
	model_free(&m, 0);
	refused(&m, a, "a freed buffer");
	REQ_T(is_live(&t, b));
	/* the slot is reused once, then freed once more */
	model_alloc(&m, c = zpool_alloc(t.p, 128), 128);
	REQ_EQ(c, a);
	model_free(&m, 1);
	refused(&m, a, "a freed buffer");
	/* a slab emptied and given to another class */
	model_free(&m, 0);
	refused(&m, b, "a buffer of an emptied slab");
	model_alloc(&m, zpool_alloc(t.p, MIB), MIB);
	refused(&m, b, "a buffer of a slab now serving another class");
	drain(&m);
	model_free_all(&m);
	pool_drop(&t);
}
END_TEST

START_TEST(foreign_addresses)
{
	struct model m;
	struct pool t;
	uint64_t big, small, mid;

	pool_make(&t, BASE, 3 * MIB + MIB / 2);
	model_init(&m, &t);
	model_alloc(&m, big = zpool_alloc(t.p, 4096), 4096);	/* slab A */
	model_alloc(&m, small = zpool_alloc(t.p, 64), 64);	/* slab B */
	model_alloc(&m, mid = zpool_alloc(t.p, 1024), 1024);	/* slab C */
	REQ_T(((big ^ small) >> 20) && ((small ^ mid) >> 20));
	refused(&m, 0, "zero");
	refused(&m, UINT64_MAX, "the top");
	refused(&m, BASE - 64, "below the segment");
	refused(&m, BASE - 4096, "below the segment");
	refused(&m, BASE + 3 * MIB, "the unused tail");
	refused(&m, BASE + 3 * MIB + MIB / 2, "the end");
	refused(&m, BASE + 64 * MIB, "far past the end");
	refused(&m, big + 1, "a misaligned address");
	refused(&m, big + 8, "a misaligned address");
	refused(&m, big + 63, "a misaligned address");
	refused(&m, big + 64, "inside a buffer");
	refused(&m, big + 2048, "inside a buffer");
	refused(&m, big + 4095, "the last byte of a buffer");
	refused(&m, big + 4096, "a free slot of a used slab");
	refused(&m, (big & ~(MIB - 1)) + MIB - 4096, "a never used slot");
	refused(&m, small + 64, "a free slot of a used slab");
	refused(&m, mid + 64, "inside a buffer of another class");
	refused(&m, small + 1024, "another class's slot, free");
	/* aligned for 64 but in the 4096 class's slab */
	refused(&m, big + 4096 + 64, "another class's alignment");
	drain(&m);
	refused(&m, big, "a free slab");
	refused(&m, BASE, "a free slab");
	model_free_all(&m);
	pool_drop(&t);
}
END_TEST

/* ---- exhaustion ---- */

START_TEST(exhaustion)
{
	uint64_t bufs[64], a;
	struct model m;
	struct pool t;
	int i, n;

	pool_make(&t, BASE, 4 * MIB);
	model_init(&m, &t);
	for (n = 0; n < 64; n++) {
		bufs[n] = zpool_alloc(t.p, 65536);
		model_alloc(&m, bufs[n], 65536);
	}
	errno = 0;
	REQ_EQ(zpool_alloc(t.p, 65536), 0);
	model_enomem(&m, 65536);
	/* every class is refused: no free slab */
	for (a = 1; a <= MIB; a *= 4) {
		errno = 0;
		REQ_EQ(zpool_alloc(t.p, a), 0);
		model_enomem(&m, a);
	}
	model_stats(&m);
	/* a free makes room for its class, and only its class */
	REQ_EQ(zpool_free(t.p, bufs[10]), 0);
	model_forget(&m, 10);
	errno = 0;
	REQ_EQ(zpool_alloc(t.p, 64), 0);
	model_enomem(&m, 64);
	a = zpool_alloc(t.p, 40000);
	REQ_EQ(a, bufs[10]);
	model_alloc(&m, a, 40000);
	/* emptying slab 1 lets another class take it */
	for (i = 63; i >= 0; i--)
		if (m.b[i].addr >> 20 == (BASE + MIB) >> 20) {
			REQ_EQ(zpool_free(t.p, m.b[i].addr), 0);
			model_forget(&m, (size_t)i);
		}
	for (n = 0; n < (int)(MIB / 128); n++) {
		a = zpool_alloc(t.p, 100);
		REQ_EQ(a >> 20, (BASE + MIB) >> 20);
		model_alloc(&m, a, 100);
	}
	errno = 0;
	REQ_EQ(zpool_alloc(t.p, 100), 0);
	model_enomem(&m, 100);
	REQ_EQ(live_size(&t, BASE + MIB), 128);
	model_stats(&m);
	drain(&m);
	for (n = 0; n < 4; n++)
		model_alloc(&m, zpool_alloc(t.p, MIB), MIB);
	drain(&m);
	model_free_all(&m);
	pool_drop(&t);
}
END_TEST

/* Exhaust, free at random, refill: ENOMEM is always right. */
START_TEST(exhaustion_random)
{
	uint64_t s = seed(77);
	struct model m;
	struct pool t;
	int round, k;

	printf("zio_pool exhaustion_random: seed %llu\n", (unsigned long long)s);
	pool_make(&t, BASE, 8 * MIB);
	model_init(&m, &t);
	for (round = 0; round < 6; round++) {
		int misses = 0;

		while (misses < 50) {
			size_t len = rnd_len(MIB);
			uint64_t a;

			errno = 0;
			if ((a = zpool_alloc(t.p, len)) == 0) {
				model_enomem(&m, len);
				misses++;
			} else
				model_alloc(&m, a, len);
		}
		model_stats(&m);
		for (k = (int)m.n / 2; k > 0; k--)
			model_free(&m, rnd_below(m.n));
	}
	drain(&m);
	model_free_all(&m);
	pool_drop(&t);
}
END_TEST

/* ---- the validator: unlive, relive, reclaim ---- */

START_TEST(unlive_relive_reclaim)
{
	struct zpool_stats st;
	struct pool t;
	uint64_t a, b, size;

	pool_make(&t, BASE, 4 * MIB);
	a = zpool_alloc(t.p, 200);
	b = zpool_alloc(t.p, 200);
	REQ_T(a && b);
	/* unlive: no longer valid; a second unlive is refused */
	REQ_EQ(zpool_unlive(t.sh, t.size, a), 0);
	REQ_T(!is_live(&t, a));
	REQ_EQ(zpool_unlive(t.sh, t.size, a), -1);
	REQ_T(is_live(&t, b));
	/* relive undoes it (a failed batch) */
	zpool_relive(t.sh, t.size, a);
	REQ_T(is_live(&t, a));
	REQ_EQ(zpool_check(t.sh, t.size, a, &size), 0);
	REQ_EQ(size, 256);
	/* reclaim needs the live bit clear: a live buffer is refused */
	REQ_EQ(zpool_reclaim(t.p, a), -1);
	zpool_stats(t.p, &st);
	REQ_EQ(st.nlive, 2);
	/* unlive, then reclaim: back in the pool, handed out next */
	REQ_EQ(zpool_unlive(t.sh, t.size, a), 0);
	zpool_stats(t.p, &st);
	REQ_EQ(st.nlive, 2);	/* not the allocator's until reclaim */
	REQ_EQ(zpool_reclaim(t.p, a), 0);
	zpool_stats(t.p, &st);
	REQ_EQ(st.nlive, 1);
	REQ_EQ(st.live_bytes, 256);
	/* a second reclaim of the same address is refused: no duplicate */
	REQ_EQ(zpool_reclaim(t.p, a), -1);
	zpool_stats(t.p, &st);
	REQ_EQ(st.nlive, 1);
	REQ_EQ(zpool_alloc(t.p, 256), a);
	REQ_NE(zpool_alloc(t.p, 256), a);
	/* a stale reclaim of a buffer handed out again is refused */
	REQ_EQ(zpool_reclaim(t.p, a), -1);
	REQ_T(is_live(&t, a));
	/* relive of a foreign address does nothing */
	zpool_relive(t.sh, t.size, BASE + 64 * MIB);
	zpool_relive(t.sh, t.size, BASE - 64);
	zpool_relive(t.sh, t.size, a + 1);
	REQ_T(!is_live(&t, a + 64));
	/* reclaim of shapes that are not buffers */
	REQ_EQ(zpool_reclaim(t.p, BASE - 64), -1);
	REQ_EQ(zpool_reclaim(t.p, BASE + 4 * MIB), -1);
	REQ_EQ(zpool_reclaim(t.p, a + 64), -1);
	REQ_EQ(zpool_reclaim(t.p, BASE + 3 * MIB), -1);
	pool_drop(&t);
}
END_TEST

/* A batch refused part-way: unlive what passed, relive it, nothing moved. */
START_TEST(batch_undo)
{
	uint64_t v[8], bad;
	struct pool t;
	int i, j;

	pool_make(&t, BASE, 16 * MIB);
	for (i = 0; i < 8; i++)
		REQ_NE(v[i] = zpool_alloc(t.p, 64 << i), 0);
	bad = v[3] + 64;
	for (i = 0; i < 8; i++) {
		uint64_t a = i == 5 ? bad : v[i];
		if (zpool_unlive(t.sh, t.size, a) < 0) {
			for (j = 0; j < i; j++)
				zpool_relive(t.sh, t.size, v[j]);
			break;
		}
	}
	REQ_EQ(i, 5);
	for (i = 0; i < 8; i++)
		REQ_T(is_live(&t, v[i]));
	/* a batch naming one buffer twice fails at the second */
	REQ_EQ(zpool_unlive(t.sh, t.size, v[2]), 0);
	REQ_EQ(zpool_unlive(t.sh, t.size, v[2]), -1);
	zpool_relive(t.sh, t.size, v[2]);
	for (i = 0; i < 8; i++)
		REQ_EQ(zpool_free(t.p, v[i]), 0);
	pool_drop(&t);
}
END_TEST

/* ---- taking over a pool (umsg: another process's allocator) ---- */

START_TEST(open_rebuilds)
{
	uint64_t s = seed(4242);
	struct zpool_stats sa, sb;
	struct model m;
	struct pool t;
	size_t i, nret = 0;
	uint64_t *ret;

	printf("zio_pool open_rebuilds: seed %llu\n", (unsigned long long)s);
	pool_make(&t, BASE, 16 * MIB);
	model_init(&m, &t);
	workload(&m, 3000, NULL);
	/* some buffers come back through the validator while the old
	 * allocator is gone: live bits cleared, nobody reclaims them */
	ret = malloc((m.n + 1) * sizeof *ret);
	REQ_NONNULL(ret);
	zpool_stats(t.p, &sa);
	zpool_close(t.p);
	for (i = 0; i < m.n; i++)
		if (rnd_below(4) == 0) {
			REQ_EQ(zpool_unlive(t.sh, t.size,
			    m.b[i].addr), 0);
			ret[nret++] = m.b[i].addr;
		}
	for (i = 0; i < nret; i++) {
		size_t k;
		for (k = 0; k < m.n; k++)
			if (m.b[k].addr == ret[i])
				break;
		sa.live_bytes -= m.b[k].cls;
		sa.nlive--;
		model_forget(&m, k);
	}
	t.p = zpool_open(t.sh);
	REQ_NONNULL(t.p);
	zpool_stats(t.p, &sb);
	REQ_EQ(sb.nlive, sa.nlive);
	REQ_EQ(sb.live_bytes, sa.live_bytes);
	REQ_EQ(sb.slab_bytes, used_slabs(&m) << m.shift);
	m.req_total = 0;	/* the new allocator counts from here */
	/* notifications of those returns reach the new allocator late: the
	 * buffers are already free in it, so reclaim refuses them */
	for (i = 0; i < nret; i++)
		REQ_EQ(zpool_reclaim(t.p, ret[i]), -1);
	model_stats(&m);
	/* it frees the old allocator's buffers, allocates around them */
	workload(&m, 3000, NULL);
	drain(&m);
	free(ret);
	model_free_all(&m);
	pool_drop(&t);
}
END_TEST

/* A taken-over pool keeps filling its partially used slabs first. */
START_TEST(open_uses_partial_slabs)
{
	struct zpool_stats st;
	struct pool t;
	uint64_t a;
	int n;

	pool_make(&t, BASE, 4 * MIB);
	a = zpool_alloc(t.p, 64);
	zpool_close(t.p);
	t.p = zpool_open(t.sh);
	for (n = 1; n < (int)(MIB / 64); n++)
		REQ_EQ(zpool_alloc(t.p, 64) >> 20, a >> 20);
	zpool_stats(t.p, &st);
	REQ_EQ(st.slab_bytes, MIB);
	REQ_EQ(st.nlive, MIB / 64);
	REQ_NE(zpool_alloc(t.p, 64) >> 20, a >> 20);
	pool_drop(&t);
}
END_TEST

/* ---- corrupt shared state: never a read outside it ---- */

START_TEST(valid_refuses_bad_headers)
{
	struct zpool_shared *c;
	struct pool t;

	pool_make(&t, BASE, MIB + MIB / 2);	/* 1 slab of 1 MiB */
	c = malloc(t.size);
	REQ_NONNULL(c);
#define BAD(stmt) do {							\
	memcpy(c, t.sh, t.size);					\
	stmt;								\
	REQ(!zpool_shared_valid(c, t.size), "accepted: %s", #stmt); \
	REQ_EQ(zpool_check(c, t.size, BASE, NULL), -1);	\
} while (0)
	zpool_alloc(t.p, MIB);	/* BASE is live */
	memcpy(c, t.sh, t.size);
	REQ_T(zpool_shared_valid(c, t.size));
	REQ_EQ(zpool_check(c, t.size, BASE, NULL), 0);
	BAD(c->magic ^= 1);
	BAD(c->magic = 0);
	BAD(c->slab_shift = 5);
	BAD(c->slab_shift = 21);
	BAD(c->slab_shift = 255);
	BAD(c->slab_shift = 0xffffffffu);
	BAD(c->slab_shift = 19);
	BAD((c->slab_shift = 6, c->nslabs = (uint32_t)(c->len >> 6)));
	BAD((c->slab_shift = 19, c->nslabs = 3));
	BAD(c->nslabs = 2);
	BAD(c->nslabs = 0);
	BAD(c->nslabs = UINT32_MAX);
	BAD(c->len = 0);
	BAD(c->len = 63);
	BAD(c->len = 64 * MIB);
	BAD((c->len = 64 * MIB, c->nslabs = 64));
	BAD((c->len = 1ULL << 40, c->nslabs = 1u << 20));
	BAD(c->len = UINT64_MAX);
	BAD(c->base += 1);
	BAD(c->base += 32);
#undef BAD
	/* a header of another length is wrong for this size */
	REQ_T(!zpool_shared_valid(t.sh, zpool_shared_size(2 * MIB)));
	REQ_T(!zpool_shared_valid(t.sh, zpool_shared_size(MIB / 2)));
	REQ_T(!zpool_shared_valid(t.sh, 0));
	REQ_T(!zpool_shared_valid(t.sh, sizeof *t.sh - 1));
	free(c);
	pool_drop(&t);
}
END_TEST

/* Random bytes in the header and classes; checks of random addresses. */
START_TEST(fuzz_shared_state)
{
	uint64_t s = seed(31337);
	static const uint64_t lens[] = { 64, 4096, MIB, 3 * MIB + 4096,
	    16 * MIB };
	int round;

	printf("zio_pool fuzz_shared_state: seed %llu\n", (unsigned long long)s);
	for (round = 0; round < 3000; round++) {
		uint64_t len = lens[rnd_below(sizeof lens / sizeof lens[0])];
		struct pool t;
		uint8_t *b;
		size_t i, k, nf;
		int probe, valid;

		pool_make(&t, BASE, len);
		for (i = rnd_below(50); i > 0; i--)
			zpool_alloc(t.p, rnd_len(1ULL << t.sh->slab_shift));
		zpool_close(t.p);
		t.p = NULL;
		b = (uint8_t *)t.sh;
		nf = 1 + rnd_below(8);
		for (k = 0; k < nf; k++) {
			switch (rnd_below(5)) {
			case 0:	/* any byte of the header */
				b[rnd_below(sizeof *t.sh)] = (uint8_t)rnd();
				break;
			case 1:	/* a plausible field */
				switch (rnd_below(4)) {
				case 0: t.sh->slab_shift = (uint32_t)rnd_below(70);
					break;
				case 1: t.sh->nslabs = (uint32_t)(rnd_below(2) ?
					    rnd() : rnd_below(1u << 16));
					break;
				case 2: t.sh->len = rnd_below(2) ? rnd() :
					    rnd_below(64 * MIB);
					break;
				default: t.sh->base = rnd_below(2) ? rnd() :
					    BASE + rnd_below(MIB);
				}
				break;
			case 2:	/* a consistent-looking lie */
				t.sh->slab_shift = 6 + (uint32_t)rnd_below(15);
				t.sh->nslabs = (uint32_t)(t.sh->len >>
				    t.sh->slab_shift);
				break;
			default:	/* class bytes and live bits */
				b[sizeof *t.sh + rnd_below(t.size -
				    sizeof *t.sh)] = (uint8_t)rnd();
				break;
			}
		}
		valid = zpool_shared_valid(t.sh, t.size);
		for (probe = 0; probe < 64; probe++) {
			uint64_t a = rnd_below(3) == 0 ? rnd() :
			    BASE + rnd_below(len + 4096) - 64;
			uint64_t size = 0;
			int r = zpool_check(t.sh, t.size, a, &size);

			REQ_T(r == 0 || r == -1);
			if (r == 0) {
				REQ(valid, "a live address in a state "
				    "zpool_shared_valid refuses");
				REQ_T(size >= 64 && size <=
				    (1ULL << t.sh->slab_shift));
				REQ_EQ((a - t.sh->base) % size, 0);
			}
			if (rnd_below(4) == 0 &&
			    zpool_unlive(t.sh, t.size, a) == 0)
				zpool_relive(t.sh, t.size, a);
			if (rnd_below(8) == 0)
				zpool_relive(t.sh, t.size, a);
		}
		/* a state that passes can be opened and used */
		if (zpool_shared_valid(t.sh, t.size)) {
			uint64_t a;

			t.p = zpool_open(t.sh);
			REQ_NONNULL(t.p);
			for (i = 0; i < 20; i++)
				if ((a = zpool_alloc(t.p, rnd_len(1ULL <<
				    t.sh->slab_shift))) != 0)
					REQ_T(is_live(&t, a));
		}
		pool_drop(&t);
	}
}
END_TEST

/* ---- O(1): the cost of alloc and free does not grow with the pool ---- */

/*
 * Slab entries visited per operation over nops allocs and frees of small
 * buffers of several classes (at most 1,024 live), in a pool of nslabs
 * slabs all but 16 of them held by 1 MiB buffers: an allocator that
 * searched the slabs or a list would visit more in the larger pool.
 */
static double
churn_visits(uint64_t nslabs, int nops)
{
	uint64_t *held = malloc(1024 * sizeof *held);
	struct zpool_stats st0, st1;
	struct pool t;
	uint64_t i;
	int n = 0, op;

	REQ_NONNULL(held);
	pool_make(&t, BASE, nslabs * MIB);
	for (i = 0; i + 16 < nslabs; i++)
		REQ_NE(zpool_alloc(t.p, MIB), 0);
	zpool_stats(t.p, &st0);
	rng = 99;
	for (op = 0; op < nops; op++) {
		if (n < 1024 && (n == 0 || rnd_below(2))) {
			uint64_t a = zpool_alloc(t.p, (size_t)64 << rnd_below(6));
			REQ_NE(a, 0);
			held[n++] = a;
		} else {
			uint64_t k = rnd_below((uint64_t)n);
			REQ_EQ(zpool_free(t.p, held[k]), 0);
			held[k] = held[--n];
		}
	}
	zpool_stats(t.p, &st1);
	while (n > 0)
		REQ_EQ(zpool_free(t.p, held[--n]), 0);
	pool_drop(&t);
	free(held);
	return (double)(st1.visits - st0.visits) / nops;
}

START_TEST(constant_visits)
{
	int nops = 200000;
	double small, big;

	/* 24 MiB against 8 GiB of address space (340 times the slabs) */
	small = churn_visits(24, nops);
	big = churn_visits(8192 + 16, nops);
	/* the counter counts: every operation touches its slab */
	REQ(small >= 1.0, "%.2f slab visits per operation: not counted", small);
	/* the same operations visit as many entries, whatever the pool */
	REQ(big <= small, "alloc/free visits grew with the pool: %.3f per "
	    "operation over 24 slabs, %.3f over 8208", small, big);
}
END_TEST

/* ---- fragmentation figures ---- */

struct frag {
	double   int_sum, ext_sum, int_max, ext_max, int64_sum, int64_max;
	long     samples, enomem;
	double   fill_req, fill_cls;	/* at the first ENOMEM */
};

static struct frag fr;

static void
frag_sample(struct model *m, int enomem)
{
	uint64_t slab = used_slabs(m) << m->shift;
	uint64_t total = (uint64_t)m->nslabs << m->shift;
	double in, ex;

	if (enomem) {
		if (fr.enomem++ == 0) {
			fr.fill_req = (double)m->live_req / (double)total;
			fr.fill_cls = (double)m->live_cls / (double)total;
		}
		return;
	}
	if (m->live_cls == 0 || slab == 0)
		return;
	in = 1.0 - (double)m->live_req / (double)m->live_cls;
	ex = (double)(slab - m->live_cls) / (double)slab;
	/* the bound that holds always: a buffer is under twice its request
	 * (64 bytes at the least), and slabs hold the live buffers */
	REQ_T(in < 1.0 && m->live_cls <= slab);
	if (m->live_cls64 > 0) {
		double in64 = 1.0 - (double)m->live_req64 /
		    (double)m->live_cls64;
		REQ_T(in64 < 0.5);
		fr.int64_sum += in64;
		if (in64 > fr.int64_max)
			fr.int64_max = in64;
	}
	fr.int_sum += in;
	fr.ext_sum += ex;
	if (in > fr.int_max)
		fr.int_max = in;
	if (ex > fr.ext_max)
		fr.ext_max = ex;
	fr.samples++;
}

START_TEST(fragmentation)
{
	uint64_t s = seed(2024);
	struct model m;
	struct pool t;

	pool_make(&t, BASE, 64 * MIB);
	model_init(&m, &t);
	memset(&fr, 0, sizeof fr);
	workload(&m, 40000, frag_sample);
	REQ_T(fr.samples > 1000 && fr.enomem > 0);
	printf("zio_pool fragmentation (seed %llu, 64 MiB pool, 40000 random "
	    "ops, lengths 1 B..1 MiB: 50%% <=256 B, 30%% <=16 KiB, 15%% "
	    "<=256 KiB, 5%% <=1 MiB):\n"
	    "  internal (1 - requested/class bytes of live buffers): "
	    "mean %.1f%%, max %.1f%%; requests of 64 B or more: mean %.1f%%, "
	    "max %.1f%%\n"
	    "  external (free bytes in slabs serving a class / those slabs): "
	    "mean %.1f%%, max %.1f%%\n"
	    "  first ENOMEM: requested bytes %.1f%% of the pool, class bytes "
	    "%.1f%%; %ld refusals in all\n",
	    (unsigned long long)s, 100 * fr.int_sum / (double)fr.samples,
	    100 * fr.int_max, 100 * fr.int64_sum / (double)fr.samples,
	    100 * fr.int64_max, 100 * fr.ext_sum / (double)fr.samples,
	    100 * fr.ext_max, 100 * fr.fill_req, 100 * fr.fill_cls, fr.enomem);
	drain(&m);
	model_free_all(&m);
	pool_drop(&t);
}
END_TEST

/* Every test starts from the same pseudo-random sequence. */
static void
setup(void)
{
	seed(1);
	memset(&fr, 0, sizeof fr);
}

static void
teardown(void)
{
}

static const struct ck_fix fix = { .setup = setup, .teardown = teardown };

void
suite(Suite *s)
{
	TCase *tc;

	ck_tcase(s, "geometry", &fix, 30, geometry, init_refuses, class_sizes,
	    small_segment, tail_unused, NULL);
	tc = ck_tcase(s, "model", &fix, 120, state_outside_buffers,
	    fragmentation, NULL);
	tcase_add_loop_test(tc, random_model, 0, 3);
	ck_tcase(s, "refusals", &fix, 60, double_free, foreign_addresses,
	    exhaustion, exhaustion_random, NULL);
	ck_tcase(s, "validator", &fix, 120, unlive_relive_reclaim, batch_undo,
	    open_rebuilds, open_uses_partial_slabs, valid_refuses_bad_headers,
	    fuzz_shared_state, NULL);
	ck_tcase(s, "cost", &fix, 120, constant_visits, NULL);
}
