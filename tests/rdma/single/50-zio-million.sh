#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# Many importers return a million buffers: a umsg segment's owner (segd
# "own", port 7450) allocates buffers in rounds and hands their addresses
# to 4 importer processes, 2 on each of two other segds (ports 7451 and
# 7452), through tables it writes into the exported segment; the importers
# read the tables by RDMA get and return every address with
# seg_zfree_remotev (batches of 500) and some with seg_zfree_remote, in a
# shuffled order.  The owner reads free and checks each address comes back
# exactly once per allocation (none foreign, none twice, none late) and the
# count and checksums (sum and xor of the addresses) over all rounds; the
# importers' own counts and checksums must add up to the owner's.
# ZIO_TOTAL (default 1000000) and ZIO_ROUNDS (default 5) scale it.
. "$SEG_TOP/tests/rdma/lib.sh"
ZIO_LIMIT=260

total=${ZIO_TOTAL:-1000000} rounds=${ZIO_ROUNDS:-5} nimp=4 singles=50
per=$((total / rounds / nimp))
[ $((per * rounds * nimp)) = "$total" ] || die "ZIO_TOTAL must divide into $rounds rounds of $nimp"
start_segd own 7450
start_segd b 7451
start_segd c 7452
sctl own create zbuf || die "create zbuf"
sctl own ctl zbuf "umsg 0x200000000000 0x2000000" || die "ctl zbuf"
sctl own export zbuf || die "export zbuf"

t0=$(ms_now)
zio_bg own owner zbuf -i $nimp -n $per -r "$rounds" -f "$T/tables" >"$T/owner.out" 2>&1 &
opid=$!
_bg_pids+=($!)
declare -A who=([$opid]=owner)
for k in $(seq 0 $((nimp - 1))); do
	node=b
	[ "$k" -ge $((nimp / 2)) ] && node=c
	zio_bg "$node" -S $((k + 1)) importer "$A:7450/zbuf" -f "$T/tables" -k "$k" \
		-b 500 -1 $singles >"$T/imp$k.out" 2>&1 &
	who[$!]=imp$k
	_bg_pids+=($!)
done
# the first to fail ends the test (the clean-up stops the others)
for _ in "${!who[@]}"; do
	wait -n -p pid
	rc=$?
	[ "$rc" = 0 ] || { cat "$T/owner.out" "$T"/imp*.out; die "${who[$pid]:-process $pid} failed (exit $rc)"; }
done
t1=$(ms_now)
cat "$T/owner.out" "$T"/imp*.out

line=$(grep '^owner: received' "$T/owner.out") || die "no owner summary"
read -r got osum oxor <<<"$(echo "$line" |
	sed -n 's/^owner: received \([0-9]*\) addresses in [0-9]* rounds, sum \(0x[0-9a-f]*\) xor \(0x[0-9a-f]*\),.*/\1 \2 \3/p')"
[ "$got" = "$total" ] || die "the owner received $got addresses, not $total"
n=0 s=0 x=0 singles_done=0
for k in $(seq 0 $((nimp - 1))); do
	l=$(grep "^importer $k: freed" "$T/imp$k.out") || die "no summary from importer $k"
	read -r f c1 is ix <<<"$(echo "$l" |
		sed -n 's/^importer [0-9]*: freed \([0-9]*\) in [0-9]* rounds, [0-9]* calls (\([0-9]*\) single), sum \(0x[0-9a-f]*\) xor \(0x[0-9a-f]*\),.*/\1 \2 \3 \4/p')"
	[ -n "$ix" ] || die "unreadable summary: $l"
	n=$((n + f)) s=$((s + is)) x=$((x ^ ix)) singles_done=$((singles_done + c1))
done
[ "$n" = "$total" ] || die "the importers returned $n addresses, not $total"
[ "$(printf '0x%x' "$s")" = "$osum" ] || die "the importers' sum $(printf '0x%x' "$s") is not the owner's $osum"
[ "$(printf '0x%x' "$x")" = "$oxor" ] || die "the importers' xor $(printf '0x%x' "$x") is not the owner's $oxor"
[ "$singles_done" = $((singles * nimp * rounds)) ] ||
	die "$singles_done single frees, not $((singles * nimp * rounds))"
echo "$total buffers returned by $nimp importers on 2 segds, each received once: $((t1 - t0)) ms"
