/*
 * sgwload: a SCEP load generator for benchmarks (tests/bench/run.sh).
 *
 *   sgwload -u URL -p CHALLENGE [-n N] [-c C] [--get] [--cipher C] [--digest D] [--json]
 *   sgwload -u URL -m caps [-n N] [-c C] [--json]
 *
 * Enroll mode: GetCACert, then N distinct PKCSReqs (unique CN and transactionID,
 * a few reused client keys) built before the clock starts; C keep-alive
 * connections send them (POST, or GET with base64); the replies are kept and
 * verified only after the clock stops (signature by the RA or CA certificate of
 * GetCACert, transactionID and nonce echo, decryption with the client key, the
 * certificate carries the request's key and CN and chains to the CA), and
 * serial numbers are checked for duplicates.  Caps mode times GetCACaps.
 * Exit status: 0 when every request succeeded with no duplicate serial, 1 when
 * some failed, 2 on a usage or setup error.
 */
#include "sgwload.h"
#include "bench_args.h"
#include "evloop.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#define MAX_CONC 4096
#define MAX_HTTP_CODES 8

struct opts {
	const char *url, *challenge, *cn_prefix, *cipher_name, *digest_name, *serials_file;
	int caps_mode, use_get, json, quiet, key_bits, nkeys, threads;
	long n, conc, timeout;
};

struct target {
	char host[256];
	int port;
	char path[1024];
	char hosthdr[300];
};

struct run {
	const struct opts *o;
	const struct target *tg;
	struct event_base *base;
	struct sl_item *items;
	size_t n, next, completed;
	char *caps_uri; /* caps mode: path?operation=GetCACaps */
	char *post_uri; /* POST: path?operation=PKIOperation */
};

struct slot {
	struct run *r;
	struct evhttp_connection *conn;
	size_t cur;
	int err;
};

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
die_ossl(const char *what)
{
	unsigned long e;

	fprintf(stderr, "sgwload: %s\n", what);
	while ((e = ERR_get_error()) != 0) {
		char b[256];

		ERR_error_string_n(e, b, sizeof(b));
		fprintf(stderr, "sgwload:   openssl: %s\n", b);
	}
	exit(2);
}

static int
parse_url(const char *url, struct target *t)
{
	const char *p, *slash, *colon;
	size_t hl;

	if (strncmp(url, "http://", 7) != 0)
		return -1;
	p = url + 7;
	slash = strchr(p, '/');
	if (!slash)
		slash = p + strlen(p);
	colon = memchr(p, ':', (size_t)(slash - p));
	hl = (size_t)((colon ? colon : slash) - p);
	if (hl == 0 || hl >= sizeof(t->host))
		return -1;
	memcpy(t->host, p, hl);
	t->host[hl] = '\0';
	t->port = 80;
	if (colon) {
		char *end;
		long v = strtol(colon + 1, &end, 10);

		if (end != slash || v <= 0 || v > 65535)
			return -1;
		t->port = (int)v;
	}
	snprintf(t->path, sizeof(t->path), "%s", *slash ? slash : "/");
	snprintf(t->hosthdr, sizeof(t->hosthdr), "%s:%d", t->host, t->port);
	return 0;
}

/* ---- HTTP ---------------------------------------------------------------- */

static struct evhttp_request *
new_request(void (*cb)(struct evhttp_request *, void *),
	    void (*ecb)(enum evhttp_request_error, void *), void *arg, const struct target *tg)
{
	struct evhttp_request *req = evhttp_request_new(cb, arg);

	if (!req)
		return NULL;
	if (ecb)
		evhttp_request_set_error_cb(req, ecb);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Host", tg->hosthdr);
	return req;
}

struct once {
	struct event_base *base;
	int code;
	char ctype[128];
	unsigned char *body;
	size_t len;
};

static void
once_cb(struct evhttp_request *req, void *arg)
{
	struct once *o = arg;

	if (req && evhttp_request_get_response_code(req) > 0) {
		struct evbuffer *in = evhttp_request_get_input_buffer(req);
		const char *ct =
		    evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");

		o->code = evhttp_request_get_response_code(req);
		snprintf(o->ctype, sizeof(o->ctype), "%s", ct ? ct : "");
		o->len = evbuffer_get_length(in);
		o->body = malloc(o->len + 1);
		if (o->body) {
			evbuffer_remove(in, o->body, o->len);
			o->body[o->len] = '\0';
		}
	}
	event_base_loopbreak(o->base);
}

