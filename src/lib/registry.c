/* SPDX-License-Identifier: MIT */
/*
 * The distribution-spec client: see ocistream/registry.h.
 *
 * One curl easy handle, reset before each request so that no option of
 * one request leaks into the next, while its connection cache keeps the
 * connection open.  Every request goes through request(): the
 * authentication (a 401 fetches a new token and sends the request again)
 * and the retries of what may be sent twice.  Uploads are the exception:
 * a PATCH that failed is followed by a status request, and the registry's
 * Range says where to go on (upload_send).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include <ocistream/io.h>
#include <ocistream/json.h>
#include <ocistream/registry.h>
#include <ocistream/wwwauth.h>

#include "internal.h"

#define RESP_BODY_MAX (1024 * 1024)	/* error documents and tokens */
#define HEADER_MAX 8192
#define CERTS_MAX (8 * 1024 * 1024)
#define BACKOFF_MAX 30.0

struct ocis_registry {
	CURL *curl;
	char *host, *repo, *base;
	char *user, *password;
	int tls_verify;
	struct ocis_buf ca_pem;		/* system CAs + cert dir's *.crt */
	char *client_cert, *client_key;
	char **mount_from;
	size_t n_mount_from;
	int retries;
	double retry_delay;
	long timeout;
	void (*log)(void *ctx, int level, const char *msg);
	void *log_ctx;
	char *authorization;		/* "Basic ..." or "Bearer ...", or NULL */
	enum ocis_auth_scheme scheme;
	uint64_t sent;			/* atomic */
	int interrupted;		/* atomic: ocis_registry_interrupt */
	char errbuf[CURL_ERROR_SIZE];
};

struct ocis_upload {
	char *location;
	uint64_t offset;
};

/* A request body: bytes [off, off + len) of a blob source, or len bytes
 * of plain memory. */
struct body {
	const struct ocis_blob_src *src;
	const unsigned char *mem;
	uint64_t off, len, pos;
	int failed_errno;
	struct ocis_registry *reg;
};

struct resp {
	long status;
	char *location, *range, *www_auth, *digest;
	int64_t content_length;
	struct ocis_buf body;
};

enum auth_mode { AUTH_REGISTRY, AUTH_NONE, AUTH_CREDENTIALS };

struct req {
	const char *method;	/* GET HEAD POST PUT PATCH DELETE */
	const char *url;
	const char *what;	/* for messages: "PUT manifest 'latest'" */
	struct body *body;	/* NULL: none */
	const char *content_type;
	const char *content_range;
	int replay;		/* may be sent again after a fault */
	enum auth_mode auth;
};

/* --- small helpers ------------------------------------------------------ */

static void
logf_(struct ocis_registry *reg, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
logf_(struct ocis_registry *reg, int level, const char *fmt, ...)
{
	va_list ap;
	char *m = NULL;

	if (reg->log == NULL)
		return;
	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	if (m) {
		reg->log(reg->log_ctx, level, m);
		free(m);
	}
}

/* Set an error whose code says "the upload is lost" (ESTALE), without
 * strerror's text. */
static int
lost(ocis_error_t **err, const char *what, const char *why)
{
	ocis_error_set(err, 0, "%s: %s", what, why);
	if (err && *err)
		(*err)->code = ESTALE;
	return -1;
}

static void
resp_release(struct resp *r)
{
	free(r->location);
	free(r->range);
	free(r->www_auth);
	free(r->digest);
	ocis_buf_release(&r->body);
	memset(r, 0, sizeof(*r));
	r->content_length = -1;
}

static void
backoff(struct ocis_registry *reg, int attempt)
{
	double s = reg->retry_delay;
	struct timespec ts;

	if (s <= 0) {
		s = 1.0;
		while (--attempt > 0 && s < BACKOFF_MAX)
			s *= 2;
	}
	if (s > BACKOFF_MAX)
		s = BACKOFF_MAX;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static const char *
reason(long status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 416: return "Range Not Satisfiable";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "";
	}
}

/* The registry's error document ({"errors":[{"code","message"}]}),
 * first entry, as "CODE: message"; "" when there is none. */
static void
error_detail(const struct resp *r, char *out, size_t size)
{
	yajl_val root = NULL, errs, e;
	ocis_error_t *ignored = NULL;
	const char *code, *msg;

	out[0] = 0;
	if (r->body.len == 0 ||
	    ocis_json_parse((const char *)r->body.data, r->body.len, "error", &root, &ignored) < 0) {
		ocis_error_free(&ignored);
		return;
	}
	errs = ocis_json_get(root, "errors");
	if (errs && YAJL_IS_ARRAY(errs) && errs->u.array.len > 0) {
		e = errs->u.array.values[0];
		code = ocis_json_get_str(e, "code");
		msg = ocis_json_get_str(e, "message");
		snprintf(out, size, "%s%s%s", code ? code : "", code && msg ? ": " : "",
			 msg ? msg : "");
	}
	yajl_tree_free(root);
}

static int
http_error(struct ocis_registry *reg, const struct req *q, const struct resp *r,
	   ocis_error_t **err)
{
	char detail[300], shown[300];

	error_detail(r, detail, sizeof(detail));
	return ocis_error_set(err, 0, "registry '%s': %s: %ld %s%s%s%s", reg->host, q->what,
			      r->status, reason(r->status), detail[0] ? " (" : "",
			      ocis__safe_name(detail, shown, sizeof(shown)), detail[0] ? ")" : "");
}

/* Was it the registry's error code? */
static int
error_code_is(const struct resp *r, const char *code)
{
	char detail[300];

	error_detail(r, detail, sizeof(detail));
	return strncmp(detail, code, strlen(code)) == 0 &&
	       (detail[strlen(code)] == 0 || detail[strlen(code)] == ':');
}

/* --- curl callbacks ----------------------------------------------------- */

static size_t
on_read(char *buf, size_t size, size_t nmemb, void *ud)
{
	struct body *b = ud;
	uint64_t left = b->len - b->pos;
	size_t n = size * nmemb;

	if (n > left)
		n = (size_t)left;
	if (n == 0)
		return 0;
	if (b->mem) {
		memcpy(buf, b->mem + b->pos, n);
	} else if (b->src->fd >= 0) {
		size_t got = 0;
		while (got < n) {
			ssize_t k = pread(b->src->fd, buf + got, n - got,
					  (off_t)(b->off + b->pos + got));
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0) {
				b->failed_errno = k < 0 ? errno : EIO;
				return CURL_READFUNC_ABORT;
			}
			got += (size_t)k;
		}
	} else {
		uint64_t at = b->off + b->pos;
		if (at < b->src->mem_off || at + n > b->src->mem_off + b->src->mem_len) {
			b->failed_errno = ERANGE;
			return CURL_READFUNC_ABORT;
		}
		memcpy(buf, b->src->mem + (at - b->src->mem_off), n);
	}
	b->pos += n;
	__atomic_add_fetch(&b->reg->sent, n, __ATOMIC_RELAXED);
	return n;
}

