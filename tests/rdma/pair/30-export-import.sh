#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# Export on node 1, import on node 2: node 1 fills a segment with known bytes
# (kept in the shared sync folder) and exports it; node 2 lists it, reads it
# with segctl get and with a libseg program (zero copy and bounced, unaligned
# ranges), writes with the program (both paths) and with segctl put; both
# nodes then check the segment against the expected image, byte for byte.
. "$SEG_TOP/tests/rdma/lib.sh"
S=$SOFTROCE_SYNC
pair_fail_fast
size=$((4 * 1048576 + 4096))
start_segd "node$SOFTROCE_NODE" 7450
me=node$SOFTROCE_NODE

if [ "$SOFTROCE_NODE" = 1 ]; then
	head -c $size /dev/urandom >"$S/orig"
	make_seg pseg "$me" 0x200000000000 $size
	sctl "$me" write pseg <"$S/orig" || die "write pseg"
	sctl "$me" export pseg node2:rw || die "export pseg"
	softroce_signal exported
	await written 240 || die "node 2 did not finish writing"
	sctl "$me" read pseg >"$T/now" || die "read pseg"
	cmp "$T/now" "$S/expect" || die "node 1's segment differs from what node 2 wrote"
	wait_until 10 counter_is "$me" exported_imports 0 ||
		die "node 1 still counts $(stat_of "$me" exported_imports) imports"
	sctl "$me" peers
	echo "node 1: segment as node 2 wrote it, byte for byte"
	softroce_signal checked
else
	await exported 120 || die "node 1 did not export"
	P=$SOFTROCE_PEER:7450
	sctl "$me" ls "$SOFTROCE_PEER" >"$T/ls" || die "segctl ls $SOFTROCE_PEER: $(cat "$T/ls")"
	cat "$T/ls"
	grep -qx "pseg va 0x200000000000 $(printf 0x%x $size) rw" "$T/ls" || die "ls does not list pseg"
	sctl "$me" get "$P/pseg" >"$T/got" || die "segctl get"
	cmp "$T/got" "$S/orig" || die "segctl get: bytes differ"
	cp "$S/orig" "$T/expect"
	head -c 1000000 /dev/urandom >"$T/w1"
	head -c 77777 /dev/urandom >"$T/w2"
	head -c 123457 /dev/urandom >"$T/w3"
	imp "$me" zcbuf zc 0x300000000000 $size import "$P/pseg" info \
		getf 4097 2000000 "$T/g1" zc getf 3 70001 "$T/g2" bounce \
		putf 10001 "$T/w1" zc putf 3000003 "$T/w2" bounce path direct lstats stats \
		>"$T/imp.out" 2>&1 || die "imp_io: $(cat "$T/imp.out")"
	cat "$T/imp.out"
	slice "$S/orig" 4097 2000000 | cmp - "$T/g1" ||
		die "zero-copy get: bytes differ"
	slice "$S/orig" 3 70001 | cmp - "$T/g2" ||
		die "bounced get: bytes differ"
	# on the direct path this process moved them itself: 70001 and 77777
	# bytes bounced, 2000000 + 1000000 zero copy; segd moved none
	grep -qx "direct_bounce_bytes $((70001 + 77777))" "$T/imp.out" ||
		die "direct_bounce_bytes is not the $((70001 + 77777)) bytes bounced"
	grep -qx "direct_zerocopy_bytes 3000000" "$T/imp.out" ||
		die "direct_zerocopy_bytes is not the 2000000 + 1000000 bytes moved zero copy"
	grep -qx "bounce_bytes 0" "$T/imp.out" && grep -qx "zerocopy_bytes 0" "$T/imp.out" ||
		die "segd moved bytes of a direct-path import"
	patch "$T/expect" 10001 "$T/w1"
	patch "$T/expect" 3000003 "$T/w2"
	sctl "$me" put "$P/pseg" 2500001 <"$T/w3" || die "segctl put"
	patch "$T/expect" 2500001 "$T/w3"
	sctl "$me" get "$P/pseg" >"$T/got" || die "segctl get after the puts"
	cmp "$T/got" "$T/expect" || die "node 2 reads back other bytes than it wrote"
	cp "$T/expect" "$S/expect"
	softroce_signal written
	await checked 120 || die "node 1 did not confirm the bytes"
	echo "node 2: imported, got and put across nodes; node 1 confirms"
fi
