#!/bin/bash
# SPDX-License-Identifier: MIT
#
# A Debian rootfs to benchmark on, as the performance issues measure
# ("the Debian rootfs of the benchmarks"): debootstrap's minbase of
# bookworm plus a few packages a service image carries (perl, python3,
# an ssh server, curl, git), about 400 MB; its dpkg database lets
# bench/cache.sh rewrite one package's files (BENCH_PACKAGE=perl-base).
#
#   bench/debian-rootfs.sh DIR       (as root; DIR must not exist)
#   BENCH_SUITE=NAME                 the release (default bookworm)
#   BENCH_MIRROR=URL                 the archive (default: debootstrap's)
#
# Then e.g.: BENCH_INPUT=DIR BENCH_PACKAGE=perl-base bench/cache.sh
set -eu

dir=${1:?usage: bench/debian-rootfs.sh DIR}
[ ! -e "$dir" ] || { echo "bench/debian-rootfs.sh: $dir exists" >&2; exit 1; }
command -v debootstrap >/dev/null ||
	{ echo "bench/debian-rootfs.sh: needs debootstrap (apt-get install debootstrap)" >&2; exit 1; }
debootstrap --variant=minbase \
	--include=perl,python3,openssh-server,curl,vim-tiny,iproute2,less,git \
	"${BENCH_SUITE:-bookworm}" "$dir" ${BENCH_MIRROR:+"$BENCH_MIRROR"} >&2
du -sh "$dir"
