#!/bin/bash
# The exporter's segd killed (SIGKILL) in the middle of a 64 MiB get: the
# get fails with an error naming the peer, within the deadline (segd -t) of
# the kill plus a margin, and the importer's segd keeps serving.  A first,
# undisturbed 64 MiB get shows how long the transfer takes; then gets run
# back to back for about 3 s and the kill comes a quarter of the way through.
. "$SEG_TOP/tests/rdma/lib.sh"
. "$SEG_TOP/tests/rdma/imp_lib.sh"
D=2000 margin=2500	# margin: slack for guest stalls on a loaded host
segd_start exp 7450 -t $D
segd_start imp 7451 -t $D
E=$A:7450
make_seg big exp 0x200000000000 0x4000000
sctl exp export big || die "export big"

imp imp zcbuf zc 0x300000000000 0x4100000 import "$E/big" \
	tget 0 0x4000000 zc >"$T/first.out" 2>&1 || die "first get: $(cat "$T/first.out")"
cat "$T/first.out"
full=$(sed -n 's/^tget ok after \([0-9]*\) ms$/\1/p' "$T/first.out")
[ -n "$full" ] || die "the undisturbed 64 MiB get failed: $(cat "$T/first.out")"

# gets back to back for at least 3 s, so that a transfer is surely under way
# when the kill comes (one get under TCG, hundreds on real hardware)
reps=$((1 + 3000 / (full + 1)))
imp imp zcbuf zc 0x300000000000 0x4100000 import "$E/big" say go \
	tgets $reps 0 0x4000000 zc >"$T/kill.out" 2>&1 &
ipid=$!
wait_until 60 grep -q '^tget start' "$T/kill.out" || die "no get: $(cat "$T/kill.out")"
t_start=$(sed -n 's/^tget start pid [0-9]* at \([0-9]*\)$/\1/p' "$T/kill.out")
# a quarter of the way through (one sleep: polling would slow the guest)
delay=$((reps * full / 4 - ($(ms_now) - t_start)))
[ "$delay" -gt 0 ] && sleep "$(awk -v d="$delay" 'BEGIN { printf "%.3f", d / 1000 }')"
t_kill=$(ms_now)
kill -KILL "${SEGD_PID[exp]}"
wait "$ipid" || die "imp_io: $(cat "$T/kill.out")"
cat "$T/kill.out"
grep -q '^tget ok' "$T/kill.out" && die "the get finished before the kill"
line=$(grep '^tget fail at ' "$T/kill.out") || die "no failure reported"
t_err=$(echo "$line" | sed 's/^tget fail at \([0-9]*\) .*/\1/')
msg=${line#*ms: }
dt=$((t_err - t_kill))
echo "killed $((t_kill - t_start)) ms into $reps get(s) of 64 MiB (one took $full ms)"
echo "error $dt ms after the kill (deadline $D ms): $msg"
[ "$dt" -lt $((D + margin)) ] || die "the error came $dt ms after the kill; deadline $D ms"
case "$msg" in
*"$E"*) ;;
*) die "the error does not name the peer $E: $msg" ;;
esac
sctl imp stats >/dev/null || die "the importer's segd does not answer after the kill"
kill -0 "${SEGD_PID[imp]}" || die "the importer's segd died"
