// SPDX-License-Identifier: MIT
//
// gotar FORMAT DIR: a tar of DIR on stdout written by Go's archive/tar,
// the way Go build tools (ko, crane, buildkit helpers) write rootfs tars:
// FORMAT is pax, gnu or ustar; names relative to DIR ("./" for DIR itself),
// hardlinks as such, xattrs (pax only, not on symlinks) as SCHILY.xattr.
// Only the standard library, so `go build gotar.go` needs no network.
package main

import (
	"archive/tar"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

var time0 time.Time

func main() {
	format := map[string]tar.Format{"pax": tar.FormatPAX, "gnu": tar.FormatGNU,
		"ustar": tar.FormatUSTAR}[os.Args[1]]
	root := os.Args[2]
	tw := tar.NewWriter(os.Stdout)
	inodes := map[uint64]string{}
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if fi.Mode()&os.ModeSocket != 0 {
			return nil
		}
		link := ""
		if fi.Mode()&os.ModeSymlink != 0 {
			link, _ = os.Readlink(p)
		}
		h, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		h.Name = rel
		if fi.IsDir() {
			h.Name += "/"
		}
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode().IsRegular() && st.Nlink > 1 {
			if t, ok := inodes[st.Ino]; ok {
				h.Typeflag = tar.TypeLink
				h.Linkname = t
				h.Size = 0
			} else {
				inodes[st.Ino] = rel
			}
		}
		h.Uname, h.Gname = "", ""
		// what the format cannot hold is left out, not an error
		h.AccessTime, h.ChangeTime = time0, time0
		h.Format = format
		if format == tar.FormatPAX && fi.Mode()&os.ModeSymlink == 0 {
			if n, _ := syscall.Listxattr(p, nil); n > 0 {
				buf := make([]byte, n)
				n, _ = syscall.Listxattr(p, buf)
				h.PAXRecords = map[string]string{}
				for _, x := range strings.Split(strings.TrimRight(string(buf[:n]), "\x00"), "\x00") {
					vs, _ := syscall.Getxattr(p, x, nil)
					v := make([]byte, vs)
					syscall.Getxattr(p, x, v)
					h.PAXRecords["SCHILY.xattr."+x] = string(v)
				}
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if h.Typeflag == tar.TypeReg {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(tw, f)
			return err
		}
		return nil
	})
	if err == nil {
		err = tw.Close()
	}
	if err != nil {
		os.Stderr.WriteString("gotar: " + err.Error() + "\n")
		os.Exit(1)
	}
}
