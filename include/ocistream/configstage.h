/* SPDX-License-Identifier: MIT */
/*
 * oci-config's stage: the config written for the open image of a stream.
 *
 * The base is a --from config when given, else the config already in the
 * open image, else an empty one.  The options are applied over it, then
 * `created` (the option, else the epoch), the defaults (os, the build
 * machine's platform), rootfs.diff_ids and history made to describe the
 * stream's layers, and, over a base, one history entry for this metadata
 * step.  The front end only gathers the options (flags and OCI_IMAGE_*
 * variables) into struct ocis_config_opts.
 */
#ifndef OCISTREAM_CONFIGSTAGE_H
#define OCISTREAM_CONFIGSTAGE_H

#include <stdint.h>

#include <ocistream/error.h>
#include <ocistream/filter.h>
#include <ocistream/imageconfig.h>
#include <ocistream/io.h>
#include <ocistream/strv.h>

/* Everything optional: NULL (or an absent strv) leaves the base's value. */
struct ocis_config_opts {
	struct ocis_strv entrypoint;	/* set and empty: clear it */
	struct ocis_strv cmd;
	struct ocis_strv env;		/* "K=V", replacing the base's K */
	struct ocis_strv labels;	/* "k=v" */
	struct ocis_strv ports;		/* "80/tcp", "53/udp", "8000-8010" */
	struct ocis_strv volumes;	/* absolute paths */
	const char *arch;		/* any name ocis_arch_lookup knows */
	const char *variant;		/* "" clears */
	const char *os;			/* "" is refused */
	const char *user;
	const char *workdir;		/* absolute */
	const char *stop_signal;
	const char *author;		/* "Name <email>", or either alone */
	const char *created;		/* RFC 3339; NULL: from `epoch` */
	int64_t epoch;			/* source date epoch, or now */
	const char *history;		/* created_by of the metadata step */
};

void ocis_config_opts_release(struct ocis_config_opts *o);	/* the strvs */

/* Apply the options to c (a base or an empty config); on failure the
 * error names the value. */
int ocis_config_apply(struct ocis_config *c, const struct ocis_config_opts *o,
		      ocis_error_t **err);

/* The config for the open image `im` into *out (initialised here; the
 * caller releases it).  `from` (may be NULL) is a --from config's JSON:
 * when its rootfs does not match the stream's layers, diff_ids and
 * history are rebuilt from the layers and warn() is told why. */
int ocis_config_stage(const struct ocis_config_opts *o, const struct ocis_buf *from,
		      const struct ocis_open_image *im, struct ocis_config *out,
		      void (*warn)(void *ctx, const char *msg), void *warn_ctx,
		      ocis_error_t **err);

#endif
