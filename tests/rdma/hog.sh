# tests/rdma/hog.sh: a CPU hog for the "under load" figures, sourced by
# tests/rdma/perftest-baseline and bench/run-rdma (bash).
# shellcheck shell=bash
#
#   hog_start   one busy loop per CPU (nproc of them), in the background;
#               their pids in HOG_PIDS
#   hog_stop    kill them, by pid, and reap them (safe to call twice; call
#               it from the EXIT trap too)
HOG_PIDS=()

hog_start() {
	local i n
	n=$(nproc 2>/dev/null || echo 1)
	for ((i = 0; i < n; i++)); do
		(while :; do :; done) &
		HOG_PIDS+=($!)
	done
}

hog_stop() {
	[ "${#HOG_PIDS[@]}" = 0 ] && return 0
	kill "${HOG_PIDS[@]}" 2>/dev/null
	wait "${HOG_PIDS[@]}" 2>/dev/null
	HOG_PIDS=()
	return 0
}
