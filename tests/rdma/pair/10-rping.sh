#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# rping between the two nodes: node 1 serves, node 2 connects to it; 10
# messages with data verification (-V).
. "$SEG_TOP/tests/rdma/lib.sh"
need_cmd rping
port=7174 count=10

if [ "$SOFTROCE_NODE" = 1 ]; then
	timeout 90 rping -s -a "$SOFTROCE_ADDR" -p "$port" -C "$count" -V -v >"$T/server" 2>&1 &
	spid=$!
	if ! softroce_wait_listen "$port" 20 "$SOFTROCE_ADDR"; then
		kill "$spid"
		cat "$T/server"
		exit 1
	fi
	softroce_signal rping-listening
	wait "$spid"
	src=$?
	cat "$T/server"
	n=$(grep -c 'server ping data: rdma-ping-' "$T/server")
	echo "server: exit $src, $n of $count pings"
	[ "$src" = 0 ] && [ "$n" = "$count" ]
else
	softroce_wait rping-listening 60 || exit 1
	timeout 60 rping -c -a "$SOFTROCE_PEER" -p "$port" -C "$count" -V -v >"$T/client" 2>&1
	crc=$?
	cat "$T/client"
	n=$(grep -c 'ping data: rdma-ping-' "$T/client")
	echo "client: exit $crc, $n of $count pings verified, $SOFTROCE_ADDR -> $SOFTROCE_PEER"
	[ "$crc" = 0 ] && [ "$n" = "$count" ]
fi
