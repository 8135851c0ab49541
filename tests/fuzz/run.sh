#!/bin/sh
# SPDX-License-Identifier: MIT
# Build the libFuzzer targets with clang (-fsanitize=fuzzer,address,
# undefined) and run each for a bounded time on a seed corpus generated
# from the tests; fail when a target crashes, leaks, hits undefined
# behaviour, times out or runs out of memory.
#
# usage: tests/fuzz/run.sh [TARGET...]
#   TARGET is one of layer stream layerdesc config manifest index auth (default:
#   all of them).  Environment:
#     FUZZ_SECONDS   time per target (default 45)
#     FUZZ_JOBS      targets run at the same time (default: CPUs, at most 4)
#     FUZZ_WORK      work directory (default $top_builddir/tests/fuzz/work):
#                    build/, seeds/, corpus/<target>/ (kept between runs, so
#                    a second run starts where the first stopped),
#                    artifacts/ (crash inputs), logs/
#     top_srcdir, top_builddir   as in the tests; top_builddir must be
#                    configured (config.h) and built (the seed generator runs
#                    the programs)
#     CC             clang (default: clang)
# Prints "PASS: fuzz-TARGET ..." or "FAIL: fuzz-TARGET ..." per target and
# exits 0 when all passed, 1 when one failed, 77 when clang or libFuzzer is
# missing.  Every regression input in tests/fuzz/regressions/TARGET/ is run
# once first (and is a seed).  See docs/reliability.md.
set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
top_srcdir=$(cd "$top_srcdir" && pwd)
top_builddir=$(cd "$top_builddir" && pwd)
: "${FUZZ_SECONDS:=45}"
: "${FUZZ_WORK:=$top_builddir/tests/fuzz/work}"
: "${CC:=clang}"
if test -z "${FUZZ_JOBS:-}"; then
	FUZZ_JOBS=$(nproc 2>/dev/null || echo 1)
	test "$FUZZ_JOBS" -gt 4 && FUZZ_JOBS=4
fi
export top_srcdir top_builddir

ALL="layer stream layerdesc config manifest index auth"
targets=${*:-$ALL}
for t in $targets; do
	case " $ALL " in
	*" $t "*) ;;
	*) echo "run.sh: unknown target '$t' (one of: $ALL)" >&2; exit 2 ;;
	esac
done

if ! command -v "$CC" >/dev/null 2>&1; then
	echo "SKIP: $CC not found (Debian: apt-get install clang libclang-rt-14-dev)"
	exit 77
fi
if ! test -f "$top_builddir/config.h"; then
	echo "run.sh: $top_builddir is not configured (run ./configure and make first)" >&2
	exit 2
fi

mkdir -p "$FUZZ_WORK" || exit 2
FUZZ_WORK=$(cd "$FUZZ_WORK" && pwd)
build=$FUZZ_WORK/build
mkdir -p "$build/obj" "$FUZZ_WORK/logs" "$FUZZ_WORK/artifacts" || exit 2

probe=$build/probe.c
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' >"$probe"
if ! "$CC" -fsanitize=fuzzer,address,undefined "$probe" -o "$build/probe" 2>"$build/probe.err"; then
	echo "SKIP: $CC cannot build libFuzzer targets (Debian: apt-get install libclang-rt-14-dev)"
	sed 's/^/# /' "$build/probe.err"
	exit 77
fi

# --- build
PKGS="libarchive libzstd zlib liblzma yajl libcrypto libdeflate libxxhash libcurl"
# ISA-L is optional: link it when the build being fuzzed was configured with it
grep -q '^#define HAVE_ISAL 1' "$top_builddir/config.h" && PKGS="$PKGS libisal"
deps_cflags=$(pkg-config --cflags $PKGS) || exit 2
deps_libs=$(pkg-config --libs $PKGS) || exit 2
deps_libs="$deps_libs -lbz2"	# Debian's libbz2-dev has no pkg-config file
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
cflags="-g -O1 -fno-omit-frame-pointer -std=gnu11 -pthread $san
	-I$top_builddir -I$top_srcdir/include -I$top_srcdir/src $deps_cflags"

