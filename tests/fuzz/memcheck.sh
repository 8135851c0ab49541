#!/bin/sh
# SPDX-License-Identifier: MIT
# Run the library's unit tests (tests/unit/) once under valgrind memcheck.
# Valgrind cannot run ASan binaries, so the unit tests are built again,
# without sanitizers, in a scratch copy of the tree (the tree itself is
# left alone).  A test passes when it passes and memcheck reports nothing:
# no invalid access, no use of uninitialised memory, no definite leak
# (--error-exitcode, --errors-for-leak-kinds=definite).
#
# usage: tests/fuzz/memcheck.sh
#   top_srcdir as in the tests (default: this tree); MEMCHECK_KEEP=1 keeps
#   the scratch copy.
# Prints "PASS: memcheck test-NAME" or "FAIL: memcheck test-NAME" per unit
# test; exits 0 when all passed, 1 when one failed, 77 without valgrind.
set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
top_srcdir=$(cd "$top_srcdir" && pwd)

if ! command -v valgrind >/dev/null 2>&1; then
	echo "SKIP: valgrind not found (Debian package valgrind)"
	exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/ocipipe-memcheck.XXXXXX") || exit 2
test -n "${MEMCHECK_KEEP:-}" || trap 'rm -rf "$work"' EXIT
cd "$top_srcdir" || exit 2
# The sources only (what git tracks, or everything but build products).
if test -d .git && command -v git >/dev/null 2>&1; then
	git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$work" ||
		exit 2
else
	cp -a . "$work/" || exit 2
	(cd "$work" && { test ! -f Makefile || make -s distclean >/dev/null 2>&1; }; rm -rf tests/fuzz/work)
fi
cd "$work" || exit 2
units=$(for c in tests/unit/test-*.c; do echo "tests/unit/$(basename "$c" .c)"; done)
echo "=== building the unit tests without sanitizers in $work"
if ! { { test -x configure || ./autogen.sh; } && ./configure -q --enable-werror &&
	make -s -j2 $units; } >build.log 2>&1; then
	tail -n 30 build.log | sed 's/^/# /'
	echo "FAIL: memcheck build"
	exit 1
fi

status=0
for u in $units; do
	name=$(basename "$u")
	if valgrind -q --tool=memcheck --error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite --show-leak-kinds=definite \
		--track-fds=no --log-file="$name.vg" "./$u" >"$name.tap" 2>&1 &&
		! grep -q '^not ok' "$name.tap" && ! test -s "$name.vg"; then
		echo "PASS: memcheck $name ($(grep -c '^ok' "$name.tap") tests)"
	else
		echo "FAIL: memcheck $name"
		sed 's/^/# /' "$name.vg" | head -n 60
		grep '^not ok' "$name.tap" | sed 's/^/# /'
		status=1
	fi
done
exit $status
