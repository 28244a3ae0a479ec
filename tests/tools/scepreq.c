/*
 * scepreq: an independent SCEP (RFC 8894) client for integration tests.
 *
 *   scepreq getcaps   -u URL
 *   scepreq getcacert -u URL [-o chain.pem]
 *   scepreq enroll    -u URL -c CHALLENGE --cn CN [options]   (see usage())
 *
 * Command line, HTTP transport (libcurl easy API) and the enrollment flow; the
 * message codec is in scepreq_msg.c.  Shares no code with the gateway.
 */
#include "scepreq.h"
#include "scepreq_cli.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/provider.h>

#define MAX_PARALLEL 256
#define MAX_BODY (16 * 1024 * 1024)

struct job {
	const struct opts *o;
	int index; /* 0 = single, else 1..N */
	char tag[16];
	char cn_buf[256]; /* --parallel: CN-index */
	const char *cn;	  /* cn_buf, or --cn as it is (tests send oversized ones) */
	EVP_PKEY *key;	  /* preloaded --key, or NULL to generate */
	STACK_OF(X509) * cacerts;
	X509 *ra_enc, *ra_sig, *ca;
	FILE *report;
	/* results */
	char outcome[32]; /* success|failure|pending|http-NNN, or "" on error */
	char serial[128];
	const char *why; /* reason when outcome is "" */
	int failinfo;
	int ok; /* outcome matches --expect */
};

/* ---- HTTP ---- */

static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct http_resp *r = ud;
	size_t n = size * nmemb;
	unsigned char *nb;

	if (r->len + n > MAX_BODY)
		return 0;
	nb = realloc(r->body, r->len + n + 1);
	if (!nb)
		return 0;
	memcpy(nb + r->len, ptr, n);
	r->body = nb;
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

/* Keeps the Retry-After header (a 503 must carry one). */
static size_t
header_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct http_resp *r = ud;
	size_t n = size * nmemb, k = sizeof("Retry-After:") - 1, e;

	if (n > k && strncasecmp(ptr, "Retry-After:", k) == 0) {
		for (; k < n && (ptr[k] == ' ' || ptr[k] == '\t'); k++)
			;
		for (e = n;
		     e > k && (ptr[e - 1] == '\r' || ptr[e - 1] == '\n' || ptr[e - 1] == ' '); e--)
			;
		snprintf(r->retry_after, sizeof(r->retry_after), "%.*s", (int)(e - k), ptr + k);
	}
	return n;
}

void
http_resp_clear(struct http_resp *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* GET (post == NULL) or POST application/x-pki-message.  Returns 0 if an HTTP answer came. */
static int
http_do(const struct opts *o, const char *url, const unsigned char *post, size_t postlen,
	struct http_resp *r, const char *tag)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hdr = NULL;
	char *ct = NULL;
	CURLcode cc;

	memset(r, 0, sizeof(*r));
	if (!c)
		return -1;
	if (sr_verbose)
		sr_log(tag, "%s %s%s", post ? "POST" : "GET",
		       strlen(url) > 200 ? "(long URL) " : "", strlen(url) > 200 ? "" : url);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_TIMEOUT, o->timeout);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	if (o->tls_ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, o->tls_ca);
	if (post) {
		hdr = curl_slist_append(hdr, "Content-Type: application/x-pki-message");
		hdr = curl_slist_append(hdr, "Expect:");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)post);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)postlen);
	}
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		sr_log(tag, "HTTP request failed: %s", curl_easy_strerror(cc));
		curl_slist_free_all(hdr);
		curl_easy_cleanup(c);
		http_resp_clear(r);
		return -1;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->code);
	if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
		snprintf(r->ctype, sizeof(r->ctype), "%s", ct);
	if (sr_verbose)
		sr_log(tag, "-> HTTP %ld, %zu bytes, Content-Type %s", r->code, r->len,
		       r->ctype[0] ? r->ctype : "(none)");
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	return 0;
}

static char *
op_url(const char *base, const char *op, const char *msg_escaped)
{
	size_t n = strlen(base) + strlen(op) + (msg_escaped ? strlen(msg_escaped) : 0) + 32;
	char *u = malloc(n);

	if (!u)
		return NULL;
	snprintf(u, n, "%s%soperation=%s%s%s", base, strchr(base, '?') ? "&" : "?", op,
		 msg_escaped ? "&message=" : "", msg_escaped ? msg_escaped : "");
	return u;
}

static char *
escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0), *dup;

	if (!e)
		return NULL;
	dup = strdup(e);
	curl_free(e);
	return dup;
}

int
http_get_op(const struct opts *o, const char *op, struct http_resp *r, const char *tag)
{
	char *msg = o->message ? escape(o->message) : NULL;
	char *url = op_url(o->url, op, msg);
	int rc = url ? http_do(o, url, NULL, 0, r, tag) : -1;

	free(url);
	free(msg);
	return rc;
}

