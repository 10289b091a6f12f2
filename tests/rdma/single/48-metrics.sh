#!/bin/bash
# Per-peer counters (segctl stats --prometheus, -j, and plain) after known
# traffic from node "imp" to node "exp": one import with 10 gets of 4 KiB
# (imp_io, through segd), two remote frees returning 3 and 2 kmsg buffers, one refused
# remote free (a double free), and 4 signals (zio_io): 5 imports in all.
# Both sides must count exactly those operations and messages; every
# metric has HELP and TYPE lines and every sample parses.
. "$SEG_TOP/tests/rdma/lib.sh"
start_exp_imp
make_seg d exp 0x210000000000 0x100000
sctl exp export d || die "export d"
sctl exp create k || die "create k"
sctl exp ctl k "kmsg 0x220000000000 0x10000" || die "ctl k"
sctl exp export k || die "export k"
addr=()
for i in 1 2 3 4 5; do
	addr+=("$(sctl exp zalloc k 2048)") || die "zalloc $i"
done

# SEG_DIRECT=0: the gets go through segd, which counts them (on the direct
# path they are the process's own work, counted by seg_stats_local)
SEG_DIRECT=0 imp imp import "$E/d" tgets 10 0 4096 bounce >"$T/gets" || die "10 gets: $(cat "$T/gets")"
grep -q "tget ok" "$T/gets" || die "the gets: $(cat "$T/gets")"
zio imp rfree "$E/k" "${addr[0]}" "${addr[1]}" "${addr[2]}" || die "rfree of 3"
zio imp rfree "$E/k" "${addr[3]}" "${addr[4]}" || die "rfree of 2"
out=$(zio imp rfree "$E/k" "${addr[0]}")
[ $? = 3 ] || die "a double remote free was not refused: $out"
zio imp sigpost "$E/k" 4 || die "4 signals"
# the importers' ends reach the exporter as UNIMPORTs
no_imports() { [ "$(stat_of exp exported_imports)" = 0 ]; }
wait_until 20 no_imports || die "exp still counts imports of its exports"

sctl imp stats --prometheus >"$T/imp.prom" || die "imp's stats --prometheus"
sctl exp stats --prometheus >"$T/exp.prom" || die "exp's stats --prometheus"
metric() {	# FILE SAMPLE: the value of SAMPLE (name and labels) in FILE
	awk -v k="$2" '$1 == k { print $2 }' "$1"
}
expect() {	# NODE SAMPLE VALUE
	local got
	got=$(metric "$T/$1.prom" "$2")
	[ "$got" = "$3" ] || die "$1: $2 is '${got:-absent}', want $3"
}
# the importer's view of exp: operations, their bytes, messages
expect imp 'segd_peer_ops_total{peer="exp",op="import"}' 5
expect imp 'segd_peer_op_errors_total{peer="exp",op="import"}' 0
expect imp 'segd_peer_ops_total{peer="exp",op="get"}' 10
expect imp 'segd_peer_op_bytes_total{peer="exp",op="get"}' 40960
expect imp 'segd_peer_ops_total{peer="exp",op="put"}' 0
expect imp 'segd_peer_ops_total{peer="exp",op="free"}' 3
expect imp 'segd_peer_op_errors_total{peer="exp",op="free"}' 1
expect imp 'segd_peer_freed_buffers_total{peer="exp"}' 5
expect imp 'segd_peer_ops_total{peer="exp",op="signal"}' 4
expect imp 'segd_peer_ops_total{peer="exp",op="list"}' 0
expect imp 'segd_peer_op_latency_seconds_count{peer="exp",op="get"}' 10
expect imp 'segd_peer_op_latency_seconds_count{peer="exp",op="free"}' 2
expect imp 'segd_peer_messages_sent_total{peer="exp",type="import"}' 5
expect imp 'segd_peer_messages_received_total{peer="exp",type="import_rep"}' 5
expect imp 'segd_peer_messages_sent_total{peer="exp",type="unimport"}' 5
expect imp 'segd_peer_messages_sent_total{peer="exp",type="free"}' 3
expect imp 'segd_peer_messages_sent_total{peer="exp",type="signal"}' 4
expect imp 'segd_peer_messages_received_total{peer="exp",type="ack"}' 6
expect imp 'segd_peer_messages_received_total{peer="exp",type="error"}' 1
expect imp 'segd_peer_messages_sent_total{peer="exp",type="hello"}' 1
expect imp 'segd_peer_messages_received_total{peer="exp",type="hello"}' 1
expect imp 'segd_peer_connections_total{peer="exp"}' 1
expect imp 'segd_peer_reconnects_total{peer="exp"}' 0
expect imp 'segd_peer_connection_errors_total{peer="exp"}' 0
# the exporter's view of imp: the same messages the other way, no operations
expect exp 'segd_peer_messages_received_total{peer="imp",type="import"}' 5
expect exp 'segd_peer_messages_sent_total{peer="imp",type="import_rep"}' 5
expect exp 'segd_peer_messages_received_total{peer="imp",type="unimport"}' 5
expect exp 'segd_peer_messages_received_total{peer="imp",type="free"}' 3
expect exp 'segd_peer_messages_received_total{peer="imp",type="signal"}' 4
expect exp 'segd_peer_messages_sent_total{peer="imp",type="ack"}' 6
expect exp 'segd_peer_messages_sent_total{peer="imp",type="error"}' 1
expect exp 'segd_peer_ops_total{peer="imp",op="get"}' 0
expect exp 'segd_peer_connections_total{peer="imp"}' 1
[ -n "$(metric "$T/imp.prom" 'segd_peer_op_latency_seconds{peer="exp",op="get",quantile="0.99"}')" ] ||
	die "no p99 of the gets"

# every family has HELP and TYPE; every sample parses (name, labels, value)
python3 - "$T/imp.prom" "$T/exp.prom" <<'PY' || die "the exposition format"
import re, sys
sample = re.compile(r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*"(,[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*")*)?\})? (?P<value>\S+)$')
for path in sys.argv[1:]:
    helps, types = set(), {}
    for line in open(path):
        line = line.rstrip("\n")
        if line.startswith("# HELP "):
            helps.add(line.split(" ")[2])
        elif line.startswith("# TYPE "):
            f = line.split(" ")
            assert f[3] in ("counter", "gauge", "summary"), line
            types[f[2]] = f[3]
        else:
            m = sample.match(line)
            assert m, "unparsable: " + line
            float(m.group("value"))
            name = m.group("name")
            base = re.sub(r"_(sum|count)$", "", name) if name not in types else name
            assert base in types and base in helps, "no HELP/TYPE: " + line
PY
# the same numbers in JSON and in the plain output
sctl imp -j stats | python3 -c '
import json, sys
d = json.load(sys.stdin)
v = [m["value"] for m in d["metrics"] if m["name"] == "segd_peer_ops_total"
     and m["labels"] == {"peer": "exp", "op": "get"}]
assert v == [10], v
assert d["imports"] == 0, d' || die "imp's stats -j"
sctl imp stats | grep -qx 'segd_peer_ops_total{peer="exp",op="get"} 10' ||
	die "imp's plain stats lack the gets"
sctl imp stats | grep -q '^bounce_bytes ' || die "imp's plain stats lost bounce_bytes"
echo "metrics: imp counted 5 imports, 10 gets, 3 frees (1 refused), 4 signals"