static int
on_seek(void *ud, curl_off_t offset, int origin)
{
	struct body *b = ud;

	if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > b->len)
		return CURL_SEEKFUNC_CANTSEEK;
	b->pos = (uint64_t)offset;
	return CURL_SEEKFUNC_OK;
}

static size_t
on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	struct resp *r = ud;
	size_t n = size * nmemb;

	if (r->body.len < RESP_BODY_MAX) {
		size_t take = n > RESP_BODY_MAX - r->body.len ? RESP_BODY_MAX - r->body.len : n;
		if (ocis_buf_add(&r->body, data, take, NULL) < 0)
			return 0;
	}
	return n;
}

/* A transfer goes on unless ocis_registry_interrupt was called. */
static int
on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
	    curl_off_t ulnow)
{
	struct ocis_registry *reg = ud;

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return __atomic_load_n(&reg->interrupted, __ATOMIC_RELAXED);
}

static int
header_is(const char *line, size_t len, const char *name, const char **value, size_t *vlen)
{
	size_t n = strlen(name);

	if (len <= n || line[n] != ':' || strncasecmp(line, name, n) != 0)
		return 0;
	line += n + 1;
	len -= n + 1;
	while (len > 0 && (*line == ' ' || *line == '\t')) {
		line++;
		len--;
	}
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n' ||
			   line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	*value = line;
	*vlen = len;
	return 1;
}

static size_t
on_header(char *line, size_t size, size_t nmemb, void *ud)
{
	struct resp *r = ud;
	size_t len = size * nmemb, vlen;
	const char *v;
	char **slot = NULL;

	if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		/* a new answer (after 100 Continue or a redirect) */
		free(r->location);
		free(r->range);
		free(r->www_auth);
		free(r->digest);
		r->location = r->range = r->www_auth = r->digest = NULL;
		r->content_length = -1;
		ocis_buf_reset(&r->body);
		return len;
	}
	if (header_is(line, len, "Location", &v, &vlen))
		slot = &r->location;
	else if (header_is(line, len, "Range", &v, &vlen))
		slot = &r->range;
	else if (header_is(line, len, "WWW-Authenticate", &v, &vlen))
		slot = &r->www_auth;
	else if (header_is(line, len, "Docker-Content-Digest", &v, &vlen))
		slot = &r->digest;
	else if (header_is(line, len, "Content-Length", &v, &vlen)) {
		char num[24];
		if (vlen > 0 && vlen < sizeof(num)) {
			memcpy(num, v, vlen);
			num[vlen] = 0;
			r->content_length = strtoll(num, NULL, 10);
		}
		return len;
	}
	if (slot && vlen <= HEADER_MAX && *slot == NULL)
		*slot = strndup(v, vlen);
	return len;
}

/* --- one request -------------------------------------------------------- */

static int
set_tls(struct ocis_registry *reg)
{
	CURL *c = reg->curl;

	if (!reg->tls_verify) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (reg->ca_pem.len > 0) {
		struct curl_blob blob = { reg->ca_pem.data, reg->ca_pem.len, CURL_BLOB_NOCOPY };
		if (curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob) != CURLE_OK)
			return -1;
	}
	if (reg->client_cert) {
		curl_easy_setopt(c, CURLOPT_SSLCERT, reg->client_cert);
		curl_easy_setopt(c, CURLOPT_SSLKEY, reg->client_key);
	}
	return 0;
}

/* A fault that may go away: the connection, not the configuration
 * (TLS, a bad URL, an unknown protocol fail at once). */
static int
transient(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_WEIRD_SERVER_REPLY:
		return 1;
	default:
		return 0;
	}
}

/* Does url belong to the registry (same scheme, host and port)?  The
 * credentials go nowhere else, whatever a Location header names (a
 * storage backend, another host), as docker's client does it. */
static int
same_origin(const struct ocis_registry *reg, const char *url)
{
	size_t n = strlen(reg->base);

	return strncasecmp(url, reg->base, n) == 0 && (url[n] == '/' || url[n] == 0);
}

/* The method and its body: HEAD and GET follow redirects (blobs live
 * behind a storage backend); a bodiless POST says so, as some
 * registries reject chunked nothing; PUT and PATCH send q->body, or
 * an empty one, from the start on each attempt. */
static void
set_method(struct ocis_registry *reg, const struct req *q, struct body *empty)
{
	CURL *c = reg->curl;

	if (!strcmp(q->method, "HEAD")) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(q->method, "GET")) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else if (q->body == NULL && strcmp(q->method, "PUT") != 0) {
		if (!strcmp(q->method, "POST")) {
			curl_easy_setopt(c, CURLOPT_POST, 1L);
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
		} else {
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
		}
	} else {
		struct body *b = q->body ? q->body : empty;

		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, b);
		curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(c, CURLOPT_SEEKDATA, b);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)b->len);
		if (strcmp(q->method, "PUT") != 0)
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
		if (q->body) {
			q->body->pos = 0;
			q->body->failed_errno = 0;
			q->body->reg = reg;
		}
	}
	if (!strcmp(q->method, "HEAD") || !strcmp(q->method, "GET")) {
		curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	}
}

/* "name: value" onto *h; *line keeps the text (it may be a secret),
 * wiped by the next call or by the caller. */
static int
append_header(struct curl_slist **h, char **line, const char *name, const char *value)
{
	struct curl_slist *nh;
	char *s;

	ocis__free_secret(*line);
	*line = NULL;
	if (asprintf(&s, "%s: %s", name, value) < 0)
		return -1;
	*line = s;
	if ((nh = curl_slist_append(*h, s)) == NULL)
		return -1;
	*h = nh;
	return 0;
}

/* The request's own headers onto *h: the registry's token only to its
 * own origin, basic credentials only where asked for. */