/* A GET outside the timed phase (GetCACert, GetCACaps). */
static int
http_get_once(struct event_base *base, const struct target *tg, long timeout, const char *op,
	      struct once *o)
{
	struct evhttp_connection *c =
	    evhttp_connection_base_new(base, NULL, tg->host, (unsigned short)tg->port);
	struct evhttp_request *req;
	char uri[1200];

	memset(o, 0, sizeof(*o));
	o->base = base;
	if (!c)
		return -1;
	evhttp_connection_set_timeout(c, (int)timeout);
	snprintf(uri, sizeof(uri), "%s?operation=%s", tg->path, op);
	req = new_request(once_cb, NULL, o, tg);
	if (!req || evhttp_make_request(c, req, EVHTTP_REQ_GET, uri) < 0) {
		evhttp_connection_free(c);
		return -1;
	}
	event_base_dispatch(base);
	evhttp_connection_free(c);
	return o->code == 200 && o->body ? 0 : -1;
}

static void send_next(struct slot *s);

static void
req_error_cb(enum evhttp_request_error e, void *arg)
{
	struct slot *s = arg;

	s->err = e == EVREQ_HTTP_TIMEOUT ? SL_TIMEOUT
		 : e == EVREQ_HTTP_EOF	 ? SL_CONN
					 : SL_TRANSPORT;
}

static void
req_done_cb(struct evhttp_request *req, void *arg)
{
	struct slot *s = arg;
	struct run *r = s->r;
	struct sl_item *it = &r->items[s->cur];

	it->lat_ms = (double)(now_ns() - it->t_send_ns) / 1e6;
	it->done = 1;
	if (!req || evhttp_request_get_response_code(req) == 0) {
		it->transport_err = s->err ? s->err : SL_CONN;
	} else {
		struct evbuffer *in = evhttp_request_get_input_buffer(req);

		it->http_status = evhttp_request_get_response_code(req);
		it->resplen = evbuffer_get_length(in);
		it->resp = malloc(it->resplen + 1);
		if (it->resp)
			evbuffer_remove(in, it->resp, it->resplen);
		else
			it->transport_err = SL_TRANSPORT;
	}
	s->err = 0;
	if (++r->completed == r->n)
		event_base_loopbreak(r->base);
	else
		send_next(s);
}

static void
send_next(struct slot *s)
{
	struct run *r = s->r;
	struct sl_item *it;
	struct evhttp_request *req;
	int post = !r->o->caps_mode && !r->o->use_get;
	const char *uri;

	if (r->next >= r->n)
		return;
	s->cur = r->next++;
	it = &r->items[s->cur];
	req = new_request(req_done_cb, req_error_cb, s, r->tg);
	if (!req) {
		fprintf(stderr, "sgwload: out of memory\n");
		exit(2);
	}
	if (post) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
				  "application/x-pki-message");
		evbuffer_add_reference(evhttp_request_get_output_buffer(req), it->der, it->derlen,
				       NULL, NULL);
		uri = r->post_uri;
	} else {
		uri = r->o->caps_mode ? r->caps_uri : it->get_uri;
	}
	it->t_send_ns = now_ns();
	if (evhttp_make_request(s->conn, req, post ? EVHTTP_REQ_POST : EVHTTP_REQ_GET, uri) < 0) {
		/* libevent frees req on failure */
		it->lat_ms = 0;
		it->done = 1;
		it->transport_err = SL_CONN;
		if (++r->completed == r->n)
			event_base_loopbreak(r->base);
	}
}

/* ---- parallel build and verify -------------------------------------------- */

struct par {
	pthread_t th;
	int id, nth;
	size_t n;
	void *ctx;
	int failed;
};

struct build_ctx {
	const struct opts *o;
	struct sl_item *items;
	EVP_PKEY **keys;
	const struct sl_build_params *bp;
	const struct sl_verify_params *vp;
	const struct target *tg;
};

