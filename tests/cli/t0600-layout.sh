#!/bin/sh
# SPDX-License-Identifier: MIT
# oci-pack -o DIR updates a layout atomically: a run killed with SIGKILL at
# any point, or one that fails on a full disk, leaves index.json as it was
# (skopeo still reads the old tags); concurrent writers into one DIR all
# land their tags (the flock on the directory); and a symlink planted
# inside the layout is never followed.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"

test_have_prereq SKOPEO || skip_all "skopeo is missing (Debian package skopeo)"

# snapshot DIR OUT: every path, type and content digest under DIR
snapshot() {
	(cd "$1" && find . -printf '%y %p %l\n' | sort &&
		find . -type f -print0 | sort -z | xargs -0 -r sha256sum) >"$2"
}

# tags LAYOUT: the ref names of index.json, sorted
tags() {
	json_get "$1/index.json" \
		'"\n".join(sorted(m["annotations"]["org.opencontainers.image.ref.name"] for m in j["manifests"]))'
}

# inspect_tags LAYOUT TAG...: skopeo reads every tag (and copies it, which
# verifies every blob digest)
inspect_tags() {
	_l=$1
	shift
	for _t in "$@"; do
		skopeo inspect "oci:$_l:$_t" >/dev/null &&
		rm -rf copy.d &&
		skopeo copy -q "oci:$_l:$_t" dir:copy.d >/dev/null || {
			echo "skopeo cannot read tag $_t of $_l" >&2
			return 1
		}
	done
}

# wait_for_tmp LAYOUT: until a temporary blob with data shows up (10 s max)
wait_for_tmp() {
	_i=0
	while test $_i -lt 200; do
		for _f in "$1"/blobs/sha256/.tmp-*; do
			test -s "$_f" && return 0
		done
		sleep 0.05
		_i=$((_i + 1))
	done
	echo "no temporary blob appeared in $1" >&2
	return 1
}

test_expect_success 'setup: a layout with two tags, and a big stream' '
	mkdir -p small && echo one >small/file &&
	tar -C small -cf small.tar . &&
	oci-layer <small.tar | oci-pack -o layout --tag old1 &&
	echo two >small/file2 &&
	tar -C small -cf small2.tar . &&
	oci-layer <small2.tar | oci-config --entrypoint /bin/true | oci-manifest |
		oci-pack -o layout --tag old2 &&
	tags layout >actual &&
	printf "old1\nold2\n" >expect &&
	test_cmp expect actual &&
	inspect_tags layout old1 old2 &&
	mkdir -p big &&
	"$PYTHON" -c "import random, sys; sys.stdout.buffer.write(random.Random(1).randbytes(6 << 20))" >big/data &&
	tar -C big -cf big.tar . &&
	oci-layer --compress=none <big.tar >big.stream &&
	cp -a layout layout.orig &&
	snapshot layout before
'

# kill_at LAYOUT BYTES: feed oci-pack -o LAYOUT the first BYTES of
# big.stream through a fifo, let it write, kill -9 it
kill_at() {
	rm -f fifo
	mkfifo fifo || return 1
	oci-pack -o "$1" --tag new <fifo 2>/dev/null &
	pid=$!
	exec 3>fifo &&
	head -c "$2" big.stream >&3 &&
	if test "$3" = tmp; then wait_for_tmp "$1"; else sleep 1; fi
	_rc=$?
	kill -9 $pid
	wait $pid
	exec 3>&-
	return $_rc
}

test_expect_success 'kill -9 while a blob is being written: old tags intact' '
	kill_at layout $((3 * 1024 * 1024)) tmp &&
	cmp layout.orig/index.json layout/index.json &&
	inspect_tags layout old1 old2 &&
	test_must_fail skopeo inspect oci:layout:new >/dev/null 2>&1
'

test_expect_success 'kill -9 after all blobs, before the end of the stream: old tags intact' '
	size=$(size_of big.stream) &&
	kill_at layout $((size - 1024)) sleep &&
	cmp layout.orig/index.json layout/index.json &&
	inspect_tags layout old1 old2 &&
	test_must_fail skopeo inspect oci:layout:new >/dev/null 2>&1