static int
set_headers(struct ocis_registry *reg, const struct req *q, struct curl_slist **h,
	    char **line)
{
	CURL *c = reg->curl;

	if (q->auth == AUTH_REGISTRY && reg->authorization && same_origin(reg, q->url)) {
		if (append_header(h, line, "Authorization", reg->authorization) < 0)
			return -1;
	} else if (q->auth == AUTH_CREDENTIALS && reg->user) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERNAME, reg->user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, reg->password);
	}
	if (q->content_type && append_header(h, line, "Content-Type", q->content_type) < 0)
		return -1;
	if (q->content_range && append_header(h, line, "Content-Range", q->content_range) < 0)
		return -1;
	return 0;
}

/* One attempt: 0 with r filled when an answer came, -1 on a transport
 * error (*transport set) or a local one. */
static int
perform(struct ocis_registry *reg, const struct req *q, struct resp *r, int *transport,
	ocis_error_t **err)
{
	CURL *c = reg->curl;
	struct curl_slist *h = NULL;
	struct body empty;
	char *line = NULL;
	CURLcode cc;
	int rc = -1;

	memset(&empty, 0, sizeof(empty));
	empty.reg = reg;
	*transport = 0;
	resp_release(r);
	r->body.cap_limit = RESP_BODY_MAX;
	curl_easy_reset(c);
	reg->errbuf[0] = 0;
	curl_easy_setopt(c, CURLOPT_URL, q->url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, reg->errbuf);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "ocipipe/" PACKAGE_VERSION);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, reg->timeout);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, reg->timeout);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, reg);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	if (set_tls(reg) < 0) {
		ocis_error_set(err, 0, "registry '%s': libcurl cannot take the certificates of "
			       "the cert dir", reg->host);
		goto out;
	}
	set_method(reg, q, &empty);
	if (set_headers(reg, q, &h, &line) < 0)
		goto oom;
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		*transport = transient(cc);
		if (q->body && q->body->failed_errno)
			ocis_error_set(err, q->body->failed_errno, "registry '%s': %s: reading "
				       "the spool", reg->host, q->what);
		else
			ocis_error_set(err, 0, "registry '%s': %s: %s", reg->host, q->what,
				       reg->errbuf[0] ? reg->errbuf : curl_easy_strerror(cc));
		if (q->body && q->body->failed_errno)
			*transport = 0;
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	rc = 0;
	goto out;
oom:
	ocis_error_oom(err);
out:
	/* the handle keeps pointers to the list and the error buffer */
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(h);
	ocis__free_secret(line);
	return rc;
}

/* The last error e of n attempts as *err: "... (after n attempts)". */
static void
give_up(ocis_error_t **err, ocis_error_t **e, int n)
{
	if (n > 1 && err && *err == NULL) {
		ocis_error_set(err, 0, "%s (after %d attempts)", (*e)->msg, n);
		ocis_error_free(e);
		return;
	}
	if (err && *err == NULL)
		*err = *e;
	else
		ocis_error_free(e);
	*e = NULL;
}

static int reauthenticate(struct ocis_registry *reg, const struct resp *r, int *changed,
			  ocis_error_t **err);

static int
retryable_status(long s)
{
	return s == 408 || s == 429 || s >= 500;
}

/*
 * Send q until it has an answer: 0 with r filled (any status: the caller
 * decides), -1 when the transport failed on the last attempt.  A 401 of
 * the registry fetches new credentials and sends q again (twice at most);
 * transport errors and 408/429/5xx are retried only when q->replay.
 */
static int
request(struct ocis_registry *reg, const struct req *q, struct resp *r, ocis_error_t **err)
{
	int attempt = 0, auth_tries = 0, transport, changed;

	for (;;) {
		ocis_error_t *e = NULL;

		if (perform(reg, q, r, &transport, &e) < 0) {
			if (!transport || !q->replay || attempt >= reg->retries ||
			    __atomic_load_n(&reg->interrupted, __ATOMIC_RELAXED)) {
				give_up(err, &e, attempt + 1);
				return -1;
			}
			logf_(reg, 1, "%s: %s; retrying", q->what, e->msg);
			ocis_error_free(&e);
			backoff(reg, ++attempt);
			continue;
		}
		logf_(reg, 2, "%s: %ld", q->what, r->status);
		if (r->status == 401 && q->auth == AUTH_REGISTRY && auth_tries < 2) {
			auth_tries++;
			if (reauthenticate(reg, r, &changed, err) < 0)
				return -1;
			if (changed)
				continue;
			return 0;
		}
		if (retryable_status(r->status) && q->replay && attempt < reg->retries) {
			logf_(reg, 1, "%s: %ld %s; retrying", q->what, r->status, reason(r->status));
			backoff(reg, ++attempt);
			continue;
		}
		return 0;
	}
}

/* --- authentication ----------------------------------------------------- */

static int
set_authorization(struct ocis_registry *reg, const char *scheme, const char *value,
		  ocis_error_t **err)
{
	char *a;

	if (asprintf(&a, "%s %s", scheme, value) < 0)
		return ocis_error_oom(err);
	ocis__free_secret(reg->authorization);
	reg->authorization = a;
	return 0;
}

static int
set_basic(struct ocis_registry *reg, ocis_error_t **err)
{
	char *pair = NULL, *b64 = NULL;
	size_t n;
	int r = -1;

	if (asprintf(&pair, "%s:%s", reg->user, reg->password) < 0)
		return ocis_error_oom(err);
	n = strlen(pair);
	b64 = malloc(4 * ((n + 2) / 3) + 1);
	if (b64 == NULL) {
		ocis_error_oom(err);
		goto out;
	}
	EVP_EncodeBlock((unsigned char *)b64, (unsigned char *)pair, (int)n);
	r = set_authorization(reg, "Basic", b64, err);
out:
	ocis__free_secret(pair);
	ocis__free_secret(b64);
	return r;
}

/* Append "&name=escaped" (or '?' first) to the URL in u. */
static int
add_param(struct ocis_registry *reg, struct ocis_buf *u, const char *name, const char *value,
	  size_t vlen, ocis_error_t **err)
{
	char *esc = curl_easy_escape(reg->curl, value, (int)vlen);
	int r;

	if (esc == NULL)
		return ocis_error_oom(err);
	r = ocis_buf_addf(u, err, "%c%s=%s", strchr((char *)u->data, '?') ? '&' : '?', name,
			  esc);
	curl_free(esc);
	return r;
}

