# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# bench/fs_common.sh: what fs_bench.sh, fs_net_bench.sh and fs_fio.sh share,
# sourced after they set here (their folder): top and bdir (the build,
# $BUILD, default build), need_segd, secs and ratio (fs_fio.sh has its own).
top=$(cd "$here/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in
/*) bdir=$BUILD ;;
*) bdir=$top/$BUILD ;;
esac
# need_segd NAME: segd is $bdir/segd, or NAME says to build it and exits
need_segd() {
	segd=$bdir/segd
	[ -x "$segd" ] || {
		echo "$1: no $segd: run make first" >&2
		exit 1
	}
}
# the command dd runs under (fs_bench.sh -c: taskset); none by default
pin=()

# secs DD-ARGS...: dd's elapsed seconds
secs() {
	"${pin[@]}" dd "$@" 2>&1 | awk '/copied/ { for (i = 1; i <= NF; i++) if ($i == "s,") print $(i - 1) }'
}
# ratio A B: A / B to two places
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