int
ctype_base_is(const char *ctype, const char *want)
{
	size_t n = strlen(want);

	return strncasecmp(ctype, want, n) == 0 &&
	       (ctype[n] == '\0' || ctype[n] == ';' || ctype[n] == ' ');
}

/* ---- files ---- */

int
read_file(const char *path, unsigned char **data, size_t *len)
{
	BIO *b = BIO_new_file(path, "rb");
	BIO *m = BIO_new(BIO_s_mem());
	char buf[4096];
	int n;
	BUF_MEM *bm;

	if (!b || !m) {
		sr_log(NULL, "cannot open %s", path);
		BIO_free(b);
		BIO_free(m);
		return -1;
	}
	while ((n = BIO_read(b, buf, sizeof(buf))) > 0)
		BIO_write(m, buf, n);
	BIO_get_mem_ptr(m, &bm);
	*len = bm->length;
	*data = bm->length ? OPENSSL_memdup(bm->data, bm->length) : NULL;
	if (!bm->length)
		sr_log(NULL, "%s is empty", path);
	BIO_free(b);
	BIO_free(m);
	return *data ? 0 : -1;
}

int
write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(data, 1, len, f) != len) {
		sr_log(NULL, "cannot write %s: %s", path, strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	return fclose(f) == 0 ? 0 : -1;
}

int
write_certs_pem(const char *path, STACK_OF(X509) * certs)
{
	BIO *b = BIO_new_file(path, "w");
	int ok = b != NULL;

	for (int i = 0; ok && i < sk_X509_num(certs); i++)
		ok = PEM_write_bio_X509(b, sk_X509_value(certs, i));
	if (!ok)
		sr_ossl_err(NULL, "cannot write %s", path);
	BIO_free(b);
	return ok ? 0 : -1;
}

STACK_OF(X509) * read_certs_pem(const char *path)
{
	BIO *b = BIO_new_file(path, "r");
	STACK_OF(X509) *certs = sk_X509_new_null();
	X509 *x;

	if (!b || !certs) {
		sr_ossl_err(NULL, "cannot read %s", path);
		BIO_free(b);
		sk_X509_free(certs);
		return NULL;
	}
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
		sk_X509_push(certs, x);
	ERR_clear_error();
	BIO_free(b);
	if (sk_X509_num(certs) == 0) {
		sr_log(NULL, "no certificates in %s", path);
		sk_X509_free(certs);
		return NULL;
	}
	return certs;
}

/* ---- commands ---- */

static int
cmd_getcaps(const struct opts *o)
{
	struct http_resp r;

	if (http_get_op(o, "GetCACaps", &r, NULL) < 0)
		return 1;
	if (r.code != 200) {
		printf("status=http-%ld\n", r.code);
		http_resp_clear(&r);
		return 1;
	}
	if (r.len)
		fwrite(r.body, 1, r.len, stdout);
	if (r.len && r.body[r.len - 1] != '\n')
		putchar('\n');
	if (sr_verbose)
		sr_log(NULL, "Content-Type: %s", r.ctype);
	http_resp_clear(&r);
	return 0;
}

STACK_OF(X509) * fetch_cacert(const struct opts *o, char *ctype, size_t ctlen)
{
	struct http_resp r;
	STACK_OF(X509) * certs;

	if (http_get_op(o, "GetCACert", &r, NULL) < 0)
		return NULL;
	if (r.code != 200) {
		sr_log(NULL, "GetCACert: HTTP %ld", r.code);
		http_resp_clear(&r);
		return NULL;
	}
	if (ctype)
		snprintf(ctype, ctlen, "%s", r.ctype);
	certs = sr_parse_cacert(r.ctype, r.body, r.len, NULL);
	http_resp_clear(&r);
	return certs;
}

static int
cmd_getcacert(const struct opts *o)
{
	char ctype[128] = "";
	STACK_OF(X509) *certs = fetch_cacert(o, ctype, sizeof(ctype));
	X509 *enc, *sig;
	int rc = 0;

	if (!certs)
		return 1;
	printf("content-type=%s\ncount=%d\n", ctype, sk_X509_num(certs));
	if (sr_pick_ra(certs, &enc, &sig) == 0 && sr_verbose) {
		for (int i = 0; i < sk_X509_num(certs); i++)
			sr_describe_cert(NULL, "cert", sk_X509_value(certs, i));
		sr_describe_cert(NULL, "RA encryption", enc);
		sr_describe_cert(NULL, "RA signing", sig);
	}
	if (o->out && write_certs_pem(o->out, certs) < 0)
		rc = 1;
	sk_X509_pop_free(certs, X509_free);
	return rc;
}

int
send_pkiop(const struct opts *o, const unsigned char *der, size_t len, struct http_resp *r,
	   const char *tag)
{
	char *url = NULL, *b64 = NULL, *esc = NULL;
	int rc = -1;

	if (!o->use_get) {
		url = op_url(o->url, "PKIOperation", NULL);
		rc = url ? http_do(o, url, der, len, r, tag) : -1;
		free(url);
		return rc;
	}
	b64 = malloc(4 * ((len + 2) / 3) + 1);
	if (!b64)
		return -1;
	EVP_EncodeBlock((unsigned char *)b64, der, (int)len); /* standard base64, no newlines */
	esc = escape(b64);
	url = esc ? op_url(o->url, "PKIOperation", esc) : NULL;
	if (url)
		rc = http_do(o, url, NULL, 0, r, tag);
	free(url);
	free(esc);
	free(b64);
	return rc;
}

EVP_PKEY *
load_key(const char *path)
{
	BIO *b = BIO_new_file(path, "r");
	EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	if (!k)
		sr_ossl_err(NULL, "cannot load private key %s", path);
	else if (!EVP_PKEY_is_a(k, "RSA"))
		sr_log(NULL, "note: %s is not an RSA key; a CertRep to it comes by key agreement",
		       path);
	return k;
}

static int
write_key(const char *path, EVP_PKEY *k)
{
	BIO *b = BIO_new_file(path, "w");
	int ok = b && PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);

	if (!ok)
		sr_ossl_err(NULL, "cannot write %s", path);
	BIO_free(b);
	return ok ? 0 : -1;
}

