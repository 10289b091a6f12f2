#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# seg_barrier reports the first put that failed since the previous barrier.
# Puts of 64 MiB run back to back until the exporter's segd is killed
# (at a quarter of 3 s of them): the put in flight fails; the next barrier must
# fail with that put's own error (not the lost connection's), and the
# barrier after it must not report it again.
. "$SEG_TOP/tests/rdma/lib.sh"
E=$A:7450
start_segd exp 7450
start_segd imp 7451 -t 8000
make_seg big exp 0x200000000000 0x4000000
sctl exp export big || die "export big"

zc=(zcbuf zc 0x300000000000 0x4100000 import "$E/big")
imp imp "${zc[@]}" tput 0 0x4000000 zc >"$T/one.out" 2>&1 ||
	die "first put: $(cat "$T/one.out")"
full=$(sed -n 's/^tput ok after \([0-9]*\) ms$/\1/p' "$T/one.out")
[ -n "$full" ] || die "the undisturbed 64 MiB put failed: $(cat "$T/one.out")"
# The kill comes a quarter into 3 s of puts, but 15 s of them are asked
# for: with one CPU the puts (rxe copies in the kernel) can hold off this
# script's sleep and kill for seconds.  Puts after the kill fail at once.
at=$(((1 + 3000 / (full + 1)) * full / 4))
reps=$((1 + 15000 / (full + 1)))
imp imp "${zc[@]}" tputs $reps 0 0x4000000 zc tbarrier tbarrier >"$T/put.out" 2>&1 &
pid=$!
wait_until 60 grep -q '^tput start' "$T/put.out" || die "no put: $(cat "$T/put.out")"
sleep "$(awk -v d=$at 'BEGIN { printf "%.3f", d / 1000 }')"
kill_segd exp
wait "$pid" || die "imp_io: $(cat "$T/put.out")"
cat "$T/put.out"
grep -q '^tput ok' "$T/put.out" && die "the puts finished before the kill"
put=$(sed -n 's/^tput fail at .* ms: //p' "$T/put.out")
[ -n "$put" ] || die "no put failed"
mapfile -t bar < <(sed -n 's/^tbarrier //p' "$T/put.out")
[ "${#bar[@]}" = 2 ] || die "two barriers were not both answered"
[ "${bar[0]}" = "fail: $put" ] ||
	die "the first barrier said '${bar[0]}', not the failed put's '$put'"
[ "${bar[1]}" != "fail: $put" ] ||
	die "the second barrier reported the same put again: ${bar[1]}"
echo "the failed put: $put"
echo "barrier 1: ${bar[0]}; barrier 2: ${bar[1]}"
