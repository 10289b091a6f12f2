#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# The project's own verbs program: rdma_cm-connected RC QP, RDMA WRITE of a
# pattern into the peer's registered buffer, RDMA READ back, byte-for-byte
# comparison on both sides; server and client forked on this node's address.
. "$SEG_TOP/tests/rdma/lib.sh"
smoke=$B/tests/rdma/verbs_smoke
need_bin "$smoke"
for size in 4096 65536 1048576; do
	"$smoke" -a "$SOFTROCE_ADDR" -p 7471 -s "$size" -t 60 -v || exit 1
done
