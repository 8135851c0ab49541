#!/bin/sh
# SPDX-License-Identifier: MIT
# make-demo-rootfs.sh DIR [PROGRAM...]: a tiny runnable rootfs in DIR.
#
# Copies /bin/sh (and PROGRAM..., default: cat ls) with the shared
# libraries ldd finds for them, and writes a few files (/etc/passwd,
# /etc/group, /etc/os-release, /hello.txt), so that an image built from
# DIR runs `/bin/sh -c 'cat /hello.txt'` in a container.  Nothing is
# downloaded; the programs come from this machine.
#
#   examples/make-demo-rootfs.sh demo
#   examples/build-image.sh demo image.tar
set -eu

usage() {
	echo "usage: $0 DIR [PROGRAM...]" >&2
	exit 2
}
test $# -ge 1 || usage
dir=$1
shift
test $# -gt 0 || set -- cat ls
if test -e "$dir"; then
	echo "$0: '$dir' exists already" >&2
	exit 1
fi

mkdir -p "$dir"
cd "$dir"
mkdir -p bin etc tmp root proc sys dev
chmod 1777 tmp
chmod 700 root

# copy_file SRC: copy SRC (symlinks resolved) to the same path in the rootfs
copy_file() {
	mkdir -p ".$(dirname "$1")"
	cp -L "$1" ".$1"
}

# copy_prog PATH: the program as /bin/NAME, plus its libraries
copy_prog() {
	cp -L "$1" "bin/$(basename "$1")"
	chmod 755 "bin/$(basename "$1")"
	ldd "$1" 2>/dev/null | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (.*/\1/p' |
	while read -r lib; do
		test -e ".$lib" || copy_file "$lib"
	done
}

copy_prog "$(command -v sh)"
for p in "$@"; do
	path=$(command -v "$p" 2>/dev/null || true)
	case $path in
	/*) copy_prog "$path" ;;
	*) echo "$0: warning: '$p' not found, left out" >&2 ;;
	esac
done
cat >etc/passwd <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/sh
PASSWD
cat >etc/group <<'GROUP'
root:x:0:
nogroup:x:65534:
GROUP
cat >etc/os-release <<'OSREL'
NAME="ocipipe demo"
ID=ocipipe-demo
PRETTY_NAME="ocipipe demo rootfs"
OSREL
echo "hello from an ocipipe image" >hello.txt
echo "$dir: $(find . | wc -l) entries"
