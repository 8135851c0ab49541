#!/bin/sh
# SPDX-License-Identifier: MIT
# oci-push against real docker-registry instances on 127.0.0.1: plain
# http; TLS with a CA made here and htpasswd users; token auth through a
# token server of the test (tests/helpers/tokenserver.py); and a fault
# proxy (tests/helpers/faultproxy.py) that resets connections, answers
# 500 or 401, stalls, or drops answers.  What was pushed is read back by
# skopeo (inspect, copy, which verifies every digest) and podman pull,
# and compared with what oci-pack writes for the same stream.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"

test_have_prereq REGISTRY || skip_all "docker-registry is not installed"
test_have_prereq SKOPEO || skip_all "skopeo is not installed"
command -v openssl >/dev/null 2>&1 || skip_all "openssl is not installed"

# The same config bytes in oci-push and oci-pack.
SOURCE_DATE_EPOCH=1700000000
export SOURCE_DATE_EPOCH
ASAN_OPTIONS=$ASAN_RSS_OPTIONS	# RSS measures the program (tests/lib.sh)
export ASAN_OPTIONS
# Fast retries for the fault tests.
FAST="--retry-delay 0.1 --chunk-size 1M"

# --- servers (started here, at the top level: they set variables) ---------

mkdir -p certs client-certs
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=ocipipe-test-ca \
	-keyout certs/ca.key -out certs/ca.crt >openssl.log 2>&1 &&
openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout tls.key -out tls.csr \
	>>openssl.log 2>&1 &&
printf 'subjectAltName=IP:127.0.0.1\n' >tls.ext &&
openssl x509 -req -in tls.csr -CA certs/ca.crt -CAkey certs/ca.key -CAcreateserial \
	-days 2 -extfile tls.ext -out tls.crt >>openssl.log 2>&1 &&
rm certs/ca.key &&
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=ocipipe-token \
	-keyout token.key -out token.crt >>openssl.log 2>&1 &&
test_set_prereq CERTS

if command -v htpasswd >/dev/null 2>&1; then
	htpasswd -Bbn alice s3cret >htpasswd 2>/dev/null && test_set_prereq HTPASSWD
fi

start_registry plain && PLAIN=$REG && test_set_prereq PLAIN
if test_have_prereq CERTS,HTPASSWD; then
	start_registry secure --tls "$TEST_DIR/tls.crt" "$TEST_DIR/tls.key" \
		--htpasswd "$TEST_DIR/htpasswd" && SECURE=$REG && test_set_prereq SECURE
fi
# start_server NAME HELPER ARGS...: a server of tests/helpers that writes
# its port to NAME.port (its log is NAME.log); sets PORT
start_server() {
	_name=$1 _helper=$2
	shift 2
	rm -f "$_name.port"
	start_bg "$_name" "$PYTHON" "$TEST_HELPERS/$_helper" --port-file "$_name.port" \
		--log "$_name.log" "$@"
	for _i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		test -s "$_name.port" && break
		sleep 0.25
	done
	PORT=$(cat "$_name.port") && wait_port "$PORT"
}

if test_have_prereq CERTS; then
	start_server token tokenserver.py --key token.key --cert token.crt \
		--issuer ocipipe-issuer --service ocipipe-registry --user bob --password hunter2 &&
	start_registry tokreg --token "http://127.0.0.1:$PORT/token" \
		ocipipe-registry ocipipe-issuer "$TEST_DIR/token.crt" &&
	TOKREG=$REG && test_set_prereq TOKEN
fi

# start_proxy NAME TARGET FAULT...: a fault proxy in front of TARGET;
# sets PROXY=127.0.0.1:PORT, its log is NAME.log
start_proxy() {
	_pname=$1 _target=$2
	shift 2
	_args=
	for _f in "$@"; do
		_args="$_args --fault $_f"
	done
	# shellcheck disable=SC2086
	start_server "$_pname" faultproxy.py --target "$_target" $_args &&
	PROXY=127.0.0.1:$PORT
}

# manifest_digest LAYOUT TAG: what TAG points at in an OCI layout
manifest_digest() {
	json_get "$1/index.json" \
		"[m[\"digest\"] for m in j[\"manifests\"] if m[\"annotations\"][\"org.opencontainers.image.ref.name\"] == \"$2\"][0]"
}

# same_blobs A B: every blob of layout A is in layout B, byte for byte
same_blobs() {
	for _b in "$1"/blobs/sha256/*; do
		cmp "$_b" "$2/blobs/sha256/${_b##*/}" || return 1
	done
}