void
serial_hex(X509 *x, char *out, size_t n)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *h = bn ? BN_bn2hex(bn) : NULL;

	snprintf(out, n, "%s", h ? h : "?");
	OPENSSL_free(h);
	BN_free(bn);
}

static int
outcome_matches(const struct job *j)
{
	const struct opts *o = j->o;

	if (strcasecmp(j->outcome, o->expect) != 0)
		return 0;
	if (o->expect_failinfo && strcmp(j->outcome, "failure") == 0)
		return j->failinfo >= 0 &&
		       strcasecmp(sr_failinfo_name(j->failinfo), o->expect_failinfo) == 0;
	return 1;
}

static void
check_mirror(struct job *j, const char *what, int want, int got, int *bad)
{
	if (want == got)
		return;
	sr_log(j->tag, "%sreply %s is %s, request used %s",
	       j->o->mirror_check ? "" : "note: ", what, sr_nid_name(got), sr_nid_name(want));
	if (j->o->mirror_check)
		*bad = 1;
}

/* Send t->der (truncated by --truncate) and parse the answer into h/r.  Returns -1 on error,
 * 0 for a non-200 HTTP answer (j->outcome set), 1 for a verified CertRep in r. */
static int
exchange(struct job *j, const struct sr_txn *t, struct http_resp *h, struct sr_reply *r)
{
	size_t len = t->derlen;

	if (j->o->truncate >= 0 && (size_t)j->o->truncate < len)
		len = (size_t)j->o->truncate;
	if (sr_verbose)
		sr_log(j->tag, "request: %zu bytes, cipher %s, digest %s, transactionID %s",
		       t->derlen, sr_nid_name(t->cipher_nid), sr_nid_name(t->md_nid), t->txid);
	if (send_pkiop(j->o, t->der, len, h, j->tag) < 0)
		return -1;
	if (h->code != 200) {
		/* every 503 says when to come back: one without is its own outcome */
		snprintf(j->outcome, sizeof(j->outcome), "http-%ld%s", h->code,
			 h->code == 503 && !h->retry_after[0] ? "-no-retry-after" : "");
		fprintf(j->report, "%sstatus=http-%ld%s%s\n", j->tag, h->code,
			h->retry_after[0] ? " retry_after=" : "", h->retry_after);
		return 0;
	}
	if (!ctype_base_is(h->ctype, "application/x-pki-message")) {
		sr_log(j->tag, "CertRep Content-Type is '%s', expected application/x-pki-message",
		       h->ctype);
		return -1;
	}
	return sr_parse_certrep(h->body, h->len, j->ra_sig, t, r, j->tag) < 0 ? -1 : 1;
}

/* Report a verified CertRep; returns -1 if the issued certificate fails its checks. */
static int
report_reply(struct job *j, const struct sr_txn *t, const struct sr_reply *r, int *bad)
{
	char subj[512];

	check_mirror(j, "digest", t->md_nid, r->md_nid, bad);
	if (r->status == SR_FAILURE) {
		j->failinfo = r->failinfo;
		snprintf(j->outcome, sizeof(j->outcome), "failure");
		fprintf(j->report, "%sstatus=FAILURE failInfo=%s(%d) failInfoText=%s\n", j->tag,
			sr_failinfo_name(r->failinfo), r->failinfo, r->failtext);
		return 0;
	}
	if (r->status == SR_PENDING) {
		snprintf(j->outcome, sizeof(j->outcome), "pending");
		fprintf(j->report, "%sstatus=PENDING\n", j->tag);
		return 0;
	}
	check_mirror(j, "cipher", t->cipher_nid, r->cipher_nid, bad);
	fprintf(j->report, "%sreply cipher=%s digest=%s recipient=%s certs=%d\n", j->tag,
		sr_nid_name(r->cipher_nid), sr_nid_name(r->md_nid),
		r->recipient ? r->recipient : "-", sk_X509_num(r->certs));
	if (sr_verify_issued(r->cert, j->cacerts, r->certs, j->tag) < 0)
		return -1;
	serial_hex(r->cert, j->serial, sizeof(j->serial));
	X509_NAME_oneline(X509_get_subject_name(r->cert), subj, sizeof(subj));
	snprintf(j->outcome, sizeof(j->outcome), "success");
	fprintf(j->report, "%sstatus=SUCCESS serial=%s subject=%s\n", j->tag, j->serial, subj);
	if (j->o->out) {
		STACK_OF(X509) *one = sk_X509_new_null();
		int w = -1;

		if (one && sk_X509_push(one, r->cert))
			w = write_certs_pem(j->o->out, one);
		sk_X509_free(one);
		return w;
	}
	return 0;
}

