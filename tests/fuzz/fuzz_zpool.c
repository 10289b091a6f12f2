/*
 * fuzz_zpool: the zero-copy validator (segd/zio_pool.c) on pool state a
 * umsg segment's holder may have forged: zpool_shared_valid, and
 * zpool_check / zpool_unlive / zpool_relive on addresses from the input.
 *
 * The input: a mode byte, eight bytes of an address, then either the whole
 * state (mode even) or bytes XORed into a valid state of a pool whose base
 * and length come from them (mode odd), which reaches deeper.
 */
#include <string.h>

#include "fuzz.h"
#include "zio_pool.h"

static uint64_t
le64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void
probe(struct zpool_shared *sh, size_t size, uint64_t addr)
{
	uint64_t bsz = 0, bsz2 = 0;

	if (zpool_check(sh, size, addr, &bsz) == 0)
		FUZZ_ASSERT(bsz >= 64 && (bsz & (bsz - 1)) == 0);
	if (zpool_unlive(sh, size, addr) == 0) {
		/* no longer live: a second free is refused */
		FUZZ_ASSERT(zpool_check(sh, size, addr, &bsz2) < 0);
		FUZZ_ASSERT(zpool_unlive(sh, size, addr) < 0);
		zpool_relive(sh, size, addr);
		FUZZ_ASSERT(zpool_check(sh, size, addr, &bsz2) == 0 &&
		    bsz2 == bsz);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zpool_shared *sh;
	uint64_t addr, base, len;
	size_t shsize, i;
	uint8_t mode;

	if (size < 9)
		return 0;
	mode = data[0];
	addr = le64(data + 1);
	data += 9;
	size -= 9;
	if (mode & 1) {
		if (size < 4)
			return 0;
		/* a pool of 64 B .. 4 MiB at a 64-byte aligned base */
		len = 64 + ((uint64_t)data[0] << 14 | (uint64_t)data[1] << 6) %
		    (4u << 20);
		base = 0x100000000000ULL + ((uint64_t)data[2] << 6);
		shsize = zpool_shared_size(len);
		sh = aligned_alloc(8, (shsize + 7) & ~(size_t)7);
		FUZZ_ASSERT(zpool_shared_init(sh, base, len) == 0);
		FUZZ_ASSERT(zpool_shared_valid(sh, shsize));
		for (i = 3; i < size; i++)
			((uint8_t *)sh)[(i - 3) % shsize] ^= data[i];
		addr = base + addr % (len + 128);
	} else {
		shsize = size;
		sh = aligned_alloc(8, (shsize + 7) & ~(size_t)7 ? (shsize + 7) &
		    ~(size_t)7 : 8);
		memcpy(sh, data, size);
	}
	(void)zpool_shared_valid(sh, shsize);
	probe(sh, shsize, addr);
	if (shsize >= sizeof *sh) {
		probe(sh, shsize, sh->base);
		probe(sh, shsize, sh->base + (addr & 0xffc0));
	}
	free(sh);
	return 0;
}
