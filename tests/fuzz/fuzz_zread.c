/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * fuzz_zread: the read ring's accessors (proto/zread.c) on ring memory a
 * reader wrote as it liked: segd's bound on the consumer index is -1
 * exactly when it is not within the ring behind segd's own producer index,
 * else the free slots; every entry read stays in the ring; what segd
 * writes reads back as written.
 *
 * The input: four bytes of segd's producer index, four of an entry index,
 * then bytes laid over the ring from its start (the rest zero).
 */
#include <string.h>

#include "fuzz.h"
#include "zread.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t ring[ZREAD_SIZE];
	uint32_t prod, i, used;
	int room, avail;

	if (size >= 8)
		fuzz_lay(ring, sizeof ring, data + 8, size - 8);
	else
		return 0;
	prod = fuzz_le32(data);
	i = fuzz_le32(data + 4);
	(void)zread_valid(ring, ZREAD_SIZE);
	(void)zread_word(ring, ZREAD_BROKEN);
	(void)zread_word(ring, ZREAD_ARMED);
	(void)zread_get(ring, i);
	used = prod - zread_word(ring, ZREAD_CONS);
	room = zread_room(ring, prod);
	FUZZ_ASSERT(used > ZREAD_NSLOTS ? room == -1 :
	    room == (int)(ZREAD_NSLOTS - used));
	room = zread_asked(ring, prod);
	FUZZ_ASSERT(room >= 0 && room <= (int)ZREAD_NSLOTS);
	avail = zread_avail(ring, i);
	FUZZ_ASSERT(avail >= -1 && avail <= (int)ZREAD_NSLOTS);
	zread_put(ring, i, (uint64_t)prod << 32 | i);
	FUZZ_ASSERT(zread_get(ring, i) == ((uint64_t)prod << 32 | i));
	FUZZ_ASSERT(zread_get(ring, i + ZREAD_NSLOTS) == zread_get(ring, i));
	zread_set_word(ring, ZREAD_PROD, prod);
	FUZZ_ASSERT(zread_word(ring, ZREAD_PROD) == prod);
	FUZZ_ASSERT(zread_avail(ring, prod) == 0);
	return 0;
}
