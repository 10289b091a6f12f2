#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# Signals across nodes (RSM's rsm_intr_signal_post/wait): segd "own" (port
# 7450) exports sa, segd "b" (port 7451) exports sb.
#  - seg_signal_wait with nothing posted times out (after its timeout);
#  - a signal posted from b before anyone waits is not lost: the next wait
#    returns at once; 20 posted (each acknowledged) coalesce: the first wait
#    after them returns, the second times out;
#  - a waiter seen blocked (asleep in poll) wakes when b posts;
#  - 200 round trips of ping-pong (b posts to sa, own waits and posts to
#    sb, b waits ...) with a 10 s limit on every wait: none lost.
. "$SEG_TOP/tests/rdma/lib.sh"
waited() { # the T of "signal after T ms" / "timeout after T ms: ..."
	sed -n 's/^\(signal\|timeout\) after \([0-9]*\) ms.*/\2/p' <<<"$1"
}

start_segd own 7450
start_segd b 7451
make_seg sa own 0x220000000000 0x10000
make_seg sb b 0x230000000000 0x10000
sctl own export sa || die "export sa"
sctl b export sb || die "export sb"

out=$(zio own sigwait sa 700)
rc=$?
echo "nothing posted: $out"
[ $rc = 3 ] || die "seg_signal_wait returned with nothing posted (exit $rc): $out"
t=$(waited "$out")
[ -n "$t" ] && [ "$t" -ge 690 ] && [ "$t" -lt 3700 ] || die "the 700 ms wait timed out after ${t:-?} ms"
grep -q "no signal for segment 'sa' within 700 ms" <<<"$out" || die "the timeout's message: $out"

zio b sigpost "$A:7450/sa" 1 || die "seg_signal from b"
out=$(zio own sigwait sa 2000) || die "a signal posted before the wait was lost: $out"
echo "posted, then waited: $out"

zio b sigpost "$A:7450/sa" 20 || die "20 signals from b"
out=$(zio own sigwait sa 2000) || die "20 signals posted, the next wait got none: $out"
echo "20 posted, first wait: $out"
out=$(zio own sigwait sa 300)
rc=$?
echo "20 posted, second wait: $out"
[ $rc = 3 ] || die "the 20 signals did not coalesce: a second wait returned (exit $rc): $out"
grep -q "^timeout after" <<<"$out" || die "the second wait: $out"

zio_bg own sigwait sa 15000 >"$T/w.out" 2>&1 &
wpid=$!
_bg_pids+=($!)
wait_until 30 grep -q '^sigwait pid' "$T/w.out" || die "no waiter: $(cat "$T/w.out")"
w=$(sed -n 's/^sigwait pid \([0-9]*\) waiting$/\1/p' "$T/w.out")
wait_until 30 blocked_in_poll "$w" || die "the waiter never blocked: $(cat "$T/w.out")"
grep -q '^signal after' "$T/w.out" && die "the waiter returned before the post"
zio b sigpost "$A:7450/sa" 1 || die "seg_signal from b to a waiter"
wait "$wpid" || die "the blocked waiter got no signal: $(cat "$T/w.out")"
echo "blocked waiter: $(cat "$T/w.out")"

zio_bg own pingpong sa "$A:7451/sb" 200 >"$T/p1.out" 2>&1 &
p1=$!
_bg_pids+=($!)
wait_until 30 grep -q 'pingpong ready' "$T/p1.out" || die "own's ping-pong did not start: $(cat "$T/p1.out")"
zio b pingpong sb "$A:7450/sa" 200 first >"$T/p2.out" 2>&1 || {
	cat "$T/p1.out"
	die "b's ping-pong: $(cat "$T/p2.out")"
}
wait "$p1" || die "own's ping-pong: $(cat "$T/p1.out")"
cat "$T/p1.out" "$T/p2.out"
echo "signals across nodes: none lost"
