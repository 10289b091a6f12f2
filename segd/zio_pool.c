/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * zio_pool.c: the buffer allocator of zero-copy segments.  segd runs it for
 * kmsg segments; libseg runs its twin (this same file) in the process that
 * created a umsg segment.
 *
 * The segment is cut into slabs of 2^slab_shift bytes (1 MiB, or less for
 * a small segment).  A slab serves one size class, a power of two from 64
 * bytes to the slab size, while any of its buffers is live; an empty slab
 * goes back to the free slabs and may serve another class next.  Allocation
 * and free are O(1): a per-class list of slabs with free buffers, a per-slab
 * free list plus a bump index.  Internal fragmentation is under half a
 * buffer (power-of-two classes); external fragmentation is bounded by one
 * partially used slab per class at the least.
 *
 * No state lives in the buffers.  What a validator needs — each slab's class
 * and one live bit per 64-byte granule — is in `struct zpool_shared`, which
 * for umsg is shared memory between segd (which validates and clears live
 * bits with atomic operations when a buffer is returned) and the allocating
 * process (which sets them).  Free lists are private to the allocator.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "zio_pool.h"

#define NIL  UINT32_MAX
#define USED (UINT32_MAX - 1)	/* link[] of a slot handed out, not taken back */

struct zslab {
	uint32_t  prev, next;	/* partial list of its class, or free list */
	uint32_t  nslots, nfree, bump, fhead;
	uint32_t *link;		/* free-list links, one per slot */
	uint8_t   cls;
	uint8_t   listed;
};

struct zpool {
	struct zpool_shared *sh;
	size_t               shsize;
	uint8_t             *cls;	/* shared: each slab's class */
	uint64_t            *live;	/* shared: live bit per granule */
	struct zslab        *slabs;
	uint32_t             partial[ZP_MAXSHIFT + 1];
	uint32_t             freeslabs;
	uint64_t             nlive, live_bytes, req_bytes;
	uint64_t             visits;	/* slab entries alloc/free touched */
};

static size_t
align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

static uint32_t
slab_shift_for(uint64_t len)
{
	uint32_t s = ZP_MAXSHIFT;

	while (s > ZP_MINSHIFT && (1ULL << s) > len)
		s--;
	return s;
}

size_t
zpool_shared_size(uint64_t len)
{
	uint32_t shift = slab_shift_for(len);
	uint64_t nslabs = len >> shift;
	uint64_t ngran = (nslabs << shift) >> ZP_MINSHIFT;

	return sizeof(struct zpool_shared) + align8((size_t)nslabs) +
	    (size_t)((ngran + 63) / 64) * 8;
}

static uint8_t *
sh_cls(struct zpool_shared *sh)
{
	return (uint8_t *)(sh + 1);
}

static uint64_t *
sh_live(struct zpool_shared *sh, uint32_t nslabs)
{
	return (uint64_t *)(void *)((uint8_t *)(sh + 1) + align8(nslabs));
}

int
zpool_shared_init(struct zpool_shared *sh, uint64_t base, uint64_t len)
{
	uint32_t shift = slab_shift_for(len);

	if (len < (1u << ZP_MINSHIFT) || base % (1u << ZP_MINSHIFT)) {
		errno = EINVAL;
		return -1;
	}
	memset(sh, 0, zpool_shared_size(len));
	sh->magic = ZP_MAGIC;
	sh->slab_shift = shift;
	sh->nslabs = (uint32_t)(len >> shift);
	sh->base = base;
	sh->len = len;
	memset(sh_cls(sh), ZP_NOCLASS, sh->nslabs);
	return 0;
}

/*
 * A shared header from another process, read once into g: every field
 * checked, and the layout it gives (slab_shift from len, then nslabs) must
 * be exactly size bytes.  Callers use g, never the shared header again.
 */
