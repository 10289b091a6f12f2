#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# A held import is made again once, transparently, after its connection was
# lost while the export stayed the same.  A process imports rs and gets from
# it; the exporter's segd is stopped (SIGSTOP) and another process's listing
# misses the importer segd's deadline, which closes the connection.  Once the
# exporter runs again, the holder's next get works without a new
# seg_import: same bytes, same generation, and the exporter counts one live
# import (the old one dropped with the connection, the new one made once).
. "$SEG_TOP/tests/rdma/lib.sh"
D=3000
E=$A:7450
start_segd exp 7450
start_segd imp 7451 -t $D
make_seg rs exp 0x200000000000 0x100000
head -c 1048576 /dev/urandom | sctl exp write rs || die "write rs"
sctl exp export rs || die "export rs"

mkfifo "$T/ctl"
imp imp -x "$T/exp.sock" -X rs import "$E/rs" info get 0 65536 bounce \
	say ready sync get 4097 70000 bounce info stats say after sync \
	<"$T/ctl" >"$T/hold.out" 2>&1 &
hpid=$!
exec 3>"$T/ctl"
wait_until 60 grep -q '^ready$' "$T/hold.out" || die "holder: $(cat "$T/hold.out")"
[ "$(stat_of exp exported_imports)" = 1 ] || die "exporter counts $(stat_of exp exported_imports) imports, want 1"

kill -STOP "${SEGD_PID[exp]}"
imp imp xls "$E" "did not answer" || die "a listing of the stopped exporter did not time out"
sctl imp peers | grep -q "^exp $E out ready" && die "the connection to the stopped exporter is still ready"
kill -CONT "${SEGD_PID[exp]}"
wait_until 30 counter_is exp exported_imports 0 ||
	die "the exporter kept the import of the lost connection"

echo >&3
wait_until 60 grep -q '^after$' "$T/hold.out" ||
	die "the held import was not made again: $(cat "$T/hold.out")"
cat "$T/hold.out"
mapfile -t gens < <(sed -n 's/^len .* gen \([0-9]*\)\( .*\)\{0,1\}$/\1/p' "$T/hold.out")
{ [ "${#gens[@]}" = 2 ] && [ "${gens[0]}" = "${gens[1]}" ]; } ||
	die "the generation changed across the re-import: ${gens[*]}"
grep -qx 'imports 1' "$T/hold.out" || die "the importer's segd does not count one import"
[ "$(stat_of exp exported_imports)" = 1 ] ||
	die "exporter counts $(stat_of exp exported_imports) imports after the re-import, want 1"
sctl imp peers | grep -q "^exp $E out ready" || die "no ready connection after the re-import"
echo >&3
exec 3>&-
wait "$hpid" || die "holder: $(cat "$T/hold.out")"
echo "held import made again after a lost connection: same generation, one import"
