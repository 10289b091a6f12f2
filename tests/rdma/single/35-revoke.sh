#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# Revocation.  A process holds an import across `segctl unexport`: its next
# get and put fail with "segment revoked", also after the segment is
# exported again (a new import works).  The raw-verbs proof: rawpeer, a peer
# on plain rdma_cm, RDMA READs the segment with the va and rkey the import
# was given (seg_import_info): before unexport the READ returns the
# segment's bytes; after it the READ completes with an error (the memory
# region is gone).  Removing an exported segment revokes its imports too.
. "$SEG_TOP/tests/rdma/lib.sh"
start_exp_imp
make_seg rv exp 0x200000000000 0x100000
make_seg gone exp 0x200010000000 0x100000
head -c 1048576 /dev/urandom | sctl exp write rv || die "write rv"
sctl exp export rv || die "export rv"
sctl exp export gone || die "export gone"

mkfifo "$T/ctl"
path=direct	# the path through segd when 49-fallback runs this with SEG_DIRECT=0
[ "${SEG_DIRECT:-1}" = 0 ] && path=segd
imp imp -x "$T/exp.sock" -X rv import "$E/rv" info get 0 65536 bounce \
	path $path say ready sync tget 0 4096 bounce \
	xget 0 4096 "segment revoked" xput 4096 10 "segment revoked" \
	say revoked sync \
	xget 0 4096 "segment revoked" \
	import "$E/rv" get 100 5000 bounce say reimported \
	<"$T/ctl" >"$T/hold.out" 2>&1 &
hpid=$!
exec 3>"$T/ctl"
wait_until 60 grep -q '^ready$' "$T/hold.out" || die "holder: $(cat "$T/hold.out")"
read -r _ len _ rva _ rkey _ < <(grep '^len ' "$T/hold.out")
echo "import: len $len rva $rva rkey $rkey"
[ -n "$rkey" ] || die "no import info: $(cat "$T/hold.out")"

# the rkey works: rawpeer reads the segment's bytes with it
off=4099 n=8192
timeout 60 "$RAWPEER" -a "$A" -p 7450 -m read -v $((rva + off)) -k "$rkey" -l $n \
	-o "$T/raw.before" >"$T/raw1.out" 2>&1
rc=$?
cat "$T/raw1.out"
[ "$rc" = 0 ] || die "rawpeer could not READ with the live rkey (exit $rc)"
sctl exp read rv $off $n | cmp - "$T/raw.before" || die "rawpeer's READ got the wrong bytes"

sctl exp unexport rv || die "unexport rv"
echo >&3
wait_until 60 grep -q '^revoked$' "$T/hold.out" || die "holder after unexport: $(cat "$T/hold.out")"
# the first get after the revoke fails at once (the data connection's close
# is seen, then the ticket refused), not after the deadline: < 5 s
ms=$(sed -n 's/^tget fail at [0-9]* in get 1 of 1 after \([0-9]*\) ms: .*segment revoked.*/\1/p' "$T/hold.out")
[ -n "$ms" ] && [ "$ms" -lt 5000 ] ||
	die "the first get after the revoke: $(grep '^tget' "$T/hold.out"), want 'segment revoked' within 5000 ms"

# the old rkey no longer works
timeout 60 "$RAWPEER" -a "$A" -p 7450 -m read -v $((rva + off)) -k "$rkey" -l $n \
	-o "$T/raw.after" >"$T/raw2.out" 2>&1
rc=$?
cat "$T/raw2.out"
[ "$rc" = 3 ] || die "rawpeer's READ with the revoked rkey did not fail (exit $rc)"
grep -q "READ failed: remote access error" "$T/raw2.out" ||
	die "rawpeer's READ failed otherwise than with a remote access error"
[ -e "$T/raw.after" ] && die "rawpeer wrote bytes read with a revoked rkey"

# exported again: the old import stays revoked; a new one works
sctl exp export rv || die "export rv again"
echo >&3
exec 3>&-
wait "$hpid" || die "holder: $(cat "$T/hold.out")"
cat "$T/hold.out"
grep -q '^reimported$' "$T/hold.out" || die "holder did not import again"

# remove revokes too
mkfifo "$T/ctl2"
imp imp import "$E/gone" info say ready sync xget 0 4096 "segment revoked" \
	say finished <"$T/ctl2" >"$T/hold2.out" 2>&1 &
hpid=$!
exec 4>"$T/ctl2"
wait_until 60 grep -q '^ready$' "$T/hold2.out" || die "holder 2: $(cat "$T/hold2.out")"
sctl exp rm gone || die "rm gone"
echo >&4
exec 4>&-
wait "$hpid" || die "holder 2: $(cat "$T/hold2.out")"
cat "$T/hold2.out"
[ "$(stat_of exp exports)" = 1 ] || die "exporter counts $(stat_of exp exports) exports, want 1"