/* The docker token flow: GET realm?service=..&scope=.. with the
 * credentials; the scopes are the challenge's and ours. */
static int
fetch_token(struct ocis_registry *reg, const struct ocis_challenge *ch, ocis_error_t **err)
{
	struct ocis_buf url = OCIS_BUF_INIT, scope = OCIS_BUF_INIT;
	struct resp r;
	struct req q;
	char *token = NULL;
	long expires;
	size_t i;
	int rc = -1;

	memset(&r, 0, sizeof(r));
	if (strncasecmp(ch->realm, "https://", 8) != 0 && strncasecmp(ch->realm, "http://", 7) != 0)
		return ocis_error_set(err, 0, "registry '%s': token realm '%s' is no http(s) "
				      "URL", reg->host, ch->realm);
	if (ocis_buf_addstr(&url, ch->realm, err) < 0 ||
	    (ch->service && add_param(reg, &url, "service", ch->service, strlen(ch->service),
				      err) < 0))
		goto out;
	if (ocis_buf_addf(&scope, err, "%s repository:%s:pull,push", ch->scope ? ch->scope : "",
			  reg->repo) < 0)
		goto out;
	for (i = 0; i < reg->n_mount_from; i++)
		if (ocis_buf_addf(&scope, err, " repository:%s:pull", reg->mount_from[i]) < 0)
			goto out;
	/* each scope once, in order */
	for (char *s = (char *)scope.data, *end; *s; s = end) {
		size_t n;
		while (*s == ' ')
			s++;
		end = s + strcspn(s, " ");
		n = (size_t)(end - s);
		if (n == 0)
			continue;
		for (char *t = (char *)scope.data; t < s; t++)
			if ((t == (char *)scope.data || t[-1] == ' ') && !strncmp(t, s, n) &&
			    (t[n] == ' ' || t[n] == 0)) {
				n = 0;
				break;
			}
		if (n && add_param(reg, &url, "scope", s, n, err) < 0)
			goto out;
	}
	memset(&q, 0, sizeof(q));
	q.method = "GET";
	q.url = (const char *)url.data;
	q.what = "token request";
	q.replay = 1;
	q.auth = AUTH_CREDENTIALS;
	if (request(reg, &q, &r, err) < 0)
		goto out;
	if (r.status == 401 || r.status == 403) {
		ocis_error_set(err, 0, "registry '%s': authentication failed: the token server "
			       "answered %ld %s%s", reg->host, r.status, reason(r.status),
			       reg->user ? " (wrong user name or password?)" :
					   " (credentials needed: --creds or an auth file)");
		goto out;
	}
	if (r.status != 200) {
		http_error(reg, &q, &r, err);
		goto out;
	}
	if (ocis_token_response_parse((const char *)r.body.data, r.body.len, &token, &expires,
				      err) < 0) {
		ocis_error_wrap(err, "registry '%s'", reg->host);
		goto out;
	}
	rc = set_authorization(reg, "Bearer", token, err);
	ocis__free_secret(token);
out:
	resp_release(&r);
	ocis_buf_release(&url);
	ocis_buf_release(&scope);
	return rc;
}

/* A 401: new credentials when there are any to try.  *changed says
 * whether the request is worth sending again. */
static int
reauthenticate(struct ocis_registry *reg, const struct resp *r, int *changed, ocis_error_t **err)
{
	struct ocis_challenge ch;
	int rc = 0;

	*changed = 0;
	if (r->www_auth == NULL)
		return 0;
	if (ocis_challenge_parse(r->www_auth, strlen(r->www_auth), &ch, err) < 0)
		return ocis_error_wrap(err, "registry '%s'", reg->host);
	if (ch.scheme == OCIS_AUTH_BEARER) {
		reg->scheme = OCIS_AUTH_BEARER;
		rc = fetch_token(reg, &ch, err);
		*changed = rc == 0;
	} else if (ch.scheme == OCIS_AUTH_BASIC && reg->user &&
		   (reg->authorization == NULL || reg->scheme != OCIS_AUTH_BASIC)) {
		reg->scheme = OCIS_AUTH_BASIC;
		rc = set_basic(reg, err);
		*changed = rc == 0;
	}
	ocis_challenge_release(&ch);
	return rc;
}

/* --- certificates ------------------------------------------------------- */

static int
has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n > m && strcmp(s + n - m, suf) == 0;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The certificates of a containers-style cert dir; a missing default dir
 * is no error. */
static int
load_cert_dir(struct ocis_registry *reg, const char *dir, ocis_error_t **err)
{
	struct ocis_buf file = OCIS_BUF_INIT;
	struct dirent *de;
	char **names = NULL, *path = NULL;
	size_t n = 0, cap = 0, i;
	DIR *d = opendir(dir);
	int rc = -1;

	if (d == NULL)
		return ocis_error_set(err, errno, "cannot read the cert dir '%s'", dir);
	while ((de = readdir(d)) != NULL) {
		if (!has_suffix(de->d_name, ".crt") && !has_suffix(de->d_name, ".cert") &&
		    !has_suffix(de->d_name, ".key"))
			continue;
		if (ocis__grow((void **)&names, &cap, n + 1, sizeof(*names), err) < 0)
			goto out;
		if ((names[n] = strdup(de->d_name)) == NULL) {
			ocis_error_oom(err);
			goto out;
		}
		n++;
	}
	qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++) {
		free(path);
		if (asprintf(&path, "%s/%s", dir, names[i]) < 0) {
			path = NULL;
			ocis_error_oom(err);
			goto out;
		}
		if (has_suffix(names[i], ".crt")) {
			if (ocis_read_file(path, &file, CERTS_MAX, err) < 0 ||
			    ocis_buf_add(&reg->ca_pem, file.data, file.len, err) < 0 ||
			    ocis_buf_addstr(&reg->ca_pem, "\n", err) < 0)
				goto out;
		} else {
			/* a client certificate and its key, both or neither */
			int is_cert = has_suffix(names[i], ".cert");
			size_t stem = strlen(names[i]) - (is_cert ? 5 : 4);
			char *other = NULL;
			struct stat st;

			if (asprintf(&other, "%s/%.*s%s", dir, (int)stem, names[i],
				     is_cert ? ".key" : ".cert") < 0) {
				ocis_error_oom(err);
				goto out;
			}
			if (stat(other, &st) < 0) {
				ocis_error_set(err, 0, "cert dir '%s': '%s' has no '%s' beside it",
					       dir, names[i], strrchr(other, '/') + 1);
				free(other);
				goto out;
			}
			if (is_cert && reg->client_cert == NULL) {
				reg->client_cert = path;
				reg->client_key = other;
				path = NULL;
			} else {
				free(other);
			}
		}
	}
	rc = 0;