static int
geom_get(const struct zpool_shared *sh, size_t size, struct zpool_shared *g)
{
	if (size < sizeof *sh)
		return 0;
	g->magic = __atomic_load_n(&sh->magic, __ATOMIC_RELAXED);
	g->slab_shift = __atomic_load_n(&sh->slab_shift, __ATOMIC_RELAXED);
	g->nslabs = __atomic_load_n(&sh->nslabs, __ATOMIC_RELAXED);
	g->base = __atomic_load_n(&sh->base, __ATOMIC_RELAXED);
	g->len = __atomic_load_n(&sh->len, __ATOMIC_RELAXED);
	if (g->magic != ZP_MAGIC || g->len < (1u << ZP_MINSHIFT) ||
	    g->base % (1u << ZP_MINSHIFT) != 0 ||
	    g->slab_shift != slab_shift_for(g->len) ||
	    g->nslabs != g->len >> g->slab_shift ||
	    zpool_shared_size(g->len) != size)
		return 0;
	return 1;
}

int
zpool_shared_valid(const struct zpool_shared *sh, size_t size)
{
	struct zpool_shared g;

	return geom_get(sh, size, &g);
}

static int
live_test(const uint64_t *live, uint64_t g)
{
	return (__atomic_load_n(&live[g / 64], __ATOMIC_ACQUIRE) >> (g % 64)) & 1;
}

static void
live_set(uint64_t *live, uint64_t g)
{
	__atomic_fetch_or(&live[g / 64], 1ULL << (g % 64), __ATOMIC_RELEASE);
}

/* Clear; returns whether it was set. */
static int
live_clear(uint64_t *live, uint64_t g)
{
	uint64_t bit = 1ULL << (g % 64);

	return (__atomic_fetch_and(&live[g / 64], ~bit, __ATOMIC_ACQ_REL) &
	    bit) != 0;
}

/*
 * The granule of a buffer start, or -1 if addr is not one of a live buffer.
 * *live gets the live bitmap of the header as read (g).
 */
static int64_t
check(struct zpool_shared *sh, size_t shsize, uint64_t addr, uint64_t *size,
    uint64_t **live)
{
	struct zpool_shared g;
	uint64_t off, s;
	uint8_t c;

	if (!geom_get(sh, shsize, &g))
		return -1;
	if (addr < g.base || addr - g.base >= (uint64_t)g.nslabs << g.slab_shift)
		return -1;
	off = addr - g.base;
	s = off >> g.slab_shift;
	c = __atomic_load_n(&sh_cls(sh)[s], __ATOMIC_ACQUIRE);
	if (c < ZP_MINSHIFT || c > g.slab_shift)
		return -1;
	if (off & ((1ULL << c) - 1))
		return -1;
	*live = sh_live(sh, g.nslabs);
	if (!live_test(*live, off >> ZP_MINSHIFT))
		return -1;
	if (size)
		*size = 1ULL << c;
	return (int64_t)(off >> ZP_MINSHIFT);
}

int
zpool_check(struct zpool_shared *sh, size_t shsize, uint64_t addr,
    uint64_t *size)
{
	uint64_t *live;

	return check(sh, shsize, addr, size, &live) < 0 ? -1 : 0;
}

/* Mark a returned buffer not live; -1 if it was not a live buffer. */
int
zpool_unlive(struct zpool_shared *sh, size_t shsize, uint64_t addr)
{
	uint64_t *live;
	int64_t g = check(sh, shsize, addr, NULL, &live);

	if (g < 0 || !live_clear(live, (uint64_t)g))
		return -1;
	return 0;
}

/* Undo zpool_unlive() of a batch that failed later on. */
void
zpool_relive(struct zpool_shared *sh, size_t shsize, uint64_t addr)
{
	struct zpool_shared g;

	if (!geom_get(sh, shsize, &g) || addr < g.base ||
	    addr - g.base >= (uint64_t)g.nslabs << g.slab_shift ||
	    (addr - g.base) % (1u << ZP_MINSHIFT) != 0)
		return;
	live_set(sh_live(sh, g.nslabs), (addr - g.base) >> ZP_MINSHIFT);
}

