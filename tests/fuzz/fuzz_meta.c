/*
 * fuzz_meta: a segment's state record (NAME.meta in the state directory,
 * segd/store.c), which anyone able to write the directory controls: what
 * parses has a mode of permission bits and a known kind.
 */
#include <string.h>

#include "fuzz.h"
#include "segd.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct segment s;
	char *buf = malloc(size + 1);	/* as store_load reads it */

	memcpy(buf, data, size);
	buf[size] = '\0';
	memset(&s, 0, sizeof s);
	if (store_meta_parse(buf, &s) == 0) {
		FUZZ_ASSERT(s.mode <= 0777);
		FUZZ_ASSERT(s.verb < SEG_VERB_MAX);
	}
	free(buf);
	return 0;
}
