#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write a hostile or odd OCI image tarball on stdout, for t1110.

usage: mkimage.py CASE

Every image is built here from scratch (tarfile, gzip, hashlib; zstd
through the zstd program), so nothing of ocipipe decides what the input
looks like.  The good image ("good") has one gzip layer with etc/os-release
and bin/tool, a config for linux/amd64 and the tag "latest"; the other
cases change one thing of it (see CASES below, one line each).
"""
import gzip
import hashlib
import io
import json
import subprocess
import sys
import tarfile

MT_LAYER = 'application/vnd.oci.image.layer.v1.tar'
MT_GZIP = MT_LAYER + '+gzip'
MT_ZSTD = MT_LAYER + '+zstd'
MT_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
MT_INDEX = 'application/vnd.oci.image.index.v1+json'
MT_CONFIG = 'application/vnd.oci.image.config.v1+json'
D_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json'
D_CONFIG = 'application/vnd.docker.container.image.v1+json'
D_LAYER = 'application/vnd.docker.image.rootfs.diff.tar.gzip'
D_FOREIGN = 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip'
MTIME = 1700000000


def sha(b):
    return 'sha256:' + hashlib.sha256(b).hexdigest()


def gz(b):
    return gzip.compress(b, mtime=0)


def zstd(b):
    return subprocess.run(['zstd', '-q', '-c'], input=b, stdout=subprocess.PIPE,
                          check=True).stdout


# --- layers -------------------------------------------------------------

def tar(entries):
    """entries: (name, kind, arg): kind f (arg = data), d, l (symlink to
    arg), h (hardlink to arg)."""
    buf = io.BytesIO()
    tf = tarfile.open(fileobj=buf, mode='w', format=tarfile.PAX_FORMAT)
    for name, kind, arg in entries:
        ti = tarfile.TarInfo(name)
        ti.mtime = MTIME
        ti.mode = 0o755 if kind == 'd' else 0o644
        data = None
        if kind == 'f':
            data = arg if isinstance(arg, bytes) else arg.encode()
            ti.size = len(data)
        elif kind == 'd':
            ti.type = tarfile.DIRTYPE
        elif kind == 'l':
            ti.type = tarfile.SYMTYPE
            ti.linkname = arg
        elif kind == 'h':
            ti.type = tarfile.LNKTYPE
            ti.linkname = arg
        tf.addfile(ti, io.BytesIO(data) if data is not None else None)
    tf.close()
    return buf.getvalue()


BASE_TREE = [('etc/', 'd', None), ('etc/os-release', 'f', 'base\n'),
             ('bin/', 'd', None), ('bin/tool', 'f', 'tool\n')]


class Image:
    """One image: layers (raw tar, compressed blob, media type), a config,
    a manifest, index.json, and what the archive holds."""

    def __init__(self):
        self.layers = []
        self.config_extra = {}
        self.config_bytes = None     # exact bytes instead of the made config
        self.diff_ids = None         # instead of the real ones
        self.manifest_type = MT_MANIFEST
        self.config_type = MT_CONFIG
        self.manifest_extra = {}
        self.tag = 'latest'
        self.blobs = {}              # digest -> bytes

    def add_layer(self, entries, comp='gzip', media_type=None, blob=None):
        raw = tar(entries)
        if blob is None:
            blob = {'gzip': gz, 'zstd': zstd, 'none': lambda b: b}[comp](raw)
        mt = media_type or {'gzip': MT_GZIP, 'zstd': MT_ZSTD, 'none': MT_LAYER}[comp]
        self.layers.append({'raw': raw, 'blob': blob, 'mediaType': mt})

    def layer_descs(self):
        return [{'mediaType': l['mediaType'], 'digest': sha(l['blob']),
                 'size': len(l['blob'])} for l in self.layers]

    def config(self):
        if self.config_bytes is not None:
            return self.config_bytes
        c = {'created': '2023-11-14T22:13:20Z', 'architecture': 'amd64', 'os': 'linux',
             'config': {'Env': ['PATH=/usr/bin:/bin']},
             'rootfs': {'type': 'layers',
                        'diff_ids': self.diff_ids if self.diff_ids is not None else
                        [sha(l['raw']) for l in self.layers]},
             'history': [{'created': '2023-11-14T22:13:20Z', 'created_by': 'mkimage.py'}
                         for _ in self.layers]}
        c.update(self.config_extra)
        return json.dumps(c, sort_keys=True).encode()

    def manifest(self):
        cfg = self.config()
        m = {'schemaVersion': 2, 'mediaType': self.manifest_type,
             'config': {'mediaType': self.config_type, 'digest': sha(cfg), 'size': len(cfg)},
             'layers': self.layer_descs()}
        m.update(self.manifest_extra)
        return json.dumps(m).encode()

    def descriptor(self):
        man = self.manifest()
        d = {'mediaType': self.manifest_type, 'digest': sha(man), 'size': len(man)}
        if self.tag:
            d['annotations'] = {'org.opencontainers.image.ref.name': self.tag}
        return d

    def all_blobs(self):
        out = [l['blob'] for l in self.layers]
        return out + [self.config(), self.manifest()]


def index_json(descs):
    return json.dumps({'schemaVersion': 2, 'mediaType': MT_INDEX,
                       'manifests': descs}).encode()


def member(tf, name, data=b'', kind='f', link=None):
    ti = tarfile.TarInfo(name)
    ti.mtime = MTIME
    ti.mode = 0o644
    if kind == 'f':
        ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
        return
    ti.type = {'d': tarfile.DIRTYPE, 'l': tarfile.SYMTYPE, 'h': tarfile.LNKTYPE}[kind]
    ti.mode = 0o755 if kind == 'd' else 0o777
    if link is not None:
        ti.linkname = link
    tf.addfile(ti)


def archive(blobs, index, extra_first=(), extra_last=(), index_first=False,
            fmt=tarfile.USTAR_FORMAT, marker=True):
    """An image tarball: oci-layout, blobs (list of bytes, in order),
    index.json (bytes, or None for none), extra members (callables on the
    TarFile)."""
    buf = io.BytesIO()
    tf = tarfile.open(fileobj=buf, mode='w', format=fmt)
    if marker:
        member(tf, 'oci-layout', b'{"imageLayoutVersion":"1.0.0"}')
    for f in extra_first:
        f(tf)
    if index_first and index is not None:
        member(tf, 'index.json', index)
    member(tf, 'blobs/', kind='d')
    member(tf, 'blobs/sha256/', kind='d')
    seen = set()
    for b in blobs:
        d = sha(b)
        if d in seen:
            continue
        seen.add(d)
        member(tf, 'blobs/sha256/' + d[7:], b)
    for f in extra_last:
        f(tf)
    if not index_first and index is not None:
        member(tf, 'index.json', index)
    tf.close()
    return buf.getvalue()


def good_image():
    im = Image()
    im.add_layer(BASE_TREE)
    return im


def simple(im, **kw):
    return archive(im.all_blobs(), index_json([im.descriptor()]), **kw)


# --- cases --------------------------------------------------------------

def c_good():
    return simple(good_image())


def layer_case(*trees, comp='gzip'):
    im = good_image()
    for t in trees:
        im.add_layer(t, comp=comp)
    return simple(im)


def blob_member_case(kind):
    """A blob member that is not a regular file; the real bytes are not in
    the archive."""
    im = good_image()
    layer = im.layers[0]['blob']
    name = 'blobs/sha256/' + sha(layer)[7:]
    blobs = [b for b in im.all_blobs() if b is not layer]
    if kind == 'symlink':
        extra = [lambda tf: member(tf, name, kind='l', link='/etc/passwd')]
    elif kind == 'hardlink':
        extra = [lambda tf: member(tf, name, kind='h', link='oci-layout')]
    else:
        extra = [lambda tf: member(tf, name + '/', kind='d')]
    return archive(blobs, index_json([im.descriptor()]), extra_last=extra)


def c_blob_symlink():
    return blob_member_case('symlink')


def c_blob_hardlink():
    return blob_member_case('hardlink')


def c_blob_dir():
    return blob_member_case('dir')


def c_blob_dotdot():
    im = good_image()
    return simple(im, extra_last=[lambda tf: member(tf, 'blobs/sha256/../../evil', b'x')])


def c_blob_abs():
    im = good_image()
    return simple(im, extra_last=[lambda tf: member(
        tf, '/blobs/sha256/' + '0' * 64, b'x')])


def two_indexes(name):
    """The good image with its index.json first, then a second index.json
    naming another image (one file, name)."""
    im = good_image()
    other = Image()
    other.add_layer([(name, 'f', name + '\n')])
    idx = index_json([other.descriptor()])
    return archive(im.all_blobs() + other.all_blobs(), index_json([im.descriptor()]),
                   index_first=True, extra_last=[lambda tf: member(tf, 'index.json', idx)])


def c_blob_prefix():
    """After the real index.json, a member whose ustar prefix field puts
    it elsewhere: 'elsewhere/index.json', naming another image."""
    data = bytearray(two_indexes('evil'))
    hdr = data.rfind(b'index.json\0')
    assert hdr % 512 == 0
    data[hdr + 345:hdr + 345 + 9] = b'elsewhere'
    chk = sum(data[hdr:hdr + 148]) + 8 * 32 + sum(data[hdr + 156:hdr + 512])
    data[hdr + 148:hdr + 156] = b'%06o\0 ' % chk
    return bytes(data)


def set_size(data, name, size_field):
    """The header of member name (a bytearray of an archive) with another
    size field (12 bytes), its checksum made right again."""
    hdr = data.find(name.encode() + b'\0')
    assert hdr % 512 == 0
    data[hdr + 124:hdr + 136] = size_field
    data[hdr + 148:hdr + 156] = b' ' * 8
    data[hdr + 148:hdr + 156] = b'%06o\0 ' % sum(data[hdr:hdr + 512])
    return data


def c_size_wrap():
    """The 'blobs/' directory member with a base-256 size of 2^64-1: size
    plus padding is 0 in 64 bits, so a reader that adds them reads on
    where GNU tar and bsdtar refuse the archive."""
    data = bytearray(simple(good_image()))
    return bytes(set_size(data, 'blobs/', b'\x80\0\0\0' + b'\xff' * 8))


def c_blob_twice():
    """The layer blob twice: the second copy has other bytes (its name no
    longer matches its content)."""
    im = good_image()
    layer = im.layers[0]['blob']
    name = 'blobs/sha256/' + sha(layer)[7:]
    return simple(im, extra_last=[lambda tf: member(tf, name, layer[:-1] + b'X')])


def c_layer_size():
    im = good_image()
    man = json.loads(im.manifest())
    man['layers'][0]['size'] += 100
    return manifest_override(im, man)


def manifest_override(im, man):
    mb = json.dumps(man).encode()
    d = {'mediaType': im.manifest_type, 'digest': sha(mb), 'size': len(mb),
         'annotations': {'org.opencontainers.image.ref.name': 'latest'}}
    return archive([l['blob'] for l in im.layers] + [im.config(), mb], index_json([d]))


def c_manifest_size():
    im = good_image()
    d = im.descriptor()
    d['size'] += 1
    return archive(im.all_blobs(), index_json([d]))


def c_config_size():
    im = good_image()
    man = json.loads(im.manifest())
    man['config']['size'] += 7
    return manifest_override(im, man)


def c_layer_missing():
    im = good_image()
    return archive(im.all_blobs()[1:], index_json([im.descriptor()]))


def c_manifest_missing():
    im = good_image()
    return archive(im.all_blobs()[:-1], index_json([im.descriptor()]))


def c_no_index_json():
    """Every blob, but no index.json (a base image cut short)."""
    return archive(good_image().all_blobs(), None)


def c_no_marker():
    """Every blob and index.json, but no oci-layout."""
    return simple(good_image(), marker=False)


def c_cut():
    """The good image cut after its blobs, before index.json: no index,
    no end-of-archive marker (what follows in a stream comes right after
    the last blob)."""
    data = c_good()
    return data[:data.find(b'index.json\0')]


def c_index_first():
    return simple(good_image(), index_first=True)


def c_no_layers():
    im = Image()
    return simple(im)


def c_many_layers():
    im = Image()
    for i in range(1000):
        im.add_layer([('f%04d' % i, 'f', '%d\n' % i)])
    return simple(im)


def c_config_not_json():
    im = good_image()
    im.config_bytes = b'this is not json, a config of nothing\n'
    return simple(im)


def c_config_deep():
    im = good_image()
    c = json.loads(im.config())
    c['config']['Labels'] = None
    deep = '[' * 10000 + ']' * 10000
    im.config_bytes = json.dumps(c).encode()[:-1] + b', "x": ' + deep.encode() + b'}'
    return simple(im)


def c_diff_id_wrong():
    im = good_image()
    im.diff_ids = [sha(b'not the layer')]
    return simple(im)


def docker_image(layer_type):
    """The good image with Docker schema 2 media types, its layer of
    layer_type."""
    im = good_image()
    im.manifest_type = D_MANIFEST
    im.config_type = D_CONFIG
    im.layers[0]['mediaType'] = layer_type
    return simple(im)


def c_foreign_layer():
    return docker_image(D_FOREIGN)


def c_nondistributable():
    im = good_image()
    im.layers[0]['mediaType'] = 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip'
    return simple(im)


def c_unknown_layer_type():
    im = good_image()
    im.layers[0]['mediaType'] = 'application/vnd.example.layer.v1.squashfs'
    return simple(im)


# name: (how the one layer is compressed, the media type it is given)
COMP_CASES = {
    'zstd': ('zstd', MT_ZSTD),
    'gzip-is-zstd': ('zstd', MT_GZIP),
    'zstd-is-gzip': ('gzip', MT_ZSTD),
    'plain-is-gzip': ('gzip', MT_LAYER),
}


def comp_case(comp, media_type):
    im = Image()
    im.add_layer(BASE_TREE, comp=comp, media_type=media_type)
    return simple(im)


def c_gzip_garbage():
    im = Image()
    raw = tar(BASE_TREE)
    im.add_layer(BASE_TREE, blob=gz(raw) + b'garbage after the gzip member')
    return simple(im)


def c_docker_types():
    return docker_image(D_LAYER)


def nested(depth):
    im = good_image()
    desc = im.descriptor()
    del desc['annotations']
    desc['platform'] = {'architecture': 'amd64', 'os': 'linux'}
    blobs = im.all_blobs()
    for i in range(depth):
        ib = index_json([desc])
        blobs.append(ib)
        desc = {'mediaType': MT_INDEX, 'digest': sha(ib), 'size': len(ib)}
    desc['annotations'] = {'org.opencontainers.image.ref.name': 'latest'}
    return archive(blobs, index_json([desc]))


def c_nested2():
    return nested(2)


def c_nested3():
    return nested(3)


def c_nested9():
    return nested(9)


def c_index_missing():
    """index.json lists an index blob that is not in the archive."""
    desc = {'mediaType': MT_INDEX, 'digest': sha(b'missing'), 'size': 7}
    return archive(good_image().all_blobs(), index_json([desc]))


def c_docker_archive():
    """What `docker save` writes: manifest.json, <id>.json, <id>/layer.tar."""
    im = good_image()
    raw = im.layers[0]['raw']
    cfg = im.config()
    lid = hashlib.sha256(raw).hexdigest()
    cid = hashlib.sha256(cfg).hexdigest()
    buf = io.BytesIO()
    tf = tarfile.open(fileobj=buf, mode='w', format=tarfile.USTAR_FORMAT)
    member(tf, lid + '/', kind='d')
    member(tf, lid + '/VERSION', b'1.0')
    member(tf, lid + '/json', b'{}')
    member(tf, lid + '/layer.tar', raw)
    member(tf, cid + '.json', cfg)
    member(tf, 'manifest.json', json.dumps([{'Config': cid + '.json',
                                             'RepoTags': ['x:latest'],
                                             'Layers': [lid + '/layer.tar']}]).encode())
    member(tf, 'repositories', b'{"x":{"latest":"%s"}}' % lid.encode())
    tf.close()
    return buf.getvalue()


def c_layout_version():
    im = good_image()
    data = simple(im)
    return data.replace(b'{"imageLayoutVersion":"1.0.0"}', b'{"imageLayoutVersion":"9.0.0"}')


def c_index_twice():
    """index.json twice: the last one (what tar -x leaves) names a second
    image, whose layer has the file 'other'."""
    return two_indexes('other')


# --- layers with odd entries (oci-flatten, oci-diff --lower) -------------

PASSWD = 'root::0:0::/:/bin/sh\n'

# name: the layers put on the good image's one (entries as for tar())
LAYER_CASES = {
    'wh-dotdot': [[('etc/.wh...', 'f', '')]],
    'wh-dot': [[('etc/.wh..', 'f', '')]],
    'wh-empty': [[('etc/.wh.', 'f', '')]],
    'wh-root-opq': [[('.wh..wh..opq', 'f', ''), ('new', 'f', 'new\n')]],
    # .wh..wh..opq, and a whiteout, as a directory with a file in it
    'opq-dir': [[('etc/.wh..wh..opq/', 'd', None), ('etc/.wh..wh..opq/x', 'f', 'x\n')]],
    'wh-dir': [[('etc/.wh.os-release/', 'd', None), ('etc/.wh.os-release/x', 'f', 'x\n')]],
    'link-to-whiteout': [[('etc/.wh.os-release', 'f', ''),
                          ('etc/link', 'h', 'etc/os-release')]],
    'link-to-lower': [[('etc/link', 'h', 'etc/os-release')]],
    'link-to-dir': [[('etc/link', 'h', 'bin')]],
    # a layer makes 'a' a symlink to /etc, the next one writes a/passwd
    'symlink-escape': [[('a', 'l', '/etc')], [('a/passwd', 'f', PASSWD)]],
    'symlink-escape-same': [[('a', 'l', '/etc'), ('a/passwd', 'f', PASSWD)]],
    # bin/tool is a regular file below
    'file-parent': [[('bin/tool/x', 'f', 'x\n')]],
    'root-symlink': [[('./', 'l', '/etc')]],
    'dotdot-entry': [[('../../evil', 'f', 'evil\n')]],
    'abs-entry': [[('/etc/abs', 'f', 'abs\n')]],
}


# FNV-1a hashes these two names alike (0xf3c2790bddd29dd0), and keeps the
# collision under any common suffix (issue 15)
COLL_A, COLL_B = 'EJ3TW5nTDWJ', 'LneudQ4ey6N'
LAYER_CASES.update({
    # both names must survive, each with its own content
    'collide': [[(COLL_A, 'f', 'A\n'), (COLL_B, 'f', 'B\n'),
                 (COLL_A + '-d/', 'd', None), (COLL_A + '-d/x', 'f', 'Ax\n'),
                 (COLL_B + '-d/', 'd', None), (COLL_B + '-d/x', 'f', 'Bx\n')]],
    # a whiteout of one of them must not remove the other
    'collide-wh': [[(COLL_A, 'f', 'A\n'), (COLL_B + '/', 'd', None),
                    (COLL_B + '/x', 'f', 'Bx\n')],
                   [('.wh.' + COLL_A, 'f', '')]],
    # a hardlink to one of them links to that one
    'collide-link': [[(COLL_A, 'f', 'A\n'), (COLL_B, 'f', 'B\n'),
                      ('la', 'h', COLL_A), ('lb', 'h', COLL_B)]],
})


def c_deep():
    """Issue 15, finding 7: layer 1 makes d, d/d, ... DEEP (default 2000)
    levels deep as regular files, layer 2 is a root .wh..wh..opq, layer 3
    holds DEEP_FILES (default 1) files f0... in each of d, d/d, ... from
    level DEEP_FROM (default 1) on (no entries of their own: the
    merged tree is layer 3's files).  Each entry of layer 3 has its
    ancestors as files of layer 1 that layer 2 removed."""
    import os
    depth = int(os.environ.get('DEEP', '2000'))
    names = ['/'.join(['d'] * i) for i in range(1, depth + 1)]
    im = good_image()
    im.add_layer([(n, 'f', '') for n in names])
    im.add_layer([('.wh..wh..opq', 'f', '')])
    files = int(os.environ.get('DEEP_FILES', '1'))
    first = int(os.environ.get('DEEP_FROM', '1'))
    im.add_layer([(n + '/f%d' % k, 'f', n[-8:] + '\n') for n in names[first - 1:-1]
                  for k in range(files)])
    return simple(im)


CASES = {k[2:].replace('_', '-'): v for k, v in globals().items() if k.startswith('c_')}
CASES.update({k: (lambda v=v: layer_case(*v)) for k, v in LAYER_CASES.items()})
CASES.update({k: (lambda v=v: comp_case(*v)) for k, v in COMP_CASES.items()})


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in CASES:
        sys.stderr.write(__doc__ + '\ncases: ' + ' '.join(sorted(CASES)) + '\n')
        return 2
    sys.stdout.buffer.write(CASES[sys.argv[1]]())
    return 0


if __name__ == '__main__':
    sys.exit(main())
