#!/bin/sh
# SPDX-License-Identifier: MIT
# Fidelity (issue 4): normalisation is opt-in.  Without options the layer
# is the input; --owner/--group override owners like GNU tar's,
# --exclude leaves out entries like tar --exclude (a directory with all
# below it), --clamp-mtime clamps to SOURCE_DATE_EPOCH; each changes only
# what it names (the listings are compared with the expected edits).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"

FID="$PYTHON $TEST_HELPERS/fidelity.py"

layer_of() {
	_l_in=$1 _l_out=$2
	shift 2
	oci-layer --compress=none --whiteouts "$@" <"$_l_in" >"$_l_out.stream" 2>"$_l_out.err" &&
	stream_split "$_l_out.stream" "$_l_out" >/dev/null
}

# the listing with uid/uname and gid/gname replaced (awk on columns 3-6)
set_owner() {
	awk -v u="$1" -v un="$2" -v g="$3" -v gn="$4" 'BEGIN { FS = OFS = "\t" }
		{ if (u != "") { $3 = u; $5 = un } if (g != "") { $4 = g; $6 = gn } print }'
}

test_expect_success 'setup: hand-made pax archive and its listing' '
	$FID craft pax >in.tar &&
	tar_listing --mtime-ns --names in.tar >in.list &&
	layer_of in.tar plain &&
	tar_listing --mtime-ns --names plain/blob-1 >plain.list &&
	test_cmp in.list plain.list
'

test_expect_success '--help lists the options' '
	oci-layer --help >help &&
	grep -e "--owner=UID\[:NAME\]" help &&
	grep -e "--group=GID\[:NAME\]" help &&
	grep -e "--exclude=PATTERN" help &&
	grep -e "--clamp-mtime" help
'

test_expect_success '--owner=UID:NAME and --group=GID:NAME set every entry' '
	layer_of in.tar own --owner=1000:builder --group=100:users &&
	tar_listing --mtime-ns --names own/blob-1 >actual &&
	set_owner 1000 builder 100 users <in.list >expect &&
	test_cmp expect actual &&
	! grep -v "	1000	100	builder	users	" actual
'

test_expect_success '--owner=0 alone: uid 0 and no user name; groups kept' '
	layer_of in.tar own0 --owner=0 &&
	tar_listing --mtime-ns --names own0/blob-1 >actual &&
	set_owner 0 - "" "" <in.list >expect &&
	test_cmp expect actual
'

test_expect_success 'bad --owner and --group values are usage errors' '
	for v in "" abc -1 4294967295 1x :name; do
		test_expect_code 2 oci-layer --owner="$v" <in.tar >out 2>err &&
		grep "^oci-layer: invalid --owner" err || return 1
	done &&
	test_expect_code 2 oci-layer --group=x <in.tar >out 2>err &&
	test_expect_code 2 oci-layer --exclude= <in.tar >out 2>err
'

test_expect_success '--exclude: a directory with everything below it, a glob anywhere' '
	layer_of in.tar ex --exclude=names --exclude="*.wh.*" --exclude=/times/1* &&
	tar_listing --mtime-ns --names ex/blob-1 >actual &&
	grep -v -e "	names\$" -e "	names/" -e "	wh/.wh.gone\$" -e "	wh/opq/.wh..wh..opq\$" \
		-e "	times/1[^/]*\$" in.list >expect &&
	test $(wc -l <expect) -lt $(($(wc -l <in.list) - 15)) &&
	test_cmp expect actual
'

test_expect_success '--exclude is unanchored unless it starts with /' '
	layer_of in.tar ex2 --exclude=opq &&
	tar_listing ex2/blob-1 >a2 &&
	! grep "	wh/opq" a2 &&
	grep "	wh\$" a2 &&
	layer_of in.tar ex3 --exclude=/opq &&
	tar_listing ex3/blob-1 >a3 &&
	grep "	wh/opq/.wh..wh..opq\$" a3
'

test_expect_success '--exclude of a hardlink target fails clearly' '
	test_must_fail oci-layer --exclude=links/zz-data <in.tar >out 2>err &&
	grep "links/aa-to-data.*hardlink target .links/zz-data. is excluded" err &&
	layer_of in.tar ex4 --exclude="links/*data" --exclude=links/chain &&
	tar_listing ex4/blob-1 >a4 &&
	! grep "	links/.*data\$" a4
'

test_expect_success '--clamp-mtime clamps only later mtimes, to whole seconds' '
	layer_of in.tar cl --clamp-mtime --source-date-epoch=1800000000 &&
	tar_listing --mtime-ns --names cl/blob-1 >actual &&
	awk "BEGIN { FS = OFS = \"\t\" } \$12 + 0 > 1800000000 { \$12 = \"1800000000.000000000\" } { print }" \
		in.list >expect &&
	test_cmp expect actual &&
	grep "	1800000000.000000000	" actual
'

test_done
