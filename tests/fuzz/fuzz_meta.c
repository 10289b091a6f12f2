/*
 * fuzz_meta: a segment's state record (NAME.meta in the state directory,
 * segd/store.c), which anyone able to write the directory controls: what
 * parses has ids below 2^32 - 1, a mode of permission bits, a known kind,
 * and a page-aligned address and a length that ends in user space.
 */
#include <string.h>

#include "fuzz.h"
#include "segd.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct segment s;

	memset(&s, 0, sizeof s);
	if (store_meta_parse((const char *)data, size, 4096, &s) == 0) {
		FUZZ_ASSERT(s.mode <= 0777);
		FUZZ_ASSERT(s.verb < SEG_VERB_MAX);
		FUZZ_ASSERT(s.uid < UINT32_MAX && s.gid < UINT32_MAX);
		FUZZ_ASSERT(s.va % 4096 == 0);
		FUZZ_ASSERT(s.len <= UINT64_MAX - s.va);
	}
	return 0;
}
