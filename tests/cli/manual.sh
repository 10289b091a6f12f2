#!/bin/sh
# The manual: `make install-man` into a temporary root gives every function
# seg.h declares a section-3 page (its own, or a .so link to the page whose
# NAME section lists it), every page renders without groff warnings, man(1)
# finds each function's page, and bash completion is installed.
set -u
T=$(mktemp -d "${TMPDIR:-/tmp}/manual-test.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
fail() {
	echo "FAIL: $*"
	exit 1
}
M=$T/usr/share/man
make -s --no-print-directory install-man DESTDIR="$T" PREFIX=/usr >"$T/log" 2>&1 ||
	fail "make install-man: $(cat "$T/log")"

# every function seg.h declares: the name before "(" on a declaration line
fns=$(sed -n 's/^[a-z_][a-z_ ]*[ *]\(seg_[a-z0-9_]*\)(.*/\1/p' seglib/seg.h | sort -u)
n=$(echo "$fns" | wc -w)
[ "$n" -ge 36 ] || fail "found only $n functions in seg.h: $fns"
for f in $fns; do
	page=$M/man3/$f.3
	[ -f "$page" ] || fail "no page for $f"
	if grep -q '^\.so ' "$page"; then
		[ "$(wc -l <"$page")" = 1 ] || fail "$f.3 is a link with more in it"
		target=$M/$(sed -n 's/^\.so //p' "$page")
		[ -f "$target" ] || fail "$f.3 links to a missing $target"
	else
		target=$page
	fi
	sed -n '/^\.SH NAME/,/\\-/p' "$target" | tr ',' '\n' | tr -d ' ' |
		sed 's/\\-.*//' | grep -qx "$f" ||
		fail "$f.3 leads to $target, whose NAME does not list $f"
	grep -q "$f(" "$target" || fail "$target has no synopsis of $f"
done
for p in "$M"/man1/segctl.1 "$M"/man3/*.3 "$M"/man8/segd.8; do
	grep -q '^\.so ' "$p" && continue
	LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$p" >/dev/null 2>"$T/warn" ||
		fail "man -l $p failed: $(cat "$T/warn")"
	[ -s "$T/warn" ] && fail "groff warns on $p: $(cat "$T/warn")"
done
if command -v man >/dev/null; then
	for f in seg_attach seg_import seg_metrics seg_zfree_remotev seg_open; do
		man -M "$M" -w "$f" >/dev/null 2>&1 || fail "man cannot find $f"
		man -M "$M" 3 "$f" 2>/dev/null | grep -q "$f" || fail "man $f shows no $f"
	done
else
	echo "SKIP: man(1) is not installed: only the files were checked"
fi
[ -f "$T/usr/share/bash-completion/completions/segctl" ] || fail "no bash completion installed"
bash -n "$T/usr/share/bash-completion/completions/segctl" || fail "the completion does not parse"
echo "manual: $n functions of seg.h, each with a page"