'

test_expect_success 'kill -9 at 25 random moments: index.json is always old or complete' '
	i=0 &&
	while test $i -lt 25; do
		i=$((i + 1))
		rm -rf kl
		cp -a layout.orig kl || return 1
		oci-pack -o kl --tag new <big.stream 2>/dev/null &
		pid=$!
		sleep "0.0$((i * 37 % 10))$((i % 10))" &&
		kill -9 $pid 2>/dev/null
		wait $pid
		if cmp -s layout.orig/index.json kl/index.json; then
			inspect_tags kl old1 old2 || return 1
		else
			tags kl >t &&
			printf "new\nold1\nold2\n" >expect &&
			test_cmp expect t &&
			inspect_tags kl old1 old2 new || return 1
		fi
	done
'

test_expect_success 'after a killed run the layout still takes new tags' '
	oci-pack -o layout --tag new <big.stream &&
	tags layout >actual &&
	printf "new\nold1\nold2\n" >expect &&
	test_cmp expect actual &&
	inspect_tags layout old1 old2 new
'

# --- concurrent writers ------------------------------------------------

test_expect_success 'setup: four different small streams' '
	for n in 1 2 3 4; do
		mkdir -p w$n && echo "writer $n" >w$n/file &&
		tar -C w$n -cf w$n.tar . &&
		oci-layer <w$n.tar >w$n.stream || return 1
	done
'

# Four writers held at the end of their streams, then released together,
# five rounds: every tag lands.
test_expect_success 'four concurrent writers into one DIR all land their tags' '
	rm -rf cw && cp -a layout.orig cw &&
	round=0 &&
	while test $round -lt 5; do
		round=$((round + 1))
		pids=
		for n in 1 2 3 4; do
			rm -f f$n
			mkfifo f$n || return 1
			{ oci-pack -o cw --tag r$round-w$n <f$n 2>err.$round.$n; echo $? >rc.$round.$n; } &
			pids="$pids $!"
		done
		exec 4>f1 5>f2 6>f3 7>f4 &&
		for n in 1 2 3 4; do
			size=$(size_of w$n.stream) &&
			head -c $((size - 1024)) w$n.stream >f$n.head &&
			tail -c 1024 w$n.stream >f$n.tail || return 1
		done &&
		cat f1.head >&4 && cat f2.head >&5 && cat f3.head >&6 && cat f4.head >&7 &&
		sleep 0.3 &&
		cat f1.tail >&4 && cat f2.tail >&5 && cat f3.tail >&6 && cat f4.tail >&7 &&
		exec 4>&- 5>&- 6>&- 7>&- &&
		wait $pids &&
		for n in 1 2 3 4; do
			test "$(cat rc.$round.$n)" = 0 || { cat err.$round.$n >&2; return 1; }
		done
	done &&
	tags cw >actual &&
	{ printf "old1\nold2\n"; for r in 1 2 3 4 5; do for n in 1 2 3 4; do echo r$r-w$n; done; done; } |
		sort >expect &&
	test_cmp expect actual &&
	inspect_tags cw old1 r1-w1 r3-w2 r5-w4 &&
	verify_blobs cw >/dev/null &&
	! ls cw/blobs/sha256/.tmp-* 2>/dev/null
'

test_expect_success 'concurrent writers of one tag: it is there once, on one of them' '
	rm -rf same
	cp -a layout.orig same || return 1
	oci-pack -o same --tag same <w1.stream & p1=$!
	oci-pack -o same --tag same <w2.stream & p2=$!
	oci-pack -o same --tag same <w3.stream & p3=$!
	wait $p1 && wait $p2 && wait $p3 &&
	tags same >actual &&
	printf "old1\nold2\nsame\n" >expect &&
	test_cmp expect actual &&
	inspect_tags same same old1 old2
'

