#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# bench/fs_fio.sh [-r ROUNDS] [-t SECS] [-o FILE]: fio through segd's data file
# against libfuse's own passthrough_ll example (-o cache=never) over a tmpfs
# file of the same size (256 MiB), the issue's throughput comparison.
#
# passthrough_ll is built here, into $BUILD/bench, from the copy Debian ships
# with libfuse3-dev (its examples directory); nothing of it is kept in the
# tree.  Each of four fio jobs (--ioengine=psync --direct=0: 4 KiB random
# read and write, 1 MiB sequential read and write, SECS seconds each,
# default 4) runs on both file systems in turn, ROUNDS times (default 2); the
# best of each is kept.  Prints MiB/s, the ratio segd / passthrough_ll, and
# writes FILE (default $BUILD/bench/fs_fio.json).  Needs root and fio.
set -u
export LC_ALL=C
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/fs_common.sh"
rounds=2 secs=4 out=$bdir/bench/fs_fio.json mib=256
fs_opts fs_fio "[-r rounds] [-t secs] [-o file]" "r=rounds t=secs o=out" "$@"
need_segd fs_fio
command -v fio >/dev/null || {
	echo "fs_fio: no fio: run tests/setup.sh" >&2
	exit 1
}
src=${PASSTHROUGH_LL_SRC:-/usr/share/doc/libfuse3-dev/examples/passthrough_ll.c}
pll=$bdir/bench/passthrough_ll
if [ ! -x "$pll" ] || [ "$src" -nt "$pll" ]; then
	[ -r "$src" ] || {
		echo "fs_fio: no $src (libfuse3-dev's examples)" >&2
		exit 1
	}
	mkdir -p "$bdir/bench"
	# shellcheck disable=SC2046
	${CC:-cc} -O2 -w -o "$pll" "$src" $(pkg-config --cflags --libs fuse3) || exit 1
fi
need_tmpfs fs_fio
T=$(mktemp -d "${TMPDIR:-/tmp}/fs_fio.XXXXXX") || exit 1
S=$(mktemp -d "$shm/fs_fio.XXXXXX") || exit 1
M=$T/segd P=$T/pll
spid="" ppid_=""
cleanup() {
	for p in $spid $ppid_; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	for m in "$M" "$P"; do
		mountpoint -q "$m" 2>/dev/null && umount -l "$m" 2>/dev/null
	done
	rm -rf "$T" "$S"
}
trap cleanup EXIT

mkdir -p "$P" "$S/src"
"$segd" -f -s "$T/sock" -d "$S/state" -m "$M" 2>"$T/segd.log" &
spid=$!
"$pll" -f -o source="$S/src",cache=never "$P" 2>"$T/pll.log" &
ppid_=$!
for _ in $(seq 100); do
	mountpoint -q "$M" && mountpoint -q "$P" && break
	sleep 0.05
done
mountpoint -q "$M" && mountpoint -q "$P" || {
	echo "fs_fio: the mounts did not come up" >&2
	cat "$T/segd.log" "$T/pll.log" >&2
	exit 1
}
mkdir "$M/bench" && echo "addr 0 $((mib << 20))" >"$M/bench/ctl" || exit 1
dd if=/dev/zero of="$S/src/file" bs=1M count="$mib" status=none
dd if=/dev/zero of="$M/bench/data" bs=1M count="$mib" conv=notrunc status=none

# mibs FILE RW BS: fio's MiB/s (read or write) for one job
mibs() {
	fio --name=j --filename="$1" --rw="$2" --bs="$3" --size="${mib}M" \
	    --ioengine=psync --direct=0 --time_based --runtime="$secs" \
	    --invalidate=0 --fallocate=none --create_on_open=0 \
	    --output-format=terse --terse-version=3 2>"$T/fio.err" |
	    awk -F';' -v rw="$2" '{
		kb = (rw ~ /read/) ? $7 : $48	# KiB/s: read, write
		printf "%.1f", kb / 1024 }'
}
best() { printf '%s\n' "$@" | sort -g | tail -n 1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

jobs=("randread 4k" "randwrite 4k" "read 1M" "write 1M")
declare -A sv pv
for j in "${jobs[@]}"; do
	sv[$j]="" pv[$j]=""
done
for _ in $(seq "$rounds"); do
	for j in "${jobs[@]}"; do
		set -- $j
		sv[$j]="${sv[$j]} $(mibs "$M/bench/data" "$1" "$2")"
		pv[$j]="${pv[$j]} $(mibs "$P/file" "$1" "$2")"
	done
done

printf 'fio psync, --direct=0, %d MiB file, %d s a job, best of %d (MiB/s)\n' \
    "$mib" "$secs" "$rounds"
printf '%-14s %12s %16s %7s\n' job segd passthrough_ll ratio
json=""
for j in "${jobs[@]}"; do
	# shellcheck disable=SC2086
	s=$(best ${sv[$j]}) p=$(best ${pv[$j]})
	printf '%-14s %12s %16s %7s\n' "$j" "$s" "$p" "$(ratio "$s" "$p")"
	json="$json${json:+,
}  \"${j/ /_}\": {\"segd\": $s, \"passthrough_ll\": $p, \"ratio\": $(ratio "$s" "$p")}"
done
mkdir -p "$(dirname "$out")"
printf '{\n  "tool": "fio psync direct=0",\n  "mib": %d,\n  "secs": %d,\n  "rounds": %d,\n  "units": "MiB/s, best of rounds",\n%s\n}\n' \
    "$mib" "$secs" "$rounds" "$json" >"$out"
echo "fs_fio: wrote $out"
