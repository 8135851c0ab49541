/* SPDX-License-Identifier: MIT */
/*
 * The one entry intake: see ocistream/intake.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <ocistream/intake.h>
#include <ocistream/tarentry.h>

#include "internal.h"

void
ocis_intake_init(struct ocis_intake *in, const struct ocis_intake_opts *o)
{
	memset(in, 0, sizeof(*in));
	in->o = *o;
	in->tree.whiteouts = o->whiteouts;
}

void
ocis_intake_release(struct ocis_intake *in)
{
	ocis_treecheck_release(&in->tree);
	ocis_buf_release(&in->path);
	ocis_buf_release(&in->link);
	free(in->xattrs);
	memset(in, 0, sizeof(*in));
}

#define warn(in, ...) ocis__warnf((in)->o.warn, (in)->o.cb_ctx, __VA_ARGS__)

/* A name of the archive (`what`: "name" or "hardlink target") into out. */
static int
name_rule(const struct ocis_intake *in, const char *name, const char *what, struct ocis_buf *out,
	  ocis_error_t **err)
{
	char s1[256];

	if (*name == '/' && in->o.side == OCIS_INTAKE_TREE && !in->o.strip_absolute)
		return ocis_error_set(err, 0, "%s '%s' is absolute (use --strip-absolute to "
				      "store it relative)", what, ocis__safe_name(name, s1, sizeof(s1)));
	return ocis_tarentry_name_normalise(name, out, err);
}

int
ocis_intake_names(struct ocis_intake *in, struct archive_entry *ae, struct ocis_intake_entry *e,
		  ocis_error_t **err)
{
	const char *hl = archive_entry_hardlink(ae);

	memset(e, 0, sizeof(*e));
	e->raw = archive_entry_pathname(ae);
	if (e->raw == NULL)
		return ocis_error_set(err, 0, "an entry without a name");
	if (name_rule(in, e->raw, "name", &in->path, err) < 0)
		return -1;
	e->path = in->path.data ? (const char *)in->path.data : "";
	e->len = in->path.len;
	if (in->o.exclude && e->len > 0 && in->o.exclude(in->o.exclude_ctx, e->path))
		return 0;	/* libarchive skips its data */
	if (hl != NULL) {
		size_t n = strlen(hl);
		char s1[256];

		/* "f/" names a directory: GNU tar and bsdtar refuse to link
		 * it ("Not a directory"), Python's tarfile links f; the name
		 * rule would make it "f" and the link would look fine. */
		if ((n > 0 && hl[n - 1] == '/') || strcmp(hl, ".") == 0 ||
		    (n >= 2 && strcmp(hl + n - 2, "/.") == 0))
			return ocis_error_set(err, 0, "hardlink target '%s' ends as a directory "
					      "name does: tar readers refuse to link it or link "
					      "something else", ocis__safe_name(hl, s1, sizeof(s1)));
		if (name_rule(in, hl, "hardlink target", &in->link, err) < 0)
			return -1;
		e->link = in->link.data ? (const char *)in->link.data : "";
		e->link_len = in->link.len;
		if (in->o.exclude && in->o.exclude(in->o.exclude_ctx, e->link))
			return ocis_error_set(err, 0, "hardlink target '%s' is excluded "
					      "(exclude the link too)", e->link);
	}
	return 1;
}

int
ocis_intake_meta(struct ocis_intake *in, struct archive_entry *ae, struct ocis_intake_entry *e,
		 ocis_error_t **err)
{
	const char *what;
	char s1[256], s2[256];

	if (ocis_tarentry_to_pax(ae, &e->pe, &in->xattrs, &in->xcap, err) < 0)
		return -1;
	if (e->pe.type == 0) {
		warn(in, "entry '%s': sockets cannot be stored in a layer; dropped",
		     ocis__safe_name(e->raw, s1, sizeof(s1)));
		return 0;
	}
	if ((what = ocis_tarentry_unstorable(ae, s1, sizeof(s1))) != NULL)
		warn(in, "entry '%s': its %s; dropped", ocis__safe_name(e->raw, s2, sizeof(s2)), what);
	/* A pax hardlink with data (pax -o linkdata) comes back as a hardlink
	 * with a size: its data is the target's, and the caller skips it. */
	if (e->link != NULL)
		e->pe.linkname = e->link;
	return 1;
}

int
ocis_intake_entry(struct ocis_intake *in, struct archive_entry *ae, struct ocis_intake_entry *e,
		  ocis_error_t **err)
{
	int r;

	if ((r = ocis_intake_names(in, ae, e, err)) <= 0 ||
	    (r = ocis_intake_meta(in, ae, e, err)) <= 0)
		return r;
	return ocis_intake_tree(in, e, err);
}

int
ocis_intake_tree(struct ocis_intake *in, const struct ocis_intake_entry *e, ocis_error_t **err)
{
	int r;

	if (e->len == 0 && e->pe.type != '5')
		return ocis_error_set(err, 0, "only a directory can be the root of the tree");
	if (in->o.side != OCIS_INTAKE_TREE || e->len == 0)
		return 1;
	if (e->link != NULL) {
		/* a link to the root (an empty target) is no earlier entry:
		 * the tree rules refuse it with the others */
		r = ocis_treecheck_link(&in->tree, e->path, e->len, e->link, e->link_len, err);
		if (r <= 0)
			return r;	/* refused, or a link to itself: left out */
	}
	if (ocis_treecheck_add(&in->tree, e->path, e->len, e->pe.type, err) < 0)
		return -1;
	return 1;
}