static void
fill_params(const struct job *j, struct sr_req_params *p, int msg_type)
{
	const struct opts *o = j->o;

	p->cn = j->cn;
	p->challenge = o->challenge;
	p->challenge_utf8 = o->challenge_utf8;
	p->sans = o->sans;
	p->nsans = o->nsans;
	p->cipher = o->cipher;
	p->md = o->md;
	p->txid = o->txid;
	p->msg_type = msg_type;
	p->set_signing_time = o->set_signing_time;
	p->signing_time_offset = o->signing_time_offset;
	p->corrupt_sig = o->corrupt_sig;
	p->oaep = o->oaep;
	p->poll_cn = o->poll_cn;
}

/* --csr FILE: a PEM or DER PKCS#10 request, as DER in *der (OPENSSL_free). */
static int
load_csr(const char *path, unsigned char **der, size_t *len)
{
	unsigned char *file = NULL, *out = NULL;
	size_t n = 0;
	BIO *bio;
	X509_REQ *req = NULL;
	int l = -1;

	if (read_file(path, &file, &n) < 0)
		return -1;
	bio = BIO_new_mem_buf(file, (int)n);
	if (bio != NULL)
		req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (req != NULL) {
		l = i2d_X509_REQ(req, &out);
		X509_REQ_free(req);
		OPENSSL_free(file);
		file = NULL;
	}
	if (l > 0) {
		*der = out;
		*len = (size_t)l;
		return 0;
	}
	*der = file; /* not PEM: DER as it is */
	*len = n;
	return file != NULL ? 0 : -1;
}

X509 *
read_cert1(const char *path)
{
	STACK_OF(X509) *sk = read_certs_pem(path);
	X509 *x = sk && sk_X509_num(sk) > 0 ? sk_X509_shift(sk) : NULL;

	sk_X509_pop_free(sk, X509_free);
	if (!x)
		sr_log(NULL, "%s: no certificate", path);
	return x;
}

/* One enrollment; fills j->outcome etc.  Returns 0 when a valid outcome was obtained. */
static int
enroll_one(struct job *j)
{
	const struct opts *o = j->o;
	struct sr_req_params p = {0};
	struct sr_txn t = {0}, poll = {0};
	struct sr_reply r = {0};
	struct http_resp h = {0};
	unsigned char *file = NULL, *csrfile = NULL;
	size_t filelen = 0;
	int bad = 0, rc = -1, x;

	j->failinfo = -1;
	if (o->send_req) {
		if (read_file(o->send_req, &file, &filelen) < 0 ||
		    sr_load_request(file, filelen, &t, j->tag) < 0)
			goto out;
		if (j->key && EVP_PKEY_up_ref(j->key))
			t.key = j->key;
	} else {
		if (j->key && EVP_PKEY_up_ref(j->key))
			t.key = j->key;
		else if (!j->key)
			t.key = EVP_RSA_gen((unsigned int)o->key_bits);
		/* renewal: the pkiMessage is signed by an existing certificate */
		if (o->signer_cert && (!(t.signer = read_cert1(o->signer_cert)) ||
				       !(t.sign_key = load_key(o->signer_key))))
			goto out;
		if (!t.key) {
			sr_ossl_err(j->tag, "cannot generate an RSA-%d key", o->key_bits);
			goto out;
		}
		fill_params(j, &p, o->msg_type);
		if (o->csr_file && load_csr(o->csr_file, &csrfile, &p.csr_len) < 0) {
			sr_log(j->tag, "cannot read the CSR %s", o->csr_file);
			goto out;
		}
		p.csr_der = csrfile;
		if (sr_build_pkcsreq(&p, j->ra_enc, &t, j->tag) < 0)
			goto out;
		if (o->save_req && write_file(o->save_req, t.der, t.derlen) < 0)
			goto out;
	}
	if (o->out_key && t.key && write_key(o->out_key, t.key) < 0)
		goto out;
	fill_params(j, &p, 20);
	if (o->certpoll) {
		if (!t.key) {
			sr_log(j->tag, "--certpoll needs --key");
			goto out;
		}
		if (sr_build_certpoll(&t, j->ca, &p, j->ra_enc, &poll, j->tag) < 0)
			goto out;
		if (o->save_req && write_file(o->save_req, poll.der, poll.derlen) < 0)
			goto out;
		x = exchange(j, &poll, &h, &r);
		if (x > 0)
			x = report_reply(j, &poll, &r, &bad);
	} else {
		x = exchange(j, &t, &h, &r);
		if (x > 0)
			x = report_reply(j, &t, &r, &bad);
	}
	/* PENDING: CertPoll with the same transactionID and a new senderNonce. */
	for (int i = 1; x == 0 && r.status == SR_PENDING && h.code == 200 && i <= o->poll_max;
	     i++) {
		sleep((unsigned int)o->poll_interval);
		sr_txn_clear(&poll);
		sr_reply_clear(&r);
		http_resp_clear(&h);
		if (sr_build_certpoll(&t, j->ca, &p, j->ra_enc, &poll, j->tag) < 0) {
			x = -1;
			break;
		}
		if (sr_verbose)
			sr_log(j->tag, "CertPoll %d of %d", i, o->poll_max);
		x = exchange(j, &poll, &h, &r);
		if (x > 0)
			x = report_reply(j, &poll, &r, &bad);
	}
	if (x < 0)
		goto out;
	if (sr_verbose && h.code == 200 && r.status != SR_SUCCESS)
		sr_log(j->tag, "reply digest=%s", sr_nid_name(r.md_nid));
	rc = bad ? -1 : 0;
	if (bad)
		j->why = "reply algorithms do not mirror the request (see --no-mirror-check)";
out:
	if (rc < 0)
		j->outcome[0] = '\0';
	sr_reply_clear(&r);
	http_resp_clear(&h);
	OPENSSL_free(file);
	OPENSSL_free(csrfile);
	sr_txn_clear(&poll);
	sr_txn_clear(&t);
	j->ok = rc == 0 && outcome_matches(j);
	return rc;
}

