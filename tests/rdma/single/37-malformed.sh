#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# Malformed peers: rawpeer (raw rdma_cm and verbs) first shows that a peer
# speaking the protocol properly is accepted (HELLO both ways, LIST); then,
# once per kind of malformed message, it connects and sends one, and the
# exporter's segd must drop that connection with a log line saying why,
# while a normal importer holding an import keeps working: it gets (and
# compares) before, between and after the bad peers, on one connection.
. "$SEG_TOP/tests/rdma/lib.sh"
start_exp_imp
make_seg m exp 0x200000000000 0x100000
sctl exp export m || die "export m"

# mode and the reason segd must log
modes=(
	"badversion|no protocol version in common: the peer speaks 4 to 4, this segd speaks 2 to 3"
	"prehello|type 3 before hello"
	"badlen|length field does not match the bytes received"
	"badtype|unknown message type"
	"typeafter|unknown message type"
	"shorthello|payload of the wrong size for its type"
	"badnode|bad node name in hello"
	"nodelen|bad node name in hello"
	"credits|more credits returned than buffers exist"
	"credits2|returned more credits than it was given"
	"secondhello|second hello"
	"garbage|message size out of range"
	"garbage2|unknown message type"
	"toolong|receive failed"
)
args=(import "$E/m" get 0 4096 bounce say round0)
for ((i = 1; i <= ${#modes[@]}; i++)); do
	args+=(sync get $((i * 4099)) 5000 bounce say "round$i")
done
args+=(stats)
mkfifo "$T/ctl"
imp imp -x "$T/exp.sock" -X m "${args[@]}" <"$T/ctl" >"$T/hold.out" 2>&1 &
hpid=$!
exec 3>"$T/ctl"
wait_until 60 grep -q '^round0$' "$T/hold.out" || die "importer: $(cat "$T/hold.out")"

timeout 60 "$RAWPEER" -a "$A" -p 7450 -m hello -w 2 >"$T/raw.out" 2>&1 ||
	die "a well-behaved rawpeer was not accepted: $(cat "$T/raw.out")"
cat "$T/raw.out"
grep -q "^list: 1 exports visible to node rawpeer" "$T/raw.out" ||
	die "rawpeer's LIST did not see the export"

i=0
for entry in "${modes[@]}"; do
	i=$((i + 1))
	mode=${entry%%|*} why=${entry#*|}
	lines=$(wc -l <"$T/exp.log")
	timeout 60 "$RAWPEER" -a "$A" -p 7450 -m "$mode" -w 8 >"$T/raw.out" 2>&1
	rc=$?
	sed "s/^/$mode: /" "$T/raw.out"
	[ "$rc" = 0 ] || die "rawpeer $mode: not dropped (exit $rc)"
	wait_until 10 sh -c "tail -n +$((lines + 1)) '$T/exp.log' | grep -q 'peer_close: .*$why'" ||
		die "segd logged no '$why' for $mode: $(tail -n +$((lines + 1)) "$T/exp.log")"
	tail -n +$((lines + 1)) "$T/exp.log" | grep 'peer_close: ' | sed 's/^/    segd: /'
	echo >&3
	wait_until 60 grep -q "^round$i\$" "$T/hold.out" ||
		die "the importer stopped working after $mode: $(cat "$T/hold.out")"
done
exec 3>&-
wait "$hpid" || die "importer: $(cat "$T/hold.out")"
grep -q "^imports 1$" "$T/hold.out" || die "the importer's import did not survive"
# one connection from imp all along, and none left from the bad peers
sctl exp peers >"$T/peers"
cat "$T/peers"
[ "$(wc -l <"$T/peers")" = 1 ] && grep -q "^imp .* in ready" "$T/peers" ||
	die "the exporter's peers are not just imp"
[ "$(grep -c 'peer imp (imp)' "$T/exp.log")" = 0 ] ||
	die "the importer's connection was closed: $(grep 'peer imp (imp)' "$T/exp.log")"
kill -0 "${SEGD_PID[exp]}" || die "the exporter's segd died"