static void
list_remove(struct zpool *p, uint32_t *head, uint32_t s)
{
	struct zslab *z = &p->slabs[s];

	p->visits++;
	if (z->prev != NIL)
		p->slabs[z->prev].next = z->next;
	else
		*head = z->next;
	if (z->next != NIL)
		p->slabs[z->next].prev = z->prev;
	z->prev = z->next = NIL;
	z->listed = 0;
}

static void
list_push(struct zpool *p, uint32_t *head, uint32_t s)
{
	struct zslab *z = &p->slabs[s];

	p->visits++;
	z->prev = NIL;
	z->next = *head;
	if (*head != NIL)
		p->slabs[*head].prev = s;
	*head = s;
	z->listed = 1;
}

static void
slab_release(struct zpool *p, uint32_t s)
{
	struct zslab *z = &p->slabs[s];

	free(z->link);
	z->link = NULL;
	z->cls = ZP_NOCLASS;
	__atomic_store_n(&p->cls[s], ZP_NOCLASS, __ATOMIC_RELEASE);
	list_push(p, &p->freeslabs, s);
}

static int
slab_assign(struct zpool *p, uint32_t s, uint8_t c)
{
	struct zslab *z = &p->slabs[s];

	z->nslots = (uint32_t)(1ULL << (p->sh->slab_shift - c));
	if ((z->link = malloc((size_t)z->nslots * sizeof *z->link)) == NULL)
		return -1;
	z->cls = c;
	z->nfree = z->nslots;
	z->bump = 0;
	z->fhead = NIL;
	__atomic_store_n(&p->cls[s], c, __ATOMIC_RELEASE);
	return 0;
}

/*
 * An allocator over sh.  Slabs already in use (a process taking over a
 * umsg pool) are rebuilt from the live bits: O(slots), once.
 */
struct zpool *
zpool_open(struct zpool_shared *sh)
{
	struct zpool *p;
	uint32_t s, i;

	if ((p = calloc(1, sizeof *p)) == NULL)
		return NULL;
	p->sh = sh;
	p->shsize = zpool_shared_size(sh->len);
	p->cls = sh_cls(sh);
	p->live = sh_live(sh, sh->nslabs);
	p->freeslabs = NIL;
	for (i = 0; i <= ZP_MAXSHIFT; i++)
		p->partial[i] = NIL;
	if ((p->slabs = calloc(sh->nslabs ? sh->nslabs : 1,
	    sizeof *p->slabs)) == NULL) {
		free(p);
		return NULL;
	}
	for (s = sh->nslabs; s-- > 0; ) {
		struct zslab *z = &p->slabs[s];
		uint8_t c = p->cls[s];

		z->prev = z->next = NIL;
		if (c < ZP_MINSHIFT || c > sh->slab_shift) {
			slab_release(p, s);
			continue;
		}
		if (slab_assign(p, s, c) < 0) {
			zpool_close(p);
			return NULL;
		}
		z->bump = z->nslots;
		for (i = z->nslots; i-- > 0; ) {
			uint64_t g = (((uint64_t)s << sh->slab_shift) +
			    ((uint64_t)i << c)) >> ZP_MINSHIFT;
			if (live_test(p->live, g)) {
				z->link[i] = USED;
				z->nfree--;
				p->nlive++;
				p->live_bytes += 1ULL << c;
			} else {
				z->link[i] = z->fhead;
				z->fhead = i;
			}
		}
		if (z->nfree == z->nslots)
			slab_release(p, s);
		else if (z->nfree > 0)
			list_push(p, &p->partial[c], s);
	}
	return p;
}

void
zpool_close(struct zpool *p)
{
	uint32_t s;

	if (p == NULL)
		return;
	for (s = 0; s < p->sh->nslabs; s++)
		free(p->slabs[s].link);
	free(p->slabs);
	free(p);
}

static uint8_t
class_of(size_t len)
{
	uint8_t c = ZP_MINSHIFT;

	while ((1ULL << c) < len)
		c++;
	return c;
}

