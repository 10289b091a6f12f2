#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# kmsg reclaim across nodes.  segd "own" (port 7450) serves a 16 KiB kmsg
# segment; segctl zalloc takes its 2 KiB buffers until none is left.  From
# segd "b" (port 7451) a buffer is returned remotely (segctl free
# NODE/NAME ADDR): "own" reclaims it and the next zalloc gives exactly that
# buffer.  Refused, and changing nothing (the pool stays full): a second
# free of a returned buffer (the double free), an address inside a buffer
# or outside the segment, and batches (seg_zfree_remotev) holding one bad
# or repeated address; a good batch of two returns both.
. "$SEG_TOP/tests/rdma/lib.sh"

start_segd own 7450
start_segd b 7451
R=$A:7450/kseg
len=0x4000 bsize=2048
sctl own create kseg || die "create kseg"
sctl own ctl kseg "kmsg 0x210000000000 $len" || die "ctl kseg"
sctl own export kseg || die "export kseg"

addr=()
for i in $(seq 1 20); do
	a=$(sctl own zalloc kseg $bsize 2>"$T/zerr") || break
	addr+=("$a")
done
echo "${#addr[@]} buffers of $bsize bytes; then: $(cat "$T/zerr")"
[ "${#addr[@]}" = $((len / bsize)) ] ||
	die "${#addr[@]} buffers of $bsize in a $len-byte kmsg segment, not $((len / bsize))"
grep -q "no free buffer" "$T/zerr" || die "exhaustion gave: $(cat "$T/zerr")"
[ "$(printf '%s\n' "${addr[@]}" | sort -u | wc -l)" = "${#addr[@]}" ] ||
	die "zalloc gave an address twice"

# full: zalloc must fail
full() {
	if a=$(sctl own zalloc kseg $bsize 2>"$T/zerr"); then
		die "$1: zalloc gave $a, but no buffer should be free"
	fi
	grep -q "no free buffer" "$T/zerr" || die "$1: zalloc failed with: $(cat "$T/zerr")"
}
# refused TEXT ADDR...: one remote batch, refused with TEXT, nothing freed
refused() {
	local want=$1 out
	shift
	out=$(zio b rfree "$R" "$@")
	[ $? = 3 ] || die "rfree $*: $out (should have been refused)"
	echo "rfree $*: $out"
	case "$out" in
	*"$want"*) ;;
	*) die "rfree $*: the refusal does not say '$want'" ;;
	esac
	full "after the refused rfree $*"
}

sctl b free "$R" "${addr[5]}" || die "remote free of ${addr[5]}"
a=$(sctl own zalloc kseg $bsize) || die "zalloc after the remote free"
[ "$a" = "${addr[5]}" ] || die "zalloc gave $a, not the returned ${addr[5]}"
full "after taking the returned buffer again"

sctl b free "$R" "${addr[7]}" || die "remote free of ${addr[7]}"
if sctl b free "$R" "${addr[7]}" >"$T/out" 2>&1; then
	die "a second remote free of ${addr[7]} was accepted"
fi
echo "double free: $(cat "$T/out")"
grep -q "address ${addr[7]} is not the start of a live buffer of segment 'kseg'" "$T/out" ||
	die "the double free's error: $(cat "$T/out")"
a=$(sctl own zalloc kseg $bsize) || die "zalloc after the double free"
[ "$a" = "${addr[7]}" ] || die "zalloc gave $a, not ${addr[7]}"
full "after the double free"

refused "is not the start of a live buffer" "$(printf '0x%x' $((addr[3] + 64)))"
refused "is not the start of a live buffer" 0x10
refused "$(printf 'address 0x%x is not the start' $((addr[4] + 1)))" "${addr[3]}" "$(printf '0x%x' $((addr[4] + 1)))"
refused "address ${addr[3]} is not the start" "${addr[3]}" "${addr[3]}"
out=$(zio b rfree "$R" "${addr[3]}" "${addr[4]}") || die "rfree of two good addresses: $out"
got=$( (sctl own zalloc kseg $bsize && sctl own zalloc kseg $bsize) | sort | tr '\n' ' ')
want=$(printf '%s\n' "${addr[3]}" "${addr[4]}" | sort | tr '\n' ' ')
[ "$got" = "$want" ] || die "after a batch of ${addr[3]} ${addr[4]}, zalloc gave $got"
full "after the good batch"
echo "kmsg buffers returned across nodes are reclaimed; bad returns change nothing"
