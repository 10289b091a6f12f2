#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# A killed importer leaves no state at the exporter.  (1) A process holding
# three imports (and a bounce region) is SIGKILLed: the exporter's live
# imports go back to 0.  (2) A process killed in the middle of a 64 MiB get
# (it must not have reported the end of its gets): the importer's segd survives, counts no imports, and serves the next one.
# (3) The importer's segd itself is SIGKILLed with imports held: the exporter
# drops its side (exported_imports 0, no peer left), and a restarted
# importer segd imports again.
. "$SEG_TOP/tests/rdma/lib.sh"
# the exporter's short deadline: it notices the killed importer segd soon
start_segd exp 7450 -t 3000
start_segd imp 7451
E=$A:7450
make_seg s1 exp 0x200000000000 0x4000000
make_seg s2 exp 0x200010000000 0x100000
sctl exp export s1 || die "export s1"
sctl exp export s2 || die "export s2"
exported() { test "$(stat_of exp exported_imports)" = "$1"; }

# (1)
imp imp -x "$T/exp.sock" -X s2 import "$E/s1" import "$E/s2" import "$E/s2" \
	get 0 5000 bounce hold >"$T/h1.out" 2>&1 &
wait_until 60 grep -q '^holding' "$T/h1.out" || die "holder: $(cat "$T/h1.out")"
wait_until 10 exported 3 || die "exporter counts $(stat_of exp exported_imports) imports, want 3"
# the imports are held by imp_io's child (-x forks): kill that one
child=$(sed -n 's/^holding pid \([0-9]*\)$/\1/p' "$T/h1.out")
[ -n "$child" ] || die "no holder pid"
kill -KILL "$child"
wait_until 10 exported 0 || die "exporter still counts $(stat_of exp exported_imports) imports after the importer was killed"
[ "$(stat_of imp imports)" = 0 ] || die "importer's segd still counts $(stat_of imp imports) imports"
echo "(1) killed holder of 3 imports: exporter's exported_imports back to 0"

# (2)
start_long_get imp "$E/s1" "$T/h2.out"
kill -KILL "$GETTER"
wait "$GET_PID" 2>/dev/null
cat "$T/h2.out"
# killed mid-transfer: it reported neither the end of its gets nor a failure
grep -q '^tget ok' "$T/h2.out" && die "the gets had finished before the kill"
grep -q '^tget fail' "$T/h2.out" && die "a get failed before the kill"
wait_until 10 exported 0 || die "exporter counts $(stat_of exp exported_imports) imports after a kill mid-get"
wait_until 10 counter_is imp imports 0 || die "importer still counts imports after a kill mid-get"
kill -0 "${SEGD_PID[imp]}" || die "the importer's segd died when its client was killed mid-get"
imp imp -x "$T/exp.sock" -X s1 zcbuf zc 0x300000000000 0x4100000 import "$E/s1" \
	get 12345 0x100000 zc get 7 0x100000 bounce || die "no import after a kill mid-get"
sctl imp ls >/dev/null || die "importer's segd does not answer"
echo "(2) client killed mid-get: importer's segd fine, no imports left"

# (3)
imp imp import "$E/s1" import "$E/s2" hold >"$T/h3.out" 2>&1 &
hpid=$!
wait_until 60 grep -q '^holding' "$T/h3.out" || die "holder 3: $(cat "$T/h3.out")"
wait_until 10 exported 2 || die "exporter counts $(stat_of exp exported_imports) imports, want 2"
t0=$(ms_now)
kill_segd imp
wait_until 30 exported 0 || die "exporter still counts $(stat_of exp exported_imports) imports after the importer's segd was killed"
echo "(3) importer's segd killed: exporter back to 0 imports after $(($(ms_now) - t0)) ms"
wait_until 10 sh -c "! '$SEGCTL' -s '$T/exp.sock' peers | grep -q ." ||
	die "exporter still lists peers: $(sctl exp peers)"
kill "$(sed -n 's/^holding pid \([0-9]*\)$/\1/p' "$T/h3.out")"
wait "$hpid" 2>/dev/null
start_segd imp 7451
imp imp -x "$T/exp.sock" -X s2 import "$E/s2" get 0 4096 bounce ||
	die "no import from the restarted importer segd"
wait_until 10 exported 0 || die "exporter counts imports after unimport"
