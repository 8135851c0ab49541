// SPDX-License-Identifier: MIT
//
// zchunked-verify BLOB LAYERJSON: read a zstd:chunked layer blob the way
// containers/storage's partial pull does, with Debian's klauspost zstd and
// vbatts tar-split (built offline in GOPATH mode):
//   - the footer (the last skippable frame: 7 little-endian words and the
//     magic "GNUlInUx") against the manifest-position and
//     tarsplit-position annotations of the descriptor (ocipipe's
//     layer.json), the old keys of containers/storage 1.43 against the new;
//   - the manifest frame against the manifest-checksum annotation, the
//     tar-split frame against the TOC's tarSplitDigest, both decompressed
//     to their stated lengths; the TOC decoded with unknown fields refused;
//   - every regular file's frames [offset, endOffset) decompressed on their
//     own to the file's digest, and every chunk's [offset, next offset) to
//     its chunkSize and chunkDigest;
//   - the TOC against the tar-split's headers as upstream's
//     ensureTOCMatchesTarSplit compares them (type, name, link, mode,
//     size, ids, modtime, device numbers, xattrs; no name twice);
//   - the tar rebuilt with tar-split's asm package from the tar-split and
//     the files as the TOC's frames give them, and its sha256 against the
//     diffID.
// Prints "sha256-of-content name" for every regular file and hardlink
// (its target's content), sorted by name
// (escaped as listing.py does), then "diffid sha256:..." of the rebuilt
// tar; a summary on stderr.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"io/ioutil"
	"os"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/vbatts/tar-split/archive/tar"
	"github.com/vbatts/tar-split/tar/asm"
	"github.com/vbatts/tar-split/tar/storage"
)

// FileMetadata as containers/storage's pkg/chunked/internal/minimal has it.
type FileMetadata struct {
	Type        string            `json:"type"`
	Name        string            `json:"name"`
	Linkname    string            `json:"linkName,omitempty"`
	Mode        int64             `json:"mode,omitempty"`
	Size        int64             `json:"size,omitempty"`
	UID         int               `json:"uid,omitempty"`
	GID         int               `json:"gid,omitempty"`
	ModTime     *time.Time        `json:"modtime,omitempty"`
	AccessTime  *time.Time        `json:"accesstime,omitempty"`
	ChangeTime  *time.Time        `json:"changetime,omitempty"`
	Devmajor    int64             `json:"devMajor,omitempty"`
	Devminor    int64             `json:"devMinor,omitempty"`
	Xattrs      map[string]string `json:"xattrs,omitempty"`
	Digest      string            `json:"digest,omitempty"`
	Offset      int64             `json:"offset,omitempty"`
	EndOffset   int64             `json:"endOffset,omitempty"`
	ChunkSize   int64             `json:"chunkSize,omitempty"`
	ChunkOffset int64             `json:"chunkOffset,omitempty"`
	ChunkDigest string            `json:"chunkDigest,omitempty"`
	ChunkType   string            `json:"chunkType,omitempty"`
}

type TOC struct {
	Version        int            `json:"version"`
	Entries        []FileMetadata `json:"entries"`
	TarSplitDigest string         `json:"tarSplitDigest,omitempty"`
}

var tarTypes = map[byte]string{
	tar.TypeReg: "reg", tar.TypeLink: "hardlink", tar.TypeChar: "char",
	tar.TypeBlock: "block", tar.TypeDir: "dir", tar.TypeFifo: "fifo",
	tar.TypeSymlink: "symlink",
}

func fail(f string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "zchunked-verify: "+f+"\n", a...)
	os.Exit(1)
}

// esc writes a name as tests/helpers/listing.py does.
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

func sha(b []byte) string { return fmt.Sprintf("sha256:%x", sha256.Sum256(b)) }

var dec, _ = zstd.NewReader(nil)

// frames decompresses blob[from:to) as a run of zstd frames.
func frames(blob []byte, from, to int64, what string) []byte {
	if from <= 0 || to <= from || to > int64(len(blob)) {
		fail("%s: range [%d, %d) outside the blob", what, from, to)
	}
	if !bytes.Equal(blob[from:from+4], []byte{0x28, 0xb5, 0x2f, 0xfd}) {
		fail("%s: no zstd frame starts at %d", what, from)
	}
	out, err := dec.DecodeAll(blob[from:to], nil)
	if err != nil {
		fail("%s: frames [%d, %d): %v", what, from, to, err)
	}
	return out
}

// skippable returns the data of the skippable frame whose data is
// blob[off:off+n), checking its header.
func skippable(blob []byte, off, n uint64, what string) []byte {
	if off < 8 || off+n > uint64(len(blob)) {
		fail("%s: [%d, +%d) outside the blob", what, off, n)
	}
	h := blob[off-8 : off]
	if binary.LittleEndian.Uint32(h) != 0x184D2A50 || uint64(binary.LittleEndian.Uint32(h[4:])) != n {
		fail("%s: no skippable frame of %d bytes at %d", what, n, off-8)
	}
	return blob[off : off+n]
}

