#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# A producer/consumer pipeline across nodes.  Node 1 holds the pool of a
# umsg segment it exports; its producer fills buffers (each stamped with
# its address, a sequence number and a generation, the rest a pattern of
# the sequence number) and publishes them in a ring of descriptors in the
# segment, with at most 48 not yet returned.  Node 2's consumer polls the
# ring by RDMA get, reads the buffers by RDMA get (seg_getv, zero copy into
# a segment it attached), checks each stamp is the one published and its
# generation one more than the last it saw of that address (a buffer reused
# before its free arrived would show a newer stamp or skip a generation),
# checks the pattern, and returns the buffers with seg_zfree_remotev.  The
# producer checks every allocation is a buffer whose free arrived and every
# free one of an outstanding buffer; the counts and checksums of the two
# ends must agree.
. "$SEG_TOP/tests/rdma/lib.sh"
S=$SOFTROCE_SYNC
me=node$SOFTROCE_NODE
total=${ZIO_PIPE_TOTAL:-2000} bsize=16384 out=48 slots=64 ZIO_LIMIT=230
pair_fail_fast
start_segd "$me" 7450

if [ "$SOFTROCE_NODE" = 1 ]; then
	sctl "$me" create pipe || die "create pipe"
	sctl "$me" ctl pipe "umsg 0x200000000000 0x400000" || die "ctl pipe"
	sctl "$me" export pipe || die "export pipe"
	zio "$me" produce pipe -N "$total" -s $bsize -k $out -R $slots -f "$S/ring" \
		>"$T/prod.out" 2>&1 || die "producer: $(cat "$T/prod.out")"
	cat "$T/prod.out"
	await consumed 120 || die "node 2 did not finish"
	p=$(sed -n 's/^producer: \([0-9]*\) buffers .* sum \(0x[0-9a-f]*\) xor \(0x[0-9a-f]*\),.*/\1 \2 \3/p' "$T/prod.out")
	c=$(sed -n 's/^consumer: \([0-9]*\) buffers .* sum \(0x[0-9a-f]*\) xor \(0x[0-9a-f]*\),.*/\1 \2 \3/p' "$S/cons.out")
	[ -n "$p" ] && [ "$p" = "$c" ] || die "producer (${p:-?}) and consumer (${c:-?}) disagree"
	[ "${p%% *}" = "$total" ] || die "${p%% *} buffers, not $total"
	echo "node 1: $total buffers through the pipeline, none reused before its free"
	softroce_signal checked
else
	make_seg zc "$me" 0x300000000000 $((out * bsize))
	zio "$me" consume "$SOFTROCE_PEER:7450/pipe" -f "$S/ring" -z zc >"$T/cons.out" 2>&1 || {
		cp "$T/cons.out" "$S/cons.out"
		softroce_signal consumed
		die "consumer: $(cat "$T/cons.out")"
	}
	cat "$T/cons.out"
	cp "$T/cons.out" "$S/cons.out"
	softroce_signal consumed
	await checked 120 || die "node 1 did not confirm"
fi