out:
	closedir(d);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(path);
	ocis_buf_release(&file);
	return rc;
}

static int
load_certs(struct ocis_registry *reg, const char *cert_dir, ocis_error_t **err)
{
	const char *home = getenv("HOME");
	char *dirs[3] = { NULL, NULL, NULL }, *cainfo = NULL;
	size_t i, before;
	struct stat st;
	int rc = 0;

	if (cert_dir == NULL) {
		if (home && *home && asprintf(&dirs[0], "%s/.config/containers/certs.d/%s", home,
					      reg->host) < 0)
			dirs[0] = NULL;
		if (asprintf(&dirs[1], "/etc/containers/certs.d/%s", reg->host) < 0)
			dirs[1] = NULL;
		if (asprintf(&dirs[2], "/etc/docker/certs.d/%s", reg->host) < 0)
			dirs[2] = NULL;
		for (i = 0; i < 3; i++)
			if (dirs[i] && stat(dirs[i], &st) == 0 && S_ISDIR(st.st_mode)) {
				cert_dir = dirs[i];
				break;
			}
	}
	/* The system's CAs first: a blob replaces curl's CA file. */
	curl_easy_getinfo(reg->curl, CURLINFO_CAINFO, &cainfo);
	if (cainfo && *cainfo) {
		ocis_error_t *ignored = NULL;
		if (ocis_read_file(cainfo, &reg->ca_pem, CERTS_MAX, &ignored) < 0)
			ocis_error_free(&ignored);
		else if (ocis_buf_addstr(&reg->ca_pem, "\n", err) < 0)
			rc = -1;
	}
	before = reg->ca_pem.len;
	if (rc == 0 && cert_dir != NULL)
		rc = load_cert_dir(reg, cert_dir, err);
	if (reg->ca_pem.len == before)
		ocis_buf_release(&reg->ca_pem);	/* nothing added: curl's own CAs */
	for (i = 0; i < 3; i++)
		free(dirs[i]);
	return rc;
}

/* --- open --------------------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void
init_curl(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

void
ocis_registry_free(struct ocis_registry *reg)
{
	size_t i;

	if (reg == NULL)
		return;
	if (reg->curl)
		curl_easy_cleanup(reg->curl);
	free(reg->host);
	free(reg->repo);
	free(reg->base);
	free(reg->user);
	ocis__free_secret(reg->password);
	ocis__free_secret(reg->authorization);
	ocis_buf_release(&reg->ca_pem);
	free(reg->client_cert);
	free(reg->client_key);
	for (i = 0; i < reg->n_mount_from; i++)
		free(reg->mount_from[i]);
	free(reg->mount_from);
	free(reg);
}

void
ocis_registry_interrupt(struct ocis_registry *reg, int on)
{
	__atomic_store_n(&reg->interrupted, on, __ATOMIC_RELAXED);
}

uint64_t
ocis_registry_bytes_sent(const struct ocis_registry *reg)
{
	return __atomic_load_n(&reg->sent, __ATOMIC_RELAXED);
}

const char *
ocis_registry_base_url(const struct ocis_registry *reg)
{
	return reg->base;
}

/* GET /v2/ at base: 0 with r filled, -1 on a transport error. */
static int
ping(struct ocis_registry *reg, struct resp *r, ocis_error_t **err)
{
	struct req q;
	char *url = NULL;
	int rc;

	if (asprintf(&url, "%s/v2/", reg->base) < 0)
		return ocis_error_oom(err);
	memset(&q, 0, sizeof(q));
	q.method = "GET";
	q.url = url;
	q.what = "GET /v2/";
	q.replay = 1;
	q.auth = AUTH_NONE;
	if (reg->authorization)
		q.auth = AUTH_REGISTRY;
	rc = request(reg, &q, r, err);
	free(url);
	return rc;
}

static int
connect_registry(struct ocis_registry *reg, ocis_error_t **err)
{
	struct resp r;
	int rc = -1, changed;
	ocis_error_t *e = NULL;

	memset(&r, 0, sizeof(r));
	if (asprintf(&reg->base, "https://%s", reg->host) < 0)
		return ocis_error_oom(err);
	if (ping(reg, &r, &e) < 0) {
		if (reg->tls_verify) {
			if (err && *err == NULL)
				*err = e;
			else
				ocis_error_free(&e);
			goto out;
		}
		/* as skopeo with --tls-verify=false: plain http when https fails */
		logf_(reg, 1, "%s; trying http", e->msg);
		ocis_error_free(&e);
		free(reg->base);
		if (asprintf(&reg->base, "http://%s", reg->host) < 0) {
			reg->base = NULL;
			ocis_error_oom(err);
			goto out;
		}
		if (ping(reg, &r, err) < 0)
			goto out;
	}
	if (r.status == 401) {
		if (reauthenticate(reg, &r, &changed, err) < 0)
			goto out;
		if (!changed) {
			ocis_error_set(err, 0, "registry '%s' asks for a user name and password "
				       "(--creds, --authfile)", reg->host);
			goto out;
		}
		if (ping(reg, &r, err) < 0)
			goto out;
		if (r.status == 401) {
			ocis_error_set(err, 0, "registry '%s': authentication failed: 401 "
				       "Unauthorized (wrong user name or password?)", reg->host);
			goto out;
		}
	}
	if (r.status != 200) {
		ocis_error_set(err, 0, "registry '%s': GET /v2/ answered %ld %s: not a registry "
			       "of the distribution spec", reg->host, r.status, reason(r.status));
		goto out;
	}
	rc = 0;
out:
	resp_release(&r);
	return rc;
}

