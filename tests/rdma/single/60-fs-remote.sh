#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# The file system's remote view (segd -m, MOUNTPOINT/net/) with two segds on
# this node: segd A (node "nodea", port 7450) exports, segd B (node "nodeb",
# port 7451) mounts.  Through B's mount: listing A's exports (by address and
# by node name), cat and dd in and out of an exported segment's data (RDMA
# READ and WRITE), a read-only grant, the end of the segment, revocation
# (EACCES, for the open file and for a new open), an unknown name, and an
# unreachable peer failing within the deadline.
. "$SEG_TOP/tests/rdma/lib.sh"
[ -c /dev/fuse ] || skip "no /dev/fuse (the fuse module is not loaded)"
set -u
EA=$A:7450
M=$T/mnt
sa() { sctl nodea "$@"; }

start_segd nodea 7450
# FS_SEGD_WRAPPER: a prefix for segd B (valgrind ...), as SEGD_WRAPPER is
# for the integration tier; B's deadline is short for the unreachable peer
SEGD_WRAPPER=${FS_SEGD_WRAPPER:-} start_segd nodeb 7451 -t 10000 -m "$M"
mountpoint -q "$M" || die "segd B did not mount $M"

sa create ex && sa ctl ex 'addr 0 0x100000' &&
	printf 'hello remote' | sa write ex && sa export ex || die "export ex"
sa create ro && sa ctl ro 'addr 0 0x10000' &&
	printf 'read only' | sa write ro && sa export ro 'nodeb:r' || die "export ro"
sa create hidden && sa ctl hidden 'addr 0 0x1000' &&
	sa export hidden 'othernode:rw' || die "export hidden"

# listing by address: what A exports to B, and nothing else
ls "$M/net/$EA" >"$T/ls" 2>&1 || die "ls net/$EA: $(cat "$T/ls")"
echo "net/$EA: $(tr '\n' ' ' <"$T/ls")"
grep -qx ex "$T/ls" && grep -qx ro "$T/ls" || die "ex or ro missing"
grep -qx hidden "$T/ls" && die "hidden is listed to nodeb"
stat -c '%s %A' "$M/net/$EA/ex/data" | grep -qx '1048576 -rw-rw-rw-' ||
	die "ex/data: $(stat -c '%s %A' "$M/net/$EA/ex/data")"
stat -c '%A' "$M/net/$EA/ro/data" | grep -qx -- '-r--r--r--' ||
	die "ro/data mode"

# cat: RDMA READ; the connected peer also appears by its node name
got=$(head -c 12 "$M/net/$EA/ex/data") || die "cat ex/data"
[ "$got" = "hello remote" ] || die "read '$got'"
ls "$M/net" | grep -qx nodea || die "net/ does not list nodea: $(ls "$M/net")"
got=$(head -c 12 "$M/net/nodea/ex/data")
[ "$got" = "hello remote" ] || die "by node name: read '$got'"
echo "cat net/nodea/ex/data: $got"

# dd out and in: RDMA WRITE, read back both ways
head -c 1048576 /dev/urandom >"$T/in"
dd if="$T/in" of="$M/net/nodea/ex/data" bs=1M conv=notrunc status=none ||
	die "dd into net/nodea/ex/data"
sa read ex >"$T/back" || die "segctl read ex"
cmp "$T/in" "$T/back" || die "A's memory differs from what was written"
dd if="$M/net/nodea/ex/data" of="$T/out" bs=1M status=none || die "dd out"
cmp "$T/in" "$T/out" || die "read back through net/ differs"
printf 'PUT' | dd of="$M/net/nodea/ex/data" bs=3 seek=100 oflag=seek_bytes \
	conv=notrunc status=none || die "small write"
[ "$(sa read ex 100 3)" = PUT ] || die "small write not at offset 100"
echo "dd 1 MiB in and out: same bytes"

# the end of the segment: reads stop, writes past it fail
[ "$(dd if="$M/net/nodea/ex/data" bs=4096 skip=256 status=none | wc -c)" = 0 ] ||
	die "read past the end"
if printf x | dd of="$M/net/nodea/ex/data" bs=1 seek=1048576 conv=notrunc \
	status=none 2>"$T/err"; then
	die "a write at the end succeeded"
fi
grep -q 'File too large' "$T/err" || die "write at the end: $(cat "$T/err")"

# a read-only grant
[ "$(head -c 9 "$M/net/nodea/ro/data")" = "read only" ] || die "read ro"
if (printf x >>"$M/net/nodea/ro/data") 2>"$T/err"; then
	die "wrote to a read-only import"
fi
grep -q 'Permission denied' "$T/err" || die "ro write: $(cat "$T/err")"
grep -q 'exported read-only' "$T/nodeb.log" || die "B did not log the read-only grant"

# unknown names; a peer that is not there fails within the deadline
ls "$M/net/nodea/nosuch" 2>/dev/null && die "nosuch exists"
ls "$M/net/nonode" 2>/dev/null && die "nonode exists"
t0=$SECONDS
if timeout 30 ls "$M/net/$SOFTROCE_ADDR:7999" 2>"$T/err"; then
	die "a peer nobody serves was listed"
fi
echo "unreachable peer: $(cat "$T/err") ($((SECONDS - t0)) s)"
[ $((SECONDS - t0)) -lt 20 ] || die "the unreachable peer took too long"

# revocation: the open file at once, and new opens
exec 3<"$M/net/nodea/ex/data" || die "open ex/data"
head -c 5 <&3 >/dev/null || die "read before revoke"
sa unexport ex || die "unexport"
for _ in $(seq 50); do
	grep -q 'revoked by its exporter' "$T/nodeb.log" && break
	sleep 0.1
done
if head -c 5 <&3 >/dev/null 2>"$T/err"; then
	die "read after revoke succeeded"
fi
grep -q 'Permission denied' "$T/err" || die "open file after revoke: $(cat "$T/err")"
exec 3<&-
sleep 1.2	# the kernel's cached name expires
if cat "$M/net/nodea/ex/data" >/dev/null 2>"$T/err"; then
	die "a new open after revoke succeeded"
fi
grep -q 'Permission denied' "$T/err" || die "new open after revoke: $(cat "$T/err")"
grep -q 'segment revoked' "$T/nodeb.log" || die "B did not log the revocation"
# exported again: usable again
sa export ex || die "export again"
sleep 1.2
[ "$(head -c 3 "$M/net/nodea/ex/data")" = "$(head -c 3 "$T/in")" ] ||
	die "not readable after a new export"
echo "revocation: EACCES, then readable after a new export"

stop_segd nodeb || exit 1
mountpoint -q "$M" && die "the mount outlived segd B"
echo "--- segd B's log"
cat "$T/nodeb.log"