static void *
job_thread(void *arg)
{
	enroll_one(arg);
	ERR_clear_error();
	return NULL;
}

static int
cmd_enroll(struct opts *o)
{
	STACK_OF(X509) *cacerts = NULL;
	X509 *enc = NULL, *sig = NULL, *enc_other = NULL;
	EVP_PKEY *key = NULL;
	struct job *jobs = NULL;
	pthread_t *tids = NULL;
	int n = o->parallel > 0 ? o->parallel : 1, rc = 1, failures = 0;

	if (!o->cn && !o->send_req) {
		sr_log(NULL, "enroll needs --cn");
		return 2;
	}
	if (!o->signer_cert != !o->signer_key) {
		sr_log(NULL, "--signer-cert and --signer-key go together");
		return 2;
	}
	if (o->parallel > 0 &&
	    (o->key_file || o->txid || o->out || o->out_key || o->save_req || o->send_req)) {
		sr_log(NULL, "--parallel cannot be combined with --key, --txid, --out, --out-key, "
			     "--save-request or --send-request");
		return 2;
	}
	cacerts = o->ra_chain ? read_certs_pem(o->ra_chain) : fetch_cacert(o, NULL, 0);
	if (!cacerts)
		return 1;
	if (sr_pick_ra(cacerts, &enc, &sig) < 0) {
		sr_log(NULL, "no usable RA certificate");
		goto out;
	}
	/* --encrypt-to: an envelope the gateway cannot open (badMessageCheck) */
	if (o->encrypt_to && !(enc = enc_other = read_cert1(o->encrypt_to)))
		goto out;
	if (sr_verbose) {
		sr_describe_cert(NULL, "RA encryption", enc);
		sr_describe_cert(NULL, "RA signing", sig);
	}
	if (o->key_file && !(key = load_key(o->key_file)))
		goto out;
	jobs = calloc((size_t)n, sizeof(*jobs));
	tids = calloc((size_t)n, sizeof(*tids));
	if (!jobs || !tids)
		goto out;
	for (int i = 0; i < n; i++) {
		struct job *j = &jobs[i];

		j->o = o;
		j->index = o->parallel > 0 ? i + 1 : 0;
		j->key = key;
		j->cacerts = cacerts;
		j->ra_enc = enc;
		j->ra_sig = sig;
		j->ca = sr_issuing_ca(cacerts);
		j->report = o->parallel > 0 ? stderr : stdout;
		if (j->index) {
			snprintf(j->tag, sizeof(j->tag), "[%d] ", j->index);
			snprintf(j->cn_buf, sizeof(j->cn_buf), "%s-%d", o->cn, j->index);
			j->cn = j->cn_buf;
		} else {
			j->cn = o->cn ? o->cn : "";
		}
	}
	if (o->parallel <= 0) {
		enroll_one(&jobs[0]);
	} else {
		int started = 0;

		for (; started < n; started++)
			if (pthread_create(&tids[started], NULL, job_thread, &jobs[started]) != 0) {
				sr_log(NULL, "pthread_create failed");
				break;
			}
		for (int i = 0; i < started; i++)
			pthread_join(tids[i], NULL);
		if (started < n)
			goto out;
	}
	for (int i = 0; i < n; i++) {
		struct job *j = &jobs[i];

		if (o->parallel > 0 && j->serial[0])
			printf("serial=%s\n", j->serial);
		if (!j->ok) {
			const char *got = j->outcome[0] ? j->outcome : j->why;

			failures++;
			sr_log(j->tag, "FAIL: outcome %s, expected %s%s%s",
			       got ? got : "error (invalid or no reply)", o->expect,
			       o->expect_failinfo ? " " : "",
			       o->expect_failinfo ? o->expect_failinfo : "");
		}
		for (int k = 0; k < i; k++)
			if (j->serial[0] && strcmp(j->serial, jobs[k].serial) == 0) {
				failures++;
				sr_log(NULL, "FAIL: duplicate serial %s (jobs %d and %d)",
				       j->serial, k + 1, i + 1);
			}
	}
	if (o->parallel > 0)
		sr_log(NULL, "%d of %d enrollments matched --expect %s", n - failures, n,
		       o->expect);
	rc = failures ? 1 : 0;
out:
	free(tids);
	free(jobs);
	EVP_PKEY_free(key);
	X509_free(enc_other);
	sk_X509_pop_free(cacerts, X509_free);
	return rc;
}

