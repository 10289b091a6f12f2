#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# Export, list and import between two segds on this node (exp on port 7450,
# imp on 7451): segctl export with and without access lists and its
# refusals, segctl ls NODE, seg_import and seg_import_info, the exporter's
# count of live imports, segctl get/put compared byte for byte, segctl peers,
# unexport, and remove of an exported segment.
. "$SEG_TOP/tests/rdma/lib.sh"
start_exp_imp

make_seg ex1 exp 0x200000000000 0x100000
make_seg ex2 exp 0x200010000000 0x3000
make_seg hidden exp 0x200020000000 0x1000
make_seg notexp exp 0x200030000000 0x1000
sctl exp create unalloc || die "create unalloc"
head -c 1048576 /dev/urandom >"$T/ex1.data"
sctl exp write ex1 <"$T/ex1.data" || die "write ex1"

sctl exp export ex1 || die "export ex1"
sctl exp export ex2 imp:r || die "export ex2 imp:r"
sctl exp export hidden othernode:rw || die "export hidden othernode:rw"
[ "$(stat_of exp exports)" = 3 ] || die "exporter counts $(stat_of exp exports) exports, want 3"

# export's refusals
expect_refusal "already exported" sctl exp export ex1
expect_refusal "does not exist" sctl exp export nosuch
expect_refusal "segment not yet allocated" sctl exp export unalloc
expect_refusal "bad access list" sctl exp export notexp imp:x
expect_refusal "bad access list" sctl exp export notexp imp
expect_refusal "is not exported" sctl exp unexport notexp

# ls NODE: what the importer may see, with its access
sctl imp ls "$E" >"$T/ls" || die "segctl ls $E: $(cat "$T/ls")"
echo "--- segctl ls $E"
cat "$T/ls"
grep -qx "ex1 va 0x100000 rw" "$T/ls" || die "ls does not list ex1 rw"
grep -qx "ex2 va 0x3000 r" "$T/ls" || die "ls does not list ex2 r"
grep -q "^hidden " "$T/ls" && die "ls lists hidden, exported to othernode only"
grep -q "^notexp " "$T/ls" && die "ls lists notexp, which is not exported"
[ "$(wc -l <"$T/ls")" = 2 ] || die "ls lists $(wc -l <"$T/ls") segments, want 2"

# import: what seg_import_info says, and the exporter's count of imports
mkfifo "$T/ctl"
imp imp import "$E/ex1" info import "$E/ex2" info say held sync \
	unimport unimport say finished <"$T/ctl" >"$T/hold.out" 2>&1 &
hpid=$!
exec 3>"$T/ctl"
wait_until 60 grep -q '^held$' "$T/hold.out" || die "import: $(cat "$T/hold.out")"
cat "$T/hold.out"
grep -q "^len 1048576 rva 0x200000000000 rkey 0x[0-9a-f]* writable 1 gen [1-9]" \
	"$T/hold.out" || die "ex1's import info is wrong"
grep -q "^len 12288 rva 0x200010000000 rkey 0x[0-9a-f]* writable 0 gen [1-9]" \
	"$T/hold.out" || die "ex2's import info is wrong"
[ "$(stat_of exp exported_imports)" = 2 ] ||
	die "exporter counts $(stat_of exp exported_imports) live imports, want 2"
[ "$(stat_of imp imports)" = 2 ] ||
	die "importer counts $(stat_of imp imports) imports, want 2"
echo >&3
exec 3>&-
wait "$hpid" || die "holder: $(cat "$T/hold.out")"
wait_until 10 counter_is exp exported_imports 0 ||
	die "exporter still counts $(stat_of exp exported_imports) imports after unimport"
[ "$(stat_of imp imports)" = 0 ] || die "importer still counts imports"

# segctl get and put, byte for byte
sctl imp get "$E/ex1" >"$T/got" || die "segctl get"
cmp "$T/got" "$T/ex1.data" || die "segctl get: bytes differ"
sctl imp get "$E/ex1" 4097 1000 >"$T/got" || die "segctl get 4097 1000"
slice "$T/ex1.data" 4097 1000 | cmp - "$T/got" ||
	die "segctl get 4097 1000: bytes differ"
head -c 5001 /dev/urandom >"$T/put.data"
sctl imp put "$E/ex1" 12345 <"$T/put.data" || die "segctl put"
sctl exp read ex1 12345 5001 | cmp - "$T/put.data" || die "segctl put: bytes differ"
sctl exp read ex1 12344 1 | cmp - <(slice "$T/ex1.data" 12344 1) ||
	die "segctl put changed the byte before its range"
sctl exp read ex1 17346 1 | cmp - <(slice "$T/ex1.data" 17346 1) ||
	die "segctl put changed the byte after its range"
sctl imp get "$E/ex2" >"$T/got2" || die "segctl get ex2 (read-only)"
[ "$(stat -c %s "$T/got2")" = 12288 ] || die "segctl get ex2: wrong length"
expect_refusal "exported read-only to this node" sctl imp put "$E/ex2" 0 <"$T/put.data"
expect_refusal "may not import segment" sctl imp get "$E/hidden"
expect_refusal "is not exported" sctl imp get "$E/notexp"
expect_refusal "is not exported" sctl imp get "$E/nosuch"

# peers: one connection, ready, seen from both ends
sctl imp peers | tee "$T/peers.imp"
grep -q "^exp $E out ready" "$T/peers.imp" || die "importer's peers: no ready connection to exp"
sctl exp peers | tee "$T/peers.exp"
grep -q "^imp .* in ready" "$T/peers.exp" || die "exporter's peers: no ready connection from imp"

# unexport and remove
sctl exp unexport ex1 || die "unexport ex1"
expect_refusal "is not exported" sctl exp unexport ex1
sctl exp rm ex2 || die "rm ex2"
sctl imp ls "$E" >"$T/ls" || die "segctl ls after unexport"
[ -s "$T/ls" ] && die "ls still lists: $(cat "$T/ls")"
[ "$(stat_of exp exports)" = 1 ] || die "exporter counts $(stat_of exp exports) exports, want 1 (hidden)"
expect_refusal "is not exported" sctl imp get "$E/ex1"
expect_refusal "is not exported" sctl imp get "$E/ex2"
sctl exp read ex1 0 4096 | cmp - <(head -c 4096 "$T/ex1.data") || die "ex1's bytes changed by unexport"
echo "export, ls, import, get/put, peers, unexport: all as expected"
