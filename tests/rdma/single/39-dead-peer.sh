#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# Dead and unreachable peers give an error naming the peer within the
# deadline (segd -t), never a hang, and connections are remade on next use:
#  - a port where nobody listens, and an address where no host answers;
#  - a stopped exporter segd (SIGSTOP), with and without a connection;
#  - an exporter segd killed (SIGKILL) under a held import, then restarted
#    with the same state folder: the held import reports the lost peer, then
#    finds the export restored (same generation) and reads the same bytes;
#    killed again and exported anew (new generation), the held import says
#    "segment revoked"; a new import from the same importer segd works and
#    reads the bytes the segment kept across the restarts;
#  - a stopped exporter under a held import: its first direct get (data
#    connection, new ticket, another try) fails within one deadline.
. "$SEG_TOP/tests/rdma/lib.sh"
D=2000 margin=2500	# margin: slack for guest stalls on a loaded host
start_segd exp 7450 -t $D
start_segd imp 7451 -t $D
E=$A:7450
make_seg dp exp 0x200000000000 0x100000
head -c 1048576 /dev/urandom >"$T/dp.data"
sctl exp write dp <"$T/dp.data" || die "write dp"
sctl exp export dp || die "export dp"

# CMD must succeed and say "after N ms" with N < D + margin
timed_refusal() {	# LABEL CMD...
	local label=$1 out ms
	shift
	out=$("$@" 2>&1) || die "$label: $out"
	echo "$label: $out"
	ms=$(echo "$out" | sed -n 's/.* after \([0-9]*\) ms.*/\1/p' | tail -n 1)
	[ -n "$ms" ] && [ "$ms" -lt $((D + margin)) ] ||
		die "$label: the error took ${ms:-?} ms; deadline $D ms"
}

# nobody listens
timed_refusal "no listener" imp imp ximport "$A:7460/dp" "$A:7460"
# no host: an unused address of this node's subnet
nohost=${A%.*}.$(( ${A##*.} == 99 ? 98 : 99 ))
timed_refusal "no host" imp imp ximport "$nohost:7450/dp" "$nohost"
timed_refusal "no host, list" imp imp xls "$nohost" "$nohost"
out=$(sctl imp ls "$nohost:7450" 2>&1) && die "segctl ls $nohost succeeded"
echo "segctl ls $nohost:7450: $out"
case "$out" in *"$nohost"*) ;; *) die "segctl ls $nohost: error does not name the peer" ;; esac

# a stopped exporter, connected: the import request goes unanswered
imp imp -x "$T/exp.sock" -X dp import "$E/dp" get 5 100 bounce || die "first import"
kill -STOP "${SEGD_PID[exp]}"
timed_refusal "stopped exporter" imp imp ximport "$E/dp" "$E"
kill -CONT "${SEGD_PID[exp]}"
imp imp -x "$T/exp.sock" -X dp import "$E/dp" get 7 10000 bounce ||
	die "no import after the exporter was continued"
sctl imp peers | grep -q "^exp $E out ready" || die "no ready connection after SIGCONT"

# a stopped exporter, not connected: a second importer segd
start_segd imp2 7452 -t $D
kill -STOP "${SEGD_PID[exp]}"
timed_refusal "stopped exporter, no connection" imp imp2 ximport "$E/dp" "$E"
kill -CONT "${SEGD_PID[exp]}"
imp imp2 -x "$T/exp.sock" -X dp import "$E/dp" get 0 4096 bounce ||
	die "imp2: no import after the exporter was continued"

# a stopped exporter under a held import whose data connection is not made
# yet: the first direct get (the connection, then a new ticket and another
# try) fails within the one deadline, not one per try (bound 1.5 D)
mkfifo "$T/ctl0"
imp imp import "$E/dp" say ready sync tget 0 4096 bounce say ended \
	<"$T/ctl0" >"$T/stop.out" 2>&1 &
hpid=$!
exec 3>"$T/ctl0"
wait_until 60 grep -q '^ready$' "$T/stop.out" || die "holder: $(cat "$T/stop.out")"
kill -STOP "${SEGD_PID[exp]}"
echo >&3
wait_until 60 grep -q "^ended$" "$T/stop.out"
ended=$?
kill -CONT "${SEGD_PID[exp]}"
[ "$ended" = 0 ] || die "the get hung: $(cat "$T/stop.out")"
exec 3>&-
wait "$hpid" || die "holder: $(cat "$T/stop.out")"
line=$(grep '^tget fail' "$T/stop.out") || die "the get did not fail: $(cat "$T/stop.out")"
echo "stopped exporter, first direct get: $line"
ms=$(echo "$line" | sed 's/.* after \([0-9]*\) ms.*/\1/')
[ "$ms" -lt $((D * 3 / 2)) ] || die "the get took $ms ms; deadline $D ms"
case "$line" in *"$E"*) ;; *) die "the error does not name the peer $E" ;; esac

# killed and restarted: the export comes back by itself, same generation
mkfifo "$T/ctl"
imp imp import "$E/dp" tget 0 4096 bounce say ready sync \
	tget 0 4096 bounce say killed sync \
	getf 0 1048576 "$T/held" bounce say restarted sync \
	xget 0 4096 "segment revoked" say finished <"$T/ctl" >"$T/hold.out" 2>&1 &
hpid=$!
exec 3>"$T/ctl"
wait_until 60 grep -q '^ready$' "$T/hold.out" || die "holder: $(cat "$T/hold.out")"
grep -q '^tget ok' "$T/hold.out" || die "holder's first get: $(cat "$T/hold.out")"
sctl exp read dp >"$T/dp.before" || die "read dp"
kill_segd exp
echo >&3
wait_until 60 grep -q '^killed$' "$T/hold.out" || die "holder after the kill: $(cat "$T/hold.out")"
line=$(grep '^tget fail' "$T/hold.out") || die "the get on a dead exporter did not fail: $(cat "$T/hold.out")"
echo "$line"
ms=$(echo "$line" | sed 's/.* after \([0-9]*\) ms.*/\1/')
[ "$ms" -lt $((D + margin)) ] || die "the error took $ms ms"
case "$line" in *"$E"*) ;; *) die "the error does not name the peer $E" ;; esac
start_segd exp 7450 -t $D
sctl exp ls | grep -q "^dp " || die "dp did not survive the restart"
out=$(sctl exp export dp 2>&1) && die "dp was not exported again by the restart"
case "$out" in *"already exported"*) ;; *) die "export dp after the restart: $out" ;; esac
echo >&3	# the held import is made again, transparently
wait_until 60 grep -q '^restarted$' "$T/hold.out" ||
	die "the held import did not survive the restart: $(cat "$T/hold.out")"
cmp "$T/held" "$T/dp.before" || die "the held import's bytes differ after the restart"
# killed again, and exported anew (a new generation) before the holder's
# next get: that import is not revived
kill_segd exp
start_segd exp 7450 -t $D
sctl exp unexport dp || die "unexport dp"
sctl exp export dp || die "export dp again"
echo >&3
exec 3>&-
wait "$hpid" || die "holder: $(cat "$T/hold.out")"
cat "$T/hold.out"
imp imp import "$E/dp" getf 0 1048576 "$T/after" bounce ||
	die "no new import from the same importer segd after the restart"
cmp "$T/after" "$T/dp.before" || die "the bytes after the restart differ"
sctl imp peers | grep -q "^exp $E out ready" || die "no ready connection after the restart"
echo "connection remade; export restored; bytes intact"
