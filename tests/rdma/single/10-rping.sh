#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# rping between two processes on this node's RDMA device: rdma_cm connection,
# RDMA READ/WRITE ping-pong of 10 messages with data verification (-V).
. "$SEG_TOP/tests/rdma/lib.sh"
need_cmd rping
port=7174 count=10

timeout 60 rping -s -a "$SOFTROCE_ADDR" -p "$port" -C "$count" -V >"$T/server" 2>&1 &
spid=$!
if ! softroce_wait_listen "$port" 20 "$SOFTROCE_ADDR"; then
	cat "$T/server"
	exit 1
fi
timeout 60 rping -c -a "$SOFTROCE_ADDR" -p "$port" -C "$count" -V -v >"$T/client" 2>&1
crc=$?
wait "$spid"
src=$?
echo "--- client (exit $crc)"
cat "$T/client"
echo "--- server (exit $src)"
cat "$T/server"
n=$(grep -c 'ping data: rdma-ping-' "$T/client")
echo "$n of $count pings verified on $SOFTROCE_DEV ($SOFTROCE_ADDR)"
[ "$crc" = 0 ] && [ "$src" = 0 ] && [ "$n" = "$count" ]
