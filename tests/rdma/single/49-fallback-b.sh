#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# The second half of 49-fallback.sh: the bounds, access-list, revocation and
# barrier tests with the direct data path turned off (SEG_DIRECT=0).
FALLBACK_TESTS="33-bounds 34-acl 35-revoke 44-barrier" \
	exec "$SEG_TOP/tests/rdma/single/49-fallback.sh"
