# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# tests/rdma/lib.sh: the RDMA tier's test fixture.  Source it first:
#     . "$SEG_TOP/tests/rdma/lib.sh"
# shellcheck shell=bash disable=SC2034 # it sets variables for its tests
# The runner (run-tests) exports SEG_TOP, BUILD and the SOFTROCE_* variables
# (see tests/softroce) and has tests/softroce.d/bin on PATH.
#
#   $B, $T, $A      the build folder (absolute), a private temporary folder
#                   (removed on exit), this node's RDMA address
#   skip REASON     skip the test (exit 77, REASON is the line shown); under
#                   SEG_REQUIRE_RDMA=1 a skip is a failure (exit 1)
#   need_cmd CMD..  skip unless every CMD is installed
#   need_bin PATH   skip unless PATH (a built program) exists
#   bg CMD...       start CMD in the background; killed on exit if still there
#   scaled SECS     SECS times $WAIT_SCALE (waits under sanitizers, valgrind)
#   wait_until SECS CMD...  poll (every 0.1 s) until CMD succeeds; 1 on
#                   timeout (SECS is scaled)
#   die MESSAGE     print "FAIL: MESSAGE" and the segd logs, exit 1
#   ms_now          milliseconds since the epoch
#
# segd instances (each one a node NAME: socket $T/NAME.sock, state folder
# $T/NAME.d, log $T/NAME.log):
#   start_segd NAME PORT [ARGS...]  start segd -f listening on $A:PORT with
#                   extra ARGS; wait until it listens and made its socket.
#                   Its pid is ${SEGD_PID[NAME]}.  Unless ARGS hold a -t,
#                   the deadline is -t $SEGD_DEADLINE (default 60000: tests
#                   that are not about deadlines must not trip on a stalled
#                   guest; set it empty for segd's own default).  A second
#                   start of NAME (after stop_segd) reuses its state folder.
#   stop_segd NAME  SIGTERM; segd must exit with status 0 within
#                   $SEGD_STOP_SECS (30, scaled), else the test fails
#   kill_segd NAME [SIGNAL]  SIGKILL (or SIGNAL) it on purpose and reap it
#   On exit every segd still running is stopped with stop_segd: a segd that
#   does not exit cleanly (a crash, an ASan or UBSan report, a hang) fails
#   the test.
#   SEGD_BIN        the segd to run (default $B/segd; RDMA_SAN=1:
#                   build/san/segd, the ASan+UBSan build, with ASAN_OPTIONS
#                   and UBSAN_OPTIONS set so that any report fails)
#   SEGD_WRAPPER    a prefix for segd (valgrind ...)
#   SEG_TEST_KEY=1  every segd gets -k $T/cluster.key, one cluster key (made
#                   at the first start), unless ARGS hold a -k of their own;
#                   rawpeer uses it too ($RAWPEER_KEY).  Single tier only:
#                   the two guests of a pair test would make different keys
#   make_key NAME   make $T/NAME.key, a cluster key (32 random bytes, mode
#                   600), and print its path
#
# Clients:
#   sctl NAME ARGS...   segctl on NAME's segd, bounded by 60 s (scaled)
#   imp NAME ARGS...    imp_io on NAME's segd, bounded by 300 s
#   zio NAME ARGS...    zio_io on NAME's segd, -T $ZIO_LIMIT (default 110)
#   zio_bg NAME ARGS... & the same, for the background (exec: the clean-up's
#                   signal reaches the program)
#   stat_of NAME KEY    a counter of NAME's `segctl stats`
#   make_seg NAME SEGD VA LEN   create segment NAME at VA on SEGD's segd
#   expect_refusal TEXT CMD...  CMD must fail and say TEXT
#   slice FILE OFF LEN  print LEN bytes of FILE from byte OFF
#   patch FILE OFF SRC  overwrite FILE from byte OFF with SRC's bytes
#   foreign_refused PERFTEST FROM  rdma_cm clients that are not segd
#                   (rawpeer's foreign mode, rping, PERFTEST -R, ucmatose)
#                   are refused by the segd on port 7450 (node "exp"), which
#                   logs at least 4 refusals of connects from FROM (a grep
#                   pattern)
#   wait_each PID NAME... -- FILE...  wait for the background PIDs (each
#                   called NAME); the first to fail ends the test with the
#                   FILEs shown
#
# Pair tests:
#   pair_fail_fast  a node whose test fails signals it at once, so that
#                   `await` on the other node stops waiting
#   await NAME SECS the other node signalled NAME (and did not fail)
#   pair_export SEG LEN  (node 1) segment SEG of LEN random bytes (kept in
#                   $SOFTROCE_SYNC/orig) exported to node 2 to read;
#                   signals "exported"
#   pair_hold SEG LEN STEPS...  (node 2) once node 1 exported SEG: an
#                   importer (pid HOLD_PID, output $T/hold.out, P the peer)
#                   gets all of it zero copy and says "ready", then runs
#                   imp_io STEPS, then retries a get every 500 ms for 60 s
#                   into $T/after and says "after"; each "sync" of it waits
#                   for a line on fd 3 (hold_next).  Returns once ready.
#   hold_next       let the holder past its next "sync"
#   hold_after WHAT (node 2) the holder got again (WHAT: after what) the
#                   bytes node 1 put; REC: how long it took and in what try
#   hold_end        the holder's last "sync"; it must exit with status 0
#
# A faulty network (pair tests; only between the QEMU guests: the qdisc
# goes on the guest's own link, never on a host's):
#   netem_need      skip unless this is a guest whose link takes a netem
#                   qdisc; NETEM_DEV: the interface under the rxe device
#   netem SPEC...   `tc qdisc replace dev $NETEM_DEV root netem SPEC`
#                   (netem shapes what this node sends: both nodes call it
#                   for a symmetric fault)
#   netem_off       remove the qdisc now
#   On exit the qdisc is removed, pass or fail.  (A link cut is "netem loss
#   100%", not the interface set down: after a down and up the guests'
#   rxe made no RDMA connection for minutes.)
#   pair_perftest TEST PORT SIZE ITERS  perftest TEST (ib_write_bw, ...),
#                   ITERS messages of SIZE bytes over rdma_cm from node 2 to
#                   node 1 (both nodes call it);
#                   on node 2 PERF_MBS is its average MB/s, or empty with
#                   the reason printed (a control: it never fails the test)
: "${SEG_TOP:?run RDMA tests through tests/rdma/run-single or run-pair}"
: "${SOFTROCE_DEV:?no SOFTROCE_DEV: run under tests/softroce}"
: "${SOFTROCE_ADDR:?no SOFTROCE_ADDR: run under tests/softroce}"
case "${BUILD:=build}" in
/*) B=$BUILD ;;
*) B=$SEG_TOP/$BUILD ;;
esac
A=$SOFTROCE_ADDR
T=$(mktemp -d "${TMPDIR:-/tmp}/rdma-test.XXXXXX") || exit 1
SEGCTL=$B/segctl
IMP_IO=$B/tests/rdma/imp_io
ZIO_IO=$B/tests/rdma/zio_io
RAWPEER=$B/tests/rdma/rawpeer
if [ "${SEG_TEST_KEY:-0}" = 1 ]; then export RAWPEER_KEY=$T/cluster.key; fi
if [ "${RDMA_SAN:-0}" = 1 ]; then
	: "${SEGD_BIN:=$SEG_TOP/build/san/segd}"
	: "${WAIT_SCALE:=2}"
	export ASAN_OPTIONS="exitcode=86:detect_leaks=1:abort_on_error=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
	export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
fi
case "${SEGD_WRAPPER:-}" in *valgrind*) : "${WAIT_SCALE:=5}" ;; esac
: "${SEGD_BIN:=$B/segd}" "${WAIT_SCALE:=1}" "${SEGD_STOP_SECS:=30}"
: "${SEGD_DEADLINE=60000}" "${ZIO_LIMIT:=110}"
_bg_pids=()
declare -A SEGD_PID=()

# _lib_cleanup [STATUS]: stop the segds and background jobs, exit STATUS
# (default: the status the script exits with), or 1 if a segd failed to stop
_lib_cleanup() {
	local rc=${1:-$?} p name
	_netem_restore
	for name in "${!SEGD_PID[@]}"; do
		stop_segd "$name" || rc=1
	done
	for p in "${_bg_pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
	exit "$rc"
}
trap _lib_cleanup EXIT

skip() {
	if [ "${SEG_REQUIRE_RDMA:-0}" = 1 ]; then
		echo "FAIL: would skip, but SEG_REQUIRE_RDMA=1: $*"
		exit 1
	fi
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
	[ -x "$1" ] || skip "$1 is not built (make check-rdma builds it)"
}

bg() {
	"$@" &
	_bg_pids+=($!)
}

scaled() {
	echo $(($1 * WAIT_SCALE))
}

ms_now() {
	date +%s%3N
}

wait_until() {
	local end
	end=$(($(ms_now) + $(scaled "$1") * 1000))
	shift
	until "$@"; do
		[ "$(ms_now)" -ge "$end" ] && return 1
		sleep 0.1
	done
	return 0
}

die() {
	local f
	exec 3>&- 4>&- # holders waiting on a fifo line see its end
	echo "FAIL: $*"
	for f in "$T"/*.log; do
		[ -f "$f" ] || continue
		echo "--- $(basename "$f")"
		tail -n 40 "$f"
	done
	exit 1
}

make_key() {
	local k=$T/$1.key
	[ -f "$k" ] || (umask 077 && head -c 32 /dev/urandom >"$k") ||
		die "cannot make the key $k"
	echo "$k"
}

start_segd() {
	local name=$1 port=$2 a
	local -a dl=() key=()
	shift 2
	need_bin "$SEGD_BIN"
	[ -n "$SEGD_DEADLINE" ] && dl=(-t "$SEGD_DEADLINE")
	[ "${SEG_TEST_KEY:-0}" = 1 ] && key=(-k "$(make_key cluster)")
	for a in "$@"; do
		[ "$a" = -t ] && dl=()
		[ "$a" = -k ] && key=()
	done
	rm -f "$T/$name.sock"
	# shellcheck disable=SC2086 # SEGD_WRAPPER is words
	${SEGD_WRAPPER:-} "$SEGD_BIN" -f -s "$T/$name.sock" -d "$T/$name.d" \
		-l "$A:$port" -n "$name" "${dl[@]}" "${key[@]}" "$@" \
		2>>"$T/$name.log" &
	SEGD_PID[$name]=$!
	softroce_wait_listen "$port" "$(scaled 20)" "$A" >/dev/null ||
		die "segd $name did not listen on $A:$port"
	wait_until 10 test -S "$T/$name.sock" || die "segd $name made no socket"
}

# _reap NAME SECS: wait for NAME's segd to end; its status in $REAPED
_reap() {
	local pid=${SEGD_PID[$1]}
	timeout "$2" tail --pid="$pid" -f /dev/null
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		REAPED=timeout
	else
		wait "$pid" 2>/dev/null
		REAPED=$?
	fi
	unset "SEGD_PID[$1]"
}

stop_segd() {
	local name=$1
	[ -n "${SEGD_PID[$name]:-}" ] || return 0
	kill -CONT "${SEGD_PID[$name]}" 2>/dev/null # a stopped one takes no TERM
	kill -TERM "${SEGD_PID[$name]}" 2>/dev/null
	_reap "$name" "$(scaled "$SEGD_STOP_SECS")"
	[ "$REAPED" = 0 ] && return 0
	echo "FAIL: segd $name did not exit cleanly at SIGTERM (status $REAPED;" \
		"86: ASan, 99: valgrind, timeout: still running after" \
		"$(scaled "$SEGD_STOP_SECS") s)"
	echo "--- $name.log"
	tail -n 60 "$T/$name.log"
	return 1
}

kill_segd() {
	kill -s "${2:-KILL}" "${SEGD_PID[$1]}"
	_reap "$1" 20
}

sctl() {
	local name=$1
	shift
	timeout -k 5 "$(scaled 60)" "$SEGCTL" -s "$T/$name.sock" "$@"
}

imp() {
	local name=$1
	shift
	need_bin "$IMP_IO"
	SEGD_SOCKET=$T/$name.sock timeout -k 5 300 "$IMP_IO" "$@"
}

zio() {
	local name=$1
	shift
	need_bin "$ZIO_IO"
	SEGD_SOCKET=$T/$name.sock timeout -k 5 $((ZIO_LIMIT + 10)) \
		"$ZIO_IO" -T "$ZIO_LIMIT" "$@"
}

zio_bg() {
	local name=$1
	shift
	need_bin "$ZIO_IO"
	SEGD_SOCKET=$T/$name.sock exec timeout -k 5 $((ZIO_LIMIT + 10)) \
		"$ZIO_IO" -T "$ZIO_LIMIT" "$@"
}

stat_of() {
	sctl "$1" stats | awk -v k="$2" '$1 == k { print $2 }'
}

# counter_is NODE KEY N: NODE's counter KEY is N now (for wait_until, which
# runs its command again each time: a $(...) in its arguments would not be)
counter_is() {
	[ "$(stat_of "$1" "$2")" = "$3" ]
}

make_seg() {
	sctl "$2" create "$1" || die "create $1 on $2"
	sctl "$2" ctl "$1" "va $3 $4" || die "ctl $1 on $2"
}

expect_refusal() {
	local text=$1 out
	shift
	if out=$("$@" 2>&1); then
		die "'$*' succeeded; it must fail with '$text'"
	fi
	case "$out" in
	*"$text"*) echo "refused as expected: $out" ;;
	*) die "'$*' failed with '$out'; want '$text'" ;;
	esac
}

slice() {
	dd if="$1" bs=64K iflag=skip_bytes,count_bytes skip="$2" count="$3" \
		status=none
}

patch() {
	dd if="$3" of="$1" bs=64K oflag=seek_bytes seek="$2" conv=notrunc \
		status=none
}

foreign_refused() {
	local perf=$1 from=$2 n
	"$RAWPEER" -a "$A" -p 7450 -m foreign -t 20 -w 1 >"$T/foreign.out" 2>&1 ||
		die "a connect without segd's private data: $(cat "$T/foreign.out")"
	cat "$T/foreign.out"
	timeout 20 rping -c -a "$A" -p 7450 -C 1 >"$T/rping.out" 2>&1 &&
		die "rping was served by segd: $(cat "$T/rping.out")"
	timeout 20 "$perf" -R -d "$SOFTROCE_DEV" -p 7450 -n 5 "$A" >"$T/perf.out" 2>&1 &&
		die "$perf -R was served by segd: $(cat "$T/perf.out")"
	timeout 20 ucmatose -s "$A" -p 7450 -c 1 -C 1 >"$T/ucma.out" 2>&1 &&
		die "ucmatose was served by segd: $(cat "$T/ucma.out")"
	n=$(grep -c "connect from $from refused: no segd private data" "$T/exp.log")
	[ "$n" -ge 4 ] || die "segd logged $n foreign refusals, want 4: $(grep refused "$T/exp.log")"
}

wait_each() {
	local -A who=()
	local pid rc
	while [ $# -gt 1 ] && [ "$1" != -- ]; do
		who[$1]=$2
		shift 2
	done
	[ "${1:-}" = -- ] && shift
	for _ in "${!who[@]}"; do
		wait -n -p pid
		rc=$?
		[ "$rc" = 0 ] || { cat "$@"; die "the ${who[$pid]:-process $pid} failed (exit $rc)"; }
	done
}

_pair_exit() {
	local rc=$?
	[ "$rc" = 0 ] || softroce_signal "failed.node$SOFTROCE_NODE"
	_lib_cleanup "$rc"
}

pair_fail_fast() {
	trap _pair_exit EXIT
}

await() {
	local other=$SOFTROCE_SYNC/failed.node$((3 - SOFTROCE_NODE))
	wait_until "$2" sh -c "test -e '$SOFTROCE_SYNC/$1' || test -e '$other'" &&
		! test -e "$other"
}

pair_export() {
	make_seg "$1" "node$SOFTROCE_NODE" 0x200000000000 "$2"
	head -c "$2" /dev/urandom >"$SOFTROCE_SYNC/orig"
	sctl "node$SOFTROCE_NODE" write "$1" <"$SOFTROCE_SYNC/orig" || die "write $1"
	sctl "node$SOFTROCE_NODE" export "$1" node2:r || die "export $1"
	softroce_signal exported
}

pair_hold() {
	local seg=$1 len=$2
	shift 2
	await exported 120 || die "node 1 did not export"
	P=$SOFTROCE_PEER:7450
	mkfifo "$T/ctl"
	imp "node$SOFTROCE_NODE" zcbuf buf 0x300000000000 $((len + 4096)) \
		import "$P/$seg" tget 0 "$len" zc say ready sync "$@" \
		tretry 60 500 0 "$len" zc getf 0 "$len" "$T/after" zc say after sync \
		<"$T/ctl" >"$T/hold.out" 2>&1 &
	HOLD_PID=$!
	exec 3>"$T/ctl"
	wait_until 60 grep -q '^ready$' "$T/hold.out" || die "holder: $(cat "$T/hold.out")"
	grep -q '^tget ok' "$T/hold.out" || die "holder's first get: $(cat "$T/hold.out")"
}

hold_next() {
	echo >&3
}

hold_after() {
	hold_next
	wait_until 60 grep -q '^after$' "$T/hold.out" || die "no get after $1: $(cat "$T/hold.out")"
	grep '^tretry' "$T/hold.out"
	REC=$(sed -n 's/^tretry ok in try \([0-9]*\) after \([0-9]*\) ms$/\2 ms (try \1)/p' "$T/hold.out")
	cmp "$T/after" "$SOFTROCE_SYNC/orig" || die "the bytes got after $1 differ"
}

hold_end() {
	hold_next
	exec 3>&-
	wait "$HOLD_PID" || die "holder: $(cat "$T/hold.out")"
}

# start_exp_imp: the usual two nodes, "exp" on port 7450 (E is its address)
# and "imp" on port 7451, with the default deadline
start_exp_imp() {
	E=$A:7450
	start_segd exp 7450
	start_segd imp 7451
}

# start_long_get NODE REF OUT: 64 MiB zero-copy gets of REF (a segment of at
# least 64 MiB) through NODE's segd.  One undisturbed get is timed (FULL,
# ms); then gets run back to back for at least 60 s in the background (pid
# GET_PID, output OUT, the getting process's pid GETTER), and this returns
# once they have run for half a get (one sleep, if any: polling would slow
# the guest), when a transfer is surely under way.  T_START: when they
# began.  The gets take the guest's CPU (soft-RoCE works in the poster's
# context): in a one-vCPU sanitizer guest this shell's few steps after they
# start took 3-15 s, and 3 s of gets were sometimes over by then.  The
# callers' kills end them.
start_long_get() {
	local node=$1 ref=$2 out=$3 reps delay
	local -a zc=(zcbuf zc 0x300000000000 0x4100000 import "$ref")
	imp "$node" "${zc[@]}" tget 0 0x4000000 zc >"$out" 2>&1 ||
		die "first get: $(cat "$out")"
	FULL=$(sed -n 's/^tget ok after \([0-9]*\) ms$/\1/p' "$out")
	[ -n "$FULL" ] || die "the undisturbed 64 MiB get failed: $(cat "$out")"
	reps=$((1 + 60000 / (FULL + 1)))
	imp "$node" "${zc[@]}" tgets $reps 0 0x4000000 zc >"$out" 2>&1 &
	GET_PID=$!
	wait_until 60 grep -q '^tget start' "$out" || die "no get: $(cat "$out")"
	T_START=$(sed -n 's/^tget start pid [0-9]* at \([0-9]*\)$/\1/p' "$out")
	GETTER=$(sed -n 's/^tget start pid \([0-9]*\) .*/\1/p' "$out")
	delay=$((FULL / 2 - ($(ms_now) - T_START)))
	[ "$delay" -gt 0 ] && sleep "$(awk -v d="$delay" 'BEGIN { printf "%.3f", d / 1000 }')"
	echo "$reps get(s) of 64 MiB (one took $FULL ms) under way"
}

