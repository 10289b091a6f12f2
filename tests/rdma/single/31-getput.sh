#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# get/put correctness: sizes from 1 byte to 64 MiB at unaligned offsets
# (local and remote), compared byte for byte with the exporter's memory, on
# the zero-copy path (buffers in a segment attached with seg_attach) and the
# bounce path (malloc'd buffers); segctl stats' bounce_bytes must stay 0
# across the zero-copy runs and grow by exactly the bytes bounced.
. "$SEG_TOP/tests/rdma/lib.sh"
start_exp_imp
make_seg big exp 0x200000000000 0x4100000
sctl exp export big || die "export big"
imp imp -x "$T/exp.sock" -X big zcbuf zc 0x300000000000 0x4100000 \
	import "$A:7450/big" sweep zc sweep bounce stats || die "sweep failed"
[ "$(stat_of exp bounce_bytes)" = 0 ] || die "the exporter bounced bytes"