static char *
get_uri_for(const struct target *tg, const unsigned char *der, size_t len)
{
	size_t b64len = 4 * ((len + 2) / 3), cap;
	unsigned char *b64 = malloc(b64len + 1);
	char *uri, *q;
	static const char hexd[] = "0123456789ABCDEF";

	if (!b64)
		return NULL;
	EVP_EncodeBlock(b64, der, (int)len);
	cap = strlen(tg->path) + 40 + 3 * b64len + 1;
	uri = malloc(cap);
	if (!uri) {
		free(b64);
		return NULL;
	}
	q = uri + snprintf(uri, cap, "%s?operation=PKIOperation&message=", tg->path);
	for (size_t i = 0; i < b64len; i++) {
		unsigned char c = b64[i];

		if (c == '+' || c == '/' || c == '=') {
			*q++ = '%';
			*q++ = hexd[c >> 4];
			*q++ = hexd[c & 15];
		} else {
			*q++ = (char)c;
		}
	}
	*q = '\0';
	free(b64);
	return uri;
}

static void *
keygen_thread(void *arg)
{
	struct par *p = arg;
	struct build_ctx *b = p->ctx;

	for (size_t i = (size_t)p->id; i < p->n; i += (size_t)p->nth) {
		b->keys[i] = EVP_RSA_gen((unsigned int)b->o->key_bits);
		if (!b->keys[i])
			p->failed++;
	}
	return NULL;
}

static void *
build_thread(void *arg)
{
	struct par *p = arg;
	struct build_ctx *b = p->ctx;

	for (size_t i = (size_t)p->id; i < p->n; i += (size_t)p->nth) {
		struct sl_item *it = &b->items[i];

		if (sl_build_pkcsreq(b->bp, it) < 0) {
			p->failed++;
			continue;
		}
		if (b->o->use_get && !(it->get_uri = get_uri_for(b->tg, it->der, it->derlen)))
			p->failed++;
	}
	return NULL;
}

static void *
verify_thread(void *arg)
{
	struct par *p = arg;
	struct build_ctx *b = p->ctx;

	for (size_t i = (size_t)p->id; i < p->n; i += (size_t)p->nth)
		sl_verify_certrep(b->vp, &b->items[i]);
	return NULL;
}

static int
run_parallel(int nth, size_t n, void *(*fn)(void *), void *ctx)
{
	struct par ps[64];
	int failed = 0;

	if (nth > 64)
		nth = 64;
	if ((size_t)nth > n)
		nth = n > 0 ? (int)n : 1;
	for (int i = 0; i < nth; i++) {
		ps[i] = (struct par){.id = i, .nth = nth, .n = n, .ctx = ctx};
		if (pthread_create(&ps[i].th, NULL, fn, &ps[i]) != 0) {
			fprintf(stderr, "sgwload: pthread_create: %s\n", strerror(errno));
			exit(2);
		}
	}
	for (int i = 0; i < nth; i++) {
		pthread_join(ps[i].th, NULL);
		failed += ps[i].failed;
	}
	return failed;
}

/* ---- report ---------------------------------------------------------------- */

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static double
pct(const double *v, size_t n, double q)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)(q * (double)n + 0.999999);
	if (i < 1)
		i = 1;
	return v[(i > n ? n : i) - 1];
}

struct report {
	double elapsed_s, prebuild_s, verify_s, p50, p90, p99, max, mean;
	size_t ok, failed, dups, lat_n;
	size_t kinds[SL_NKINDS];
	size_t failinfo[6]; /* 0..4, 5 = missing */
	int codes[MAX_HTTP_CODES];
	size_t code_n[MAX_HTTP_CODES];
	char algs[4][48];
	size_t algs_n[4];
};