# mounted LOG: how many blobs a registry log shows mounted (201 to a POST
# with mount=)
mounted() {
	grep -c "\"POST /v2/[^ ]*?mount=[^ ]* HTTP/1.1\" 201 " "$1"
}

# uploads LOG: the blob upload requests in a registry log
uploads() {
	grep "response completed" "$1" | grep -E 'http.request.method=(POST|PATCH|PUT)' |
		grep "/blobs/uploads/" || true
}

test_expect_success 'setup: an image of two layers and a config; oci-pack of it' '
	mkdir -p r1 r2 r3 &&
	head -c 3000000 /dev/urandom >r1/big &&
	echo one >r1/small &&
	head -c 5500000 /dev/urandom >r2/bigger &&
	echo two >r2/file &&
	echo three >r3/file &&
	head -c 2500000 /dev/urandom >r3/data &&
	{ tar -C r1 -c . | oci-layer; tar -C r2 -c . | oci-layer --zstd; } |
		oci-config --entrypoint /bin/sh --env A=1 | oci-manifest >img.stream &&
	oci-pack -o layout --tag 1.0 <img.stream &&
	manifest_digest layout 1.0 >img.digest &&
	tar -C r3 -c . | oci-layer | oci-config --entrypoint /bin/true >new.stream &&
	oci-pack -o layout --tag new <new.stream &&
	manifest_digest layout new >new.digest
'

test_expect_success PLAIN 'push (check-first): the manifest and every blob are oci-pack'"'"'s' '
	oci-push --tls-verify=false --summary --print-descriptor=desc.json \
		docker://$PLAIN/ocipipe/app:1.0 <img.stream 2>push.err &&
	grep "^oci-push: 1 image, 2 layers, 3 blobs: 3 uploaded" push.err &&
	skopeo inspect --raw --tls-verify=false docker://$PLAIN/ocipipe/app:1.0 >raw.json &&
	test "sha256:$(sha256_of raw.json)" = "$(cat img.digest)" &&
	test "$(json_get desc.json "j[\"digest\"]")" = "$(cat img.digest)" &&
	skopeo copy -q --src-tls-verify=false docker://$PLAIN/ocipipe/app:1.0 oci:back:1.0 &&
	test "$(manifest_digest back 1.0)" = "$(cat img.digest)" &&
	same_blobs back layout
'

test_expect_success PLAIN 're-push of the unchanged image: no blob upload in the registry log' '
	wc -l <plain.out >before &&
	oci-push --tls-verify=false --summary -t 1.1 $PLAIN/ocipipe/app:1.0 \
		<img.stream 2>push.err &&
	grep "3 blobs: 0 uploaded (.*), 3 already there" push.err &&
	sed "1,$(cat before)d" plain.out >since &&
	grep -q "method=HEAD" since &&
	test -z "$(uploads since)" &&
	skopeo inspect --raw --tls-verify=false docker://$PLAIN/ocipipe/app:1.1 >raw11.json &&
	cmp raw.json raw11.json
'

test_expect_success PLAIN 'DEST@DIGEST: pushed by digest, no tag; another digest is refused before any manifest' '
	oci-push --tls-verify=false "$PLAIN/ocipipe/bydigest@$(cat img.digest)" <img.stream &&
	skopeo inspect --raw --tls-verify=false "docker://$PLAIN/ocipipe/bydigest@$(cat img.digest)" >d.json &&
	cmp raw.json d.json &&
	test_expect_code 1 oci-push --tls-verify=false "$PLAIN/ocipipe/bydigest2@$(cat new.digest)" \
		<img.stream 2>err &&
	test_one_error_line oci-push err &&
	grep "not the destination" err &&
	test_must_fail skopeo inspect --raw --tls-verify=false \
		"docker://$PLAIN/ocipipe/bydigest2@$(cat img.digest)" 2>/dev/null
'

test_expect_success PLAIN '--stream: nothing spooled, same digests; a blob of one chunk is asked for first' '
	mkdir tmp &&
	wc -l <plain.out >before &&
	TMPDIR=$TEST_DIR/tmp oci-push --stream --chunk-size 1M --tls-verify=false --summary \
		docker://$PLAIN/ocipipe/streamed:1.0 <img.stream 2>push.err &&
	test -z "$(ls tmp)" &&
	grep "3 blobs: 3 uploaded" push.err &&
	sed "1,$(cat before)d" plain.out >since &&
	test "$(grep -c "method=HEAD" since)" = 1 &&
	test "$(grep -c "method=PATCH" since)" = 9 &&
	skopeo copy -q --src-tls-verify=false docker://$PLAIN/ocipipe/streamed:1.0 oci:back2:1.0 &&
	test "$(manifest_digest back2 1.0)" = "$(cat img.digest)" &&
	same_blobs back2 layout
