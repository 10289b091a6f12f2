#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# Access lists: an export naming only another node refuses this node's
# import (and ls hides it); a NODE:r grant, by node name or by address,
# gives a read-only import whose puts (zero copy, bounced, batched, segctl)
# are refused without touching the exporter's memory while gets work; a
# NODE:rw grant among other entries allows both.
. "$SEG_TOP/tests/rdma/lib.sh"
start_exp_imp
make_seg other exp 0x200000000000 0x100000
make_seg ro exp 0x200010000000 0x100000
make_seg byaddr exp 0x200020000000 0x100000
make_seg multi exp 0x200030000000 0x100000
sctl exp export other othernode:rw,another:r || die "export other"
sctl exp export ro imp:r || die "export ro"
sctl exp export byaddr "$A:r" || die "export byaddr"
sctl exp export multi othernode:r,imp:rw,x.y-z_1:r || die "export multi"

imp imp ximport "$E/other" "node imp may not import segment 'other'" ||
	die "import of other was not refused"
sctl imp ls "$E" >"$T/ls" || die "ls"
cat "$T/ls"
grep -q "^other " "$T/ls" && die "ls lists other"
grep -qx "ro va 0x100000 r" "$T/ls" || die "ls: ro is not r"
grep -qx "byaddr va 0x100000 r" "$T/ls" || die "ls: byaddr is not r"
grep -qx "multi va 0x100000 rw" "$T/ls" || die "ls: multi is not rw"

for s in ro byaddr; do
	imp imp -x "$T/exp.sock" -X "$s" zcbuf zc 0x300000000000 0x200000 \
		import "$E/$s" info ro || die "read-only import of $s"
	sctl exp read "$s" >"$T/before" || die "read $s"
	if out=$(head -c 10 /dev/zero | sctl imp put "$E/$s" 100 2>&1); then
		die "segctl put on the read-only $s succeeded"
	fi
	case "$out" in
	*"exported read-only to this node"*) echo "refused: $out" ;;
	*) die "segctl put on $s: $out" ;;
	esac
	sctl exp read "$s" | cmp - "$T/before" || die "the refused put changed $s"
done
imp imp -x "$T/exp.sock" -X multi zcbuf zc 0x300000000000 0x200000 \
	import "$E/multi" info put 77 5000 zc put 9999 70000 bounce \
	get 3 100000 zc get 4097 3 bounce || die "read-write import of multi"