# blocked_in_poll PID: the process sleeps in poll or ppoll (x86-64 7 and
# 271, arm64 73), as a waiter blocked on its descriptor does
blocked_in_poll() {
	local nr state
	read -r nr _ </proc/"$1"/syscall 2>/dev/null || return 1
	state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' /proc/"$1"/status)
	[ "$state" = S ] || return 1
	case "$(uname -m) $nr" in
	"x86_64 7" | "x86_64 271" | "aarch64 73") return 0 ;;
	esac
	return 1
}

NETEM_DEV=""
_netem_set=0

# _netem_restore: no qdisc of ours left (the next test's network)
_netem_restore() {
	if [ -n "$NETEM_DEV" ] && [ "$_netem_set" = 1 ]; then
		tc qdisc del dev "$NETEM_DEV" root 2>/dev/null
		_netem_set=0
	fi
	return 0
}

netem_need() {
	local err
	[ "${SOFTROCE_MODE:-}" = guest ] ||
		skip "netem tests run between the QEMU guests only (backend ${SOFTROCE_MODE:-?})"
	need_cmd tc rdma
	NETEM_DEV=$(rdma link show "$SOFTROCE_DEV/1" 2>/dev/null |
		sed -n 's/.* netdev \([^ ]*\).*/\1/p')
	[ -n "$NETEM_DEV" ] || die "no network interface under $SOFTROCE_DEV"
	# a qdisc that changes nothing: is there netem at all?
	err=$(tc qdisc replace dev "$NETEM_DEV" root netem delay 0ms 2>&1) ||
		skip "no netem qdisc on $NETEM_DEV: $err"
	_netem_set=1
}

