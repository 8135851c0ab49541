#!/bin/bash
# SPDX-License-Identifier: MIT
#
# CPU seconds per thread of oci-layer (docs/performance.md, "Where a
# --level 1 build spends its time"): on a host shared with other work the
# wall time says little, the CPU of each thread much more.  Per run it
# prints each thread's CPU (by its name: oci-layer is the main thread,
# ocis-hasher, ocis-writer, ocis-gzipN), the total (rusage: user + sys),
# the wall time and the wall time a 2-core host would need at best,
# max(total / cores, busiest thread).
#
#   bench/threads.sh [BUILD_DIR] [OCI-LAYER OPTIONS...]
#                                 (default: the current directory, --level 1)
#   BENCH_INPUT, BENCH_OUT        as for bench/run.sh
#   BENCH_RUNS=N                  runs (default 3)
#   BENCH_BEFORE=BUILD_DIR        another build, run in turn with this one
#   BENCH_CORES=N                 the cores of the bound (default nproc)
#
# Thread times are sampled from /proc/PID/task/*/schedstat every 10 ms
# (the last sample before a thread ends is its time, so a thread's last
# 10 ms can be missing); the total is exact.
set -eu

. "$(dirname "$0")/lib.sh"
bench_setup "${1:-.}" oci-layer
shift || true
[ $# -gt 0 ] || set -- --level 1
runs=${BENCH_RUNS:-3}
cores=${BENCH_CORES:-$(nproc)}
bench_input

# run1 LABEL OCI-LAYER ARGS...: one run, one line
run1() {
	local label=$1
	shift
	python3 - "$label" "$cores" "$input" "$out/o.stream" "$@" <<-\EOF
	import os, resource, subprocess, sys, time
	label, cores, src, dst, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], \
	    sys.argv[5:]
	with open(src, "rb") as i, open(dst, "wb") as o:
	    t0 = time.monotonic()
	    p = subprocess.Popen(cmd, stdin=i, stdout=o)
	    cpu, name = {}, {}
	    while p.poll() is None:
	        try:
	            tids = os.listdir(f"/proc/{p.pid}/task")
	        except OSError:
	            tids = []
	        for t in tids:
	            try:
	                with open(f"/proc/{p.pid}/task/{t}/schedstat") as f:
	                    cpu[int(t)] = int(f.read().split()[0]) / 1e9
	                with open(f"/proc/{p.pid}/task/{t}/comm") as f:
	                    name[int(t)] = f.read().strip()
	            except OSError:
	                pass
	        time.sleep(0.01)
	    wall = time.monotonic() - t0
	ru = resource.getrusage(resource.RUSAGE_CHILDREN)
	total = ru.ru_utime + ru.ru_stime
	by = {}
	for t in sorted(cpu):	# unnamed threads (older builds): by start order
	    n, k = name[t], 1
	    while n in by:
	        n, k = f"{name[t]}#{k}", k + 1
	    by[n] = cpu[t]
	busiest = max(by.values()) if by else 0
	print(f"{label:8s} " + " ".join(f"{n}={v:.2f}" for n, v in by.items()) +
	      f"  total={total:.2f} wall={wall:.2f} bound={max(total / cores, busiest):.2f}"
	      f" rc={p.returncode}")
	EOF
}

before=${BENCH_BEFORE:+$(cd "$BENCH_BEFORE" && pwd)/oci-layer}
echo "# oci-layer $* on $((insize / 1000000)) MB, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
for ((i = 0; i < runs; i++)); do
	run1 this oci-layer "$@"
	[ -z "$before" ] || run1 before "$before" "$@"
done
