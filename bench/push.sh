#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Building and shipping an image, three ways, in one run, against a
# docker-registry on 127.0.0.1:
#
#   pack        tar | oci-layer | oci-pack -o DIR                (no push)
#   pack+skopeo tar | oci-layer | oci-pack -o DIR && skopeo copy oci:DIR:TAG docker://...
#               (today's way)
#   push        tar | oci-layer | oci-push docker://...          (check-first, the default)
#   push-stream tar | oci-layer | oci-push --stream docker://...
#
# each to an empty registry, then each push again with the same input (a
# rebuild with SOURCE_DATE_EPOCH: same digests).
#
#   bench/push.sh [BUILD_DIR]           (default: the current directory)
#   BENCH_INPUT=DIR   rootfs directory to tar (default: /usr/bin and
#                     /usr/include of this machine, as bench/run.sh)
#   BENCH_RUNS=N      runs per command, the median is printed (default 1)
#   BENCH_OUT=DIR     scratch directory on the disk to measure (default: mktemp)
#   BENCH_LAYER_OPTS  options for oci-layer (default: none, gzip)
#
# Printed per command: median wall seconds, MiB written to disk by the
# command (file system output counted by the kernel for the whole
# pipeline, skopeo included; the registry's own storage is not counted),
# MiB the registry read from its sockets (/proc/PID/io rchar: request
# bodies and headers), and peak RSS of the largest process.
set -eu

. "$(dirname "$0")/lib.sh"
bench_setup "${1:-.}" oci-layer oci-pack oci-push skopeo docker-registry
runs=${BENCH_RUNS:-1}
regpid=
cleanup() {
	test -z "$regpid" || kill "$regpid" 2>/dev/null || :
	bench_cleanup
}
trap cleanup EXIT
export SOURCE_DATE_EPOCH=1700000000
bench_input

# start_registry N: a docker-registry on 127.0.0.1 with empty storage
# (round N); sets reg and regpid.  One per round, so that no client
# (skopeo keeps a cache of where it saw each blob, and mounts it from
# there) finds the blobs of an earlier round.
start_registry() {
	local port i
	test -z "$regpid" || { kill "$regpid"; wait "$regpid" 2>/dev/null || :; }
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	rm -rf "$out/registry"
	cat >"$out/registry.yml" <<-EOF
	version: 0.1
	log:
	  level: error
	storage:
	  filesystem:
	    rootdirectory: $out/registry
	http:
	  addr: 127.0.0.1:$port
	EOF
	docker-registry serve "$out/registry.yml" >"$out/registry.log" 2>&1 &
	regpid=$!
	for i in $(seq 50); do
		python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null && break
		sleep 0.2
	done
	reg=127.0.0.1:$port
}

rchar() {
	sed -n 's/^rchar: //p' "/proc/$regpid/io"
}

# run1 CMD: runs CMD once (a shell pipeline, input on stdin, in an empty
# $out/o); prints "wall fs_blocks rss_KiB registry_bytes".
run1() {
	local line r0 r1 cmd=$1
	rm -rf "$out/o"; mkdir -p "$out/o"
	sync
	r0=$(rchar)
	line=$(cd "$out/o" && /usr/bin/time -f '%e %O %M %x' \
		bash -c "set -o pipefail; $1" < "$input" 2>&1 >/dev/null | tail -1)
	r1=$(rchar)
	set -- $line
	if [ "$4" != 0 ]; then
		echo "bench: exit $4: $cmd" >&2
		exit 1
	fi
	echo "$1 $2 $3 $((r1 - r0))"
}

lopts=${BENCH_LAYER_OPTS:-}
layer="oci-layer $lopts"
skopeo_to="skopeo copy -q --preserve-digests --dest-tls-verify=false oci:layout:1 docker://@REG@"
NAMES=(pack pack+skopeo push push-stream again-pack+skopeo again-push again-push-stream)
declare -A CMD=(
	[pack]="$layer | oci-pack -o layout --tag 1"
	[pack+skopeo]="$layer | oci-pack -o layout --tag 1 && $skopeo_to/bench/skopeo:1"
	[push]="$layer | oci-push --tls-verify=false docker://@REG@/bench/push:1"
	[push-stream]="$layer | oci-push --stream --tls-verify=false docker://@REG@/bench/stream:1"
	# the same again into the same repositories: nothing changed
	[again-pack+skopeo]="$layer | oci-pack -o layout --tag 1 && $skopeo_to/bench/skopeo:1"
	[again-push]="$layer | oci-push --tls-verify=false docker://@REG@/bench/push:1"
	[again-push-stream]="$layer | oci-push --stream --tls-verify=false docker://@REG@/bench/stream:1"
)

# Rounds: each command once per round, in the order above, so that other
# load on the host hits all of them alike; a new registry per round.
declare -A LINES
for ((i = 0; i < runs; i++)); do
	start_registry
	for name in "${NAMES[@]}"; do
		c=${CMD[$name]}
		line=$(run1 "${c//@REG@/$reg}") || exit 1
		echo "round $i: $name: $line" >&2
		LINES[$name]+="$line"$'\n'
	done
done

declare -A WALL DISK UP RSS
for name in "${NAMES[@]}"; do
	line=$(printf '%s' "${LINES[$name]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
	set -- $line
	WALL[$name]=$1
	DISK[$name]=$(( $2 * 512 / 1048576 ))
	RSS[$name]=$(( $3 / 1024 ))
	UP[$name]=$(( $4 / 1048576 ))
done

printf 'input: %s MB, %s run(s) each, median; %s cores\n' "$((insize / 1000000))" "$runs" "$(nproc)"
printf '%-22s %8s %9s %12s %8s\n' command "wall s" "disk MiB" "uploaded MiB" "RSS MiB"
for name in "${NAMES[@]}"; do
	printf '%-22s %8s %9s %12s %8s\n' "$name" "${WALL[$name]}" "${DISK[$name]}" "${UP[$name]}" \
		"${RSS[$name]}"
done