netem() {
	tc qdisc replace dev "$NETEM_DEV" root netem "$@" ||
		die "tc qdisc replace dev $NETEM_DEV root netem $*"
	_netem_set=1
	echo "netem on $NETEM_DEV: $*"
}

netem_off() {
	tc qdisc del dev "$NETEM_DEV" root || die "tc qdisc del dev $NETEM_DEV root"
	_netem_set=0
	echo "netem off on $NETEM_DEV"
}

pair_perftest() {
	local test=$1 port=$2 size=$3 iters=$4
	set -- -s "$size" -n "$iters"
	PERF_MBS=""
	if ! command -v "$test" >/dev/null; then
		echo "perftest control: $test is not installed"
		return 0
	fi
	if [ "$SOFTROCE_NODE" = 1 ]; then
		timeout 120 "$test" -d "$SOFTROCE_DEV" -R -F -p "$port" "$@" \
			>"$T/perf.$test.server" 2>&1 &
		local spid=$!
		if softroce_wait_listen "$port" 30 >/dev/null 2>&1; then
			softroce_signal "perf-$test-$port"
		else
			echo "perftest control: the $test server did not listen"
		fi
		wait "$spid" || echo "perftest control: $test server exit $?"
		await "perf-$test-$port-done" 150 || true
		return 0
	fi
	if await "perf-$test-$port" 60; then
		timeout 100 "$test" -d "$SOFTROCE_DEV" -R -F -p "$port" "$@" \
			"$SOFTROCE_PEER" >"$T/perf.$test" 2>&1 ||
			echo "perftest control: $test $* exit $?: $(tail -n 3 "$T/perf.$test")"
		PERF_MBS=$(awk -v s="$size" '$1 == s && NF >= 5 { print $4; exit }' "$T/perf.$test")
	fi
	softroce_signal "perf-$test-$port-done"
}