'

test_expect_success PLAIN,TIME 'memory: a layer larger than 64 MiB pushed in both modes, peak RSS below 64 MiB' '
	mkdir big &&
	head -c 80000000 /dev/urandom >big/blob &&
	tar -C big -c . | oci-layer -c none >big.stream &&
	for m in --stream --check-first; do
		/usr/bin/time -v oci-push $m --tls-verify=false $PLAIN/ocipipe/big:1 \
			<big.stream 2>big.time || return 1
		test_diag "oci-push $m, an 80 MB layer: peak RSS $(rss big.time) KiB" &&
		test "$(rss big.time)" -lt 65536 || return 1
	done &&
	rm -rf big big.stream
'

test_expect_success PLAIN 'several images: the index is pushed, skopeo inspect --raw shows it' '
	{ tar -C r1 -c . | oci-layer | oci-config --arch amd64 | oci-manifest
	  tar -C r3 -c . | oci-layer | oci-config --arch arm64 | oci-manifest; } >multi.stream &&
	oci-pack -o mlayout --tag m <multi.stream &&
	oci-push --tls-verify=false $PLAIN/ocipipe/multi:m <multi.stream &&
	skopeo inspect --raw --tls-verify=false docker://$PLAIN/ocipipe/multi:m >mraw.json &&
	test "$(json_get mraw.json "j[\"mediaType\"]")" = application/vnd.oci.image.index.v1+json &&
	test "sha256:$(sha256_of mraw.json)" = "$(manifest_digest mlayout m)" &&
	skopeo copy -q --all --src-tls-verify=false docker://$PLAIN/ocipipe/multi:m oci:mback:m &&
	same_blobs mback mlayout &&
	same_blobs mlayout mback
'

test_expect_success PLAIN 'a base image of the same registry: its layers are mounted, not uploaded' '
	oci-pack --tag base <img.stream >base.tar &&
	{ cat base.tar; tar -C r3 -c . | oci-layer; } | oci-config --env B=1 >onbase.stream &&
	wc -l <plain.out >before &&
	oci-push --tls-verify=false --summary --mount-from ocipipe/app \
		$PLAIN/ocipipe/onbase:1 <onbase.stream 2>push.err &&
	grep "4 blobs: 2 uploaded (.*), 0 already there, 2 mounted;" push.err &&
	sed "1,$(cat before)d" plain.out >since &&
	test "$(mounted since)" = 2 &&
	skopeo copy -q --src-tls-verify=false docker://$PLAIN/ocipipe/onbase:1 dir:onbase.dir
'

test_expect_success PLAIN '--stream reading the base image itself: asked for and mounted before its bytes' '
	wc -l <plain.out >before &&
	{ cat base.tar; tar -C r3 -c . | oci-layer; } |
		oci-push --stream --chunk-size 1M --tls-verify=false --summary \
			--mount-from ocipipe/app $PLAIN/ocipipe/onbase2:1 2>push.err &&
	grep ", 2 mounted;" push.err &&
	sed "1,$(cat before)d" plain.out >since &&
	test "$(mounted since)" = 2 &&
	test "$(grep -c "method=PATCH" since)" = 3
'

test_expect_success PLAIN 'an upstream failure fails the push (no pipefail); nothing is tagged' '
	printf "not a tar" | oci-layer | oci-push --tls-verify=false $PLAIN/ocipipe/app:broken 2>err;
	test $? = 1 &&
	test_one_error_line oci-push err &&
	head -c 2000000 img.stream | test_expect_code 1 oci-push --tls-verify=false \
		$PLAIN/ocipipe/app:broken 2>err &&
	test_one_error_line oci-push err &&
	test_must_fail skopeo inspect --raw --tls-verify=false docker://$PLAIN/ocipipe/app:broken 2>/dev/null
'

test_expect_success 'usage errors: exit 2' '
	test_expect_code 2 oci-push ocipipe/app:1.0 <img.stream 2>err &&
	grep "names no registry" err &&
	test_expect_code 2 oci-push localhost:5000/Upper <img.stream 2>err &&
	test_expect_code 2 oci-push --chunk-size 100 localhost:5000/a <img.stream 2>err &&
	test_expect_code 2 oci-push localhost:5000/a:t@sha256:$(printf %064d 0) <img.stream 2>err &&
	test_expect_code 2 oci-push <img.stream 2>err
'

# --- TLS and passwords ------------------------------------------------------

