/*
 * fuzz_export: an export's record (NAME.export in the state directory,
 * segd/store.c), which anyone able to write the directory controls: what
 * parses has a nonzero generation, known flags only, a binding to a valid
 * segment name at a page-aligned offset below the top of user space, and
 * an access list of at most ACL_MAX entries of valid node names, each r or
 * rw.  The page size is taken from the input's length, so both the 4 KiB
 * and the 64 KiB page are fuzzed.
 */
#include <string.h>

#include "fuzz.h"
#include "segd.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t pagesize = size % 2 ? 0x10000 : 0x1000;
	struct exprec r;
	int i;

	memset(&r, 0, sizeof r);
	if (store_export_parse((const char *)data, size, pagesize, &r) == 0) {
		FUZZ_ASSERT(r.gen != 0);
		FUZZ_ASSERT((r.flags & ~SEGW_EXP_ALL) == 0);
		FUZZ_ASSERT(seg_name_valid(r.bind));
		FUZZ_ASSERT(r.off % pagesize == 0 && r.off < SEGD_USER_TOP);
		FUZZ_ASSERT(r.nacl >= 0 && r.nacl <= ACL_MAX);
		for (i = 0; i < r.nacl; i++) {
			FUZZ_ASSERT(seg_node_valid(r.acl[i].node));
			FUZZ_ASSERT(r.acl[i].perm == SEGW_RD ||
			    r.acl[i].perm == (SEGW_RD | SEGW_WR));
		}
	}
	return 0;
}
