// SPDX-License-Identifier: MIT
//
// estargz-verify BLOB TOCDIGEST: read an eStargz layer blob the way
// stargz-snapshotter does, with its own estargz package (Debian's
// golang-github-containerd-stargz-snapshotter-dev, built offline in GOPATH
// mode): estargz.Open (footer, TOC), VerifyTOC against the annotation's
// digest, then every chunk of every regular file: its member range
// [offset, next offset) decompressed on its own, checked against its
// chunkDigest, and the file's chunks against its digest.  Prints, sorted
// by name, "sha256-of-content name" (name escaped as listing.py does) for every regular file as read
// through the TOC (estargz's OpenFile, what a lazy pull serves), and last
// "diffid sha256:..." of the whole blob decompressed (Go's multistream
// gzip reader: the layer as a plain client sees it, TOC entry included,
// which is what upstream's Writer.DiffID hashes).
package main

import (
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/containerd/stargz-snapshotter/estargz"
	digest "github.com/opencontainers/go-digest"
)

func fail(f string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "estargz-verify: "+f+"\n", a...)
	os.Exit(1)
}

// esc writes a name as tests/helpers/listing.py does: printable ASCII and space but
// the backslash as it is, every other byte as \xNN.
func esc(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '\\' {
			out = append(out, c)
		} else {
			out = append(out, []byte(fmt.Sprintf("\\x%02x", c))...)
		}
	}
	return string(out)
}

func main() {
	if len(os.Args) != 3 {
		fail("usage: estargz-verify BLOB TOCDIGEST")
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fail("%v", err)
	}
	st, err := f.Stat()
	if err != nil {
		fail("%v", err)
	}
	sr := io.NewSectionReader(f, 0, st.Size())
	r, err := estargz.Open(sr)
	if err != nil {
		fail("open: %v", err)
	}
	v, err := r.VerifyTOC(digest.Digest(os.Args[2]))
	if err != nil {
		fail("TOC: %v", err)
	}
	var names []string
	sums := map[string]string{}
	var walk func(dir string, e *estargz.TOCEntry)
	seen := map[string]bool{}
	walk = func(dir string, e *estargz.TOCEntry) {
		e.ForeachChild(func(base string, c *estargz.TOCEntry) bool {
			name := base
			if dir != "" {
				name = dir + "/" + base
			}
			if c.Type == "dir" {
				walk(name, c)
			} else if c.Type == "reg" && !seen[name] {
				seen[name] = true
				names = append(names, name)
			}
			return true
		})
	}
	// an empty layer's TOC has no entries, so no root either
	if root, ok := r.Lookup(""); ok {
		walk("", root)
	}
	chunks := 0
	for _, name := range names {
		// a hardlink's entry is its target's: its chunks are under that name
		e, _ := r.Lookup(name)
		whole := sha256.New()
		for off := int64(0); off < e.Size; {
			ce, ok := r.ChunkEntryForOffset(e.Name, off)
			if !ok {
				fail("%s: no chunk at %d", name, off)
			}
			ver, err := v.Verifier(ce)
			if err != nil {
				fail("%s: %v", name, err)
			}
			zr, err := gzip.NewReader(io.NewSectionReader(sr, ce.Offset, ce.NextOffset()-ce.Offset))
			if err != nil {
				fail("%s at %d: %v", name, ce.Offset, err)
			}
			if _, err := io.CopyN(io.MultiWriter(ver, whole), zr, ce.ChunkSize); err != nil {
				fail("%s chunk at %d: %v", name, off, err)
			}
			if !ver.Verified() {
				fail("%s: chunk at %d does not match its chunkDigest", name, off)
			}
			off += ce.ChunkSize
			chunks++
		}
		if e.Size > 0 && digest.NewDigest("sha256", whole).String() != e.Digest {
			fail("%s: content does not match its digest", name)
		}
		ra, err := r.OpenFile(e.Name)
		if err != nil {
			fail("%s: %v", name, err)
		}
		h := sha256.New()
		if _, err := io.Copy(h, io.NewSectionReader(ra, 0, e.Size)); err != nil {
			fail("%s: %v", name, err)
		}
		sums[name] = fmt.Sprintf("%x", h.Sum(nil))
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Printf("%s %s\n", sums[n], esc(n))
	}
	tr, err := gzip.NewReader(io.NewSectionReader(f, 0, st.Size()))
	if err != nil {
		fail("gunzip: %v", err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, tr); err != nil {
		fail("gunzip: %v", err)
	}
	fmt.Fprintf(os.Stderr, "estargz-verify: %d files, %d chunks verified\n", len(names), chunks)
	fmt.Printf("diffid sha256:%x\n", h.Sum(nil))
}
