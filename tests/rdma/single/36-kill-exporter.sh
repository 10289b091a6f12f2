#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# The exporter's segd killed (SIGKILL) in the middle of a 64 MiB get: the
# get fails with an error naming the peer, within the deadline (segd -t) of
# the kill plus a margin, and the importer's segd keeps serving.  A first,
# undisturbed 64 MiB get shows how long the transfer takes; then gets run
# back to back (start_long_get), and the kill comes while one is under way.
. "$SEG_TOP/tests/rdma/lib.sh"
# the importer's deadline; margin: slack for guest stalls on a loaded host
D=8000 margin=$(scaled 2500)
E=$A:7450
start_segd exp 7450
start_segd imp 7451 -t $D
make_seg big exp 0x200000000000 0x4000000
sctl exp export big || die "export big"

start_long_get imp "$E/big" "$T/kill.out"
t_kill=$(ms_now)
kill_segd exp
wait "$GET_PID" || die "imp_io: $(cat "$T/kill.out")"
cat "$T/kill.out"
grep -q '^tget ok' "$T/kill.out" && die "the get finished before the kill"
line=$(grep '^tget fail at ' "$T/kill.out") || die "no failure reported"
t_err=$(echo "$line" | sed 's/^tget fail at \([0-9]*\) .*/\1/')
msg=${line#*ms: }
dt=$((t_err - t_kill))
echo "killed $((t_kill - T_START)) ms into the gets"
echo "error $dt ms after the kill (deadline $D ms): $msg"
[ "$dt" -lt $((D + margin)) ] || die "the error came $dt ms after the kill; deadline $D ms"
case "$msg" in
*"$E"*) ;;
*) die "the error does not name the peer $E: $msg" ;;
esac
sctl imp stats >/dev/null || die "the importer's segd does not answer after the kill"
# nothing leaks at the importer's segd once the importing process is gone
wait_until 30 counter_is imp imports 0 ||
	die "the importer's segd keeps $(stat_of imp imports) imports after the exporter died"
kill -0 "${SEGD_PID[imp]}" || die "the importer's segd died"
