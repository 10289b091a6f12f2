#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# bench/fs_net_bench.sh [-s MIB] [-o FILE]: dd through the file system's
# remote view (MOUNTPOINT/net/NODE/NAME/data) as a ratio to perftest in the
# same session.  Runs INSIDE a soft-RoCE session:
#     tests/softroce run -- bench/fs_net_bench.sh
# Two segds on this node's RDMA address (ports 7450 and 7451, as server and
# client of ib_read_bw share one address): A exports a segment of MIB MiB
# (default 64), B mounts and
#   read   dd if=MNT/net/ADDR:7450/bench/data of=/dev/null bs=1M  (RDMA READ)
#   write  dd if=/dev/zero of=MNT/net/.../data bs=1M conv=notrunc (RDMA WRITE)
# against ib_read_bw and ib_write_bw at 1 MiB messages (-R, rdma_cm).  MB/s
# are 2^20 bytes a second, as perftest's.  Writes FILE (default
# $BUILD/bench/fs_net.json).
set -u
export LC_ALL=C
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/fs_common.sh"
case ":$PATH:" in
*":$top/tests/softroce.d/bin:"*) ;;
*) export PATH="$top/tests/softroce.d/bin:$PATH" ;;
esac
mib=64 out=$bdir/bench/fs_net.json
fs_opts fs_net_bench "[-s MiB] [-o file]" "s=mib o=out" "$@"
dev=${SOFTROCE_DEV:?fs_net_bench: run under tests/softroce run}
addr=${SOFTROCE_ADDR:?fs_net_bench: run under tests/softroce run}
T=$(mktemp -d "${TMPDIR:-/tmp}/fs_net_bench.XXXXXX") || exit 1
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

# perftest TEST: MB/s at 1 MiB messages, server and client on our address
port=18600
perf() {
	local t=$1 try line
	for try in 1 2 3; do
		port=$((port + 1))
		timeout 120 "$t" -d "$dev" -R -F -p "$port" -s 1048576 -n 50 \
			>"$T/srv" 2>&1 &
		local s=$!
		softroce_wait_listen "$port" 20 >/dev/null 2>&1 || {
			kill "$s"
			continue
		}
		timeout 120 "$t" -d "$dev" -R -F -p "$port" -s 1048576 -n 50 \
			"$addr" >"$T/cli" 2>&1
		wait "$s"
		line=$(awk '$1 == 1048576 && NF >= 5 { print $4; exit }' "$T/cli")
		if [ -n "$line" ] && ! grep -q 'Correlation' "$T/cli"; then
			echo "$line"
			return 0
		fi
	done
	return 1
}
rbw=$(perf ib_read_bw) || { echo "fs_net_bench: ib_read_bw failed" >&2; cat "$T/cli" >&2; exit 1; }
wbw=$(perf ib_write_bw) || { echo "fs_net_bench: ib_write_bw failed" >&2; exit 1; }

segd=$bdir/segd segctl=$bdir/segctl
M=$T/mnt
"$segd" -f -s "$T/a.sock" -d "$T/a" -l "$addr:7450" -n benchA 2>"$T/a.log" &
pids+=($!)
"$segd" -f -s "$T/b.sock" -d "$T/b" -l "$addr:7451" -n benchB -m "$M" \
	2>"$T/b.log" &
pids+=($!)
for _ in $(seq 100); do
	[ -S "$T/a.sock" ] && [ -S "$T/b.sock" ] && break
	sleep 0.1
done
export SEGD_SOCKET=$T/a.sock
"$segctl" create bench && "$segctl" ctl bench "addr 0 $((mib << 20))" &&
	"$segctl" export bench || {
	cat "$T/a.log" >&2
	exit 1
}
F=$M/net/$addr:7450/bench/data
w=$(secs if=/dev/zero of="$F" bs=1M count="$mib" conv=notrunc)
r=$(secs if="$F" of=/dev/null bs=1M)
[ -n "$w" ] && [ -n "$r" ] || {
	echo "fs_net_bench: dd through $F failed" >&2
	cat "$T/b.log" >&2
	exit 1
}
FR=$(awk -v m="$mib" -v s="$r" 'BEGIN { printf "%.1f", m / s }')
FW=$(awk -v m="$mib" -v s="$w" 'BEGIN { printf "%.1f", m / s }')
printf '%-34s %10s %12s %7s\n' "$mib MiB, bs=1M, device $dev" "fs MB/s" "perftest MB/s" ratio
printf '%-34s %10s %12s %7s\n' "read (RDMA READ) vs ib_read_bw" "$FR" "$rbw" "$(ratio "$FR" "$rbw")"
printf '%-34s %10s %12s %7s\n' "write (RDMA WRITE) vs ib_write_bw" "$FW" "$wbw" "$(ratio "$FW" "$wbw")"
mkdir -p "$(dirname "$out")"
cat >"$out" <<EOF
{
  "tool": "dd bs=1M through MOUNTPOINT/net/, perftest at 1 MiB",
  "device": "$dev",
  "backend": "${SOFTROCE_MODE:-unknown}",
  "mib": $mib,
  "units": "MB/s (2^20 bytes)",
  "read": {"fs": $FR, "ib_read_bw": $rbw, "ratio": $(ratio "$FR" "$rbw")},
  "write": {"fs": $FW, "ib_write_bw": $wbw, "ratio": $(ratio "$FW" "$wbw")}
}
EOF
echo "fs_net_bench: wrote $out"
