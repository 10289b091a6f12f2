#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# Bounds: gets and puts past the end of an imported segment (crossing the
# end, just past it, wrapping around, and a 10 MiB put crossing the end that
# would take several bounce frames; zero copy and bounced; batches whose last
# entry runs past the end) fail with ERANGE "past the end" and leave every
# byte of the exporter's segment as it was.  Then segctl's own refusals.
. "$SEG_TOP/tests/rdma/lib.sh"
start_exp_imp
make_seg bseg exp 0x200000000000 0x1000000
sctl exp export bseg || die "export bseg"
imp imp -x "$T/exp.sock" -X bseg zcbuf zc 0x300000000000 0x1000000 \
	import "$A:7450/bseg" bounds || die "bounds"
sctl exp read bseg 0 0x1000000 >"$T/before" || die "read bseg"
head -c 100 /dev/urandom >"$T/in"
for args in "0xfffff0 0x20" "0x1000000 1"; do
	# shellcheck disable=SC2086
	if out=$(sctl imp get "$A:7450/bseg" $args 2>&1 >/dev/null); then
		die "segctl get $args succeeded past the end"
	fi
	case "$out" in *"past the end"*) echo "refused: $out" ;; *) die "segctl get $args: $out" ;; esac
done
if out=$(sctl imp put "$A:7450/bseg" 0xffffc0 <"$T/in" 2>&1); then
	die "segctl put of 100 bytes at 0xffffc0 succeeded past the end"
fi
case "$out" in *"past the end"*) echo "refused: $out" ;; *) die "segctl put: $out" ;; esac
sctl exp read bseg 0 0x1000000 | cmp - "$T/before" || die "a refused segctl put changed bytes"
