/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * zring.c: the free ring's layout (zring.h), its one place of byte-order
 * conversion.  The other side may write any field at any time: every read
 * here is one atomic load, which callers bound before use.
 */
#include <endian.h>
#include <string.h>

#include "zring.h"

#define OFF_MAGIC   0
#define OFF_NSLOTS  4
#define OFF_BROKEN  8
#define OFF_PROD    64
#define OFF_CONS    128
#define OFF_WAITERS 192

static uint32_t *
w32(const void *ring, size_t off)
{
	return (uint32_t *)(void *)((uint8_t *)(uintptr_t)ring + off);
}

static uint8_t *
ent(const void *ring, uint32_t i)
{
	return (uint8_t *)(uintptr_t)ring + ZRING_HDRLEN +
	    (size_t)(i & (ZRING_NSLOTS - 1)) * ZRING_ENTLEN;
}

void
zring_init(void *ring)
{
	memset(ring, 0, ZRING_SIZE);
	*w32(ring, OFF_MAGIC) = htole32(ZRING_MAGIC);
	*w32(ring, OFF_NSLOTS) = htole32(ZRING_NSLOTS);
}

int
zring_valid(const void *ring, size_t size)
{
	return size == ZRING_SIZE &&
	    le32toh(__atomic_load_n(w32(ring, OFF_MAGIC), __ATOMIC_RELAXED)) ==
	    ZRING_MAGIC &&
	    le32toh(__atomic_load_n(w32(ring, OFF_NSLOTS), __ATOMIC_RELAXED)) ==
	    ZRING_NSLOTS;
}

uint32_t
zring_prod(const void *ring)
{
	return le32toh(__atomic_load_n(w32(ring, OFF_PROD), __ATOMIC_ACQUIRE));
}

void
zring_set_prod(void *ring, uint32_t v)
{
	__atomic_store_n(w32(ring, OFF_PROD), htole32(v), __ATOMIC_SEQ_CST);
}

uint32_t
zring_cons(const void *ring)
{
	return le32toh(__atomic_load_n(w32(ring, OFF_CONS), __ATOMIC_SEQ_CST));
}

void
zring_set_cons(void *ring, uint32_t v)
{
	__atomic_store_n(w32(ring, OFF_CONS), htole32(v), __ATOMIC_SEQ_CST);
}

uint32_t *
zring_cons_word(void *ring)
{
	return w32(ring, OFF_CONS);
}

uint32_t
zring_broken(const void *ring)
{
	return le32toh(__atomic_load_n(w32(ring, OFF_BROKEN), __ATOMIC_ACQUIRE));
}

void
zring_set_broken(void *ring, uint32_t err)
{
	__atomic_store_n(w32(ring, OFF_BROKEN), htole32(err), __ATOMIC_RELEASE);
}

uint32_t
zring_waiters(const void *ring)
{
	return le32toh(__atomic_load_n(w32(ring, OFF_WAITERS),
	    __ATOMIC_SEQ_CST));
}

/* Only the client changes it; its threads count under its own lock. */
void
zring_add_waiters(void *ring, int32_t d)
{
	uint32_t *p = w32(ring, OFF_WAITERS);

	__atomic_store_n(p, htole32(le32toh(*p) + (uint32_t)d),
	    __ATOMIC_SEQ_CST);
}

void
zring_get(const void *ring, uint32_t i, struct zring_ent *e)
{
	const uint8_t *p = ent(ring, i);

	e->addr = le64toh(__atomic_load_n((const uint64_t *)(const void *)p,
	    __ATOMIC_RELAXED));
	e->flags = le32toh(__atomic_load_n((const uint32_t *)(const void *)
	    (p + 8), __ATOMIC_RELAXED));
}

void
zring_put(void *ring, uint32_t i, const struct zring_ent *e)
{
	uint8_t *p = ent(ring, i);

	__atomic_store_n((uint64_t *)(void *)p, htole64(e->addr),
	    __ATOMIC_RELAXED);
	__atomic_store_n((uint32_t *)(void *)(p + 8), htole32(e->flags),
	    __ATOMIC_RELAXED);
	__atomic_store_n((uint32_t *)(void *)(p + 12), htole32(UINT32_MAX),
	    __ATOMIC_RELAXED);
}

uint32_t
zring_status(const void *ring, uint32_t i)
{
	return le32toh(__atomic_load_n((const uint32_t *)(const void *)
	    (ent(ring, i) + 12), __ATOMIC_ACQUIRE));
}

void
zring_set_status(void *ring, uint32_t i, uint32_t st)
{
	__atomic_store_n((uint32_t *)(void *)(ent(ring, i) + 12), htole32(st),
	    __ATOMIC_RELEASE);
}

static uint8_t *
rec(const void *ring, uint32_t k)
{
	return (uint8_t *)(uintptr_t)ring + ZRING_HDRLEN +
	    (size_t)ZRING_NSLOTS * ZRING_ENTLEN +
	    (size_t)(k % ZRING_NERR) * ZRING_ERRLEN;
}

void
zring_set_error(void *ring, uint32_t k, uint32_t end, const char *text)
{
	uint8_t *p = rec(ring, k);
	size_t n = strnlen(text, ZRING_ERRLEN - 5);

	memcpy(p + 4, text, n);
	p[4 + n] = 0;
	__atomic_store_n((uint32_t *)(void *)p, htole32(end), __ATOMIC_RELEASE);
}

int
zring_error(const void *ring, uint32_t k, uint32_t end, char *buf,
    size_t size)
{
	const uint8_t *p = rec(ring, k);
	size_t i;

	if (size == 0 || le32toh(__atomic_load_n((const uint32_t *)(const void *)
	    p, __ATOMIC_ACQUIRE)) != end)
		return 0;
	/* byte by byte: segd may be writing it again for a later batch */
	for (i = 0; i + 1 < size && i < ZRING_ERRLEN - 4; i++)
		if ((buf[i] = (char)__atomic_load_n(p + 4 + i,
		    __ATOMIC_RELAXED)) == 0)
			return 1;
	buf[i] = 0;
	return 1;
}
