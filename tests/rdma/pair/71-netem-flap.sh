#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# A link flap: the link between the guests carries nothing for 5 s (netem
# loss 100% on both guests), then everything again.  (Not the interface set
# down and up: under the guests' kernel, 6.1's rxe, no RDMA connection could
# be made between the guests for minutes after that, not even by new segds.)
# Node 2 holds an import of node 1's segment in one importer process and
# gets from it (direct data path, zero copy) before, during and after the
# gap.  During the gap that get and a segctl get (segd path) fail within the
# deadline (segd -t 3000 on both nodes; a 2500 ms margin for a stalled
# guest), naming the peer, and nothing hangs.  Once the link is back the
# same importer process gets again (the connection and the import made
# again on the next use; retried every 500 ms) and reads the segment's
# bytes.  Prints the detection time (the failed gets') and the recovery
# time (from the link's return to the first get that worked).
. "$SEG_TOP/tests/rdma/lib.sh"
S=$SOFTROCE_SYNC
me=node$SOFTROCE_NODE
D=3000 margin=2500 gap=5000 len=1048576
pair_fail_fast
netem_need
start_segd "$me" 7450 -t $D
echo "deadline: segd -t $D ms on both nodes; link cut for $gap ms"

if [ "$SOFTROCE_NODE" = 1 ]; then
	pair_export fseg $len
	softroce_barrier cut 60 || die "node 2 did not come to the cut"
	t_down=$(ms_now)
	netem loss 100%
	softroce_signal down
	# the gap itself: what this test is about
	sleep "$(awk -v d="$gap" 'BEGIN { printf "%.3f", d / 1000 }')"
	netem_off
	softroce_signal up
	echo "link cut for $(($(ms_now) - t_down)) ms"
	await after 120 || die "node 2 did not get again after the gap"
	wait_until 30 counter_is "$me" exported_imports 1 ||
		die "node 1 counts $(stat_of "$me" exported_imports) imports after the gap, want 1"
	sctl "$me" peers
	softroce_signal checked
else
	pair_hold fseg $len tget 0 $len zc say gap sync
	softroce_barrier cut 60 || die "node 1 did not come to the cut"
	netem loss 100%
	await down 60 || die "node 1 did not cut the link"
	# a get on the held import (direct path) and a segctl get (segd path)
	t0=$(ms_now)
	hold_next
	sctl "$me" get "$P/fseg" >/dev/null 2>"$T/sget.err" &
	spid=$!
	wait "$spid" && die "segctl get in the gap succeeded"
	sms=$(($(ms_now) - t0))
	wait_until 60 grep -q '^gap$' "$T/hold.out" || die "the get in the gap hung: $(cat "$T/hold.out")"
	[ -e "$S/up" ] && die "the link came up before the gets in the gap ended"
	line=$(grep '^tget fail' "$T/hold.out") || die "the get in the gap did not fail: $(cat "$T/hold.out")"
	echo "$line"
	ms=$(echo "$line" | sed 's/.* after \([0-9]*\) ms.*/\1/')
	[ "$ms" -lt $((D + margin)) ] || die "the get's error took $ms ms; deadline $D ms"
	case "$line" in *"$P"*) ;; *) die "the get's error does not name the peer $P" ;; esac
	echo "segctl get in the gap, after $sms ms: $(cat "$T/sget.err")"
	[ "$sms" -lt $((D + margin)) ] || die "segctl get's error took $sms ms; deadline $D ms"
	grep -q "$SOFTROCE_PEER" "$T/sget.err" || die "segctl get's error does not name the peer"
	await up 60 || die "node 1 did not end the cut"
	netem_off
	hold_after "the gap"
	pids=$(sed -n 's/^tget start pid \([0-9]*\) .*/\1/p' "$T/hold.out" | sort -u | wc -l)
	[ "$pids" = 1 ] || die "the gets ran in $pids processes"
	sctl "$me" peers | grep -q "^[^ ]* $P out ready" || die "no ready connection to $P after the gap"
	echo "detection: the get in the gap failed after $ms ms, segctl get after $sms ms"
	echo "recovery: the same importer got again $REC after the link came up"
	softroce_signal after
	await checked 60 || die "node 1 did not confirm"
	hold_end
fi
