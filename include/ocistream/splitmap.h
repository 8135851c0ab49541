/* SPDX-License-Identifier: MIT */
/*
 * The split map of `oci-layer --split=MAP`: which layer each path of a
 * rootfs goes to.
 *
 * The text is lines of `NAME<TAB>PATH<LF>`.  PATH is written as a layer
 * names it: relative, no leading "./" or "/", no trailing "/", no empty,
 * "." or ".." component, components of 1 to 255 bytes.  NAME is 1 to 128
 * bytes without control characters.  Anything else is an error that gives
 * the line number (a hostile map must not be half-read): a line without a
 * TAB, a carriage return, a NUL byte, a PATH given twice, a NAME equal to
 * the rest layer's name, more than OCIS_SPLITMAP_LAYERS_MAX layers.
 *
 * Lookup: a path goes to the layer of the longest PATH that is the path
 * itself or one of its ancestors, compared component by component
 * ("usr/lib" covers "usr/lib/x", never "usr/libexec"); no PATH covers it:
 * the rest layer.  The layers are numbered in the order of the first line
 * that names each; the rest layer is last.
 *
 * Cost: the PATHs in a path table (ocistream/pathtab.h) and 2 bytes a
 * node; the names once each.
 */
#ifndef OCISTREAM_SPLITMAP_H
#define OCISTREAM_SPLITMAP_H

#include <stddef.h>
#include <stdint.h>

#include <ocistream/error.h>
#include <ocistream/pathtab.h>

/* Layers a map may give, the rest layer included: runtimes refuse images
 * of more than 127 layers. */
#define OCIS_SPLITMAP_LAYERS_MAX 127
#define OCIS_SPLITMAP_NAME_MAX 128
/* The largest map text read (a map with a line per file of a big rootfs
 * stays far below). */
#define OCIS_SPLITMAP_TEXT_MAX (64u * 1024 * 1024)

struct ocis_splitmap {
	struct ocis_pathtab paths;	/* the PATHs */
	uint16_t *layer_of;		/* by node id: layer + 1, 0 = no line */
	size_t layer_of_cap;
	char **names;			/* the layers in order, the rest last */
	size_t n_layers;		/* the rest layer included */
	struct ocis_pathtab_walk walk;
};

/* Parse text[0..len) (not NUL-terminated) with the rest layer's name.  On
 * failure *m is released. */
int ocis_splitmap_parse(struct ocis_splitmap *m, const char *text, size_t len, const char *rest,
			ocis_error_t **err);
/* Read the map file at path (at most OCIS_SPLITMAP_TEXT_MAX) and parse it. */
int ocis_splitmap_load(struct ocis_splitmap *m, const char *path, const char *rest,
		       ocis_error_t **err);
/* The layer of a normalised path ("" is the root), 0 .. n_layers - 1.
 * -1 with *err only when out of memory. */
int ocis_splitmap_lookup(struct ocis_splitmap *m, const char *path, size_t len,
			 ocis_error_t **err);
void ocis_splitmap_release(struct ocis_splitmap *m);

#endif