/* ---- main ---- */

static void
usage(void)
{
	fputs("usage: scepreq getcaps   -u URL [--message M]\n"
	      "       scepreq getcacert -u URL [-o chain.pem] [--message M]\n"
	      "       scepreq enroll -u URL [-c CHALLENGE] --cn CN|/CN=a/O=b [options]\n"
	      "enroll options:\n"
	      "  --san-dns NAME (repeatable)      --cipher aes128|aes192|aes256|des3|des\n"
	      "  --digest sha1|sha224|sha256|sha384|sha512|md5  --get (GET with base64 message)\n"
	      "  --key key.pem | --key-bits N     --txid ID       --out cert.pem\n"
	      "  --out-key key.pem  --save-request req.der  --send-request req.der (replay)\n"
	      "  --truncate N (send only N bytes) --ra-chain chain.pem (skip GetCACert)\n"
	      "  --expect success|failure|pending|http-NNN (an http-503 must carry Retry-After)\n"
	      "  --expect-failinfo badAlg|badMessageCheck|badRequest|badTime|badCertId\n"
	      "  --parallel N (N enrollments in threads, CN-1..CN-N, prints serial=HEX)\n"
	      "  --challenge-type printable|utf8 (default: printable when possible)\n"
	      "  --message-type N (default 19)    --signing-time-offset SECONDS\n"
	      "  --corrupt-signature              --no-mirror-check (reply may use other algs)\n"
	      "  --oaep (RSAES-OAEP key transport instead of PKCS#1 v1.5)\n"
	      "  --poll N [--poll-interval S (5)] after PENDING send up to N CertPolls\n"
	      "  --certpoll (with --send-request req.der --key k: send a CertPoll for it)\n"
	      "  --signer-cert C --signer-key K  sign with an existing certificate (renewal)\n"
	      "  --poll-subject CN (CertPoll: another subject)  --encrypt-to CERT (not the RA)\n"
	      "  --csr req.pem|der (send this CSR, made for --key; --cn names the signer)\n"
	      "       scepreq getcert|getcrl -u URL --signer-cert C --signer-key K\n"
	      "               [--serial HEX (default: the signer's)] [-o out.pem: the certificate, "
	      "or the CRL] [--expect ...]\n"
	      "               getcrl prints crl_number=N and revoked=HEX reason=R per entry\n"
	      "       scepreq getnextcacert -u URL [-o next.pem] (verified with GetCACert's RA)\n"
	      "common: --tls-ca FILE  --timeout SECONDS (60)  -v\n"
	      "exit: 0 outcome matches --expect (default success), 1 otherwise, 2 usage\n",
	      stderr);
}

static EVP_CIPHER *
pick_cipher(const char *s)
{
	static const char *const map[][2] = {{"aes128", "AES-128-CBC"},
					     {"aes192", "AES-192-CBC"},
					     {"aes256", "AES-256-CBC"},
					     {"des3", "DES-EDE3-CBC"},
					     {"des", "DES-CBC"}};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcasecmp(s, map[i][0]) == 0)
			return EVP_CIPHER_fetch(NULL, map[i][1], NULL);
	return NULL;
}

static EVP_MD *
pick_md(const char *s)
{
	static const char *const map[][2] = {{"sha1", "SHA1"},	   {"sha224", "SHA224"},
					     {"sha256", "SHA256"}, {"sha384", "SHA384"},
					     {"sha512", "SHA512"}, {"md5", "MD5"}};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcasecmp(s, map[i][0]) == 0)
			return EVP_MD_fetch(NULL, map[i][1], NULL);
	return NULL;
}

