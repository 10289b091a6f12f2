#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# The direct data path as an unprivileged user with the default limits
# (uid 65534, RLIMIT_MEMLOCK 8 MiB): a small zero-copy buffer is registered
# and moved by DMA; a 64 MiB one cannot be registered under the limit, so
# its bytes are copied through the bounce region instead, the transfers are
# still right, and the process's counters say which limit to raise.
. "$SEG_TOP/tests/rdma/lib.sh"
start_exp_imp
make_seg big exp 0x200000000000 0x4000000
head -c 67108864 /dev/urandom >"$T/orig"
sctl exp write big <"$T/orig" || die "write big"
sctl exp export big || die "export big"
chmod 0777 "$T"
unpriv() {	# imp_io as uid 65534 with an 8 MiB memlock limit
	(ulimit -l 8192 && SEGD_SOCKET=$T/imp.sock exec setpriv --reuid=65534 \
		--regid=65534 --clear-groups timeout -k 5 300 "$IMP_IO" "$@")
}
unpriv zcbuf small 0x300000000000 0x200000 import "$E/big" path direct \
	getf 4097 1048576 "$T/g1" zc lstats >"$T/u1.out" 2>&1 ||
	die "small zero-copy get: $(cat "$T/u1.out")"
cat "$T/u1.out"
slice "$T/orig" 4097 1048576 | cmp - "$T/g1" || die "small get: bytes differ"
grep -qx "direct_zerocopy_bytes 1048576" "$T/u1.out" ||
	die "the small buffer was not moved zero copy"
unpriv zcbuf huge 0x300010000000 0x4100000 import "$E/big" path direct \
	getf 0 67108864 "$T/g2" zc lstats >"$T/u2.out" 2>&1 ||
	die "large get under the memlock limit: $(cat "$T/u2.out")"
cat "$T/u2.out"
cmp "$T/orig" "$T/g2" || die "large get: bytes differ"
grep -qx "direct_bounce_bytes 67108864" "$T/u2.out" ||
	die "the large buffer's bytes were not copied through the bounce region"
grep -q "^note zero-copy registration of .* refused .*raise RLIMIT_MEMLOCK" "$T/u2.out" ||
	die "no note of the memlock limit"
