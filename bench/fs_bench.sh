#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# bench/fs_bench.sh [-n RUNS] [-s MIB] [-c CPU] [-o FILE]: dd through the segment file
# system (segd -m) against dd on a tmpfs file, the issue's benchmark.
#
# Starts its own segd (socket, state and mount point under a temporary
# folder; the state, so the segment's memory, on /dev/shm like the tmpfs
# file it is compared with), makes a segment of MIB MiB (default 1024)
# through the mount, and times, best of RUNS (default 5), alternating:
#   write  dd if=/dev/zero of=FILE bs=1M count=MIB conv=notrunc
#   read   dd if=FILE of=/dev/null bs=1M
# for FILE = MOUNT/bench/data and FILE = a tmpfs file of the same size (both
# already allocated: the first, allocating write is timed once, apart).
# Prints MB/s (10^6 bytes) and the ratios; writes FILE (default
# $BUILD/bench/fs.json).  Needs root (or a user who may mount FUSE).
# -c CPU runs segd and every dd on that one CPU (taskset): FUSE is a
# request-reply exchange between dd and segd, and on a small or virtual
# machine where they run decides the figures (a wake-up across CPUs can
# cost more than copying the MiB); unpinned by default.
set -u
export LC_ALL=C
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/fs_common.sh"
runs=5 mib=1024 out=$bdir/bench/fs.json cpu=""
fs_opts fs_bench "[-n runs] [-s MiB] [-c cpu] [-o file]" \
	"n=runs s=mib c=cpu o=out" "$@"
need_segd fs_bench
need_tmpfs fs_bench
T=$(mktemp -d "${TMPDIR:-/tmp}/fs_bench.XXXXXX") || exit 1
S=$(mktemp -d "$shm/fs_bench.XXXXXX") || exit 1
M=$T/mnt
pid=""
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	mountpoint -q "$M" 2>/dev/null && umount -l "$M" 2>/dev/null
	rm -rf "$T" "$S"
}
trap cleanup EXIT

[ -n "$cpu" ] && pin=(taskset -c "$cpu")
"${pin[@]}" "$segd" -f -s "$T/sock" -d "$S/state" -m "$M" 2>"$T/segd.log" &
pid=$!
for _ in $(seq 100); do
	[ -S "$T/sock" ] && mountpoint -q "$M" && break
	sleep 0.05
done
mountpoint -q "$M" || {
	echo "fs_bench: segd did not mount $M" >&2
	cat "$T/segd.log" >&2
	exit 1
}
mkdir "$M/bench" && echo "addr 0 $((mib << 20))" >"$M/bench/ctl" || {
	cat "$T/segd.log" >&2
	exit 1
}
echo "segment: $(cat "$M/bench/ctl")"

# best of a list of seconds
best() { printf '%s\n' "$@" | sort -g | head -n 1; }
mbps() { awk -v b=$((mib << 20)) -v s="$1" 'BEGIN { printf "%.0f", b / s / 1e6 }'; }

tmpf=$S/file
first_tmpfs=$(secs if=/dev/zero of="$tmpf" bs=1M count="$mib")
first_fs=$(secs if=/dev/zero of="$M/bench/data" bs=1M count="$mib" conv=notrunc)
fw=() fr=() tw=() tr=()
for _ in $(seq "$runs"); do
	fw+=("$(secs if=/dev/zero of="$M/bench/data" bs=1M count="$mib" conv=notrunc)")
	tw+=("$(secs if=/dev/zero of="$tmpf" bs=1M count="$mib" conv=notrunc)")
	fr+=("$(secs if="$M/bench/data" of=/dev/null bs=1M)")
	tr+=("$(secs if="$tmpf" of=/dev/null bs=1M)")
done
FW=$(mbps "$(best "${fw[@]}")") TW=$(mbps "$(best "${tw[@]}")")
FR=$(mbps "$(best "${fr[@]}")") TR=$(mbps "$(best "${tr[@]}")")
F1=$(mbps "$first_fs") T1=$(mbps "$first_tmpfs")

printf '%-22s %10s %10s %7s\n' "dd bs=1M, $mib MiB" "fs MB/s" "tmpfs MB/s" ratio
printf '%-22s %10s %10s %7s\n' "write (allocated)" "$FW" "$TW" "$(ratio "$FW" "$TW")"
printf '%-22s %10s %10s %7s\n' "read" "$FR" "$TR" "$(ratio "$FR" "$TR")"
printf '%-22s %10s %10s %7s\n' "first write (alloc)" "$F1" "$T1" "$(ratio "$F1" "$T1")"
kill "$pid"
wait "$pid"
pid=""
grep 'fs: ' "$T/segd.log" | sed 's/^/segd: /'
mkdir -p "$(dirname "$out")"
cat >"$out" <<EOF
{
  "tool": "dd bs=1M",
  "mib": $mib,
  "runs": $runs,
  "cpu": "${cpu:-any}",
  "units": "MB/s (10^6 bytes), best of runs",
  "write": {"fs": $FW, "tmpfs": $TW, "ratio": $(ratio "$FW" "$TW")},
  "read": {"fs": $FR, "tmpfs": $TR, "ratio": $(ratio "$FR" "$TR")},
  "first_write": {"fs": $F1, "tmpfs": $T1, "ratio": $(ratio "$F1" "$T1")}
}
EOF
echo "fs_bench: wrote $out"
