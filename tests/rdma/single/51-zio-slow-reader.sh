#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# A slow reader holds up the senders and loses nothing.  36 importer
# processes on segd "b" (port 7451) return buffers of a umsg segment owned
# through segd "own" (port 7450), in rounds, with small batches (8), so
# more FREE messages are in flight than the 32 credits of the connection.
# The owner is slow: after handing out a round it waits 300 ms (the whole
# round piles up in segd's free queue), then reads free at most 64
# addresses at a time with a 5 ms pause after each read.  Before round 3 is
# handed out, the owner's segd itself is stopped (SIGSTOP): the senders
# must be held back -- messages queued for credits at "b" (segctl peers
# shows them; the stop lasts until they are seen, then 2 s more), the calls
# in flight waiting (the slowest over 1.5 s) -- and, once it runs again,
# every address must arrive exactly once (the owner checks each, the count
# and the checksums against the importers').
. "$SEG_TOP/tests/rdma/lib.sh"
ZIO_LIMIT=240

nimp=36 per=40 rounds=6 stop_ms=2000
total=$((nimp * per * rounds))
start_segd own 7450
start_segd b 7451
sctl own create zbuf || die "create zbuf"
sctl own ctl zbuf "umsg 0x200000000000 0x800000" || die "ctl zbuf"
sctl own export zbuf || die "export zbuf"

zio_bg own owner zbuf -i $nimp -n $per -r $rounds -m 64 -z 5 -w 300 \
	-p 3 -g "$T/go" -f "$T/tables" >"$T/owner.out" 2>&1 &
opid=$!
_bg_pids+=($!)
zio_bg b importer "$A:7450/zbuf" -f "$T/tables" -k 0 -P $nimp -b 8 \
	>"$T/imp.out" 2>&1 &
ipid=$!
_bg_pids+=($!)

# stop the receiving segd before round 3 is handed out (the owner waits
# for $T/go); keep it stopped until messages are seen waiting for credits
# at b (15 s at most), then $stop_ms more
wait_until 120 grep -q '^round 3 ready' "$T/owner.out" ||
	die "the owner did not reach round 3: $(cat "$T/owner.out")"
kill -STOP "${SEGD_PID[own]}"
t_stop=$(ms_now)
touch "$T/go"
held=""
while [ -z "$held" ] && [ $(($(ms_now) - t_stop)) -lt 15000 ]; do
	l=$(sctl b peers | grep '^own ' | head -n 1)
	q=$(echo "$l" | sed -n 's/.* queued \([0-9]*\).*/\1/p')
	[ -n "$q" ] && [ "$q" -gt 0 ] && held=$l
	[ -z "$held" ] && sleep 0.2
done
sleep "$((stop_ms / 1000))"
kill -CONT "${SEGD_PID[own]}"
stopped=$(($(ms_now) - t_stop))
echo "own's segd stopped for $stopped ms; b's connection to it meanwhile: ${held:-nothing queued}"
[ -n "$held" ] || die "no FREE message waited for credits while the receiver was stopped: $(sctl b peers)"

# the first to fail ends the test (the clean-up stops the other)
wait_each $opid owner $ipid importers -- "$T/owner.out" "$T/imp.out"
cat "$T/owner.out" "$T/imp.out"

line=$(grep '^owner: received' "$T/owner.out") || die "no owner summary"
read -r got osum oxor <<<"$(echo "$line" |
	sed -n 's/^owner: received \([0-9]*\) addresses in [0-9]* rounds, sum \(0x[0-9a-f]*\) xor \(0x[0-9a-f]*\),.*/\1 \2 \3/p')"
[ "$got" = "$total" ] || die "the owner received $got addresses, not $total"
n=0 s=0 x=0 slow=0 k=0
while read -r l; do
	read -r f is ix c <<<"$(echo "$l" |
		sed -n 's/^importer [0-9]*: freed \([0-9]*\) in [0-9]* rounds, [0-9]* calls ([0-9]* single), sum \(0x[0-9a-f]*\) xor \(0x[0-9a-f]*\), [0-9]* ms, slowest call \([0-9]*\) ms$/\1 \2 \3 \4/p')"
	[ -n "$c" ] || die "unreadable summary: $l"
	n=$((n + f)) s=$((s + is)) x=$((x ^ ix)) k=$((k + 1))
	[ "$c" -gt "$slow" ] && slow=$c
done < <(grep '^importer [0-9]*: freed' "$T/imp.out")
[ "$k" = $nimp ] || die "$k importer summaries, not $nimp"
[ "$n" = "$total" ] || die "the importers returned $n addresses, not $total"
[ "$(printf '0x%x' "$s")" = "$osum" ] || die "the importers' sum is not the owner's"
[ "$(printf '0x%x' "$x")" = "$oxor" ] || die "the importers' xor is not the owner's"
[ "$slow" -ge $((stop_ms * 3 / 4)) ] ||
	die "the slowest free call took $slow ms: nothing was held back by the stopped receiver"
echo "$total addresses through a slow reader, each once; slowest call $slow ms (receiver stopped $stopped ms)"
