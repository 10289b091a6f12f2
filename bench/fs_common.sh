# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# bench/fs_common.sh: what fs_bench.sh, fs_net_bench.sh and fs_fio.sh share,
# sourced after they set here (their folder): top and bdir (the build,
# $BUILD, default build), fs_opts, need_segd, need_tmpfs, secs and ratio
# (fs_fio.sh has its own).
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
# fs_opts NAME USAGE SPEC ARGS...: NAME.sh's options in ARGS, each of
# SPEC's "LETTER=VARIABLE" words an option taking a value, stored in
# VARIABLE; any other: "usage: NAME.sh USAGE" and exit 2
fs_opts() {
	local name=$1 usage=$2 spec=$3 letters="" kv opt OPTIND=1
	shift 3
	for kv in $spec; do letters+="${kv%%=*}:"; done
	while getopts "$letters" opt; do
		for kv in $spec; do
			if [ "$opt" = "${kv%%=*}" ]; then
				printf -v "${kv#*=}" %s "$OPTARG"
				continue 2
			fi
		done
		echo "usage: $name.sh $usage" >&2
		exit 2
	done
}
# need_tmpfs NAME: shm is $FS_BENCH_TMPFS (default /dev/shm), a tmpfs, or
# NAME says so and exits
need_tmpfs() {
	shm=${FS_BENCH_TMPFS:-/dev/shm}
	[ "$(stat -f -c %T "$shm" 2>/dev/null)" = tmpfs ] || {
		echo "$1: $shm is not tmpfs (set FS_BENCH_TMPFS)" >&2
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
