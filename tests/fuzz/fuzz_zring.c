/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * fuzz_zring: the free ring's accessors (proto/zring.c) on ring memory a
 * client wrote as it liked: every entry and error record read stays in the
 * ring, a record's text is always NUL-terminated within the caller's
 * buffer, and an index of any value names a slot of the ring.
 *
 * The input: four bytes of an index, four of an end, one of a buffer size,
 * then bytes laid over the ring from its start (the rest zero).
 */
#include <string.h>

#include "fuzz.h"
#include "zring.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t ring[ZRING_SIZE];
	struct zring_ent e;
	char buf[ZRING_ERRLEN + 8], text[2 * ZRING_ERRLEN];
	uint32_t i, end, k;
	size_t bsz, n;

	if (size < 9)
		return 0;
	i = fuzz_le32(data);
	end = fuzz_le32(data + 4);
	bsz = 1 + (size_t)data[8] % sizeof buf;
	data += 9;
	size -= 9;
	fuzz_lay(ring, sizeof ring, data, size);
	(void)zring_valid(ring, ZRING_SIZE);
	(void)zring_prod(ring);
	(void)zring_broken(ring);
	(void)zring_waiters(ring);
	zring_get(ring, i, &e);
	(void)zring_status(ring, i);
	for (k = 0; k < ZRING_NERR + 2; k++) {
		memset(buf, 'q', sizeof buf);
		if (zring_error(ring, k + i, end, buf, bsz))
			FUZZ_ASSERT(memchr(buf, 0, bsz) != NULL);
		else
			FUZZ_ASSERT(buf[0] == 'q');
	}
	/* what segd writes is read back as written */
	e.addr = i;
	e.flags = end;
	zring_put(ring, i, &e);
	zring_get(ring, i, &e);
	FUZZ_ASSERT(e.addr == i && e.flags == end);
	n = size < sizeof text - 1 ? size : sizeof text - 1;
	memcpy(text, data, n);		/* of any length, with NULs or none */
	text[n] = 0;
	zring_set_error(ring, i, end, text);
	FUZZ_ASSERT(zring_error(ring, i, end, buf, sizeof buf) == 1);
	FUZZ_ASSERT(strlen(buf) < ZRING_ERRLEN - 4);
	return 0;
}
