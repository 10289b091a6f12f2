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
#   node 1: finds node 2's bytes in its own memory, through its mount, and
#           big/data's modification time moved with node 2's import.
# The remote view's ctl and free:
#   node 2: net/node1/NAME/ctl reads node 1's "VERB ADDR LEN" (and cannot be
#           written); a kmsg segment `zk` of node 1 shows free, `example`
#           does not; node 2 writes one of zk's buffers to net/node1/zk/free
#           (a remote free), again (refused by node 1: not live), and
#           garbage (refused);
#   node 1: that buffer is free in its own pool (its free refuses it), the
#           other one, never written to net/, is still live.
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
	mkdir "$M/zk" && echo 'kmsg 0 0x100000' >"$M/zk/ctl" || die "zk"
	a1=$("$B/segctl" zalloc zk 4096) && a2=$("$B/segctl" zalloc zk 4096) ||
		die "zalloc zk"
	echo "$a1" >"$S/zk.a1"
	"$B/segctl" export example && "$B/segctl" export big 'node2:rw' &&
		"$B/segctl" export zk || die "export"
	cat "$M/example/ctl" >"$S/example.ctl" && cat "$M/big/ctl" >"$S/big.ctl" &&
		cat "$M/zk/ctl" >"$S/zk.ctl" || die "ctl"
	m0=$(stat -c %y "$M/big/data")
	softroce_signal exported
	await written 300 || die "node 2 did not write"
	sum=$(md5sum <"$M/big/data" | cut -d' ' -f1)
	want=$(cat "$S/md5")
	echo "node 1: big/data md5 $sum, node 2 wrote $want"
	[ "$sum" = "$want" ] || die "node 2's bytes are not in node 1's memory"
	# node 2's RDMA writes bypass segd: the read-write import moved the time
	m1=$(stat -c %y "$M/big/data")
	[ "$m1" != "$m0" ] || die "big/data's time ($m0) did not move with node 2's import"
	echo "node 1: big/data's time: $m0, after node 2's read-write import $m1"
	# node 2's remote free reached zk's pool: a1 is no longer live here
	echo "$a1" >"$M/zk/free" 2>/dev/null &&
		die "$a1 was still live: node 2's write to net/node1/zk/free did not free it"
	grep -q "not the start of a live buffer" "$T/$me.log" ||
		die "node 1's refusal of $a1 does not say why"
	echo "$a2" >"$M/zk/free" || die "$a2, never freed remotely, is not live"
	echo "node 1: $a1 freed by node 2 through net/node1/zk/free; $a2 still ours"
	softroce_signal checked
else
	softroce_signal up2
	await exported 120 || die "node 1 did not export"
	ls /mnt/segment/net 2>/dev/null || ls "$M/net"
	# the issue's line, as printed (where /mnt/segment could be had)
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
	# ctl: the exporter's VERB ADDR LEN, read over the control connection
	for s in example big zk; do
		got=$(cat "$M/net/node1/$s/ctl") || die "cat net/node1/$s/ctl"
		[ "$got" = "$(cat "$S/$s.ctl")" ] ||
			die "net/node1/$s/ctl: '$got', node 1 says '$(cat "$S/$s.ctl")'"
		echo "node 2: net/node1/$s/ctl: $got"
	done
	[ "$(stat -c %s "$M/net/node1/big/ctl")" = "$(wc -c <"$S/big.ctl")" ] ||
		die "net/node1/big/ctl's size is not its text's"
	echo 'va 0x30000000 0x1000' >"$M/net/node1/big/ctl" 2>/dev/null &&
		die "net/node1/big/ctl could be written"
	# free: listed for the zero-copy segment only
	[ "$(ls "$M/net/node1/example" | tr '\n' ' ')" = "ctl data " ] ||
		die "net/node1/example lists: $(ls "$M/net/node1/example")"
	[ "$(ls "$M/net/node1/zk" | tr '\n' ' ')" = "ctl data free " ] ||
		die "net/node1/zk lists: $(ls "$M/net/node1/zk")"
	a1=$(cat "$S/zk.a1")
	echo "$a1" >"$M/net/node1/zk/free" || die "remote free of $a1 through net/"
	echo "$a1" >"$M/net/node1/zk/free" 2>"$T/err" &&
		die "a second remote free of $a1 was accepted"
	grep -q "Invalid argument" "$T/err" || die "second free: $(cat "$T/err")"
	echo 'zz' >"$M/net/node1/zk/free" 2>/dev/null && die "garbage accepted"
	grep -q "bad address 'zz'" "$T/$me.log" || die "the garbage's error is not logged"
	[ "$(head -c 19 "$M/net/node1/zk/free" | wc -c)" = 0 ] ||
		die "a read of net/node1/zk/free gave something"
	echo "node 2: net/node1/zk/free returned $a1 to node 1"
	softroce_signal written
	await checked 120 || die "node 1 did not check"
fi
stop_segd "$me" || exit 1
mountpoint -q "$M" && die "the mount outlived segd"
grep 'fs: ' "$T/$me.log" | sed "s/^/node $SOFTROCE_NODE: /"
exit 0
