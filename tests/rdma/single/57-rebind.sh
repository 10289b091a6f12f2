#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# Export flags and rebind (RSM's rsm_memseg_export_rebind).  An export
# made with SEG_ALLOW_REBIND is moved to a second segment holding version 2
# of its data.  Importers that hold their handles across the rebind, one on
# the segd path (SEG_DIRECT=0) and one on the direct path, get version 1
# before and version 2 after, with no new import, and seg_import_info names
# the new address.  The old rkey fails at the NIC (rawpeer's READ with it
# gets a remote access error), ls NODE shows the new address and the
# exports' flags, the error cases answer their errno, and removing the
# segment the export is bound to revokes the export.  The binding is kept
# in the state directory: the exporter's segd killed (SIGKILL) and started
# again, the holders' next gets, through the same imports, read version 2;
# killed again and the bound segment removed from the state directory
# while it was down, the export is left unexported and the holders' next
# gets fail with "segment revoked".
. "$SEG_TOP/tests/rdma/lib.sh"
start_exp_imp
imp_closed() { ! sctl imp peers | grep -q "^exp $E out ready"; }
L=1048576
V1=0x200000000000 V2=0x200010000000
for s in v1:$V1 v2:$V2; do	# readable by others: the non-owner case
	sctl exp create "${s%%:*}" 0664 || die "create ${s%%:*}"
	sctl exp ctl "${s%%:*}" "va ${s#*:} 0x100000" || die "ctl ${s%%:*}"
done
make_seg half exp 0x200020000000 0x80000
make_seg locks exp 0x200030000000 0x100000
head -c $L /dev/urandom >"$T/d1"
head -c $L /dev/urandom >"$T/d2"
sctl exp write v1 <"$T/d1" || die "write v1"
sctl exp write v2 <"$T/d2" || die "write v2"
sctl exp export -f rebind v1 || die "export v1"
# SEG_DONTWAIT: an untouched segment's pages are resident only where its
# backing file's memory was allocated when it was made (fallocate); once
# written they are
if sctl exp export -f lockops,dontwait locks >"$T/x.out" 2>&1; then
	echo "dontwait: the untouched segment was resident (fallocate'd)"
	sctl exp unexport locks || die "unexport locks"
else
	grep -q "not all resident" "$T/x.out" || die "dontwait: $(cat "$T/x.out")"
	echo "dontwait: the untouched segment was refused (EAGAIN)"
fi
head -c $L /dev/zero | sctl exp write locks || die "write locks"
sctl exp export -f lockops,dontwait locks || die "export locks"
sctl exp export -f bogus half >"$T/x.out" 2>&1 && die "an unknown flag was taken"

echo "${SECONDS}s: exported"
# the flags reach importers: IMPORT_REP, LIST_REP
imp imp import "$E/locks" info >"$T/locks.out" 2>&1 || die "import locks: $(cat "$T/locks.out")"
grep -q ' flags 6$' "$T/locks.out" || die "lockops,dontwait not seen: $(cat "$T/locks.out")"

# two holders: version 1, wait, then version 2 through the same import
holder() {	# NAME PATH ENV...: a holder on PATH, output in $T/NAME.out
	local n=$1 path=$2 fd
	shift 2
	mkfifo "$T/$n.ctl"
	env "$@" SEGD_SOCKET="$T/imp.sock" timeout -k 5 300 "$IMP_IO" \
		import "$E/v1" info getf 0 $L "$T/$n.1" bounce path "$path" \
		say ready sync tget 0 4096 bounce \
		getf 0 $L "$T/$n.2" bounce getf 4096 8192 "$T/$n.3" bounce info \
		path "$path" say done sync \
		getf 0 $L "$T/$n.4" bounce info say restarted sync \
		xget 0 4096 "segment revoked" say revoked \
		<"$T/$n.ctl" >"$T/$n.out" 2>&1 &
	exec {fd}>"$T/$n.ctl"
	eval "${n}_fd=$fd"
}
holder segp segd SEG_DIRECT=0
holder dirp direct SEG_DIRECT=1
for n in segp dirp; do
	wait_until 60 grep -q '^ready$' "$T/$n.out" || die "$n: $(cat "$T/$n.out")"
	cmp "$T/$n.1" "$T/d1" || die "$n: version 1 read wrong"
	grep -q "^len $L rva $V1 .* flags 1$" "$T/$n.out" || die "$n: info: $(cat "$T/$n.out")"
