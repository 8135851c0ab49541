#!/bin/sh
# SPDX-License-Identifier: MIT
# oci-layer reads every tar dialect (GNU tar --format=gnu|oldgnu|pax|
# posix|ustar|v7, bsdtar pax|ustar) and gzip/zstd/xz-compressed input; the
# layer holds what the input holds, entry by entry.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"

test_expect_success 'setup: full and portable rootfs' '
	make_rootfs --no-random full &&
	make_rootfs --portable portable
'

# check_format NAME ROOTFS LISTING-OPTS -- TAR COMMAND...
# archive with the command, layer it, compare the listings.
check_format() {
	_name=$1 _root=$2 _lopts=$3
	shift 4
	in_rootfs_session "$_root" "$@" >"$_name.tar" &&
	tar_listing $_lopts "$_name.tar" >"$_name.in" &&
	test $(wc -l <"$_name.in") -gt 20 &&
	oci-layer --compress=none <"$_name.tar" >"$_name.stream" &&
	stream_split "$_name.stream" "$_name.d" >/dev/null &&
	tar_listing $_lopts "$_name.d/blob-1" >"$_name.out" &&
	test_cmp "$_name.in" "$_name.out"
}

for fmt in gnu oldgnu pax posix; do
	test_expect_success "GNU tar --format=$fmt (full rootfs)" "
		check_format gnu-$fmt full '--mtime --names' -- \
			tar --sort=name --numeric-owner --format=$fmt \
			\$(test $fmt = pax -o $fmt = posix && echo --xattrs --xattrs-include=*) \
			-C full -cf - .
	"
done

for fmt in ustar v7; do
	test_expect_success "GNU tar --format=$fmt (portable rootfs)" "
		check_format gnu-$fmt portable '--mtime --names' -- \
			tar --sort=name --numeric-owner --format=$fmt -C portable -cf - .
	"
done

test_expect_success 'the same tree gives the same layer content from gnu and pax input' '
	oci-layer --compress=none <gnu-gnu.tar >a.stream &&
	oci-layer --compress=none <gnu-oldgnu.tar >b.stream &&
	stream_split a.stream a >/dev/null &&
	stream_split b.stream b >/dev/null &&
	tar_listing --mtime --names --no-xattrs a/blob-1 >a.list &&
	tar_listing --mtime --names --no-xattrs b/blob-1 >b.list &&
	tar_listing --mtime --names --no-xattrs gnu-pax.d/blob-1 >p.list &&
	test_cmp a.list b.list &&
	test_cmp a.list p.list
'

for fmt in pax ustar; do
	if test $fmt = pax; then
		root=full opts="--options hdrcharset=BINARY"
	else
		root=portable opts=
	fi
	test_expect_success BSDTAR "bsdtar --format=$fmt ($root rootfs)" "
		check_format bsd-$fmt $root '--mtime --names' -- \
			bsdtar --numeric-owner --format=$fmt $opts -C $root -cf - .
	"
done

test_expect_success 'GNU tar with owner names (not --numeric-owner) keeps them' '
	check_format gnu-names full "--mtime --names" -- \
		tar --sort=name --format=pax -C full -cf - .
'

test_expect_success 'setup: reference layer of the pax input' '
	oci-layer --compress=none <gnu-pax.tar >ref.stream &&
	stream_split ref.stream ref >/dev/null
'

# compressed input COMPRESSOR: same uncompressed layer (diffID) as the plain
for comp in gzip zstd xz bzip2; do
	prereq=$(echo $comp | tr a-z A-Z)
	command -v $comp >/dev/null 2>&1 && test_set_prereq $prereq
	test_expect_success $prereq "$comp-compressed input gives the same layer" "
		$comp -c <gnu-pax.tar >in.$comp &&
		oci-layer --compress=none <in.$comp >$comp.stream &&
		cmp ref.stream $comp.stream &&
		cat in.$comp | oci-layer --compress=none >$comp-pipe.stream &&
		cmp ref.stream $comp-pipe.stream
	"
done

test_expect_success PIGZ 'pigz-compressed (multi-member-ish) input gives the same layer' '
	pigz -c -b 128 <gnu-pax.tar >in.pigz &&
	oci-layer --compress=none <in.pigz >pigz.stream &&
	cmp ref.stream pigz.stream
'

test_expect_success 'tar -z output of GNU tar itself' '
	in_rootfs_session full tar --sort=name --numeric-owner --format=pax \
		--xattrs --xattrs-include="*" -C full -czf - . >tarz.tgz &&
	oci-layer --compress=none <tarz.tgz >tarz.stream &&
	cmp ref.stream tarz.stream
'

test_expect_success 'concatenated archives (as tar -i reads them) are read whole' '
	in_rootfs_session full tar --sort=name --numeric-owner --format=pax -C full -cf part1.tar etc &&
	in_rootfs_session full tar --sort=name --numeric-owner --format=gnu -C full -cf part2.tar usr &&
	cat part1.tar part2.tar >concat.tar &&
	tar_listing --concat --mtime --names --no-xattrs concat.tar >concat.in &&
	grep "	usr/bin\$" concat.in &&
	grep "	etc/passwd\$" concat.in &&
	oci-layer --compress=none <concat.tar >concat.stream &&
	stream_split concat.stream concat.d >/dev/null &&
	tar_listing --mtime --names --no-xattrs concat.d/blob-1 >concat.out &&
	test_cmp concat.in concat.out
'

test_done
