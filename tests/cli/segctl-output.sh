#!/bin/sh
# segctl's output for people and programs, against a real segd on a
# temporary socket (the local tier runs this; SEG_BUILD names the build):
#   -j: ls, stat, peers and stats print JSON that python3's json module
#       parses, with the schema of segctl(1);
#   stats --prometheus: every sample parses (name, labels, value) and every
#       metric has HELP and TYPE lines; plain stats keeps its lines;
#   a header line on a terminal only (a pty made with script(1));
#   progress on a terminal's stderr for more than 64 MiB, never with -q,
#       for small transfers, or when stderr is not a terminal;
#   write and read through one descriptor move the bytes exactly;
#   bash completion offers commands, options and segment names.
# segd runs under $SEGD_WRAPPER when it is set (make check-valgrind) and
# must exit 0 at the end.
set -u
B=${SEG_BUILD:-build}
case $B in /*) ;; *) B=$(pwd)/$B ;; esac
SEGCTL=$B/segctl
T=$(mktemp -d "${TMPDIR:-/tmp}/segctl-test.XXXXXX") || exit 1
STATE=$(mktemp -d /dev/shm/segctl-test.XXXXXX 2>/dev/null || mktemp -d "$T/st.XXXXXX")
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid"
	rm -rf "$T" "$STATE"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	[ -f "$T/segd.log" ] && sed 's/^/segd: /' "$T/segd.log"
	exit 1
}
export SEGD_SOCKET="$T/segd.sock"
command -v python3 >/dev/null || fail "python3 is missing (tests/setup.sh installs it)"
command -v script >/dev/null || fail "script(1) is missing (package bsdutils)"

${SEGD_WRAPPER:-} "$B/segd" -f -d "$STATE/state" 2>"$T/segd.log" &
pid=$!
i=0
until "$SEGCTL" ls >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -gt 600 ] && fail "segd did not start"
	sleep 0.1
done

"$SEGCTL" create alpha 0640 && "$SEGCTL" ctl alpha 'va 0x10000000 0x100000' ||
	fail "create alpha"
"$SEGCTL" create beta || fail "create beta"

# ---- JSON ----
"$SEGCTL" -j ls >"$T/ls.json" || fail "segctl -j ls"
python3 - "$T/ls.json" "$(id -u)" <<'PY' || fail "segctl -j ls: $(cat "$T/ls.json")"
import json, sys
v = json.load(open(sys.argv[1]))
assert isinstance(v, list) and len(v) == 2, v
a = [e for e in v if e["name"] == "alpha"][0]
b = [e for e in v if e["name"] == "beta"][0]
keys = {"name", "verb", "address", "length", "owner", "uid", "gid", "mode", "attaches"}
assert set(a) == keys and set(b) == keys, (a, b)
assert a["verb"] == "va" and a["address"] == 0x10000000 and a["length"] == 0x100000, a
assert a["mode"] == "0640" and a["uid"] == int(sys.argv[2]) and a["attaches"] == 0, a
assert b["verb"] == "-" and b["address"] == 0 and b["mode"] == "0660", b
PY
"$SEGCTL" -j stat alpha >"$T/stat.json" || fail "segctl -j stat"
python3 -c 'import json, sys
s = json.load(open(sys.argv[1]))
assert s["name"] == "alpha" and s["length"] == 0x100000, s' "$T/stat.json" ||
	fail "segctl -j stat: $(cat "$T/stat.json")"
"$SEGCTL" -j peers >"$T/peers.json" || fail "segctl -j peers"
python3 -c 'import json, sys
assert json.load(open(sys.argv[1])) == []' "$T/peers.json" ||
	fail "segctl -j peers without peers: $(cat "$T/peers.json")"
"$SEGCTL" -j stats >"$T/stats.json" || fail "segctl -j stats"
python3 - "$T/stats.json" <<'PY' || fail "segctl -j stats: $(cat "$T/stats.json")"
import json, sys
d = json.load(open(sys.argv[1]))
for k in ("bounce_bytes", "zerocopy_bytes", "exports", "exported_imports", "imports"):
    assert d[k] == 0, (k, d)
names = {m["name"]: m for m in d["metrics"]}
assert names["segd_imports"] == {"name": "segd_imports", "labels": {}, "value": 0}, names
assert "segd_bounce_bytes_total" in names, names
PY
"$SEGCTL" -j stat nosuch >"$T/out" 2>&1 && fail "stat of a missing segment succeeded"
grep -q "segment 'nosuch' does not exist" "$T/out" || fail "its error: $(cat "$T/out")"

# ---- Prometheus text; plain stats ----
"$SEGCTL" stats --prometheus >"$T/prom" || fail "stats --prometheus"
python3 - "$T/prom" <<'PY' || fail "the exposition format: $(cat "$T/prom")"
import re, sys
sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')
helps, types, n = set(), set(), 0
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if line.startswith("# HELP "):
        helps.add(line.split(" ")[2])
    elif line.startswith("# TYPE "):
        f = line.split(" ")
        assert len(f) == 4 and f[3] in ("counter", "gauge", "summary"), line
        types.add(f[2])
    else:
        m = sample.match(line)
        assert m, "unparsable: " + line
        float(m.group(3))
        assert m.group(1) in types and m.group(1) in helps, "no HELP/TYPE: " + line
        n += 1
assert n == 6, n
assert helps == types, (helps ^ types)
assert "segd_peer_ops_total" in types and "segd_peer_op_latency_seconds" in types
PY
"$SEGCTL" stats >"$T/plain" || fail "stats"
for k in bounce_bytes zerocopy_bytes exports exported_imports imports; do
	grep -qx "$k 0" "$T/plain" || fail "plain stats lack '$k 0': $(cat "$T/plain")"
done
"$SEGCTL" stats --bogus >/dev/null 2>&1 && fail "stats --bogus was accepted"

# ---- header lines: on a terminal only ----
"$SEGCTL" ls >"$T/ls.plain" || fail "ls"
[ "$(wc -l <"$T/ls.plain")" = 2 ] || fail "ls to a file: $(cat "$T/ls.plain")"
grep -q '^NAME' "$T/ls.plain" && fail "ls printed a header to a file"
script -qec "$SEGCTL ls" /dev/null </dev/null | tr -d '\r' >"$T/ls.tty"
[ "$(head -n 1 "$T/ls.tty")" = "NAME VERB ADDRESS LENGTH OWNER MODE ATTACHES" ] ||
	fail "ls on a terminal: $(cat "$T/ls.tty")"
grep -q '^alpha va 0x10000000 0x100000 ' "$T/ls.tty" || fail "ls on a terminal: $(cat "$T/ls.tty")"
script -qec "$SEGCTL peers" /dev/null </dev/null | tr -d '\r' >"$T/peers.tty"
grep -q '^NODE ' "$T/peers.tty" || fail "peers on a terminal: $(cat "$T/peers.tty")"
script -qec "$SEGCTL -j ls" /dev/null </dev/null | tr -d '\r' >"$T/lsj.tty"
python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$T/lsj.tty" ||
	fail "-j ls on a terminal is not only JSON: $(cat "$T/lsj.tty")"

# ---- write and read: exact bytes; progress on a terminal's stderr ----
"$SEGCTL" create big && "$SEGCTL" ctl big 'va 0x20000000 0x5800000' || fail "create big"
head -c 83886080 /dev/urandom >"$T/in" || fail "random input"
"$SEGCTL" write big <"$T/in" 2>"$T/err" || fail "write big: $(cat "$T/err")"
[ -s "$T/err" ] && fail "write printed to a stderr that is not a terminal: $(cat "$T/err")"
"$SEGCTL" read big 0 83886080 >"$T/back" 2>"$T/err" || fail "read big"
[ -s "$T/err" ] && fail "read printed to a stderr that is not a terminal: $(cat "$T/err")"
cmp -s "$T/in" "$T/back" || fail "read gave other bytes than write put"
printf 'tail' | "$SEGCTL" write big 0x57ffffc || fail "write of the last 4 bytes"
[ "$("$SEGCTL" read big 0x57ffffc)" = tail ] || fail "read of the last 4 bytes"
printf 'toolong' | "$SEGCTL" write big 0x57ffffc 2>"$T/err" && fail "a write past the end succeeded"
grep -q "input runs past the end of the segment; 4 bytes written" "$T/err" || fail "its error: $(cat "$T/err")"
"$SEGCTL" write big 0x5800000 </dev/null 2>"$T/err" && fail "a write at the end succeeded"
grep -q "starts at or past the end of segment 'big'" "$T/err" || fail "its error: $(cat "$T/err")"

script -qec "$SEGCTL read big 0 83886080 >$T/back2" /dev/null </dev/null | tr '\r' '\n' >"$T/tty"
grep -q '^83886080 bytes (80.0 MiB) copied, .* MiB/s, 100%, 0.0 s left' "$T/tty" ||
	fail "read on a terminal: no final progress line: $(cat "$T/tty")"
cmp -s "$T/in" "$T/back2" || fail "the read under a pty gave other bytes"
script -qec "$SEGCTL write big <$T/in" /dev/null </dev/null | tr '\r' '\n' >"$T/tty"
grep -q '^83886080 bytes (80.0 MiB) copied, .* MiB/s, 100%, ' "$T/tty" ||
	fail "write from a file on a terminal: $(cat "$T/tty")"
script -qec "cat $T/in | $SEGCTL write big" /dev/null </dev/null | tr '\r' '\n' >"$T/tty"
grep -q '^83886080 bytes (80.0 MiB) copied, .* MiB/s' "$T/tty" ||
	fail "write from a pipe on a terminal: $(cat "$T/tty")"
grep -q 'left' "$T/tty" && fail "write from a pipe claimed to know the time left: $(cat "$T/tty")"
script -qec "$SEGCTL -q read big 0 83886080 >/dev/null" /dev/null </dev/null >"$T/tty"
[ -s "$T/tty" ] && fail "-q read showed: $(cat "$T/tty")"
script -qec "$SEGCTL read big 0 67108864 >/dev/null" /dev/null </dev/null >"$T/tty"
[ -s "$T/tty" ] && fail "a read of exactly 64 MiB showed: $(cat "$T/tty")"
# ---- bash completion: commands, segment names from segctl ls ----
complete_words() {	# WORDS...: what completing the last word offers
	PATH=$B:$PATH bash -c '. "$0"; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"; _segctl; printf "%s\n" "${COMPREPLY[@]}"' \
		cli/segctl.bash "$@" | sort | tr '\n' ' '
}
[ "$(complete_words segctl st)" = "stat stats " ] || fail "completing 'st': $(complete_words segctl st)"
[ "$(complete_words segctl read '')" = "alpha beta big " ] ||
	fail "completing read's segment: $(complete_words segctl read '')"
[ "$(complete_words segctl -s "$SEGD_SOCKET" rm a)" = "alpha " ] ||
	fail "completing rm a with -s: $(complete_words segctl -s "$SEGD_SOCKET" rm a)"
[ "$(complete_words segctl stats --p)" = "--prometheus " ] ||
	fail "completing stats --p: $(complete_words segctl stats --p)"
[ "$(complete_words segctl -)" = "-j -q -s " ] || fail "completing '-': $(complete_words segctl -)"

# segd ends cleanly (under $SEGD_WRAPPER too: valgrind's errors are 99)
kill "$pid" || fail "segd is gone"
wait "$pid"
st=$?
pid=
[ "$st" = 0 ] || fail "segd exited with status $st at SIGTERM (86: ASan, 99: valgrind)"

echo "segctl output: JSON, Prometheus text, headers and progress as documented"
exit 0
