/* SPDX-License-Identifier: MIT */
/*
 * oci-layermap: a split map (ocistream/splitmap.h) from the package
 * database of a rootfs directory, so that a package change changes few
 * layers of an oci-layer --split build.
 *
 * File lists read (each a package; the same package in several sources is
 * one package, its lists merged):
 * - dpkg: ROOTFS/var/lib/dpkg/info/NAME.list (NAME may be "pkg:arch"),
 *   one absolute path a line;
 * - opkg: ROOTFS/var/lib/opkg/info/NAME.list and ROOTFS/usr/lib/opkg/info/
 *   NAME.list (Yocto), the path up to the first TAB of each line;
 * - Yocto pkgdata (optional): PKGDATA/runtime/NAME, the JSON object of its
 *   FILES_INFO line (paths to sizes); packages none of whose files are in
 *   the rootfs are ignored (pkgdata lists every package built).
 * Paths: "/." and the root are skipped; directories above a listed path
 * that are symlinks inside the rootfs are resolved inside it (merged /usr:
 * "/bin/sh" is "usr/bin/sh" when bin -> usr/bin), never outside it; a
 * path that is not in the rootfs, has a "..", an empty or over-long
 * component, or a TAB, CR or LF (a map cannot carry it) is left out, and
 * counted.
 *
 * Grouping (the rule is the man page's, oci-layermap(1)): at most
 * max_layers layers, the rest layer included.  G = max(1, (max - 1) / 2)
 * group layers and K = max - 1 - G layers of their own.  A package's size
 * is the bytes of its regular files in the rootfs; its size class is
 * floor(log2(size)) from 1 MiB up.  The K packages of the highest classes
 * (ties by name) get a layer each; every other package goes to group
 * FNV-1a-64(name) mod G.  Owners: a path listed by one package is that
 * package's; a path listed by several (shared directories) is nobody's.
 *
 * Lines: a path's layer is the one layer of every owned path at and below
 * it (a directory whose owned paths are all of one layer, shared or not,
 * is one line, and what is not listed below it goes there too), else its
 * owner's; it gets a line only where that differs from the layer the
 * lines above it give.  Lines come grouped by layer, in layer order (own layers by
 * class then name, groups by number, empty groups left out), paths sorted
 * by bytes with '/' first.  Memory: the listed paths in a path table.
 */
#ifndef OCISTREAM_LAYERMAP_H
#define OCISTREAM_LAYERMAP_H

#include <stddef.h>
#include <stdint.h>

#include <ocistream/error.h>
#include <ocistream/io.h>

#define OCIS_LAYERMAP_DEFAULT_LAYERS 50
/* A file list read at most (a package of a million files stays below). */
#define OCIS_LAYERMAP_LIST_MAX (256u * 1024 * 1024)

struct ocis_layermap_opts {
	int max_layers;		/* 2 .. OCIS_SPLITMAP_LAYERS_MAX, the rest included */
	const char *pkgdata;	/* Yocto PKGDATA_DIR, or NULL */
	const char *rest;	/* the rest layer's name: no package layer is named so */
	void (*warn)(void *ctx, const char *msg);
	void *cb_ctx;
};

struct ocis_layermap_stats {
	uint64_t packages;	/* with at least one path in the rootfs */
	uint64_t paths;		/* listed paths found */
	uint64_t missing;	/* listed paths left out (see above) */
	uint64_t lines;		/* map lines written */
	uint64_t layers;	/* layers named by the map (the rest not counted) */
};

/* The map of the rootfs directory `rootfs` into out (reset first).  No
 * package database at all is an error. */
int ocis_layermap_build(const char *rootfs, const struct ocis_layermap_opts *o,
			struct ocis_buf *out, struct ocis_layermap_stats *stats,
			ocis_error_t **err);

#endif