int
ocis_registry_open(struct ocis_registry **out, const struct ocis_registry_opts *o,
		   ocis_error_t **err)
{
	struct ocis_registry *reg;
	size_t i;

	pthread_once(&curl_once, init_curl);
	if (curl_init_rc != CURLE_OK)
		return ocis_error_set(err, 0, "libcurl: %s", curl_easy_strerror(curl_init_rc));
	reg = calloc(1, sizeof(*reg));
	if (reg == NULL)
		return ocis_error_oom(err);
	reg->tls_verify = o->tls_verify;
	reg->retries = o->retries < 0 ? 0 : o->retries;
	reg->retry_delay = o->retry_delay;
	reg->timeout = o->timeout > 0 ? o->timeout : 60;
	reg->log = o->log;
	reg->log_ctx = o->log_ctx;
	if ((reg->curl = curl_easy_init()) == NULL || (reg->host = strdup(o->host)) == NULL ||
	    (reg->repo = strdup(o->repo)) == NULL ||
	    ocis__strdup_opt(&reg->user, o->user, err) < 0 ||
	    ocis__strdup_opt(&reg->password, o->user ? (o->password ? o->password : "") : NULL,
			     err) < 0 ||
	    (o->n_mount_from &&
	     (reg->mount_from = calloc(o->n_mount_from, sizeof(char *))) == NULL))
		goto oom;
	for (i = 0; i < o->n_mount_from; i++, reg->n_mount_from++)
		if ((reg->mount_from[i] = strdup(o->mount_from[i])) == NULL)
			goto oom;
	if (load_certs(reg, o->cert_dir, err) < 0 || connect_registry(reg, err) < 0)
		goto fail;
	*out = reg;
	return 0;
oom:
	ocis_error_oom(err);
fail:
	ocis_registry_free(reg);
	return -1;
}

/* --- blobs -------------------------------------------------------------- */

/* base + path, or a Location (absolute or relative to base) */
static char *
url_of(struct ocis_registry *reg, const char *loc)
{
	CURLU *u;
	char *s = NULL, *out = NULL;

	if (strncasecmp(loc, "http://", 7) == 0 || strncasecmp(loc, "https://", 8) == 0)
		return strdup(loc);
	u = curl_url();
	if (u == NULL)
		return NULL;
	if (curl_url_set(u, CURLUPART_URL, reg->base, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_URL, loc, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_URL, &s, 0) == CURLUE_OK) {
		out = strdup(s);
		curl_free(s);
	}
	curl_url_cleanup(u);
	return out;
}

/* url with "name=value" appended to its query */
static char *
url_with_param(const char *url, const char *param)
{
	char *s = NULL;

	if (asprintf(&s, "%s%c%s", url, strchr(url, '?') ? '&' : '?', param) < 0)
		return NULL;
	return s;
}

int
ocis_registry_blob_exists(struct ocis_registry *reg, const char *digest, uint64_t size,
			  ocis_error_t **err)
{
	struct resp r;
	struct req q;
	char *url = NULL, what[128];
	int rc = -1;

	memset(&r, 0, sizeof(r));
	if (asprintf(&url, "%s/v2/%s/blobs/%s", reg->base, reg->repo, digest) < 0)
		return ocis_error_oom(err);
	snprintf(what, sizeof(what), "HEAD blob %.19s", digest);
	memset(&q, 0, sizeof(q));
	q.method = "HEAD";
	q.url = url;
	q.what = what;
	q.replay = 1;
	if (request(reg, &q, &r, err) < 0)
		goto out;
	if (r.status == 200)
		rc = r.content_length < 0 || (uint64_t)r.content_length == size;
	else if (r.status == 404)
		rc = 0;
	else
		http_error(reg, &q, &r, err);
out:
	resp_release(&r);
	free(url);
	return rc;
}

uint64_t
ocis_registry_upload_offset(const struct ocis_upload *u)
{
	return u->offset;
}

static void
upload_free(struct ocis_upload *u)
{
	if (u) {
		free(u->location);
		free(u);
	}
}

/* Take the Location of an answer as the session's URL. */
static int
take_location(struct ocis_registry *reg, struct ocis_upload *u, const struct resp *r,
	      const char *what, ocis_error_t **err)
{
	char *l;

	if (r->location == NULL)
		return ocis_error_set(err, 0, "registry '%s': %s: the answer has no Location",
				      reg->host, what);
	if ((l = url_of(reg, r->location)) == NULL)
		return ocis_error_set(err, 0, "registry '%s': %s: bad Location", reg->host, what);
	free(u->location);
	u->location = l;
	return 0;
}

/* "0-N" (or "bytes=0-N"): the registry holds N + 1 bytes; no header is 0
 * bytes, and so is "0-0": the distribution registry answers it for an
 * empty upload (and for one of a single byte: resending that byte is
 * harmless, the registry's next Range says where it stands). */
static int
range_end(const char *range, uint64_t *held)
{
	const char *p = range;
	char *end;
	unsigned long long n;

	*held = 0;
	if (p == NULL)
		return 0;
	if (strncasecmp(p, "bytes=", 6) == 0)
		p += 6;
	if (p[0] != '0' || p[1] != '-')
		return -1;
	errno = 0;
	n = strtoull(p + 2, &end, 10);
	if (errno || end == p + 2 || *end != 0 || n == UINT64_MAX)
		return -1;
	*held = n == 0 ? 0 : (uint64_t)n + 1;
	return 0;
}

void
ocis_registry_upload_cancel(struct ocis_registry *reg, struct ocis_upload *u)
{
	struct resp r;
	struct req q;
	ocis_error_t *ignored = NULL;

	if (u == NULL)
		return;
	memset(&r, 0, sizeof(r));
	memset(&q, 0, sizeof(q));
	q.method = "DELETE";
	q.url = u->location;
	q.what = "DELETE upload";
	if (request(reg, &q, &r, &ignored) < 0)
		ocis_error_free(&ignored);
	resp_release(&r);
	upload_free(u);
}

int
ocis_registry_upload_start(struct ocis_registry *reg, const char *digest,
			   struct ocis_upload **u, ocis_error_t **err)
{
	struct resp r;
	struct req q;
	char *url = NULL, what[160];
	size_t i, n_from = digest ? reg->n_mount_from : 0;
	int rc = -1;

