#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# segd's default deadline is 5 s (no -t): with the exporter's segd stopped
# (SIGSTOP), an import over a live connection fails after 5 s (not before,
# and within a margin after), with "peer ADDR did not answer within 5000 ms".
. "$SEG_TOP/tests/rdma/lib.sh"
margin=$(scaled 3000)
E=$A:7450
start_segd exp 7450
SEGD_DEADLINE='' start_segd imp 7451
make_seg dd exp 0x200000000000 0x100000
sctl exp export dd || die "export dd"
imp imp -x "$T/exp.sock" -X dd import "$E/dd" get 0 4096 bounce ||
	die "first import"

kill -STOP "${SEGD_PID[exp]}"
out=$(imp imp ximport "$E/dd" "did not answer within 5000 ms" 2>&1) ||
	die "the import of a stopped exporter: $out"
kill -CONT "${SEGD_PID[exp]}"
echo "$out"
ms=$(sed -n 's/.* after \([0-9]*\) ms: .*/\1/p' <<<"$out" | tail -n 1)
{ [ -n "$ms" ] && [ "$ms" -ge 4900 ] && [ "$ms" -lt $((5000 + margin)) ]; } ||
	die "the default deadline took ${ms:-?} ms, not 5000"
case "$out" in *"peer $E did not answer within 5000 ms"*) ;;
*) die "the message does not say 'peer $E did not answer within 5000 ms'" ;; esac
imp imp -x "$T/exp.sock" -X dd import "$E/dd" get 7 100 bounce ||
	die "no import after the exporter was continued"
