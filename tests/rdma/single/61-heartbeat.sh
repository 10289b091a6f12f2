#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# Heartbeats (segd -H): an idle connection stays up across several
# heartbeat times, and one to a stopped peer (SIGSTOP) is closed within the
# heartbeat time though nothing waits on it and the deadline (-t) is long.
#  - The importer's segd stopped: the exporter drops the connection, every
#    import made over it, and the importing process's direct data
#    connection (which segd never posts on) with it.  Continued, the
#    process's next get imports again and works.
#  - The exporter's segd stopped: the importer's segd drops the connection.
# Prints the detection times measured.
. "$SEG_TOP/tests/rdma/lib.sh"
H=2000 margin=2500	# margin: the 100 ms polls and guest stalls
start_segd exp 7450 -t 60000 -H $H
start_segd imp 7451 -t 60000 -H $H
E=$A:7450
imp_ready() { sctl imp peers | grep -q "^exp $E out ready"; }
imp_closed() { ! imp_ready; }
make_seg hb exp 0x200000000000 0x100000
head -c 1048576 /dev/urandom | sctl exp write hb || die "write hb"
sctl exp export hb || die "export hb"

mkfifo "$T/ctl"
imp imp -x "$T/exp.sock" -X hb import "$E/hb" get 0 65536 bounce path direct \
	say ready sync get 4096 65536 bounce say after sync \
	<"$T/ctl" >"$T/hold.out" 2>&1 &
hpid=$!
exec 3>"$T/ctl"
wait_until 60 grep -q '^ready$' "$T/hold.out" || die "holder: $(cat "$T/hold.out")"
[ "$(stat_of exp direct_connections)" = 1 ] ||
	die "exporter counts $(stat_of exp direct_connections) data connections, want 1"

# idle for two heartbeat times: nothing is closed
sleep $((2 * H / 1000))
imp_ready || die "the idle connection was closed"
[ "$(stat_of exp exported_imports)" = 1 ] || die "the exporter dropped the idle import"
grep -q '(heartbeat)' "$T/exp.log" "$T/imp.log" && die "a heartbeat closed a live connection"

# the importer's segd stopped
kill -STOP "${SEGD_PID[imp]}"
t0=$(ms_now)
wait_until 30 counter_is exp direct_connections 0 ||
	die "the exporter kept the stopped importer's data connection"
t1=$(ms_now)
wait_until 10 counter_is exp exported_imports 0 || die "the exporter kept the import"
grep -q 'nothing heard for .* ms (heartbeat)' "$T/exp.log" ||
	die "the exporter did not say the heartbeat stopped: $(tail -n 3 "$T/exp.log")"
echo "exporter: stopped importer noticed, data connection torn down after $((t1 - t0)) ms (-H $H)"
[ $((t1 - t0)) -lt $((H + H / 4 + margin)) ] || die "that took longer than $H ms + margin"
kill -CONT "${SEGD_PID[imp]}"
# the importer's segd, running again, takes the exporter's disconnect
wait_until 30 imp_closed ||
	die "the importer's segd still has a ready connection the exporter closed"
echo >&3
wait_until 60 grep -q '^after$' "$T/hold.out" ||
	die "no get after the importer's segd was continued: $(cat "$T/hold.out")"
[ "$(stat_of exp exported_imports)" = 1 ] || die "the get did not import again"

# the exporter's segd stopped: the importer's segd notices with nothing to do
imp_ready || die "no connection to the exporter"
kill -STOP "${SEGD_PID[exp]}"
t0=$(ms_now)
wait_until 30 imp_closed ||
	die "the importer's segd kept its connection to the stopped exporter"
t1=$(ms_now)
kill -CONT "${SEGD_PID[exp]}"
grep -q 'nothing heard for .* ms (heartbeat)' "$T/imp.log" ||
	die "the importer did not say the heartbeat stopped: $(tail -n 3 "$T/imp.log")"
echo "importer: stopped exporter noticed after $((t1 - t0)) ms (-H $H)"
[ $((t1 - t0)) -lt $((H + H / 4 + margin)) ] || die "that took longer than $H ms + margin"
echo >&3
exec 3>&-
wait "$hpid" || die "holder: $(cat "$T/hold.out")"
echo "heartbeats: idle connections kept, stopped peers dropped within -H"
