# tests/rdma/imp_lib.sh: helpers for the export/import tests (issue 4).
# shellcheck shell=bash
# Source it after lib.sh:
#     . "$SEG_TOP/tests/rdma/lib.sh"
#     . "$SEG_TOP/tests/rdma/imp_lib.sh"
#
#   segd_start NAME PORT [ARGS...]  start segd -f for node NAME, listening on
#                   $SOFTROCE_ADDR:PORT, socket $T/NAME.sock, state $T/NAME.d,
#                   log $T/NAME.log, extra segd ARGS; wait until it listens.
#                   Its pid is ${SEGD_PID[NAME]}.  A second start of NAME
#                   (after segd_stop) reuses the state folder.
#   segd_stop NAME [SIGNAL]  signal it (default TERM) and reap it
#   sctl NAME ARGS...   segctl on NAME's segd, bounded by 60 s
#   imp NAME ARGS...    imp_io on NAME's segd, bounded by 300 s
#   stat_of NAME KEY    a counter of NAME's `segctl stats`
#   wait_until SECS CMD...  poll (every 0.1 s) until CMD succeeds; 1 on timeout
#   die MESSAGE         print "FAIL: MESSAGE" and the segd logs, exit 1
#   ms_now              milliseconds since the epoch
#   make_seg NAME SEGD VA LEN   create segment NAME at VA on SEGD's segd
#
# Tests that are not about deadlines start segd with -t 30000: TCG guests on
# a loaded host can stall for seconds, and the 5 s default then fails them.
#   slice FILE OFF LEN  print LEN bytes of FILE from byte OFF
#   patch FILE OFF SRC  overwrite FILE from byte OFF with SRC's bytes
: "${T:?source tests/rdma/lib.sh first}"
SEGD=$B/segd
SEGCTL=$B/segctl
IMP_IO=$B/tests/rdma/imp_io
RAWPEER=$B/tests/rdma/rawpeer
need_bin "$SEGD"
need_bin "$SEGCTL"
need_bin "$IMP_IO"
need_bin "$RAWPEER"
A=$SOFTROCE_ADDR
declare -A SEGD_PID=()

ms_now() {
	date +%s%3N
}

die() {
	local f
	exec 3>&- 4>&-	# holders waiting on a fifo line see its end
	echo "FAIL: $*"
	for f in "$T"/*.log; do
		[ -f "$f" ] || continue
		echo "--- $(basename "$f")"
		tail -n 40 "$f"
	done
	exit 1
}

segd_start() {
	local name=$1 port=$2
	shift 2
	rm -f "$T/$name.sock"
	"$SEGD" -f -s "$T/$name.sock" -d "$T/$name.d" -l "$A:$port" -n "$name" \
		"$@" 2>>"$T/$name.log" &
	SEGD_PID[$name]=$!
	_bg_pids+=($!)
	softroce_wait_listen "$port" 20 "$A" >/dev/null ||
		die "segd $name did not listen on $A:$port"
	wait_until 10 test -S "$T/$name.sock" ||
		die "segd $name made no socket"
}

segd_stop() {
	local name=$1 sig=${2:-TERM} pid=${SEGD_PID[$1]}
	kill -s "$sig" "$pid" 2>/dev/null
	timeout 20 tail --pid="$pid" -f /dev/null
	wait "$pid" 2>/dev/null
	return 0
}

sctl() {
	local name=$1
	shift
	timeout -k 5 60 "$SEGCTL" -s "$T/$name.sock" "$@"
}

imp() {
	local name=$1
	shift
	SEGD_SOCKET=$T/$name.sock timeout -k 5 300 "$IMP_IO" "$@"
}

stat_of() {
	sctl "$1" stats | awk -v k="$2" '$1 == k { print $2 }'
}

wait_until() {
	local secs=$1 end
	shift
	end=$(($(date +%s%N) / 1000000 + secs * 1000))
	until "$@"; do
		[ $(($(date +%s%N) / 1000000)) -ge "$end" ] && return 1
		sleep 0.1
	done
	return 0
}

make_seg() {
	sctl "$2" create "$1" || die "create $1 on $2"
	sctl "$2" ctl "$1" "va $3 $4" || die "ctl $1 on $2"
}

slice() {
	dd if="$1" bs=64K iflag=skip_bytes,count_bytes skip="$2" count="$3" \
		status=none
}

patch() {
	dd if="$3" of="$1" bs=64K oflag=seek_bytes seek="$2" conv=notrunc \
		status=none
}
