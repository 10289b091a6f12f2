#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# The segd demo, one script per node of a soft-RoCE pair (tests/softroce pair):
# node 1 makes the spec's example segment and a zero-copy buffer segment and
# exports them; node 2 lists, reads and writes them over RDMA, returns
# buffers and posts a signal; node 1 sees every effect.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
PATH=$top/tests/softroce.d/bin:$top/build:$PATH
me=node$SOFTROCE_NODE
tmp=$(mktemp -d /tmp/segd-demo.XXXXXX)
export SEGD_SOCKET=$tmp/segd.sock
say() { printf '%s$ %s\n' "$me" "$*"; "$@"; }

segd -f -n "$me" -l "$SOFTROCE_ADDR" -d "$tmp/state" -t 15000 2>"$tmp/segd.log" &
segd_pid=$!
trap 'kill $segd_pid 2>/dev/null; wait 2>/dev/null; sed "s/^/segd: /" "$tmp/segd.log"; rm -rf "$tmp"' EXIT
softroce_wait_listen 7450 20 "$SOFTROCE_ADDR" || exit 1

if [ "$SOFTROCE_NODE" = 1 ]; then
	say segctl create example 0666 || exit 1
	say segctl ctl example 'va 0x10000000 0x100000' || exit 1
	echo -n hi mom | say segctl write example || exit 1
	say segctl export example || exit 1
	say segctl create ring 0600 || exit 1
	say segctl ctl ring 'kmsg 0 0x100000' || exit 1
	say segctl export ring || exit 1
	say segctl ls
	buf=$(segctl zalloc ring 4096) || exit 1
	echo "node1: allocated kmsg buffer $buf in ring"
	echo "$buf" >"$SOFTROCE_SYNC/buffer"
	softroce_signal exported
	softroce_wait node2-done 120 || exit 1
	say segctl read example 0 6; echo
	say segctl read example 0x1000 18; echo
	echo "node1: the buffer came back: zalloc gives it again"
	again=$(segctl zalloc ring 4096) || exit 1
	echo "node1: zalloc ring 4096 -> $again"
	[ "$again" = "$buf" ] || { echo "node1: expected $buf"; exit 1; }
	say segctl stats
else
	softroce_wait exported 120 || exit 1
	buf=$(cat "$SOFTROCE_SYNC/buffer")
	say segctl ls "$SOFTROCE_PEER" || exit 1
	say segctl get "$SOFTROCE_PEER/example" 0 6 || exit 1; echo
	echo -n "written from node2" | say segctl put "$SOFTROCE_PEER/example" 0x1000 || exit 1
	say segctl free "$SOFTROCE_PEER/ring" "$buf" || exit 1
	echo "node2: a second free of the same buffer is refused:"
	say segctl free "$SOFTROCE_PEER/ring" "$buf" && exit 1
	say segctl peers
	say segctl stats
	softroce_signal node2-done
fi
echo "$me: done"
