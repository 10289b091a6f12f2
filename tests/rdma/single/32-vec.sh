#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# Batched seg_getv / seg_putv of 1,000 entries of mixed lengths (1 byte to
# 16 KiB, a few empty) at shuffled unaligned offsets, all zero copy, all
# bounced, and mixed; every entry compared byte for byte with the
# exporter's memory, and the gaps between entries shown untouched.
. "$SEG_TOP/tests/rdma/lib.sh"
start_exp_imp
make_seg vseg exp 0x200000000000 0x1200000
sctl exp export vseg || die "export vseg"
imp imp -x "$T/exp.sock" -X vseg zcbuf zc 0x300000000000 0x1200000 \
	import "$A:7450/vseg" vec 1000 zc vec 1000 bounce vec 1000 mixed ||
	die "getv/putv failed"
