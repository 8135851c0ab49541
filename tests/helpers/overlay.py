#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The merged tree of staged layer directories, by the OCI rules.

usage: overlay.py OUTDIR LAYERDIR...

Each LAYERDIR is the tree of one layer as it is put into the layer's tar,
OCI whiteouts included as empty files: ".wh.NAME" deletes NAME of the
layers below, ".wh..wh..opq" in a directory deletes everything the layers
below had in it (image-spec, "Applying Changesets").  The layers are
applied in order onto OUTDIR (created empty): first this layer's
whiteouts (they act on the layers below only), then its entries, which
replace what is there unless both are directories (then the directory
stays, its children merge, and it takes the new owner, mode and mtime).
Whiteout files never reach OUTDIR.  Regular files, directories and
symlinks only; owner, mode and mtime are copied (run as root for owners).

This is the expected result for `umoci unpack` of the image built from
the layers, computed without ocipipe or any image tool.
"""
import os
import shutil
import stat
import sys

OPQ = '.wh..wh..opq'


def remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)


def whiteouts(layer, out, rel):
    src = os.path.join(layer, rel)
    names = sorted(os.listdir(src))
    dst = os.path.join(out, rel)
    if OPQ in names and os.path.isdir(dst) and not os.path.islink(dst):
        for n in os.listdir(dst):
            remove(os.path.join(dst, n))
    for n in names:
        p = os.path.join(src, n)
        if n == OPQ:
            continue
        if n.startswith('.wh.'):
            remove(os.path.join(dst, n[4:]))
        elif os.path.isdir(p) and not os.path.islink(p):
            if os.path.isdir(dst) and not os.path.islink(dst):
                whiteouts(layer, out, os.path.join(rel, n))


def add(layer, out, rel, done):
    """Copy the entries of layer/rel into out/rel; list them in done."""
    for n in sorted(os.listdir(os.path.join(layer, rel))):
        if n.startswith('.wh.'):
            continue
        r = os.path.join(rel, n)
        src = os.path.join(layer, r)
        dst = os.path.join(out, r)
        st = os.lstat(src)
        both_dirs = (stat.S_ISDIR(st.st_mode) and os.path.isdir(dst)
                     and not os.path.islink(dst))
        if not both_dirs:
            remove(dst)
            if stat.S_ISDIR(st.st_mode):
                os.mkdir(dst)
            elif stat.S_ISLNK(st.st_mode):
                os.symlink(os.readlink(src), dst)
            elif stat.S_ISREG(st.st_mode):
                shutil.copyfile(src, dst)
            else:
                raise SystemExit('overlay.py: unsupported file type: %s' % src)
        done.append((r, st))
        if stat.S_ISDIR(st.st_mode):
            add(layer, out, r, done)


def main(argv):
    if len(argv) < 3:
        raise SystemExit(__doc__)
    out = argv[1]
    os.mkdir(out)
    for layer in argv[2:]:
        whiteouts(layer, out, '.')
        done = [('.', os.lstat(layer))]
        add(layer, out, '.', done)
        # metadata deepest first, so a directory keeps its mtime
        for r, st in sorted(done, key=lambda e: -e[0].count('/')):
            p = os.path.join(out, r)
            os.lchown(p, st.st_uid, st.st_gid)
            if not stat.S_ISLNK(st.st_mode):
                os.chmod(p, stat.S_IMODE(st.st_mode))
            os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


if __name__ == '__main__':
    main(sys.argv)
