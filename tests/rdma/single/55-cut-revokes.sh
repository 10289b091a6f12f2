#!/bin/bash
# Pages cut away from an exported segment revoke its export.  A client that
# holds a writable descriptor of a segment's memory (here: its backing file,
# the same inode) truncates it while an importer holds an import: the pages
# the memory regions pinned are orphaned, so the exporter must revoke, not
# let the importer write where nobody reads.  segd restores the file to the
# segment's length at once (its watch on the state directory), logs the
# cut, drops the export (the importer's next get fails with "segment
# revoked"), keeps serving, and a new export and import work.
. "$SEG_TOP/tests/rdma/lib.sh"
start_exp_imp
make_seg cv exp 0x200000000000 0x100000
head -c 1048576 /dev/urandom | sctl exp write cv || die "write cv"
sctl exp export cv || die "export cv"

mkfifo "$T/ctl"
imp imp -x "$T/exp.sock" -X cv import "$E/cv" get 0 65536 bounce say ready sync \
	xget 0 4096 "segment revoked" say revoked <"$T/ctl" >"$T/hold.out" 2>&1 &
hpid=$!
exec 3>"$T/ctl"
wait_until 60 grep -q '^ready$' "$T/hold.out" || die "holder: $(cat "$T/hold.out")"

truncate -s 0 "$T/exp.d/cv.seg" || die "truncate"
wait_until 30 grep -q 'cv: a client cut pages away' "$T/exp.log" ||
	die "the exporter did not see the cut"
[ "$(stat -c %s "$T/exp.d/cv.seg")" = 1048576 ] ||
	die "cv.seg is $(stat -c %s "$T/exp.d/cv.seg") bytes, not restored"
[ "$(stat_of exp exports)" = 0 ] || die "exporter counts $(stat_of exp exports) exports, want 0"
echo >&3
exec 3>&-
wait "$hpid" || die "holder: $(cat "$T/hold.out")"
cat "$T/hold.out"
grep -q '^revoked$' "$T/hold.out" || die "the import was not revoked"

# the segment kept its length; exported again, it is served
sctl exp ls | grep -q '^cv va 0x200000000000 0x100000 ' || die "cv: $(sctl exp ls)"
sctl exp export cv || die "export cv again"
imp imp -x "$T/exp.sock" -X cv import "$E/cv" get 0 4096 bounce say again >"$T/again.out" 2>&1 ||
	die "import again: $(cat "$T/again.out")"
grep -q '^again$' "$T/again.out" || die "import again: $(cat "$T/again.out")"