func decode(z []byte, ulen uint64, what string) []byte {
	out, err := dec.DecodeAll(z, nil)
	if err != nil {
		fail("%s: %v", what, err)
	}
	if uint64(len(out)) != ulen {
		fail("%s: %d bytes, the position says %d", what, len(out), ulen)
	}
	return out
}

type desc struct {
	DiffID      string            `json:"diffID"`
	Annotations map[string]string `json:"annotations"`
}

const (
	keyChecksum = "io.github.containers.zstd-chunked.manifest-checksum"
	keyPosition = "io.github.containers.zstd-chunked.manifest-position"
	keyTarSplit = "io.github.containers.zstd-chunked.tarsplit-position"
	oldChecksum = "io.containers.zstd-chunked.manifest-checksum"
	oldPosition = "io.containers.zstd-chunked.manifest-position"
)

func readFooter(blob []byte, d *desc) [7]uint64 {
	var v [7]uint64
	if len(blob) < 72 {
		fail("blob too small")
	}
	f := skippable(blob, uint64(len(blob)-64), 64, "footer")
	for i := range v {
		v[i] = binary.LittleEndian.Uint64(f[8*i:])
	}
	if string(f[56:]) != "GNUlInUx" {
		fail("footer: bad magic %q", f[56:])
	}
	pos := fmt.Sprintf("%d:%d:%d:%d", v[0], v[1], v[2], v[3])
	ts := fmt.Sprintf("%d:%d:%d", v[4], v[5], v[6])
	a := d.Annotations
	if a[keyPosition] != pos || a[keyTarSplit] != ts || v[3] != 1 {
		fail("footer %s %s against the annotations %q %q", pos, ts, a[keyPosition], a[keyTarSplit])
	}
	if a[oldPosition] != a[keyPosition] || a[oldChecksum] != a[keyChecksum] {
		fail("the old annotation keys do not name the same manifest frame")
	}
	return v
}

// contents checks every regular file's frames and chunks; name -> content.
func contents(blob []byte, toc *TOC) (map[string][]byte, int) {
	files := map[string][]byte{}
	nchunks := 0
	for i := 0; i < len(toc.Entries); i++ {
		e := toc.Entries[i]
		if e.Type == "chunk" {
			fail("chunk entry %q without its file", e.Name)
		}
		j := i + 1
		for j < len(toc.Entries) && toc.Entries[j].Type == "chunk" {
			j++
		}
		if e.Type != "reg" || e.Size == 0 {
			if j != i+1 || e.Digest != "" || e.Offset != 0 {
				fail("%q: data fields without data", e.Name)
			}
			if e.Type == "reg" {
				files[e.Name] = []byte{}
			}
			continue
		}
		data := frames(blob, e.Offset, e.EndOffset, e.Name)
		if int64(len(data)) != e.Size || sha(data) != e.Digest {
			fail("%q: its frames give %d bytes %s, the TOC says %d %s", e.Name, len(data), sha(data), e.Size, e.Digest)
		}
		if j > i+1 {
			var at int64
			for k := i; k < j; k++ {
				c := toc.Entries[k]
				end := e.EndOffset
				if k+1 < j {
					end = toc.Entries[k+1].Offset
				}
				if c.Name != e.Name || c.ChunkOffset != at {
					fail("%q: chunk %d at %d, expected %d", e.Name, k-i, c.ChunkOffset, at)
				}
				cd := frames(blob, c.Offset, end, e.Name+" chunk")
				if int64(len(cd)) != c.ChunkSize || sha(cd) != c.ChunkDigest ||
					!bytes.Equal(cd, data[at:at+c.ChunkSize]) {
					fail("%q: chunk at %d does not match its size or digest", e.Name, at)
				}
				at += c.ChunkSize
				nchunks++
			}
			if at != e.Size {
				fail("%q: chunks cover %d of %d bytes", e.Name, at, e.Size)
			}
		} else {
			nchunks++
		}
		files[e.Name] = data
		i = j - 1
	}
	return files, nchunks
}

func timeEq(a, b *time.Time) bool {
	z := time.Unix(0, 0)
	if a != nil && (a.IsZero() || a.Equal(z)) {
		a = nil
	}
	if b != nil && (b.IsZero() || b.Equal(z)) {
		b = nil
	}
	return (a == nil && b == nil) || (a != nil && b != nil && a.Equal(*b))
}