test_expect_success SECURE 'TLS (--cert-dir) and htpasswd (--creds): pushed, read back by skopeo' '
	oci-push --cert-dir certs --creds alice:s3cret $SECURE/ocipipe/app:1.0 <img.stream &&
	skopeo inspect --raw --cert-dir certs --creds alice:s3cret \
		docker://$SECURE/ocipipe/app:1.0 >sraw.json &&
	test "sha256:$(sha256_of sraw.json)" = "$(cat img.digest)" &&
	skopeo copy -q --src-cert-dir certs --src-creds alice:s3cret \
		docker://$SECURE/ocipipe/app:1.0 oci:sback:1.0 &&
	same_blobs sback layout
'

test_expect_success SECURE 'wrong password, no password, unknown CA: one line, exit 1' '
	test_expect_code 1 oci-push --cert-dir certs --creds alice:wrong \
		$SECURE/ocipipe/app:x <img.stream 2>err &&
	test_one_error_line oci-push err &&
	grep "authentication failed" err &&
	test_expect_code 1 oci-push --cert-dir certs $SECURE/ocipipe/app:x <img.stream 2>err &&
	test_one_error_line oci-push err &&
	grep "asks for a user name and password" err &&
	test_expect_code 1 oci-push --creds alice:s3cret $SECURE/ocipipe/app:x <img.stream 2>err &&
	test_one_error_line oci-push err &&
	grep -i "certificate" err &&
	oci-push --tls-verify=false --creds alice:s3cret $SECURE/ocipipe/app:insecure <img.stream
'

test_expect_success SECURE 'credentials from auth files: --authfile, $REGISTRY_AUTH_FILE, XDG_RUNTIME_DIR, docker config' '
	auth=$(printf alice:s3cret | base64) &&
	printf "{\"auths\":{\"%s\":{\"auth\":\"%s\"}}}" "$SECURE" "$auth" >auth.json &&
	oci-push --cert-dir certs --authfile auth.json $SECURE/ocipipe/app:a1 <img.stream &&
	REGISTRY_AUTH_FILE=$TEST_DIR/auth.json oci-push --cert-dir certs \
		$SECURE/ocipipe/app:a2 <img.stream &&
	mkdir -p xdg/containers .docker &&
	printf "{\"auths\":{\"%s/ocipipe\":{\"auth\":\"%s\"},\"%s\":{\"auth\":\"%s\"}}}" \
		"$SECURE" "$auth" "$SECURE" "$(printf alice:nope | base64)" >xdg/containers/auth.json &&
	XDG_RUNTIME_DIR=$TEST_DIR/xdg oci-push --cert-dir certs $SECURE/ocipipe/app:a3 <img.stream &&
	printf "{\"auths\":{\"https://%s/v1/\":{\"auth\":\"%s\"}}}" "$SECURE" "$auth" >.docker/config.json &&
	oci-push --cert-dir certs $SECURE/ocipipe/app:a4 <img.stream &&
	test_expect_code 1 oci-push --cert-dir certs --authfile missing.json \
		$SECURE/ocipipe/app:a5 <img.stream 2>err &&
	test_one_error_line oci-push err
'

if test_have_prereq PODMAN && test_have_prereq ROOT && test_have_prereq SECURE; then
	podman_setup
fi
test_expect_success PODMAN,ROOT,SECURE 'podman pull of the pushed image' '
	podman_ pull -q --cert-dir certs --creds alice:s3cret \
		docker://$SECURE/ocipipe/app:1.0 >pull.out 2>&1 &&
	podman_ image inspect --format "{{.Digest}}" "$SECURE/ocipipe/app:1.0" >pdigest &&
	test "$(cat pdigest)" = "$(cat img.digest)"
'

# --- token auth and faults ----------------------------------------------------

test_expect_success TOKEN 'token auth: a token with pull,push on the repository' '
	oci-push --tls-verify=false --creds bob:hunter2 $TOKREG/ocipipe/tok:1 <img.stream &&
	grep "token user=bob service=ocipipe-registry scope=repository:ocipipe/tok:pull,push" \
		token.log &&
	skopeo inspect --raw --tls-verify=false --creds bob:hunter2 \
		docker://$TOKREG/ocipipe/tok:1 >traw.json &&
	test "sha256:$(sha256_of traw.json)" = "$(cat img.digest)" &&
	test_expect_code 1 oci-push --tls-verify=false --creds bob:wrong \
		$TOKREG/ocipipe/tok:2 <img.stream 2>err &&
	test_one_error_line oci-push err &&
	grep "authentication failed" err
'

