#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Look inside image streams and tar headers, for the tests.

usage: stream.py split STREAM OUTDIR
         Read an image stream (docs/image-stream.md): the blob of each run of
         ocipipe/chunk.NNNNNN entries goes to OUTDIR/blob-N, the layer.json
         closing it to OUTDIR/layer-N.json, each config.json to
         OUTDIR/config-N.json, manifest.json to OUTDIR/manifest-N.json,
         an error entry to OUTDIR/error-N (N from 1 per kind).  Prints one
         line per item in stream order: "layer N CHUNKS", "config N",
         "manifest N", "error N".  Fails (exit 1) on an entry outside
         ocipipe/, chunks numbered out of order, or a chunk run that no
         layer.json closes.
       stream.py headers TAR
         One line per header block of an uncompressed tar:
         "typeflag magic+version name" (the raw 100-byte name field, with
         non-printable bytes escaped).
       stream.py names TAR
         "typeflag name" for each entry of an uncompressed tar: the raw name (pax path or GNU
         long name applied; ustar prefix joined), escaped like listing.py.
       stream.py annotate STREAM KEY=VALUE...
         Copy an image stream to stdout, with the annotations added to every
         ocipipe/layer.json (the other entries as they are; headers as the
         stream's: mode 0644, owner 0:0, mtime 0).
       stream.py verify-blobs LAYOUTDIR
         Check that every file under LAYOUTDIR/blobs/ALG/ is named by the
         digest of its content; print the number of blobs.
"""
import hashlib
import os
import sys
import tarfile


def split(stream, outdir):
    os.makedirs(outdir, exist_ok=True)
    counts = {'layer': 0, 'config': 0, 'manifest': 0, 'error': 0}
    blob = None
    nchunks = 0
    f = sys.stdin.buffer if stream == '-' else open(stream, 'rb')
    tf = tarfile.open(fileobj=f, mode='r|', ignore_zeros=True)
    for m in tf:
        name = m.name
        if not name.startswith('ocipipe/'):
            raise SystemExit('stream.py: entry outside ocipipe/: %r' % name)
        leaf = name[len('ocipipe/'):]
        data_f = tf.extractfile(m) if m.isreg() else None
        if leaf.startswith('chunk.'):
            if blob is None:
                blob = open(os.path.join(outdir, 'blob-%d' % (counts['layer'] + 1)), 'wb')
                nchunks = 0
            if leaf != 'chunk.%06d' % nchunks:
                raise SystemExit('stream.py: chunk %r out of order (expected chunk.%06d)'
                                 % (leaf, nchunks))
            while True:
                b = data_f.read(1 << 20)
                if not b:
                    break
                blob.write(b)
            nchunks += 1
            continue
        if leaf == 'layer.json':
            counts['layer'] += 1
            n = counts['layer']
            if blob is None:    # an empty blob has no chunk
                open(os.path.join(outdir, 'blob-%d' % n), 'wb').close()
            else:
                blob.close()
                blob = None
            with open(os.path.join(outdir, 'layer-%d.json' % n), 'wb') as o:
                o.write(data_f.read())
            print('layer %d %d' % (n, nchunks))
            nchunks = 0
            continue
        if blob is not None:
            raise SystemExit('stream.py: chunk run not closed by layer.json before %r' % name)
        for kind, fname in (('config', 'config-%d.json'), ('manifest', 'manifest-%d.json'),
                            ('error', 'error-%d')):
            if leaf == kind + ('.json' if kind != 'error' else ''):
                counts[kind] += 1
                with open(os.path.join(outdir, fname % counts[kind]), 'wb') as o:
                    o.write(data_f.read())
                print('%s %d' % (kind, counts[kind]))
                break
        else:
            raise SystemExit('stream.py: unknown stream entry %r' % name)
    if blob is not None:
        raise SystemExit('stream.py: stream ends inside a chunk run')
    return 0


def annotate(stream, pairs):
    import io
    import json
    add = dict(p.split('=', 1) for p in pairs)
    tf = tarfile.open(stream, mode='r|', ignore_zeros=True)
    out = tarfile.open(fileobj=sys.stdout.buffer, mode='w|', format=tarfile.USTAR_FORMAT)
    for m in tf:
        data = tf.extractfile(m).read()
        if m.name == 'ocipipe/layer.json':
            d = json.loads(data)
            d.setdefault('annotations', {}).update(add)
            data = json.dumps(d, separators=(',', ':')).encode()
        info = tarfile.TarInfo(m.name)
        info.size, info.mode, info.mtime = len(data), 0o644, 0
        out.addfile(info, io.BytesIO(data))
    out.close()
    return 0


def esc(b):
    return ''.join(chr(c) if 0x21 <= c < 0x7f and c != 0x5c else '\\x%02x' % c for c in b)


def parse_pax(data):
    recs = {}
    i = 0
    while i < len(data):
        sp = data.index(b' ', i)
        n = int(data[i:sp])
        rec = data[sp + 1:i + n - 1]
        k, _, v = rec.partition(b'=')
        recs[k] = v
        i += n
    return recs


def headers(path, names_only=False):
    """Walk the header blocks; print them, or the effective entry names."""
    with open(path, 'rb') as f:
        zeros = 0
        pending = None          # name from a pax 'x' or GNU 'L' entry
        while True:
            h = f.read(512)
            if len(h) < 512:
                break
            if h == b'\0' * 512:
                zeros += 1
                if zeros == 2:
                    break
                continue
            zeros = 0
            name = h[0:100].split(b'\0', 1)[0]
            prefix = h[345:500].split(b'\0', 1)[0] if h[257:262] == b'ustar' else b''
            size_field = h[124:136]
            if size_field[0] & 0x80:
                size = int.from_bytes(size_field[1:], 'big')
            else:
                size = int(size_field.split(b'\0', 1)[0].strip() or b'0', 8)
            typeflag = chr(h[156]) if h[156] else '0'
            padded = (size + 511) // 512 * 512
            if typeflag in 'xL':
                data = f.read(padded)[:size]
                if typeflag == 'x':
                    pending = parse_pax(data).get(b'path', pending)
                else:
                    pending = data.split(b'\0', 1)[0]
                if not names_only:
                    print('%s %s %s' % (typeflag, esc(h[257:265]), esc(name)))
                continue
            if not names_only:
                print('%s %s %s' % (typeflag, esc(h[257:265]), esc(name)))
            elif typeflag not in 'gKX':
                full = pending if pending is not None else \
                    (prefix + b'/' + name if prefix else name)
                print('%s %s' % (typeflag, esc(full).replace('\\x20', ' ')))
            if typeflag not in 'gKX':
                pending = None
            while padded > 0:
                b = f.read(min(padded, 1 << 20))
                if not b:
                    break
                padded -= len(b)
    return 0


def verify_blobs(layout):
    n = 0
    top = os.path.join(layout, 'blobs')
    for alg in sorted(os.listdir(top)):
        for hexd in sorted(os.listdir(os.path.join(top, alg))):
            h = hashlib.new(alg)
            with open(os.path.join(top, alg, hexd), 'rb') as f:
                while True:
                    b = f.read(1 << 20)
                    if not b:
                        break
                    h.update(b)
            if h.hexdigest() != hexd:
                raise SystemExit('stream.py: blob %s:%s has digest %s' % (alg, hexd, h.hexdigest()))
            n += 1
    print(n)
    return 0


def main():
    a = sys.argv[1:]
    if len(a) == 3 and a[0] == 'split':
        return split(a[1], a[2])
    if len(a) == 2 and a[0] == 'headers':
        return headers(a[1])
    if len(a) == 2 and a[0] == 'names':
        return headers(a[1], names_only=True)
    if len(a) >= 2 and a[0] == 'annotate':
        return annotate(a[1], a[2:])
    if len(a) == 2 and a[0] == 'verify-blobs':
        return verify_blobs(a[1])
    sys.stderr.write(__doc__)
    return 2


if __name__ == '__main__':
    try:
        sys.exit(main())
    except (tarfile.TarError, EOFError, OSError) as e:
        sys.stderr.write('stream.py: %s\n' % e)
        sys.exit(1)
