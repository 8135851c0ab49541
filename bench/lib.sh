# SPDX-License-Identifier: MIT
# What the benchmarks share (sourced by bench/run.sh and bench/push.sh):
#
#   bench_setup BUILD_DIR PROGRAM...   PATH with BUILD_DIR first; $out (the
#                                      scratch directory, BENCH_OUT or a
#                                      temporary one, removed at exit when
#                                      temporary); every PROGRAM must be found
#   bench_input                        $input: the input tar (BENCH_INPUT, a
#                                      rootfs directory, or /usr/bin and
#                                      /usr/include of this machine), in the
#                                      page cache; $insize its size
#   bench_cleanup                      what bench_setup's EXIT trap runs; a
#                                      script with more to clean up calls it
#                                      from its own trap

bench_cleanup() {
	[ -n "${BENCH_OUT:-}" ] || rm -rf "$out"
}

bench_setup() {
	local t
	build=$(cd "$1" && pwd)
	shift
	export PATH="$build:$PATH"
	out=${BENCH_OUT:-$(mktemp -d)}
	mkdir -p "$out"
	trap bench_cleanup EXIT
	for t in "$@"; do
		command -v "$t" >/dev/null || { echo "bench: $t not found" >&2; exit 1; }
	done
}

bench_input() {
	input="$out/input.tar"
	if [ -n "${BENCH_INPUT:-}" ]; then
		tar -C "$BENCH_INPUT" -cf "$input" .
	else
		# A rootfs-like mix from the machine itself: executables and
		# headers, about 500 MB on a Debian 12 build machine.
		tar -C /usr -cf "$input" bin include 2>/dev/null || true
	fi
	insize=$(stat -c %s "$input")
	cat "$input" > /dev/null	# warm the cache
}
