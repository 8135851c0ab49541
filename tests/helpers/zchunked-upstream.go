// SPDX-License-Identifier: MIT
//
// zchunked-upstream < TAR > BLOB: the layer containers/storage's own
// zstd:chunked compressor makes of TAR (Debian's
// golang-github-containers-storage-dev, built offline in GOPATH mode), to
// compare its chunks with ocipipe's.  Prints the annotations it sets on
// stderr, one KEY=VALUE a line.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/containers/storage/pkg/chunked/compressor"
)

func main() {
	meta := map[string]string{}
	level := 3
	out := bufio.NewWriter(os.Stdout)
	w, err := compressor.ZstdCompressor(out, meta, &level)
	if err == nil {
		_, err = io.Copy(w, os.Stdin)
	}
	if err == nil {
		err = w.Close()
	}
	if err == nil {
		err = out.Flush()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "zchunked-upstream: %v\n", err)
		os.Exit(1)
	}
	for k, v := range meta {
		fmt.Fprintf(os.Stderr, "%s=%s\n", k, v)
	}
}
