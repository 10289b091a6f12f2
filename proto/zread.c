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

/* word i of the header: a counter, read or written once, atomically */
static uint32_t *
hdr(const void *ring, unsigned i)
{
	return (uint32_t *)(uintptr_t)ring + i;
}

static uint64_t *
ent(const void *ring, uint32_t i)
{
	return (uint64_t *)(void *)((uint8_t *)(uintptr_t)ring + ZREAD_HDRLEN +
	    (size_t)(i & (ZREAD_NSLOTS - 1)) * ZREAD_ENTLEN);
}

static uint32_t
load(const void *ring, unsigned i, int order)
{
	return le32toh(__atomic_load_n(hdr(ring, i), order));
}

static void
store(void *ring, unsigned i, uint32_t v)
{
	__atomic_store_n(hdr(ring, i), htole32(v), __ATOMIC_SEQ_CST);
}

void
zread_init(void *ring)
{
	memset(ring, 0, ZREAD_SIZE);
	store(ring, 0, ZREAD_MAGIC);
	store(ring, 1, ZREAD_NSLOTS);
}

/* a ring as segd makes it, of this size (its own fields aside) */
int
zread_valid(const void *ring, size_t size)
{
	return size == ZREAD_SIZE && load(ring, 0, __ATOMIC_RELAXED) ==
	    ZREAD_MAGIC && load(ring, 1, __ATOMIC_RELAXED) == ZREAD_NSLOTS;
}

uint32_t
zread_word(const void *ring, enum zread_word w)
{
	return load(ring, w, __ATOMIC_SEQ_CST);
}

void
zread_set_word(void *ring, enum zread_word w, uint32_t v)
{
	store(ring, w, v);
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
	uint32_t used = prod - zread_word(ring, ZREAD_CONS);

	return used > ZREAD_NSLOTS ? -1 : (int)(ZREAD_NSLOTS - used);
}

int
zread_asked(const void *ring, uint32_t prod)
{
	uint32_t n = zread_word(ring, ZREAD_WANT) - prod;

	return n > ZREAD_NSLOTS ? 0 : (int)n;
}

int
zread_avail(const void *ring, uint32_t cons)
{
	uint32_t n = zread_word(ring, ZREAD_PROD) - cons;

	return n > ZREAD_NSLOTS ? -1 : (int)n;
}
