#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# Notifications to an owner that stops answering, or dies.  segd "own"
# (port 7450, deadline 3 s) exports a umsg segment whose buffers a holder
# process allocated; a process on segd "b" (port 7451, deadline 3 s)
# returns them in batches of 10.
#  1. own's segd is stopped (SIGSTOP): the free in flight fails at the
#     deadline (3 s after the stop, give or take 1.5 s) with an error naming
#     the peer ("did not answer");
#  2. own's segd runs again; a new returner works until own's segd is
#     killed (SIGKILL): the free in flight fails within the deadline,
#     naming the peer;
#  3. a free to the dead node fails within the deadline, naming it; b's segd
#     keeps serving;
#  4. own's segd is started again on its state, which exports u again by
#     itself: the batch whose free failed when it died is still the
#     sender's, so it can be returned once, and a second return is refused.
# (The batch in flight when own's segd was only stopped may or may not be
# applied when it runs again: the FREE reached its receive queue.  Its
# retry is made idempotent by batch numbers: single/63-free-retry.sh.)
. "$SEG_TOP/tests/rdma/lib.sh"
D=3000 margin=$(scaled 1500)
E=$A:7450
start_segd own 7450 -t $D
start_segd b 7451 -t $D
sctl own create u || die "create u"
sctl own ctl u "umsg 0x240000000000 0x1000000" || die "ctl u"
sctl own export u || die "export u"
SEGD_SOCKET=$T/own.sock bg "$ZIO_IO" -T 300 hold u 20000 64 "$T/addrs" >"$T/hold.out" 2>&1
wait_until 60 grep -q '^holding' "$T/hold.out" || die "no holder: $(cat "$T/hold.out")"

# fail_after OUT SIGNAL [SKIP]: return addresses (after the first SKIP),
# output in OUT; once 200 are back, SIGNAL to own's segd; DT = the ms from
# the signal to the failure, LINE = the failure line
fail_after() {
	local out=$1 sig=$2 skip=${3:-0} pid t_sig t_err
	zio_bg b freeloop "$E/u" "$T/addrs" 10 "$skip" >"$out" 2>&1 &
	pid=$!
	_bg_pids+=($!)
	wait_until 60 grep -q '^freeloop progress [2-9]00' "$out" ||
		die "no progress: $(cat "$out")"
	t_sig=$(ms_now)
	if [ "$sig" = KILL ]; then kill_segd own; else kill -s "$sig" "${SEGD_PID[own]}"; fi
	wait "$pid" || die "freeloop: $(cat "$out")"
	LINE=$(grep '^freeloop fail at ' "$out") ||
		die "the frees went on after SIG$sig: $(tail -n 3 "$out")"
	t_err=$(sed 's/^freeloop fail at \([0-9]*\) .*/\1/' <<<"$LINE")
	DT=$((t_err - t_sig))
}

fail_after "$T/f1.out" STOP
echo "stopped: error $DT ms after SIGSTOP: ${LINE#*: }"
[ "$DT" -ge $((D - margin)) ] && [ "$DT" -lt $((D + margin)) ] ||
	die "the error came $DT ms after the stop; deadline $D ms"
case "${LINE#*: }" in *"$E"*"did not answer"* | *"did not answer"*"$E"*) ;;
*) die "the error does not name the peer $E and its silence: $LINE" ;; esac
kill -CONT "${SEGD_PID[own]}"
done1=$(sed -n 's/^freeloop fail at [0-9]* after \([0-9]*\) addresses.*/\1/p' "$T/f1.out")
[ -n "$done1" ] || die "no count in: $LINE"

fail_after "$T/f2.out" KILL $((done1 + 10))
done2=$(sed -n 's/^freeloop fail at [0-9]* after \([0-9]*\) addresses.*/\1/p' "$T/f2.out")
[ -n "$done2" ] || die "no count in: $LINE"
# the skipped first done1 + 10, then done2 returned: the next 10 failed
first=$((done1 + 10 + done2 + 1))
mapfile -t failed < <(sed -n "${first},$((first + 9))p" "$T/addrs")
[ "${#failed[@]}" = 10 ] || die "no failed batch after $first addresses"
echo "killed: error $DT ms after SIGKILL: ${LINE#*: }"
[ "$DT" -lt $((D + margin)) ] || die "the error came $DT ms after the kill; deadline $D ms"
case "${LINE#*: }" in *"$E"*) ;; *) die "the error does not name the peer $E: $LINE" ;; esac

t0=$(ms_now)
out=$(zio b rfree "$E/u" "$(tail -n 1 "$T/addrs")" 2>&1)
rc=$?
dt=$(($(ms_now) - t0))
echo "dead node: $dt ms: $out"
case "$rc $out" in
"3 refused: "* | "4 import failed: "*) ;;
*) die "a free to the dead node: exit $rc: $out" ;;
esac
[ "$dt" -lt $((D + margin)) ] || die "the free to the dead node failed after $dt ms; deadline $D ms"
case "${out#*: }" in *"$E"*) ;; *) die "the error does not name the peer $E: $out" ;; esac
sctl b stats >/dev/null || die "b's segd does not answer"

# the dead owner's node comes back: the failed batch is still the sender's
start_segd own 7450 -t $D
out=$(sctl own export u 2>&1) && die "u was not exported again by the restart"
case "$out" in *"already exported"*) ;; *) die "export u after the restart: $out" ;; esac
out=$(zio b rfree "$E/u" "${failed[@]}" 2>&1) ||
	die "the batch whose free failed when the owner died is no longer the sender's: $out"
echo "the failed batch, returned after the restart: $out"
out=$(zio b rfree "$E/u" "${failed[@]}" 2>&1)
rc=$?
echo "and once more: $out"
[ $rc = 3 ] || die "the failed batch was returned twice (exit $rc): $out"
case "$out" in *"is not the start of a live buffer"*) ;;
*) die "a second return of the failed batch: $out" ;; esac