# Creating is as safe as updating: writers of one new layout decide under
# the lock whether it is new, so none sees another one's temporary
# oci-layout and takes the directory for "not empty"; five rounds of six.
test_expect_success 'six writers creating one new layout at once all land their tags' '
	round=0 &&
	while test $round -lt 5; do
		round=$((round + 1))
		rm -rf nw$round go && mkfifo go &&
		# (the fifo held open first: a writer that opens it late
		# still finds its line; each read takes one)
		exec 4<>go &&
		pids= &&
		for n in 1 2 3 4 5 6; do
			{ read x <go; oci-pack -o nw$round --tag w$n <w$((n % 4 + 1)).stream \
				2>err.nw$round.$n; echo $? >rc.nw$round.$n; } &
			pids="$pids $!"
		done &&
		sleep 0.2 && printf "1\n2\n3\n4\n5\n6\n" >&4 &&
		wait $pids &&
		exec 4>&- &&
		for n in 1 2 3 4 5 6; do
			test "$(cat rc.nw$round.$n)" = 0 || { cat err.nw$round.$n >&2; return 1; }
		done &&
		tags nw$round >actual &&
		printf "w1\nw2\nw3\nw4\nw5\nw6\n" >expect &&
		test_cmp expect actual &&
		verify_blobs nw$round >/dev/null &&
		test "$(ls -A nw$round | sort | tr "\n" " ")" = "blobs index.json oci-layout " || return 1
	done &&
	inspect_tags nw5 w1 w6
'

test_expect_success 'a temporary oci-layout left by a killed creator does not wedge the directory' '
	mkdir wedged && : >wedged/.oci-layout.tmp-1-0 &&
	oci-pack -o wedged --tag t <w1.stream &&
	! test -e wedged/.oci-layout.tmp-1-0 &&
	inspect_tags wedged t
'

# What a killed run leaves, made by hand with the writer's naming: its
# temporary blobs and index; a later run removes them under the lock, and
# nothing else: an unrelated file in the layout is the user's.
test_expect_success 'a later run removes the temporary files of killed runs, only those' '
	rm -rf kr && cp -a layout.orig kr &&
	head -c 1000000 big.stream >kr/blobs/sha256/.tmp-999999-0 &&
	: >kr/blobs/sha256/.tmp-1-17 &&
	echo "{" >kr/.index.json.tmp-999999-3 &&
	echo notes >kr/notes.txt &&
	echo mine >kr/blobs/sha256/.tmp-mine &&
	echo mine >kr/blobs/sha256/README &&
	echo mine >kr/.oci-layout.tmp-x &&
	oci-pack -o kr --tag t <w1.stream &&
	! test -e kr/blobs/sha256/.tmp-999999-0 &&
	! test -e kr/blobs/sha256/.tmp-1-17 &&
	! test -e kr/.index.json.tmp-999999-3 &&
	test -f kr/notes.txt && test -f kr/blobs/sha256/.tmp-mine &&
	test -f kr/blobs/sha256/README && test -f kr/.oci-layout.tmp-x &&
	inspect_tags kr old1 old2 t
'

test_expect_success 'the temporary blob of a writer still running is not removed' '
	rm -rf lv fifo && cp -a layout.orig lv && mkfifo fifo || return 1
	{ oci-pack -o lv --tag slow <fifo 2>err.slow; echo $? >rc.slow; } &
	pid=$!
	exec 3>fifo &&
	head -c $((3 * 1024 * 1024)) big.stream >&3 &&
	wait_for_tmp lv &&
	oci-pack -o lv --tag quick <w2.stream &&
	ls lv/blobs/sha256/.tmp-* >/dev/null &&
	tail -c +$((3 * 1024 * 1024 + 1)) big.stream >&3 &&
	exec 3>&- &&
	wait $pid &&
	test "$(cat rc.slow)" = 0 &&
	inspect_tags lv old1 old2 quick slow
'

# --- planted symlinks ----------------------------------------------------

# plant NAME TARGET: a fresh copy of the layout with NAME a symlink to TARGET
plant() {
	rm -rf pl outside && mkdir outside && echo precious >outside/file &&
	cp -a layout.orig pl &&
	rm -rf "pl/$1" && ln -s "$2" "pl/$1" &&
	snapshot outside outside.before
}