echo "=== building the fuzz targets in $build"
objs=
for src in "$top_srcdir"/src/lib/*.c; do
	o=$build/obj/$(basename "$src" .c).o
	# shellcheck disable=SC2086
	$CC $cflags -fsanitize=fuzzer-no-link -c "$src" -o "$o" || { echo "FAIL: build $src"; exit 1; }
	objs="$objs $o"
done
fuzz_build() {
	# fuzz_build NAME SOURCE [CFLAGS...]
	_name=$1 _src=$2
	shift 2
	# shellcheck disable=SC2086
	$CC $cflags -fsanitize=fuzzer "$@" "$_src" $objs $deps_libs -lpthread \
		-o "$build/fuzz-$_name" || { echo "FAIL: build fuzz-$_name"; exit 1; }
}
fuzz_build layer "$top_srcdir/tests/fuzz/fuzz-layer.c"
fuzz_build stream "$top_srcdir/tests/fuzz/fuzz-stream.c"
fuzz_build layerdesc "$top_srcdir/tests/fuzz/fuzz-json.c" -DFUZZ_READER=1
fuzz_build config "$top_srcdir/tests/fuzz/fuzz-json.c" -DFUZZ_READER=2
fuzz_build manifest "$top_srcdir/tests/fuzz/fuzz-json.c" -DFUZZ_READER=3
fuzz_build index "$top_srcdir/tests/fuzz/fuzz-json.c" -DFUZZ_READER=4
fuzz_build auth "$top_srcdir/tests/fuzz/fuzz-auth.c"

echo "=== seed corpus"
rm -rf "$FUZZ_WORK/seeds"
sh "$top_srcdir/tests/fuzz/mkseeds.sh" "$FUZZ_WORK/seeds" || { echo "FAIL: seed corpus"; exit 1; }

# Options: leaks are crashes (detect_leaks); UBSan aborts; a run over 10 s
# (a hang or a quadratic path) or over 2 GiB is a failure too.
ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1:abort_on_error=0
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS UBSAN_OPTIONS

max_len() {
	case $1 in
	layer|stream) echo 131072 ;;
	*) echo 65536 ;;
	esac
}

run_one() {
	_t=$1
	_log=$FUZZ_WORK/logs/fuzz-$_t.log
	_res=$FUZZ_WORK/logs/fuzz-$_t.result
	_bin=$build/fuzz-$_t
	_reg=$top_srcdir/tests/fuzz/regressions/$_t
	: >"$_log"
	# 1. the regression inputs, once each
	if test -d "$_reg" && ls "$_reg"/* >/dev/null 2>&1; then
		if ! "$_bin" -runs=1 -rss_limit_mb=2048 -timeout=10 "$_reg"/* >>"$_log" 2>&1; then
			echo "FAIL: fuzz-$_t: a regression input fails again (see $_log)" >"$_res"
			return
		fi
	fi
	# 2. fuzzing for FUZZ_SECONDS
	mkdir -p "$FUZZ_WORK/corpus/$_t"
	_start=$(date +%s)
	"$_bin" -max_total_time="$FUZZ_SECONDS" -max_len="$(max_len "$_t")" \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$FUZZ_WORK/artifacts/fuzz-$_t-" \
		"$FUZZ_WORK/corpus/$_t" "$FUZZ_WORK/seeds/$_t" >>"$_log" 2>&1
	_rc=$?
	_secs=$(($(date +%s) - _start))
	_runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$_log" | tail -n 1)
	_cov=$(grep -o 'cov: [0-9]*' "$_log" | tail -n 1 | cut -d" " -f2)
	_ft=$(grep -o 'ft: [0-9]*' "$_log" | tail -n 1 | cut -d" " -f2)
	_corp=$(ls "$FUZZ_WORK/corpus/$_t" | wc -l)
	_what="${_runs:-?} runs in ${_secs}s, cov ${_cov:-?}, ft ${_ft:-?}, corpus $_corp"
	if test "$_rc" = 0 && ! ls "$FUZZ_WORK/artifacts/fuzz-$_t-"* >/dev/null 2>&1; then
		echo "PASS: fuzz-$_t: $_what" >"$_res"
	else
		echo "FAIL: fuzz-$_t: exit $_rc, $_what; inputs: $(ls "$FUZZ_WORK/artifacts/fuzz-$_t-"* 2>/dev/null | tr '\n' ' ')(log $_log)" >"$_res"
	fi
}

echo "=== fuzzing: ${FUZZ_SECONDS}s per target, $FUZZ_JOBS at a time"
rm -f "$FUZZ_WORK"/artifacts/* "$FUZZ_WORK"/logs/*.result
running=0
for t in $targets; do
	run_one "$t" &
	running=$((running + 1))
	if test "$running" -ge "$FUZZ_JOBS"; then
		wait
		running=0
	fi
done
wait

status=0
for t in $targets; do
	res=$FUZZ_WORK/logs/fuzz-$t.result
	if test -f "$res"; then
		cat "$res"
	else
		echo "FAIL: fuzz-$t: no result"
	fi
	if ! grep -q '^PASS' "$res" 2>/dev/null; then
		status=1
		# The report of the failure, for CI logs.
		grep -E -A30 '^==[0-9]+==ERROR|runtime error|invariant failed|^SUMMARY' \
			"$FUZZ_WORK/logs/fuzz-$t.log" 2>/dev/null | head -n 60 | sed 's/^/# /'
	fi
done
exit $status
