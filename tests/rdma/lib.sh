# tests/rdma/lib.sh: helpers for RDMA-tier test scripts.  Source it first:
#     . "$SEG_TOP/tests/rdma/lib.sh"
# The runner (run-tests) exports SEG_TOP, BUILD and the SOFTROCE_* variables
# (see tests/softroce) and has tests/softroce.d/bin on PATH.
#
#   $B              the build folder, absolute ($SEG_TOP/$BUILD)
#   $T              a private temporary folder, removed on exit
#   skip REASON     skip the test (exit 77, REASON is the line shown)
#   need_cmd CMD..  skip unless every CMD is installed
#   need_bin PATH   skip unless PATH (a built program) exists; fail instead
#                   when SEG_REQUIRE_RDMA=1
#   bg CMD...       start CMD in the background; killed on exit if still there
: "${SEG_TOP:?run RDMA tests through tests/rdma/run-single or run-pair}"
: "${SOFTROCE_DEV:?no SOFTROCE_DEV: run under tests/softroce}"
: "${SOFTROCE_ADDR:?no SOFTROCE_ADDR: run under tests/softroce}"
case "${BUILD:=build}" in
/*) B=$BUILD ;;
*) B=$SEG_TOP/$BUILD ;;
esac
T=$(mktemp -d "${TMPDIR:-/tmp}/rdma-test.XXXXXX") || exit 1
_bg_pids=()
_lib_cleanup() {
	local p
	for p in "${_bg_pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap _lib_cleanup EXIT

skip() {
	echo "$*"
	exit 77
}

need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "$c is not installed"
	done
}

need_bin() {
	[ -x "$1" ] && return 0
	if [ "${SEG_REQUIRE_RDMA:-0}" = 1 ]; then
		echo "$1 is not built"
		exit 1
	fi
	skip "$1 is not built (make check-rdma builds it)"
}

bg() {
	"$@" &
	_bg_pids+=($!)
}