static void
summarize(struct run *r, struct report *rep)
{
	double *lat = malloc(sizeof(double) * (r->n ? r->n : 1));
	const char **serials = malloc(sizeof(char *) * (r->n ? r->n : 1));
	size_t ns = 0;
	double sum = 0;

	if (!lat || !serials) {
		fprintf(stderr, "sgwload: out of memory\n");
		exit(2);
	}
	for (size_t i = 0; i < r->n; i++) {
		struct sl_item *it = &r->items[i];

		rep->kinds[it->kind]++;
		if (it->kind == SL_OK)
			rep->ok++;
		else
			rep->failed++;
		if (it->kind == SL_PKI_FAILURE)
			rep->failinfo[it->failinfo >= 0 && it->failinfo <= 4 ? it->failinfo : 5]++;
		if (it->kind == SL_HTTP_STATUS) {
			int k;

			for (k = 0; k < MAX_HTTP_CODES - 1 && rep->codes[k] &&
				    rep->codes[k] != it->http_status;
			     k++)
				;
			rep->codes[k] = it->http_status;
			rep->code_n[k]++;
		}
		if (it->kind == SL_OK && it->serial[0])
			serials[ns++] = it->serial;
		if (it->kind == SL_OK && !r->o->caps_mode) {
			char a[48];
			int k;

			snprintf(a, sizeof(a), "%s/%s", OBJ_nid2sn(it->reply_md_nid),
				 OBJ_nid2sn(it->reply_cipher_nid));
			for (k = 0; k < 3 && rep->algs[k][0] && strcmp(rep->algs[k], a) != 0; k++)
				;
			snprintf(rep->algs[k], sizeof(rep->algs[k]), "%s", a);
			rep->algs_n[k]++;
		}
		if (!it->transport_err) {
			lat[rep->lat_n++] = it->lat_ms;
			sum += it->lat_ms;
		}
	}
	qsort(lat, rep->lat_n, sizeof(double), cmp_double);
	rep->p50 = pct(lat, rep->lat_n, 0.50);
	rep->p90 = pct(lat, rep->lat_n, 0.90);
	rep->p99 = pct(lat, rep->lat_n, 0.99);
	rep->max = rep->lat_n ? lat[rep->lat_n - 1] : 0;
	rep->mean = rep->lat_n ? sum / (double)rep->lat_n : 0;
	qsort(serials, ns, sizeof(char *), cmp_str);
	for (size_t i = 1; i < ns; i++)
		if (strcmp(serials[i], serials[i - 1]) == 0)
			rep->dups++;
	free(lat);
	free(serials);
}

/* --serials: what a client received, for a test to look for in the store. */
static int
write_serials(const char *path, const struct run *r)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL) {
		fprintf(stderr, "sgwload: %s: cannot write\n", path);
		return -1;
	}
	for (size_t i = 0; i < r->n; i++)
		if (r->items[i].kind == SL_OK && r->items[i].serial[0])
			fprintf(fp, "%s\n", r->items[i].serial);
	return fclose(fp) == 0 ? 0 : -1;
}

static const char *const failinfo_names[6] = {"badAlg",	 "badMessageCheck", "badRequest",
					      "badTime", "badCertId",	    "none"};

static void
print_text(const struct opts *o, const struct run *r, const struct report *rep, const char *cipher,
	   const char *digest)
{
	printf("sgwload: %s %s n=%zu c=%ld url=%s\n", o->caps_mode ? "caps" : "enroll",
	       o->caps_mode ? "GET" : (o->use_get ? "GET" : "POST"), r->n, o->conc, o->url);
	if (!o->caps_mode)
		printf("  request: %s + %s, %d client keys of %d bits; prebuild %.2f s, verify "
		       "%.2f s\n",
		       cipher, digest, o->nkeys, o->key_bits, rep->prebuild_s, rep->verify_s);
	printf("  timed %.3f s: %.1f req/s, %.1f ok/s\n", rep->elapsed_s,
	       (double)r->n / rep->elapsed_s, (double)rep->ok / rep->elapsed_s);
	printf("  latency ms: p50 %.2f  p90 %.2f  p99 %.2f  max %.2f  mean %.2f\n", rep->p50,
	       rep->p90, rep->p99, rep->max, rep->mean);
	printf("  ok %zu  failed %zu  duplicate serials %zu\n", rep->ok, rep->failed, rep->dups);
	for (int k = 1; k < SL_NKINDS; k++) {
		if (!rep->kinds[k])
			continue;
		printf("  failure %-14s %zu", sl_kind_name(k), rep->kinds[k]);
		if (k == SL_PKI_FAILURE)
			for (int f = 0; f < 6; f++)
				if (rep->failinfo[f])
					printf(" %s=%zu", failinfo_names[f], rep->failinfo[f]);
		if (k == SL_HTTP_STATUS)
			for (int c = 0; c < MAX_HTTP_CODES && rep->codes[c]; c++)
				printf(" %d=%zu", rep->codes[c], rep->code_n[c]);
		printf("\n");
	}
	for (int k = 0; k < 4 && rep->algs[k][0]; k++)
		printf("  reply algorithms %s: %zu\n", rep->algs[k], rep->algs_n[k]);
}