enum {
	O_CN = 256,
	O_SAN,
	O_CIPHER,
	O_DIGEST,
	O_GET,
	O_KEY,
	O_KEYBITS,
	O_TXID,
	O_OUTKEY,
	O_SAVE,
	O_SEND,
	O_TRUNC,
	O_EXPECT,
	O_EXPFI,
	O_PAR,
	O_RACHAIN,
	O_MSG,
	O_TLSCA,
	O_TIMEOUT,
	O_CTYPE,
	O_MTYPE,
	O_STIME,
	O_CORRUPT,
	O_OAEP,
	O_NOMIRROR,
	O_CERTPOLL,
	O_POLL,
	O_POLLINT,
	O_CSR,
	O_SERIAL,
	O_SIGNCERT,
	O_SIGNKEY,
	O_POLLCN,
	O_ENCTO,
};

static const struct option longopts[] = {
    {"url", required_argument, NULL, 'u'},
    {"challenge", required_argument, NULL, 'c'},
    {"out", required_argument, NULL, 'o'},
    {"verbose", no_argument, NULL, 'v'},
    {"cn", required_argument, NULL, O_CN},
    {"san-dns", required_argument, NULL, O_SAN},
    {"cipher", required_argument, NULL, O_CIPHER},
    {"digest", required_argument, NULL, O_DIGEST},
    {"get", no_argument, NULL, O_GET},
    {"key", required_argument, NULL, O_KEY},
    {"key-bits", required_argument, NULL, O_KEYBITS},
    {"txid", required_argument, NULL, O_TXID},
    {"out-key", required_argument, NULL, O_OUTKEY},
    {"save-request", required_argument, NULL, O_SAVE},
    {"send-request", required_argument, NULL, O_SEND},
    {"truncate", required_argument, NULL, O_TRUNC},
    {"expect", required_argument, NULL, O_EXPECT},
    {"expect-failinfo", required_argument, NULL, O_EXPFI},
    {"parallel", required_argument, NULL, O_PAR},
    {"ra-chain", required_argument, NULL, O_RACHAIN},
    {"message", required_argument, NULL, O_MSG},
    {"tls-ca", required_argument, NULL, O_TLSCA},
    {"timeout", required_argument, NULL, O_TIMEOUT},
    {"challenge-type", required_argument, NULL, O_CTYPE},
    {"message-type", required_argument, NULL, O_MTYPE},
    {"signing-time-offset", required_argument, NULL, O_STIME},
    {"corrupt-signature", no_argument, NULL, O_CORRUPT},
    {"oaep", no_argument, NULL, O_OAEP},
    {"no-mirror-check", no_argument, NULL, O_NOMIRROR},
    {"certpoll", no_argument, NULL, O_CERTPOLL},
    {"poll", required_argument, NULL, O_POLL},
    {"poll-interval", required_argument, NULL, O_POLLINT},
    {"csr", required_argument, NULL, O_CSR},
    {"serial", required_argument, NULL, O_SERIAL},
    {"signer-cert", required_argument, NULL, O_SIGNCERT},
    {"signer-key", required_argument, NULL, O_SIGNKEY},
    {"poll-subject", required_argument, NULL, O_POLLCN},
    {"encrypt-to", required_argument, NULL, O_ENCTO},
    {NULL, 0, NULL, 0},
};