# zio_sums TOTAL NIMP IMPFILE...: zio_io's owner ($T/owner.out) received
# TOTAL addresses, and the summaries of the NIMP importers in the IMPFILEs
# add up to its count, sum and xor (each address back exactly once)
zio_sums() {
	local total=$1 nimp=$2 line got osum oxor n=0 s=0 x=0 k=0 l f is ix
	shift 2
	line=$(grep '^owner: received' "$T/owner.out") || die "no owner summary"
	read -r got osum oxor <<<"$(echo "$line" |
		sed -n 's/^owner: received \([0-9]*\) addresses in [0-9]* rounds, sum \(0x[0-9a-f]*\) xor \(0x[0-9a-f]*\),.*/\1 \2 \3/p')"
	[ "$got" = "$total" ] || die "the owner received $got addresses, not $total"
	while read -r l; do
		read -r f is ix <<<"$(echo "$l" |
			sed -n 's/^importer [0-9]*: freed \([0-9]*\) in [0-9]* rounds, [0-9]* calls ([0-9]* single), sum \(0x[0-9a-f]*\) xor \(0x[0-9a-f]*\),.*/\1 \2 \3/p')"
		[ -n "$ix" ] || die "unreadable summary: $l"
		n=$((n + f)) s=$((s + is)) x=$((x ^ ix)) k=$((k + 1))
	done < <(grep -h '^importer [0-9]*: freed' "$@")
	[ "$k" = "$nimp" ] || die "$k importer summaries, not $nimp"
	[ "$n" = "$total" ] || die "the importers returned $n addresses, not $total"
	[ "$(printf '0x%x' "$s")" = "$osum" ] || die "the importers' sum is not the owner's"
	[ "$(printf '0x%x' "$x")" = "$oxor" ] || die "the importers' xor is not the owner's"
}

# zio_stop_round2: once zio_io's owner (-p 2 -g $T/go) has round 2 ready,
# publish it and stop own's segd until b's deadline closed b's connection
# to it, then let it run: the returns in flight are in doubt
zio_stop_round2() {
	local t_stop
	wait_until 120 grep -q '^round 2 ready' "$T/owner.out" ||
		die "the owner did not reach round 2: $(cat "$T/owner.out")"
	touch "$T/go"
	wait_until 30 grep -q '^round 2 published' "$T/owner.out" ||
		die "round 2 was not published: $(cat "$T/owner.out")"
	kill -STOP "${SEGD_PID[own]}"
	t_stop=$(ms_now)
	wait_until 30 grep -q 'did not answer' "$T/b.log" ||
		{ kill -CONT "${SEGD_PID[own]}"; die "b's connection to the stopped owner was not closed: $(tail -n 3 "$T/b.log")"; }
	kill -CONT "${SEGD_PID[own]}"
	echo "own's segd stopped for $(($(ms_now) - t_stop)) ms"
}
