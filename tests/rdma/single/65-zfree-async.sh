#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# Asynchronous remote returns (seg_zfree_async, seg_zfree_asyncv), coalesced
# by segd, exactly once across a lost connection.  The owner of umsg
# segment zbuf (segd "own", port 7450) hands ZIO_TOTAL (default 1000000)
# buffers in 5 rounds to 4 importer processes, 2 on each of segds "b" and
# "c" (ports 7451 and 7452, deadline 2 s); b's return their addresses one
# by one with seg_zfree_async, c's 100 a call with seg_zfree_asyncv, and
# each reads every outcome: one refused fails it.  When
# round 2 is published the owner's segd is stopped (SIGSTOP) until b's
# deadline closed its connection: the coalesced FREEs in flight are in
# doubt, and b's queue sends each again whole, over an import it makes
# again, with the same batch number.  The owner checks every address came
# back exactly once (count, sum, xor), and the importers' sums match.
# Then on a kmsg segment, twice (seg_zfree_async each, then one
# seg_zfree_asyncv of all): a good address, the same address again, a
# foreign one and another good one: coalesced into one FREE, refused, sent
# again address by address; each outcome names its address, and only the
# two good ones are reclaimed.
. "$SEG_TOP/tests/rdma/lib.sh"
ZIO_LIMIT=270	# 100 s alone; 154 s beside another guest on 2 cores
D=2000
total=${ZIO_TOTAL:-1000000} rounds=5 nimp=4
per=$((total / rounds / nimp))
start_segd own 7450 -t 60000
start_segd b 7451 -t $D
start_segd c 7452 -t $D
sctl own create zbuf || die "create zbuf"
sctl own ctl zbuf "umsg 0x200000000000 0x2000000" || die "ctl zbuf"
sctl own export zbuf || die "export zbuf"

t0=$(ms_now)
zio_bg own owner zbuf -i $nimp -n $per -r $rounds -p 2 -g "$T/go" \
	-f "$T/tables" >"$T/owner.out" 2>&1 &
opid=$!
_bg_pids+=($!)
each=($opid owner)
for node in b c; do
	k=0 vec=-A
	[ $node = c ] && k=2 vec="-V -b 100"	# seg_zfree_asyncv, 100 a call
	zio_bg $node -S $((k + 1)) importer "$A:7450/zbuf" -f "$T/tables" \
		-k $k -P 2 $vec -R 60000 >"$T/imp-$node.out" 2>&1 &
	each+=($! importers-$node)
	_bg_pids+=($!)
done

zio_stop_round2

wait_each "${each[@]}" -- "$T/owner.out" "$T"/imp-*.out
echo "$total asynchronous returns in $(($(ms_now) - t0)) ms"
grep -v '^retry' "$T"/imp-*.out
cat "$T/owner.out"
grep 'sent batch .* again: applied before' "$T/own.log" ||
	die "no batch in doubt had been applied before its ACK was lost: nothing was tested"

zio_sums $total $nimp "$T"/imp-*.out
echo "$total addresses, each back exactly once across a lost connection"

# double and foreign returns, asynchronous: each outcome names its address
R=$A:7450/kseg
sctl own create kseg || die "create kseg"
sctl own ctl kseg "kmsg 0x210000000000 0x4000" || die "ctl kseg"
sctl own export kseg || die "export kseg"
for f in -A -V; do	# seg_zfree_async each, then seg_zfree_asyncv all
	a1=$(sctl own zalloc kseg 2048) && a2=$(sctl own zalloc kseg 2048) ||
		die "zalloc in kseg"
	out=$(zio b rfree $f "$R" "$a1" "$a1" 0x10 "$a2")
	[ $? = 3 ] || die "rfree $f $a1 $a1 0x10 $a2: $out (should have refused two)"
	echo "$out"
	[ "$(grep -c "^applied $a1\$" <<<"$out")" = 1 ] || die "$f: $a1 not applied once"
	[ "$(grep -c "^applied $a2\$" <<<"$out")" = 1 ] || die "$f: $a2 not applied once"
	grep -q "^refused $a1: .*address $a1 is not the start of a live buffer of segment 'kseg'" <<<"$out" ||
		die "$f: the double return's outcome does not name $a1"
	grep -q "^refused 0x10: .*0x10" <<<"$out" || die "$f: the foreign return's outcome does not name 0x10"
	got=$( (sctl own zalloc kseg 2048 && sctl own zalloc kseg 2048) | sort | tr '\n' ' ')
	want=$(printf '%s\n' "$a1" "$a2" | sort | tr '\n' ' ')
	[ "$got" = "$want" ] || die "$f: after the returns, zalloc gave $got, not $want"
done
echo "double and foreign asynchronous returns refused, each outcome naming its address"
