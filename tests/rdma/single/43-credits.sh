#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# Credits between segds.
#  1. A peer that never returns credits (rawpeer -m nocredits: LIST requests
#     whose headers return none, no CREDIT message) gets segd's replies
#     queued for credits, at most 4,096 of them: at the cap segd drops it,
#     logging "returns no credits; 4096 messages queued", and not before
#     (rawpeer sent at least 4,096 requests).  Another peer's import keeps
#     working meanwhile and after.
#  2. Two busy peers do not deadlock: 24 processes on each of two segds
#     list the other's exports 40 times each at once, so both directions
#     run out of credits together; every listing succeeds, and afterwards
#     neither side has messages queued.
. "$SEG_TOP/tests/rdma/lib.sh"
need_bin "$RAWPEER"
start_exp_imp
make_seg cr exp 0x200000000000 0x100000
make_seg ci imp 0x210000000000 0x100000
sctl exp export cr || die "export cr"
sctl imp export ci || die "export ci"
imp imp -x "$T/exp.sock" -X cr import "$E/cr" get 0 4096 bounce || die "import cr"

# 1
timeout 300 "$RAWPEER" -a "$A" -p 7450 -m nocredits -t 120 -w 10 \
	>"$T/raw.out" 2>&1
rc=$?
cat "$T/raw.out"
[ "$rc" = 0 ] || die "the peer that returns no credits was not dropped (exit $rc)"
n=$(sed -n 's/^dropped after \([0-9]*\) requests.*/\1/p' "$T/raw.out")
{ [ -n "$n" ] && [ "$n" -ge 4096 ]; } || die "dropped after ${n:-?} requests: fewer than the 4,096 segd may queue"
wait_until 10 grep -q 'returns no credits; 4096 messages queued' "$T/exp.log" ||
	die "segd did not log the queue cap"
grep 'returns no credits' "$T/exp.log"
imp imp -x "$T/exp.sock" -X cr import "$E/cr" get 5 10000 bounce ||
	die "the other peer's import stopped working"

# 2
pids=()
for k in $(seq 24); do
	imp exp lsn "$A:7451" 40 >"$T/lsa$k.out" 2>&1 &
	pids+=($!)
	imp imp lsn "$E" 40 >"$T/lsb$k.out" 2>&1 &
	pids+=($!)
done
for p in "${pids[@]}"; do
	wait "$p" || die "a listing failed or hung: $(cat "$T"/ls[ab]*.out | grep -v '^seed\|^listed' | head -n 5)"
done
[ "$(cat "$T"/ls[ab]*.out | grep -c '^listed ')" = 48 ] || die "not every lister finished"
for node in exp imp; do
	sctl "$node" peers | tee "$T/peers.$node"
	grep -q ' ready ' "$T/peers.$node" || die "$node has no ready connection"
	grep -q ' queued [1-9]' "$T/peers.$node" && die "$node still has messages queued"
done
echo "1,920 listings each way at once: no deadlock"
