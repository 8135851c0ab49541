/* SPDX-License-Identifier: MIT */
/*
 * The OCI image config: an in-memory model, defaults, JSON in and out.
 *
 * Bytes: ocis_config_to_json writes keys in one fixed order (created,
 * author, architecture, variant, os, config{User, ExposedPorts, Env,
 * Entrypoint, Cmd, Volumes, WorkingDir, Labels, StopSignal}, rootfs{type,
 * diff_ids}, history[{created, created_by, author, comment, empty_layer}]),
 * omits empty optional fields, and writes no floating point; maps (ports,
 * volumes, labels) are written sorted by key.  Same model, same bytes.
 */
#ifndef OCISTREAM_IMAGECONFIG_H
#define OCISTREAM_IMAGECONFIG_H

#include <stddef.h>
#include <stdint.h>

#include <ocistream/error.h>
#include <ocistream/io.h>
#include <ocistream/layerdesc.h>
#include <ocistream/strv.h>

struct ocis_history_entry {
	char *created;
	char *created_by;
	char *author;
	char *comment;
	int empty_layer;
};

struct ocis_config {
	char *created;		/* RFC 3339 */
	char *author;
	char *architecture;	/* OCI/Go name: amd64, arm64, ... */
	char *variant;		/* v7, v8, ... or NULL */
	char *os;		/* linux */
	char *user;
	struct ocis_strv exposed_ports;	/* "80/tcp" */
	struct ocis_strv env;		/* "K=V" */
	struct ocis_strv entrypoint;
	struct ocis_strv cmd;
	struct ocis_strv volumes;
	char *working_dir;
	struct ocis_strv labels;	/* "k=v" */
	char *stop_signal;
	struct ocis_strv diff_ids;
	struct ocis_history_entry *history;
	size_t n_history;
};

void ocis_config_init(struct ocis_config *c);
void ocis_config_release(struct ocis_config *c);

/* Fill what is missing: os "linux", architecture (and variant) of the build
 * machine, created from `created_epoch` (seconds; the caller passes
 * SOURCE_DATE_EPOCH or now). */
int ocis_config_set_defaults(struct ocis_config *c, int64_t created_epoch, ocis_error_t **err);

/* Append a layer: its diff_id, and a history entry from its descriptor
 * (created defaults to the config's created). */
int ocis_config_add_layer(struct ocis_config *c, const struct ocis_layer_desc *d,
			  ocis_error_t **err);

int ocis_config_to_json(const struct ocis_config *c, struct ocis_buf *out, ocis_error_t **err);
/* Parse an existing config (keeps every field the model knows; unknown keys
 * are ignored, null counts as absent, a known key of the wrong type is an
 * error naming it).  On success *c is overwritten without being released:
 * pass a fresh or released config.  On failure *c is untouched. */
int ocis_config_from_json(struct ocis_config *c, const char *json, size_t len, ocis_error_t **err);

/*
 * Setters for front ends.  Each validates its value and fails with a message
 * naming it; the config is unchanged on failure.
 */
/* Replace a string field (NULL or "" clears it). */
int ocis_config_set_str(char **field, const char *value, ocis_error_t **err);
/* Platform: `arch` is mapped with ocis_arch_lookup (unknown names are an
 * error); the variant is `variant` when not NULL ("" clears it), else the
 * one the mapping gives (which may be none). */
int ocis_config_set_platform(struct ocis_config *c, const char *arch, const char *variant,
			     ocis_error_t **err);
/* Env "K=V": replaces the value of an existing K in place, else appends. */
int ocis_config_set_env(struct ocis_config *c, const char *kv, ocis_error_t **err);
/* Label "k=v" (v may be empty): replaces an existing k, else adds. */
int ocis_config_set_label(struct ocis_config *c, const char *kv, ocis_error_t **err);
/* Port "<port>[/tcp|/udp|/sctp]" or a range "<lo>-<hi>[/proto]" (at most
 * 1024 ports); no protocol means tcp; ports 1..65535. */
int ocis_config_add_port(struct ocis_config *c, const char *spec, ocis_error_t **err);
/* Volume: an absolute path. */
int ocis_config_add_volume(struct ocis_config *c, const char *path, ocis_error_t **err);
/* Append a history entry (strings copied). */
int ocis_config_add_history(struct ocis_config *c, const struct ocis_history_entry *h,
			    ocis_error_t **err);
/* Forget rootfs.diff_ids and the whole history. */
void ocis_config_clear_layers(struct ocis_config *c);

/*
 * Make rootfs.diff_ids describe `layers` (the image's layers in stream
 * order): when the config's diff_ids are a prefix of the layers' diffIDs,
 * the missing layers are appended with ocis_config_add_layer; any other
 * difference is an error naming the first layer that differs.
 */
int ocis_config_sync_layers(struct ocis_config *c, const struct ocis_layer_desc *layers,
			    size_t n_layers, ocis_error_t **err);

/* ocis_config_add_layer appends a history entry only while the history is
 * consistent (as many non-empty entries as diff_ids); for a base config
 * without history it adds the diff_id alone, so the count stays valid. */

#endif
