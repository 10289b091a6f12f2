#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# Peer authentication with a cluster key (segd -k).  Two segds with the
# same key: listing, get, put and an import on the direct data path work,
# and the connection says it is authenticated.  A segd with another key,
# and one with none, are refused both ways at connect: the importer's
# error names the authentication failure, the refusing segd logs the
# address and the reason.  A key file others may read is refused at start.
# The unkeyed segd says once that its peers are not authenticated.  Each
# segd here gets its key (or none) from this test, so SEG_TEST_KEY=1 (a key
# for every segd of the tier) does not apply.
SEG_TEST_KEY=0
. "$SEG_TOP/tests/rdma/lib.sh"
K1=$(make_key one)
K2=$(make_key two)
E=$A:7450
start_segd exp 7450 -k "$K1"
start_segd imp 7451 -k "$K1"
grep -q "peers must prove the cluster key" "$T/exp.log" ||
	die "the keyed segd did not say it authenticates its peers"
grep -q "peers are not authenticated" "$T/exp.log" &&
	die "the keyed segd says its peers are not authenticated"

# the same key: everything works
make_seg s exp 0x210000000000 0x10000
sctl exp export s imp:rw || die "export s"
printf 'from-exp' | sctl exp write s || die "write s"
sctl imp ls "$E" | grep -q '^s ' || die "imp does not list s: $(sctl imp ls "$E" 2>&1)"
[ "$(sctl imp get "$E/s" 0 8)" = from-exp ] || die "imp's get of s"
printf 'from-imp' | sctl imp put "$E/s" 16 || die "imp's put to s"
[ "$(sctl exp read s 16 8)" = from-imp ] || die "imp's put did not land"
imp imp -x "$T/exp.sock" -X s import "$E/s" path direct get 0 8 bounce \
	>"$T/imp.out" 2>&1 ||
	die "the direct path with a key: $(cat "$T/imp.out")"
cat "$T/imp.out"
grep -q "peer .* ready, protocol version 3, authenticated" "$T/exp.log" ||
	die "the exporter did not log an authenticated peer"
grep -q "peer .* ready, protocol version 3, authenticated" "$T/imp.log" ||
	die "the importer did not log an authenticated peer"

# another key: refused both ways
start_segd other 7452 -k "$K2"
expect_refusal "peer authentication failed: bad connect tag" sctl other ls "$E"
expect_refusal "peer authentication failed: bad connect tag" sctl exp ls "$A:7452"
imp other ximport "$E/s" "peer authentication failed" >"$T/ximp.out" 2>&1 ||
	die "other's import: $(cat "$T/ximp.out")"
grep -q "connect from $A refused: peer authentication failed: bad connect tag" "$T/exp.log" ||
	die "the exporter did not log the refusal with the address and the reason"

# no key against a keyed segd, and a keyed segd against one with none
start_segd nokey 7453
expect_refusal "peer authentication failed: the peer has no cluster key" \
	sctl nokey ls "$E"
expect_refusal "peer authentication failed: this segd has no cluster key" \
	sctl exp ls "$A:7453"
n=$(grep -c "peers are not authenticated" "$T/nokey.log")
[ "$n" = 1 ] || die "the unkeyed segd said $n times that its peers are not authenticated, want once"

kill -0 "${SEGD_PID[exp]}" || die "the exporter died"
# (imp_io -X filled s with its own bytes)
[ "$(sctl imp get "$E/s" 0 64 | od -An -tx1)" = "$(sctl exp read s 0 64 | od -An -tx1)" ] ||
	die "imp's get after the refusals"

# key files segd refuses at start: readable by others, a symbolic link
chmod 644 "$K2"
if "$SEGD_BIN" -f -s "$T/bad.sock" -d "$T/bad.d" -l "$A:7454" -n bad \
	-k "$K2" >"$T/bad.out" 2>&1; then
	die "segd started with a key file others may read"
fi
grep -q "bad ownership or modes" "$T/bad.out" || die "the refusal of a 0644 key: $(cat "$T/bad.out")"
chmod 600 "$K2"
ln -s "$K2" "$T/link.key"
if "$SEGD_BIN" -f -s "$T/bad.sock" -d "$T/bad.d" -l "$A:7454" -n bad \
	-k "$T/link.key" >"$T/bad.out" 2>&1; then
	die "segd started with a key file that is a symbolic link"
fi
grep -q "symbolic link" "$T/bad.out" || die "the refusal of a linked key: $(cat "$T/bad.out")"
echo "key files refused: 0644, symbolic link"
