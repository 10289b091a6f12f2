#!/bin/bash
# The file system's remote view (segd -m, MOUNTPOINT/net/) with two segds on
# this node: segd A (node "nodea", port 7450) exports, segd B (node "nodeb",
# port 7451) mounts.  Through B's mount: listing A's exports (by address and
# by node name), cat and dd in and out of an exported segment's data (RDMA
# READ and WRITE), a read-only grant, the end of the segment, revocation
# (EACCES, for the open file and for a new open), an unknown name, and an
# unreachable peer failing within the deadline.
. "$SEG_TOP/tests/rdma/lib.sh"
need_bin "$B/segd"
need_bin "$B/segctl"
[ -c /dev/fuse ] || skip "no /dev/fuse (the fuse module is not loaded)"
set -u
A=$SOFTROCE_ADDR:7450
M=$T/mnt
fail() {
	echo "FAIL: $*"
	echo "--- segd A"
	cat "$T/a.log"
	echo "--- segd B"
	cat "$T/b.log"
	exit 1
}
sa() { SEGD_SOCKET=$T/a.sock "$B/segctl" "$@"; }

bg "$B/segd" -f -s "$T/a.sock" -d "$T/a" -l "$A" -n nodea -t 3000 2>"$T/a.log"
pa=$!
# FS_SEGD_WRAPPER: a prefix for segd B (valgrind ...), as SEGD_WRAPPER is
# for the integration tier
bg ${FS_SEGD_WRAPPER:-} "$B/segd" -f -s "$T/b.sock" -d "$T/b" \
	-l "$SOFTROCE_ADDR:7451" -n nodeb -t 3000 -m "$M" 2>"$T/b.log"
pb=$!
for _ in $(seq 600); do
	[ -S "$T/a.sock" ] && [ -S "$T/b.sock" ] && break
	sleep 0.1
done
mountpoint -q "$M" || fail "segd B did not mount $M"

sa create ex && sa ctl ex 'addr 0 0x100000' &&
	printf 'hello remote' | sa write ex && sa export ex || fail "export ex"
sa create ro && sa ctl ro 'addr 0 0x10000' &&
	printf 'read only' | sa write ro && sa export ro 'nodeb:r' || fail "export ro"
sa create hidden && sa ctl hidden 'addr 0 0x1000' &&
	sa export hidden 'othernode:rw' || fail "export hidden"

# listing by address: what A exports to B, and nothing else
ls "$M/net/$A" >"$T/ls" 2>&1 || fail "ls net/$A: $(cat "$T/ls")"
echo "net/$A: $(tr '\n' ' ' <"$T/ls")"
grep -qx ex "$T/ls" && grep -qx ro "$T/ls" || fail "ex or ro missing"
grep -qx hidden "$T/ls" && fail "hidden is listed to nodeb"
stat -c '%s %A' "$M/net/$A/ex/data" | grep -qx '1048576 -rw-rw-rw-' ||
	fail "ex/data: $(stat -c '%s %A' "$M/net/$A/ex/data")"
stat -c '%A' "$M/net/$A/ro/data" | grep -qx -- '-r--r--r--' ||
	fail "ro/data mode"

# cat: RDMA READ; the connected peer also appears by its node name
got=$(head -c 12 "$M/net/$A/ex/data") || fail "cat ex/data"
[ "$got" = "hello remote" ] || fail "read '$got'"
ls "$M/net" | grep -qx nodea || fail "net/ does not list nodea: $(ls "$M/net")"
got=$(head -c 12 "$M/net/nodea/ex/data")
[ "$got" = "hello remote" ] || fail "by node name: read '$got'"
echo "cat net/nodea/ex/data: $got"

# dd out and in: RDMA WRITE, read back both ways
head -c 1048576 /dev/urandom >"$T/in"
dd if="$T/in" of="$M/net/nodea/ex/data" bs=1M conv=notrunc status=none ||
	fail "dd into net/nodea/ex/data"
sa read ex >"$T/back" || fail "segctl read ex"
cmp "$T/in" "$T/back" || fail "A's memory differs from what was written"
dd if="$M/net/nodea/ex/data" of="$T/out" bs=1M status=none || fail "dd out"
cmp "$T/in" "$T/out" || fail "read back through net/ differs"
printf 'PUT' | dd of="$M/net/nodea/ex/data" bs=3 seek=100 oflag=seek_bytes \
	conv=notrunc status=none || fail "small write"
[ "$(sa read ex 100 3)" = PUT ] || fail "small write not at offset 100"
echo "dd 1 MiB in and out: same bytes"

# the end of the segment: reads stop, writes past it fail
[ "$(dd if="$M/net/nodea/ex/data" bs=4096 skip=256 status=none | wc -c)" = 0 ] ||
	fail "read past the end"
if printf x | dd of="$M/net/nodea/ex/data" bs=1 seek=1048576 conv=notrunc \
	status=none 2>"$T/err"; then
	fail "a write at the end succeeded"
fi
grep -q 'File too large' "$T/err" || fail "write at the end: $(cat "$T/err")"

# a read-only grant
[ "$(head -c 9 "$M/net/nodea/ro/data")" = "read only" ] || fail "read ro"
if (printf x >>"$M/net/nodea/ro/data") 2>"$T/err"; then
	fail "wrote to a read-only import"
fi
grep -q 'Permission denied' "$T/err" || fail "ro write: $(cat "$T/err")"
grep -q 'exported read-only' "$T/b.log" || fail "B did not log the read-only grant"

# unknown names; a peer that is not there fails within the deadline
ls "$M/net/nodea/nosuch" 2>/dev/null && fail "nosuch exists"
ls "$M/net/nonode" 2>/dev/null && fail "nonode exists"
t0=$SECONDS
if timeout 30 ls "$M/net/$SOFTROCE_ADDR:7999" 2>"$T/err"; then
	fail "a peer nobody serves was listed"
fi
echo "unreachable peer: $(cat "$T/err") ($((SECONDS - t0)) s)"
[ $((SECONDS - t0)) -lt 20 ] || fail "the unreachable peer took too long"

# revocation: the open file at once, and new opens
exec 3<"$M/net/nodea/ex/data" || fail "open ex/data"
head -c 5 <&3 >/dev/null || fail "read before revoke"
sa unexport ex || fail "unexport"
for _ in $(seq 50); do
	grep -q 'revoked by its exporter' "$T/b.log" && break
	sleep 0.1
done
if head -c 5 <&3 >/dev/null 2>"$T/err"; then
	fail "read after revoke succeeded"
fi
grep -q 'Permission denied' "$T/err" || fail "open file after revoke: $(cat "$T/err")"
exec 3<&-
sleep 1.2	# the kernel's cached name expires
if cat "$M/net/nodea/ex/data" >/dev/null 2>"$T/err"; then
	fail "a new open after revoke succeeded"
fi
grep -q 'Permission denied' "$T/err" || fail "new open after revoke: $(cat "$T/err")"
grep -q 'segment revoked' "$T/b.log" || fail "B did not log the revocation"
# exported again: usable again
sa export ex || fail "export again"
sleep 1.2
[ "$(head -c 3 "$M/net/nodea/ex/data")" = "$(head -c 3 "$T/in")" ] ||
	fail "not readable after a new export"
echo "revocation: EACCES, then readable after a new export"

kill "$pa" "$pb"
wait "$pa"
wait "$pb"
rc=$?
[ "$rc" = 0 ] || fail "segd B exited $rc at SIGTERM (99: valgrind found errors)"
mountpoint -q "$M" && fail "the mount outlived segd B"
echo "--- segd B's log"
cat "$T/b.log"
exit 0
