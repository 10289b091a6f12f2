#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# The direct data path reaches only what was granted, at the NIC.  A
# process holding a real ticket (tests/rdma/dpguess: raw rdma_cm and verbs)
# connects its own queue pair to the exporter's segd:
#  - a READ with the grant's key works;
#  - READs with guessed keys fail at the NIC: the neighbouring keys, the
#    same index with another random byte, the next index, the other grant's
#    key, the key the segd path uses for the same import, and another
#    export's;
#  - a WRITE with the key of a read-only grant fails at the NIC;
#  - tickets forged, of an unknown import, expired (segd -E), of a revoked
#    import, and replayed from another address are refused at connect with
#    the reason, and segd logs each refusal;
#  - rdma_cm clients that are not segd (a raw connect without segd's private
#    data, rping, ib_read_bw -R, ucmatose) are refused at connect;
#  - a real importer is served throughout.
. "$SEG_TOP/tests/rdma/lib.sh"
GUESS=$B/tests/rdma/dpguess
need_bin "$GUESS"
E=$A:7450
start_segd exp 7450 -E 3000
start_segd imp 7451
make_seg a exp 0x200000000000 0x100000
make_seg b exp 0x200010000000 0x100000
sctl exp export a imp:r || die "export a imp:r"
sctl exp export b || die "export b"
printf 'segment a' | sctl exp write a || die "write a"
guess() {
	SEGD_SOCKET=$T/imp.sock timeout -k 5 120 "$GUESS" "$@"
}

read -r _ ka _ ra < <(guess "$E/a" keys) || die "keys of a"
read -r _ kb _ rb < <(guess "$E/b" keys) || die "keys of b"
echo "a: grant key $ka, segd-path key $ra; b: grant key $kb, segd-path key $rb"
guess "$E/a" read | grep -qx "read ok" || die "a READ with the grant's key failed"
out=$(guess "$E/a" guess $((ka + 1)) $((ka - 1)) $((ka ^ 0x5a)) \
	$((ka + 256)) "$kb" "$ra" "$rb") || die "a guessed key reached memory: $out"
echo "$out"
[ "$(grep -c . <<<"$out")" = 7 ] || die "not every guess was tried: $out"
out=$(guess "$E/a" write) || die "a WRITE under a read-only grant was not refused: $out"
echo "$out"

refused() {	# WANT CMD...: the connect is refused with WANT
	local want=$1 out
	shift
	out=$("$@") || die "$*: $out"
	[ "$out" = "refused: $want" ] || die "$*: '$out', want 'refused: $want'"
	echo "$*: $out"
}
refused "forged ticket" guess "$E/b" ticket forge
refused "unknown, or revoked, import" guess "$E/b" ticket grant
guess "$E/b" ticket ok | grep -qx accepted || die "a valid ticket was refused"
refused "expired ticket" guess "$E/b" late 5
SEGD_SOCKET=$T/imp.sock "$GUESS" "$E/b" wait "$T/go" >"$T/wait.out" 2>&1 &
pid=$!
wait_until 30 grep -q '^ready' "$T/wait.out" || die "no import: $(cat "$T/wait.out")"
sctl exp unexport b || die "unexport b"
touch "$T/go"
wait "$pid"
grep -qx "refused: unknown, or revoked, import" "$T/wait.out" ||
	die "a revoked import's ticket: $(cat "$T/wait.out")"
sctl exp export b || die "export b again"
# another address of this node plays another node replaying the ticket
ip addr add 10.0.0.3/24 dev va 2>/dev/null || ip addr show dev va | grep -q 10.0.0.3 ||
	die "cannot add a second address"
DPGUESS_SRC=10.0.0.3 refused "ticket of another node" guess "$E/b" ticket ok

# rdma_cm clients that are not segd
foreign_refused ib_read_bw ".*"
grep -c "data connection from .* refused" "$T/exp.log" | grep -qx 5 ||
	die "segd did not log each refused ticket: $(grep refused "$T/exp.log")"
# the real importer throughout
imp imp -x "$T/exp.sock" -X a import "$E/a" path direct get 0 9 bounce >"$T/imp.out" 2>&1 ||
	die "the importer: $(cat "$T/imp.out")"
kill -0 "${SEGD_PID[exp]}" || die "the exporter died"
