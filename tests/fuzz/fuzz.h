/*
 * fuzz.h: what the libFuzzer targets share.  A broken invariant is a
 * crash, so libFuzzer reports it with the input that broke it.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_ASSERT(c) do {						\
	if (!(c)) {							\
		fprintf(stderr, "%s:%d: invariant broken: %s\n",	\
		    __FILE__, __LINE__, #c);				\
		abort();						\
	}								\
} while (0)

/* a little-endian 32-bit number of the input */
static inline uint32_t
fuzz_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* the input laid over size bytes at dst from its start, the rest zero */
static inline void
fuzz_lay(void *dst, size_t size, const uint8_t *data, size_t n)
{
	memset(dst, 0, size);
	memcpy(dst, data, n < size ? n : size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
