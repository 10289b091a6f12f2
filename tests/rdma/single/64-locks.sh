#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# Lock operations (seg_cas, seg_fadd, seg_lock, seg_unlock) on a segment
# exported with SEG_LOCK_OPS.  Two nodes: the exporter's processes take
# part through an import of their own node's segment (a loopback import:
# segd "exp" imports from itself), never through the attached word.
#  - 4 processes, two at each node, one of each pair on the direct path
#    and one on the segd path (SEG_DIRECT=0), each add 1 under seg_lock
#    LOCK_N times to a counter: the final count is exact;
#  - seg_fadd from 4 processes likewise: the total is exact;
#  - a holder killed while it holds the lock: another process's seg_lock
#    breaks it, within the stated deadline (1 s after the holder's import
#    is gone at the exporter; 5 s allowed here);
#  - the errors, on both paths: an unaligned offset (EINVAL), a word past
#    the end (ERANGE), an export without SEG_LOCK_OPS (EPERM), refused by
#    libseg and, for a client that skips libseg's checks, by segd; nothing
#    is posted, so the connections stay up.
. "$SEG_TOP/tests/rdma/lib.sh"
LOCK=$B/tests/rdma/imp_lock
need_bin "$LOCK"
N=${LOCK_N:-1000}
start_exp_imp
make_seg m exp 0x200000000000 0x10000
make_seg plain exp 0x200000100000 0x10000
sctl exp export -f lockops m || die "export m with SEG_LOCK_OPS"
sctl exp export plain || die "export plain"

lk() {	# NODE [VAR=VALUE...] ARGS...: imp_lock ARGS through NODE's segd
	local node=$1 vars=()
	shift
	while [ $# -gt 0 ] && [[ $1 == *=* ]]; do
		vars+=("$1")
		shift
	done
	env SEGD_SOCKET="$T/$node.sock" SEG_LOCK_TIMEOUT_MS=120000 "${vars[@]}" \
		timeout -k 5 300 "$LOCK" "$@"
}
ref=$E/m

# the paths each process takes
[ "$(lk exp "$ref" path | head -n 1)" = "path direct" ] ||
	die "the exporter's own import is not on the direct path"
[ "$(lk imp "$ref" path | head -n 1)" = "path direct" ] ||
	die "the importer's import is not on the direct path"
[ "$(lk imp SEG_DIRECT=0 "$ref" path | head -n 1)" = "path segd" ] ||
	die "SEG_DIRECT=0 does not take the segd path"

# run4 WHAT WORD LABEL: 4 processes, two at each segd (one on each path),
# each `lk NODE REF WHAT WORD N`, all of which must succeed
run4() {
	local what=$1 word=$2 label=$3 i=0 who t0
	t0=$(ms_now)
	for who in "exp" "exp SEG_DIRECT=0" "imp" "imp SEG_DIRECT=0"; do
		# shellcheck disable=SC2086  # NODE [ENV]
		lk $who "$ref" "$what" "$word" "$N" >"$T/$what.$i" 2>&1 &
		pids[i]=$!
		i=$((i + 1))
	done
	for i in 0 1 2 3; do
		wait "${pids[i]}" || die "$what process $i: $(cat "$T/$what.$i")"
	done
	echo "4 x $N $label in $(($(ms_now) - t0)) ms"
}

# 1. the counter under the lock: word 0, counter at 8
run4 count 0 "locked increments"
got=$(lk imp "$ref" word 8 | sed -n 's/^word //p')
[ "$got" = $((4 * N)) ] || die "the counter is '$got', want $((4 * N))"
[ "$(lk imp "$ref" word 0 | sed -n 's/^word //p')" = 0 ] ||
	die "the lock is not free after every holder unlocked"

# 2. seg_fadd from 4 processes on word 64
run4 fadd 64 seg_fadd
got=$(lk exp "$ref" word 64 | sed -n 's/^word //p')
[ "$got" = $((4 * N)) ] || die "the fadd total is '$got', want $((4 * N))"

# 3. a holder killed while it holds the lock at word 128
lk imp "$ref" hold 128 >"$T/hold.out" 2>&1 &
bgpid=$!
wait_until 60 grep -q '^held pid ' "$T/hold.out" || die "the holder did not lock: $(cat "$T/hold.out")"
holder=$(sed -n 's/^held pid \([0-9]*\)$/\1/p' "$T/hold.out")
held=$(lk exp "$ref" word 128 | sed -n 's/^word //p')
case $held in
'' | 0) die "the lock word is '$held' while held" ;;
esac
kill -KILL "$holder" || die "cannot kill the holder (pid '$holder')"
wait "$bgpid" 2>/dev/null
lk exp "$ref" take 128 >"$T/take.out" 2>&1 || die "take: $(cat "$T/take.out")"
cat "$T/take.out"
ms=$(sed -n 's/^took after \([0-9]*\) ms$/\1/p' "$T/take.out")
if [ -z "$ms" ] || [ "$ms" -gt 5000 ]; then
	die "the dead holder's lock was broken after '$ms' ms (at most 5000)"
fi
[ "$(lk exp "$ref" word 128 | sed -n 's/^word //p')" = 0 ] ||
	die "the broken lock is not free after take's unlock"

# 4. the errors, on both paths
for env in "" "SEG_DIRECT=0"; do
	# shellcheck disable=SC2086
	lk imp $env "$ref" refused 22 4 || die "unaligned offset (${env:-direct})"
	# shellcheck disable=SC2086
	lk imp $env "$ref" refused 34 0x10000 || die "word past the end (${env:-direct})"
	# shellcheck disable=SC2086
	lk imp $env "$ref" refused 34 0xfffffffffffffff8 || die "word far past the end (${env:-direct})"
	# shellcheck disable=SC2086
	lk imp $env "$E/plain" refused 1 0 || die "export without SEG_LOCK_OPS (${env:-direct})"
done
# segd's own checks, past libseg's (a client that skips them)
peer="$A 7450 $E"
lk imp raw "$peer" m 22 4 || die "segd: unaligned offset"
lk imp raw "$peer" m 34 0x10000 || die "segd: word past the end"
lk imp raw "$peer" plain 1 0 || die "segd: export without SEG_LOCK_OPS"
[ "$(lk imp "$E/plain" word 0 | sed -n 's/^word //p')" = 0 ] ||
	die "a refused atomic changed the word"
kill -0 "${SEGD_PID[exp]}" "${SEGD_PID[imp]}" || die "a segd died"