static void
print_json(const struct opts *o, const struct run *r, const struct report *rep, const char *cipher,
	   const char *digest)
{
	int first = 1;

	printf("{\"mode\":\"%s\",\"method\":\"%s\",\"requests\":%zu,\"concurrency\":%ld,",
	       o->caps_mode ? "caps" : "enroll",
	       o->caps_mode ? "GET" : (o->use_get ? "GET" : "POST"), r->n, o->conc);
	if (!o->caps_mode)
		printf("\"cipher\":\"%s\",\"digest\":\"%s\",\"client_keys\":%d,\"key_bits\":%d,"
		       "\"prebuild_s\":%.3f,\"verify_s\":%.3f,",
		       cipher, digest, o->nkeys, o->key_bits, rep->prebuild_s, rep->verify_s);
	printf("\"elapsed_s\":%.4f,\"req_per_s\":%.2f,\"ok_per_s\":%.2f,", rep->elapsed_s,
	       (double)r->n / rep->elapsed_s, (double)rep->ok / rep->elapsed_s);
	printf("\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f,\"mean\":%."
	       "3f},",
	       rep->p50, rep->p90, rep->p99, rep->max, rep->mean);
	printf("\"ok\":%zu,\"failed\":%zu,\"duplicate_serials\":%zu,\"failures\":{", rep->ok,
	       rep->failed, rep->dups);
	for (int k = 1; k < SL_NKINDS; k++) {
		if (!rep->kinds[k])
			continue;
		printf("%s\"%s\":%zu", first ? "" : ",", sl_kind_name(k), rep->kinds[k]);
		first = 0;
	}
	printf("},\"failinfo\":{");
	first = 1;
	for (int f = 0; f < 6; f++) {
		if (!rep->failinfo[f])
			continue;
		printf("%s\"%s\":%zu", first ? "" : ",", failinfo_names[f], rep->failinfo[f]);
		first = 0;
	}
	printf("},\"http_status\":{");
	for (int c = 0; c < MAX_HTTP_CODES && rep->codes[c]; c++)
		printf("%s\"%d\":%zu", c ? "," : "", rep->codes[c], rep->code_n[c]);
	printf("},\"reply_algorithms\":{");
	for (int k = 0; k < 4 && rep->algs[k][0]; k++)
		printf("%s\"%s\":%zu", k ? "," : "", rep->algs[k], rep->algs_n[k]);
	printf("}}\n");
}

/* ---- main ------------------------------------------------------------------- */

static void
usage(void)
{
	fprintf(stderr,
		"usage: sgwload -u URL [options]\n"
		"  -u, --url URL           SCEP URL (http://host:port/path)\n"
		"  -m, --mode MODE         enroll (default) or caps (GetCACaps)\n"
		"  -n, --requests N        requests (default 1000)\n"
		"  -c, --concurrency C     keep-alive connections, one request each (default "
		"16)\n"
		"  -p, --challenge PW      challengePassword for the CSRs\n"
		"      --challenge-file F  read it from F\n"
		"  -k, --keys K            client RSA keys, reused round-robin (default 4)\n"
		"      --key-bits B        client key size (default 2048)\n"
		"      --cipher C          aes128 (default), aes192, aes256, des3, des\n"
		"      --digest D          sha256 (default), sha1, sha512\n"
		"      --legacy            des + sha1 (micromdm scepclient's choice)\n"
		"      --get               PKIOperation by GET with base64 (default POST)\n"
		"  -t, --timeout S         per-request timeout (default 30)\n"
		"  -j, --threads T         threads to build and verify (default: cores)\n"
		"      --cn-prefix P       CN and transactionID prefix (default random)\n"
		"      --json              one JSON object on stdout\n"
		"      --serials FILE      the serial of every certificate received, one a line\n"
		"  -q, --quiet             no progress on stderr\n");
	exit(2);
}

