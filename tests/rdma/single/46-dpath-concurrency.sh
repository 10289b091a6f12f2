#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# The direct data path with two processes of four threads each, every
# thread with its own import of the same segment, putting and getting its
# own area and reading a shared one, byte for byte; then fork during an
# import: the child makes its own resources and works, and so does the
# parent.  Finally, the importer process killed in the middle of transfers:
# the exporter's data connections and grants go back to none (nothing leaks
# at either segd).
. "$SEG_TOP/tests/rdma/lib.sh"
MULTI=$B/tests/rdma/dpmulti
need_bin "$MULTI"
start_exp_imp
make_seg m exp 0x200000000000 0x200000
head -c 4096 /dev/zero | tr '\0' '\253' | sctl exp write m || die "write the head"
sctl exp export m || die "export m"
SEGD_SOCKET=$T/imp.sock timeout -k 5 240 "$MULTI" "$E/m" threads 2 4 20 >"$T/t.out" 2>&1 ||
	die "threads: $(cat "$T/t.out")"
cat "$T/t.out"
grep -qx "threads ok 320" "$T/t.out" || die "not every transfer was checked"
SEGD_SOCKET=$T/imp.sock timeout -k 5 240 "$MULTI" "$E/m" fork >"$T/f.out" 2>&1 ||
	die "fork: $(cat "$T/f.out")"
cat "$T/f.out"
wait_until 30 counter_is exp direct_connections 0 ||
	die "the exporter keeps $(stat_of exp direct_connections) data connections after the importers left"

# an importer killed mid-transfer
SEGD_SOCKET=$T/imp.sock "$MULTI" "$E/m" threads 1 4 100000 >"$T/k.out" 2>&1 &
pid=$!
wait_until 60 counter_is exp direct_connections 4 ||
	die "no data connections: $(stat_of exp direct_connections)"
sleep 1
kill -KILL "$pid"
wait "$pid" 2>/dev/null
wait_until 30 counter_is exp direct_connections 0 ||
	die "the exporter keeps $(stat_of exp direct_connections) data connections of a killed importer"
wait_until 30 counter_is exp direct_grants 0 ||
	die "the exporter keeps $(stat_of exp direct_grants) grants of a killed importer"
wait_until 30 counter_is imp imports 0 ||
	die "the importer's segd keeps $(stat_of imp imports) imports of a killed process"
echo "killed importer: exporter's grants and connections back to 0"
