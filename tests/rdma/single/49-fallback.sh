#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# The import tests again with the direct data path turned off (SEG_DIRECT=0):
# the path through segd, kept as the fallback, must pass them unchanged.
# This one runs the first half; 49-fallback-b.sh the second (each within
# the tier's per-test limit).
. "$SEG_TOP/tests/rdma/lib.sh"
here=$SEG_TOP/tests/rdma/single
for t in ${FALLBACK_TESTS:-30-export-import 31-getput 32-vec}; do
	start=$SECONDS
	if ! SEG_DIRECT=0 "$here/$t.sh" >"$T/$t.out" 2>&1; then
		sed 's/^/    /' "$T/$t.out"
		die "$t failed on the segd path"
	fi
	grep -q "path direct" "$T/$t.out" && die "$t took the direct path"
	echo "$t on the segd path: passed ($((SECONDS - start)) s)"
done
