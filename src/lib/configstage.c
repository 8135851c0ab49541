/* SPDX-License-Identifier: MIT */
/*
 * oci-config's stage: see ocistream/configstage.h.
 */
#include "config.h"

#include <string.h>

#include <ocistream/configstage.h>
#include <ocistream/rfc3339.h>

#include "internal.h"

void
ocis_config_opts_release(struct ocis_config_opts *o)
{
	ocis_strv_clear(&o->entrypoint);
	ocis_strv_clear(&o->cmd);
	ocis_strv_clear(&o->env);
	ocis_strv_clear(&o->labels);
	ocis_strv_clear(&o->ports);
	ocis_strv_clear(&o->volumes);
}

int
ocis_config_apply(struct ocis_config *c, const struct ocis_config_opts *o, ocis_error_t **err)
{
	size_t i;

	if (o->arch != NULL) {
		if (ocis_config_set_platform(c, o->arch, o->variant, err) < 0)
			return -1;
	} else if (o->variant != NULL) {
		if (ocis_config_set_str(&c->variant, o->variant, err) < 0)
			return -1;
	}
	if (o->os != NULL && *o->os == 0)
		return ocis_error_set(err, 0, "invalid --os: empty value");
	if ((o->os && ocis_config_set_str(&c->os, o->os, err) < 0) ||
	    (o->author && ocis_config_set_str(&c->author, o->author, err) < 0) ||
	    (o->user && ocis_config_set_str(&c->user, o->user, err) < 0) ||
	    (o->workdir && ocis_config_set_str(&c->working_dir, o->workdir, err) < 0) ||
	    (o->stop_signal && ocis_config_set_str(&c->stop_signal, o->stop_signal, err) < 0))
		return -1;
	if (o->workdir && *o->workdir && *o->workdir != '/')
		return ocis_error_set(err, 0, "invalid working directory '%s': expected an "
				      "absolute path", o->workdir);
	if (o->entrypoint.set && ocis_strv_copy(&c->entrypoint, &o->entrypoint, err) < 0)
		return -1;
	if (o->cmd.set && ocis_strv_copy(&c->cmd, &o->cmd, err) < 0)
		return -1;
	for (i = 0; i < o->env.n; i++)
		if (ocis_config_set_env(c, o->env.v[i], err) < 0)
			return -1;
	for (i = 0; i < o->labels.n; i++)
		if (ocis_config_set_label(c, o->labels.v[i], err) < 0)
			return -1;
	for (i = 0; i < o->ports.n; i++)
		if (ocis_config_add_port(c, o->ports.v[i], err) < 0)
			return -1;
	for (i = 0; i < o->volumes.n; i++)
		if (ocis_config_add_volume(c, o->volumes.v[i], err) < 0)
			return -1;
	return 0;
}

/* The base config: --from wins over a config in the stream.  1 when there
 * is one, 0 for none (c stays empty). */
static int
load_base(struct ocis_config *c, const struct ocis_buf *from, const struct ocis_open_image *im,
	  ocis_error_t **err)
{
	if (from != NULL) {
		if (ocis_config_from_json(c, (const char *)from->data, from->len, err) < 0)
			return ocis_error_wrap(err, "--from config");
		return 1;
	}
	if (im->have_config) {
		if (ocis_config_from_json(c, (const char *)im->config.data, im->config.len,
					  err) < 0)
			return ocis_error_wrap(err, "config in the stream");
		return 1;
	}
	return 0;
}

static int
stage(const struct ocis_config_opts *o, const struct ocis_buf *from,
      const struct ocis_open_image *im, struct ocis_config *c,
      void (*warn)(void *ctx, const char *msg), void *warn_ctx, ocis_error_t **err)
{
	int base;

	if ((base = load_base(c, from, im, err)) < 0 || ocis_config_apply(c, o, err) < 0)
		return -1;
	if (o->created != NULL) {
		if (ocis_config_set_str(&c->created, o->created, err) < 0)
			return -1;
	} else {
		char ts[32];
		if (ocis_rfc3339(o->epoch, ts) < 0)
			return ocis_error_set(err, 0, "cannot format the creation time");
		if (ocis_config_set_str(&c->created, ts, err) < 0)
			return -1;
	}
	if (ocis_config_set_defaults(c, o->epoch, err) < 0)
		return -1;
	if (ocis_config_sync_layers(c, im->layers.v, im->layers.n, err) < 0) {
		/* the stream's layers are what the image has: a --from
		 * config describing other layers keeps its settings only */
		if (from == NULL)
			return -1;
		ocis_error_free(err);
		ocis__warnf(warn, warn_ctx, "--from config: its rootfs does not match the "
			    "stream; rebuilding diff_ids and history from the stream's layers");
		ocis_config_clear_layers(c);
		if (ocis_config_sync_layers(c, im->layers.v, im->layers.n, err) < 0)
			return -1;
	}
	if (base) {
		/* a metadata-only step over a base: one history entry */
		struct ocis_history_entry h;

		memset(&h, 0, sizeof(h));
		h.created = c->created;
		h.created_by = (char *)o->history;
		h.empty_layer = 1;
		if (ocis_config_add_history(c, &h, err) < 0)
			return -1;
	}
	return 0;
}

int
ocis_config_stage(const struct ocis_config_opts *o, const struct ocis_buf *from,
		  const struct ocis_open_image *im, struct ocis_config *out,
		  void (*warn)(void *ctx, const char *msg), void *warn_ctx, ocis_error_t **err)
{
	ocis_config_init(out);
	if (stage(o, from, im, out, warn, warn_ctx, err) < 0) {
		ocis_config_release(out);
		return -1;
	}
	return 0;
}
