#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# The peer limit: a segd keeps at most 256 peer connections (PEER_MAX in
# segd/peer.h).  rawpeer -m many opens 260, one after the other, each with a
# valid HELLO from a node of its own: segd accepts 256 and refuses the other
# 4 at connect (REJECTED, carrying the reason "too many peers (256)"), and
# logs the refusals (rate-limited: at least one line).  While
# rawpeer holds the 256, segd still serves its local clients: segctl peers
# lists the 256 ready in-connections, segctl create works, and none of the
# 256 is dropped.  Once rawpeer closes them segd has no peers left, and a
# normal peer is accepted again.
. "$SEG_TOP/tests/rdma/lib.sh"
need_bin "$RAWPEER"
# -H 0: rawpeer's held connections are silent on purpose (no heartbeat)
start_segd exp 7450 -H 0

# no_peers: segctl peers answers, with nothing
no_peers() {
	local out
	out=$(sctl exp peers) && [ -z "$out" ]
}

hold=$(scaled 30) limit=$(scaled 150)
timeout $((limit + hold + 30)) "$RAWPEER" -a "$A" -p 7450 -m many -c 260 \
	-t "$limit" -w "$hold" >"$T/many.out" 2>&1 &
rpid=$!
wait_until 150 grep -q '^holding ' "$T/many.out" ||
	die "rawpeer did not make its 260 connections: $(cat "$T/many.out")"
cat "$T/many.out"
grep -qx 'accepted 256 of 260' "$T/many.out" ||
	die "segd did not accept exactly 256 of 260 peers"
grep -q '^refused 4, the first: connection 257: RDMA_CM_EVENT_REJECTED .*: too many peers (256)$' \
	"$T/many.out" || die "the 257th connection was not the first refused, with the reason"

# while the 256 are held
sctl exp peers >"$T/peers" || die "segctl peers failed with 256 peers"
n=$(grep -c '^NODE-[0-9]* .* in ready ' "$T/peers")
{ [ "$n" = 256 ] && [ "$(wc -l <"$T/peers")" = 256 ]; } ||
	die "segctl peers lists $n ready in-connections of NODE-*, want 256: $(head -n 3 "$T/peers")"
for k in 0 255; do
	grep -q "^NODE-$k " "$T/peers" || die "segctl peers does not list NODE-$k"
done
echo "segctl peers: $n ready in-connections, NODE-0 to NODE-255"
sctl exp create x || die "segctl create failed with 256 peers"
sctl exp stat x | grep -qx 'name x' || die "segctl stat x: $(sctl exp stat x 2>&1)"
echo "segctl create x: ok"
n=$(grep -c 'peer_request: connect from .* refused: too many peers (256)' "$T/exp.log")
[ "$n" -ge 1 ] || die "segd did not log the refusal"
echo "segd logged 'refused: too many peers (256)' $n time(s)"
kill -0 "${SEGD_PID[exp]}" || die "segd died"

wait "$rpid" || die "rawpeer -m many failed: $(cat "$T/many.out")"
tail -n 2 "$T/many.out"
grep -qx 'dropped by segd while held: 0' "$T/many.out" ||
	die "segd dropped some of the 256 peers while they were held"
grep -qx 'closed 256 connections' "$T/many.out" || die "rawpeer did not close 256"

# all gone, and room for a peer again
wait_until 60 no_peers ||
	die "segd still has $(sctl exp peers | wc -l) peer(s) after rawpeer closed them"
echo "segctl peers: none left"
timeout 60 "$RAWPEER" -a "$A" -p 7450 -m hello -n after -w 2 >"$T/raw.out" 2>&1 ||
	die "a peer after the 256 left was not accepted: $(cat "$T/raw.out")"
cat "$T/raw.out"
wait_until 60 no_peers || die "the last peer is still listed: $(sctl exp peers)"
