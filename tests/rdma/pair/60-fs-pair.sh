#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# The segment file system across the two nodes.  Each node runs segd with
# its file system at /mnt/segment (a tmpfs is put on /mnt inside the guest
# for it) or, where that cannot be done, under a temporary folder.
#   node 1: connects to node 2, makes `example` with the spec's shell lines
#           and a 4 MiB `big` through its own mount, exports both;
#   node 2: cat /mnt/segment/net/node1/example/data (node 1 is known by its
#           node name), then dd 4 MiB into net/node1/big/data and back out;
#   node 1: finds node 2's bytes in its own memory, through its mount.
. "$SEG_TOP/tests/rdma/lib.sh"
[ -c /dev/fuse ] || skip "no /dev/fuse (the fuse module is not loaded)"
set -u
S=$SOFTROCE_SYNC
M=/mnt/segment
if [ "${SOFTROCE_MODE:-}" = guest ] && mount -t tmpfs -o mode=755 fsmnt /mnt 2>/dev/null; then
	mkdir -p "$M"
else
	M=$T/mnt
fi
pair_fail_fast
me=node$SOFTROCE_NODE
start_segd "$me" 7450 -m "$M"
mountpoint -q "$M" || die "segd did not mount $M"
export SEGD_SOCKET=$T/$me.sock
echo "node $SOFTROCE_NODE: mounted at $M"

if [ "$SOFTROCE_NODE" = 1 ]; then
	await up2 120 || die "node 2 did not start"
	# connect: node 2 now knows this node as node1
	ls "$M/net/$SOFTROCE_PEER" >/dev/null || die "ls net/$SOFTROCE_PEER"
	# the spec's example, verbatim but for the mount point
	mkdir $M/example
	echo 'va 0x10000000 0x100000' > $M/example/ctl
	echo -n hi mom > $M/example/data
	[ "$(cat $M/example/ctl)" = "va 0x10000000 0x100000" ] || die "example ctl"
	mkdir "$M/big" && echo 'addr 0 0x400000' >"$M/big/ctl" || die "big"
	"$B/segctl" export example && "$B/segctl" export big 'node2:rw' ||
		die "export"
	softroce_signal exported
	await written 300 || die "node 2 did not write"
	sum=$(md5sum <"$M/big/data" | cut -d' ' -f1)
	want=$(cat "$S/md5")
	echo "node 1: big/data md5 $sum, node 2 wrote $want"
	[ "$sum" = "$want" ] || die "node 2's bytes are not in node 1's memory"
	softroce_signal checked
else
	softroce_signal up2
	await exported 120 || die "node 1 did not export"
	ls /mnt/segment/net 2>/dev/null || ls "$M/net"
	# the line, as printed (where /mnt/segment could be had)
	got=$(cat $M/net/node1/example/data | head -c 6)
	[ "$got" = "hi mom" ] || die "cat net/node1/example/data: '$got'"
	echo "node 2: cat $M/net/node1/example/data: $got"
	head -c 4194304 /dev/urandom >"$T/in"
	t0=$(date +%s.%N)
	dd if="$T/in" of="$M/net/node1/big/data" bs=1M conv=notrunc status=none ||
		die "dd into net/node1/big/data"
	t1=$(date +%s.%N)
	dd if="$M/net/node1/big/data" of="$T/out" bs=1M status=none || die "dd out"
	t2=$(date +%s.%N)
	cmp "$T/in" "$T/out" || die "read back differs"
	awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN {
		printf "node 2: dd 4 MiB in %.1f MB/s, out %.1f MB/s\n",
		    4.194304 / (b - a), 4.194304 / (c - b) }'
	md5sum <"$T/in" | cut -d' ' -f1 >"$S/md5"
	softroce_signal written
	await checked 120 || die "node 1 did not check"
fi
stop_segd "$me" || exit 1
mountpoint -q "$M" && die "the mount outlived segd"
grep 'fs: ' "$T/$me.log" | sed "s/^/node $SOFTROCE_NODE: /"
exit 0
