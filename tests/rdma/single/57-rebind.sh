#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# Rebind (RSM's rsm_memseg_export_rebind): an export made with
# SEG_ALLOW_REBIND is moved to a second segment holding version 2 of its
# data.  Importers that hold their handles across the rebind, one on the
# segd path (SEG_DIRECT=0) and one on the direct path, get version 1
# before and version 2 after, with no new import.  The old rkey fails at
# the NIC (rawpeer's READ with it gets a remote access error), ls NODE
# shows the new address, the error cases answer their errno, and removing
# the segment the export is bound to revokes the export.
. "$SEG_TOP/tests/rdma/lib.sh"
start_exp_imp
L=1048576
make_seg v1 exp 0x200000000000 0x100000
make_seg v2 exp 0x200010000000 0x100000
make_seg half exp 0x200020000000 0x80000
make_seg fixed exp 0x200030000000 0x100000
head -c $L /dev/urandom >"$T/d1"
head -c $L /dev/urandom >"$T/d2"
sctl exp write v1 <"$T/d1" || die "write v1"
sctl exp write v2 <"$T/d2" || die "write v2"
sctl exp export -f rebind v1 || die "export v1"
sctl exp export fixed || die "export fixed"

# two holders: version 1, wait, then version 2 through the same import
holder() {	# NAME ENV...: a holder whose output goes to $T/NAME.out
	local n=$1
	shift
	mkfifo "$T/$n.ctl"
	env "$@" SEGD_SOCKET="$T/imp.sock" timeout -k 5 300 "$IMP_IO" \
		import "$E/v1" info getf 0 $L "$T/$n.1" bounce say ready sync \
		getf 0 $L "$T/$n.2" bounce info getf 4096 8192 "$T/$n.3" bounce \
		say done <"$T/$n.ctl" >"$T/$n.out" 2>&1 &
	eval "${n}_pid=$!"
	exec {fd}>"$T/$n.ctl"
	eval "${n}_fd=$fd"
}
holder segp SEG_DIRECT=0
holder dirp SEG_DIRECT=1
for n in segp dirp; do
	wait_until 60 grep -q '^ready$' "$T/$n.out" || die "$n: $(cat "$T/$n.out")"
	cmp "$T/$n.1" "$T/d1" || die "$n: version 1 read wrong"
done
read -r _ _ _ rva _ rkey _ < <(grep '^len ' "$T/segp.out" | head -1)
[ -n "$rkey" ] || die "no import info: $(cat "$T/segp.out")"
timeout 60 "$RAWPEER" -a "$A" -p 7450 -m read -v "$rva" -k "$rkey" -l 4096 \
	-o "$T/raw.before" >"$T/raw1.out" 2>&1 || die "rawpeer with the live rkey: $(cat "$T/raw1.out")"
cmp -n 4096 "$T/raw.before" "$T/d1" || die "rawpeer read the wrong bytes"

# the error cases, each with its errno's message
sctl exp rebind fixed v2 >"$T/x.out" 2>&1 && die "rebind of an export without the flag worked"
grep -q "rebind not allowed" "$T/x.out" || die "no flag: $(cat "$T/x.out")"
sctl exp rebind v1 half >"$T/x.out" 2>&1 && die "rebind into a shorter segment worked"
grep -q "bad length" "$T/x.out" || die "short: $(cat "$T/x.out")"
sctl exp rebind v1 v2 100 >"$T/x.out" 2>&1 && die "rebind at an unaligned offset worked"
grep -q "bad length\|bad alignment" "$T/x.out" || die "unaligned: $(cat "$T/x.out")"

# rebind: the holders' next gets see version 2
sctl exp rebind v1 v2 || die "rebind v1 to v2"
for n in segp dirp; do
	eval "echo >&\$${n}_fd"
	wait_until 60 grep -q '^done$' "$T/$n.out" || die "$n after rebind: $(cat "$T/$n.out")"
	cmp "$T/$n.2" "$T/d2" || die "$n: got other than version 2 after the rebind"
	cmp "$T/$n.3" <(tail -c +4097 "$T/d2" | head -c 8192) || die "$n: second get wrong"
	grep -q "segment revoked" "$T/$n.out" && die "$n: import revoked"
done
nva=$(grep '^len ' "$T/segp.out" | tail -1 | awk '{ print $4 }')
echo "rva before $rva, after (segd path) $nva"

# the old key fails at the NIC
timeout 60 "$RAWPEER" -a "$A" -p 7450 -m read -v "$rva" -k "$rkey" -l 4096 \
	-o "$T/raw.after" >"$T/raw2.out" 2>&1
rc=$?
cat "$T/raw2.out"
[ "$rc" = 3 ] || die "rawpeer's READ with the old rkey did not fail (exit $rc)"
grep -q "remote access error" "$T/raw2.out" || die "old rkey failed otherwise"

# ls NODE shows the new binding's address; the local view is v1's own
sctl imp ls "$A" >"$T/ls.out" || die "ls $A"
cat "$T/ls.out"
grep -q '^v1 va 0x200010000000 ' "$T/ls.out" || die "ls NODE does not show the new binding"
sctl exp read v1 0 4096 | cmp - <(head -c 4096 "$T/d1") || die "v1's own memory changed"

# removing the bound segment revokes the export
sctl exp rm v2 || die "rm v2"
SEGD_SOCKET=$T/imp.sock "$IMP_IO" ximport "$E/v1" "not exported" >"$T/gone.out" 2>&1 ||
	die "import after removing the bound segment: $(cat "$T/gone.out")"
[ "$(stat_of exp exports)" = 1 ] || die "exporter counts $(stat_of exp exports) exports, want 1 (fixed)"
echo "rebind: both paths saw version 2 without re-importing"