static char *
read_file_str(const char *path)
{
	FILE *f = fopen(path, "r");
	char buf[1024];
	size_t n;

	if (!f) {
		fprintf(stderr, "sgwload: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	return strdup(buf);
}

static void
parse_opts(int argc, char **argv, struct opts *o)
{
	enum {
		O_CFILE = 256,
		O_BITS,
		O_CIPHER,
		O_DIGEST,
		O_LEGACY,
		O_GET,
		O_PREFIX,
		O_JSON,
		O_SERIALS
	};
	static const struct option lo[] = {
	    {"url", required_argument, NULL, 'u'},
	    {"mode", required_argument, NULL, 'm'},
	    {"requests", required_argument, NULL, 'n'},
	    {"concurrency", required_argument, NULL, 'c'},
	    {"challenge", required_argument, NULL, 'p'},
	    {"challenge-file", required_argument, NULL, O_CFILE},
	    {"keys", required_argument, NULL, 'k'},
	    {"key-bits", required_argument, NULL, O_BITS},
	    {"cipher", required_argument, NULL, O_CIPHER},
	    {"digest", required_argument, NULL, O_DIGEST},
	    {"legacy", no_argument, NULL, O_LEGACY},
	    {"get", no_argument, NULL, O_GET},
	    {"timeout", required_argument, NULL, 't'},
	    {"threads", required_argument, NULL, 'j'},
	    {"cn-prefix", required_argument, NULL, O_PREFIX},
	    {"json", no_argument, NULL, O_JSON},
	    {"serials", required_argument, NULL, O_SERIALS},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int ch;

	*o = (struct opts){.n = 1000,
			   .conc = 16,
			   .timeout = 30,
			   .key_bits = 2048,
			   .nkeys = 4,
			   .cipher_name = "aes128",
			   .digest_name = "sha256"};
	while ((ch = getopt_long(argc, argv, "u:m:n:c:p:k:t:j:qh", lo, NULL)) != -1) {
		switch (ch) {
		case 'u':
			o->url = optarg;
			break;
		case 'm':
			if (strcmp(optarg, "caps") == 0)
				o->caps_mode = 1;
			else if (strcmp(optarg, "enroll") != 0)
				usage();
			break;
		case 'n':
			o->n = bench_num_arg("sgwload", optarg, 1, 10000000);
			break;
		case 'c':
			o->conc = bench_num_arg("sgwload", optarg, 1, MAX_CONC);
			break;
		case 'p':
			o->challenge = optarg;
			break;
		case O_CFILE:
			o->challenge = read_file_str(optarg);
			break;
		case 'k':
			o->nkeys = (int)bench_num_arg("sgwload", optarg, 1, 1024);
			break;
		case O_BITS:
			o->key_bits = (int)bench_num_arg("sgwload", optarg, 1024, 16384);
			break;
		case O_CIPHER:
			o->cipher_name = optarg;
			break;
		case O_DIGEST:
			o->digest_name = optarg;
			break;
		case O_LEGACY:
			o->cipher_name = "des";
			o->digest_name = "sha1";
			break;
		case O_GET:
			o->use_get = 1;
			break;
		case 't':
			o->timeout = bench_num_arg("sgwload", optarg, 1, 3600);
			break;
		case 'j':
			o->threads = (int)bench_num_arg("sgwload", optarg, 1, 64);
			break;
		case O_PREFIX:
			o->cn_prefix = optarg;
			break;
		case O_JSON:
			o->json = 1;
			break;
		case O_SERIALS:
			o->serials_file = optarg;
			break;
		case 'q':
			o->quiet = 1;
			break;
		default:
			usage();
		}
	}
	if (!o->url || optind != argc)
		usage();
	if (o->threads == 0) {
		long nc = sysconf(_SC_NPROCESSORS_ONLN);

		o->threads = nc > 0 && nc < 64 ? (int)nc : 1;
	}
}

static const EVP_CIPHER *
pick_cipher(const char *name)
{
	static const char *const map[][2] = {{"aes128", "AES-128-CBC"},
					     {"aes192", "AES-192-CBC"},
					     {"aes256", "AES-256-CBC"},
					     {"des3", "DES-EDE3-CBC"},
					     {"des", "DES-CBC"}};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(name, map[i][0]) == 0)
			return EVP_get_cipherbyname(map[i][1]);
	return NULL;
}

#define PROGRESS(o, ...)                                                                           \
	do {                                                                                       \
		if (!(o)->quiet)                                                                   \
			fprintf(stderr, "sgwload: " __VA_ARGS__);                                  \
	} while (0)

int
main(int argc, char **argv)
{
	struct opts o;
	struct target tg;
	struct run r = {0};
	struct report rep = {0};
	struct once cacert = {0}, caps = {0};
	STACK_OF(X509) *cacerts = NULL, *chain = NULL;
	X509 *ra_enc = NULL, *ra_sig = NULL;
	X509_STORE *trust = NULL;
	OSSL_PROVIDER *legacy, *dflt;
	EVP_PKEY **keys = NULL;
	struct slot *slots;
	const EVP_CIPHER *cipher = NULL;
	const EVP_MD *md = NULL;
	uint64_t t0, t1;
	char prefix[32];
	int rc;

	parse_opts(argc, argv, &o);
	if (parse_url(o.url, &tg) < 0) {
		fprintf(stderr, "sgwload: unsupported URL '%s' (http://host[:port]/path)\n", o.url);
		return 2;
	}
	/* DES needs the legacy provider (micromdm answers DES-CBC whatever
	 * we send); both are unloaded at the end (not unloaded, a loaded
	 * provider's tables leak at exit: ASan's leak check) */
	if (!(legacy = OSSL_PROVIDER_load(NULL, "legacy")))
		PROGRESS(&o, "note: no legacy provider: DES replies will not decrypt\n");
	ERR_clear_error();
	if (!(dflt = OSSL_PROVIDER_load(NULL, "default")))
		die_ossl("cannot load the default provider");
	if (sl_init_oids() < 0)
		die_ossl("cannot register the SCEP OIDs");
	if (!o.caps_mode) {
		cipher = pick_cipher(o.cipher_name);
		md = EVP_get_digestbyname(o.digest_name);
		if (!cipher || !md) {
			fprintf(stderr, "sgwload: unknown or unavailable cipher/digest %s/%s\n",
				o.cipher_name, o.digest_name);
			return 2;
		}
	}
	r.base = evloop_new();
	if (!r.base)
		return 2;
	r.o = &o;
	r.tg = &tg;
	r.n = (size_t)o.n;
	if (o.conc > o.n)
		o.conc = o.n;

	/* setup, untimed: GetCACaps and GetCACert */
	if (http_get_once(r.base, &tg, o.timeout, "GetCACaps", &caps) < 0) {
		fprintf(stderr, "sgwload: GetCACaps failed (HTTP %d)\n", caps.code);
		return 2;
	}
	r.items = calloc(r.n, sizeof(*r.items));
	if (!r.items)
		return 2;
	{
		size_t cap = strlen(tg.path) + 32;

		r.caps_uri = malloc(cap);
		r.post_uri = malloc(cap);
		if (!r.caps_uri || !r.post_uri)
			return 2;
		snprintf(r.caps_uri, cap, "%s?operation=GetCACaps", tg.path);
		snprintf(r.post_uri, cap, "%s?operation=PKIOperation", tg.path);
	}
	if (!o.caps_mode) {
		struct build_ctx bc;
		struct sl_build_params bp;
		unsigned char rnd[6];
		int failed;

		if (http_get_once(r.base, &tg, o.timeout, "GetCACert", &cacert) < 0 ||
		    !(cacerts = sl_parse_cacert(cacert.ctype, cacert.body, cacert.len))) {
			fprintf(stderr, "sgwload: GetCACert failed (HTTP %d, %s)\n", cacert.code,
				cacert.ctype);
			return 2;
		}
		if (sl_pick_ra(cacerts, &ra_enc, &ra_sig) < 0 ||
		    !(trust = sl_trust_store(cacerts, &chain)))
			die_ossl("GetCACert: no usable recipient or CA");
		PROGRESS(&o, "GetCACert: %d certificate(s) (%s), %s mode\n", sk_X509_num(cacerts),
			 cacert.ctype, ra_enc == ra_sig && X509_check_ca(ra_enc) ? "CA" : "RA");
		if (o.cn_prefix) {
			snprintf(prefix, sizeof(prefix), "%s", o.cn_prefix);
		} else {
			if (RAND_bytes(rnd, sizeof(rnd)) != 1)
				die_ossl("RAND_bytes");
			snprintf(prefix, sizeof(prefix), "sgw%02x%02x%02x%02x%02x%02x", rnd[0],
				 rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
		}
		keys = calloc((size_t)o.nkeys, sizeof(*keys));
		if (!keys)
			return 2;
		bp = (struct sl_build_params){o.challenge, cipher, md, ra_enc};
		bc = (struct build_ctx){&o, r.items, keys, &bp, NULL, &tg};
		t0 = now_ns();
		if (run_parallel(o.threads, (size_t)o.nkeys, keygen_thread, &bc) > 0)
			die_ossl("cannot generate the client keys");
		for (size_t i = 0; i < r.n; i++) {
			struct sl_item *it = &r.items[i];

			it->key = keys[i % (size_t)o.nkeys];
			snprintf(it->cn, sizeof(it->cn), "%s-%zu", prefix, i);
			snprintf(it->txid, sizeof(it->txid), "%s-TX-%zu", prefix, i);
		}
		failed = run_parallel(o.threads, r.n, build_thread, &bc);
		if (failed > 0)
			die_ossl("cannot build the PKCSReqs");
		rep.prebuild_s = (double)(now_ns() - t0) / 1e9;
		PROGRESS(&o, "built %zu PKCSReqs (%s + %s) in %.2f s\n", r.n, o.cipher_name,
			 o.digest_name, rep.prebuild_s);
	}

	/* timed phase */
	slots = calloc((size_t)o.conc, sizeof(*slots));
	if (!slots)
		return 2;
	for (long i = 0; i < o.conc; i++) {
		slots[i].r = &r;
		slots[i].conn =
		    evhttp_connection_base_new(r.base, NULL, tg.host, (unsigned short)tg.port);
		if (!slots[i].conn)
			return 2;
		evhttp_connection_set_timeout(slots[i].conn, (int)o.timeout);
		evhttp_connection_set_retries(slots[i].conn, 0);
	}
	t0 = now_ns();
	for (long i = 0; i < o.conc; i++)
		send_next(&slots[i]);
	if (r.completed < r.n)
		event_base_dispatch(r.base);
	t1 = now_ns();
	rep.elapsed_s = (double)(t1 - t0) / 1e9;
	if (rep.elapsed_s <= 0)
		rep.elapsed_s = 1e-9;
	for (long i = 0; i < o.conc; i++)
		evhttp_connection_free(slots[i].conn);
	free(slots);

	/* verification, untimed */
	t0 = now_ns();
	if (o.caps_mode) {
		for (size_t i = 0; i < r.n; i++) {
			struct sl_item *it = &r.items[i];

			it->failinfo = -1;
			if (it->transport_err)
				it->kind = it->transport_err;
			else if (it->http_status != 200)
				it->kind = SL_HTTP_STATUS;
			else if (it->resplen != caps.len || memcmp(it->resp, caps.body, caps.len))
				it->kind = SL_CAPS_BODY;
		}
	} else {
		struct sl_verify_params vp = {ra_sig, trust, chain};
		struct build_ctx vc = {&o, r.items, keys, NULL, &vp, &tg};

		run_parallel(o.threads, r.n, verify_thread, &vc);
	}
	rep.verify_s = (double)(now_ns() - t0) / 1e9;
	summarize(&r, &rep);
	if (o.json)
		print_json(&o, &r, &rep, cipher ? EVP_CIPHER_get0_name(cipher) : "",
			   md ? EVP_MD_get0_name(md) : "");
	else
		print_text(&o, &r, &rep, cipher ? EVP_CIPHER_get0_name(cipher) : "",
			   md ? EVP_MD_get0_name(md) : "");
	rc = rep.failed == 0 && rep.dups == 0 ? 0 : 1;
	if (o.serials_file != NULL && write_serials(o.serials_file, &r) < 0)
		rc = 2;

	for (size_t i = 0; i < r.n; i++)
		sl_item_clear(&r.items[i]);
	free(r.items);
	free(r.caps_uri);
	free(r.post_uri);
	for (int i = 0; keys && i < o.nkeys; i++)
		EVP_PKEY_free(keys[i]);
	free(keys);
	X509_STORE_free(trust);
	sk_X509_free(chain);
	sk_X509_pop_free(cacerts, X509_free);
	free(cacert.body);
	free(caps.body);
	event_base_free(r.base);
	OSSL_PROVIDER_unload(dflt);
	OSSL_PROVIDER_unload(legacy);
	return rc;
}
