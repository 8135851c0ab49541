/* SPDX-License-Identifier: MIT */
/*
 * A client of the OCI distribution spec over libcurl: one registry, one
 * repository, pushing.
 *
 * Connection: https; with tls_verify 0, any certificate is accepted and a
 * registry that speaks no TLS is reached over plain http (skopeo's
 * --tls-verify=false).  Certificates as containers/image finds them:
 * cert_dir, else the first of ~/.config/containers/certs.d/HOST,
 * /etc/containers/certs.d/HOST, /etc/docker/certs.d/HOST that exists;
 * there *.crt are CAs (added to the system ones), a *.cert with the *.key
 * of the same name a client certificate.
 *
 * Authentication: what GET /v2/ asks for.  Basic sends the credentials
 * with every request; Bearer fetches a token from the challenge's realm
 * (service, scope "repository:REPO:pull,push" plus pull on each
 * mount_from repository, the credentials as Basic when there are some) and
 * fetches a new one whenever a request is answered 401, then sends the
 * request again.
 *
 * Faults: a transport error (reset, refused, timeout: no byte moved for
 * `timeout` seconds) or an answer 408, 429 or 5xx is retried up to
 * `retries` times with a backoff (retry_delay seconds, doubling from
 * 1 s when 0, at most 30 s between attempts).  An upload is never
 * replayed blindly: after a failed PATCH the upload's status (GET on its
 * URL) says how many bytes the registry holds and the upload goes on from
 * there, when the caller's source still has them.  When the registry has
 * lost the upload, or holds fewer bytes than the source can supply again,
 * the call fails with err->code ESTALE: a caller with the whole blob (a
 * spool, memory) may start over, a streaming caller cannot.
 *
 * Nothing here is thread-safe: one thread uses a registry at a time (the
 * byte counter may be read from any thread).  The library never prints:
 * each request and retry may be reported through log().
 */
#ifndef OCISTREAM_REGISTRY_H
#define OCISTREAM_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include <ocistream/error.h>

struct ocis_registry_opts {
	const char *host;		/* "host[:port]" */
	const char *repo;		/* "ns/name" */
	const char *user;		/* credentials, or NULL (anonymous) */
	const char *password;
	int tls_verify;			/* 0: see above */
	const char *cert_dir;		/* NULL: the per-host defaults */
	const char *const *mount_from;	/* repositories to mount blobs from */
	size_t n_mount_from;
	int retries;			/* further attempts after a fault */
	double retry_delay;		/* seconds; 0 = exponential from 1 s */
	long timeout;			/* seconds without progress (and to connect) */
	/* Events, may be NULL: level 1 faults, retries, resumes and mounts,
	 * level 2 every request and its answer. */
	void (*log)(void *ctx, int level, const char *msg);
	void *log_ctx;
};

struct ocis_registry;
struct ocis_upload;

/* Where a blob's bytes come from for an upload: bytes [mem_off,
 * mem_off + mem_len) in memory at mem, or all of them in the file fd
 * (offset 0 = the blob's first byte; fd -1 when unused). */
struct ocis_blob_src {
	const unsigned char *mem;
	uint64_t mem_off;
	size_t mem_len;
	int fd;
};

/* Connect (GET /v2/), learn the scheme and the authentication, fetch a
 * token when the registry uses them.  Wrong credentials fail here. */
int ocis_registry_open(struct ocis_registry **out, const struct ocis_registry_opts *o,
		       ocis_error_t **err);
void ocis_registry_free(struct ocis_registry *reg);

/* Request body bytes handed to the registry so far (resent bytes count
 * again); readable from any thread. */
uint64_t ocis_registry_bytes_sent(const struct ocis_registry *reg);
/* From another thread: on = 1 makes the request under way, and every
 * request until on = 0, fail at once (CURLE_ABORTED_BY_CALLBACK, no
 * retry); for a push that failed elsewhere and must stop its uploads. */
void ocis_registry_interrupt(struct ocis_registry *reg, int on);
/* "https://host:port" or "http://..." once open. */
const char *ocis_registry_base_url(const struct ocis_registry *reg);

/* HEAD the blob: 1 when the repository has it (with this size when the
 * answer says one), 0 when not. */
int ocis_registry_blob_exists(struct ocis_registry *reg, const char *digest, uint64_t size,
			      ocis_error_t **err);

/* Start an upload session, first trying to mount digest (may be NULL)
 * from each mount_from repository: 1 when mounted (*u stays NULL), 0 with
 * *u a new session. */
int ocis_registry_upload_start(struct ocis_registry *reg, const char *digest,
			       struct ocis_upload **u, ocis_error_t **err);
/* Mount digest from the mount_from repositories (no session is left
 * open): 1 when mounted, 0 when not (or there are none to try). */
int ocis_registry_blob_mount(struct ocis_registry *reg, const char *digest,
			     ocis_error_t **err);
/* Bytes the registry has acknowledged for the session. */
uint64_t ocis_registry_upload_offset(const struct ocis_upload *u);
/* Send the blob's bytes from the session's offset to end (PATCH with
 * Content-Range), resuming after faults; src must hold them. */
int ocis_registry_upload_send(struct ocis_registry *reg, struct ocis_upload *u,
			      const struct ocis_blob_src *src, uint64_t end, ocis_error_t **err);
/* Close the session: PUT ?digest=.  An answer lost on the way is made up
 * for by a HEAD of the blob.  Frees u in every case. */
int ocis_registry_upload_finish(struct ocis_registry *reg, struct ocis_upload *u,
				const char *digest, uint64_t size, ocis_error_t **err);
/* Give up a session (DELETE, errors ignored) and free it; NULL is fine. */
void ocis_registry_upload_cancel(struct ocis_registry *reg, struct ocis_upload *u);

/*
 * A whole blob the caller holds (src covers all size bytes): mounted when
 * it can be, else uploaded in one PUT (size <= chunk) or in PATCHes of
 * chunk bytes, resumed after faults and started over when the registry
 * lost the upload.  Returns 1 when mounted, 0 when uploaded.
 */
int ocis_registry_blob_upload(struct ocis_registry *reg, const char *digest, uint64_t size,
			      const struct ocis_blob_src *src, size_t chunk, ocis_error_t **err);

/* PUT a manifest (or index) under reference (a tag or its digest) with
 * its media type as Content-Type. */
int ocis_registry_manifest_put(struct ocis_registry *reg, const char *reference,
			       const char *media_type, const void *data, size_t len,
			       ocis_error_t **err);

#endif