static int
num_arg(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi) {
		sr_log(NULL, "bad number '%s' (%ld..%ld)", s, lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

static int
valid_expect(const char *e)
{
	long code;

	if (!strcasecmp(e, "success") || !strcasecmp(e, "failure") || !strcasecmp(e, "pending"))
		return 1;
	return strncasecmp(e, "http-", 5) == 0 && num_arg(e + 5, 100, 599, &code) == 0;
}

static int
parse_args(int argc, char **argv, struct opts *o)
{
	const char *cipher = "aes128", *digest = "sha256";
	long v;
	int c;

	o->key_bits = 2048;
	o->challenge_utf8 = -1;
	o->msg_type = 19;
	o->truncate = -1;
	o->timeout = 60;
	o->mirror_check = 1;
	o->poll_interval = 5;
	o->expect = "success";
	while ((c = getopt_long(argc, argv, "u:c:o:v", longopts, NULL)) != -1) {
		switch (c) {
		case 'u':
			o->url = optarg;
			break;
		case 'c':
			o->challenge = optarg;
			break;
		case 'o':
			o->out = optarg;
			break;
		case 'v':
			sr_verbose = 1;
			break;
		case O_CN:
			o->cn = optarg;
			break;
		case O_SAN:
			if (o->nsans >= MAX_SANS)
				return -1;
			o->sans[o->nsans++] = optarg;
			break;
		case O_CIPHER:
			cipher = optarg;
			break;
		case O_DIGEST:
			digest = optarg;
			break;
		case O_GET:
			o->use_get = 1;
			break;
		case O_KEY:
			o->key_file = optarg;
			break;
		case O_KEYBITS:
			if (num_arg(optarg, 1024, 16384, &v) < 0)
				return -1;
			o->key_bits = (int)v;
			break;
		case O_TXID:
			o->txid = optarg;
			break;
		case O_OUTKEY:
			o->out_key = optarg;
			break;
		case O_SAVE:
			o->save_req = optarg;
			break;
		case O_SEND:
			o->send_req = optarg;
			break;
		case O_TRUNC:
			if (num_arg(optarg, 0, MAX_BODY, &o->truncate) < 0)
				return -1;
			break;
		case O_EXPECT:
			if (!valid_expect(optarg))
				return -1;
			o->expect = optarg;
			break;
		case O_EXPFI: {
			int ok = 0;

			for (int i = 0; i < 5; i++)
				ok |= strcasecmp(optarg, sr_failinfo_name(i)) == 0;
			if (!ok)
				return -1;
			o->expect_failinfo = optarg;
			break;
		}
		case O_PAR:
			if (num_arg(optarg, 1, MAX_PARALLEL, &v) < 0)
				return -1;
			o->parallel = (int)v;
			break;
		case O_RACHAIN:
			o->ra_chain = optarg;
			break;
		case O_MSG:
			o->message = optarg;
			break;
		case O_TLSCA:
			o->tls_ca = optarg;
			break;
		case O_TIMEOUT:
			if (num_arg(optarg, 1, 3600, &o->timeout) < 0)
				return -1;
			break;
		case O_CTYPE:
			if (!strcasecmp(optarg, "printable"))
				o->challenge_utf8 = 0;
			else if (!strcasecmp(optarg, "utf8"))
				o->challenge_utf8 = 1;
			else
				return -1;
			break;
		case O_MTYPE:
			if (num_arg(optarg, 0, 999, &v) < 0)
				return -1;
			o->msg_type = (int)v;
			break;
		case O_STIME:
			if (num_arg(optarg, -100000000L, 100000000L, &o->signing_time_offset) < 0)
				return -1;
			o->set_signing_time = 1;
			break;
		case O_CORRUPT:
			o->corrupt_sig = 1;
			break;
		case O_OAEP:
			o->oaep = 1;
			break;
		case O_NOMIRROR:
			o->mirror_check = 0;
			break;
		case O_CERTPOLL:
			o->certpoll = 1;
			break;
		case O_POLL:
			if (num_arg(optarg, 0, 10000, &v) < 0)
				return -1;
			o->poll_max = (int)v;
			break;
		case O_SERIAL:
			o->serial = optarg;
			break;
		case O_SIGNCERT:
			o->signer_cert = optarg;
			break;
		case O_SIGNKEY:
			o->signer_key = optarg;
			break;
		case O_POLLCN:
			o->poll_cn = optarg;
			break;
		case O_ENCTO:
			o->encrypt_to = optarg;
			break;
		case O_CSR:
			o->csr_file = optarg;
			break;
		case O_POLLINT:
			if (num_arg(optarg, 0, 3600, &v) < 0)
				return -1;
			o->poll_interval = (int)v;
			break;
		default:
			return -1;
		}
	}
	if (optind != argc || !o->url) {
		sr_log(NULL, optind != argc ? "unexpected argument '%s'" : "-u URL is required",
		       optind != argc ? argv[optind] : "");
		return -1;
	}
	o->cipher = pick_cipher(cipher);
	if (!o->cipher) {
		sr_ossl_err(NULL, "cipher '%s' unknown or unavailable", cipher);
		return -1;
	}
	o->md = pick_md(digest);
	if (!o->md) {
		sr_ossl_err(NULL, "digest '%s' unknown or unavailable", digest);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct opts o = {0};
	OSSL_PROVIDER *legacy, *deflt;
	const char *cmd;
	int rc;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage();
		return 2;
	}
	cmd = argv[1];
	/* Single DES (and micromdm's DES-CBC CertReps) need the legacy provider; loading any
	 * provider explicitly stops the default one loading itself, so load both. */
	legacy = OSSL_PROVIDER_load(NULL, "legacy");
	if (!legacy)
		ERR_clear_error();
	deflt = OSSL_PROVIDER_load(NULL, "default");
	if (!deflt) {
		sr_ossl_err(NULL, "cannot load the default provider");
		OSSL_PROVIDER_unload(legacy);
		return 1;
	}
	if (sr_init_oids() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	if (parse_args(argc - 1, argv + 1, &o) < 0) {
		usage();
		rc = 2;
		goto out;
	}
	if (!strcmp(cmd, "getcaps")) {
		rc = cmd_getcaps(&o);
	} else if (!strcmp(cmd, "getcacert")) {
		rc = cmd_getcacert(&o);
	} else if (!strcmp(cmd, "enroll")) {
		rc = cmd_enroll(&o);
	} else if (!strcmp(cmd, "getcert") || !strcmp(cmd, "getcrl")) {
		rc = cmd_getcert(&o, !strcmp(cmd, "getcrl"));
	} else if (!strcmp(cmd, "getnextcacert")) {
		rc = cmd_getnextcacert(&o);
	} else {
		sr_log(NULL, "unknown command '%s'", cmd);
		usage();
		rc = 2;
	}
out:
	EVP_CIPHER_free(o.cipher);
	EVP_MD_free(o.md);
	curl_global_cleanup();
	OSSL_PROVIDER_unload(deflt);
	OSSL_PROVIDER_unload(legacy);
	return rc;
}
