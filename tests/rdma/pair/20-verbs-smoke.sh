#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# The project's verbs program across the two nodes: node 1 serves a
# registered buffer, node 2 RDMA-WRITEs a pattern into it, READs it back and
# both compare byte for byte.  The client retries until the server listens.
. "$SEG_TOP/tests/rdma/lib.sh"
smoke=$B/tests/rdma/verbs_smoke
need_bin "$smoke"
if [ "$SOFTROCE_NODE" = 1 ]; then
	"$smoke" -m server -a "$SOFTROCE_ADDR" -p 7471 -s 1048576 -t 90 -v
else
	"$smoke" -m client -a "$SOFTROCE_PEER" -p 7471 -s 1048576 -t 90 -v
fi
