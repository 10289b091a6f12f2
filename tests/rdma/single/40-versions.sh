#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# Peer protocol versions: segds built at different versions.  A segd that
# speaks versions 2 to 3 (this build) and one built to speak only version 2
# (an older release) agree on version 2: listing (more than one page),
# import, get and put work both ways, on the segd path (version 2 has no
# direct data path), and `segctl peers` shows the version.  Two of this
# build agree on version 3, where imports take the direct path.  A segd
# that speaks only version 4 (a release too new) shares no version: its
# import fails at the importer, and the exporter logs why, naming both
# ranges.
. "$SEG_TOP/tests/rdma/lib.sh"
V2=$B/compat/v2/segd
V4=$B/compat/v4/segd
need_bin "$V2"
need_bin "$V4"
start_segd new 7450
SEGD_BIN=$V2 start_segd old 7451
start_segd new2 7452
SEGD_BIN=$V4 start_segd future 7453

# 50 exports on each side: more than one LIST page (48 entries; 46 with
# addresses)
for node in new old; do
	imp "$node" mkexports "$node" 50 0x210000000000 0x100000 0x1000 >"$T/mk" 2>&1 ||
		die "exports of $node: $(cat "$T/mk")"
done
printf 'from-new' | sctl new write new7 || die "write new7"
printf 'from-old' | sctl old write old7 || die "write old7"

listed() {	# NODE PEER-PORT PREFIX: how many PREFIX* the listing holds
	sctl "$1" ls "$A:$2" | grep -c "^$3[0-9]* "
}
[ "$(listed old 7450 new)" = 50 ] || die "the old segd lists $(listed old 7450 new) of new's 50 exports"
[ "$(listed new 7451 old)" = 50 ] || die "the new segd lists $(listed new 7451 old) of old's 50 exports"
[ "$(listed new2 7450 new)" = 50 ] || die "new2 lists $(listed new2 7450 new) of new's 50 exports"

# the address column: there at version 3, "-" at version 2
entry() {	# NODE PEER-PORT NAME: NAME's line in NODE's listing of the peer
	sctl "$1" ls "$A:$2" | awk -v n="$3" '$1 == n'
}
want="new7 va 0x210000700000 0x1000 rw"
[ "$(entry new2 7450 new7)" = "$want" ] || die "new2 lists '$(entry new2 7450 new7)', want '$want'"
want="new49 va 0x210003100000 0x1000 rw"	# on the second page
[ "$(entry new2 7450 new49)" = "$want" ] || die "new2 lists '$(entry new2 7450 new49)', want '$want'"
want="old7 va - 0x1000 rw"
[ "$(entry new 7451 old7)" = "$want" ] || die "new lists '$(entry new 7451 old7)' of old, want '$want'"
addr=$(sctl new2 -j ls "$A:7450" | python3 -c 'import json, sys
print([e["address"] for e in json.load(sys.stdin) if e["name"] == "new7"][0])') || die "new2's JSON listing"
[ "$addr" = $((0x210000700000)) ] || die "new2's JSON listing gives new7 the address $addr"

# get and put across the old/new pair, both ways
[ "$(sctl old get "$A:7450/new7" 0 8)" = from-new ] || die "old's get of new7"
[ "$(sctl new get "$A:7451/old7" 0 8)" = from-old ] || die "new's get of old7"
printf 'put-byold' | sctl old put "$A:7450/new7" 0 || die "old's put to new7"
[ "$(sctl new read new7 0 9)" = put-byold ] || die "old's put did not land"

peer_version() {	# NODE PEER: the version of NODE's connection to PEER
	sctl "$1" peers | awk -v p="$2" '$1 == p { for (i = 1; i < NF; i++) if ($i == "version") print $(i + 1) }' | head -n 1
}
[ "$(peer_version new old)" = 2 ] || die "new speaks version '$(peer_version new old)' to old, want 2"
[ "$(peer_version old new)" = 2 ] || die "old speaks version '$(peer_version old new)' to new, want 2"
[ "$(peer_version new2 new)" = 3 ] || die "new2 speaks version '$(peer_version new2 new)' to new, want 3"
echo "versions: new<->old 2, new2<->new 3"
# the path each import takes: version 2 has none of its own
imp new import "$A:7451/old7" path segd >"$T/p1" 2>&1 || die "new's import from old: $(cat "$T/p1")"
imp new2 import "$A:7450/new7" path direct >"$T/p2" 2>&1 || die "new2's import from new: $(cat "$T/p2")"
cat "$T/p1" "$T/p2"

# no version in common: refused, with both ranges named
if out=$(sctl future get "$A:7450/new7" 0 8 2>&1); then
	die "a version-4-only segd imported from a 2-to-3 segd: $out"
fi
echo "future's get refused: $out"
case $out in
*"no protocol version in common: the peer speaks 2 to 3, this segd speaks 4 to 4"*) ;;
*) die "the importer's error does not name both versions: $out" ;;
esac
wait_until 20 grep -q "no protocol version in common: the peer speaks 4 to 4, this segd speaks 2 to 3" "$T/new.log" ||
	die "the exporter did not log the version mismatch"
kill -0 "${SEGD_PID[new]}" || die "the exporter died"