uint64_t
zpool_alloc(struct zpool *p, size_t len)
{
	struct zslab *z;
	uint32_t s, slot;
	uint8_t c;
	uint64_t off;

	if (len == 0 || len > (1ULL << p->sh->slab_shift)) {
		errno = EINVAL;
		return 0;
	}
	c = class_of(len);
	if ((s = p->partial[c]) == NIL) {
		if ((s = p->freeslabs) == NIL) {
			errno = ENOMEM;
			return 0;
		}
		list_remove(p, &p->freeslabs, s);
		if (slab_assign(p, s, c) < 0) {
			list_push(p, &p->freeslabs, s);
			errno = ENOMEM;
			return 0;
		}
		list_push(p, &p->partial[c], s);
	}
	z = &p->slabs[s];
	p->visits++;
	if (z->fhead != NIL) {
		slot = z->fhead;
		z->fhead = z->link[slot];
	} else
		slot = z->bump++;
	z->link[slot] = USED;
	if (--z->nfree == 0)
		list_remove(p, &p->partial[c], s);
	off = ((uint64_t)s << p->sh->slab_shift) + ((uint64_t)slot << c);
	live_set(p->live, off >> ZP_MINSHIFT);
	p->nlive++;
	p->live_bytes += 1ULL << c;
	p->req_bytes += len;
	return p->sh->base + off;
}

/*
 * Take back a buffer whose live bit is already clear (zpool_unlive).  The
 * address must have passed the validator; it is checked again for shape,
 * and refused (-1, nothing changes) unless it is a buffer this allocator
 * handed out and has not taken back, its live bit clear: a repeated or
 * stale address (one returned while the pool changed hands, then found
 * free by zpool_open, perhaps handed out again) must not enter the free
 * list twice.
 */
int
zpool_reclaim(struct zpool *p, uint64_t addr)
{
	struct zslab *z;
	uint64_t off;
	uint32_t s, slot;

	if (addr < p->sh->base || addr - p->sh->base >=
	    (uint64_t)p->sh->nslabs << p->sh->slab_shift)
		return -1;
	off = addr - p->sh->base;
	s = (uint32_t)(off >> p->sh->slab_shift);
	z = &p->slabs[s];
	p->visits++;
	if (z->cls == ZP_NOCLASS || (off & ((1ULL << z->cls) - 1)))
		return -1;
	slot = (uint32_t)((off & ((1ULL << p->sh->slab_shift) - 1)) >> z->cls);
	if (slot >= z->bump || z->nfree >= z->nslots || z->link[slot] != USED ||
	    live_test(p->live, off >> ZP_MINSHIFT))
		return -1;
	z->link[slot] = z->fhead;
	z->fhead = slot;
	z->nfree++;
	p->nlive--;
	p->live_bytes -= 1ULL << z->cls;
	if (z->nfree == z->nslots) {
		if (z->listed)
			list_remove(p, &p->partial[z->cls], s);
		slab_release(p, s);
	} else if (!z->listed)
		list_push(p, &p->partial[z->cls], s);
	return 0;
}

/* The allocator returns a buffer itself: validate, clear, reclaim. */
int
zpool_free(struct zpool *p, uint64_t addr)
{
	if (zpool_unlive(p->sh, p->shsize, addr) < 0) {
		errno = EINVAL;
		return -1;
	}
	if (zpool_reclaim(p, addr) < 0) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

void
zpool_stats(const struct zpool *p, struct zpool_stats *st)
{
	uint32_t s, used = 0;

	for (s = 0; s < p->sh->nslabs; s++)
		used += p->slabs[s].cls != ZP_NOCLASS;
	st->nlive = p->nlive;
	st->live_bytes = p->live_bytes;
	st->req_bytes = p->req_bytes;
	st->visits = p->visits;
	st->slab_bytes = (uint64_t)used << p->sh->slab_shift;
	st->total_bytes = (uint64_t)p->sh->nslabs << p->sh->slab_shift;
}
