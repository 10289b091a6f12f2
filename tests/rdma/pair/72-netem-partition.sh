#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# A partition longer than the deadline: node 2 holds an import of node 1's
# segment (direct data path: a grant and a data connection at node 1) and
# gets from it; then both guests drop everything they send (netem loss
# 100%) and nobody uses the connection.  Each segd must notice the silent
# peer on its own (segd -t 3000; the liveness checks of an idle connection)
# and drop what hangs on it cleanly: node 1 its peer, the import it
# exported, the grant and the data connection; node 2 its peer and data
# connection.  `segctl stats` and `segctl peers` show it on both nodes.
# Then the partition heals: the same importer process gets again (the
# connection and the import made again), and once it exits both nodes are
# back to nothing: no import, grant or data connection left behind.
# Prints how long each node took to notice and the recovery time.
. "$SEG_TOP/tests/rdma/lib.sh"
me=node$SOFTROCE_NODE
D=3000 len=1048576 limit=30
pair_fail_fast
netem_need
start_segd "$me" 7450 -t $D
echo "deadline: segd -t $D ms on both nodes; each must notice within $(scaled $limit) s"

# counters NODE: the counters this test watches, on one line
counters() {
	sctl "$1" stats | awk '$1 ~ /^(exported_imports|imports|imports_direct|direct_grants|direct_connections)$/ {
		printf "%s %s ", $1, $2 }'
	echo "peers $(sctl "$1" peers | wc -l)"
}

# gone NODE: nothing hangs on the lost peer any more
gone() {
	local c
	c=$(counters "$1")
	case " $c" in
	*" exported_imports 0 "*" direct_grants 0 direct_connections 0 peers 0") return 0 ;;
	esac
	return 1
}

if [ "$SOFTROCE_NODE" = 1 ]; then
	pair_export cseg $len
	await holding 120 || die "node 2's importer did not start"
fi
if [ "$SOFTROCE_NODE" = 2 ]; then
	pair_hold cseg $len
	softroce_signal holding
fi
echo "before: $(counters "$me")"
softroce_barrier cut 60 || die "the other node did not come to the partition"
t_cut=$(ms_now)
netem loss 100%
wait_until $limit gone "$me" ||
	die "after $(($(ms_now) - t_cut)) ms of partition node $SOFTROCE_NODE still has $(counters "$me")"
echo "detection: node $SOFTROCE_NODE dropped the peer after $(($(ms_now) - t_cut)) ms: $(counters "$me")"
softroce_barrier dropped $((2 * limit + 60)) || die "the other node did not drop its peer"
echo "partition of $(($(ms_now) - t_cut)) ms"
netem_off
softroce_barrier healed 60 || die "the other node did not heal the partition"

if [ "$SOFTROCE_NODE" = 2 ]; then
	hold_after "the partition"
	echo "recovery: the same importer got again $REC after the partition healed"
	echo "holding again: $(counters "$me")"
	softroce_signal regained
	await counted 60 || die "node 1 did not count the import"
	hold_end
	wait_until 30 counter_is "$me" imports 0 ||
		die "node 2 kept an import after its importer exited: $(counters "$me")"
	wait_until 30 counter_is "$me" direct_connections 0 ||
		die "node 2 kept a data connection after its importer exited: $(counters "$me")"
	softroce_signal exited
else
	await regained 120 || die "node 2 did not get again after the partition"
	c=$(counters "$me")
	echo "holding again: $c"
	case " $c" in
	*" exported_imports 1 "*" direct_grants 1 direct_connections 1 peers 1") ;;
	*) die "node 1 has $c while node 2 holds one import" ;;
	esac
	softroce_signal counted
	await exited 60 || die "node 2's importer did not exit"
	for k in exported_imports direct_grants direct_connections; do
		wait_until 30 counter_is "$me" $k 0 ||
			die "node 1 kept $k $(stat_of "$me" $k) after the importer exited: $(counters "$me")"
	done
fi
echo "after: $(counters "$me")"