# nothing_followed: outside/ is as it was; when oci-pack succeeded, the
# symlink was replaced (not written through) and the layout is good
nothing_followed() {
	snapshot outside outside.after &&
	test_cmp outside.before outside.after || return 1
	if test "$1" = 0; then
		inspect_tags pl old1 old2 new
	else
		test_one_error_line oci-pack pl.err
	fi
}

for case in "blobs:OUT" "blobs/sha256:OUT" "index.json:OUT/file" "oci-layout:OUT/file" \
	"index.json:/etc/passwd" "blobs:/"; do
	name=${case%%:*} target=${case#*:}
	test_expect_success "a planted symlink $name -> $target is not followed" "
		t=\$(echo '$target' | sed \"s|^OUT|\$PWD/outside|\") &&
		plant '$name' \"\$t\" &&
		sha256sum /etc/passwd >passwd.sum && ls -A / >root.before &&
		oci-layer <w1.tar | oci-pack -o pl --tag new 2>pl.err
		nothing_followed \$? &&
		sha256sum -c passwd.sum >/dev/null &&
		ls -A / >root.after &&
		test_cmp root.before root.after
	"
done

test_expect_success 'a planted symlink in place of a blob is not followed' '
	plant index.json index.json.orig &&
	rm -f pl/index.json && cp layout.orig/index.json pl/index.json &&
	oci-layer --compress=none <w1.tar >w1.none &&
	stream_split w1.none w1.d >/dev/null &&
	digest=$(json_get w1.d/layer-1.json "j[\"digest\"]") &&
	ln -s "$PWD/outside/file" "$(blob_path pl "$digest")" &&
	oci-pack -o pl --tag new <w1.none 2>pl.err
	nothing_followed $?
'

test_expect_success '-o naming a regular file fails and leaves the file alone' '
	echo hello >plainfile &&
	test_expect_code 1 oci-pack -o plainfile <w1.stream 2>err &&
	test_one_error_line oci-pack err &&
	echo hello >expect && test_cmp expect plainfile
'

# --- a full file system ---------------------------------------------------

if test_have_prereq ROOT && mkdir -p small-fs &&
	mount -t tmpfs -o size=1m ocipipe-test small-fs 2>/dev/null; then
	test_set_prereq TMPFS
fi

test_expect_success TMPFS '-o DIR on a full tmpfs: an error, and the layout as it was' '
	oci-layer <small.tar | oci-pack -o small-fs/layout --tag old &&
	snapshot small-fs/layout fs.before &&
	test_expect_code 1 oci-pack -o small-fs/layout --tag new <big.stream 2>fs.err &&
	test_one_error_line oci-pack fs.err &&
	grep -i "space" fs.err &&
	snapshot small-fs/layout fs.after &&
	test_cmp fs.before fs.after &&
	inspect_tags small-fs/layout old
'

test_expect_success TMPFS '-o DIR: index.json cannot be written (full): the layout as it was' '
	# fill the file system up to a few bytes, so that the blobs of a tiny
	# image may fit but a new index.json may not
	rm -rf small-fs/layout small-fs/fill* &&
	oci-layer <small.tar | oci-pack -o small-fs/layout --tag old &&
	snapshot small-fs/layout fs2.before &&
	{ head -c 2000000 /dev/zero >small-fs/fill 2>/dev/null; :; } &&
	test_expect_code 1 oci-pack -o small-fs/layout --tag new <w2.stream 2>fs2.err &&
	test_one_error_line oci-pack fs2.err &&
	snapshot small-fs/layout fs2.after &&
	test_cmp fs2.before fs2.after &&
	rm -f small-fs/fill &&
	inspect_tags small-fs/layout old
'

test_expect_success TMPFS 'a tarball on a full tmpfs is an error, never exit 0' '
	rm -rf small-fs/* &&
	test_expect_code 1 oci-pack <big.stream >small-fs/image.tar 2>tar.err &&
	test_one_error_line oci-pack tar.err &&
	test_expect_code 1 oci-layer --compress=none <big.tar >small-fs/stream 2>layer.err &&
	test_one_error_line oci-layer layer.err
'

if test_have_prereq TMPFS; then
	umount small-fs
fi
test_have_prereq TMPFS || test_skip 'full tmpfs tests' 'mount -t tmpfs not permitted (needs root)'

test_done