# resumed LOG: after each fault on a PATCH, the upload went on in the same
# session (a status request, then that range again; after a 401 the range
# again at once), never with a new POST
resumed() {
	"$PYTHON" - "$1" <<-'EOF'
	import sys
	lines = open(sys.argv[1]).read().splitlines()
	faults = [i for i, l in enumerate(lines) if l.startswith("PATCH") and "FAULT" in l]
	assert faults, "no fault on a PATCH"
	for i in faults:
	    rng = lines[i].split(" ")[2]
	    rest = lines[i + 1:]
	    again = [j for j, l in enumerate(rest) if l.startswith("PATCH") and l.split(" ")[2] == rng]
	    assert again, "range %s never sent again" % rng
	    before = rest[:again[0]]
	    assert not [l for l in before if l.startswith("POST")], "a new upload: %r" % before
	    if "FAULT 401" not in lines[i]:
	        assert [l for l in before if l.startswith("GET ") and "/blobs/uploads/" in l], \
	            "no status request before %s" % rng
	    assert rest[again[0]].endswith("-> 202"), rest[again[0]]
	EOF
}

test_expect_success TOKEN 'faults (reset, 500, 401, timeout) during a check-first upload: resumed, not restarted' '
	grep -c "^token " token.log >tokens &&
	start_proxy p1 $TOKREG PATCH:2:reset PATCH:4:500 PATCH:6:401 PATCH:8:stall &&
	oci-push --tls-verify=false --creds bob:hunter2 $FAST --timeout 2 --summary \
		$PROXY/ocipipe/faults:1 <img.stream 2>push.err &&
	test "$(grep -c FAULT p1.log)" = 4 &&
	resumed p1.log &&
	test "$(grep -c "^token " token.log)" -ge $(($(cat tokens) + 2)) &&
	skopeo copy -q --src-tls-verify=false --src-creds bob:hunter2 \
		docker://$TOKREG/ocipipe/faults:1 oci:fback:1 &&
	test "$(manifest_digest fback 1)" = "$(cat img.digest)" &&
	same_blobs fback layout
'

test_expect_success TOKEN 'a reset during a streamed upload: resumed from the chunk held in memory' '
	start_proxy p2 $TOKREG PATCH:3:reset PATCH:5:500 &&
	oci-push --stream --tls-verify=false --creds bob:hunter2 $FAST \
		$PROXY/ocipipe/sfaults:1 <img.stream &&
	resumed p2.log &&
	skopeo inspect --raw --tls-verify=false --creds bob:hunter2 \
		docker://$TOKREG/ocipipe/sfaults:1 >sfraw.json &&
	test "sha256:$(sha256_of sfraw.json)" = "$(cat img.digest)"
'

test_expect_success TOKEN 'an answer lost after the registry took a PATCH: check-first starts that blob again from the spool' '
	start_proxy p3 $TOKREG PATCH:3:lost &&
	oci-push --tls-verify=false --creds bob:hunter2 $FAST $PROXY/ocipipe/lost:1 \
		<img.stream &&
	skopeo copy -q --src-tls-verify=false --src-creds bob:hunter2 \
		docker://$TOKREG/ocipipe/lost:1 oci:lback:1 &&
	test "$(manifest_digest lback 1)" = "$(cat img.digest)"
'

test_expect_success TOKEN 'failures that last: one line, exit 1, the tag still points at the old image' '
	oci-push --tls-verify=false --creds bob:hunter2 $TOKREG/ocipipe/keep:1 <img.stream &&
	start_proxy p4 $TOKREG "PATCH:*:500" "PUT:*:500" &&
	test_expect_code 1 oci-push --tls-verify=false --creds bob:hunter2 $FAST --retry-times 2 \
		$PROXY/ocipipe/keep:1 <new.stream 2>err &&
	test_one_error_line oci-push err &&
	grep "after 3 attempts" err &&
	start_proxy p5 $TOKREG PATCH:3:lost &&
	test_expect_code 1 oci-push --stream --tls-verify=false --creds bob:hunter2 $FAST \
		$PROXY/ocipipe/keep:1 <new.stream 2>err &&
	test_one_error_line oci-push err &&
	start_proxy p6 $TOKREG "PUT/manifests/:*:500" &&
	test_expect_code 1 oci-push --tls-verify=false --creds bob:hunter2 $FAST --retry-times 1 \
		$PROXY/ocipipe/keep:1 <new.stream 2>err &&
	test_one_error_line oci-push err &&
	skopeo inspect --raw --tls-verify=false --creds bob:hunter2 \
		docker://$TOKREG/ocipipe/keep:1 >kraw.json &&
	test "sha256:$(sha256_of kraw.json)" = "$(cat img.digest)"
'

test_done
