#!/bin/bash
# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# A lossy, slow link: both guests send through a netem qdisc of 1% loss and
# 10 ms delay with 2 ms jitter, in order (netem reorders jittered packets
# unless it paces them: "rate 1gbit", far above what the guests move; a
# reordering link is another test: rxe's go-back-N would resend its whole
# window at each swap).  Under it node 2 puts and gets NETEM_MIB (default 1)
# MiB of a segment of node 1 on the direct data path (a timed put and get,
# then a put of known bytes and a get of them into a file) while a
# remote-free stream runs beside it (50-zio-pipeline's producer on node 1,
# consumer on node 2).  Everything must complete correctly: the bytes node 2
# gets back and node 1 holds are the ones put, and the producer and
# consumer agree on the count and checksums of the buffers, each free
# having come back exactly once.  Why not 64 MiB: under this netem rxe in
# the TCG guests moves about 0.1-0.5 MB/s (perftest's own ib_write_bw 0.19
# MB/s, ib_read_bw 0.50 MB/s at 64 KiB; a 4 MiB put took 41 s; another run:
# perftest 0.12 and 1.06 MB/s, our 1 MiB put 20 s and get 28 s), so 64 MiB
# would take many minutes; NETEM_MIB=64 runs it, with a SEGD_DEADLINE long
# enough for one 64 MiB operation.
# perftest's ib_write_bw and ib_read_bw run under the same netem first (32
# messages of 64 KiB each, some 20 s at those rates), a control printed
# beside our figures.  Not about deadlines: segd's default
# of the tier (SEGD_DEADLINE) is used, and printed.
. "$SEG_TOP/tests/rdma/lib.sh"
S=$SOFTROCE_SYNC
me=node$SOFTROCE_NODE
mib=${NETEM_MIB:-1} total=${NETEM_FREES:-100}
len=$((mib * 1048576)) bsize=16384 out=48 slots=64 ZIO_LIMIT=230
spec=(loss 1% delay 10ms 2ms rate 1gbit)
pair_fail_fast
netem_need

# mbs BYTES MS: MB/s (perftest's MB, 2^20 bytes)
mbs() {
	awk -v b="$1" -v ms="$2" 'BEGIN { printf "%.2f", b / 1048576 / (ms > 0 ? ms / 1000 : 0.001) }'
}
start_segd "$me" 7450
echo "deadline: segd -t ${SEGD_DEADLINE:-default} ms"
netem "${spec[@]}"
softroce_barrier netem-on 60 || die "node $((3 - SOFTROCE_NODE)) did not set its netem"

pair_perftest ib_write_bw 7481 65536 32
wbw=$PERF_MBS
pair_perftest ib_read_bw 7482 65536 32
rbw=$PERF_MBS
[ "$SOFTROCE_NODE" = 2 ] &&
	echo "control under netem, 64 KiB: ib_write_bw ${wbw:-failed} MB/s, ib_read_bw ${rbw:-failed} MB/s (${SECONDS}s)"

if [ "$SOFTROCE_NODE" = 1 ]; then
	make_seg pseg "$me" 0x200000000000 $len
	sctl "$me" export pseg node2:rw || die "export pseg"
	sctl "$me" create pipe || die "create pipe"
	sctl "$me" ctl pipe "umsg 0x300000000000 0x400000" || die "ctl pipe"
	sctl "$me" export pipe || die "export pipe"
	bg zio "$me" produce pipe -N "$total" -s $bsize -k $out -R $slots -f "$S/ring" \
		>"$T/prod.out" 2>&1
	ppid=$!
	softroce_signal exported
	await consumed 240 || die "node 2's consumer did not finish"
	wait "$ppid" || die "producer: $(cat "$T/prod.out")"
	cat "$T/prod.out"
	p=$(sed -n 's/^producer: \([0-9]*\) buffers .* sum \(0x[0-9a-f]*\) xor \(0x[0-9a-f]*\),.*/\1 \2 \3/p' "$T/prod.out")
	c=$(sed -n 's/^consumer: \([0-9]*\) buffers .* sum \(0x[0-9a-f]*\) xor \(0x[0-9a-f]*\),.*/\1 \2 \3/p' "$S/cons.out")
	[ -n "$p" ] && [ "$p" = "$c" ] || die "producer (${p:-?}) and consumer (${c:-?}) disagree"
	[ "${p%% *}" = "$total" ] || die "${p%% *} buffers, not $total"
	echo "node 1: $total remote frees, each once (count and checksums agree)"
	await written 240 || die "node 2 did not finish its puts and gets"
	sum=$(sctl "$me" read pseg | md5sum) || die "read pseg"
	[ "${sum%% *}" = "$(cat "$S/sum")" ] || die "node 1's segment is not what node 2 put"
	echo "node 1: the $mib MiB segment holds what node 2 put"
	softroce_signal checked
else
	await exported 120 || die "node 1 did not export"
	P=$SOFTROCE_PEER:7450
	make_seg zc "$me" 0x300000000000 $((out * bsize))
	bg zio "$me" consume "$P/pipe" -f "$S/ring" -z zc >"$T/cons.out" 2>&1
	cpid=$!
	head -c $len /dev/urandom >"$T/data"
	imp "$me" zcbuf buf 0x400000000000 $((len + 4096)) import "$P/pseg" \
		tput 0 $len zc tget 0 $len zc \
		putf 0 "$T/data" zc getf 0 $len "$T/back" zc lstats 2>&1 |
		tee "$T/imp.out" | grep --line-buffered -E '^(tput|tget) |^direct_'
	[ "${PIPESTATUS[0]}" = 0 ] || die "imp_io under netem: $(cat "$T/imp.out")"
	echo "puts and gets done (${SECONDS}s)"
	cmp "$T/data" "$T/back" || die "the bytes got back differ from the ones put"
	md5sum <"$T/data" | cut -d' ' -f1 >"$S/sum"
	rm -f "$T/back"
	wait "$cpid"
	crc=$?
	cat "$T/cons.out"
	echo "remote-free stream done (${SECONDS}s)"
	cp "$T/cons.out" "$S/cons.out"
	softroce_signal consumed
	[ "$crc" = 0 ] || die "consumer exit $crc"
	softroce_signal written
	put_ms=$(sed -n 's/^tput ok after \([0-9]*\) ms$/\1/p' "$T/imp.out" | tail -n 1)
	get_ms=$(sed -n 's/^tget ok after \([0-9]*\) ms$/\1/p' "$T/imp.out" | tail -n 1)
	if grep -q '^t[a-z]* fail' "$T/imp.out" || [ -z "$put_ms" ] || [ -z "$get_ms" ]; then
		die "a timed put or get failed: $(cat "$T/imp.out")"
	fi
	echo "under netem ${spec[*]} (both ways):"
	echo "  put: perftest ib_write_bw 64 KiB ${wbw:-failed} MB/s; segd put $mib MiB" \
		"$put_ms ms, $(mbs "$len" "$put_ms") MB/s"
	echo "  get: perftest ib_read_bw 64 KiB ${rbw:-failed} MB/s; segd get $mib MiB" \
		"$get_ms ms, $(mbs "$len" "$get_ms") MB/s"
	await checked 240 || die "node 1 did not confirm"
fi
