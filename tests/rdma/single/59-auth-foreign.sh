#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# A keyed segd (segd -k) against what is not a segd with its key, while a
# real importer with the key is served throughout:
#  - rawpeer with the key (tests/rdma/rawpeer -K) is taken, and checks the
#    segd's proof of the key; it records its connect and its proof;
#  - that connect, replayed without the key, passes the connect step (its
#    tag is good) and the recorded proof, sent again, is refused: the segd
#    drops the connection and logs why, with the address;
#  - a raw connect without segd's private data, rping, ib_send_lat -R and
#    ucmatose are refused at connect.
. "$SEG_TOP/tests/rdma/lib.sh"
need_cmd rping ucmatose ib_send_lat
need_bin "$RAWPEER"
K=$(make_key cluster)
E=$A:7450
start_segd exp 7450 -k "$K"
start_segd imp 7451 -k "$K"
make_seg s exp 0x210000000000 0x100000
sctl exp export s || die "export s"
printf 'segment s' | sctl exp write s || die "write s"
[ "$(sctl imp get "$E/s" 0 9)" = "segment s" ] || die "the first get"

# the real importer, busy until told to stop: every get must work
(
	n=0
	while [ ! -e "$T/stop" ]; do
		if [ "$(sctl imp get "$E/s" 0 9)" = "segment s" ]; then
			n=$((n + 1))
		else
			echo "get $n failed" >>"$T/bg.fail"
		fi
	done
	echo "$n" >"$T/bg.count"
) &
BGPID=$!

# with the key: taken, and the segd proves the key too
"$RAWPEER" -a "$A" -p 7450 -m hello -n keyed -K "$K" -R "$T/rec" -w 1 \
	>"$T/raw1.out" 2>&1 || die "rawpeer with the key: $(cat "$T/raw1.out")"
cat "$T/raw1.out"
grep -q "segd proved the cluster key" "$T/raw1.out" || die "no proof from segd"

# the recorded connect and proof, replayed: connect taken, proof refused
"$RAWPEER" -a "$A" -p 7450 -m replay -n keyed -P "$T/rec" -w 10 \
	>"$T/raw2.out" 2>&1 || die "the replay: $(cat "$T/raw2.out")"
cat "$T/raw2.out"
grep -q "the replayed connect was taken" "$T/raw2.out" ||
	die "the replayed connect did not pass the connect step"
wait_until 20 grep -q "peer authentication failed (from $A): bad proof of the cluster key" "$T/exp.log" ||
	die "the exporter did not log the replayed proof's refusal"

# rdma_cm clients that are not segd
foreign_refused ib_send_lat "$A"

touch "$T/stop"
wait "$BGPID"
[ -e "$T/bg.fail" ] && die "the real importer failed meanwhile: $(cat "$T/bg.fail")"
echo "the real importer made $(cat "$T/bg.count") gets meanwhile, none failed"
[ "$(cat "$T/bg.count")" -ge 1 ] || die "the real importer made no get"
imp imp -x "$T/exp.sock" -X s import "$E/s" path direct get 0 9 bounce \
	>"$T/imp.out" 2>&1 || die "the direct path after: $(cat "$T/imp.out")"
kill -0 "${SEGD_PID[exp]}" || die "the exporter died"
