#!/bin/bash
# SPDX-License-Identifier: MIT
#
# How many of oci-layer's threads are there to run, over time
# (docs/performance.md, "--level 1, round four").  On 2 cores the wall
# time can reach total CPU / 2 only while at least 2 of its threads are
# running or runnable; this records the scheduler's switches and wakeups
# (perf sched record, as root or with perf_event_paranoid <= 1) and
# prints the time with 0, 1, 2 ... threads running or runnable, the core
# seconds a 2-core host would leave idle (time below 2, weighted), and
# per thread its time running, runnable (waiting for a CPU) and asleep.
# A runnable thread is one the host could run, so the counts mean
# something on a loaded host too, unlike the wall time.
#
#   bench/concurrency.sh [BUILD_DIR] [OCI-LAYER OPTIONS...]
#                                 (default: the current directory, --level 1)
#   BENCH_INPUT, BENCH_OUT        as for bench/run.sh
#   BENCH_RUNS=N                  runs (default 3)
set -eu

. "$(dirname "$0")/lib.sh"
bench_setup "${1:-.}" oci-layer perf
shift || true
[ $# -gt 0 ] || set -- --level 1
runs=${BENCH_RUNS:-3}
bench_input

report() {
	perf script -i "$1" -F tid,cpu,time,event,trace 2>/dev/null | python3 -c '
import collections, re, sys
ours = ("oci-layer", "ocis-")
state, names, per = {}, {}, collections.defaultdict(collections.Counter)
hist, prev = collections.Counter(), None
sw = re.compile(r"prev_comm=(.*?) prev_pid=(\d+) .*prev_state=(\S+) ==> next_comm=(.*?) next_pid=(\d+)")
wk = re.compile(r"comm=(.*?) pid=(\d+) ")
def account(t):
    global prev
    if prev is not None and names:
        hist[sum(state.get(x) in ("run", "wait") for x in names)] += t - prev
        for x in names:
            per[x][state.get(x, "sleep")] += t - prev
    prev = t
for line in sys.stdin:
    m = re.match(r"\s*\d+\s+\[\d+\]\s+([\d.]+):\s+(\S+):\s+(.*)", line)
    if not m:
        continue
    t, ev, tr = float(m.group(1)), m.group(2), m.group(3)
    if ev == "sched:sched_switch" and (s := sw.search(tr)):
        account(t)
        if s.group(1).startswith(ours):
            state[int(s.group(2))] = "wait" if s.group(3).startswith("R") else "sleep"
        if s.group(4).startswith(ours):
            names[int(s.group(5))] = s.group(4)
            state[int(s.group(5))] = "run"
    elif ev.startswith("sched:sched_wakeup") and (s := wk.search(tr)):
        if s.group(1).startswith(ours):
            account(t)
            names[int(s.group(2))] = s.group(1)
            if state.get(int(s.group(2))) != "run":
                state[int(s.group(2))] = "wait"
span = sum(hist.values()) or 1
print("  span %.2f s; threads running or runnable: " % span +
      ", ".join("%d %.1f %%" % (k, 100 * hist[k] / span) for k in sorted(hist)))
print("  core seconds below 2: %.3f" % sum(max(0, 2 - k) * v for k, v in hist.items()))
for x in sorted(per):
    print("  %-12s " % names[x] + " ".join("%s=%.2f" % kv for kv in sorted(per[x].items())))
'
}

echo "# oci-layer $* on $((insize / 1000000)) MB, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
for ((i = 0; i < runs; i++)); do
	perf sched record -q -o "$out/sched.data" -- \
		sh -c 'i=$1 o=$2; shift 2; exec oci-layer "$@" < "$i" > "$o"' sh \
		"$input" "$out/o.stream" "$@" >/dev/null 2>&1
	echo "run $((i + 1)), load $(cut -d' ' -f1 /proc/loadavg)"
	report "$out/sched.data"
done