	*u = NULL;
	memset(&r, 0, sizeof(r));
	memset(&q, 0, sizeof(q));
	q.method = "POST";
	q.replay = 1;
	q.what = what;
	for (i = 0;; i++) {
		const char *from = i < n_from ? reg->mount_from[i] : NULL;

		free(url);
		url = NULL;
		if (from) {
			char *esc = curl_easy_escape(reg->curl, from, 0);
			if (esc == NULL ||
			    asprintf(&url, "%s/v2/%s/blobs/uploads/?mount=%s&from=%s", reg->base,
				     reg->repo, digest, esc) < 0)
				url = NULL;
			curl_free(esc);
			snprintf(what, sizeof(what), "mount blob %.19s from '%s'", digest, from);
		} else {
			if (asprintf(&url, "%s/v2/%s/blobs/uploads/", reg->base, reg->repo) < 0)
				url = NULL;
			snprintf(what, sizeof(what), "POST upload");
		}
		if (url == NULL) {
			ocis_error_oom(err);
			goto out;
		}
		q.url = url;
		if (request(reg, &q, &r, err) < 0)
			goto out;
		if (r.status == 201 && from) {
			logf_(reg, 1, "mounted %s from '%s'", digest, from);
			rc = 1;
			goto out;
		}
		if (r.status != 202) {
			http_error(reg, &q, &r, err);
			goto out;
		}
		if ((*u = calloc(1, sizeof(**u))) == NULL) {
			ocis_error_oom(err);
			goto out;
		}
		if (take_location(reg, *u, &r, what, err) < 0)
			goto out;
		if (from == NULL || i + 1 >= n_from)
			break;
		/* another repository to mount from: this session is given up */
		ocis_registry_upload_cancel(reg, *u);
		*u = NULL;
	}
	rc = 0;
out:
	if (rc < 0) {
		upload_free(*u);
		*u = NULL;
	}
	resp_release(&r);
	free(url);
	return rc;
}

int
ocis_registry_blob_mount(struct ocis_registry *reg, const char *digest, ocis_error_t **err)
{
	struct ocis_upload *u = NULL;
	int r;

	if (reg->n_mount_from == 0)
		return 0;
	r = ocis_registry_upload_start(reg, digest, &u, err);
	if (r == 0)
		ocis_registry_upload_cancel(reg, u);
	return r;
}

/* Where does the registry stand?  GET on the session's URL: the bytes it
 * holds, the session's new URL.  A lost session is an ESTALE error. */
static int
upload_status(struct ocis_registry *reg, struct ocis_upload *u, uint64_t *held,
	      ocis_error_t **err)
{
	struct resp r;
	struct req q;
	int rc = -1;

	memset(&r, 0, sizeof(r));
	memset(&q, 0, sizeof(q));
	q.method = "GET";
	q.url = u->location;
	q.what = "upload status";
	q.replay = 1;
	if (request(reg, &q, &r, err) < 0)
		goto out;
	if (r.status == 404 || (r.status == 400 && (error_code_is(&r, "BLOB_UPLOAD_INVALID") ||
						     error_code_is(&r, "BLOB_UPLOAD_UNKNOWN")))) {
		lost(err, "upload status", "the registry no longer has the upload");
		goto out;
	}
	if (r.status != 204 && r.status != 200 && r.status != 202) {
		http_error(reg, &q, &r, err);
		goto out;
	}
	if (range_end(r.range, held) < 0) {
		ocis_error_set(err, 0, "registry '%s': upload status: bad Range '%s'", reg->host,
			       r.range);
		goto out;
	}
	if (r.location && take_location(reg, u, &r, q.what, err) < 0)
		goto out;
	rc = 0;
out:
	resp_release(&r);
	return rc;
}

int
ocis_registry_upload_send(struct ocis_registry *reg, struct ocis_upload *u,
			  const struct ocis_blob_src *src, uint64_t end, ocis_error_t **err)
{
	uint64_t low = src->fd >= 0 ? 0 : src->mem_off;
	int faults = 0;

	while (u->offset < end) {
		struct body b = { src, NULL, u->offset, end - u->offset, 0, 0, reg };
		char range[64], what[96];
		struct resp r;
		struct req q;
		uint64_t held, before = u->offset;
		ocis_error_t *e = NULL;
		int rc;

		memset(&r, 0, sizeof(r));
		memset(&q, 0, sizeof(q));
		snprintf(range, sizeof(range), "%llu-%llu", (unsigned long long)u->offset,
			 (unsigned long long)end - 1);
		snprintf(what, sizeof(what), "PATCH upload %s", range);
		q.method = "PATCH";
		q.url = u->location;
		q.what = what;
		q.body = &b;
		q.content_type = "application/octet-stream";
		q.content_range = range;
		rc = request(reg, &q, &r, &e);
		if (rc == 0 && r.status == 202) {
			rc = take_location(reg, u, &r, what, err);
			if (rc == 0 && range_end(r.range, &held) == 0 && r.range != NULL &&
			    held != end) {
				/* a fault too: check where it stands */
				ocis_error_set(&e, 0, "registry '%s': %s: the registry holds %llu "
					       "bytes", reg->host, what, (unsigned long long)held);
				rc = -2;
			} else if (rc == 0) {
				u->offset = end;
			}
			resp_release(&r);
			if (rc == -1)
				return -1;
			if (rc == 0)
				continue;
		} else if (rc == 0 && r.status == 404) {
			resp_release(&r);
			return lost(err, what, "the registry no longer has the upload");
		} else if (rc == 0 && !retryable_status(r.status) && r.status != 416 &&
			   !(r.status == 400 && error_code_is(&r, "BLOB_UPLOAD_INVALID"))) {
			http_error(reg, &q, &r, err);
			resp_release(&r);
			return -1;
		} else if (rc < 0 && e->code != 0) {
			/* reading the spool failed: no fault of the network */
			if (err && *err == NULL)
				*err = e;
			else
				ocis_error_free(&e);
			resp_release(&r);
			return -1;
		}
		/* A fault: ask the registry where it stands and go on from there. */
		if (++faults > reg->retries) {
			if (e == NULL)
				http_error(reg, &q, &r, &e);
			give_up(err, &e, faults);
			resp_release(&r);
			return -1;
		}
		logf_(reg, 1, "%s: %s; asking where the upload stands", what,
		      e ? e->msg : reason(r.status));
		ocis_error_free(&e);
		resp_release(&r);
		backoff(reg, faults);
		if (upload_status(reg, u, &held, err) < 0)
			return -1;
		if (held < low || held > end) {
			char why[160];
			snprintf(why, sizeof(why), "the registry holds %llu bytes, the source "
				 "has %llu to %llu", (unsigned long long)held,
				 (unsigned long long)low, (unsigned long long)end);
			return lost(err, what, why);
		}
		logf_(reg, 1, "resuming the upload at byte %llu", (unsigned long long)held);
		u->offset = held;
		if (held > before)
			faults = 0;	/* progress: a fresh set of attempts */
	}
	return 0;
}