done
echo "${SECONDS}s: version 1 read on both paths"
read -r _ _ _ rva _ rkey _ < <(grep '^len ' "$T/segp.out" | head -1)
timeout 60 "$RAWPEER" -a "$A" -p 7450 -m read -v "$rva" -k "$rkey" -l 4096 \
	-o "$T/raw.before" >"$T/raw1.out" 2>&1 || die "rawpeer with the live rkey: $(cat "$T/raw1.out")"
cmp -n 4096 "$T/raw.before" "$T/d1" || die "rawpeer read the wrong bytes"

# the error cases, each with its message
xrebind() {	# WANT ARGS...: segctl rebind ARGS fails, saying WANT
	local want=$1
	shift
	sctl exp rebind "$@" >"$T/x.out" 2>&1 && die "rebind $* worked"
	grep -q "$want" "$T/x.out" || die "rebind $*: $(cat "$T/x.out"), not '$want'"
}
xrebind "rebind not allowed" locks v2
xrebind "bad length" v1 half
xrebind "bad length" v1 v2 4096
xrebind "does not exist" v1 nosuch
chmod 0777 "$T"
(SEGD_SOCKET=$T/exp.sock exec setpriv --reuid=65534 --regid=65534 \
	--clear-groups timeout -k 5 60 "$SEGCTL" -s "$T/exp.sock" rebind v1 v2) \
	>"$T/x.out" 2>&1 && die "rebind by another user worked"
grep -q "not the owner" "$T/x.out" || die "another user: $(cat "$T/x.out")"
chmod 0700 "$T"	# a restarted segd refuses a state directory others may write

echo "${SECONDS}s: error cases done"
# rebind: the holders' next gets see version 2, and info the new address
sctl exp rebind v1 v2 || die "rebind v1 to v2"
for n in segp dirp; do
	eval "echo >&\$${n}_fd"
	wait_until 60 grep -q '^done$' "$T/$n.out" || die "$n after rebind: $(cat "$T/$n.out")"
	cat "$T/$n.out"
	cmp "$T/$n.2" "$T/d2" || die "$n: got other than version 2 after the rebind"
	# the first get after the rebind: the old data connection's close is
	# seen at once (its rdma_cm DISCONNECTED), not after the QP's retries
	# or the deadline; a ticket and a new connection cost some 1-2 s in a
	# TCG guest, so 5 s is generous and far from the old 60+ s
	ms=$(sed -n 's/^tget ok after \([0-9]*\) ms$/\1/p' "$T/$n.out")
	[ -n "$ms" ] && [ "$ms" -lt 5000 ] ||
		die "$n: the first get after the rebind: $(grep '^tget' "$T/$n.out"), want ok within 5000 ms"
	cmp "$T/$n.3" <(tail -c +4097 "$T/d2" | head -c 8192) || die "$n: second get wrong"
	grep '^len ' "$T/$n.out" | tail -1 | grep -q "^len $L rva $V2 " ||
		die "$n: seg_import_info does not name the new binding"
done

echo "${SECONDS}s: version 2 read on both paths"
# the old key fails at the NIC
timeout 60 "$RAWPEER" -a "$A" -p 7450 -m read -v "$rva" -k "$rkey" -l 4096 \
	-o "$T/raw.after" >"$T/raw2.out" 2>&1
