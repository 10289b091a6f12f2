#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# Remote frees exactly once across a lost connection.  8 importer processes
# on segd "b" (port 7451) return buffers of a umsg segment owned through
# segd "own" (port 7450) in batches of 10.  When round 2 is published the
# owner's segd is stopped (SIGSTOP): the FREEs in flight reach its receive
# queue but get no ACK, b's deadline (2 s) closes the connection, and the
# importers (-R) return the same addresses again, every 100 ms, until it
# answers.  Once b's connection was closed the owner's segd runs again: it
# applies the FREEs it had received (their ACKs are lost with the
# connection), and the retries, made over a new connection with the same
# batch numbers, must be acknowledged without being applied twice (the
# owner's segd says so) -- the owner process checks every address came back
# exactly once, none foreign, nothing more after the last round, and the
# count and checksums match the importers'.
. "$SEG_TOP/tests/rdma/lib.sh"
ZIO_LIMIT=240
D=2000
nimp=8 per=100 rounds=4
total=$((nimp * per * rounds))
start_segd own 7450 -t 60000
start_segd b 7451 -t $D
sctl own create zbuf || die "create zbuf"
sctl own ctl zbuf "umsg 0x200000000000 0x800000" || die "ctl zbuf"
sctl own export zbuf || die "export zbuf"

zio_bg own owner zbuf -i $nimp -n $per -r $rounds -p 2 -g "$T/go" \
	-f "$T/tables" >"$T/owner.out" 2>&1 &
opid=$!
_bg_pids+=($!)
zio_bg b importer "$A:7450/zbuf" -f "$T/tables" -k 0 -P $nimp -b 10 \
	-R 60000 >"$T/imp.out" 2>&1 &
ipid=$!
_bg_pids+=($!)

zio_stop_round2

wait_each $opid owner $ipid importers -- "$T/owner.out" "$T/imp.out"
grep -v '^retry' "$T/imp.out"
cat "$T/owner.out"
echo "importers' retries: $(grep -c '^retry' "$T/imp.out")"
grep -q '^retry' "$T/imp.out" || die "no return was made again: the stop lost nothing in flight"
grep 'sent batch .* again: applied before' "$T/own.log" ||
	die "no batch was applied before its ACK was lost: nothing was tested"

zio_sums $total $nimp "$T/imp.out"
echo "$total addresses, each back exactly once across a lost connection"