int
ocis_registry_upload_finish(struct ocis_registry *reg, struct ocis_upload *u,
			    const char *digest, uint64_t size, ocis_error_t **err)
{
	struct resp r;
	struct req q;
	char *param = NULL, *url = NULL, what[128];
	int rc = -1, exists;
	ocis_error_t *e = NULL;

	memset(&r, 0, sizeof(r));
	memset(&q, 0, sizeof(q));
	if (asprintf(&param, "digest=%s", digest) < 0 ||
	    (url = url_with_param(u->location, param)) == NULL) {
		ocis_error_oom(err);
		goto out;
	}
	snprintf(what, sizeof(what), "PUT blob %.19s", digest);
	q.method = "PUT";
	q.url = url;
	q.what = what;
	q.replay = 1;
	if (request(reg, &q, &r, &e) == 0 && (r.status == 201 || r.status == 204)) {
		rc = 0;
		goto out;
	}
	if (e == NULL && r.status == 400 && error_code_is(&r, "DIGEST_INVALID")) {
		http_error(reg, &q, &r, err);
		goto out;
	}
	/* The answer may have been lost after the registry took the blob. */
	exists = ocis_registry_blob_exists(reg, digest, size, err);
	if (exists == 1) {
		rc = 0;
	} else if (exists == 0) {
		if (e == NULL)
			http_error(reg, &q, &r, &e);
		if (r.status == 404 || r.status == 400)
			(void)lost(err, what, e->msg);
		else if (err && *err == NULL) {
			*err = e;
			e = NULL;
		}
	}
out:
	ocis_error_free(&e);
	resp_release(&r);
	free(param);
	free(url);
	upload_free(u);
	return rc;
}

/* A session's whole blob in one PUT. */
static int
put_whole(struct ocis_registry *reg, struct ocis_upload *u, const char *digest, uint64_t size,
	  const struct ocis_blob_src *src, ocis_error_t **err)
{
	struct body b = { src, NULL, 0, size, 0, 0, reg };
	struct resp r;
	struct req q;
	char *param = NULL, *url = NULL, what[128];
	int rc = -1;

	memset(&r, 0, sizeof(r));
	memset(&q, 0, sizeof(q));
	if (asprintf(&param, "digest=%s", digest) < 0 ||
	    (url = url_with_param(u->location, param)) == NULL) {
		ocis_error_oom(err);
		goto out;
	}
	snprintf(what, sizeof(what), "PUT blob %.19s (%llu bytes)", digest,
		 (unsigned long long)size);
	q.method = "PUT";
	q.url = url;
	q.what = what;
	q.body = &b;
	q.content_type = "application/octet-stream";
	if (request(reg, &q, &r, err) < 0) {
		/* what the registry took of the body is unknown: start again */
		if (err && *err && (*err)->code == 0)
			(*err)->code = ESTALE;
		goto out;
	}
	if (r.status == 201 || r.status == 204) {
		rc = 0;
	} else if (retryable_status(r.status) || r.status == 404 || r.status == 400) {
		ocis_error_t *e = NULL;
		http_error(reg, &q, &r, &e);
		(void)lost(err, what, e->msg);
		ocis_error_free(&e);
	} else {
		http_error(reg, &q, &r, err);
	}
out:
	resp_release(&r);
	free(param);
	free(url);
	return rc;
}

int
ocis_registry_blob_upload(struct ocis_registry *reg, const char *digest, uint64_t size,
			  const struct ocis_blob_src *src, size_t chunk, ocis_error_t **err)
{
	int restarts = 0;

	for (;;) {
		struct ocis_upload *u = NULL;
		ocis_error_t *e = NULL;
		int rc = ocis_registry_upload_start(reg, digest, &u, &e);

		if (rc == 1)
			return 1;
		if (rc == 0) {
			if (size <= chunk) {
				rc = put_whole(reg, u, digest, size, src, &e);
				if (rc == 0 || e->code == ESTALE) {
					/* the session is used up either way */
					upload_free(u);
					u = NULL;
				}
			} else {
				while (rc == 0 && u->offset < size) {
					uint64_t to = u->offset + chunk;
					rc = ocis_registry_upload_send(reg, u, src,
								       to < size ? to : size, &e);
				}
			}
			if (rc == 0 && u != NULL) {
				rc = ocis_registry_upload_finish(reg, u, digest, size, &e);
				u = NULL;
			}
		}
		if (rc == 0)
			return 0;
		if (u != NULL)
			ocis_registry_upload_cancel(reg, u);
		if (e->code != ESTALE || restarts >= reg->retries) {
			give_up(err, &e, restarts + 1);
			return -1;
		}
		restarts++;
		logf_(reg, 1, "%s; starting the upload of %.19s again", e->msg, digest);
		ocis_error_free(&e);
		backoff(reg, restarts);
		/* the lost answer may have been the registry's yes */
		rc = ocis_registry_blob_exists(reg, digest, size, err);
		if (rc != 0)
			return rc < 0 ? -1 : 0;
	}
}

int
ocis_registry_manifest_put(struct ocis_registry *reg, const char *reference,
			   const char *media_type, const void *data, size_t len,
			   ocis_error_t **err)
{
	struct body b = { NULL, data, 0, len, 0, 0, reg };
	struct resp r;
	struct req q;
	char *url = NULL, what[160];
	int rc = -1;

	memset(&r, 0, sizeof(r));
	memset(&q, 0, sizeof(q));
	if (asprintf(&url, "%s/v2/%s/manifests/%s", reg->base, reg->repo, reference) < 0)
		return ocis_error_oom(err);
	snprintf(what, sizeof(what), "PUT manifest '%.80s'", reference);
	q.method = "PUT";
	q.url = url;
	q.what = what;
	q.body = &b;
	q.content_type = media_type;
	q.replay = 1;
	if (request(reg, &q, &r, err) < 0)
		goto out;
	if (r.status != 201 && r.status != 200 && r.status != 204) {
		http_error(reg, &q, &r, err);
		goto out;
	}
	rc = 0;
out:
	resp_release(&r);
	free(url);
	return rc;
}