rc=$?
cat "$T/raw2.out"
[ "$rc" = 3 ] || die "rawpeer's READ with the old rkey did not fail (exit $rc)"
grep -q "remote access error" "$T/raw2.out" || die "the old rkey failed otherwise"
[ -e "$T/raw.after" ] && die "rawpeer wrote bytes read with the old rkey"

# ls NODE shows the binding and the flags; the local view is v1's own
sctl imp ls "$A" >"$T/ls.out" || die "ls $A"
cat "$T/ls.out"
grep -qx "v1 va $V2 0x100000 rw rebind" "$T/ls.out" || die "ls NODE: not the new binding"
grep -qx "locks va 0x200030000000 0x100000 rw dontwait,lockops" "$T/ls.out" ||
	die "ls NODE: not the flags of locks"
sctl exp read v1 0 4096 | cmp - <(head -c 4096 "$T/d1") || die "v1's own memory changed"

echo "${SECONDS}s: before the restarts"
# the binding survives a SIGKILL of the exporter's segd: the holders' next
# gets, on the imports they hold, read version 2 again
restart_exp() {	# the exporter's segd killed, seen gone, started again
	kill_segd exp
	wait_until 60 imp_closed || die "the importer's segd kept the connection"
	start_segd exp 7450
}
restart_exp
grep -q "'v1' exported again, .* bound to 'v2' at 0x0" "$T/exp.log" ||
	die "v1 was not restored bound to v2: $(tail -n 5 "$T/exp.log")"
for n in segp dirp; do
	eval "echo >&\$${n}_fd"
	wait_until 60 grep -q '^restarted$' "$T/$n.out" || die "$n after the restart: $(cat "$T/$n.out")"
	cmp "$T/$n.4" "$T/d2" || die "$n: got other than version 2 after the restart"
	grep '^len ' "$T/$n.out" | tail -1 | grep -q "^len $L rva $V2 " ||
		die "$n: seg_import_info does not name the binding after the restart"
done
sctl imp ls "$A" | grep -qx "v1 va $V2 0x100000 rw rebind" || die "ls NODE: binding lost"
echo "${SECONDS}s: version 2 read on both paths after a SIGKILL and restart"

# the bound segment removed from the state directory while segd was down:
# the export is left unexported, and its holders are told so
kill_segd exp
wait_until 60 imp_closed || die "the importer's segd kept the connection"
rm -f "$T/exp.d/v2."*
start_segd exp 7450
grep -q "'v1' left unexported: segment 'v2' it was bound to is gone" \
	"$T/exp.log" || die "no word of v1's lost binding: $(tail -n 5 "$T/exp.log")"
sctl exp ls | grep -q "^v2 " && die "v2 is back"
for n in segp dirp; do
	eval "echo >&\$${n}_fd"
	wait_until 60 grep -q '^revoked$' "$T/$n.out" || die "$n after the bound segment went: $(cat "$T/$n.out")"
	grep 'failed as expected' "$T/$n.out"
	eval "exec {${n}_fd}>&-"
done
[ "$(stat_of exp exports)" = 1 ] || die "exporter counts $(stat_of exp exports) exports, want 1 (locks)"
echo "${SECONDS}s: bound segment gone at the restart: revoked on both paths"

# removing the bound segment (live) revokes the export
make_seg v3 exp 0x200040000000 0x100000
sctl exp export -f rebind v1 || die "export v1 again"
sctl exp rebind v1 v3 || die "rebind v1 to v3"
sctl exp rm v3 || die "rm v3"
imp imp ximport "$E/v1" "not exported" >"$T/gone.out" 2>&1 ||
	die "import after removing the bound segment: $(cat "$T/gone.out")"
[ -e "$T/exp.d/v1.export" ] && die "v1's record outlived its export"
[ "$(stat_of exp exports)" = 1 ] || die "exporter counts $(stat_of exp exports) exports, want 1 (locks)"
echo "rebind: both paths saw version 2 without importing again, across a restart too"
