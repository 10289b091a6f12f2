/*
 * fuzz_export: an export's record (NAME.export in the state directory,
 * segd/store.c), which anyone able to write the directory controls: what
 * parses has a nonzero generation, known flags only, and an access list
 * of at most ACL_MAX entries of valid node names, each r or rw.
 */
#include <string.h>

#include "fuzz.h"
#include "segd.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct exprec r;
	int i;

	memset(&r, 0, sizeof r);
	if (store_export_parse((const char *)data, size, &r) == 0) {
		FUZZ_ASSERT(r.gen != 0);
		FUZZ_ASSERT((r.flags & ~STORE_EXPORT_FLAGS) == 0);
		FUZZ_ASSERT(r.nacl >= 0 && r.nacl <= ACL_MAX);
		for (i = 0; i < r.nacl; i++) {
			FUZZ_ASSERT(seg_node_valid(r.acl[i].node));
			FUZZ_ASSERT(r.acl[i].perm == SEGW_RD ||
			    r.acl[i].perm == (SEGW_RD | SEGW_WR));
		}
	}
	return 0;
}
