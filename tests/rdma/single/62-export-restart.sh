#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# Exports survive their segd's restart, even a SIGKILL.  Two importing
# processes, one on the segd path (SEG_DIRECT=0) and one on the direct path,
# loop on put-then-get with checked contents (imp_restart), each on a
# segment of its own, while the exporter's segd is killed with SIGKILL and
# restarted three times, never exported again by hand.  Every acknowledged
# put is found at the end, each import keeps its generation, every failed
# call failed within the deadline and inside a gap (from a kill to the first
# good call after the restart; a call may also wait a gap out and succeed),
# and the segments' memory is the same file throughout.  The time from a restart to the first good call (the
# transparent re-import) is reported.
. "$SEG_TOP/tests/rdma/lib.sh"
D=3000 margin=2500
start_segd exp 7450 -t $D
start_segd imp 7451 -t $D
E=$A:7450
make_seg rs0 exp 0x200000000000 0x40000
make_seg rs1 exp 0x200010000000 0x40000
sctl exp export rs0 || die "export rs0"
sctl exp export rs1 || die "export rs1"
ino0=$(stat -c %i "$T/exp.d/rs0.seg") || die "no backing file rs0.seg"
ino1=$(stat -c %i "$T/exp.d/rs1.seg") || die "no backing file rs1.seg"

run() {	# PATH(0|1) SEG OUT
	SEGD_SOCKET=$T/imp.sock SEG_DIRECT=$1 timeout -k 5 300 \
		"$B/tests/rdma/imp_restart" "$E/$2" 0x40000 "$T/stop" \
		$((D + margin)) >"$3" 2>&1
}
run 0 rs0 "$T/segd.out" & p0=$!
run 1 rs1 "$T/direct.out" & p1=$!

# the newest "ok" line of OUT at or after MS (epoch ms)
ok_since() {	# OUT MS
	awk -v t="$2" '$1 == "ok" && $4 >= t { f = $4 } END { if (f) print f; else exit 1 }' "$1"
}
gaps=()
up=$(ms_now)
for r in 1 2 3; do
	wait_until 60 ok_since "$T/segd.out" "$up" >/dev/null ||
		die "segd path: no good call since $up: $(tail -n 5 "$T/segd.out")"
	wait_until 60 ok_since "$T/direct.out" "$up" >/dev/null ||
		die "direct path: no good call since $up: $(tail -n 5 "$T/direct.out")"
	[ "$r" -gt 1 ] && {
		a=$(awk -v t="$up" '$1 == "ok" && $4 >= t { print $4; exit }' "$T/segd.out")
		b=$(awk -v t="$up" '$1 == "ok" && $4 >= t { print $4; exit }' "$T/direct.out")
		echo "restart $((r - 1)): first good call $((a - up)) ms (segd path)," \
			"$((b - up)) ms (direct path) after the restarted segd listened"
		gaps+=("$t_kill $((a > b ? a : b))")
	}
	t_kill=$(ms_now)
	kill_segd exp
	start_segd exp 7450 -t $D
	up=$(ms_now)
	sctl exp ls | grep -q "^rs0 " || die "rs0 did not survive restart $r"
done
wait_until 60 ok_since "$T/segd.out" "$up" >/dev/null ||
	die "segd path: no good call after the last restart"
wait_until 60 ok_since "$T/direct.out" "$up" >/dev/null ||
	die "direct path: no good call after the last restart"
a=$(awk -v t="$up" '$1 == "ok" && $4 >= t { print $4; exit }' "$T/segd.out")
b=$(awk -v t="$up" '$1 == "ok" && $4 >= t { print $4; exit }' "$T/direct.out")
echo "restart 3: first good call $((a - up)) ms (segd path), $((b - up)) ms (direct path)"
gaps+=("$t_kill $((a > b ? a : b))")
touch "$T/stop"
wait "$p0" || die "segd path: $(tail -n 5 "$T/segd.out")"
wait "$p1" || die "direct path: $(tail -n 5 "$T/direct.out")"
tail -n 3 "$T/segd.out" "$T/direct.out"
grep -q "^path segd" "$T/segd.out" || die "the SEG_DIRECT=0 importer did not take the segd path"
grep -qx "path direct" "$T/direct.out" || die "the direct importer did not take the direct path"
for f in segd direct; do
	grep -q '^done .* [1-9][0-9]* slots checked$' "$T/$f.out" ||
		die "$f path: no slot checked"
	# every error inside a gap
	while read -r _ _ at _; do
		in=0
		for g in "${gaps[@]}"; do
			[ "$at" -ge "${g% *}" ] && [ "$at" -le "${g#* }" ] && in=1
		done
		[ "$in" = 1 ] || die "$f path: an error at $at, outside the gaps (${gaps[*]})"
	done < <(grep '^err ' "$T/$f.out")
	echo "$f path: $(grep -c '^err ' "$T/$f.out") failed calls, all inside the gaps;" \
		"$(grep '^slowest good call' "$T/$f.out")"
done
[ "$(stat -c %i "$T/exp.d/rs0.seg")" = "$ino0" ] &&
	[ "$(stat -c %i "$T/exp.d/rs1.seg")" = "$ino1" ] ||
	die "a segment's backing file was made anew"
echo "three SIGKILLs: exports restored, every acknowledged put found"
