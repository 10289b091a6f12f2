/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * zread.c: the read ring's layout (zread.h), its one place of byte-order
 * conversion.  The other side may write any field at any time: every read
 * here is one atomic load, and the indexes are bounded here before use.
 */
#include <endian.h>
#include <string.h>

#include "zread.h"

#define OFF_MAGIC  0
#define OFF_NSLOTS 4
#define OFF_BROKEN 8
#define OFF_ARMED  12
#define OFF_PROD   64
#define OFF_CONS   128

static uint32_t *
w32(const void *ring, size_t off)
{
	return (uint32_t *)(void *)((uint8_t *)(uintptr_t)ring + off);
}

static uint32_t
load32(const void *ring, size_t off, int order)
{
	return le32toh(__atomic_load_n(w32(ring, off), order));
}

static void
store32(void *ring, size_t off, uint32_t v, int order)
{
	__atomic_store_n(w32(ring, off), htole32(v), order);
}

static uint64_t *
ent(const void *ring, uint32_t i)
{
	return (uint64_t *)(void *)((uint8_t *)(uintptr_t)ring + ZREAD_HDRLEN +
	    (size_t)(i & (ZREAD_NSLOTS - 1)) * ZREAD_ENTLEN);
}

void
zread_init(void *ring)
{
	memset(ring, 0, ZREAD_SIZE);
	store32(ring, OFF_MAGIC, ZREAD_MAGIC, __ATOMIC_RELAXED);
	store32(ring, OFF_NSLOTS, ZREAD_NSLOTS, __ATOMIC_RELAXED);
}

int
zread_valid(const void *ring, size_t size)
{
	return size == ZREAD_SIZE &&
	    load32(ring, OFF_MAGIC, __ATOMIC_RELAXED) == ZREAD_MAGIC &&
	    load32(ring, OFF_NSLOTS, __ATOMIC_RELAXED) == ZREAD_NSLOTS;
}

uint32_t
zread_prod(const void *ring)
{
	return load32(ring, OFF_PROD, __ATOMIC_SEQ_CST);
}

void
zread_set_prod(void *ring, uint32_t v)
{
	store32(ring, OFF_PROD, v, __ATOMIC_SEQ_CST);
}

uint32_t
zread_cons(const void *ring)
{
	return load32(ring, OFF_CONS, __ATOMIC_SEQ_CST);
}

void
zread_set_cons(void *ring, uint32_t v)
{
	store32(ring, OFF_CONS, v, __ATOMIC_SEQ_CST);
}

uint32_t
zread_broken(const void *ring)
{
	return load32(ring, OFF_BROKEN, __ATOMIC_ACQUIRE);
}

void
zread_set_broken(void *ring, uint32_t err)
{
	store32(ring, OFF_BROKEN, err, __ATOMIC_RELEASE);
}

uint32_t
zread_armed(const void *ring)
{
	return load32(ring, OFF_ARMED, __ATOMIC_SEQ_CST);
}

void
zread_set_armed(void *ring, uint32_t v)
{
	store32(ring, OFF_ARMED, v, __ATOMIC_SEQ_CST);
}

uint64_t
zread_get(const void *ring, uint32_t i)
{
	return le64toh(__atomic_load_n(ent(ring, i), __ATOMIC_RELAXED));
}

void
zread_put(void *ring, uint32_t i, uint64_t addr)
{
	__atomic_store_n(ent(ring, i), htole64(addr), __ATOMIC_RELAXED);
}

int
zread_room(const void *ring, uint32_t prod)
{
	uint32_t used = prod - zread_cons(ring);

	return used > ZREAD_NSLOTS ? -1 : (int)(ZREAD_NSLOTS - used);
}

int
zread_avail(const void *ring, uint32_t cons)
{
	uint32_t n = zread_prod(ring) - cons;

	return n > ZREAD_NSLOTS ? -1 : (int)n;
}