// matchTarSplit: the TOC's metadata against the tar-split's headers, as
// upstream's ensureTOCMatchesTarSplit and asm.IterateHeaders do.
func matchTarSplit(toc *TOC, ts []byte) int {
	pending := map[string]*FileMetadata{}
	for i := range toc.Entries {
		e := &toc.Entries[i]
		if e.Type == "chunk" {
			continue
		}
		if pending[e.Name] != nil {
			fail("TOC has %q twice", e.Name)
		}
		pending[e.Name] = e
	}
	up := storage.NewJSONUnpacker(bytes.NewReader(ts))
	var pad int64
	n := 0
	for {
		ent, err := up.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fail("tar-split: %v", err)
		}
		if ent.Type != storage.SegmentType {
			continue
		}
		p := ent.Payload
		if int64(len(p)) < pad {
			fail("tar-split: a segment shorter than the padding before it")
		}
		hdr, err := tar.NewReader(bytes.NewReader(p[pad:])).Next()
		pad = 0
		if err == io.EOF {
			continue
		}
		if err != nil {
			fail("tar-split: a header: %v", err)
		}
		pad = (512 - hdr.Size%512) % 512
		e := pending[hdr.Name]
		if e == nil {
			fail("tar-split has %q, the TOC has not", hdr.Name)
		}
		delete(pending, hdr.Name)
		x := map[string]string{}
		for k, v := range hdr.PAXRecords {
			if strings.HasPrefix(k, "SCHILY.xattr.") {
				x[k[13:]] = base64.StdEncoding.EncodeToString([]byte(v))
			}
		}
		ex := e.Xattrs
		if ex == nil {
			ex = map[string]string{}
		}
		mt := hdr.ModTime
		if tarTypes[hdr.Typeflag] != e.Type || hdr.Linkname != e.Linkname || hdr.Mode != e.Mode ||
			hdr.Size != e.Size || hdr.Uid != e.UID || hdr.Gid != e.GID || !timeEq(&mt, e.ModTime) ||
			e.AccessTime != nil || e.ChangeTime != nil ||
			hdr.Devmajor != e.Devmajor || hdr.Devminor != e.Devminor || !reflect.DeepEqual(x, ex) {
			fail("%q: TOC %+v against the tar-split's header %+v", hdr.Name, *e, *hdr)
		}
		n++
	}
	if len(pending) != 0 {
		fail("TOC entries missing in the tar-split: %d", len(pending))
	}
	return n
}

type getter map[string][]byte

func (g getter) Get(name string) (io.ReadCloser, error) {
	d, ok := g[name]
	if !ok {
		return nil, fmt.Errorf("no file %q in the TOC", name)
	}
	return ioutil.NopCloser(bytes.NewReader(d)), nil
}

func main() {
	if len(os.Args) != 3 {
		fail("usage: zchunked-verify BLOB LAYERJSON")
	}
	blob, err := ioutil.ReadFile(os.Args[1])
	if err != nil {
		fail("%v", err)
	}
	dj, err := ioutil.ReadFile(os.Args[2])
	if err != nil {
		fail("%v", err)
	}
	var d desc
	if err := json.Unmarshal(dj, &d); err != nil {
		fail("%s: %v", os.Args[2], err)
	}
	v := readFooter(blob, &d)
	mz := skippable(blob, v[0], v[1], "manifest")
	if sha(mz) != d.Annotations[keyChecksum] {
		fail("manifest: %s, the annotation says %s", sha(mz), d.Annotations[keyChecksum])
	}
	var toc TOC
	jd := json.NewDecoder(bytes.NewReader(decode(mz, v[2], "manifest")))
	jd.DisallowUnknownFields()
	if err := jd.Decode(&toc); err != nil || toc.Version != 1 {
		fail("TOC: %v (version %d)", err, toc.Version)
	}
	tsz := skippable(blob, v[4], v[5], "tar-split")
	if sha(tsz) != toc.TarSplitDigest {
		fail("tar-split: %s, the TOC says %s", sha(tsz), toc.TarSplitDigest)
	}
	ts := decode(tsz, v[6], "tar-split")
	files, nchunks := contents(blob, &toc)
	nhdr := matchTarSplit(&toc, ts)

	h := sha256.New()
	if err := asm.WriteOutputTarStream(getter(files), storage.NewJSONUnpacker(bytes.NewReader(ts)), h); err != nil {
		fail("rebuilding the tar: %v", err)
	}
	// a hardlink serves its target's content, as a partial pull links it
	shown := map[string][]byte{}
	for n, d := range files {
		shown[n] = d
	}
	for _, e := range toc.Entries {
		if e.Type == "hardlink" {
			d, ok := files[e.Linkname]
			if !ok {
				fail("hardlink %q to %q, no regular file of the TOC", e.Name, e.Linkname)
			}
			shown[e.Name] = d
		}
	}
	names := make([]string, 0, len(shown))
	for n := range shown {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Printf("%x %s\n", sha256.Sum256(shown[n]), esc(n))
	}
	fmt.Printf("diffid sha256:%x\n", h.Sum(nil))
	fmt.Fprintf(os.Stderr, "zchunked-verify: %d entries, %d files, %d chunks verified\n", nhdr, len(files), nchunks)
}
